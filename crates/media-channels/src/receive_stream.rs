//! One RTP stream we receive (libwebrtc's ReceiveStatistics for one SSRC
//! plus its NackRequester): sequence tracking (RFC 3550 A.1), loss and
//! jitter for report blocks (A.3, A.8), the last sender report for RTT and
//! lip sync, counters for stats, and NACK generation (RFC 4585 §6.2.1).
//!
//! NACKs are requested as libwebrtc does: a gap is asked for as soon as a
//! later packet shows it, then again every round trip (at least
//! [`NackConfig::min_retry_interval`]) until the packet arrives, it has been
//! asked for [`NackConfig::max_retries`] times, or it falls out of the
//! bounded list ([`NackConfig::max_list`]). When the list overflows, or a
//! packet is given up on, the stream says a keyframe is needed
//! ([`ReceiveStream::take_keyframe_request`]): the decoder cannot continue
//! without one.
//!
//! Nothing here reads a clock; arrival times are passed in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::rtcp::ReportBlock;
use crate::rtp::sequence::{SequenceTracker, SequenceUnwrapper};
use crate::rtp::stats::{rtp_ticks, CompactNtp, JitterEstimator, LossCounter, NtpTime};
use crate::rtp::RtpPacket;

/// NACK behaviour of a [`ReceiveStream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NackConfig {
    /// Ask for lost packets at all (the codec negotiated `nack`).
    pub enabled: bool,
    /// Requests per lost packet before giving up (libwebrtc: 10).
    pub max_retries: u32,
    /// Missing packets tracked at once; beyond it the list is cleared and a
    /// keyframe asked for (libwebrtc: 1000).
    pub max_list: usize,
    /// The shortest wait between two requests for one packet, whatever the
    /// round-trip time (libwebrtc: 5 ms floor on its RTT estimate).
    pub min_retry_interval: Duration,
    /// The wait used before a round-trip time is known.
    pub default_rtt: Duration,
}

impl Default for NackConfig {
    fn default() -> Self {
        NackConfig {
            enabled: true,
            max_retries: 10,
            max_list: 1000,
            min_retry_interval: Duration::from_millis(5),
            default_rtt: Duration::from_millis(100),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Missing {
    /// When the gap was seen.
    seen: Instant,
    retries: u32,
    last_sent: Option<Instant>,
}

/// Counters getStats reports for an inbound RTP stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiveCounters {
    /// Packets received (retransmissions included, duplicates excluded).
    pub packets: u64,
    /// Payload bytes received.
    pub payload_bytes: u64,
    /// Header and padding bytes received.
    pub header_bytes: u64,
    /// Duplicate packets dropped.
    pub duplicates: u64,
    /// NACK entries sent (one per packet asked for, per request).
    pub nack_requests: u64,
    /// Packets that arrived after being asked for.
    pub recovered: u64,
    /// Keyframe requests raised.
    pub keyframe_requests: u64,
    /// Frames reassembled (getStats `framesReceived`), counted by the channel.
    pub frames: u64,
    /// Of which keyframes.
    pub keyframes: u64,
}

/// One SSRC we receive; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct ReceiveStream {
    ssrc: u32,
    clock_rate: u32,
    tracker: SequenceTracker,
    unwrapper: SequenceUnwrapper,
    jitter: JitterEstimator,
    loss: LossCounter,
    /// Where arrival times are measured from (the first packet).
    epoch: Option<Instant>,
    /// The last SR: its compact NTP time and when it arrived.
    last_sr: Option<(CompactNtp, Instant)>,
    /// The last SR's full times, for lip sync.
    last_sr_times: Option<(NtpTime, u32)>,
    nack: NackConfig,
    missing: BTreeMap<u64, Missing>,
    /// Highest extended sequence number seen.
    highest: Option<u64>,
    /// Recently received extended sequence numbers (duplicate detection).
    recent: [u64; RECENT],
    keyframe_needed: bool,
    counters: ReceiveCounters,
}

/// How many recent sequence numbers are remembered to spot duplicates.
const RECENT: usize = 64;

/// The fields of a received packet a [`ReceiveStream`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Its (original) sequence number.
    pub sequence_number: u16,
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// Payload bytes.
    pub payload_len: usize,
    /// Bytes in all.
    pub len: usize,
}

