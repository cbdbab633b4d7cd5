//! The sans-IO `Session`: libwebrtc's WebRtcSession, the core under the
//! async `PeerConnection` and what an SFU that brings its own I/O uses.
//!
//! A [`Session`] owns the three layers below as plain values: the
//! [`MediaSessionDescriptionFactory`] that writes offers and answers, the
//! [`TransportController`] (ICE, DTLS, SRTP per transport) and the
//! [`ChannelManager`] (a `BaseChannel` per audio or video section, the
//! BUNDLE demuxer, congestion control, and the SCTP association of the data
//! section). It follows the seed's flows:
//!
//! - **create-offer / create-answer**: transceivers and the data channel
//!   wish become `MediaSessionOptions`; the factory writes the description
//!   (new sections get mids here, as in libwebrtc).
//! - **set-local-description**: transports are created for the
//!   description's transports (one per BUNDLE group, or per section) with
//!   the description's ICE credentials and roles, the channels for its
//!   sections, and gathering starts.
//! - **set-remote-description**: the peer's fingerprints, credentials,
//!   candidates and `a=setup` reach the transports (an offerer learns its
//!   DTLS role here), the peer's codecs, SSRCs and extensions reach the
//!   channels, and the data section gets its SCTP association once both
//!   sides agreed on it. A description that fails validation or does not fit
//!   the signaling state changes nothing.
//!
//! Like every core below it, it owns no socket, clock or task: the caller
//! feeds datagrams ([`Session::handle_receive`]), fires timers
//! ([`Session::handle_timeout`] at [`Session::poll_timeout`]), sends what
//! [`Session::poll_transmit`] returns and binds the sockets that
//! [`Session::poll_gather`] asks for. Events (candidates to signal, state
//! changes, tracks, frames, data channel messages) come out of
//! [`Session::poll_event`].
//!
//! ```
//! use std::time::Instant;
//! use peerconnection::session::{Session, SessionConfig, SessionEvent};
//! use peerconnection::media_channels::data::DataChannelInit;
//! use peerconnection::media_channels::sdp::dtls_transport::certificate::{Certificate, KeyType, DEFAULT_VALIDITY};
//!
//! let now = Instant::now();
//! let config = |seed| {
//!     let mut c = SessionConfig::new(Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap());
//!     c.ice.seed = Some(seed);
//!     c
//! };
//! let mut offerer = Session::new(config(1), now);
//! let mut answerer = Session::new(config(2), now);
//! let chat = offerer.create_data_channel(now, DataChannelInit::new("chat"))?;
//!
//! let offer = offerer.create_offer()?;
//! offerer.set_local_description(now, offer.clone())?;
//! answerer.set_remote_description(now, offer)?;
//! let answer = answerer.create_answer()?;
//! answerer.set_local_description(now, answer.clone())?;
//! offerer.set_remote_description(now, answer)?;
//! assert_eq!(offerer.signaling_state(), peerconnection::SignalingState::Stable);
//! // Both now ask for sockets (poll_gather); a driver binds them, trickles the
//! // candidates from poll_event to the other side and moves the datagrams.
//! assert!(offerer.poll_gather().is_some());
//! # let _ = chat;
//! # Ok::<(), peerconnection::Error>(())
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use media_channels::base_channel::{BaseChannel, ChannelConfig, ChannelEvent};
use media_channels::channel_manager::{ChannelId, ChannelManager, TransportEvent};
use media_channels::data::{
    DataChannelEvent, DataChannelInit, DtlsRole as SctpRole, SctpConfig, SctpTransport,
};
use media_channels::frame_assembler::AssembledFrame;
use media_channels::rtp::stats::NtpTime;
use media_channels::sdp::factory::{
    BundlePolicy, MediaDescriptionOptions, MediaSessionDescriptionFactory, MediaSessionOptions,
    SenderOptions, TransportDescriptionFactory,
};
use media_channels::sdp::model::{
    ContentInfo, Direction, MediaType, SessionDescription, Setup, SmolStr,
};
use media_channels::sdp::{JsepIceCandidate, JsepSessionDescription, SdpType};

