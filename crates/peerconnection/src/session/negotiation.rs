//! Offer/answer: the descriptions in, the transports and channels they ask
//! for out (WebRtcSession's SetLocalDescription, SetRemoteDescription,
//! CreateChannels and the transport updates of JsepTransportController).

use super::*;
use media_channels::sdp::factory::offer_restarts_ice;

/// The transport a section rides on: its BUNDLE group's tag (the group's
/// first mid) when it is bundled, its own mid otherwise.
pub(super) fn transport_name(description: &SessionDescription, mid: &str) -> String {
    description
        .groups
        .iter()
        .find(|g| g.semantics == "BUNDLE" && g.mids.iter().any(|m| m == mid))
        .and_then(|g| g.mids.first())
        .map_or_else(|| mid.to_string(), |tag| tag.to_string())
}

fn is_media(kind: &MediaType) -> bool {
    matches!(kind, MediaType::Audio | MediaType::Video)
}

/// Our DTLS role from our `a=setup` and the peer's, when both are known; a
/// provisional one for an offer's `actpass` (corrected when the answer
/// comes).
fn dtls_role(local: Option<Setup>, remote: Option<Setup>) -> Result<DtlsRole, Error> {
    let local = local.unwrap_or(Setup::ActPass);
    match remote {
        Some(remote) => Ok(DtlsRole::from_setup(local, remote)?),
        None => Ok(match local {
            Setup::Active => DtlsRole::Client,
            _ => DtlsRole::Server,
        }),
    }
}

impl Transceiver {
    /// What the description factory makes of this transceiver's section.
    fn section_options(&self, mid: &str) -> MediaDescriptionOptions {
        let mut options =
            MediaDescriptionOptions::new(self.kind.clone(), mid).with_direction(self.direction);
        if let Some(sender) = &self.sender {
            options = options.with_sender(sender.clone());
        }
        options.codec_preferences = self.codec_preferences.clone();
        if self.stopped {
            options = options.stopped();
        }
        options
    }
}

impl Session {
    /// Creates an offer (W3C `createOffer`): a section per transceiver and
    /// one for data once a data channel exists; sections already
    /// negotiated keep their mids, payload types and ICE credentials.
    pub fn create_offer(&mut self) -> Result<JsepSessionDescription, Error> {
        self.signaling.check_create_offer()?;
        let current = self.local_description().map(|d| d.to_description());
        let mut sections = Vec::new();
        for i in 0..self.transceivers.len() {
            if self.transceivers[i].stopped && self.transceivers[i].mid.is_none() {
                continue; // stopped before it was ever negotiated
            }
            if self.transceivers[i].mid.is_none() {
                let mid = self.allocate_mid();
                self.transceivers[i].mid = Some(mid);
            }
            let t = &self.transceivers[i];
            sections.push(t.section_options(t.mid.as_deref().unwrap_or_default()));
        }
        if self.data.wanted {
            if self.data.mid.is_none() {
                self.data.mid = Some(self.allocate_mid());
            }
            sections.push(MediaDescriptionOptions::data(
                self.data.mid.as_deref().unwrap_or_default(),
            ));
        }
        let mut options = self.options.clone();
        options.media_description_options = sections;
        options.ice_restart = self.ice_restart;
        let offer = self.factory.create_offer(&options, current.as_ref())?;
        Ok(JsepSessionDescription::new(SdpType::Offer, offer))
    }

