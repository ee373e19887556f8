variable "db_password" {
  type      = string
  sensitive = true
}

variable "admin_password" {
  type    = string
  default = "ZvFEDLAToDqECETylhQ3fV"
}