use media_channels::sdp::dtls_transport::certificate::Certificate;
use media_channels::sdp::dtls_transport::controller::{
    ComponentTransmit, ControllerConfig, ControllerEvent, GatherRequest, PeerConnectionState,
    PlainMedia, TransportController, TransportId, TransportSetup,
};
use media_channels::sdp::dtls_transport::dtls::{DtlsRole, DtlsState};
use media_channels::sdp::dtls_transport::ice::Error as IceError;
use media_channels::sdp::dtls_transport::ice::{
    Credentials, GatheringState, IceConfig, IceConnectionState, IceRole, NetworkType, Receive,
};
use media_channels::sdp::dtls_transport::Error as TransportError;

use crate::error::Error;
use crate::signaling::{SignalingState, SignalingStateMachine};

/// Settings of a [`Session`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Our DTLS certificate (its fingerprint goes in every description).
    pub certificate: Certificate,
    /// ICE settings of every transport: servers (none by default: nothing
    /// leaves the machine unless asked), candidate filter, seed. The role
    /// is not taken from here: the offerer controls (RFC 8445 §6.1.1).
    pub ice: IceConfig,
    /// BUNDLE policy of our offers and answers; max-bundle by default.
    pub bundle_policy: BundlePolicy,
    /// SCTP settings of the data section's association; the peer's
    /// max-message-size and port come from its description.
    pub sctp: SctpConfig,
    /// Seeds the channels' sequence numbers and RTCP timing (replayable
    /// runs); varied per channel.
    pub seed: u64,
    /// W3C `iceCandidatePoolSize`: transports that start gathering when the
    /// session is made, before any description, and that the first
    /// transports a description needs take over (libwebrtc's pooled
    /// PortAllocatorSessions), so STUN and TURN answers are already in by
    /// `setLocalDescription`. At most [`MAX_CANDIDATE_POOL`] are made; 0 by
    /// default.
    pub ice_candidate_pool_size: u8,
}

/// Most pooled transports a [`Session`] makes, whatever
/// [`SessionConfig::ice_candidate_pool_size`] asks (each binds a socket per
/// network and may allocate on every TURN server).
pub const MAX_CANDIDATE_POOL: u8 = 8;

impl SessionConfig {
    /// Defaults around `certificate`.
    pub fn new(certificate: Certificate) -> SessionConfig {
        SessionConfig {
            certificate,
            ice: IceConfig::default(),
            bundle_policy: BundlePolicy::MaxBundle,
            sctp: SctpConfig::default(),
            seed: 0x5e55,
            ice_candidate_pool_size: 0,
        }
    }
}

/// A transceiver of a [`Session`] (W3C `RTCRtpTransceiver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransceiverId(usize);

/// A data channel of a [`Session`], ours or the peer's. Stable from
/// [`Session::create_data_channel`] on, before the SCTP stream exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataChannelId(u32);

/// What a [`Session`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A local candidate to signal to the peer (W3C `icecandidate`).
    IceCandidate(JsepIceCandidate),
    /// Gathering finished on every transport (W3C: the `icecandidate`
    /// event with a null candidate).
    EndOfCandidates,
    /// W3C `icegatheringstatechange`.
    IceGatheringState(GatheringState),
    /// W3C `iceconnectionstatechange`.
    IceConnectionState(IceConnectionState),
    /// W3C `connectionstatechange`.
    ConnectionState(PeerConnectionState),
    /// The peer closed DTLS on a transport (close_notify): nothing more
    /// arrives on it (W3C: the RTCDtlsTransport's state becomes `closed`;
    /// the connection state is left as it is). How an application learns
    /// that the peer hung up without waiting for consent to expire.
    TransportClosed {
        /// The mid of the transport's first section.
        mid: SmolStr,
    },
    /// W3C `signalingstatechange`.
    SignalingState(SignalingState),
    /// Something changed that needs an offer/answer exchange (W3C
    /// `negotiationneeded`): a transceiver or the first data channel.
    NegotiationNeeded,
    /// The peer sends media on this transceiver (W3C `track`).
    Track {
        /// The transceiver.
        transceiver: TransceiverId,
        /// Its section's mid.
        mid: SmolStr,
        /// Audio or video.
        kind: MediaType,
    },
    /// A frame arrived on a transceiver, reassembled.
    Frame {
        /// The transceiver.
        transceiver: TransceiverId,
        /// The SSRC it came on.
        ssrc: u32,
        /// The frame.
        frame: AssembledFrame,
    },
    /// The peer asked for a keyframe on our stream of this transceiver.
    KeyframeRequested {
        /// The transceiver.
        transceiver: TransceiverId,
    },
    /// The congestion controller's target for a transport's media, bits
    /// per second.
    TargetBitrate {
        /// Bits per second.
        bitrate_bps: u64,
    },
    /// A data channel opened: ours (ready to send) or the peer's (W3C
    /// `datachannel` when `remote`).
    DataChannelOpen {
        /// The channel.
        channel: DataChannelId,
        /// Its label.
        label: String,
        /// Its sub-protocol (empty for none).
        protocol: String,
        /// Opened by the peer.
        remote: bool,
    },
    /// A message on a data channel.
    DataChannelMessage {
        /// The channel.
        channel: DataChannelId,
        /// Binary (true) or text.
        binary: bool,
        /// The message.
        data: Bytes,
    },
    /// A data channel's buffered amount fell to its low threshold.
    DataChannelBufferedAmountLow {
        /// The channel.
        channel: DataChannelId,
    },
    /// A data channel closed.
    DataChannelClosed {
        /// The channel.
        channel: DataChannelId,
    },
    /// A data channel (or, with `None`, the association) failed.
    DataChannelError {
        /// The channel, if one.
        channel: Option<DataChannelId>,
        /// What happened.
        error: media_channels::Error,
    },
}

