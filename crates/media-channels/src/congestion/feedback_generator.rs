//! The receive side of transport-wide congestion control (libwebrtc's
//! RemoteEstimatorProxy in periodic mode): arrival times of transport-wide
//! sequence numbers, reported back in TWCC feedback packets
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
//!
//! Every [`FeedbackGeneratorConfig::interval`] (and at once when
//! [`FeedbackGeneratorConfig::early_feedback_packets`] statuses are
//! pending), the packets from the first one not yet reported up to the
//! highest received go into feedback: the base sequence number is the first
//! of them, received or not; the reference time is the first received
//! packet's arrival in 64 ms units (24 bits, wrapping); each receive delta
//! counts 250 µs ticks from the previous received packet (the first from the
//! reference time), rounding kept so errors never add up; the feedback
//! packet count goes up by one per packet. A delta that does not fit in 16
//! signed bits, or a buffer that is full, ends the packet: the rest goes in
//! the next one, written by the next [`poll_feedback`](TransportFeedbackGenerator::poll_feedback).
//!
//! A packet arriving after its number was reported as lost moves the
//! window back, so it (and those after it) are reported again, as libwebrtc
//! does; the sender ignores statuses it already knows. The history is
//! bounded ([`FeedbackGeneratorConfig::max_history`]): older packets are
//! forgotten first, and a jump further than the bound starts afresh.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use media_channels::congestion::{FeedbackGeneratorConfig, TransportFeedbackGenerator};
//! use media_channels::rtcp::RtcpPacket;
//!
//! let t0 = Instant::now();
//! let mut generator = TransportFeedbackGenerator::new(FeedbackGeneratorConfig::default());
//! generator.on_packet_received(t0, 10);
//! generator.on_packet_received(t0 + Duration::from_millis(5), 12); // 11 lost
//! let due = generator.poll_timeout().unwrap();
//! generator.handle_timeout(due);
//! let mut buf = [0u8; 1200];
//! let n = generator.poll_feedback(&mut buf)?.unwrap();
//! let RtcpPacket::TransportCc(fb) = RtcpPacket::parse(&buf[..n])? else { unreachable!() };
//! assert_eq!(fb.base_sequence(), 10);
//! let deltas: Vec<_> = fb.packets().map(|p| p.delta).collect();
//! assert_eq!(deltas, [Some(0), None, Some(20)]); // 20 × 250 µs = 5 ms
//! assert_eq!(generator.poll_feedback(&mut buf)?, None);
//! # Ok::<(), media_channels::Error>(())
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::rtcp::{RtcpWrite, TransportCcBuilder, TwccRecord};
use crate::rtp::sequence::SequenceUnwrapper;

/// Microseconds in one receive-delta tick.
const TICK_US: i64 = 250;
/// Ticks in one reference-time unit (64 ms).
const TICKS_PER_REFERENCE: i64 = 256;
/// Bytes of a TWCC packet before its chunks: common header, SSRCs, base,
/// count, reference time and feedback count.
const FIXED_BYTES: usize = 20;

/// Settings of a [`TransportFeedbackGenerator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackGeneratorConfig {
    /// Our SSRC, written as the feedback's sender SSRC.
    pub sender_ssrc: u32,
    /// The media SSRC field (libwebrtc writes the first media SSRC it saw;
    /// transport-wide feedback covers every stream, so 0 does too).
    pub media_ssrc: u32,
    /// Time between feedback packets (libwebrtc: 100 ms by default, adapted
    /// between 50 and 250 ms to the bitrate).
    pub interval: Duration,
    /// Write feedback at once, without waiting for the interval, when this
    /// many statuses are pending.
    pub early_feedback_packets: usize,
    /// Sequence numbers remembered at most (libwebrtc: 2^15).
    pub max_history: usize,
}

impl Default for FeedbackGeneratorConfig {
    fn default() -> FeedbackGeneratorConfig {
        FeedbackGeneratorConfig {
            sender_ssrc: 0,
            media_ssrc: 0,
            interval: Duration::from_millis(100),
            early_feedback_packets: 250,
            max_history: 1 << 15,
        }
    }
}

/// Packets older than this (and before the window) are forgotten
/// (libwebrtc's `kBackWindow`).
const BACK_WINDOW: Duration = Duration::from_millis(500);

