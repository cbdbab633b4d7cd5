//! `MediaSessionDescriptionFactory`: builds offers and answers from
//! [`MediaSessionOptions`] (libwebrtc's `cricket::MediaSessionDescriptionFactory`,
//! `CreateOfferOrError` / `CreateAnswerOrError`, `AddAudioContentForOffer`,
//! `AddVideoContentForOffer`, `AddDataContentForOffer`, `NegotiateCodecs`,
//! `NegotiateRtpHeaderExtensions`).

use std::collections::HashSet;

use crate::codecs::{codecs_for, codecs_match, CodecConfig};
use crate::error::NegotiationError;
use crate::factory::negotiate::{
    answer_header_extensions, negotiate_codecs, offer_codecs, offer_extensions,
};
use crate::factory::streams::add_streams;
use crate::factory::transport::{
    random_ice_string, Entropy, TransportDescriptionFactory, TransportOptions,
};
use crate::model::{
    Codec, ContentInfo, Direction, Group, HeaderExtension, MediaContentDescription, MediaType,
    MsidSemantic, Origin, Rid, RidDirection, SessionDescription, Simulcast, SmolStr,
    TransportDescription, FORMAT_DATACHANNEL,
};
use crate::Error;

/// How media sections share transports (W3C `RTCBundlePolicy`, JSEP §4.1.1).
///
/// The policy changes only what [`MediaSessionDescriptionFactory::create_answer`]
/// accepts: offers always put every accepted section in one BUNDLE group
/// on one transport, whatever the policy. [`BundlePolicy::Balanced`] and
/// [`BundlePolicy::MaxCompat`] are the same here: in libwebrtc they differ
/// in which sections gather candidates before the answer comes (the first of
/// each media type, or every section), which is the PeerConnection layer's
/// business, not the description's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BundlePolicy {
    /// Bundle what the offer bundles; answer sections outside its BUNDLE
    /// group (or all of them, when it has none) on a transport each.
    Balanced,
    /// Everything on one transport; an answer to an offer whose sections are
    /// not all in one BUNDLE group rejects the others (libwebrtc's
    /// max-bundle), and an offer with more than one accepted section and no BUNDLE
    /// group is refused. The default here, as in most WebRTC stacks.
    #[default]
    MaxBundle,
    /// The same as [`BundlePolicy::Balanced`] in these descriptions (see
    /// above).
    MaxCompat,
}

/// One outgoing track in a section (libwebrtc's `SenderOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderOptions {
    /// The track id (`a=msid` appdata).
    pub track_id: SmolStr,
    /// The stream ids (`a=msid` first field; `-` when empty).
    pub stream_ids: Vec<SmolStr>,
    /// Simulcast with RIDs (RFC 8851/8853): the rids to send, in order.
    pub rids: Vec<SmolStr>,
    /// Legacy SSRC simulcast (`a=ssrc-group:SIM`) with this many layers when
    /// no rids are given; 1 means no simulcast.
    pub num_sim_layers: usize,
}

impl SenderOptions {
    /// A sender of `track_id` in the given streams.
    pub fn new(track_id: &str, stream_ids: &[&str]) -> SenderOptions {
        SenderOptions {
            track_id: track_id.into(),
            stream_ids: stream_ids.iter().map(SmolStr::new).collect(),
            rids: Vec::new(),
            num_sim_layers: 1,
        }
    }

    /// The same sender sending RID simulcast layers.
    pub fn with_rids(mut self, rids: &[&str]) -> SenderOptions {
        self.rids = rids.iter().map(SmolStr::new).collect();
        self
    }
}

/// What one m-section should contain (libwebrtc's `MediaDescriptionOptions`,
/// one per transceiver or data channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescriptionOptions {
    /// `audio`, `video` or `application`.
    pub media_type: MediaType,
    /// The section's mid (stable across renegotiations).
    pub mid: SmolStr,
    /// The transceiver direction we want.
    pub direction: Direction,
    /// A stopped transceiver: its section is rejected (port 0).
    pub stopped: bool,
    /// Tracks we send here.
    pub senders: Vec<SenderOptions>,
    /// `setCodecPreferences`: the codecs to use, in this order (matched
    /// against the built-in list; RTX only if an `rtx` entry is present).
    /// Empty means every built-in codec in the default order.
    pub codec_preferences: Vec<Codec>,
    /// Header extensions to offer instead of the built-in list.
    pub header_extensions: Option<Vec<HeaderExtension>>,
}

