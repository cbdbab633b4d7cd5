//! The media path of the [`TransportController`]: datagrams and TCP frames
//! in (ICE's check of the pair, DTLS records to DTLS, SRTP/SRTCP decrypted in
//! place once DTLS has verified the peer), and application data and plain
//! RTP/RTCP out (protected with the sending component's SRTP session, then
//! along ICE's route, wrapped in place for a TURN relay).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use ice::stun::{classify, PacketKind};
use ice::{Receive, Received, TransportProtocol};

use super::{
    ComponentTransmit, ControllerEvent, PlainMedia, SendTo, TransportController, TransportId,
    SCRATCH_LEN,
};
use crate::dtls::DtlsState;
use crate::error::Error;

impl TransportController {
    /// A datagram for transport `name`'s RTP component (from one of its agent's sockets).
    pub fn handle_receive(&mut self, now: Instant, name: &str, receive: Receive<'_>) {
        self.handle_receive_component(now, name, 1, receive)
    }

    /// A datagram for component `component` (1 = RTP, 2 = RTCP without
    /// rtcp-mux) of `name`. Media comes out decrypted as
    /// [`ControllerEvent::Media`] (one copy of the packet);
    /// [`handle_receive_in_place`](Self::handle_receive_in_place) decrypts in
    /// the caller's buffer instead.
    pub fn handle_receive_component(
        &mut self,
        now: Instant,
        name: &str,
        component: u16,
        receive: Receive<'_>,
    ) {
        let Some(id) = self.transport_id(name) else {
            return;
        };
        let mut buf = receive.data.to_vec();
        let local = receive.local;
        let source = receive.source;
        if let Ok(Some(media)) =
            self.handle_receive_in_place(now, id, component, local, source, &mut buf)
        {
            buf.truncate(media.range.end);
            buf.drain(..media.range.start);
            self.events.push_back(ControllerEvent::Media {
                transport: name.to_string(),
                rtcp: media.rtcp,
                packet: Bytes::from(buf),
            });
        }
    }

    /// A datagram for component `component` of transport `id` that arrived
    /// from `source` on our socket `local`, in a buffer the controller may
    /// write: SRTP/SRTCP from the verified peer is decrypted in place and
    /// returned as `Ok(Some(PlainMedia))` (the plain packet is `buf[range]`).
    /// STUN, DTLS and anything dropped give `Ok(None)` (their effects come
    /// out as events and transmits as usual); a media packet SRTP refuses
    /// (authentication, replay, no keys yet) is the `Err` and is counted in
    /// [`JsepTransport::srtp_errors`](super::JsepTransport::srtp_errors).
    ///
    /// The media path allocates nothing and looks nothing up by name: the
    /// transport by index, ICE's check of the pair, SRTP in place; the
    /// combined states are recomputed only for datagrams that can change
    /// them (STUN and DTLS).
    pub fn handle_receive_in_place(
        &mut self,
        now: Instant,
        id: TransportId,
        component: u16,
        local: SocketAddr,
        source: SocketAddr,
        buf: &mut [u8],
    ) -> Result<Option<PlainMedia>, Error> {
        self.receive_in_place(
            now,
            (id, component),
            TransportProtocol::Udp,
            (local, source),
            buf,
        )
    }

    /// One frame from a TCP connection of component `component` of
    /// transport `id` (ICE-TCP without its RFC 4571 length prefix, or a
    /// whole message from a TURN server reached over TCP): `local` is the
    /// candidate base the connection belongs to (the listener's address, or
    /// the active candidate's address with port 9), `source` the peer. Media
    /// comes out decrypted in place as for
    /// [`handle_receive_in_place`](Self::handle_receive_in_place).
    pub fn handle_stream_frame_in_place(
        &mut self,
        now: Instant,
        id: TransportId,
        component: u16,
        local: SocketAddr,
        source: SocketAddr,
        buf: &mut [u8],
    ) -> Result<Option<PlainMedia>, Error> {
        self.receive_in_place(
            now,
            (id, component),
            TransportProtocol::Tcp,
            (local, source),
            buf,
        )
    }

