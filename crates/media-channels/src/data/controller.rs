//! The incoming side of [`SctpTransport`] (libwebrtc's
//! `DataChannelController`): what arrives on each stream is routed here.
//! DCEP is answered as it arrives (a new stream's DATA_CHANNEL_OPEN, the
//! ACK to ours); data waits in SCTP until the application polls, except
//! what arrived before its channel could take it (kept in a bounded stash).

use bytes::{Bytes, BytesMut};
use sctp_proto::PayloadProtocolIdentifier as Ppi;

use super::channel::{ChannelInfo, Entry, Received, State};
use super::dcep::{self, DataChannelOpen, DcepMessage, MESSAGE_TYPE_ACK, MESSAGE_TYPE_OPEN};
use super::sctp::{open_event, SctpTransport};
use super::DataChannelEvent;
use crate::error::Error;

impl SctpTransport {
    /// Queues channel `id` for [`read_next`](Self::read_next).
    pub(super) fn mark_readable(&mut self, id: u16) {
        if let Some(entry) = self.channels.get_mut(&id) {
            if !entry.readable {
                entry.readable = true;
                self.readable.push_back(id);
            }
        }
    }

    /// sctp-proto has a message on stream `id`: DCEP-bearing streams are
    /// read now, open channels wait for the application.
    pub(super) fn on_readable(&mut self, id: u16) {
        match self.channels.get(&id).map(|e| e.state) {
            None => self.read_new_stream(id),
            Some(State::AwaitAck | State::Unconfigured) => self.read_eagerly(id),
            Some(State::Open) => self.mark_readable(id),
            Some(State::Pending | State::Closing) => {}
        }
    }

    /// One whole message from stream `id`, if one is ready.
    fn read_message(&mut self, id: u16) -> Option<(Ppi, Bytes)> {
        let (_, assoc) = self.association.as_mut()?;
        let mut stream = assoc.stream(id).ok()?;
        let chunks = stream.read_sctp().ok()??;
        let mut data = BytesMut::zeroed(chunks.len());
        let n = chunks.read(&mut data).ok()?;
        data.truncate(n);
        Some((chunks.ppi, data.freeze()))
    }

    /// A peer stream we have no entry for: its first message decides.
    fn read_new_stream(&mut self, id: u16) {
        let Some((ppi, data)) = self.read_message(id) else {
            return;
        };
        if ppi == Ppi::Dcep {
            match DcepMessage::parse(&data) {
                Ok(DcepMessage::Open(open)) => self.accept_open(id, &open),
                Ok(DcepMessage::Ack) => {
                    self.stream_error(id, Error::DcepUnexpectedMessage(MESSAGE_TYPE_ACK));
                    self.reset_stream(id);
                }
                Err(error) => {
                    self.stream_error(id, error);
                    self.reset_stream(id);
                }
            }
            return;
        }
        // Data on a stream that is no channel: a negotiated channel the
        // application has not created yet (or never will). Hold a little.
        if self.channels.len() >= self.config.max_channels {
            self.stream_error(id, Error::PeerTooManyChannels(self.config.max_channels));
            self.reset_stream(id);
            return;
        }
        self.channels
            .insert(id, Entry::new(None, State::Unconfigured));
        self.stash(id, ppi, data, false);
        self.read_eagerly(id);
    }

    /// Streams that read as messages arrive: an OPEN waiting for its ACK,
    /// an unconfigured stream.
    fn read_eagerly(&mut self, id: u16) {
        loop {
            let Some(state) = self.channels.get(&id).map(|e| e.state) else {
                return;
            };
            if !matches!(state, State::AwaitAck | State::Unconfigured) {
                return;
            }
            let Some((ppi, data)) = self.read_message(id) else {
                return;
            };
            match (state, ppi) {
                (State::AwaitAck, Ppi::Dcep) => match DcepMessage::parse(&data) {
                    Ok(DcepMessage::Ack) => self.acknowledged(id),
                    Ok(DcepMessage::Open(_)) => {
                        self.stream_error(id, Error::DcepUnexpectedMessage(MESSAGE_TYPE_OPEN));
                    }
                    Err(error) => self.stream_error(id, error),
                },
                (State::AwaitAck, _) => {
                    // Data before the ACK acknowledges implicitly (libwebrtc
                    // does the same): the peer got our OPEN.
                    self.acknowledged(id);
                    self.stash(id, ppi, data, true);
                }
                (_, Ppi::Dcep) => {
                    // DCEP after data on a stream with no channel.
                    let kind = data.first().copied().unwrap_or(0);
                    self.stream_error(id, Error::DcepUnexpectedMessage(kind));
                }
                _ => self.stash(id, ppi, data, false),
            }
        }
    }

    /// Our OPEN was acknowledged: the channel gets its real ordering.
    fn acknowledged(&mut self, id: u16) {
        let Some(entry) = self.channels.get_mut(&id) else {
            return;
        };
        entry.state = State::Open;
        let Some(info) = entry.info.as_ref() else {
            return;
        };
        let (kind, value) = info.reliability.sctp();
        let unordered = !info.ordered;
        if let Some((_, assoc)) = self.association.as_mut() {
            if let Ok(mut s) = assoc.stream(id) {
                let _ = s.set_reliability_params(unordered, kind, value);
            }
        }
        self.mark_readable(id);
    }

