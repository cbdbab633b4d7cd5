//! The offer/answer factories: libwebrtc's `MediaSessionDescriptionFactory`
//! (codecs, header extensions, directions, streams, BUNDLE, m-section reuse)
//! over `TransportDescriptionFactory` (ICE credentials, fingerprint, DTLS
//! role).
//!
//! These are pure functions of their inputs (plus the OS CSPRNG for ICE
//! credentials, SSRCs and the session id): no I/O, no clock. The
//! `peerconnection` layer turns transceivers into
//! [`MediaSessionOptions`] and keeps the current descriptions.

mod media;
mod negotiate;
mod streams;
mod transport;

pub use media::{
    offer_restarts_ice, BundlePolicy, MediaDescriptionOptions, MediaSessionDescriptionFactory,
    MediaSessionOptions, SenderOptions,
};
pub use transport::{
    TransportDescriptionFactory, TransportOptions, ICE_PWD_LENGTH, ICE_UFRAG_LENGTH,
};
