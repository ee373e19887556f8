region        = "eu-west-1"
db_username   = "orders"
db_password   = "5HcS+asbMdDh%UDI63"
datadog_api_key = "21d6323efc4181235f2349cc2a73f3e4"