impl MediaDescriptionOptions {
    /// A section of `media_type` with this mid, `sendrecv`, no senders.
    pub fn new(media_type: MediaType, mid: &str) -> MediaDescriptionOptions {
        MediaDescriptionOptions {
            media_type,
            mid: mid.into(),
            direction: Direction::SendRecv,
            stopped: false,
            senders: Vec::new(),
            codec_preferences: Vec::new(),
            header_extensions: None,
        }
    }

    /// An audio section.
    pub fn audio(mid: &str) -> MediaDescriptionOptions {
        MediaDescriptionOptions::new(MediaType::Audio, mid)
    }

    /// A video section.
    pub fn video(mid: &str) -> MediaDescriptionOptions {
        MediaDescriptionOptions::new(MediaType::Video, mid)
    }

    /// A data-channel section.
    pub fn data(mid: &str) -> MediaDescriptionOptions {
        MediaDescriptionOptions::new(MediaType::Application, mid)
    }

    /// The same options with another direction.
    pub fn with_direction(mut self, direction: Direction) -> MediaDescriptionOptions {
        self.direction = direction;
        self
    }

    /// The same options with a sender added.
    pub fn with_sender(mut self, sender: SenderOptions) -> MediaDescriptionOptions {
        self.senders.push(sender);
        self
    }

    /// The same options, stopped.
    pub fn stopped(mut self) -> MediaDescriptionOptions {
        self.stopped = true;
        self
    }
}

/// Everything an offer or answer is built from (libwebrtc's
/// `MediaSessionOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSessionOptions {
    /// BUNDLE policy, max-bundle by default.
    pub bundle_policy: BundlePolicy,
    /// One entry per section. For an offer, existing sections are matched by
    /// mid; new mids are appended (or reuse a rejected section's slot). For
    /// an answer, the offer's mids select their options; offered sections
    /// without options are rejected.
    pub media_description_options: Vec<MediaDescriptionOptions>,
    /// Restart ICE: new credentials on every transport (RFC 8445 §9). The
    /// answerer sets it when the offer restarted ICE (see
    /// [`offer_restarts_ice`]).
    pub ice_restart: bool,
    /// Answer `actpass` with `passive` instead of `active`.
    pub prefer_passive_role: bool,
    /// Write `a=extmap-allow-mixed` (RFC 8285) in offers; answers echo the
    /// offer's.
    pub offer_extmap_allow_mixed: bool,
    /// The RTCP CNAME of our streams (random per PeerConnection).
    pub rtcp_cname: SmolStr,
    /// `a=sctp-port` of data sections.
    pub sctp_port: u16,
    /// `a=max-message-size` of data sections.
    pub max_message_size: u64,
}

impl Default for MediaSessionOptions {
    fn default() -> MediaSessionOptions {
        MediaSessionOptions {
            bundle_policy: BundlePolicy::MaxBundle,
            media_description_options: Vec::new(),
            ice_restart: false,
            prefer_passive_role: false,
            offer_extmap_allow_mixed: true,
            rtcp_cname: random_ice_string(16),
            sctp_port: 5000,
            max_message_size: 262_144,
        }
    }
}

impl MediaSessionOptions {
    /// Default options with these sections.
    pub fn with_sections(sections: Vec<MediaDescriptionOptions>) -> MediaSessionOptions {
        MediaSessionOptions {
            media_description_options: sections,
            ..MediaSessionOptions::default()
        }
    }

    fn section(&self, mid: &str) -> Option<&MediaDescriptionOptions> {
        self.media_description_options.iter().find(|o| o.mid == mid)
    }

    fn transport_options(&self) -> TransportOptions {
        TransportOptions {
            ice_restart: self.ice_restart,
            prefer_passive_role: self.prefer_passive_role,
        }
    }
}

/// Whether `offer` restarts ICE relative to the previous remote description:
/// some section kept its mid but changed ICE ufrag or password (RFC 8839
/// §4.4.1.1.1). The answerer then sets [`MediaSessionOptions::ice_restart`].
pub fn offer_restarts_ice(
    previous_remote: &SessionDescription,
    offer: &SessionDescription,
) -> bool {
    offer.contents.iter().filter(|c| !c.rejected).any(|c| {
        previous_remote.content(&c.mid).is_some_and(|p| {
            !p.rejected
                && (p.transport.ice_ufrag != c.transport.ice_ufrag
                    || p.transport.ice_pwd != c.transport.ice_pwd)
        })
    })
}

