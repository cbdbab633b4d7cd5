//! WebRTC data channels, sans-IO (libwebrtc's `SctpTransport` and
//! `SctpDataChannel`; RFC 8831, 8832, 8841).
//!
//! | module | what | RFC |
//! |---|---|---|
//! | [`dcep`] | DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK views and builders | 8832 |
//! | [`channel`] | [`DataChannelInit`], [`ChannelInfo`], [`Reliability`], PPIDs | 8831 §6, §8 |
//! | [`SctpTransport`] | one SCTP association over DTLS carrying every data channel | 8831, 8841 |
//!
//! SCTP itself is [`sctp_proto`] (the sans-IO SCTP that str0m maintains):
//! association, streams, partial reliability, RFC 6525 stream reset. On top
//! of it this module adds what WebRTC needs: DCEP, the DTLS role's stream-id
//! parity, the PPIDs and empty-message rule, max-message-size, and limits on
//! channels and queued bytes.
//!
//! # The run loop
//!
//! [`SctpTransport`] owns no socket, clock or task. Its input is the
//! application data DTLS delivered ([`SctpTransport::handle_receive`]),
//! timeouts ([`SctpTransport::handle_timeout`]) and commands
//! ([`create_channel`](SctpTransport::create_channel),
//! [`send`](SctpTransport::send), [`close`](SctpTransport::close)), every
//! one with `now`. After any input, drain in this order:
//!
//! 1. [`poll_event`](SctpTransport::poll_event) until `None`: channel opens,
//!    messages, closes, errors. Messages are read from SCTP here, so an
//!    application that stops polling stops the peer through SCTP's receive
//!    window instead of growing a queue;
//! 2. [`poll_transmit`](SctpTransport::poll_transmit) until `None`: SCTP
//!    packets for DTLS to send as application data;
//! 3. [`poll_timeout`](SctpTransport::poll_timeout): when to call
//!    [`handle_timeout`](SctpTransport::handle_timeout) next.
//!
//! DCEP is answered inside the input that brought it, so a DATA_CHANNEL_ACK
//! never waits for the application to poll.
//!
//! # Who sends INIT
//!
//! In libwebrtc both peers call `Connect` and SCTP resolves the collided
//! INITs (RFC 9260 §5.2.1). sctp-proto's `Endpoint` does not merge an
//! incoming INIT into an association it is itself initiating, so we follow
//! str0m: the DTLS client initiates the association on
//! [`connect`](SctpTransport::connect) and the DTLS server answers. Both
//! sides also accept the first INIT that arrives while they have no
//! association (so a peer that initiates from either role, as Chromium and
//! pion do, is answered), and refuse every later one.

pub mod channel;
mod controller;
pub mod dcep;
mod sctp;

use bytes::Bytes;

pub use channel::{ChannelInfo, DataChannelInit, Reliability};
pub use sctp::{SctpConfig, SctpTransport};

use crate::error::Error;

/// Which side of the DTLS handshake the transport under this SCTP
/// association is (the DTLS layer's `DtlsRole`; `a=setup:active` is the
/// client). It fixes the parity of the stream ids we pick (RFC 8832 §6) and
/// who sends INIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsRole {
    /// The DTLS client: even stream ids; sends INIT.
    Client,
    /// The DTLS server: odd stream ids; answers INIT.
    Server,
}

impl DtlsRole {
    /// The parity of the stream ids this side opens in band: 0 (even) for
    /// the client, 1 (odd) for the server.
    pub fn stream_id_parity(self) -> u16 {
        match self {
            DtlsRole::Client => 0,
            DtlsRole::Server => 1,
        }
    }
}

/// What [`SctpTransport::poll_event`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataChannelEvent {
    /// The SCTP association is established; channels created before now
    /// are being opened.
    Connected,
    /// A data channel is open for sending: one we created (after its
    /// DATA_CHANNEL_OPEN went out, or at once for a negotiated one) or one
    /// the peer opened with DATA_CHANNEL_OPEN.
    /// [`SctpTransport::channel`] has all of its options.
    ChannelOpen {
        /// Stream id.
        id: u16,
        /// Label.
        label: String,
        /// Sub-protocol (empty for none).
        protocol: String,
        /// Ordered delivery.
        ordered: bool,
        /// Retransmission policy.
        reliability: Reliability,
        /// Negotiated out of band.
        negotiated: bool,
        /// Opened by the peer.
        remote: bool,
    },
    /// A complete message. Empty messages (PPID 56/57) arrive with empty
    /// `data`. Text is delivered as its bytes, not checked for UTF-8.
    Message {
        /// Stream id.
        id: u16,
        /// PPID 53/57 (binary) rather than 51/56 (text).
        binary: bool,
        /// The message.
        data: Bytes,
    },
    /// The channel's buffered amount fell to or below its low threshold
    /// ([`SctpTransport::set_buffered_amount_low_threshold`], default 0).
    BufferedAmountLow {
        /// Stream id.
        id: u16,
    },
    /// The channel is closed: both directions of its stream were reset
    /// (RFC 8831 §6.7), or the association ended. Its id is free again once
    /// the reset handshake completes.
    ChannelClosed {
        /// Stream id.
        id: u16,
    },
    /// Something went wrong: on one stream (`id: Some`, that stream only,
    /// the others keep flowing) or with the association (`id: None`, after
    /// which every channel is closed).
    Error {
        /// The stream, when the error concerns one.
        id: Option<u16>,
        /// What happened; [`Error::is_peer_fault`] tells whose doing.
        error: Error,
    },
}
