//! Rampart: custom Rego policies (Conftest conventions) evaluated with regorus.
