//! rampart-cluster against a fake API server over TLS, driven through real kubeconfig
//! files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod fake;
mod reports;
mod watch;
