//! haechi-crypto
