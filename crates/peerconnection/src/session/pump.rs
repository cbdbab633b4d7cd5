//! The sans-IO surface: sockets asked for and handed in, datagrams in and
//! out, timers, and the events of the layers below turned into
//! [`SessionEvent`]s.

use super::*;

impl Session {
    /// A transport component that wants local sockets (one per network
    /// the driver gathers on); the driver binds them, reports each with
    /// [`Session::add_local_socket`] and then calls
    /// [`Session::finish_local_sockets`].
    pub fn poll_gather(&mut self) -> Option<GatherRequest> {
        self.controller.poll_gather()
    }

    /// A UDP socket bound for `transport`'s `component`.
    pub fn add_local_socket(
        &mut self,
        now: Instant,
        transport: &str,
        component: u16,
        addr: SocketAddr,
        network_type: NetworkType,
    ) -> Result<(), Error> {
        self.controller
            .add_local_socket(now, transport, component, addr, network_type)?;
        self.drain(now);
        Ok(())
    }

    /// A local address went away (the driver closed its sockets): every
    /// ICE agent drops its candidates on it and fails their pairs at once
    /// ([`TransportController::remove_local_address`](media_channels::sdp::dtls_transport::controller::TransportController::remove_local_address)).
    pub fn remove_local_address(&mut self, now: Instant, ip: std::net::IpAddr) {
        self.controller.remove_local_address(now, ip);
        self.drain(now);
    }

    /// Every socket of `transport`'s `component` is reported.
    pub fn finish_local_sockets(
        &mut self,
        now: Instant,
        transport: &str,
        component: u16,
    ) -> Result<(), Error> {
        self.controller
            .finish_local_sockets(now, transport, component)?;
        self.drain(now);
        Ok(())
    }

