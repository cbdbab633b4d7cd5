//! The send side's packet history (libwebrtc's TransportFeedbackAdapter):
//! what was sent when, matched against transport-wide CC feedback.
//!
//! Each sent packet is recorded by its transport-wide sequence number
//! (unwrapped to 64 bits), size and send time. A feedback packet's statuses
//! are matched to that history: a packet's first status (received or lost)
//! yields a [`PacketResult`]; a packet reported lost and later received
//! yields another, marked [`recovered`](PacketResult::recovered); statuses
//! already known, and numbers not in the history, are skipped.
//!
//! Arrival times come on the peer's clock: the feedback's 24-bit reference
//! time (64 ms units) is unwrapped across feedback packets, and the receive
//! deltas (250 µs) added to it; the result is microseconds from an
//! arbitrary origin.
//!
//! The history is bounded by count and age; what falls out stops counting
//! as in flight.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rtcp::TransportCc;
use crate::rtp::sequence::SequenceUnwrapper;

/// Microseconds in one reference-time unit.
const REFERENCE_US: i64 = 64_000;
/// Microseconds in one receive-delta tick.
const TICK_US: i64 = 250;
/// Packets remembered at most.
pub const MAX_HISTORY: usize = 1 << 15;
/// Packets older than this are forgotten (libwebrtc's `kSendTimeHistoryWindow`).
pub const HISTORY_WINDOW: Duration = Duration::from_secs(60);

/// What the feedback said about one sent packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketResult {
    /// The transport-wide sequence number, unwrapped.
    pub sequence_number: u64,
    /// The size given when it was sent, bytes.
    pub size: usize,
    /// When it was sent.
    pub send_time: Instant,
    /// When it arrived, in microseconds on the peer's clock (arbitrary
    /// origin); `None`: reported lost.
    pub receive_time_us: Option<i64>,
    /// It had been reported lost before and now arrived.
    pub recovered: bool,
}

impl PacketResult {
    /// True when the packet arrived.
    pub fn is_received(&self) -> bool {
        self.receive_time_us.is_some()
    }
}

/// Counts of one feedback packet's new statuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedbackSummary {
    /// Packets reported for the first time, received or lost.
    pub newly_reported: usize,
    /// Of those, the ones reported lost.
    pub lost: usize,
    /// Packets reported lost before and received now.
    pub recovered: usize,
    /// Statuses about numbers not in the history (never sent, or forgotten).
    pub unknown: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InFlight,
    Lost,
    Received,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    size: usize,
    send_time: Instant,
    state: State,
}

/// The sent-packet history; see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct TransportFeedbackAdapter {
    unwrapper: SequenceUnwrapper,
    history: VecDeque<Option<Sent>>,
    first_seq: u64,
    in_flight: usize,
    /// The last feedback's reference time, unwrapped (64 ms units).
    last_reference: Option<i64>,
    last_feedback: Option<Instant>,
}

impl TransportFeedbackAdapter {
    /// An empty history.
    pub fn new() -> TransportFeedbackAdapter {
        TransportFeedbackAdapter::default()
    }

    /// Bytes sent and not reported yet (received or lost).
    pub fn data_in_flight(&self) -> usize {
        self.in_flight
    }

    /// Packets in the history.
    pub fn history_len(&self) -> usize {
        self.history.iter().flatten().count()
    }

    /// When the last feedback was processed.
    pub fn last_feedback(&self) -> Option<Instant> {
        self.last_feedback
    }

