//! TLS material for the listener.
