//! Channels (RFC 8656 §12): a number per peer, bound with ChannelBind,
//! re-bound while in use, reserved for a while after it lapses.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Channel {
    pub(super) number: u16,
    pub(super) in_flight: bool,
    pub(super) bound_until: Option<Instant>,
    pub(super) refresh_at: Option<Instant>,
    /// After a failure: no new attempt before this.
    pub(super) retry_at: Option<Instant>,
    /// Unbound: forget the entry (and free its number) then.
    pub(super) release_at: Option<Instant>,
    pub(super) used: bool,
}

impl Channel {
    pub(super) fn bound(&self, now: Instant) -> bool {
        self.bound_until.is_some_and(|t| now < t)
    }
}

impl TurnClient {
    /// The channel bound to `peer` at `now`.
    pub fn channel(&self, now: Instant, peer: SocketAddr) -> Option<u16> {
        self.channels
            .get(&peer)
            .filter(|c| c.bound(now))
            .map(|c| c.number)
    }

    /// Number of channel entries (bound, binding, or reserved).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Binds a channel to `peer` (installing the permission too) and keeps it
    /// refreshed while in use. Returns the channel number; data uses it once
    /// [`TurnEvent::ChannelBound`] is reported.
    pub fn bind_channel(&mut self, now: Instant, peer: SocketAddr) -> Result<u16, TurnError> {
        self.check_peer(peer.ip())?;
        self.ensure_permission(now, peer.ip(), false)?;
        self.ensure_channel(now, peer)
            .ok_or(TurnError::TooManyChannels(self.config.max_channels))
    }

    pub(super) fn channel_timers(&mut self, now: Instant) {
        let mut rebind = Vec::new();
        let mut forget = Vec::new();
        for (peer, c) in self.channels.iter_mut() {
            if c.refresh_at.is_some_and(|t| t <= now) {
                c.refresh_at = None;
                if c.used && !c.in_flight {
                    rebind.push(*peer);
                }
            }
            if c.bound_until.is_some_and(|t| t <= now) {
                c.bound_until = None;
                tracing::debug!(%peer, channel = c.number, "turn: channel binding expired");
                if !c.in_flight {
                    c.release_at = Some(now + CHANNEL_COOLDOWN);
                }
            }
            if c.release_at.is_some_and(|t| t <= now) {
                c.release_at = None;
                if !c.in_flight && c.bound_until.is_none() {
                    forget.push(*peer);
                }
            }
        }
        for peer in forget {
            if let Some(c) = self.channels.remove(&peer) {
                self.channel_peers.remove(&c.number);
            }
        }
        for peer in rebind {
            if let Some(c) = self.channels.get_mut(&peer) {
                c.used = false;
            }
            self.send_channel_bind(now, peer);
        }
    }

    /// Makes sure a channel to `peer` is bound or binding; `None` when the
    /// table is full.
    pub(super) fn ensure_channel(&mut self, now: Instant, peer: SocketAddr) -> Option<u16> {
        if let Some(c) = self.channels.get_mut(&peer) {
            c.used = true;
            let number = c.number;
            if !c.in_flight && !c.bound(now) && c.retry_at.is_none_or(|t| now >= t) {
                c.retry_at = None;
                c.release_at = None;
                self.send_channel_bind(now, peer);
            }
            return Some(number);
        }
        if self.channels.len() >= self.config.max_channels.min(4096) {
            return None;
        }
        let mut numbers = CHANNEL_NUMBER_RANGE;
        let number = numbers.find(|n| !self.channel_peers.contains_key(n))?;
        self.channels.insert(
            peer,
            Channel {
                number,
                in_flight: false,
                bound_until: None,
                refresh_at: None,
                retry_at: None,
                release_at: None,
                used: true,
            },
        );
        self.channel_peers.insert(number, peer);
        self.send_channel_bind(now, peer);
        Some(number)
    }

    pub(super) fn send_channel_bind(&mut self, now: Instant, peer: SocketAddr) {
        let Some(channel) = self.channels.get(&peer).map(|c| c.number) else {
            return;
        };
        match self.send_request(now, Request::ChannelBind { peer, channel }, 0) {
            Ok(_) => {
                if let Some(c) = self.channels.get_mut(&peer) {
                    c.in_flight = true;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, %peer, "turn: cannot send ChannelBind");
                if let Some(c) = self.channels.get_mut(&peer) {
                    if !c.bound(now) {
                        c.retry_at = Some(now + FAILED_RETRY);
                        c.release_at = Some(now + FAILED_RETRY);
                    }
                }
            }
        }
    }
}
