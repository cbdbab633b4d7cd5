//! The crate's one error type, [`Error`].
//!
//! Every variant is caller misuse or bad caller input (a configuration, a
//! description type in the wrong state, a JSON document); each names the W3C
//! exception a browser would throw for the same mistake, so the async
//! `PeerConnection` can map them one to one.

use crate::configuration::IceServerUrlError;
use crate::signaling::{SignalingOperation, SignalingState};

/// What went wrong in a `peerconnection` call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An ICE server URL does not parse as RFC 7064 (`stun:`/`stuns:`) or
    /// RFC 7065 (`turn:`/`turns:`). W3C: `SyntaxError` (or `NotSupportedError`
    /// for an unknown scheme).
    #[error("invalid ICE server URL {url:?}: {reason}")]
    InvalidIceServerUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: IceServerUrlError,
    },

    /// An `RTCIceServer` with an empty `urls` list. W3C: `SyntaxError`.
    #[error("ICE server {server_index} has no URLs")]
    EmptyIceServerUrls {
        /// The position of the server in `iceServers`.
        server_index: usize,
    },

    /// A `turn:`/`turns:` URL on a server without `username` or `credential`.
    /// W3C: `InvalidAccessError`.
    #[error("TURN server URL {url:?} needs both a username and a credential")]
    MissingTurnCredentials {
        /// The URL as given.
        url: String,
    },

    /// A certificate in the configuration has expired. W3C: `InvalidAccessError`.
    #[error("certificate {certificate_index} in the configuration has expired")]
    ExpiredCertificate {
        /// The position of the certificate in `certificates`.
        certificate_index: usize,
    },

    /// A JSON document is not the W3C shape it should be (an `RTCConfiguration`,
    /// a stats report). W3C: `TypeError`.
    #[error("{what} JSON: {source}")]
    Json {
        /// What the document should have been (`"RTCConfiguration"`, …).
        what: &'static str,
        /// serde_json's account, with line and column.
        source: serde_json::Error,
    },

    /// A signaling operation that the JSEP state machine does not allow in the
    /// current state (RFC 9429 §3.2, W3C §4.3.1). W3C: `InvalidStateError`.
    #[error("cannot {operation} in signaling state {state}")]
    InvalidState {
        /// What was attempted.
        operation: SignalingOperation,
        /// The state it was attempted in.
        state: SignalingState,
    },

    /// `rtcpMuxPolicy: "negotiate"`: RTCP on a transport of its own is not
    /// offered (W3C allows `NotSupportedError` here, and Chromium's plan is
    /// the same); every browser muxes RTCP. W3C: `NotSupportedError`.
    #[error(
        "rtcpMuxPolicy \"negotiate\" is not supported: RTCP is always multiplexed (\"require\")"
    )]
    RtcpMuxNegotiateNotSupported,

    // ----- the Session
    /// A remote description with an audio or video section without
    /// `a=rtcp-mux`, which rtcpMuxPolicy `"require"` refuses (W3C
    /// `setRemoteDescription`). W3C: `InvalidAccessError`.
    #[error("section {mid} has no a=rtcp-mux, which rtcpMuxPolicy \"require\" needs")]
    RtcpMuxRequired {
        /// The section's mid.
        mid: String,
    },
    /// A description that does not parse or validate, or that the
    /// description factory cannot answer (sdp's typed error names the line
    /// or section). W3C: `InvalidAccessError` / `OperationError`.
    #[error("session description: {0}")]
    Sdp(#[from] media_channels::sdp::Error),
    /// The transport layer refused (a DTLS role conflict, an unknown
    /// transport…). W3C: `OperationError`.
    #[error("transport: {0}")]
    Transport(#[from] media_channels::sdp::dtls_transport::Error),
    /// The media or data layer refused (not sending yet, a message over the
    /// peer's max-message-size, a full send buffer…). W3C: `OperationError`.
    #[error("media: {0}")]
    Media(#[from] media_channels::Error),
    /// `createAnswer` or a remote answer without a remote (or local) offer
    /// to go with it.
    #[error("there is no {0} offer to answer")]
    NoOffer(&'static str),
    /// A remote answer whose sections do not match our offer's (count, order
    /// or mids, RFC 9429 §5.10). W3C: `InvalidAccessError`.
    #[error("the answer does not match the offer: {0}")]
    AnswerMismatch(String),
    /// No transceiver with this id (another session's, or stopped).
    #[error("no such transceiver")]
    UnknownTransceiver,
    /// No data channel with this id (another session's, or closed).
    #[error("no such data channel")]
    UnknownDataChannel,
    /// The transceiver has no negotiated section to send on yet.
    #[error("the transceiver is not negotiated yet")]
    NotNegotiated,
    /// An ICE server the PeerConnection cannot use (a host that does not
    /// resolve, a transport the driver does not offer yet).
    #[error("ICE server {url}: {reason}")]
    UnsupportedIceServer {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Send encodings the transceiver cannot have (W3C `addTransceiver`'s
    /// `sendEncodings`): an invalid or repeated rid (RFC 8851: 1–16
    /// alphanumeric characters, `-` or `_`), or more than one encoding for
    /// audio. W3C: `TypeError` / `OperationError`.
    #[error("invalid send encodings: {0}")]
    InvalidSendEncodings(&'static str),
    /// The session is closed. W3C: `InvalidStateError`.
    #[error("the session is closed")]
    Closed,
}
