//! Rampart: container image scanning: sources, layers, OS package databases, image-config rules.