    /// Keeps a message read before its channel can deliver it. Bounded by
    /// the receive window across all streams (what SCTP would have held);
    /// past it unconfigured data is dropped. `always` keeps the one message
    /// that acknowledged our OPEN regardless.
    fn stash(&mut self, id: u16, ppi: Ppi, data: Bytes, always: bool) {
        let received = match received(ppi, data) {
            Ok(r) => r,
            Err(error) => {
                self.stream_error(id, error);
                return;
            }
        };
        let len = received.data.len().max(1);
        if !always && self.stash_bytes + len > self.config.receive_window as usize {
            tracing::debug!(id, len, "dropping data on a stream that is no channel");
            return;
        }
        if let Some(entry) = self.channels.get_mut(&id) {
            entry.stash.push_back(received);
            entry.stash_bytes += len;
            self.stash_bytes += len;
        }
    }

    /// The peer's DATA_CHANNEL_OPEN on a new stream.
    fn accept_open(&mut self, id: u16, open: &DataChannelOpen<'_>) {
        if self.channels.len() >= self.config.max_channels
            || self.events.len() >= self.event_queue_limit()
        {
            self.stream_error(id, Error::PeerTooManyChannels(self.config.max_channels));
            self.reset_stream(id);
            return;
        }
        let info = ChannelInfo::from_open(id, open);
        let (kind, value) = info.reliability.sctp();
        let mut ack = [0u8; dcep::ACK_LEN];
        let acked = match self.association.as_mut() {
            Some((_, assoc)) => assoc.stream(id).and_then(|mut s| {
                s.set_reliability_params(!info.ordered, kind, value)?;
                let n = dcep::write_ack(&mut ack).unwrap_or(dcep::ACK_LEN);
                s.write_with_ppi(&ack[..n], Ppi::Dcep)
            }),
            None => return,
        };
        if let Err(e) = acked {
            tracing::warn!(error = %e, id, "answering DATA_CHANNEL_OPEN failed");
            self.reset_stream(id);
            return;
        }
        tracing::debug!(id, label = info.label, "peer opened a data channel");
        self.events.push_back(open_event(&info));
        self.channels
            .insert(id, Entry::new(Some(info), State::Open));
        self.mark_readable(id);
    }

    /// Resets a peer stream that carries no channel we keep.
    fn reset_stream(&mut self, id: u16) {
        if let Some((_, assoc)) = self.association.as_mut() {
            if let Ok(mut s) = assoc.stream(id) {
                let _ = s.close();
            }
        }
        self.forget(id);
    }

    /// Reports a peer's mistake on one stream, within the event-queue bound.
    fn stream_error(&mut self, id: u16, error: Error) {
        tracing::debug!(id, %error, "data channel stream error");
        if self.events.len() < self.event_queue_limit() {
            self.events.push_back(DataChannelEvent::Error {
                id: Some(id),
                error,
            });
        }
    }

    /// Control events the peer can cause are dropped (errors) or refused
    /// (opens) past this many queued.
    fn event_queue_limit(&self) -> usize {
        2 * self.config.max_channels + 256
    }

    /// The next message from the readable channels, in turn.
    pub(super) fn read_next(&mut self) -> Option<DataChannelEvent> {
        while let Some(id) = self.readable.pop_front() {
            let Some(entry) = self.channels.get_mut(&id) else {
                continue;
            };
            if entry.state != State::Open {
                entry.readable = false;
                continue;
            }
            if let Some(msg) = entry.stash.pop_front() {
                let len = msg.data.len().max(1);
                entry.stash_bytes -= len;
                self.stash_bytes -= len;
                self.readable.push_back(id);
                return Some(message_event(id, msg));
            }
            let Some((ppi, data)) = self.read_message(id) else {
                if let Some(entry) = self.channels.get_mut(&id) {
                    entry.readable = false;
                }
                continue;
            };
            self.readable.push_back(id);
            if ppi == Ppi::Dcep {
                match DcepMessage::parse(&data) {
                    // A late ACK after data acknowledged implicitly.
                    Ok(DcepMessage::Ack) => continue,
                    Ok(DcepMessage::Open(_)) => {
                        return Some(DataChannelEvent::Error {
                            id: Some(id),
                            error: Error::DcepUnexpectedMessage(MESSAGE_TYPE_OPEN),
                        })
                    }
                    Err(error) => {
                        return Some(DataChannelEvent::Error {
                            id: Some(id),
                            error,
                        })
                    }
                }
            }
            return Some(match received(ppi, data) {
                Ok(msg) => message_event(id, msg),
                Err(error) => DataChannelEvent::Error {
                    id: Some(id),
                    error,
                },
            });
        }
        None
    }
}

/// A user message from its PPID and bytes (empty PPIDs drop the placeholder).
fn received(ppi: Ppi, data: Bytes) -> Result<Received, Error> {
    let (binary, data) = match ppi {
        Ppi::String => (false, data),
        Ppi::Binary => (true, data),
        Ppi::StringEmpty => (false, Bytes::new()),
        Ppi::BinaryEmpty => (true, Bytes::new()),
        _ => return Err(Error::DataChannelUnknownPpid),
    };
    Ok(Received { binary, data })
}

fn message_event(id: u16, msg: Received) -> DataChannelEvent {
    DataChannelEvent::Message {
        id,
        binary: msg.binary,
        data: msg.data,
    }
}
