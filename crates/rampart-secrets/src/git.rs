//! Git history and staged-index scanning (to be completed).
