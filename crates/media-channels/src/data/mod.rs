//! WebRTC data channels (RFC 8831, 8832, 8841): the DCEP wire layer.

pub mod dcep;
