//! Rampart: Dockerfile and Terraform rules.
