//! `MediaSessionDescriptionFactory`: builds offers and answers from
//! [`MediaSessionOptions`] (libwebrtc's `cricket::MediaSessionDescriptionFactory`,
//! `CreateOfferOrError` / `CreateAnswerOrError`, `AddAudioContentForOffer`,
//! `AddVideoContentForOffer`, `AddDataContentForOffer`, `NegotiateCodecs`,
//! `NegotiateRtpHeaderExtensions`).

use std::collections::HashSet;

use crate::codecs::{
    codecs_for, codecs_match, header_extensions_for, min_level, CodecConfig, H264ProfileLevelId,
};
use crate::factory::transport::{
    random_ice_string, Entropy, TransportDescriptionFactory, TransportOptions,
};
use crate::model::{
    Codec, ContentInfo, Direction, Group, HeaderExtension, MediaContentDescription, MediaType,
    Msid, MsidSemantic, Origin, Rid, RidDirection, SessionDescription, Simulcast, SimulcastLayer,
    SmolStr, SsrcAttribute, SsrcGroup, TransportDescription, FORMAT_DATACHANNEL,
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
    audio_codecs: Vec<Codec>,
    video_codecs: Vec<Codec>,
}

/// Dynamic payload types in the order libwebrtc hands them out.
fn dynamic_payload_types() -> impl Iterator<Item = u8> {
    (96..=127).chain(35..=63)
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
        MediaSessionDescriptionFactory::with_codec_config(transport, &CodecConfig::default())
    }

    /// A factory with the built-in codecs chosen by `config`.
    pub fn with_codec_config(
        transport: TransportDescriptionFactory,
        config: &CodecConfig,
    ) -> MediaSessionDescriptionFactory {
        MediaSessionDescriptionFactory {
            transport,
            audio_codecs: codecs_for(&MediaType::Audio, config),
            video_codecs: codecs_for(&MediaType::Video, config),
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
        self.audio_codecs = codecs;
    }

    /// The supported video codecs, in preference order.
    pub fn video_codecs(&self) -> &[Codec] {
        &self.video_codecs
    }

    /// Replaces the supported video codecs.
    pub fn set_video_codecs(&mut self, codecs: Vec<Codec>) {
        self.video_codecs = codecs;
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
            return supported.clone();
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
                return Err(Error::Negotiation(format!(
                    "section {} is {} and cannot become {}",
                    o.mid, cur.media.media_type, o.media_type
                )));
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
            MediaType::Other(ref t) => {
                return Err(Error::Negotiation(format!(
                    "cannot offer media type {t} (section {})",
                    o.mid
                )))
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
            return Err(Error::Negotiation(
                "max-bundle is configured but the offer has no BUNDLE group".into(),
            ));
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
            return Err(Error::Negotiation(format!(
                "section {} does not offer a=rtcp-mux, which is required",
                offered.mid
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

/// The offered header extensions we support, with the offerer's ids and
/// directions reversed.
fn answer_header_extensions(
    om: &MediaContentDescription,
    o: &MediaDescriptionOptions,
) -> Vec<HeaderExtension> {
    let supported = o
        .header_extensions
        .clone()
        .unwrap_or_else(|| header_extensions_for(&o.media_type));
    om.header_extensions
        .iter()
        .filter(|e| supported.iter().any(|s| s.uri == e.uri))
        .map(|e| HeaderExtension {
            id: e.id,
            uri: e.uri.clone(),
            direction: e.direction.map(Direction::reversed),
            attributes: None,
        })
        .collect()
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
            return Err(Error::Negotiation(format!(
                "options with a missing or duplicate mid `{}`",
                o.mid
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

/// Offer codecs: the local list, keeping the payload types of `current`
/// for codecs it already has, moving colliding ones to free dynamic payload
/// types, and remapping RTX `apt` and RED `a/b` to the final payload types.
fn offer_codecs(local: &[Codec], current: Option<&MediaContentDescription>) -> Vec<Codec> {
    let mut out: Vec<Codec> = Vec::with_capacity(local.len());
    // (local payload type, offered payload type) for primaries.
    let mut remap: Vec<(u8, u8)> = Vec::new();
    let cur_codecs = current.map(|m| m.codecs.as_slice()).unwrap_or_default();
    for c in local.iter().filter(|c| !c.is_rtx()) {
        let mut codec = c.clone();
        if let Some(prev) = cur_codecs
            .iter()
            .find(|p| !p.is_rtx() && codecs_match(p, c))
        {
            codec.payload_type = prev.payload_type;
        }
        remap.push((c.payload_type, codec.payload_type));
        out.push(codec);
    }
    // RTX keeps its current payload type when its primary had one.
    for c in local.iter().filter(|c| c.is_rtx()) {
        let Some(apt) = c.apt() else { continue };
        let Some(&(_, new_apt)) = remap.iter().find(|(old, _)| *old == apt) else {
            continue;
        };
        let mut rtx = c.clone();
        if let Some(prev) = cur_codecs
            .iter()
            .find(|p| p.is_rtx() && p.apt() == Some(new_apt))
        {
            rtx.payload_type = prev.payload_type;
        }
        rtx.set_param("apt", &new_apt.to_string());
        // Keep the local order: insert right after the primary.
        let at = out
            .iter()
            .position(|p| p.payload_type == new_apt && !p.is_rtx())
            .map_or(out.len(), |i| i + 1);
        out.insert(at, rtx);
    }
    resolve_payload_type_collisions(&mut out);
    for c in &mut out {
        if c.is("red") {
            remap_red_params(c, &remap);
        }
    }
    out
}

/// Gives every codec that reuses an earlier codec's payload type a free one,
/// fixing the `apt` of RTX codecs that pointed at a moved primary.
fn resolve_payload_type_collisions(codecs: &mut [Codec]) {
    let mut used: HashSet<u8> = HashSet::new();
    let mut moved: Vec<(usize, u8, u8)> = Vec::new();
    for i in 0..codecs.len() {
        let pt = codecs[i].payload_type;
        if used.insert(pt) {
            continue;
        }
        let taken: HashSet<u8> = codecs.iter().map(|c| c.payload_type).collect();
        let Some(free) = dynamic_payload_types().find(|p| !taken.contains(p) && !used.contains(p))
        else {
            continue;
        };
        codecs[i].payload_type = free;
        used.insert(free);
        moved.push((i, pt, free));
    }
    for (i, old, new) in moved {
        if codecs[i].is_rtx() {
            continue;
        }
        // An RTX right after its primary that still names the old payload type.
        if let Some(rtx) = codecs.get_mut(i + 1) {
            if rtx.is_rtx() && rtx.apt() == Some(old) {
                rtx.set_param("apt", &new.to_string());
            }
        }
    }
}

/// Rewrites RED's `a/b` fmtp (RFC 2198 redundancy payload types) through
/// `remap` (local → final payload type).
fn remap_red_params(red: &mut Codec, remap: &[(u8, u8)]) {
    for (key, value) in &mut red.params {
        if !key.is_empty() {
            continue;
        }
        let mapped: Option<Vec<String>> = value
            .split('/')
            .map(|p| {
                let pt: u8 = p.trim().parse().ok()?;
                let new = remap
                    .iter()
                    .find(|(old, _)| *old == pt)
                    .map_or(pt, |(_, n)| *n);
                Some(new.to_string())
            })
            .collect();
        if let Some(m) = mapped {
            *value = m.join("/").into();
        }
    }
}

/// Offer header extensions: the configured or built-in list, keeping the
/// ids `current` uses, and moving colliding ids to free ones.
fn offer_extensions(
    o: &MediaDescriptionOptions,
    current: Option<&MediaContentDescription>,
) -> Vec<HeaderExtension> {
    let wanted = o
        .header_extensions
        .clone()
        .unwrap_or_else(|| header_extensions_for(&o.media_type));
    let mut out: Vec<HeaderExtension> = wanted
        .into_iter()
        .map(|mut e| {
            if let Some(prev) = current.and_then(|m| m.header_extension(&e.uri)) {
                e.id = prev.id;
            }
            e
        })
        .collect();
    let mut used = HashSet::new();
    for i in 0..out.len() {
        if used.insert(out[i].id) {
            continue;
        }
        let taken: HashSet<u16> = out.iter().map(|e| e.id).collect();
        if let Some(free) = (1..=14).chain(16..=255).find(|id| !taken.contains(id)) {
            out[i].id = free;
            used.insert(free);
        }
    }
    out
}

/// Answer codecs (libwebrtc's `NegotiateCodecs`): offered codecs that match
/// a local one, in the offerer's order (or `preferences` order), with the
/// offerer's payload types, our fmtp (H.264: offered profile, negotiated
/// level; RED: offered redundancy list), intersected rtcp-fb, and RTX for
/// negotiated primaries only.
fn negotiate_codecs(
    offered: &[Codec],
    wildcard_feedback: &[crate::model::RtcpFeedback],
    local: &[Codec],
    preferences: &[Codec],
) -> Vec<Codec> {
    let mut negotiated: Vec<Codec> = Vec::new();
    for oc in offered.iter().filter(|c| !c.is_rtx()) {
        let Some(lc) = local.iter().find(|l| !l.is_rtx() && codecs_match(l, oc)) else {
            continue;
        };
        let mut nc = lc.clone();
        nc.payload_type = oc.payload_type;
        nc.name = lc.name.clone();
        if lc.is("H264") {
            if let (Some(lp), Some(op)) = (
                H264ProfileLevelId::of_codec(lc),
                H264ProfileLevelId::of_codec(oc),
            ) {
                let asymmetric = lc.param("level-asymmetry-allowed") == Some("1")
                    && oc.param("level-asymmetry-allowed") == Some("1");
                let level = if asymmetric {
                    lp.level
                } else {
                    min_level(lp.level, op.level)
                };
                let id = H264ProfileLevelId {
                    profile: op.profile,
                    level,
                };
                nc.set_param("profile-level-id", &id.to_hex());
                if !asymmetric {
                    nc.params.retain(|(k, _)| k != "level-asymmetry-allowed");
                }
            }
        }
        if lc.is("red") {
            nc.params = oc.params.clone();
        }
        let offered_fb: Vec<&crate::model::RtcpFeedback> =
            oc.feedback.iter().chain(wildcard_feedback).collect();
        nc.feedback.retain(|f| offered_fb.contains(&f));
        negotiated.push(nc);
    }
    // RED's redundancy list must only name negotiated payload types.
    let primaries: HashSet<u8> = negotiated.iter().map(|c| c.payload_type).collect();
    negotiated.retain(|c| {
        !c.is("red")
            || c.params.iter().filter(|(k, _)| k.is_empty()).all(|(_, v)| {
                v.split('/').all(|p| {
                    p.trim()
                        .parse::<u8>()
                        .is_ok_and(|pt| primaries.contains(&pt))
                })
            })
    });
    let supports_rtx = local.iter().any(Codec::is_rtx);
    let mut out: Vec<Codec> = Vec::with_capacity(offered.len());
    for oc in offered {
        if oc.is_rtx() {
            let Some(apt) = oc.apt() else { continue };
            // RTX for any negotiated primary (including RED, whose RTX repairs it).
            if supports_rtx && negotiated.iter().any(|c| c.payload_type == apt) {
                let mut rtx = Codec::new(oc.payload_type, "rtx", oc.clock_rate, None);
                rtx.set_param("apt", &apt.to_string());
                out.push(rtx);
            }
        } else if let Some(nc) = negotiated
            .iter()
            .find(|c| c.payload_type == oc.payload_type)
        {
            out.push(nc.clone());
        }
    }
    if !preferences.is_empty() {
        let rank = |c: &Codec, all: &[Codec]| -> usize {
            let primary = if c.is_rtx() {
                c.apt()
                    .and_then(|apt| all.iter().find(|p| p.payload_type == apt))
                    .unwrap_or(c)
            } else {
                c
            };
            let base = preferences
                .iter()
                .position(|p| !p.is_rtx() && codecs_match(p, primary))
                .unwrap_or(preferences.len());
            base * 2 + usize::from(c.is_rtx())
        };
        let snapshot = out.clone();
        out.sort_by_key(|c| rank(c, &snapshot));
    }
    out
}

/// Adds our senders' streams to a section: `a=msid`, SSRCs with cname
/// (plus an RTX SSRC and `FID` group when RTX is negotiated, `SIM` groups
/// for legacy simulcast), or `a=rid` + `a=simulcast` for RID simulcast.
/// SSRCs of a track already in `current` are kept. `answer_recv_rids`
/// (answers only) limits RID simulcast to what the offerer wants to receive.
fn add_streams(
    m: &mut MediaContentDescription,
    o: &MediaDescriptionOptions,
    current: Option<&MediaContentDescription>,
    cname: &SmolStr,
    answer_recv_rids: Option<&[SmolStr]>,
    entropy: &mut Entropy,
) {
    let has_rtx = m.codecs.iter().any(Codec::is_rtx);
    for sender in &o.senders {
        let stream_ids = if sender.stream_ids.is_empty() {
            vec![SmolStr::new_static("-")]
        } else {
            sender.stream_ids.clone()
        };
        for s in &stream_ids {
            m.msids.push(Msid {
                stream_id: s.clone(),
                track_id: Some(sender.track_id.clone()),
            });
        }
        let rids: Vec<SmolStr> = match answer_recv_rids {
            Some(wanted) => sender
                .rids
                .iter()
                .filter(|r| wanted.contains(r))
                .cloned()
                .collect(),
            None => sender.rids.clone(),
        };
        if rids.len() > 1 || (!rids.is_empty() && answer_recv_rids.is_none()) {
            add_rid_simulcast(m, &rids);
            continue;
        }
        let layers = sender.num_sim_layers.max(1);
        let wanted = layers * if has_rtx { 2 } else { 1 };
        let ssrcs = sender_ssrcs(m, current, &sender.track_id, wanted, entropy);
        let (primaries, repairs) = ssrcs.split_at(layers);
        if layers > 1 {
            m.ssrc_groups.push(SsrcGroup {
                semantics: SmolStr::new_static("SIM"),
                ssrcs: primaries.to_vec(),
            });
        }
        if has_rtx {
            for (p, r) in primaries.iter().zip(repairs) {
                m.ssrc_groups.push(SsrcGroup {
                    semantics: SmolStr::new_static("FID"),
                    ssrcs: vec![*p, *r],
                });
            }
        }
        let msid_value = SmolStr::new(format!("{} {}", stream_ids[0], sender.track_id));
        for ssrc in primaries.iter().chain(repairs.iter()) {
            m.ssrcs.push(SsrcAttribute {
                ssrc: *ssrc,
                name: SmolStr::new_static("cname"),
                value: Some(cname.clone()),
            });
            m.ssrcs.push(SsrcAttribute {
                ssrc: *ssrc,
                name: SmolStr::new_static("msid"),
                value: Some(msid_value.clone()),
            });
        }
    }
}

/// RID simulcast for one sender: an `a=rid` per layer we send and the
/// `send` half of `a=simulcast` (keeping a `recv` half already there).
fn add_rid_simulcast(m: &mut MediaContentDescription, rids: &[SmolStr]) {
    m.rids.extend(rids.iter().map(|r| Rid {
        id: r.clone(),
        direction: RidDirection::Send,
        restrictions: None,
    }));
    let send = rids
        .iter()
        .map(|r| {
            vec![SimulcastLayer {
                rid: r.clone(),
                paused: false,
            }]
        })
        .collect();
    let recv = m.simulcast.take().map(|s| s.recv).unwrap_or_default();
    m.simulcast = Some(Simulcast { send, recv });
}

/// `wanted` SSRCs for the track `track_id`: those it has in `current` when
/// there are as many, else new random ones distinct from each other and
/// from the SSRCs already in `m`.
fn sender_ssrcs(
    m: &MediaContentDescription,
    current: Option<&MediaContentDescription>,
    track_id: &SmolStr,
    wanted: usize,
    entropy: &mut Entropy,
) -> Vec<u32> {
    let previous: Vec<u32> = current
        .filter(|c| {
            c.msids
                .iter()
                .any(|ms| ms.track_id.as_deref() == Some(track_id))
        })
        .map(|c| {
            c.ssrcs
                .iter()
                .filter(|a| a.name == "cname")
                .map(|a| a.ssrc)
                .collect()
        })
        .unwrap_or_default();
    if previous.len() == wanted {
        return previous;
    }
    let mut v: Vec<u32> = Vec::with_capacity(wanted);
    while v.len() < wanted {
        let s = entropy.nonzero_u32();
        if !v.contains(&s) && !m.ssrcs.iter().any(|a| a.ssrc == s) {
            v.push(s);
        }
    }
    v
}