#[derive(Debug)]
struct Transceiver {
    id: TransceiverId,
    mid: Option<SmolStr>,
    kind: MediaType,
    direction: Direction,
    sender: Option<SenderOptions>,
    /// RID simulcast layers to send (W3C `sendEncodings`), kept when the
    /// track is removed and added again.
    rids: Vec<SmolStr>,
    channel: Option<ChannelId>,
    /// `setCodecPreferences` (empty: every codec, default order).
    codec_preferences: Vec<media_channels::sdp::model::Codec>,
    /// `stop()`: its section is rejected from the next offer or answer on.
    stopped: bool,
    /// Made for a section of a remote offer (removed if that offer is rolled back).
    from_remote_offer: bool,
    track_reported: bool,
}

#[derive(Debug, Default)]
struct DataState {
    /// A data section is wanted in our offers (a channel was created).
    wanted: bool,
    mid: Option<SmolStr>,
    transport: Option<TransportId>,
    started: bool,
    /// Channels created before the association, with their
    /// buffered-amount-low thresholds.
    pending: Vec<(DataChannelId, DataChannelInit, usize)>,
    by_stream: HashMap<u16, DataChannelId>,
    by_id: HashMap<DataChannelId, u16>,
    next_id: u32,
    /// Per channel, for getStats.
    counters: HashMap<DataChannelId, stats::DataChannelCounters>,
}

/// The sans-IO WebRtcSession; see the [module docs](self).
pub struct Session {
    controller: TransportController,
    manager: ChannelManager<TransportId>,
    factory: MediaSessionDescriptionFactory,
    options: MediaSessionOptions,
    config: SessionConfig,
    signaling: SignalingStateMachine,
    current_local: Option<JsepSessionDescription>,
    current_remote: Option<JsepSessionDescription>,
    pending_local: Option<JsepSessionDescription>,
    pending_remote: Option<JsepSessionDescription>,
    transceivers: Vec<Transceiver>,
    /// The next transceiver's id (ids are never reused, even after a rollback).
    next_transceiver: usize,
    data: DataState,
    /// Transport name → id, for the transports made so far.
    transports: HashMap<String, TransportId>,
    /// What of the remote description each transport already took:
    /// (transport, ufrag), fingerprints by transport, candidates.
    remote_ufrags: HashMap<String, SmolStr>,
    remote_fingerprints_set: HashSet<String>,
    remote_candidates: HashSet<(String, String)>,
    /// Trickled candidates for a transport that does not exist yet.
    pending_candidates: Vec<JsepIceCandidate>,
    events: VecDeque<SessionEvent>,
    ntp_origin: (Instant, NtpTime),
    gathering_started: bool,
    /// `restart_ice` was called: the next offer restarts ICE.
    ice_restart: bool,
    closed: bool,
}