    /// Records a packet sent at `now` with transport-wide sequence number
    /// `seq` and `size` bytes on the wire.
    pub fn on_packet_sent(&mut self, now: Instant, seq: u16, size: usize) {
        let Some(seq) = self.unwrapper.unwrap(seq) else {
            return;
        };
        if self.history.is_empty() {
            self.first_seq = seq;
        }
        if seq < self.first_seq {
            return;
        }
        if seq - self.first_seq >= MAX_HISTORY as u64 {
            let new_first = seq + 1 - MAX_HISTORY as u64;
            while self.first_seq < new_first && !self.history.is_empty() {
                self.pop_front();
            }
            if self.history.is_empty() {
                self.first_seq = seq;
            }
        }
        let index = (seq - self.first_seq) as usize;
        if index >= self.history.len() {
            self.history.resize(index + 1, None);
        }
        let sent = Sent {
            size,
            send_time: now,
            state: State::InFlight,
        };
        if let Some(old) = self.history[index].replace(sent) {
            if old.state == State::InFlight {
                self.in_flight -= old.size;
            }
        }
        self.in_flight += size;
        // Forget by age.
        while let Some(front) = self.history.front() {
            match front {
                Some(p) if now.saturating_duration_since(p.send_time) <= HISTORY_WINDOW => break,
                _ => self.pop_front(),
            }
        }
    }

    fn pop_front(&mut self) {
        if let Some(Some(p)) = self.history.pop_front() {
            if p.state == State::InFlight {
                self.in_flight -= p.size;
            }
        }
        self.first_seq += 1;
    }

    /// The unwrapped sequence number nearest the highest sent.
    fn unwrap_near(&self, seq: u16) -> Option<u64> {
        let highest = self.unwrapper.highest()?;
        let delta = i64::from(seq.wrapping_sub(highest as u16) as i16);
        u64::try_from(highest + delta).ok()
    }

