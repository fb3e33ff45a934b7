// placeholder: replaced by the reports views