/// Creates offers and answers (libwebrtc's `MediaSessionDescriptionFactory`).
///
/// ```
/// use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
/// use sdp::factory::*;
/// use sdp::model::Direction;
///
/// let factory = |_: ()| -> Result<MediaSessionDescriptionFactory, Box<dyn std::error::Error>> {
///     let cert = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY)?;
///     let transport = TransportDescriptionFactory::new(cert.fingerprint(HashAlgorithm::Sha256));
///     Ok(MediaSessionDescriptionFactory::new(transport))
/// };
/// let (alice, bob) = (factory(())?, factory(())?);
///
/// let offer = alice.create_offer(
///     &MediaSessionOptions::with_sections(vec![
///         MediaDescriptionOptions::audio("0").with_sender(SenderOptions::new("mic", &["s"])),
///         MediaDescriptionOptions::data("1"),
///     ]),
///     None,
/// )?;
/// let answer = bob.create_answer(
///     &offer,
///     &MediaSessionOptions::with_sections(vec![
///         MediaDescriptionOptions::audio("0").with_direction(Direction::RecvOnly),
///         MediaDescriptionOptions::data("1"),
///     ]),
///     None,
/// )?;
/// let audio = &answer.contents[0].media;
/// assert_eq!(audio.direction, Direction::RecvOnly);
/// assert_eq!(audio.codecs[0].name, "opus");
/// assert_eq!(answer.bundle_group().unwrap().mids, ["0", "1"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MediaSessionDescriptionFactory {
    transport: TransportDescriptionFactory,
    /// Shared: every factory with the default codecs points at one list (a
    /// server with thousands of sessions keeps one copy).
    audio_codecs: SharedCodecs,
    video_codecs: SharedCodecs,
}

/// A shared list of codecs.
type SharedCodecs = std::sync::Arc<[Codec]>;

/// The built-in audio and video codec lists of [`CodecConfig::default`], made once.
fn default_codecs() -> &'static (SharedCodecs, SharedCodecs) {
    static DEFAULT: std::sync::OnceLock<(SharedCodecs, SharedCodecs)> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(|| {
        let config = CodecConfig::default();
        (
            codecs_for(&MediaType::Audio, &config).into(),
            codecs_for(&MediaType::Video, &config).into(),
        )
    })
}

const SECURE_RTP_PROTOCOLS: [&str; 4] = [
    "UDP/TLS/RTP/SAVPF",
    "TCP/TLS/RTP/SAVPF",
    "RTP/SAVPF",
    "UDP/TLS/RTP/SAVP",
];

impl MediaSessionDescriptionFactory {
    /// A factory with the built-in codecs ([`CodecConfig::default`]).
    pub fn new(transport: TransportDescriptionFactory) -> MediaSessionDescriptionFactory {
        let (audio, video) = default_codecs();
        MediaSessionDescriptionFactory {
            transport,
            audio_codecs: audio.clone(),
            video_codecs: video.clone(),
        }
    }

    /// A factory with the built-in codecs chosen by `config`.
    pub fn with_codec_config(
        transport: TransportDescriptionFactory,
        config: &CodecConfig,
    ) -> MediaSessionDescriptionFactory {
        MediaSessionDescriptionFactory {
            transport,
            audio_codecs: codecs_for(&MediaType::Audio, config).into(),
            video_codecs: codecs_for(&MediaType::Video, config).into(),
        }
    }

    /// The transport factory.
    pub fn transport_factory(&self) -> &TransportDescriptionFactory {
        &self.transport
    }

    /// The supported audio codecs, in preference order.
    pub fn audio_codecs(&self) -> &[Codec] {
        &self.audio_codecs
    }

    /// Replaces the supported audio codecs.
    pub fn set_audio_codecs(&mut self, codecs: Vec<Codec>) {
        self.audio_codecs = codecs.into();
    }

    /// The supported video codecs, in preference order.
    pub fn video_codecs(&self) -> &[Codec] {
        &self.video_codecs
    }

    /// Replaces the supported video codecs.
    pub fn set_video_codecs(&mut self, codecs: Vec<Codec>) {
        self.video_codecs = codecs.into();
    }

