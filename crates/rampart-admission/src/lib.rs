//! Rampart: the AdmissionReview v1 webhook server.
