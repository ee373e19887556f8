//! Import of gitleaks' TOML rule format (to be completed).
