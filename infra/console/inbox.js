// placeholder: replaced by the inbox views