    /// The driver's report that a TCP connection of component `component`
    /// of transport `id` (from `local`, as in
    /// [`handle_stream_frame_in_place`](Self::handle_stream_frame_in_place),
    /// to `remote`) failed or closed, with why: a TURN allocation over it
    /// (TCP or TLS) fails with the reason
    /// ([`IceAgent::handle_stream_closed`](ice::IceAgent::handle_stream_closed)).
    pub fn handle_stream_closed(
        &mut self,
        now: Instant,
        id: TransportId,
        component: u16,
        (local, remote): (SocketAddr, SocketAddr),
        error: Option<ice::Error>,
    ) -> Result<(), Error> {
        self.by_id(id)?
            .channel_mut(component)
            .ok_or(Error::UnknownComponent(component))?
            .ice
            .handle_stream_closed(now, local, remote, error);
        self.update(now);
        Ok(())
    }

    /// A datagram or frame for `(transport, component)` that came over
    /// `protocol` from `source` to our `local`.
    fn receive_in_place(
        &mut self,
        now: Instant,
        (id, component): (TransportId, u16),
        protocol: TransportProtocol,
        (local, source): (SocketAddr, SocketAddr),
        buf: &mut [u8],
    ) -> Result<Option<PlainMedia>, Error> {
        let c = self
            .by_id(id)?
            .channel_mut(component)
            .ok_or(Error::UnknownComponent(component))?;
        let receive = Receive {
            local,
            source,
            data: buf,
        };
        let received = match protocol {
            TransportProtocol::Udp => c.ice.handle_receive(now, receive),
            TransportProtocol::Tcp => c.ice.handle_stream_frame(now, receive),
        };
        let range = match received {
            Received::Data(range) => range,
            Received::Stun | Received::Dropped => {
                self.update(now);
                return Ok(None);
            }
        };
        let payload = &mut buf[range.clone()];
        match classify(payload) {
            PacketKind::Dtls => {
                c.dtls.handle_receive(now, payload);
                self.update(now);
                Ok(None)
            }
            // Media only from a peer whose certificate DTLS has verified.
            kind @ (PacketKind::Rtp | PacketKind::Rtcp)
                if c.dtls.state() == DtlsState::Connected =>
            {
                let rtcp = kind == PacketKind::Rtcp;
                let n = c.unprotect(rtcp, payload)?;
                Ok(Some(PlainMedia {
                    rtcp,
                    range: range.start..range.start + n,
                }))
            }
            _ => Ok(None),
        }
    }

    /// Sends application data (SCTP) to the peer over DTLS on `name`.
    pub fn send_application_data(
        &mut self,
        now: Instant,
        name: &str,
        data: &[u8],
    ) -> Result<(), Error> {
        let t = self.get_mut(name)?;
        t.rtp.dtls.send(data)?;
        self.update(now);
        Ok(())
    }

    /// [`send_application_data`](Self::send_application_data) on transport
    /// `id`: no lookup by name on the per-packet path.
    pub fn send_application_data_on(
        &mut self,
        now: Instant,
        id: TransportId,
        data: &[u8],
    ) -> Result<(), Error> {
        self.by_id(id)?.rtp.dtls.send(data)?;
        self.update(now);
        Ok(())
    }

    /// Protects a plain RTP packet with transport `id`'s SRTP session and
    /// queues it along ICE's route (drain [`poll_transmit`](Self::poll_transmit)).
    /// [`Error::NotConnected`] before DTLS has verified the peer,
    /// [`Error::NoSrtpProfile`] when DTLS negotiated no SRTP profile; SRTP's
    /// own errors (a packet too short to be RTP…) as they come.
    /// [`send_rtp_into`](Self::send_rtp_into) protects into the caller's
    /// buffer instead of queueing a copy.
    pub fn send_rtp(&mut self, now: Instant, id: TransportId, packet: &[u8]) -> Result<(), Error> {
        self.send_srtp(now, id, false, packet)
    }

