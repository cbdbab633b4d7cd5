//! SRTP (being written).