    /// Creates an answer to the remote offer (W3C `createAnswer`): our
    /// transceivers answer their sections, the data section is accepted,
    /// the rest rejected.
    pub fn create_answer(&mut self) -> Result<JsepSessionDescription, Error> {
        self.signaling.check_create_answer()?;
        let offer = self
            .pending_remote
            .as_ref()
            .ok_or(Error::NoOffer("remote"))?
            .to_description();
        let current = self.current_local.as_ref().map(|d| d.to_description());
        let mut sections = Vec::new();
        for content in offer.contents.iter().filter(|c| !c.rejected) {
            if content.media.media_type == MediaType::Application {
                sections.push(MediaDescriptionOptions::data(&content.mid));
                continue;
            }
            let Some(t) = self
                .transceivers
                .iter()
                .find(|t| t.mid.as_deref() == Some(&*content.mid))
            else {
                continue;
            };
            sections.push(t.section_options(&content.mid));
        }
        let mut options = self.options.clone();
        options.media_description_options = sections;
        options.ice_restart = self
            .current_remote
            .as_ref()
            .is_some_and(|previous| offer_restarts_ice(previous.description(), &offer));
        let answer = self
            .factory
            .create_answer(&offer, &options, current.as_ref())?;
        Ok(JsepSessionDescription::new(SdpType::Answer, answer))
    }

