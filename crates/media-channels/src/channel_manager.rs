//! libwebrtc's ChannelManager with the RTP routing of its RtpTransport:
//! the media channels of a session, and the BUNDLE demultiplexing of the
//! plain RTP/RTCP each transport delivers.
//!
//! Transports are named by the caller's key `T` (the TransportController's
//! `TransportId` in a PeerConnection), so this crate needs nothing from the
//! layers below. Per transport there is one [`RtpDemuxer`]: each channel's
//! criteria (MID, the peer's SSRCs, our payload types) are registered when
//! its descriptions change ([`ChannelManager::update_demuxer`]), RTP goes to
//! the channel the demuxer picks, and each packet of an RTCP compound to
//! every channel of the transport, which keeps what names its SSRCs.
//!
//! ```
//! use std::time::Instant;
//! use media_channels::base_channel::{BaseChannel, ChannelConfig};
//! use media_channels::channel_manager::ChannelManager;
//! use media_channels::rtp::stats::NtpTime;
//! use sdp::model::MediaType;
//!
//! let now = Instant::now();
//! let mut manager: ChannelManager<u32> = ChannelManager::new();
//! let config = ChannelConfig::new(now, NtpTime(0));
//! let audio = manager.add_channel(0, BaseChannel::new("0", MediaType::Audio, config.clone()));
//! let video = manager.add_channel(0, BaseChannel::new("1", MediaType::Video, config));
//! assert_eq!(manager.channel(audio).unwrap().mid(), "0");
//! assert_eq!(manager.find("1"), Some(video));
//! ```

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

use bytes::Bytes;

use crate::base_channel::{BaseChannel, ChannelEvent, OutgoingPacket};
use crate::rtcp::Compound;
use crate::rtp::extensions::ExtensionMap;
use crate::rtp::RtpPacket;
use crate::rtp_demuxer::RtpDemuxer;

/// A channel's handle in its [`ChannelManager`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(usize);

#[derive(Debug)]
struct Slot<T> {
    transport: T,
    channel: BaseChannel,
}

/// The channels of a session; see the [module docs](self).
#[derive(Debug)]
pub struct ChannelManager<T> {
    channels: Vec<Option<Slot<T>>>,
    demuxers: HashMap<T, RtpDemuxer<ChannelId>>,
    /// Which channel `poll_transmit` looks at first (fairness).
    next_poll: usize,
    dropped_rtp: u64,
}

impl<T: Copy + Eq + Hash> Default for ChannelManager<T> {
    fn default() -> Self {
        ChannelManager {
            channels: Vec::new(),
            demuxers: HashMap::new(),
            next_poll: 0,
            dropped_rtp: 0,
        }
    }
}

impl<T: Copy + Eq + Hash> ChannelManager<T> {
    /// No channels.
    pub fn new() -> ChannelManager<T> {
        ChannelManager::default()
    }

    /// Adds `channel` on `transport` (its BUNDLE group's transport, or its own).
    pub fn add_channel(&mut self, transport: T, channel: BaseChannel) -> ChannelId {
        let id = ChannelId(self.channels.len());
        self.channels.push(Some(Slot { transport, channel }));
        self.demuxers.entry(transport).or_default();
        self.update_demuxer(id);
        id
    }

    /// Destroys a channel (its section was rejected or removed).
    pub fn remove_channel(&mut self, id: ChannelId) -> Option<BaseChannel> {
        let slot = self.channels.get_mut(id.0)?.take()?;
        if let Some(d) = self.demuxers.get_mut(&slot.transport) {
            d.remove_sink(id);
        }
        Some(slot.channel)
    }

    /// The channel `id`.
    pub fn channel(&self, id: ChannelId) -> Option<&BaseChannel> {
        Some(&self.channels.get(id.0)?.as_ref()?.channel)
    }

    /// The channel `id`, to set descriptions or send frames. Call
    /// [`update_demuxer`](Self::update_demuxer) after changing its descriptions.
    pub fn channel_mut(&mut self, id: ChannelId) -> Option<&mut BaseChannel> {
        Some(&mut self.channels.get_mut(id.0)?.as_mut()?.channel)
    }