    /// Protects a plain RTCP packet (SRTCP) and queues it, on the RTCP
    /// component when the transport has one. Errors as for
    /// [`send_rtp`](Self::send_rtp).
    pub fn send_rtcp(&mut self, now: Instant, id: TransportId, packet: &[u8]) -> Result<(), Error> {
        self.send_srtp(now, id, true, packet)
    }

    fn send_srtp(
        &mut self,
        now: Instant,
        id: TransportId,
        rtcp: bool,
        packet: &[u8],
    ) -> Result<(), Error> {
        let mut scratch = std::mem::take(&mut self.scratch);
        if scratch.len() < SCRATCH_LEN {
            scratch.resize(SCRATCH_LEN, 0);
        }
        let result = self.protect(id, rtcp, packet, &mut scratch).and_then(|n| {
            let t = &mut self.transports[id.index()];
            let component = t.sending_component(rtcp);
            let transmit = t.sending_channel(rtcp).ice.send(now, &scratch[..n])?;
            self.transmits.push_back(ComponentTransmit {
                transport: id,
                component,
                transmit,
            });
            Ok(())
        });
        self.scratch = scratch;
        result
    }

    /// Protects a plain RTP (`rtcp` false) or RTCP packet into `out` and
    /// says which part of `out` to send where, without a copy or an
    /// allocation: the caller sends [`SendTo::datagram`] from `source` to
    /// `destination`. `out` needs [`SEND_HEADROOM`](ice::SEND_HEADROOM)
    /// bytes before the packet, the SRTP overhead after it
    /// ([`SrtpProfile::rtcp_overhead`](crate::srtp::SrtpProfile::rtcp_overhead),
    /// at most 20 bytes) and [`SEND_TAILROOM`](ice::SEND_TAILROOM), else
    /// [`Error::BufferTooSmall`]: `packet.len() + SEND_OVERHEAD` bytes always
    /// suffice ([`SEND_OVERHEAD`](super::SEND_OVERHEAD)).
    /// On a route through a TURN relay the ChannelData header goes into the
    /// headroom once a channel is bound; before that (the first packets) the
    /// datagram is queued as a [`Transmit`](ice::Transmit) instead and `Ok(None)` says so.
    /// Errors as for [`send_rtp`](Self::send_rtp).
    pub fn send_rtp_into(
        &mut self,
        now: Instant,
        id: TransportId,
        rtcp: bool,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<Option<SendTo>, Error> {
        if out.len() < ice::SEND_HEADROOM + ice::SEND_TAILROOM {
            return Err(Error::BufferTooSmall);
        }
        let end = out.len() - ice::SEND_TAILROOM;
        let n = self.protect(id, rtcp, packet, &mut out[ice::SEND_HEADROOM..end])?;
        let c = self.transports[id.index()].sending_channel(rtcp);
        // Ok(None): queued by the agent (a relayed route's Send indication).
        c.ice.send_in_place(now, out, n).map_err(|e| match e {
            ice::Error::BufferTooSmall => Error::BufferTooSmall,
            e => e.into(),
        })
    }

    /// SRTP-protects `packet` into `out` with the sending component's
    /// session; the protected length.
    fn protect(
        &mut self,
        id: TransportId,
        rtcp: bool,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let c = self.by_id(id)?.sending_channel(rtcp);
        if c.dtls.state() != DtlsState::Connected {
            return Err(Error::NotConnected);
        }
        let session = c.srtp.as_mut().ok_or(Error::NoSrtpProfile)?;
        if out.len() < packet.len() {
            return Err(Error::BufferTooSmall);
        }
        out[..packet.len()].copy_from_slice(packet);
        if rtcp {
            session.protect_rtcp(out, packet.len())
        } else {
            session.protect_rtp(out, packet.len())
        }
    }
}
