// placeholder: replaced by the admin views
