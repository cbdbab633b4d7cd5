//! DTLS (being written).
