//! The pacer (libwebrtc's PacingController, "media debt" mode): packets are
//! queued and released at the pacing rate, so an encoder's frame does not
//! hit the network as one burst.
//!
//! Each released packet adds its size to a debt that drains at the pacing
//! rate; a packet may go while the debt is at most
//! [`PacerConfig::burst_interval`] worth of bytes, so packets leave in
//! bursts of a few ms at most. Audio is not paced by default (it goes at
//! once but counts in the debt), as in libwebrtc. Packets go by class —
//! audio, then retransmissions, then video — and in order within a class.
//! When the queue would take longer than [`PacerConfig::max_queue_time`] to
//! drain at the pacing rate, the rate is raised to drain it in that time.
//!
//! The queue is bounded ([`PacerConfig::max_packets`],
//! [`PacerConfig::max_bytes`]); when full, a new packet is either refused
//! ([`OverflowPolicy::Refuse`], [`Error::PacerQueueFull`] with the packet
//! given back) or the oldest packet of the lowest non-empty class is
//! dropped for it ([`OverflowPolicy::DropOldest`]).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use media_channels::congestion::{Pacer, PacerConfig, PacketClass};
//!
//! let t0 = Instant::now();
//! // 1 Mbit/s, bursts of at most 5 ms: 625 bytes of debt.
//! let mut pacer = Pacer::new(PacerConfig::default(), 1_000_000);
//! for i in 0..4 {
//!     pacer.enqueue(t0, i, 1250, PacketClass::Video)?; // 10 ms each at 1 Mbit/s
//! }
//! let mut sent = Vec::new();
//! let mut now = t0;
//! loop {
//!     while let Some(p) = pacer.poll_packet(now) {
//!         sent.push((p, now - t0));
//!     }
//!     let Some(next) = pacer.poll_timeout() else { break };
//!     now = next;
//! }
//! let times: Vec<_> = sent.iter().map(|(_, t)| t.as_millis()).collect();
//! assert_eq!(times, [0, 5, 15, 25]);
//! # Ok::<(), media_channels::Error>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::error::Error;

/// What kind of packet is queued; earlier classes go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PacketClass {
    /// Audio: first, and not paced unless [`PacerConfig::pace_audio`].
    Audio,
    /// Retransmissions (NACK answers, RTX).
    Retransmission,
    /// Video, FEC and everything else.
    Video,
}

impl PacketClass {
    fn index(self) -> usize {
        self as usize
    }
}

/// What [`Pacer::enqueue`] does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Refuse the new packet ([`Error::PacerQueueFull`]).
    #[default]
    Refuse,
    /// Drop the oldest packet of the lowest non-empty class to make room.
    DropOldest,
}

/// Settings of a [`Pacer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacerConfig {
    /// The longest burst: packets go while the debt is at most this much
    /// sending time (0: one packet at a time).
    pub burst_interval: Duration,
    /// The queue should drain within this; the rate is raised when it
    /// would not (libwebrtc: 2 s).
    pub max_queue_time: Duration,
    /// Packets queued at most.
    pub max_packets: usize,
    /// Bytes queued at most.
    pub max_bytes: usize,
    /// What to do when full.
    pub overflow: OverflowPolicy,
    /// Pace audio too (libwebrtc: no).
    pub pace_audio: bool,
}

impl Default for PacerConfig {
    fn default() -> PacerConfig {
        PacerConfig {
            burst_interval: Duration::from_millis(5),
            max_queue_time: Duration::from_secs(2),
            max_packets: 4096,
            max_bytes: 4 << 20,
            overflow: OverflowPolicy::Refuse,
            pace_audio: false,
        }
    }
}

/// A packet [`Pacer::enqueue`] refused, given back with the reason.
pub struct Refused<T> {
    /// The packet.
    pub packet: T,
    /// Why ([`Error::PacerQueueFull`]).
    pub error: Error,
}

impl<T> fmt::Debug for Refused<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refused")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Refused<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<T> std::error::Error for Refused<T> {}

impl<T> From<Refused<T>> for Error {
    fn from(r: Refused<T>) -> Error {
        r.error
    }
}

#[derive(Debug)]
struct Queued<T> {
    packet: T,
    size: usize,
    enqueued: Instant,
}

/// The pacer; `T` is whatever the caller queues (packet bytes, a handle).
/// See the [module docs](self).
#[derive(Debug)]
pub struct Pacer<T> {
    config: PacerConfig,
    queues: [VecDeque<Queued<T>>; 3],
    queued_packets: usize,
    queued_bytes: usize,
    rate_bps: u64,
    /// Bytes sent and not yet paid for at the rate.
    debt: f64,
    last_update: Option<Instant>,
    dropped: u64,
}

