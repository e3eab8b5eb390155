//! haechi-store