    /// Matches a feedback packet received at `now` against the history; the
    /// new results are appended to `out` in sequence-number order.
    pub fn process_feedback(
        &mut self,
        now: Instant,
        feedback: &TransportCc<'_>,
        out: &mut Vec<PacketResult>,
    ) -> FeedbackSummary {
        self.last_feedback = Some(now);
        let mut summary = FeedbackSummary::default();
        let reference = i64::from(feedback.reference_time());
        let reference = match self.last_reference {
            None => reference,
            Some(last) => {
                // Nearest to the last, modulo 2^24.
                let diff = (reference - last).rem_euclid(1 << 24);
                if diff >= 1 << 23 {
                    last + diff - (1 << 24)
                } else {
                    last + diff
                }
            }
        };
        self.last_reference = Some(reference);
        let Some(base) = self.unwrap_near(feedback.base_sequence()) else {
            summary.unknown = feedback.packets().len();
            return summary;
        };
        let mut time_us = reference * REFERENCE_US;
        for (i, status) in feedback.packets().enumerate() {
            let receive_time_us = status.delta.map(|d| {
                time_us += i64::from(d) * TICK_US;
                time_us
            });
            let seq = base + i as u64;
            let entry = seq
                .checked_sub(self.first_seq)
                .and_then(|index| self.history.get_mut(index as usize))
                .and_then(Option::as_mut);
            let Some(sent) = entry else {
                summary.unknown += 1;
                continue;
            };
            let recovered = match (sent.state, receive_time_us) {
                (State::InFlight, Some(_)) => {
                    sent.state = State::Received;
                    self.in_flight -= sent.size;
                    summary.newly_reported += 1;
                    false
                }
                (State::InFlight, None) => {
                    sent.state = State::Lost;
                    self.in_flight -= sent.size;
                    summary.newly_reported += 1;
                    summary.lost += 1;
                    false
                }
                (State::Lost, Some(_)) => {
                    sent.state = State::Received;
                    summary.recovered += 1;
                    true
                }
                _ => continue,
            };
            out.push(PacketResult {
                sequence_number: seq,
                size: sent.size,
                send_time: sent.send_time,
                receive_time_us,
                recovered,
            });
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{RtcpPacket, RtcpWrite, TransportCcBuilder, TwccRecord};

    fn feedback(reference_time: u32, records: &[TwccRecord]) -> Vec<u8> {
        let b = TransportCcBuilder {
            reference_time,
            packets: records,
            ..Default::default()
        };
        let mut buf = vec![0u8; b.encoded_len()];
        b.write(&mut buf).unwrap();
        buf
    }

    fn process(
        a: &mut TransportFeedbackAdapter,
        now: Instant,
        bytes: &[u8],
    ) -> (FeedbackSummary, Vec<PacketResult>) {
        let RtcpPacket::TransportCc(fb) = RtcpPacket::parse(bytes).unwrap() else {
            panic!()
        };
        let mut out = Vec::new();
        let s = a.process_feedback(now, &fb, &mut out);
        (s, out)
    }

    #[test]
    fn matches_results_and_tracks_in_flight() {
        let t0 = Instant::now();
        let mut a = TransportFeedbackAdapter::new();
        for i in 0..4u16 {
            a.on_packet_sent(
                t0 + Duration::from_millis(u64::from(i)),
                65534u16.wrapping_add(i),
                100,
            );
        }
        assert_eq!(a.data_in_flight(), 400);
        let fb = feedback(
            10,
            &[
                TwccRecord::received(65534, 4),
                TwccRecord::lost(65535),
                TwccRecord::received(0, -2),
            ],
        );
        let (s, out) = process(&mut a, t0 + Duration::from_millis(50), &fb);
        assert_eq!(
            s,
            FeedbackSummary {
                newly_reported: 3,
                lost: 1,
                recovered: 0,
                unknown: 0
            }
        );
        assert_eq!(a.data_in_flight(), 100);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].sequence_number, 65534);
        assert_eq!(out[0].receive_time_us, Some(640_000 + 1000));
        assert_eq!(out[1].receive_time_us, None);
        assert_eq!(out[2].sequence_number, 65536);
        assert_eq!(out[2].send_time, t0 + Duration::from_millis(2));
        assert_eq!(out[2].receive_time_us, Some(640_000 + 500));
        // Reported again (the receiver's window moved back): only news counts.
        let fb = feedback(
            11,
            &[
                TwccRecord::received(65535, 4),
                TwccRecord::received(0, 1),
                TwccRecord::received(1, 1),
                TwccRecord::received(9, 1),
            ],
        );
        let (s, out) = process(&mut a, t0 + Duration::from_millis(60), &fb);
        assert_eq!(
            s,
            FeedbackSummary {
                newly_reported: 1,
                lost: 0,
                recovered: 1,
                unknown: 8
            }
        );
        assert!(out[0].recovered);
        assert_eq!(out[0].receive_time_us, Some(704_000 + 1000));
        assert_eq!(a.data_in_flight(), 0);
    }

    #[test]
    fn reference_time_unwraps() {
        let t0 = Instant::now();
        let mut a = TransportFeedbackAdapter::new();
        a.on_packet_sent(t0, 1, 10);
        a.on_packet_sent(t0, 2, 10);
        let (_, out) = process(
            &mut a,
            t0,
            &feedback(0xFF_FFFF, &[TwccRecord::received(1, 0)]),
        );
        let first = out[0].receive_time_us.unwrap();
        let (_, out) = process(&mut a, t0, &feedback(0, &[TwccRecord::received(2, 0)]));
        assert_eq!(out[0].receive_time_us.unwrap() - first, 64_000);
    }

    #[test]
    fn history_is_bounded() {
        let t0 = Instant::now();
        let mut a = TransportFeedbackAdapter::new();
        for i in 0..(MAX_HISTORY as u32 + 10) {
            a.on_packet_sent(t0, i as u16, 1);
        }
        assert_eq!(a.history_len(), MAX_HISTORY);
        assert_eq!(a.data_in_flight(), MAX_HISTORY);
        a.on_packet_sent(t0 + Duration::from_secs(61), (MAX_HISTORY + 10) as u16, 1);
        assert_eq!(a.history_len(), 1);
        assert_eq!(a.data_in_flight(), 1);
    }
}