impl<T> Pacer<T> {
    /// An empty pacer sending at `pacing_rate_bps`.
    pub fn new(config: PacerConfig, pacing_rate_bps: u64) -> Pacer<T> {
        Pacer {
            config,
            queues: [VecDeque::new(), VecDeque::new(), VecDeque::new()],
            queued_packets: 0,
            queued_bytes: 0,
            rate_bps: pacing_rate_bps,
            debt: 0.0,
            last_update: None,
            dropped: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &PacerConfig {
        &self.config
    }

    /// Packets queued.
    pub fn queued_packets(&self) -> usize {
        self.queued_packets
    }

    /// Bytes queued.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Packets dropped by [`OverflowPolicy::DropOldest`] so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The configured pacing rate, bit/s.
    pub fn pacing_rate(&self) -> u64 {
        self.rate_bps
    }

    /// How long the queue takes to drain at the pacing rate.
    pub fn expected_queue_time(&self) -> Duration {
        if self.rate_bps == 0 {
            return if self.queued_bytes == 0 {
                Duration::ZERO
            } else {
                Duration::MAX
            };
        }
        Duration::from_secs_f64(self.queued_bytes as f64 * 8.0 / self.rate_bps as f64)
    }

    /// When the oldest queued packet was queued.
    pub fn oldest_enqueue_time(&self) -> Option<Instant> {
        self.queues
            .iter()
            .filter_map(|q| q.front())
            .map(|q| q.enqueued)
            .min()
    }

    /// Sets the pacing rate (from [`GoogCcEvent::TargetBitrate`](super::GoogCcEvent)).
    pub fn set_pacing_rate(&mut self, now: Instant, pacing_rate_bps: u64) {
        self.drain(now);
        self.rate_bps = pacing_rate_bps;
    }

    /// Queues `packet` of `size` bytes. `Ok(Some(old))`: queued, and `old`
    /// was dropped to make room ([`OverflowPolicy::DropOldest`]).
    /// `Err`: refused, the packet is given back ([`OverflowPolicy::Refuse`],
    /// or a packet larger than the queue).
    pub fn enqueue(
        &mut self,
        now: Instant,
        packet: T,
        size: usize,
        class: PacketClass,
    ) -> Result<Option<T>, Refused<T>> {
        self.drain(now);
        let full = |p: &Self| {
            p.queued_packets + 1 > p.config.max_packets
                || p.queued_bytes + size > p.config.max_bytes
        };
        let mut dropped = None;
        if full(self) {
            if self.config.overflow == OverflowPolicy::Refuse
                || size > self.config.max_bytes
                || self.config.max_packets == 0
            {
                return Err(Refused {
                    packet,
                    error: Error::PacerQueueFull,
                });
            }
            while full(self) {
                let Some(old) = self.queues.iter_mut().rev().find_map(|q| q.pop_front()) else {
                    break;
                };
                self.queued_packets -= 1;
                self.queued_bytes -= old.size;
                self.dropped += 1;
                // Only the last one dropped is given back; the others are counted.
                dropped = Some(old.packet);
            }
        }
        self.queues[class.index()].push_back(Queued {
            packet,
            size,
            enqueued: now,
        });
        self.queued_packets += 1;
        self.queued_bytes += size;
        Ok(dropped)
    }

    /// The rate the queue is drained at: the pacing rate, raised when the
    /// queue would otherwise outlast [`PacerConfig::max_queue_time`].
    fn effective_rate(&self, now: Instant) -> f64 {
        let mut rate = self.rate_bps as f64;
        if self.queued_bytes > 0 {
            let waited = self
                .oldest_enqueue_time()
                .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
            let left = self
                .config
                .max_queue_time
                .saturating_sub(waited)
                .max(Duration::from_millis(1));
            rate = rate.max(self.queued_bytes as f64 * 8.0 / left.as_secs_f64());
        }
        rate
    }

    /// Pays the debt for the time since the last update.
    fn drain(&mut self, now: Instant) {
        if let Some(last) = self.last_update {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            let rate = self.effective_rate(now);
            self.debt = (self.debt - rate / 8.0 * elapsed).max(0.0);
        }
        if self.last_update.is_none_or(|l| now > l) {
            self.last_update = Some(now);
        }
    }

    fn burst_bytes(&self, rate: f64) -> f64 {
        rate / 8.0 * self.config.burst_interval.as_secs_f64()
    }

    /// The next packet to send at `now`, if the pacing rate allows one.
    /// Call it until `None`, then wait for [`poll_timeout`](Self::poll_timeout).
    pub fn poll_packet(&mut self, now: Instant) -> Option<T> {
        self.drain(now);
        let audio = PacketClass::Audio.index();
        let class = if !self.config.pace_audio && !self.queues[audio].is_empty() {
            audio
        } else {
            let rate = self.effective_rate(now);
            // A tolerance of a thousandth of a byte absorbs rounding.
            if rate <= 0.0 || self.debt > self.burst_bytes(rate) + 1e-3 {
                return None;
            }
            self.queues.iter().position(|q| !q.is_empty())?
        };
        let q = self.queues[class].pop_front()?;
        self.queued_packets -= 1;
        self.queued_bytes -= q.size;
        self.debt += q.size as f64;
        Some(q.packet)
    }

    /// When [`poll_packet`](Self::poll_packet) will next have a packet, while
    /// any are queued (`None` also while the pacing rate is 0 and only paced
    /// classes wait).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.queued_packets == 0 {
            return None;
        }
        let last = self.last_update?;
        if !self.config.pace_audio && !self.queues[PacketClass::Audio.index()].is_empty() {
            return Some(last);
        }
        let rate = self.effective_rate(last);
        if rate <= 0.0 {
            return None;
        }
        let excess = self.debt - self.burst_bytes(rate);
        if excess <= 0.0 {
            return Some(last);
        }
        // Rounded up to the microsecond, so the debt is paid by then.
        let micros = (excess * 8.0 / rate * 1e6).ceil();
        Some(last + Duration::from_micros(micros as u64))
    }