    /// A datagram that arrived on a socket of `transport`'s `component`.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        transport: &str,
        component: u16,
        receive: Receive<'_>,
    ) {
        self.controller
            .handle_receive_component(now, transport, component, receive);
        self.drain(now);
    }

    /// A datagram that arrived on our socket `local` for `transport`'s
    /// `component` (the path a driver that tags its sockets takes: no
    /// lookup by name, no copy), in a buffer the session may write. SRTP and
    /// SRTCP are decrypted in place and returned: the caller hands the plain
    /// packet, `buf[media.range]` as [`Bytes`] (split off its receive pool,
    /// not copied), to [`handle_media`](Self::handle_media). Everything
    /// else (STUN, DTLS and the data channels in it) is handled here.
    pub fn handle_receive_in_place(
        &mut self,
        now: Instant,
        transport: TransportId,
        component: u16,
        local: SocketAddr,
        source: SocketAddr,
        buf: &mut [u8],
    ) -> Option<PlainMedia> {
        let received = self
            .controller
            .handle_receive_in_place(now, transport, component, local, source, buf);
        self.received(now, received)
    }

    /// [`handle_receive_in_place`](Self::handle_receive_in_place) for a
    /// frame from a TCP connection: a whole STUN or ChannelData message from
    /// a TURN server reached over TCP (or an ICE-TCP frame without its RFC
    /// 4571 length). `local` is the candidate base the connection belongs to.
    pub fn handle_stream_frame_in_place(
        &mut self,
        now: Instant,
        transport: TransportId,
        component: u16,
        local: SocketAddr,
        source: SocketAddr,
        buf: &mut [u8],
    ) -> Option<PlainMedia> {
        let received = self
            .controller
            .handle_stream_frame_in_place(now, transport, component, local, source, buf);
        self.received(now, received)
    }

    /// The driver's report that a TCP connection of `transport`'s component
    /// (from `local` to `remote`, as in
    /// [`handle_stream_frame_in_place`](Self::handle_stream_frame_in_place))
    /// failed or closed, with why: a TURN allocation over TCP or TLS fails
    /// with the reason (an untrusted certificate, for one), which is logged.
    pub fn handle_stream_closed(
        &mut self,
        now: Instant,
        (transport, component): (TransportId, u16),
        (local, remote): (SocketAddr, SocketAddr),
        error: Option<IceError>,
    ) {
        let _ =
            self.controller
                .handle_stream_closed(now, transport, component, (local, remote), error);
        self.drain(now);
    }

    fn received(
        &mut self,
        now: Instant,
        received: Result<Option<PlainMedia>, TransportError>,
    ) -> Option<PlainMedia> {
        let media = match received {
            Ok(media) => media,
            Err(e) => {
                tracing::trace!(error = %e, "media packet refused");
                None
            }
        };
        if media.is_none() {
            self.drain(now);
        }
        media
    }

    /// A plain RTP or RTCP packet [`handle_receive_in_place`](Self::handle_receive_in_place)
    /// decrypted, to its channel.
    pub fn handle_media(
        &mut self,
        now: Instant,
        transport: TransportId,
        rtcp: bool,
        packet: Bytes,
    ) {
        if rtcp {
            self.manager.handle_rtcp(now, transport, &packet);
        } else {
            self.manager.handle_rtp(now, transport, packet);
        }
        self.drain(now);
    }

    /// The next datagram (or TCP frame) to send, with the transport and
    /// component whose agent sends it. Media and data the channels produced
    /// are protected and queued first.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<ComponentTransmit> {
        self.flush_outgoing(now);
        self.controller.poll_component_transmit(now)
    }

    /// The name of a transport (the mid of its first section), as
    /// [`GatherRequest`]s and [`Session::handle_receive`] use it.
    pub fn transport_name(&self, id: TransportId) -> Option<&str> {
        self.controller.transport_name(id)
    }

    /// When [`Session::handle_timeout`] is due next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.controller.poll_timeout(), self.manager.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.controller.poll_timeout().is_some_and(|t| t <= now) {
            self.controller.handle_timeout(now);
        }
        if self.manager.poll_timeout().is_some_and(|t| t <= now) {
            self.manager.handle_timeout(now);
        }
        self.drain(now);
        // Idle compaction on a timer, never per packet: gathering and the
        // handshakes grow the event queue; an idle session keeps little.
        if self.events.is_empty() && self.events.capacity() > 4 {
            self.events.shrink_to(4);
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Closes everything (W3C `close`): DTLS close_notify and ICE stop; the
    /// session refuses further calls.
    pub fn close(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.controller.close(now);
        if self.signaling.close() {
            self.events
                .push_back(SessionEvent::SignalingState(SignalingState::Closed));
        }
        self.events
            .push_back(SessionEvent::ConnectionState(PeerConnectionState::Closed));
    }

    /// Media and SCTP packets of the channels into the transports.
    fn flush_outgoing(&mut self, now: Instant) {
        while let Some((tid, packet)) = self.manager.poll_transmit(now) {
            let sent = if packet.rtcp {
                self.controller.send_rtcp(now, tid, &packet.data)
            } else {
                self.controller.send_rtp(now, tid, &packet.data)
            };
            if let Err(e) = sent {
                tracing::trace!(error = %e, "media packet not sent");
            }
        }
        while let Some((tid, data)) = self.manager.poll_application_data(now) {
            if let Err(e) = self.controller.send_application_data_on(now, tid, &data) {
                tracing::trace!(error = %e, "SCTP packet not sent");
            }
        }
    }

    /// Moves the events of the controller and the channels along.
    pub(super) fn drain(&mut self, now: Instant) {
        while let Some(event) = self.controller.poll_event() {
            self.controller_event(now, event);
        }
        while let Some((channel, event)) = self.manager.poll_event() {
            let Some(transceiver) = self
                .transceivers
                .iter()
                .find(|t| t.channel == Some(channel))
                .map(|t| t.id)
            else {
                continue;
            };
            match event {
                ChannelEvent::Frame { ssrc, frame, .. } => {
                    self.events.push_back(SessionEvent::Frame {
                        transceiver,
                        ssrc,
                        frame,
                    })
                }
                ChannelEvent::KeyframeRequested { .. } => self
                    .events
                    .push_back(SessionEvent::KeyframeRequested { transceiver }),
                _ => {}
            }
        }
        while let Some((_, event)) = self.manager.poll_transport_event() {
            if let TransportEvent::TargetBitrate { bitrate_bps, .. } = event {
                self.events
                    .push_back(SessionEvent::TargetBitrate { bitrate_bps });
            }
        }
        while let Some((_, event)) = self.manager.poll_data_event() {
            self.data_event(event);
        }
    }

    fn controller_event(&mut self, now: Instant, event: ControllerEvent) {
        match event {
            ControllerEvent::Candidate {
                transport,
                candidate,
            } => {
                // Signalled with the first section of the transport, and
                // added to our description (W3C localDescription has them).
                let Some(local) = self.local_description() else {
                    return;
                };
                let description = local.description();
                let Some((index, mid)) = description
                    .contents
                    .iter()
                    .enumerate()
                    .find(|(_, c)| {
                        !c.rejected
                            && super::negotiation::transport_name(description, &c.mid) == transport
                    })
                    .map(|(i, c)| (i, c.mid.to_string()))
                else {
                    return;
                };
                let jsep = JsepIceCandidate::new(&mid, index, candidate);
                let local = self.pending_local.as_mut().or(self.current_local.as_mut());
                if let Some(local) = local {
                    let _ = local.add_candidate(jsep.clone());
                }
                self.events.push_back(SessionEvent::IceCandidate(jsep));
            }
            ControllerEvent::EndOfCandidates { .. } => {}
            ControllerEvent::GatheringState(state) => {
                self.events
                    .push_back(SessionEvent::IceGatheringState(state));
                if state == GatheringState::Complete {
                    self.events.push_back(SessionEvent::EndOfCandidates);
                }
            }
            ControllerEvent::IceConnectionState(state) => self
                .events
                .push_back(SessionEvent::IceConnectionState(state)),
            ControllerEvent::ConnectionState(state) => {
                self.events.push_back(SessionEvent::ConnectionState(state))
            }
            ControllerEvent::DtlsConnected { transport, .. } => {
                let Some(&tid) = self.transports.get(&transport) else {
                    return;
                };
                self.manager.set_writable(now, tid, true);
                if self.data.transport == Some(tid) {
                    if let Some(sctp) = self.manager.data_transport(tid) {
                        if let Err(e) = sctp.connect(now) {
                            tracing::debug!(error = %e, "SCTP connect");
                        }
                    }
                }
            }
            ControllerEvent::DtlsClosed { transport, .. } => {
                if let Some(&tid) = self.transports.get(&transport) {
                    self.manager.set_writable(now, tid, false);
                }
                self.events.push_back(SessionEvent::TransportClosed {
                    mid: SmolStr::from(transport.as_str()),
                });
            }
            ControllerEvent::ApplicationData { transport, data } => {
                if let Some(&tid) = self.transports.get(&transport) {
                    self.manager.handle_application_data(now, tid, data);
                }
            }
            ControllerEvent::Media {
                transport,
                rtcp,
                packet,
                ..
            } => {
                if let Some(&tid) = self.transports.get(&transport) {
                    if rtcp {
                        self.manager.handle_rtcp(now, tid, &packet);
                    } else {
                        self.manager.handle_rtp(now, tid, packet);
                    }
                }
            }
            _ => {}
        }
    }

    fn data_event(&mut self, event: DataChannelEvent) {
        let data = &mut self.data;
        let mut channel_of = |stream: u16| -> DataChannelId {
            *data.by_stream.entry(stream).or_insert_with(|| {
                let id = DataChannelId(data.next_id);
                data.next_id += 1;
                data.by_id.insert(id, stream);
                id
            })
        };
        let event = match event {
            DataChannelEvent::ChannelOpen {
                id,
                label,
                protocol,
                remote,
                ..
            } => SessionEvent::DataChannelOpen {
                channel: channel_of(id),
                label,
                protocol,
                remote,
            },
            DataChannelEvent::Message { id, binary, data } => SessionEvent::DataChannelMessage {
                channel: channel_of(id),
                binary,
                data,
            },
            DataChannelEvent::BufferedAmountLow { id } => {
                SessionEvent::DataChannelBufferedAmountLow {
                    channel: channel_of(id),
                }
            }
            DataChannelEvent::ChannelClosed { id } => {
                let channel = channel_of(id);
                self.data.by_stream.remove(&id);
                self.data.by_id.remove(&channel);
                SessionEvent::DataChannelClosed { channel }
            }
            DataChannelEvent::Error { id, error } => SessionEvent::DataChannelError {
                channel: id.map(channel_of),
                error,
            },
            _ => return,
        };
        let counters = &mut self.data.counters;
        match &event {
            SessionEvent::DataChannelOpen {
                channel,
                label,
                protocol,
                ..
            } => {
                let c = counters.entry(*channel).or_default();
                c.open = true;
                c.label.clone_from(label);
                c.protocol.clone_from(protocol);
            }
            SessionEvent::DataChannelMessage { channel, data, .. } => {
                let c = counters.entry(*channel).or_default();
                c.messages_received += 1;
                c.bytes_received += data.len() as u64;
            }
            SessionEvent::DataChannelClosed { channel } => {
                counters.entry(*channel).or_default().closed = true;
            }
            _ => {}
        }
        self.events.push_back(event);
    }
}