/// The receive side's feedback writer; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct TransportFeedbackGenerator {
    config: FeedbackGeneratorConfig,
    unwrapper: SequenceUnwrapper,
    /// Arrival times, µs from `origin`, of `begin_seq`, `begin_seq + 1`, …;
    /// `None`: not received. The last entry is always a received packet.
    arrivals: VecDeque<Option<i64>>,
    begin_seq: u64,
    /// The first sequence number not reported yet.
    window_start: Option<u64>,
    origin: Option<Instant>,
    fb_count: u8,
    next_feedback: Option<Instant>,
    due: bool,
    records: Vec<TwccRecord>,
    feedback_sent: u64,
}

impl TransportFeedbackGenerator {
    /// A generator that has received nothing.
    pub fn new(config: FeedbackGeneratorConfig) -> TransportFeedbackGenerator {
        TransportFeedbackGenerator {
            config,
            unwrapper: SequenceUnwrapper::new(),
            arrivals: VecDeque::new(),
            begin_seq: 0,
            window_start: None,
            origin: None,
            fb_count: 0,
            next_feedback: None,
            due: false,
            records: Vec::new(),
            feedback_sent: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &FeedbackGeneratorConfig {
        &self.config
    }

    /// Sets the sender and media SSRC fields of the feedback to come.
    pub fn set_ssrcs(&mut self, sender_ssrc: u32, media_ssrc: u32) {
        self.config.sender_ssrc = sender_ssrc;
        self.config.media_ssrc = media_ssrc;
    }

    /// Statuses waiting to be reported (received or not, up to the highest
    /// received).
    pub fn pending(&self) -> usize {
        match self.window_start {
            Some(start) => (self.end_seq().saturating_sub(start)) as usize,
            None => 0,
        }
    }

    /// Feedback packets written so far.
    pub fn feedback_sent(&self) -> u64 {
        self.feedback_sent
    }

    fn end_seq(&self) -> u64 {
        self.begin_seq + self.arrivals.len() as u64
    }

    /// Records that the packet with transport-wide sequence number `seq`
    /// arrived at `now`. Duplicates are ignored. When enough statuses are
    /// pending, feedback is due at once: call
    /// [`poll_feedback`](Self::poll_feedback) after this.
    pub fn on_packet_received(&mut self, now: Instant, seq: u16) {
        let origin = *self.origin.get_or_insert(now);
        let arrival = super::signed_micros(now, origin).max(0);
        let Some(seq) = self.unwrapper.unwrap(seq) else {
            return;
        };
        if self.arrivals.is_empty() {
            self.begin_seq = seq;
        }
        if seq < self.begin_seq {
            return; // Older than the history.
        }
        let max = self.config.max_history.max(1) as u64;
        if seq >= self.begin_seq + max {
            let new_begin = seq + 1 - max;
            if new_begin >= self.end_seq() {
                // Everything would go: start afresh at this packet.
                self.arrivals.clear();
                self.begin_seq = seq;
                self.window_start = None;
            } else {
                while self.begin_seq < new_begin {
                    self.arrivals.pop_front();
                    self.begin_seq += 1;
                }
            }
        }
        let index = (seq - self.begin_seq) as usize;
        if index < self.arrivals.len() {
            if self.arrivals[index].is_some() {
                return; // Duplicate.
            }
            self.arrivals[index] = Some(arrival);
        } else {
            self.arrivals.resize(index, None);
            self.arrivals.push_back(Some(arrival));
        }
        self.window_start = Some(match self.window_start {
            Some(start) => start.max(self.begin_seq).min(seq),
            None => seq,
        });
        self.forget_old(arrival);
        if self.next_feedback.is_none() {
            self.next_feedback = Some(now + self.config.interval);
        }
        if self.pending() >= self.config.early_feedback_packets.max(1) {
            self.due = true;
        }
    }

    /// Drops reported packets, lost or older than [`BACK_WINDOW`], from the front.
    fn forget_old(&mut self, now_us: i64) {
        let Some(start) = self.window_start else {
            return;
        };
        let limit = now_us - BACK_WINDOW.as_micros() as i64;
        while self.begin_seq < start {
            match self.arrivals.front() {
                Some(None) => {}
                Some(Some(t)) if *t <= limit => {}
                _ => break,
            }
            self.arrivals.pop_front();
            self.begin_seq += 1;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next run: the next
    /// periodic feedback, while packets are pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_feedback
    }

    /// Runs the feedback timer: when it is due and packets are pending,
    /// [`poll_feedback`](Self::poll_feedback) writes feedback.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_feedback.is_some_and(|t| t <= now) {
            if self.pending() > 0 {
                self.due = true;
                self.next_feedback = Some(now + self.config.interval);
            } else {
                self.next_feedback = None;
            }
        }
    }

    /// Writes the next feedback packet into `buf` and returns its length, or
    /// `None` when none is due. Call it until it returns `None`: a feedback
    /// that does not fit in one packet (by the buffer's size, or a gap
    /// longer than a delta can say) continues in the next.
    /// [`Error::BufferTooSmall`] when `buf` cannot hold even one status.
    pub fn poll_feedback(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        let Some(start) = self.window_start.filter(|_| self.due) else {
            return Ok(None);
        };
        if start >= self.end_seq() {
            self.due = false;
            return Ok(None);
        }
        let first = (start - self.begin_seq) as usize;
        let Some(first_arrival) = self.arrivals.iter().skip(first).flatten().next().copied() else {
            self.due = false;
            return Ok(None);
        };
        let reference = first_arrival / (TICK_US * TICKS_PER_REFERENCE);
        let mut last_ticks = reference * TICKS_PER_REFERENCE;
        self.records.clear();
        if self.arrivals[first].is_none() {
            self.records.push(TwccRecord::lost(start as u16));
        }
        let mut delta_bytes = 0;
        let mut next = start;
        for (i, arrival) in self.arrivals.iter().enumerate().skip(first) {
            let seq = self.begin_seq + i as u64;
            let span = (seq - start + 1) as usize;
            if span >= usize::from(u16::MAX) {
                break;
            }
            let Some(arrival) = arrival else {
                continue;
            };
            let ticks = arrival / TICK_US;
            let Ok(delta) = i16::try_from(ticks - last_ticks) else {
                break;
            };
            let bytes = if (0..=255).contains(&delta) { 1 } else { 2 };
            // Chunks: each but the last covers at least 7 statuses.
            let needed = (FIXED_BYTES + 2 * span.div_ceil(7) + delta_bytes + bytes).div_ceil(4) * 4;
            if needed > buf.len() {
                if next == start {
                    return Err(Error::BufferTooSmall {
                        needed,
                        available: buf.len(),
                    });
                }
                break;
            }
            delta_bytes += bytes;
            last_ticks = ticks;
            self.records.push(TwccRecord::received(seq as u16, delta));
            next = seq + 1;
        }
        let builder = TransportCcBuilder {
            sender_ssrc: self.config.sender_ssrc,
            media_ssrc: self.config.media_ssrc,
            reference_time: (reference & 0x00FF_FFFF) as u32,
            fb_pkt_count: self.fb_count,
            packets: &self.records,
        };
        let n = builder.write(buf)?;
        self.fb_count = self.fb_count.wrapping_add(1);
        self.feedback_sent += 1;
        self.window_start = Some(next);
        if next >= self.end_seq() {
            self.due = false;
        }
        Ok(Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{RtcpPacket, TransportCc};

    fn parse(buf: &[u8]) -> TransportCc<'_> {
        match RtcpPacket::parse(buf).unwrap() {
            RtcpPacket::TransportCc(fb) => fb,
            other => panic!("{other:?}"),
        }
    }

    fn flush(g: &mut TransportFeedbackGenerator, now: Instant) -> Vec<Vec<u8>> {
        g.handle_timeout(now);
        let mut out = Vec::new();
        let mut buf = [0u8; 1500];
        while let Some(n) = g.poll_feedback(&mut buf).unwrap() {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn periodic_feedback_with_losses_and_count() {
        let t0 = Instant::now();
        let mut g = TransportFeedbackGenerator::new(FeedbackGeneratorConfig {
            sender_ssrc: 7,
            media_ssrc: 9,
            ..Default::default()
        });
        assert_eq!(g.poll_timeout(), None);
        for (i, seq) in [100u16, 101, 103].into_iter().enumerate() {
            g.on_packet_received(t0 + Duration::from_millis(10 * i as u64), seq);
        }
        assert_eq!(g.pending(), 4);
        // Not due before the interval.
        let mut buf = [0u8; 100];
        assert_eq!(g.poll_feedback(&mut buf).unwrap(), None);
        let due = g.poll_timeout().unwrap();
        assert_eq!(due, t0 + Duration::from_millis(100));
        let fbs = flush(&mut g, due);
        assert_eq!(fbs.len(), 1);
        let fb = parse(&fbs[0]);
        assert_eq!((fb.sender_ssrc(), fb.media_ssrc()), (7, 9));
        assert_eq!(fb.base_sequence(), 100);
        assert_eq!(fb.fb_pkt_count(), 0);
        let got: Vec<_> = fb.packets().collect();
        assert_eq!(
            got,
            [
                TwccRecord::received(100, 0),
                TwccRecord::received(101, 40),
                TwccRecord::lost(102),
                TwccRecord::received(103, 40),
            ]
        );
        // Next feedback starts after 103; 104 is lost, so base 104 is lost.
        g.on_packet_received(t0 + Duration::from_millis(130), 105);
        let fbs = flush(&mut g, t0 + Duration::from_millis(200));
        let fb = parse(&fbs[0]);
        assert_eq!(fb.base_sequence(), 104);
        assert_eq!(fb.fb_pkt_count(), 1);
        assert_eq!(fb.reference_time(), 2); // 130 ms / 64 ms
        let got: Vec<_> = fb.packets().collect();
        // 130 ms − 128 ms = 2 ms = 8 ticks.
        assert_eq!(got, [TwccRecord::lost(104), TwccRecord::received(105, 8)]);
        // Nothing pending: the timer stops.
        assert!(flush(&mut g, t0 + Duration::from_millis(300)).is_empty());
        assert_eq!(g.poll_timeout(), None);
    }

    #[test]
    fn late_packet_is_reported_again_and_duplicates_ignored() {
        let t0 = Instant::now();
        let mut g = TransportFeedbackGenerator::new(FeedbackGeneratorConfig::default());
        g.on_packet_received(t0, 1);
        g.on_packet_received(t0, 3);
        g.on_packet_received(t0, 3);
        let fbs = flush(&mut g, t0 + Duration::from_millis(100));
        assert_eq!(parse(&fbs[0]).packets().len(), 3);
        g.on_packet_received(t0 + Duration::from_millis(110), 2);
        let fbs = flush(&mut g, t0 + Duration::from_millis(200));
        let got: Vec<_> = parse(&fbs[0]).packets().collect();
        assert_eq!(got[0].seq, 2);
        assert!(got[0].delta.is_some());
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn early_feedback_and_wrap() {
        let t0 = Instant::now();
        let mut g = TransportFeedbackGenerator::new(FeedbackGeneratorConfig {
            early_feedback_packets: 10,
            ..Default::default()
        });
        let mut buf = [0u8; 200];
        for i in 0..10u16 {
            g.on_packet_received(t0, 65530u16.wrapping_add(i));
        }
        let n = g.poll_feedback(&mut buf).unwrap().unwrap();
        let fb = parse(&buf[..n]);
        assert_eq!(fb.base_sequence(), 65530);
        assert_eq!(fb.packets().len(), 10);
        assert!(fb.packets().all(|p| p.delta.is_some()));
        assert_eq!(g.poll_feedback(&mut buf).unwrap(), None);
    }

    #[test]
    fn splits_on_buffer_size_and_large_gaps() {
        let t0 = Instant::now();
        let mut g = TransportFeedbackGenerator::new(FeedbackGeneratorConfig::default());
        for i in 0..200u16 {
            g.on_packet_received(t0 + Duration::from_micros(300 * u64::from(i)), i);
        }
        // 10 s later: the delta overflows 16 bits.
        g.on_packet_received(t0 + Duration::from_secs(10), 200);
        g.handle_timeout(t0 + Duration::from_secs(10));
        let mut buf = [0u8; 100];
        let mut seen = Vec::new();
        let mut packets = 0;
        while let Some(n) = g.poll_feedback(&mut buf).unwrap() {
            assert!(n <= 100);
            seen.extend(parse(&buf[..n]).packets());
            packets += 1;
        }
        assert!(packets > 2);
        let seqs: Vec<u16> = seen.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (0..=200).collect::<Vec<_>>());
        assert!(seen.iter().all(|r| r.delta.is_some()));
        assert!(matches!(g.poll_feedback(&mut [0u8; 100]), Ok(None)));
        g.on_packet_received(t0 + Duration::from_secs(11), 201);
        g.handle_timeout(t0 + Duration::from_secs(11));
        assert!(matches!(
            g.poll_feedback(&mut [0u8; 8]),
            Err(Error::BufferTooSmall { .. })
        ));
    }

    #[test]
    fn history_is_bounded() {
        let t0 = Instant::now();
        let mut g = TransportFeedbackGenerator::new(FeedbackGeneratorConfig {
            max_history: 64,
            early_feedback_packets: usize::MAX,
            ..Default::default()
        });
        for i in 0..1000u16 {
            g.on_packet_received(t0, i * 2);
            assert!(g.arrivals.len() <= 64);
        }
        // A jump beyond the bound starts afresh rather than reporting a long run.
        g.on_packet_received(t0, 30_000);
        assert_eq!(g.pending(), 1);
    }
}