    /// Advances the pacer's clock; [`poll_packet`](Self::poll_packet) does
    /// the sending.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.drain(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_at_the_rate_in_bursts() {
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig::default(), 800_000); // 100 bytes/ms
        for i in 0..100u32 {
            p.enqueue(t0, i, 1000, PacketClass::Video).unwrap();
        }
        let mut sent = Vec::new();
        while let Some(next) = p.poll_timeout() {
            let now = next;
            while let Some(x) = p.poll_packet(now) {
                sent.push((x, now));
            }
        }
        assert_eq!(sent.len(), 100);
        // In order; 100 kB at 100 bytes/ms ≈ 1 s, minus the 5 ms burst.
        assert!(sent.iter().enumerate().all(|(i, (x, _))| *x == i as u32));
        let last = sent.last().unwrap().1 - t0;
        assert!((985..=995).contains(&last.as_millis()), "{last:?}");
        // No two packets more than one burst apart in debt terms: at most
        // one 5 ms burst (500 bytes) plus one packet at any instant.
        let at_start = sent.iter().filter(|(_, t)| *t == t0).count();
        assert_eq!(at_start, 1);
        assert_eq!(p.poll_timeout(), None);
    }

    #[test]
    fn classes_and_unpaced_audio() {
        let t0 = Instant::now();
        let mut p = Pacer::new(PacerConfig::default(), 80_000);
        p.enqueue(t0, "video", 1000, PacketClass::Video).unwrap();
        p.enqueue(t0, "rtx", 1000, PacketClass::Retransmission)
            .unwrap();
        assert_eq!(p.poll_packet(t0), Some("rtx"));
        assert_eq!(p.poll_packet(t0), None);
        p.enqueue(t0, "audio", 100, PacketClass::Audio).unwrap();
        assert_eq!(p.poll_timeout(), Some(t0));
        assert_eq!(p.poll_packet(t0), Some("audio"));
        assert_eq!(p.poll_packet(t0), None);
        // 1100 bytes of debt at 10 bytes/ms, 50 bytes of burst: 105 ms.
        assert_eq!(p.poll_timeout(), Some(t0 + Duration::from_millis(105)));
        assert_eq!(
            p.poll_packet(t0 + Duration::from_millis(105)),
            Some("video")
        );
    }

    #[test]
    fn bounded_queue() {
        let t0 = Instant::now();
        let config = PacerConfig {
            max_packets: 2,
            ..PacerConfig::default()
        };
        let mut p = Pacer::new(config, 0);
        p.enqueue(t0, 1, 10, PacketClass::Video).unwrap();
        p.enqueue(t0, 2, 10, PacketClass::Audio).unwrap();
        let refused = p.enqueue(t0, 3, 10, PacketClass::Video).unwrap_err();
        assert_eq!(refused.packet, 3);
        assert_eq!(Error::from(refused), Error::PacerQueueFull);
        assert!(!Error::PacerQueueFull.is_peer_fault());

        let mut p = Pacer::new(
            PacerConfig {
                overflow: OverflowPolicy::DropOldest,
                ..config
            },
            0,
        );
        p.enqueue(t0, 1, 10, PacketClass::Video).unwrap();
        p.enqueue(t0, 2, 10, PacketClass::Audio).unwrap();
        assert_eq!(p.enqueue(t0, 3, 10, PacketClass::Audio).unwrap(), Some(1));
        assert_eq!(p.queued_packets(), 2);
        assert_eq!(p.dropped(), 1);
        // Rate 0: audio still goes, video waits.
        assert_eq!(p.poll_packet(t0), Some(2));
        assert_eq!(p.poll_packet(t0), Some(3));
        assert_eq!(p.poll_packet(t0), None);
    }

    #[test]
    fn long_queues_drain_within_the_limit() {
        let t0 = Instant::now();
        let config = PacerConfig {
            max_queue_time: Duration::from_millis(500),
            ..PacerConfig::default()
        };
        // 100 kB at 80 kbit/s would take 10 s.
        let mut p = Pacer::new(config, 80_000);
        for i in 0..100 {
            p.enqueue(t0, i, 1000, PacketClass::Video).unwrap();
        }
        let mut now = t0;
        let mut n = 0;
        while n < 100 {
            while p.poll_packet(now).is_some() {
                n += 1;
            }
            now = p.poll_timeout().unwrap_or(now);
        }
        assert!(now - t0 <= Duration::from_millis(600), "{:?}", now - t0);
    }
}