    /// Applies our own description (W3C `setLocalDescription`): makes the
    /// transports and channels it needs and starts gathering. An answer
    /// completes the negotiation. A rollback drops a pending local offer.
    pub fn set_local_description(
        &mut self,
        now: Instant,
        description: JsepSessionDescription,
    ) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let kind = description.sdp_type();
        let next = self.signaling.check_set_local(kind)?;
        if kind == SdpType::Rollback {
            self.rollback();
            return self.finish_signaling(next);
        }
        description.validate()?;
        if matches!(kind, SdpType::Answer | SdpType::PrAnswer) {
            let offer = self
                .pending_remote
                .as_ref()
                .ok_or(Error::NoOffer("remote"))?;
            check_answer_matches(offer.description(), description.description())?;
        }
        self.check_roles(Some(description.description()), self.remote_for(kind))?;
        let restarting = kind == SdpType::Offer && self.ice_restart;
        self.pending_local = Some(description);
        self.apply(now)?;
        if restarting {
            self.ice_restart = false;
        }
        if matches!(kind, SdpType::Answer) {
            self.current_local = self.pending_local.take();
            self.current_remote = self.pending_remote.take();
        }
        if !self.gathering_started {
            self.gathering_started = true;
            self.controller.start_gathering(now);
        }
        self.finish_signaling(next)
    }

    /// Applies the peer's description (W3C `setRemoteDescription`): an
    /// offer makes transceivers for its new sections; an answer gives the
    /// transports the peer's fingerprints, credentials, candidates and DTLS
    /// role and the channels its codecs and streams. Nothing changes when
    /// the description is invalid or does not fit the state.
    pub fn set_remote_description(
        &mut self,
        now: Instant,
        description: JsepSessionDescription,
    ) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let kind = description.sdp_type();
        let next = self.signaling.check_set_remote(kind)?;
        if kind == SdpType::Rollback {
            self.rollback();
            return self.finish_signaling(next);
        }
        description.validate()?;
        // rtcpMuxPolicy "require", the only one offered: RTCP shares the
        // RTP transport of every media section (W3C setRemoteDescription).
        if let Some(c) = description
            .description()
            .contents
            .iter()
            .find(|c| !c.rejected && is_media(&c.media.media_type) && !c.media.rtcp_mux)
        {
            return Err(Error::RtcpMuxRequired {
                mid: c.mid.to_string(),
            });
        }
        if matches!(kind, SdpType::Answer | SdpType::PrAnswer) {
            let offer = self.pending_local.as_ref().ok_or(Error::NoOffer("local"))?;
            check_answer_matches(offer.description(), description.description())?;
        }
        let local = match kind {
            SdpType::Offer => self.current_local.as_ref(),
            _ => self.pending_local.as_ref(),
        };
        self.check_roles(
            local.map(JsepSessionDescription::description),
            Some(description.description()),
        )?;
        if kind == SdpType::Offer {
            for content in &description.description().contents {
                if content.rejected {
                    continue;
                }
                if content.media.media_type == MediaType::Application {
                    self.data.mid.get_or_insert_with(|| content.mid.clone());
                    continue;
                }
                let known = self
                    .transceivers
                    .iter()
                    .any(|t| t.mid.as_deref() == Some(&*content.mid));
                if !known && is_media(&content.media.media_type) {
                    // W3C: a transceiver for the new section, recvonly
                    // until the application adds a track to it.
                    let id = TransceiverId(self.next_transceiver);
                    self.next_transceiver += 1;
                    self.transceivers.push(Transceiver {
                        id,
                        mid: Some(content.mid.clone()),
                        kind: content.media.media_type.clone(),
                        direction: Direction::RecvOnly,
                        sender: None,
                        rids: Vec::new(),
                        channel: None,
                        codec_preferences: Vec::new(),
                        stopped: false,
                        from_remote_offer: true,
                        track_reported: false,
                    });
                }
            }
        }
        self.pending_remote = Some(description);
        self.apply(now)?;
        if kind == SdpType::Answer {
            self.current_local = self.pending_local.take();
            self.current_remote = self.pending_remote.take();
        }
        self.finish_signaling(next)
    }

    /// Adds a remote candidate (W3C `addIceCandidate`); an end-of-candidates
    /// marker (no candidate line) ends the peer's gathering for its section.
    /// Candidates for a section whose transport does not exist yet wait
    /// for it.
    pub fn add_ice_candidate(
        &mut self,
        now: Instant,
        candidate: JsepIceCandidate,
    ) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let remote = self.remote_description().ok_or(Error::NoOffer("remote"))?;
        let description = remote.description();
        let mid = match (&candidate.sdp_mid, candidate.sdp_mline_index) {
            (Some(mid), _) => mid.clone(),
            (None, Some(i)) => description
                .contents
                .get(i)
                .map(|c| c.mid.to_string())
                .ok_or(Error::AnswerMismatch(format!("no section {i}")))?,
            (None, None) => return Ok(()),
        };
        let name = transport_name(description, &mid);
        if self.transports.contains_key(&name) {
            let key = (name.clone(), candidate.candidate_line());
            if self.remote_candidates.insert(key) {
                self.controller
                    .add_remote_candidate(now, &name, candidate.candidate)?;
            }
        } else {
            self.pending_candidates.push(candidate);
        }
        Ok(())
    }

    /// The peer finished gathering (W3C `addIceCandidate` with an empty
    /// candidate, or `a=end-of-candidates`): for the section `mid`, or for
    /// every transport when `None`. Checks that can no longer succeed fail
    /// sooner (RFC 8838 §8).
    pub fn end_of_remote_candidates(
        &mut self,
        now: Instant,
        mid: Option<&str>,
    ) -> Result<(), Error> {
        let remote = self.remote_description().ok_or(Error::NoOffer("remote"))?;
        let names: Vec<String> = match mid {
            Some(mid) => vec![transport_name(remote.description(), mid)],
            None => self.transports.keys().cloned().collect(),
        };
        for name in names.iter().filter(|n| self.transports.contains_key(*n)) {
            self.controller.end_of_remote_candidates(now, name)?;
        }
        Ok(())
    }

    /// Drops the pending offer, ours or the peer's, and the transceivers a
    /// remote offer made that nothing uses yet. JSEP (RFC 9429 §4.1.10.2)
    /// makes local and remote rollback the same operation, so either call
    /// undoes either offer.
    fn rollback(&mut self) {
        self.pending_local = None;
        self.pending_remote = None;
        self.transceivers
            .retain(|t| !(t.from_remote_offer && t.channel.is_none()));
    }

    fn finish_signaling(&mut self, next: SignalingState) -> Result<(), Error> {
        if self.signaling.apply(next) {
            self.events.push_back(SessionEvent::SignalingState(next));
        }
        Ok(())
    }

    /// The remote description that goes with a local one of `kind`.
    fn remote_for(&self, kind: SdpType) -> Option<&SessionDescription> {
        match kind {
            SdpType::Offer => self.current_remote.as_ref(),
            _ => self.pending_remote.as_ref(),
        }
        .map(JsepSessionDescription::description)
    }

    /// Refuses a pair of descriptions whose `a=setup` values conflict, before
    /// anything changes.
    fn check_roles(
        &self,
        local: Option<&SessionDescription>,
        remote: Option<&SessionDescription>,
    ) -> Result<(), Error> {
        let (Some(local), Some(remote)) = (local, remote) else {
            return Ok(());
        };
        for content in local.contents.iter().filter(|c| !c.rejected) {
            if let Some(theirs) = remote
                .contents
                .iter()
                .find(|c| c.mid == content.mid && !c.rejected)
            {
                if let (Some(a), Some(b)) = (content.transport.setup, theirs.transport.setup) {
                    DtlsRole::from_setup(a, b)?;
                }
            }
        }
        Ok(())
    }

    fn allocate_mid(&self) -> SmolStr {
        let used = |mid: &str| {
            self.transceivers
                .iter()
                .any(|t| t.mid.as_deref() == Some(mid))
                || self.data.mid.as_deref() == Some(mid)
                || [self.local_description(), self.remote_description()]
                    .into_iter()
                    .flatten()
                    .any(|d| d.description().contents.iter().any(|c| c.mid == mid))
        };
        (0u32..)
            .map(|n| SmolStr::from(n.to_string()))
            .find(|m| !used(m))
            .unwrap_or_default()
    }

    /// Makes the transports and channels of the current pair of
    /// descriptions and hands them what the descriptions say.
    fn apply(&mut self, now: Instant) -> Result<(), Error> {
        let Some(local) = self.local_description().map(|d| d.to_description()) else {
            return Ok(());
        };
        let remote = self.remote_description().map(|d| d.to_description());
        let offerer = self.local_description().map(|d| d.sdp_type()) == Some(SdpType::Offer);

        // Transports.
        for content in local.contents.iter().filter(|c| !c.rejected) {
            let name = transport_name(&local, &content.mid);
            let theirs = remote
                .as_ref()
                .and_then(|r| r.contents.iter().find(|c| c.mid == name && !c.rejected));
            let tagged = local
                .contents
                .iter()
                .find(|c| c.mid == name)
                .unwrap_or(content);
            let role = dtls_role(
                tagged.transport.setup,
                theirs.and_then(|t| t.transport.setup),
            )?;
            if !self.transports.contains_key(&name) {
                let mut setup = TransportSetup::new(role);
                setup.ice_role = Some(if offerer {
                    IceRole::Controlling
                } else {
                    IceRole::Controlled
                });
                setup.credentials =
                    Credentials::new(&tagged.transport.ice_ufrag, &tagged.transport.ice_pwd).ok();
                setup.rtcp_mux =
                    tagged.media.rtcp_mux || tagged.media.media_type == MediaType::Application;
                // A transport from the candidate pool when there is one left.
                let id = match self.controller.adopt_pooled_transport(now, &name, &setup)? {
                    Some(id) => id,
                    None => self.controller.add_transport_with(now, &name, setup)?,
                };
                self.transports.insert(name.clone(), id);
            } else {
                // New credentials in our description: an ICE restart, unless
                // the transport never met the peer (made for an offer that
                // was rolled back, glare): then it just takes the role and
                // credentials of this description.
                let ours = &tagged.transport.ice_ufrag;
                let restarted = self
                    .controller
                    .local_credentials(&name)
                    .is_some_and(|c| c.ufrag.as_str() != ours.as_str());
                let ice_role = if offerer {
                    IceRole::Controlling
                } else {
                    IceRole::Controlled
                };
                let role_changed = self
                    .controller
                    .transport(&name)
                    .is_some_and(|t| t.ice().role() != ice_role);
                if restarted || role_changed {
                    let credentials =
                        Credentials::new(&tagged.transport.ice_ufrag, &tagged.transport.ice_pwd)
                            .ok();
                    let retaken = self.controller.retake_transport(
                        now,
                        &name,
                        ice_role,
                        credentials.clone(),
                    )?;
                    if !retaken && restarted {
                        self.controller.restart_ice(now, &name, credentials)?;
                    }
                }
                if theirs.is_some() {
                    self.controller.set_dtls_role(&name, role)?;
                }
            }
            if let Some(theirs) = theirs {
                self.apply_remote_transport(now, &name, theirs)?;
            }
        }
        if let Some(remote) = &remote {
            // Candidates in the remote description for any of its sections.
            for content in remote.contents.iter().filter(|c| !c.rejected) {
                let name = transport_name(remote, &content.mid);
                if !self.transports.contains_key(&name) {
                    continue;
                }
                for candidate in &content.transport.candidates {
                    let line = JsepIceCandidate::new(&content.mid, 0, candidate.clone());
                    let key = (name.clone(), line.candidate_line());
                    if self.remote_candidates.insert(key) {
                        // A candidate the agent refuses (a family it does not
                        // gather, a bound reached) does not fail the description.
                        let _ = self
                            .controller
                            .add_remote_candidate(now, &name, candidate.clone());
                    }
                }
            }
            let pending = std::mem::take(&mut self.pending_candidates);
            for candidate in pending {
                self.add_ice_candidate(now, candidate)?;
            }
        }

        // Media channels.
        for content in &local.contents {
            if !is_media(&content.media.media_type) {
                continue;
            }
            let Some(index) = self
                .transceivers
                .iter()
                .position(|t| t.mid.as_deref() == Some(&*content.mid))
            else {
                continue;
            };
            if content.rejected {
                if let Some(channel) = self.transceivers[index].channel.take() {
                    self.manager.remove_channel(channel);
                }
                continue;
            }
            let name = transport_name(&local, &content.mid);
            let Some(&tid) = self.transports.get(&name) else {
                continue;
            };
            let channel = match self.transceivers[index].channel {
                Some(c) => c,
                None => {
                    let mut config = ChannelConfig::new(self.ntp_origin.0, self.ntp_origin.1);
                    config.seed = self.config.seed.wrapping_add(index as u64 * 7919);
                    let channel =
                        BaseChannel::new(&content.mid, content.media.media_type.clone(), config);
                    let id = self.manager.add_channel(tid, channel);
                    self.transceivers[index].channel = Some(id);
                    id
                }
            };
            let theirs = remote
                .as_ref()
                .and_then(|r| r.contents.iter().find(|c| c.mid == content.mid));
            if let Some(c) = self.manager.channel_mut(channel) {
                c.set_local_content(&content.media)?;
                if let Some(theirs) = theirs.filter(|t| !t.rejected) {
                    c.set_remote_content(&theirs.media)?;
                }
            }
            self.manager.update_demuxer(channel);
            // A channel made by a renegotiation on a transport whose DTLS is
            // already up may send at once (the DtlsConnected event is past).
            if self.dtls_connected(&name) {
                if let Some(c) = self.manager.channel_mut(channel) {
                    c.set_writable(now, true);
                }
            }
            let peer_sends = theirs.is_some_and(|t| {
                !t.rejected
                    && matches!(t.media.direction, Direction::SendRecv | Direction::SendOnly)
            });
            let t = &mut self.transceivers[index];
            if peer_sends && !t.track_reported {
                t.track_reported = true;
                self.events.push_back(SessionEvent::Track {
                    transceiver: t.id,
                    mid: content.mid.clone(),
                    kind: t.kind.clone(),
                });
            }
        }

        // The data section's association, once both sides have it.
        if let Some(remote) = &remote {
            self.start_data(now, &local, remote)?;
        }
        Ok(())
    }

    fn apply_remote_transport(
        &mut self,
        now: Instant,
        name: &str,
        theirs: &ContentInfo,
    ) -> Result<(), Error> {
        let t = &theirs.transport;
        if !t.fingerprints.is_empty() && self.remote_fingerprints_set.insert(name.to_string()) {
            self.controller
                .set_remote_fingerprints(name, &t.fingerprints)?;
        }
        if self.remote_ufrags.get(name) != Some(&t.ice_ufrag) {
            // A new remote generation: its candidates are new even where
            // their addresses repeat the old ones.
            self.remote_candidates
                .retain(|(transport, _)| transport != name);
            let credentials = Credentials::new(&t.ice_ufrag, &t.ice_pwd)
                .map_err(|e| Error::Transport(e.into()))?;
            self.controller
                .set_remote_credentials(now, name, credentials)?;
            self.remote_ufrags
                .insert(name.to_string(), t.ice_ufrag.clone());
        }
        Ok(())
    }

    fn start_data(
        &mut self,
        now: Instant,
        local: &SessionDescription,
        remote: &SessionDescription,
    ) -> Result<(), Error> {
        if self.data.started {
            return Ok(());
        }
        let find = |d: &SessionDescription| {
            d.contents
                .iter()
                .find(|c| c.media.media_type == MediaType::Application && !c.rejected)
                .cloned()
        };
        let (Some(ours), Some(theirs)) = (find(local), find(remote)) else {
            return Ok(());
        };
        if ours.mid != theirs.mid {
            return Ok(());
        }
        let name = transport_name(local, &ours.mid);
        let Some(&tid) = self.transports.get(&name) else {
            return Ok(());
        };
        let role = match self.controller_dtls_role(&name) {
            Some(DtlsRole::Client) => SctpRole::Client,
            _ => SctpRole::Server,
        };
        let mut config = self.config.sctp.clone();
        config.remote_max_message_size = theirs
            .media
            .max_message_size
            .map_or(65_536, |m| u32::try_from(m).unwrap_or(u32::MAX));
        if let Some(port) = theirs.media.sctp_port {
            config.remote_port = port;
        }
        let mut sctp = SctpTransport::new(config, role);
        for (id, init, low_threshold) in std::mem::take(&mut self.data.pending) {
            let stream = sctp.create_channel(now, init)?;
            sctp.set_buffered_amount_low_threshold(stream, low_threshold)?;
            self.data.by_stream.insert(stream, id);
            self.data.by_id.insert(id, stream);
        }
        self.manager.set_data_transport(tid, sctp);
        self.data.transport = Some(tid);
        self.data.mid = Some(ours.mid.clone());
        self.data.started = true;
        if self.dtls_connected(&name) {
            if let Some(sctp) = self.manager.data_transport(tid) {
                sctp.connect(now)?;
            }
        }
        Ok(())
    }

    pub(super) fn controller_dtls_role(&mut self, name: &str) -> Option<DtlsRole> {
        Some(self.controller.transport(name)?.dtls().role())
    }

    fn dtls_connected(&mut self, name: &str) -> bool {
        self.controller
            .transport(name)
            .is_some_and(|t| t.dtls().state() == DtlsState::Connected)
    }
}

/// An answer has the offer's sections, in order, with the same mids (RFC
/// 9429 §5.3.1 and §5.10).
fn check_answer_matches(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<(), Error> {
    if offer.contents.len() != answer.contents.len() {
        return Err(Error::AnswerMismatch(format!(
            "{} sections offered, {} answered",
            offer.contents.len(),
            answer.contents.len()
        )));
    }
    for (i, (o, a)) in offer.contents.iter().zip(&answer.contents).enumerate() {
        if o.mid != a.mid || o.media.media_type != a.media.media_type {
            return Err(Error::AnswerMismatch(format!(
                "section {i}: offered {} mid {:?}, answered {} mid {:?}",
                o.media.media_type, o.mid, a.media.media_type, a.mid
            )));
        }
    }
    Ok(())
}