/// What [`ReceiveStream::on_packet`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// A new packet, with its extended sequence number.
    New(u64),
    /// A packet we asked for (NACK) and now have, with its extended sequence number.
    Recovered(u64),
    /// Seen before: drop it.
    Duplicate,
}

impl ReceiveStream {
    /// A stream for `ssrc` on a `clock_rate` Hz media clock.
    pub fn new(ssrc: u32, clock_rate: u32, nack: NackConfig) -> ReceiveStream {
        ReceiveStream {
            ssrc,
            clock_rate,
            // Every packet is authenticated (SRTP): no probation.
            tracker: SequenceTracker::new(1),
            unwrapper: SequenceUnwrapper::new(),
            jitter: JitterEstimator::new(),
            loss: LossCounter::new(),
            epoch: None,
            last_sr: None,
            last_sr_times: None,
            nack,
            missing: BTreeMap::new(),
            highest: None,
            recent: [u64::MAX; RECENT],
            keyframe_needed: false,
            counters: ReceiveCounters::default(),
        }
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Counters for stats.
    pub fn counters(&self) -> ReceiveCounters {
        self.counters
    }

    /// Counts one reassembled frame (the jitter buffer is the channel's).
    pub fn count_frame(&mut self, keyframe: bool) {
        self.counters.frames += 1;
        self.counters.keyframes += u64::from(keyframe);
    }

    /// Feeds a packet that arrived at `now`. `retransmission` marks a packet
    /// that came as RTX (its sequence number is the original one): it does
    /// not count for jitter.
    pub fn on_packet(
        &mut self,
        now: Instant,
        packet: &RtpPacket<'_>,
        retransmission: bool,
    ) -> Arrival {
        let info = PacketInfo {
            sequence_number: packet.sequence_number(),
            timestamp: packet.timestamp(),
            payload_len: packet.payload().len(),
            len: packet.len(),
        };
        self.on_packet_info(now, info, retransmission)
    }

    /// [`on_packet`](Self::on_packet) from the fields it reads (an RTX
    /// packet feeds its original sequence number and payload length).
    pub fn on_packet_info(
        &mut self,
        now: Instant,
        info: PacketInfo,
        retransmission: bool,
    ) -> Arrival {
        let seq = info.sequence_number;
        let Some(ext) = self.unwrapper.unwrap(seq) else {
            return Arrival::Duplicate;
        };
        if self.recent[(ext % RECENT as u64) as usize] == ext {
            self.counters.duplicates += 1;
            return Arrival::Duplicate;
        }
        self.recent[(ext % RECENT as u64) as usize] = ext;
        self.tracker.update(seq);
        self.counters.packets += 1;
        self.counters.payload_bytes += info.payload_len as u64;
        self.counters.header_bytes += info.len.saturating_sub(info.payload_len) as u64;
        let epoch = *self.epoch.get_or_insert(now);
        if !retransmission {
            let arrival = rtp_ticks(now.saturating_duration_since(epoch), self.clock_rate) as u32;
            self.jitter.update(arrival, info.timestamp);
        }
        let recovered = self.missing.remove(&ext).is_some();
        match self.highest {
            Some(h) if ext > h + 1 && self.nack.enabled => {
                for missing in h + 1..ext {
                    self.missing.insert(
                        missing,
                        Missing {
                            seen: now,
                            retries: 0,
                            last_sent: None,
                        },
                    );
                }
                if self.missing.len() > self.nack.max_list {
                    tracing::debug!(
                        ssrc = self.ssrc,
                        "NACK list overflow: asking for a keyframe"
                    );
                    self.missing.clear();
                    self.request_keyframe();
                }
            }
            _ => {}
        }
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        if recovered {
            self.counters.recovered += 1;
            Arrival::Recovered(ext)
        } else {
            Arrival::New(ext)
        }
    }

    /// Sequence numbers to ask for now (at most `max`), given the current
    /// round-trip time; each is counted as one more request. Packets asked
    /// for too often are given up on (and a keyframe requested).
    pub fn nack_list(
        &mut self,
        now: Instant,
        rtt: Option<Duration>,
        max: usize,
        out: &mut Vec<u16>,
    ) {
        out.clear();
        let interval = rtt
            .unwrap_or(self.nack.default_rtt)
            .max(self.nack.min_retry_interval);
        let mut given_up = false;
        let max_retries = self.nack.max_retries;
        self.missing.retain(|_, m| {
            if m.retries >= max_retries {
                given_up = true;
                return false;
            }
            true
        });
        for (&ext, m) in self.missing.iter_mut() {
            if out.len() >= max {
                break;
            }
            if m.last_sent.is_some_and(|t| now < t + interval) {
                continue;
            }
            m.last_sent = Some(now);
            m.retries += 1;
            out.push(ext as u16);
        }
        self.counters.nack_requests += out.len() as u64;
        if given_up {
            tracing::debug!(
                ssrc = self.ssrc,
                "lost packets given up on: asking for a keyframe"
            );
            self.request_keyframe();
        }
    }

    /// When [`nack_list`](Self::nack_list) next has something to send: a
    /// packet not asked for yet is due when its gap was seen, the others a
    /// round trip after their last request. The caller asks right away when
    /// this is not after its `now`.
    pub fn nack_timeout(&self, rtt: Option<Duration>) -> Option<Instant> {
        let interval = rtt
            .unwrap_or(self.nack.default_rtt)
            .max(self.nack.min_retry_interval);
        self.missing
            .values()
            .map(|m| m.last_sent.map_or(m.seen, |t| t + interval))
            .min()
    }

    /// Packets currently missing (asked for or about to be).
    pub fn missing_count(&self) -> usize {
        self.missing.len()
    }

    /// Marks that the decoder needs a keyframe (PLI/FIR to send).
    pub fn request_keyframe(&mut self) {
        if !self.keyframe_needed {
            self.counters.keyframe_requests += 1;
        }
        self.keyframe_needed = true;
    }

    /// Whether a keyframe must be asked for; clears the flag.
    pub fn take_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_needed)
    }

    /// Records a sender report from this source, received at `now`.
    pub fn on_sender_report(&mut self, now: Instant, ntp: NtpTime, rtp: u32) {
        self.last_sr = Some((ntp.compact(), now));
        self.last_sr_times = Some((ntp, rtp));
    }

    /// The last sender report's NTP and RTP times (for lip sync).
    pub fn last_sender_report(&self) -> Option<(NtpTime, u32)> {
        self.last_sr_times
    }

    /// A report block about this stream for an SR or RR sent at `now`
    /// (A.3 loss since the previous block, A.8 jitter, LSR/DLSR); `None`
    /// before the first packet.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        self.highest?;
        let loss = self.loss.report_for(&self.tracker);
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (
                lsr.0,
                CompactNtp::from_duration(now.saturating_duration_since(at)).0,
            ),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost: loss.fraction_lost,
            cumulative_lost: loss.cumulative_lost,
            extended_highest_seq: self.tracker.extended_highest_u32(),
            jitter: self.jitter.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }

    /// The jitter estimate in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter.jitter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpBuilder;

    fn packet(seq: u16, ts: u32) -> Vec<u8> {
        let mut buf = vec![0u8; 64];
        let n = RtpBuilder::new(96, seq, ts, 7)
            .write(&mut buf, &[0xab; 20])
            .unwrap();
        buf.truncate(n);
        buf
    }

    fn feed(s: &mut ReceiveStream, now: Instant, seq: u16, ts: u32) -> Arrival {
        let p = packet(seq, ts);
        s.on_packet(now, &RtpPacket::parse(&p).unwrap(), false)
    }

    #[test]
    fn gaps_are_asked_for_then_again_each_round_trip_until_they_arrive() {
        let t0 = Instant::now();
        let mut s = ReceiveStream::new(7, 90_000, NackConfig::default());
        let mut out = Vec::new();
        assert_eq!(feed(&mut s, t0, 65_533, 0), Arrival::New(65_533));
        // 65534, 65535, 0 and 1 lost across the wrap.
        assert_eq!(feed(&mut s, t0, 2, 3000), Arrival::New(65_538));
        assert_eq!(s.missing_count(), 4);
        assert_eq!(s.nack_timeout(None), Some(t0));
        let rtt = Some(Duration::from_millis(40));
        s.nack_list(t0, rtt, 100, &mut out);
        assert_eq!(out, vec![65_534, 65_535, 0, 1]);
        // Not again within the round trip.
        s.nack_list(t0 + Duration::from_millis(39), rtt, 100, &mut out);
        assert!(out.is_empty());
        assert_eq!(s.nack_timeout(rtt), Some(t0 + Duration::from_millis(40)));
        // 0 arrives (retransmitted): recovered, the rest asked again.
        let p = packet(0, 1000);
        let arrival = s.on_packet(
            t0 + Duration::from_millis(40),
            &RtpPacket::parse(&p).unwrap(),
            true,
        );
        assert_eq!(arrival, Arrival::Recovered(65_536));
        s.nack_list(t0 + Duration::from_millis(40), rtt, 100, &mut out);
        assert_eq!(out, vec![65_534, 65_535, 1]);
        assert_eq!(s.counters().recovered, 1);
        assert_eq!(s.counters().nack_requests, 7);
        // A duplicate is dropped and counted.
        assert_eq!(feed(&mut s, t0, 2, 3000), Arrival::Duplicate);
        assert_eq!(s.counters().duplicates, 1);
        assert!(!s.take_keyframe_request());
    }

    #[test]
    fn packets_asked_for_too_often_are_given_up_with_a_keyframe_request() {
        let t0 = Instant::now();
        let config = NackConfig {
            max_retries: 3,
            ..NackConfig::default()
        };
        let mut s = ReceiveStream::new(7, 90_000, config);
        let mut out = Vec::new();
        feed(&mut s, t0, 10, 0);
        feed(&mut s, t0, 12, 0);
        let rtt = Some(Duration::from_millis(10));
        for i in 0..3 {
            s.nack_list(t0 + Duration::from_millis(10 * i), rtt, 10, &mut out);
            assert_eq!(out, vec![11]);
        }
        s.nack_list(t0 + Duration::from_millis(30), rtt, 10, &mut out);
        assert!(out.is_empty());
        assert_eq!(s.missing_count(), 0);
        assert!(s.take_keyframe_request());
        assert!(!s.take_keyframe_request());
    }

    #[test]
    fn a_huge_gap_clears_the_list_and_asks_for_a_keyframe() {
        let t0 = Instant::now();
        let mut s = ReceiveStream::new(7, 90_000, NackConfig::default());
        feed(&mut s, t0, 0, 0);
        feed(&mut s, t0, 2000, 0);
        assert_eq!(s.missing_count(), 0);
        assert!(s.take_keyframe_request());
        // Without NACK negotiated, gaps are not tracked at all.
        let mut quiet = ReceiveStream::new(
            8,
            48_000,
            NackConfig {
                enabled: false,
                ..NackConfig::default()
            },
        );
        feed(&mut quiet, t0, 0, 0);
        feed(&mut quiet, t0, 5, 0);
        assert_eq!(quiet.missing_count(), 0);
    }

    #[test]
    fn report_blocks_carry_loss_jitter_and_lsr() {
        let t0 = Instant::now();
        let mut s = ReceiveStream::new(7, 8000, NackConfig::default());
        assert!(s.report_block(t0).is_none());
        // 10 packets, 20 ms apart (160 ticks), one lost, arrival jitter-free.
        for i in 0..10u16 {
            if i == 4 {
                continue;
            }
            feed(
                &mut s,
                t0 + Duration::from_millis(20 * u64::from(i)),
                i,
                160 * u32::from(i),
            );
        }
        let sr_ntp = NtpTime::from_unix(Duration::from_secs(5000));
        s.on_sender_report(t0, sr_ntp, 1234);
        let block = s.report_block(t0 + Duration::from_millis(500)).unwrap();
        assert_eq!(block.ssrc, 7);
        assert_eq!(block.cumulative_lost, 1);
        assert_eq!(block.fraction_lost, (256 / 10) as u8);
        assert_eq!(block.extended_highest_seq, 9);
        assert_eq!(block.jitter, 0);
        assert_eq!(block.last_sr, sr_ntp.compact().0);
        assert_eq!(block.delay_since_last_sr, 0x8000, "500 ms in 1/65536 s");
        assert_eq!(s.last_sender_report(), Some((sr_ntp, 1234)));
        // The next block covers the interval since: nothing lost.
        feed(&mut s, t0 + Duration::from_millis(200), 10, 1600);
        assert_eq!(s.report_block(t0).unwrap().fraction_lost, 0);
    }
}
