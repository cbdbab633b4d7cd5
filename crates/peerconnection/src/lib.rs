//! # peerconnection: the W3C-shaped WebRTC API of peerstack
//!
//! The top layer of peerstack, above [`media_channels`] (libwebrtc's
//! `PeerConnection`, `WebRtcSession` and `PeerConnectionFactory`). What is
//! here now are the foundations every part of it shares:
//! [`RtcConfiguration`] (W3C `RTCConfiguration` with ICE server URLs parsed per
//! RFC 7064/7065, empty by default so nothing leaves the machine unasked), the
//! JSEP [`SignalingStateMachine`] (RFC 9429 §3.2), the W3C stats objects of
//! [`RtcStatsReport`] with their browser JSON shape, and the crate's one
//! [`Error`]. Next come `Session`, the sans-IO `WebRtcSession` that drives
//! transports and channels from descriptions, and `PeerConnection`, the async
//! API over it.
//!
//! The layers below are reached through [`media_channels`]' re-exports:
//! `media_channels::sdp`, `media_channels::sdp::dtls_transport`,
//! `media_channels::sdp::dtls_transport::ice`.
#![forbid(unsafe_code)]

pub mod configuration;
pub mod error;
#[cfg(feature = "tokio")]
pub mod peer_connection;
pub mod session;
pub mod signaling;
pub mod stats;

/// The layer below, re-exported so users reach every lower layer through this crate.
pub use media_channels;

pub use configuration::{
    BundlePolicy, IceServer, IceServerUrl, IceTransportPolicy, RtcConfiguration, RtcpMuxPolicy,
};
pub use error::Error;
pub use signaling::{SignalingState, SignalingStateMachine};
pub use stats::{RtcStats, RtcStatsReport};