    /// The channel with MID `mid`.
    pub fn find(&self, mid: &str) -> Option<ChannelId> {
        self.channels.iter().enumerate().find_map(|(i, s)| {
            s.as_ref()
                .filter(|s| s.channel.mid() == mid)
                .map(|_| ChannelId(i))
        })
    }

    /// Every channel.
    pub fn channels(&self) -> impl Iterator<Item = (ChannelId, &BaseChannel)> {
        self.channels
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((ChannelId(i), &s.as_ref()?.channel)))
    }

    /// Registers channel `id`'s current criteria with its transport's demuxer.
    /// `false` if they clash with another channel's (the same MID or SSRC).
    pub fn update_demuxer(&mut self, id: ChannelId) -> bool {
        let Some(Some(slot)) = self.channels.get(id.0) else {
            return false;
        };
        let criteria = slot.channel.demuxer_criteria();
        let demuxer = self.demuxers.entry(slot.transport).or_default();
        demuxer.remove_sink(id);
        demuxer.add_sink(id, criteria)
    }

    /// Marks every channel of `transport` writable or not.
    pub fn set_writable(&mut self, now: Instant, transport: T, writable: bool) {
        for slot in self.channels.iter_mut().flatten() {
            if slot.transport == transport {
                slot.channel.set_writable(now, writable);
            }
        }
    }

    /// A plain RTP packet `transport` delivered (`data` is the whole packet).
    pub fn handle_rtp(&mut self, now: Instant, transport: T, data: Bytes) {
        let sink = {
            let Ok(packet) = RtpPacket::parse(&data) else {
                self.dropped_rtp += 1;
                return;
            };
            // BUNDLE: every section uses the same ids; the first channel's serve.
            let empty = ExtensionMap::new();
            let extensions = self
                .channels
                .iter()
                .flatten()
                .filter(|s| s.transport == transport)
                .find_map(|s| s.channel.receive_extensions())
                .unwrap_or(&empty);
            self.demuxers
                .get_mut(&transport)
                .and_then(|d| d.demux(&packet, extensions))
        };
        match sink.and_then(|id| self.channel_mut(id)) {
            Some(channel) => channel.handle_rtp(now, &data),
            None => self.dropped_rtp += 1,
        }
    }

    /// A plain RTCP compound `transport` delivered.
    pub fn handle_rtcp(&mut self, now: Instant, transport: T, data: &[u8]) {
        let Ok(compound) = Compound::parse(data) else {
            return;
        };
        for packet in compound.packets().flatten() {
            for slot in self.channels.iter_mut().flatten() {
                if slot.transport == transport {
                    slot.channel.handle_rtcp(now, &packet);
                }
            }
        }
    }

    /// RTP packets no channel took (malformed, or no sink matched).
    pub fn dropped_rtp(&self) -> u64 {
        self.dropped_rtp
    }

    /// Runs every channel's timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        for slot in self.channels.iter_mut().flatten() {
            if slot.channel.poll_timeout().is_some_and(|t| t <= now) {
                slot.channel.handle_timeout(now);
            }
        }
    }

    /// The earliest timer of any channel.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.channels
            .iter()
            .flatten()
            .filter_map(|s| s.channel.poll_timeout())
            .min()
    }

    /// The next packet to send and the transport it goes on, channels taken in turn.
    pub fn poll_transmit(&mut self) -> Option<(T, OutgoingPacket)> {
        let n = self.channels.len();
        for k in 0..n {
            let i = (self.next_poll + k) % n;
            if let Some(slot) = self.channels[i].as_mut() {
                if let Some(p) = slot.channel.poll_transmit() {
                    self.next_poll = (i + 1) % n;
                    return Some((slot.transport, p));
                }
            }
        }
        None
    }

    /// The next event of any channel.
    pub fn poll_event(&mut self) -> Option<(ChannelId, ChannelEvent)> {
        self.channels.iter_mut().enumerate().find_map(|(i, s)| {
            let e = s.as_mut()?.channel.poll_event()?;
            Some((ChannelId(i), e))
        })
    }
}
