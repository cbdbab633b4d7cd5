//! Ports: libwebrtc's `Port` family (UDPPort/StunPort, TurnPort, TCPPort).
//!
//! Each port here is the sans-IO protocol core of one libwebrtc port class:
//! it owns no socket and reads no clock. The host and server-reflexive
//! gathering of UDPPort/StunPort currently lives in [`crate::allocator`].
//!
//! | module | libwebrtc |
//! |---|---|
//! | [`turn`] | TurnPort: a TURN (RFC 8656) client over UDP, TCP or TLS (UDP relays) — allocation, refresh, permissions, channels |

pub mod turn;

pub use turn::{
    AddressFamily, TurnClient, TurnConfig, TurnError, TurnEvent, TurnReceived, TurnState,
    TurnTlsConfig, TurnTransport,
};
