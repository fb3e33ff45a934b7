// placeholder: replaced by the supervisor views
