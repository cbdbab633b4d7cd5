//! RTP (RFC 3550 §5) on the wire: the zero-copy [`RtpPacket`] view, the
//! [`RtpBuilder`] writing into a caller's buffer, RFC 8285 header extensions
//! (raw elements here, typed values and the id map in [`extensions`]),
//! sequence and timestamp unwrapping ([`sequence`]) and the RFC 3550
//! reception statistics and NTP timing that RTCP reports carry ([`stats`]).
//!
//! The datagram has already been classified as RTP by `stun::classify`
//! (RFC 7983/5761); nothing here sniffs bytes again.

mod builder;
pub mod extensions;
mod header_extension;
mod packet;
pub mod sequence;
pub mod stats;

pub use builder::{RtpBuilder, MAX_CSRCS};
pub use header_extension::{
    ExtensionElement, ExtensionForm, HeaderExtensions, ONE_BYTE_MAX_ID, ONE_BYTE_MAX_LEN,
    ONE_BYTE_PROFILE, TWO_BYTE_PROFILE,
};
pub use packet::{Csrcs, RtpPacket};

/// The RTP version this crate speaks.
pub const VERSION: u8 = 2;
/// Length of the fixed RTP header.
pub const HEADER_LEN: usize = 12;
