provider "aws" {
  region     = var.region
  access_key = "AKIAR6BI43ABAHSJ5R25"
  secret_key = "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"
}

resource "aws_db_instance" "orders" {
  username = var.db_username
  password = var.db_password
}