    /// The codecs a section may use: the supported ones, filtered and
    /// ordered by the section's codec preferences.
    fn local_codecs(&self, options: &MediaDescriptionOptions) -> Vec<Codec> {
        let supported = match options.media_type {
            MediaType::Audio => &self.audio_codecs,
            MediaType::Video => &self.video_codecs,
            _ => return Vec::new(),
        };
        let prefs = &options.codec_preferences;
        if prefs.is_empty() {
            return supported.to_vec();
        }
        let want_rtx = prefs.iter().any(Codec::is_rtx);
        let mut primaries: Vec<(usize, &Codec)> = supported
            .iter()
            .filter(|c| !c.is_rtx())
            .filter_map(|c| {
                prefs
                    .iter()
                    .position(|p| codecs_match(p, c))
                    .map(|i| (i, c))
            })
            .collect();
        primaries.sort_by_key(|(i, _)| *i);
        let mut out = Vec::new();
        for (_, c) in primaries {
            out.push(c.clone());
            if want_rtx {
                if let Some(rtx) = supported
                    .iter()
                    .find(|r| r.is_rtx() && r.apt() == Some(c.payload_type))
                {
                    out.push(rtx.clone());
                }
            }
        }
        out
    }

    /// Creates an offer (`CreateOffer`). `current` is the current local
    /// description, if any: its sections keep their slot, mid, payload
    /// types, extension ids, SSRCs and ICE credentials (unless
    /// [`MediaSessionOptions::ice_restart`]). A rejected section's slot is
    /// reused by the first new section; a section whose options are gone or
    /// stopped is rejected (port 0).
    pub fn create_offer(
        &self,
        options: &MediaSessionOptions,
        current: Option<&SessionDescription>,
    ) -> Result<SessionDescription, Error> {
        check_unique_mids(options)?;
        let entropy = &mut Entropy::new();
        let current_mids: HashSet<&str> = current
            .map(|c| c.contents.iter().map(|c| c.mid.as_str()).collect())
            .unwrap_or_default();
        let mut new_options = options
            .media_description_options
            .iter()
            .filter(|o| !current_mids.contains(o.mid.as_str()));

        // (options, current content of the same mid) per slot.
        let mut slots: Vec<(Option<&MediaDescriptionOptions>, Option<&ContentInfo>)> = Vec::new();
        for content in current.map(|c| c.contents.as_slice()).unwrap_or_default() {
            match options.section(&content.mid) {
                Some(o) => slots.push((Some(o), Some(content))),
                None if content.rejected => match new_options.next() {
                    Some(o) => slots.push((Some(o), None)),
                    None => slots.push((None, Some(content))),
                },
                None => slots.push((None, Some(content))),
            }
        }
        slots.extend(new_options.map(|o| (Some(o), None)));

        let mut contents = Vec::with_capacity(slots.len());
        for (opts, cur) in slots {
            let content = match (opts, cur) {
                (Some(o), cur) if !o.stopped => self.offer_content(o, cur, options, entropy)?,
                (Some(o), cur) => rejected_content(o, cur),
                (None, Some(cur)) => {
                    let mut c = cur.clone();
                    c.rejected = true;
                    c.bundle_only = false;
                    c.media.port = 0;
                    c.transport.candidates.clear();
                    c.transport.end_of_candidates = false;
                    c
                }
                (None, None) => unreachable!("every slot has options or a current section"),
            };
            contents.push(content);
        }

        // One BUNDLE group of every accepted section; they share the transport
        // of the first (the offerer-tagged section, RFC 9143 §7.2).
        let bundled: Vec<SmolStr> = contents
            .iter()
            .filter(|c| !c.rejected)
            .map(|c| c.mid.clone())
            .collect();
        let transport_options = options.transport_options();
        let current_transport = current.and_then(|cur| {
            bundled
                .iter()
                .find_map(|mid| cur.content(mid).filter(|c| !c.rejected))
                .map(|c| &c.transport)
        });
        let transport = self
            .transport
            .offer_with(&transport_options, current_transport, entropy);
        for content in &mut contents {
            content.transport = transport.clone();
        }

        let mut session = SessionDescription::new(next_origin(current, entropy));
        if !bundled.is_empty() {
            session.groups.push(Group::bundle(bundled));
        }
        session.extmap_allow_mixed = options.offer_extmap_allow_mixed;
        session.msid_semantic = Some(msid_semantic(&contents));
        session.contents = contents;
        Ok(session)
    }