impl Session {
    /// A session in the stable state with nothing negotiated; `now` pairs
    /// the monotonic clock with the wall clock for RTCP.
    pub fn new(config: SessionConfig, now: Instant) -> Session {
        let mut controller = TransportController::new(ControllerConfig::new(
            config.certificate.clone(),
            config.ice.clone(),
        ));
        for _ in 0..config.ice_candidate_pool_size.min(MAX_CANDIDATE_POOL) {
            if let Err(e) = controller.add_pooled_transport(now) {
                tracing::warn!(error = %e, "pooled transport not made");
            }
        }
        let factory = MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
            controller.local_fingerprint(),
        ));
        let options = MediaSessionOptions {
            bundle_policy: config.bundle_policy,
            max_message_size: u64::from(config.sctp.max_message_size.max(1)),
            sctp_port: config.sctp.local_port,
            ..MediaSessionOptions::default()
        };
        Session {
            controller,
            manager: ChannelManager::new(),
            factory,
            options,
            config,
            signaling: SignalingStateMachine::new(),
            current_local: None,
            current_remote: None,
            pending_local: None,
            pending_remote: None,
            transceivers: Vec::new(),
            next_transceiver: 0,
            data: DataState::default(),
            transports: HashMap::new(),
            remote_ufrags: HashMap::new(),
            remote_fingerprints_set: HashSet::new(),
            remote_candidates: HashSet::new(),
            pending_candidates: Vec::new(),
            events: VecDeque::new(),
            ntp_origin: (now, NtpTime::from_system_time(SystemTime::now())),
            gathering_started: false,
            ice_restart: false,
            closed: false,
        }
    }

    // ------------------------------------------------------------ state

    /// The signaling state (W3C `signalingState`).
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling.state()
    }

    /// The combined connection state (W3C `connectionState`).
    pub fn connection_state(&self) -> PeerConnectionState {
        if self.closed {
            return PeerConnectionState::Closed;
        }
        self.controller.state()
    }

    /// The combined ICE connection state.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.controller.ice_connection_state()
    }

    /// The combined ICE gathering state.
    pub fn ice_gathering_state(&self) -> GatheringState {
        self.controller.gathering_state()
    }

    /// The pending local description if any, else the current one (W3C
    /// `localDescription`), with the candidates gathered so far.
    pub fn local_description(&self) -> Option<&JsepSessionDescription> {
        self.pending_local.as_ref().or(self.current_local.as_ref())
    }

    /// The pending remote description if any, else the current one.
    pub fn remote_description(&self) -> Option<&JsepSessionDescription> {
        self.pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())
    }

    /// The transport controller (ICE agents, DTLS, SRTP counters), for
    /// statistics and tests.
    pub fn controller(&self) -> &TransportController {
        &self.controller
    }

    /// The channel manager (channels, counters, SCTP), for statistics.
    pub fn channel_manager(&self) -> &ChannelManager<TransportId> {
        &self.manager
    }

    /// The mid of a transceiver once it has one.
    pub fn transceiver_mid(&self, id: TransceiverId) -> Option<&str> {
        self.transceiver(id).ok()?.mid.as_deref()
    }

    /// Every transceiver with its kind, in creation order.
    pub fn transceivers(&self) -> impl Iterator<Item = (TransceiverId, &MediaType)> {
        self.transceivers.iter().map(|t| (t.id, &t.kind))
    }

    // ------------------------------------------------------------ application calls

    /// Adds a transceiver (W3C `addTransceiver`): audio or video in
    /// `direction`; when it sends, its stream is `track_id` in the streams
    /// `stream_ids` (`a=msid`). Needs a new offer/answer.
    pub fn add_transceiver(
        &mut self,
        kind: MediaType,
        direction: Direction,
        track_id: &str,
        stream_ids: &[&str],
    ) -> Result<TransceiverId, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let id = TransceiverId(self.next_transceiver);
        self.next_transceiver += 1;
        let sends = matches!(direction, Direction::SendRecv | Direction::SendOnly);
        self.transceivers.push(Transceiver {
            id,
            mid: None,
            kind,
            direction,
            sender: sends.then(|| SenderOptions::new(track_id, stream_ids)),
            rids: Vec::new(),
            channel: None,
            codec_preferences: Vec::new(),
            stopped: false,
            from_remote_offer: false,
            track_reported: false,
        });
        self.events.push_back(SessionEvent::NegotiationNeeded);
        Ok(id)
    }

    /// Adds a transceiver that sends RID simulcast (W3C `addTransceiver`
    /// with `sendEncodings: [{rid}, …]`, RFC 8853): the offer lists `rids`
    /// (`a=rid:… send`, `a=simulcast:send …`) in that order, and each layer
    /// the answer receives becomes its own RTP stream, fed with
    /// [`send_frame_on_layer`](Self::send_frame_on_layer). A peer that
    /// answers without simulcast gets the first layer alone. Video only;
    /// an empty `rids` is [`add_transceiver`](Self::add_transceiver).
    pub fn add_transceiver_with_rids(
        &mut self,
        kind: MediaType,
        direction: Direction,
        track_id: &str,
        stream_ids: &[&str],
        rids: &[&str],
    ) -> Result<TransceiverId, Error> {
        let valid = |r: &&str| {
            (1..=16).contains(&r.len())
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !rids.iter().all(valid) {
            return Err(Error::InvalidSendEncodings(
                "a rid must be 1-16 of [A-Za-z0-9_-]",
            ));
        }
        if rids.iter().enumerate().any(|(i, r)| rids[..i].contains(r)) {
            return Err(Error::InvalidSendEncodings("rids must be distinct"));
        }
        if kind == MediaType::Audio && rids.len() > 1 {
            return Err(Error::InvalidSendEncodings("audio has one encoding"));
        }
        let id = self.add_transceiver(kind, direction, track_id, stream_ids)?;
        let t = self.transceiver_mut(id)?;
        t.rids = rids.iter().map(SmolStr::new).collect();
        if let Some(sender) = &mut t.sender {
            sender.rids = t.rids.clone();
        }
        Ok(id)
    }

    /// Adds a track (W3C `addTrack`): the first transceiver of this kind
    /// that does not send yet (one a remote offer made, say) starts
    /// sending it (recvonly becomes sendrecv, inactive sendonly), else a new
    /// sendrecv transceiver is added. Needs a new offer/answer, except when
    /// answering the offer that made the transceiver.
    pub fn add_track(
        &mut self,
        kind: MediaType,
        track_id: &str,
        stream_ids: &[&str],
    ) -> Result<TransceiverId, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let reusable = self
            .transceivers
            .iter_mut()
            .find(|t| t.kind == kind && t.sender.is_none());
        match reusable {
            Some(t) => {
                t.sender = Some(SenderOptions {
                    rids: t.rids.clone(),
                    ..SenderOptions::new(track_id, stream_ids)
                });
                t.direction = match t.direction {
                    Direction::RecvOnly | Direction::SendRecv => Direction::SendRecv,
                    _ => Direction::SendOnly,
                };
                let id = t.id;
                self.events.push_back(SessionEvent::NegotiationNeeded);
                Ok(id)
            }
            None => self.add_transceiver(kind, Direction::SendRecv, track_id, stream_ids),
        }
    }

    /// Stops sending on a transceiver (W3C `removeTrack`): sendrecv becomes
    /// recvonly, sendonly inactive. Needs a new offer/answer.
    pub fn remove_track(&mut self, id: TransceiverId) -> Result<(), Error> {
        let t = self.transceiver_mut(id)?;
        t.sender = None;
        t.direction = match t.direction {
            Direction::SendRecv | Direction::RecvOnly => Direction::RecvOnly,
            _ => Direction::Inactive,
        };
        self.events.push_back(SessionEvent::NegotiationNeeded);
        Ok(())
    }

    /// Sets a transceiver's direction (W3C `RTCRtpTransceiver.direction`).
    /// A direction that sends needs a track (`add_track` or
    /// `add_transceiver` with one) to have a stream in the description.
    pub fn set_direction(&mut self, id: TransceiverId, direction: Direction) -> Result<(), Error> {
        let t = self.transceiver_mut(id)?;
        if t.direction != direction {
            t.direction = direction;
            self.events.push_back(SessionEvent::NegotiationNeeded);
        }
        Ok(())
    }

    /// W3C `setCodecPreferences`: the codecs this transceiver negotiates,
    /// in this order (matched against the built-in list by name, clock rate
    /// and parameters; an `rtx` entry keeps RTX). Empty restores the
    /// default. Takes effect at the next offer or answer.
    pub fn set_codec_preferences(
        &mut self,
        id: TransceiverId,
        codecs: Vec<media_channels::sdp::model::Codec>,
    ) -> Result<(), Error> {
        self.transceiver_mut(id)?.codec_preferences = codecs;
        Ok(())
    }

    /// Stops a transceiver for good (W3C `stop`): its section is rejected
    /// (port 0) from the next offer or answer on, and its channel removed
    /// when that is applied.
    pub fn stop_transceiver(&mut self, id: TransceiverId) -> Result<(), Error> {
        let t = self.transceiver_mut(id)?;
        if !t.stopped {
            t.stopped = true;
            t.sender = None;
            t.direction = Direction::Inactive;
            self.events.push_back(SessionEvent::NegotiationNeeded);
        }
        Ok(())
    }

    /// Asks for an ICE restart (W3C `restartIce`): the next offer carries
    /// new ICE credentials on every transport (RFC 8445 §9); media and data
    /// keep flowing on the current pair until the new generation selects
    /// one.
    pub fn restart_ice(&mut self) {
        if !self.ice_restart {
            self.ice_restart = true;
            self.events.push_back(SessionEvent::NegotiationNeeded);
        }
    }

    /// Creates a data channel (W3C `createDataChannel`). The first one
    /// needs an offer/answer (a data section); before the association is up
    /// the channel waits and opens with it.
    pub fn create_data_channel(
        &mut self,
        now: Instant,
        init: DataChannelInit,
    ) -> Result<DataChannelId, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let id = DataChannelId(self.data.next_id);
        self.data.next_id += 1;
        self.data.counters.insert(
            id,
            stats::DataChannelCounters {
                label: init.label.clone(),
                protocol: init.protocol.clone(),
                ..Default::default()
            },
        );
        if let Some(sctp) = self.sctp() {
            let stream = sctp.create_channel(now, init)?;
            self.data.by_stream.insert(stream, id);
            self.data.by_id.insert(id, stream);
        } else {
            self.data.pending.push((id, init, 0));
        }
        if !self.data.wanted {
            self.data.wanted = true;
            if self.data.mid.is_none() {
                self.events.push_back(SessionEvent::NegotiationNeeded);
            }
        }
        Ok(id)
    }

    /// Sends a message on a data channel (binary, or text as UTF-8 bytes).
    pub fn send_data(
        &mut self,
        now: Instant,
        channel: DataChannelId,
        data: &[u8],
        binary: bool,
    ) -> Result<(), Error> {
        let (stream, sctp) = self.data_stream(channel)?;
        sctp.send(now, stream, data, binary)?;
        if let Some(c) = self.data.counters.get_mut(&channel) {
            c.messages_sent += 1;
            c.bytes_sent += data.len() as u64;
        }
        Ok(())
    }

    /// Reports a failed send of `channel` as an event (for sends whose caller
    /// does not wait for the result, as `PeerConnection::queue_data`).
    pub fn report_data_error(&mut self, channel: DataChannelId, error: Error) {
        let error = match error {
            Error::Media(e) => e,
            _ => media_channels::Error::InvalidInput("no such data channel"),
        };
        self.events.push_back(SessionEvent::DataChannelError {
            channel: Some(channel),
            error,
        });
    }

    /// Bytes queued on a data channel and not yet acknowledged (W3C
    /// `bufferedAmount`).
    pub fn buffered_amount(&mut self, channel: DataChannelId) -> Result<usize, Error> {
        let (stream, sctp) = self.data_stream(channel)?;
        Ok(sctp.buffered_amount(stream)?)
    }

    /// Sets a data channel's W3C `bufferedAmountLowThreshold`:
    /// [`SessionEvent::DataChannelBufferedAmountLow`] fires when its
    /// buffered amount falls from above `threshold` to at or below it
    /// (default 0: when everything sent was acknowledged). Works before the
    /// channel opens too.
    pub fn set_buffered_amount_low_threshold(
        &mut self,
        channel: DataChannelId,
        threshold: usize,
    ) -> Result<(), Error> {
        if let Some(pending) = self.data.pending.iter_mut().find(|p| p.0 == channel) {
            pending.2 = threshold;
            return Ok(());
        }
        let (stream, sctp) = self.data_stream(channel)?;
        sctp.set_buffered_amount_low_threshold(stream, threshold)?;
        Ok(())
    }

    /// Closes a data channel (stream reset, RFC 8831 §6.7).
    pub fn close_data_channel(
        &mut self,
        now: Instant,
        channel: DataChannelId,
    ) -> Result<(), Error> {
        let (stream, sctp) = self.data_stream(channel)?;
        sctp.close(now, stream)?;
        Ok(())
    }

    /// Sends an encoded frame on a transceiver: packetized for its
    /// negotiated codec, paced, protected. Fails until the transceiver
    /// sends (negotiated, transport writable).
    pub fn send_frame(
        &mut self,
        now: Instant,
        transceiver: TransceiverId,
        rtp_timestamp: u32,
        frame: &[u8],
    ) -> Result<(), Error> {
        self.media_channel(transceiver)?
            .send_frame(now, rtp_timestamp, frame)?;
        Ok(())
    }

    /// The BaseChannel of a negotiated transceiver.
    fn media_channel(&mut self, transceiver: TransceiverId) -> Result<&mut BaseChannel, Error> {
        let channel = self
            .transceiver(transceiver)?
            .channel
            .ok_or(Error::NotNegotiated)?;
        self.manager
            .channel_mut(channel)
            .ok_or(Error::NotNegotiated)
    }

    /// Sends an encoded frame of RID simulcast layer `rid` on a transceiver
    /// made with [`add_transceiver_with_rids`](Self::add_transceiver_with_rids):
    /// the application encodes every layer itself (frames of one picture share
    /// `rtp_timestamp`). A layer the peer does not receive is
    /// `Media(UnknownSimulcastLayer)`; [`send_layers`](Self::send_layers) says
    /// which are sent.
    pub fn send_frame_on_layer(
        &mut self,
        now: Instant,
        transceiver: TransceiverId,
        rid: &str,
        rtp_timestamp: u32,
        frame: &[u8],
    ) -> Result<(), Error> {
        self.media_channel(transceiver)?
            .send_frame_on_layer(now, rid, rtp_timestamp, frame)?;
        Ok(())
    }

    /// The streams a transceiver sends now: each RID simulcast layer (`None`
    /// without simulcast) with its SSRC, in order. Empty until negotiated.
    pub fn send_layers(
        &self,
        transceiver: TransceiverId,
    ) -> Result<Vec<(Option<String>, u32)>, Error> {
        let Some(channel) = self.transceiver(transceiver)?.channel else {
            return Ok(Vec::new());
        };
        Ok(self
            .manager
            .channel(channel)
            .map(|c| {
                c.send_layers()
                    .map(|(rid, ssrc)| (rid.map(str::to_owned), ssrc))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Asks the peer for a keyframe on a transceiver (PLI).
    pub fn request_keyframe(
        &mut self,
        now: Instant,
        transceiver: TransceiverId,
    ) -> Result<(), Error> {
        let channel = self
            .transceiver(transceiver)?
            .channel
            .ok_or(Error::NotNegotiated)?;
        if let Some(c) = self.manager.channel_mut(channel) {
            c.request_keyframe(now);
        }
        Ok(())
    }

    fn transceiver(&self, id: TransceiverId) -> Result<&Transceiver, Error> {
        self.transceivers
            .iter()
            .find(|t| t.id == id)
            .ok_or(Error::UnknownTransceiver)
    }

    fn transceiver_mut(&mut self, id: TransceiverId) -> Result<&mut Transceiver, Error> {
        self.transceivers
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(Error::UnknownTransceiver)
    }

    /// A data channel's SCTP stream id and the association it is on.
    fn data_stream(&mut self, channel: DataChannelId) -> Result<(u16, &mut SctpTransport), Error> {
        let stream = *self
            .data
            .by_id
            .get(&channel)
            .ok_or(Error::UnknownDataChannel)?;
        let sctp = self.sctp().ok_or(Error::UnknownDataChannel)?;
        Ok((stream, sctp))
    }

    fn sctp(&mut self) -> Option<&mut SctpTransport> {
        let t = self.data.transport?;
        self.manager.data_transport(t)
    }
}

mod negotiation;
mod pump;
mod stats;

#[cfg(test)]
mod tests;
