//! # sdp: WebRTC session descriptions, JSEP objects and offer/answer factories
//!
//! The layer above [`dtls_transport`], following libwebrtc's structure:
//!
//! | module | libwebrtc |
//! |---|---|
//! | [`model`] | `SessionDescription`, `ContentInfo`, `MediaContentDescription`, `TransportDescription`, `cricket::Codec` |
//! | [`parse`](mod@parse) / [`write`](mod@write) | `SdpDeserialize` / `SdpSerialize` (webrtc_sdp.cc) |
//! | [`validate()`] | `ValidateSessionDescription` (sdp_offer_answer.cc) |
//! | [`jsep`] | `JsepSessionDescription`, `JsepCandidateCollection`, `JsepIceCandidate` |
//! | [`factory`] | `MediaSessionDescriptionFactory`, `TransportDescriptionFactory` |
//! | [`codecs`] | the built-in codec and header-extension lists (`GetAudioCodecs` …) |
//!
//! Parsing is a hand-written single pass over the lines (see
//! `docs/architecture.md` for why not `sdp-types`, which the tests use as a
//! differential oracle); writing produces CRLF lines in the order Chromium
//! writes them.
//!
//! ```
//! let text = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
//! let desc = sdp::parse(text)?;
//! assert_eq!(desc.origin.session_version, 2);
//! assert_eq!(sdp::write(&desc), text);
//! # Ok::<(), sdp::Error>(())
//! ```

pub mod codecs;
pub mod error;
pub mod factory;
pub mod jsep;
pub mod model;
mod names;
pub mod parse;
mod validate;
pub mod write;

/// The layer below, re-exported so the layers above (media-channels,
/// peerconnection) reach the TransportController, certificates and ICE
/// through this crate, as the layering rule asks.
pub use dtls_transport;
pub use error::{CandidateError, Error, Limited, NegotiationError, Violation};
pub use jsep::{
    IceCandidateInit, JsepCandidateCollection, JsepIceCandidate, JsepSessionDescription, SdpType,
};
pub use model::SessionDescription;
pub use parse::parse;
/// The string type of the model's text fields (inline up to 23 bytes, O(1) clone).
pub use smol_str::SmolStr;
pub use validate::validate;
pub use write::write;