    fn offer_content(
        &self,
        o: &MediaDescriptionOptions,
        cur: Option<&ContentInfo>,
        options: &MediaSessionOptions,
        entropy: &mut Entropy,
    ) -> Result<ContentInfo, Error> {
        if let Some(cur) = cur {
            if cur.media.media_type != o.media_type {
                return Err(Error::Negotiation(NegotiationError::MediaTypeChanged {
                    mid: o.mid.clone(),
                    from: cur.media.media_type.clone(),
                    to: o.media_type.clone(),
                }));
            }
        }
        let cur_media = cur.filter(|c| !c.rejected).map(|c| &c.media);
        let media = match o.media_type {
            MediaType::Application => {
                let mut m = MediaContentDescription::new_data();
                m.sctp_port = Some(options.sctp_port);
                m.max_message_size = Some(options.max_message_size);
                m
            }
            MediaType::Audio | MediaType::Video => {
                let mut m = MediaContentDescription::new_rtp(o.media_type.clone());
                m.codecs = offer_codecs(&self.local_codecs(o), cur_media);
                m.header_extensions = offer_extensions(o, cur_media);
                m.direction = o.direction;
                m.rtcp_rsize = true;
                if o.direction.sends() {
                    add_streams(&mut m, o, cur_media, &options.rtcp_cname, None, entropy);
                }
                m
            }
            MediaType::Other(_) => {
                return Err(Error::Negotiation(NegotiationError::UnsupportedMediaType {
                    mid: o.mid.clone(),
                    media_type: o.media_type.clone(),
                }))
            }
        };
        Ok(ContentInfo::new(o.mid.clone(), media))
    }

    /// Creates an answer to `offer` (`CreateAnswer`). `current` is the
    /// current local description (our previous answer), whose ICE
    /// credentials and DTLS role are kept unless restarting.
    ///
    /// Per section: codecs are the intersection in the offerer's order (or
    /// the section's codec preferences' order) with the offerer's payload
    /// types, H.264 profile matching and level negotiation, RTX only for
    /// negotiated primaries; rtcp-fb is the intersection; header extensions
    /// are the supported ones with the offerer's ids; the direction is ours
    /// intersected with the offer's reversed. Sections are rejected when the
    /// offer rejected them, we have no options for them or they are
    /// stopped, nothing is in common, or (max-bundle) they are outside the
    /// offer's BUNDLE group. An RTP section without `a=rtcp-mux` is an
    /// error, and so is an offer that fails [`validate`](crate::validate())
    /// (missing or duplicate mids, a bad BUNDLE group, a transport without
    /// ICE credentials or fingerprint…): nothing is answered from it.
    pub fn create_answer(
        &self,
        offer: &SessionDescription,
        options: &MediaSessionOptions,
        current: Option<&SessionDescription>,
    ) -> Result<SessionDescription, Error> {
        crate::validate(offer, crate::SdpType::Offer)?;
        check_unique_mids(options)?;
        let entropy = &mut Entropy::new();
        let offered_bundle = offer.bundle_group();
        let accepted_sections = offer.contents.iter().filter(|c| !c.rejected).count();
        if options.bundle_policy == BundlePolicy::MaxBundle
            && offered_bundle.is_none()
            && accepted_sections > 1
        {
            return Err(Error::Negotiation(NegotiationError::NoBundleGroup));
        }
        let mut contents = Vec::with_capacity(offer.contents.len());
        for offered in &offer.contents {
            let in_bundle = offered_bundle.is_some_and(|g| g.mids.contains(&offered.mid));
            let outside_max_bundle = options.bundle_policy == BundlePolicy::MaxBundle
                && offered_bundle.is_some()
                && !in_bundle;
            let opts = options.section(&offered.mid);
            let content = match opts {
                Some(o) if !o.stopped && !offered.rejected && !outside_max_bundle => {
                    let cur = current.and_then(|c| c.content(&offered.mid));
                    self.answer_content(offered, o, cur, options, entropy)?
                }
                _ => None,
            };
            contents.push(content.unwrap_or_else(|| rejected_answer(offered)));
        }

        // BUNDLE: the offered group's accepted mids, in the offer's order.
        let mut session = SessionDescription::new(next_origin(current, entropy));
        let bundled: Vec<SmolStr> = match offered_bundle {
            Some(g) => g
                .mids
                .iter()
                .filter(|m| contents.iter().any(|c| &c.mid == *m && !c.rejected))
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let transport_options = options.transport_options();
        let mut bundle_transport: Option<TransportDescription> = None;
        for (content, offered) in contents.iter_mut().zip(&offer.contents) {
            let current_transport = current
                .and_then(|c| c.content(&content.mid))
                .filter(|c| !c.rejected)
                .map(|c| &c.transport);
            if bundled.contains(&content.mid) {
                if bundle_transport.is_none() {
                    // The offerer's tagged transport (first bundled mid) sets the parameters.
                    let tagged = offer.content(&bundled[0]).unwrap_or(offered);
                    bundle_transport = Some(self.transport.answer_with(
                        &tagged.transport,
                        &transport_options,
                        current_transport,
                        entropy,
                    )?);
                }
                content.transport = bundle_transport.clone().unwrap_or_default();
            } else if !content.rejected {
                content.transport = self.transport.answer_with(
                    &offered.transport,
                    &transport_options,
                    current_transport,
                    entropy,
                )?;
            } else {
                content.transport = TransportDescription::default();
            }
        }
        if !bundled.is_empty() {
            session.groups.push(Group::bundle(bundled));
        }
        session.extmap_allow_mixed = offer.extmap_allow_mixed;
        session.msid_semantic = Some(msid_semantic(&contents));
        session.contents = contents;
        Ok(session)
    }

    /// The answer to one accepted-so-far offered section, or `None` when it
    /// must be rejected (unsupported protocol or nothing in common).
    fn answer_content(
        &self,
        offered: &ContentInfo,
        o: &MediaDescriptionOptions,
        cur: Option<&ContentInfo>,
        options: &MediaSessionOptions,
        entropy: &mut Entropy,
    ) -> Result<Option<ContentInfo>, Error> {
        let om = &offered.media;
        if om.media_type != o.media_type {
            return Ok(None);
        }
        let media = match om.media_type {
            MediaType::Application => answer_data(om, options),
            MediaType::Audio | MediaType::Video => {
                self.answer_rtp(offered, o, cur, options, entropy)?
            }
            MediaType::Other(_) => None,
        };
        Ok(media.map(|m| ContentInfo::new(offered.mid.clone(), m)))
    }

    /// The media of an answer to an offered audio or video section: codecs,
    /// header extensions and direction in common, the offerer's simulcast
    /// received, our streams if we send; `None` to reject it.
    fn answer_rtp(
        &self,
        offered: &ContentInfo,
        o: &MediaDescriptionOptions,
        cur: Option<&ContentInfo>,
        options: &MediaSessionOptions,
        entropy: &mut Entropy,
    ) -> Result<Option<MediaContentDescription>, Error> {
        let om = &offered.media;
        if !SECURE_RTP_PROTOCOLS.contains(&om.protocol.as_str()) {
            return Ok(None);
        }
        if !om.rtcp_mux {
            return Err(Error::Negotiation(NegotiationError::RtcpMuxRequired(
                offered.mid.clone(),
            )));
        }
        let local = self.local_codecs(o);
        let codecs = negotiate_codecs(
            &om.codecs,
            &om.wildcard_feedback,
            &local,
            &o.codec_preferences,
        );
        if !codecs.iter().any(|c| !c.is_resiliency_or_auxiliary()) {
            return Ok(None);
        }
        let mut m = MediaContentDescription::new_rtp(om.media_type.clone());
        m.protocol = om.protocol.clone();
        m.codecs = codecs;
        m.header_extensions = answer_header_extensions(om, o);
        m.extmap_allow_mixed = om.extmap_allow_mixed;
        m.direction = o.direction.intersect(om.direction.reversed());
        m.rtcp_rsize = om.rtcp_rsize;
        receive_offered_simulcast(&mut m, om);
        if m.direction.sends() {
            let offered_recv_rids: Option<Vec<SmolStr>> = om
                .simulcast
                .as_ref()
                .filter(|s| !s.recv.is_empty())
                .map(|s| {
                    s.recv
                        .iter()
                        .filter_map(|alts| alts.first())
                        .map(|l| l.rid.clone())
                        .collect()
                });
            let cur_media = cur.filter(|c| !c.rejected).map(|c| &c.media);
            add_streams(
                &mut m,
                o,
                cur_media,
                &options.rtcp_cname,
                Some(offered_recv_rids.as_deref().unwrap_or(&[])),
                entropy,
            );
        }
        Ok(Some(m))
    }
}

/// The media of an answer to an offered data section (SCTP with
/// `webrtc-datachannel`), or `None` to reject it.
fn answer_data(
    om: &MediaContentDescription,
    options: &MediaSessionOptions,
) -> Option<MediaContentDescription> {
    if !om.is_sctp() || !om.formats.iter().any(|f| f == FORMAT_DATACHANNEL) {
        return None;
    }
    let mut m = MediaContentDescription::new_data();
    m.protocol = om.protocol.clone();
    m.sctp_port = Some(options.sctp_port);
    m.max_message_size = Some(options.max_message_size);
    Some(m)
}

/// Receive the offerer's RID simulcast when the answer `m` receives.
fn receive_offered_simulcast(m: &mut MediaContentDescription, om: &MediaContentDescription) {
    let Some(sim) = &om.simulcast else {
        return;
    };
    if sim.send.is_empty() || !m.direction.receives() {
        return;
    }
    m.rids = om
        .rids
        .iter()
        .filter(|r| r.direction == RidDirection::Send)
        .map(|r| Rid {
            id: r.id.clone(),
            direction: RidDirection::Recv,
            restrictions: None,
        })
        .collect();
    m.simulcast = Some(Simulcast {
        send: Vec::new(),
        recv: sim.send.clone(),
    });
}

fn check_unique_mids(options: &MediaSessionOptions) -> Result<(), Error> {
    let mut seen = HashSet::new();
    for o in &options.media_description_options {
        if o.mid.is_empty() || !seen.insert(o.mid.as_str()) {
            return Err(Error::Negotiation(NegotiationError::OptionsMid(
                o.mid.clone(),
            )));
        }
    }
    Ok(())
}

/// `a=msid-semantic: WMS` with the stream ids our sections send (as
/// Chromium writes it).
fn msid_semantic(contents: &[ContentInfo]) -> MsidSemantic {
    let mut ids: Vec<SmolStr> = Vec::new();
    for msid in contents
        .iter()
        .filter(|c| !c.rejected)
        .flat_map(|c| &c.media.msids)
    {
        if msid.stream_id != "-" && !ids.contains(&msid.stream_id) {
            ids.push(msid.stream_id.clone());
        }
    }
    MsidSemantic {
        semantic: SmolStr::new_static("WMS"),
        ids,
    }
}

/// Same session id with the version incremented, or a fresh session.
fn next_origin(current: Option<&SessionDescription>, entropy: &mut Entropy) -> Origin {
    match current {
        Some(c) => Origin {
            session_version: c.origin.session_version.wrapping_add(1),
            ..c.origin.clone()
        },
        None => Origin::new(entropy.session_id(), 2),
    }
}

/// A rejected section for stopped options (keeping the current section's
/// media when there is one).
fn rejected_content(o: &MediaDescriptionOptions, cur: Option<&ContentInfo>) -> ContentInfo {
    let mut media = match (cur, &o.media_type) {
        (Some(c), _) => c.media.clone(),
        (None, MediaType::Application) => MediaContentDescription::new_data(),
        (None, t) => MediaContentDescription::new_rtp(t.clone()),
    };
    media.port = 0;
    if media.direction_written {
        media.direction = Direction::Inactive;
    }
    media.ssrcs.clear();
    media.ssrc_groups.clear();
    media.msids.clear();
    let mut c = ContentInfo::new(o.mid.clone(), media);
    c.rejected = true;
    c
}

/// The answer's port-0 copy of an offered section.
fn rejected_answer(offered: &ContentInfo) -> ContentInfo {
    let om = &offered.media;
    let mut media = if om.media_type.is_rtp() {
        MediaContentDescription::new_rtp(om.media_type.clone())
    } else {
        MediaContentDescription::new_data()
    };
    media.media_type = om.media_type.clone();
    media.protocol = om.protocol.clone();
    media.formats = om.formats.clone();
    // An m= line needs at least one format: keep the offered first codec.
    media.codecs = om.codecs.iter().take(1).cloned().collect();
    media.port = 0;
    if media.direction_written {
        media.direction = Direction::Inactive;
    }
    media.sctp_port = None;
    media.max_message_size = None;
    let mut c = ContentInfo::new(offered.mid.clone(), media);
    c.rejected = true;
    c
}
