//! One RTP stream we send (libwebrtc's RTPSender with its RtpPacketHistory
//! and the sender-info half of RTCPSender): sequence numbers, a bounded
//! history of sent packets for retransmission, RTX wrapping (RFC 4588), and
//! the counts and RTP/NTP mapping a sender report states.
//!
//! Retransmission follows libwebrtc: a NACKed packet still in the history is
//! sent again at most once per round trip; with RTX negotiated it goes on
//! the RTX SSRC with the RTX payload type, its own RTX sequence number and
//! the original sequence number (OSN) before the payload; without RTX it is
//! resent as it was. The history holds the packets as [`Bytes`] (the buffer
//! they were sent from, shared, not copied) and is bounded by count.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::rtp::stats::{rtp_ticks, NtpTime};
use crate::rtp::RtpPacket;
use crate::Error;

/// Sent packets kept for retransmission by default (libwebrtc keeps up to
/// 600 for video).
pub const DEFAULT_HISTORY: usize = 600;

/// Counters getStats reports for an outbound RTP stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendCounters {
    /// Media packets sent (retransmissions excluded).
    pub packets: u64,
    /// Their payload bytes.
    pub payload_bytes: u64,
    /// Header and padding bytes of media packets.
    pub header_bytes: u64,
    /// Packets sent again after a NACK.
    pub retransmitted_packets: u64,
    /// Their bytes, as sent (RTX header and OSN included).
    pub retransmitted_bytes: u64,
    /// NACK entries received for this stream.
    pub nacks_received: u64,
    /// PLI received.
    pub plis_received: u64,
    /// FIR received.
    pub firs_received: u64,
    /// Frames sent (getStats `framesSent`), counted by the channel.
    pub frames: u64,
}

#[derive(Debug, Clone)]
struct Sent {
    seq: u16,
    packet: Bytes,
    last_resent: Option<Instant>,
}

/// One SSRC we send; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct SendStream {
    ssrc: u32,
    rtx: Option<(u32, u8)>,
    clock_rate: u32,
    next_seq: u16,
    next_rtx_seq: u16,
    history: VecDeque<Sent>,
    history_len: usize,
    /// The last media packet's RTP timestamp and when it was sent.
    last: Option<(u32, Instant)>,
    counters: SendCounters,
}

impl SendStream {
    /// A stream on `ssrc` (with RTX on `(rtx_ssrc, rtx_payload_type)` when
    /// negotiated), a `clock_rate` Hz media clock, keeping `history` sent
    /// packets. Sequence numbers start at `first_seq` (random, RFC 3550 §5.1).
    pub fn new(
        ssrc: u32,
        rtx: Option<(u32, u8)>,
        clock_rate: u32,
        first_seq: u16,
        history: usize,
    ) -> SendStream {
        SendStream {
            ssrc,
            rtx,
            clock_rate,
            next_seq: first_seq,
            next_rtx_seq: first_seq.wrapping_add(0x8000),
            history: VecDeque::with_capacity(history.min(DEFAULT_HISTORY)),
            history_len: history,
            last: None,
            counters: SendCounters::default(),
        }
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The RTX SSRC and payload type, if negotiated.
    pub fn rtx(&self) -> Option<(u32, u8)> {
        self.rtx
    }

    /// Counters for stats.
    pub fn counters(&self) -> SendCounters {
        self.counters
    }

    /// Mutable counters (feedback received is counted by the channel).
    pub fn counters_mut(&mut self) -> &mut SendCounters {
        &mut self.counters
    }

    /// The sequence number the next packet gets; advances it.
    pub fn next_sequence_number(&mut self) -> u16 {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        seq
    }

    /// Records a media packet as sent at `now` (keeps it for retransmission).
    /// `packet` is the whole plain RTP packet.
    pub fn on_sent(&mut self, now: Instant, packet: Bytes) -> Result<(), Error> {
        let parsed = RtpPacket::parse(&packet)?;
        self.counters.packets += 1;
        self.counters.payload_bytes += parsed.payload().len() as u64;
        self.counters.header_bytes += (parsed.len() - parsed.payload().len()) as u64;
        self.last = Some((parsed.timestamp(), now));
        let seq = parsed.sequence_number();
        if self.history_len == 0 {
            return Ok(());
        }
        if self.history.len() >= self.history_len {
            self.history.pop_front();
        }
        self.history.push_back(Sent {
            seq,
            packet,
            last_resent: None,
        });
        Ok(())
    }

    /// The packet `seq` from the history, if still there (found by its
    /// distance from the oldest one: packets are kept in sending order).
    fn find(&mut self, seq: u16) -> Option<&mut Sent> {
        let first = self.history.front()?.seq;
        let i = usize::from(seq.wrapping_sub(first));
        self.history.get_mut(i).filter(|s| s.seq == seq)
    }

    /// Answers a NACK for `seq` at `now`: writes the retransmission into
    /// `out` and returns its length, or `None` when the packet is no longer
    /// kept or was resent less than `rtt` ago.
    pub fn retransmit(
        &mut self,
        now: Instant,
        seq: u16,
        rtt: Duration,
        out: &mut [u8],
    ) -> Result<Option<usize>, Error> {
        self.counters.nacks_received += 1;
        let rtx = self.rtx;
        let rtx_seq = self.next_rtx_seq;
        let Some(sent) = self.find(seq) else {
            return Ok(None);
        };
        if sent.last_resent.is_some_and(|t| now < t + rtt) {
            return Ok(None);
        }
        let original = RtpPacket::parse(&sent.packet)?;
        let n = match rtx {
            None => {
                let p = &sent.packet;
                if out.len() < p.len() {
                    return Err(Error::BufferTooSmall {
                        needed: p.len(),
                        available: out.len(),
                    });
                }
                out[..p.len()].copy_from_slice(p);
                p.len()
            }
            Some((rtx_ssrc, rtx_pt)) => {
                // RFC 4588 §4: the original header (CSRCs and extensions kept),
                // RTX payload type, sequence number and SSRC, then the OSN and
                // the original payload (its padding dropped).
                let header = &sent.packet[..original.header_len()];
                let payload = original.payload();
                let n = header.len() + 2 + payload.len();
                if out.len() < n {
                    return Err(Error::BufferTooSmall {
                        needed: n,
                        available: out.len(),
                    });
                }
                out[..header.len()].copy_from_slice(header);
                out[0] &= !0x20; // no padding
                out[1] = (out[1] & 0x80) | (rtx_pt & 0x7f);
                out[2..4].copy_from_slice(&rtx_seq.to_be_bytes());
                out[8..12].copy_from_slice(&rtx_ssrc.to_be_bytes());
                out[header.len()..header.len() + 2].copy_from_slice(&seq.to_be_bytes());
                out[header.len() + 2..n].copy_from_slice(payload);
                n
            }
        };
        sent.last_resent = Some(now);
        if rtx.is_some() {
            self.next_rtx_seq = rtx_seq.wrapping_add(1);
        }
        self.counters.retransmitted_packets += 1;
        self.counters.retransmitted_bytes += n as u64;
        Ok(Some(n))
    }

    /// The sender info of an SR sent at `now`, wall-clock `ntp`: the RTP
    /// timestamp is the last packet's advanced by the time since it was sent
    /// (libwebrtc's estimate); `None` before anything was sent.
    pub fn sender_info(&self, now: Instant, ntp: NtpTime) -> Option<SenderInfo> {
        let (rtp, at) = self.last?;
        let elapsed = rtp_ticks(now.saturating_duration_since(at), self.clock_rate);
        Some(SenderInfo {
            ntp,
            rtp: rtp.wrapping_add(elapsed as u32),
            packets: self.counters.packets as u32,
            octets: self.counters.payload_bytes as u32,
        })
    }
}

/// The sender-info fields of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// Wall-clock time of the report.
    pub ntp: NtpTime,
    /// The media time at `ntp`.
    pub rtp: u32,
    /// Packets sent (mod 2^32).
    pub packets: u32,
    /// Payload octets sent (mod 2^32).
    pub octets: u32,
}

/// Reads an RTX packet (RFC 4588): the original sequence number and the
/// original payload.
pub fn unwrap_rtx<'a>(packet: &RtpPacket<'a>) -> Option<(u16, &'a [u8])> {
    let payload = packet.payload();
    if payload.len() < 2 {
        return None;
    }
    Some((u16::from_be_bytes([payload[0], payload[1]]), &payload[2..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{ExtensionElement, RtpBuilder};

    fn packet(seq: u16, ts: u32) -> Bytes {
        let mid = [ExtensionElement::new(1, b"v")];
        let builder = RtpBuilder {
            extensions: &mid,
            marker: true,
            padding: 4,
            ..RtpBuilder::new(96, seq, ts, 1000)
        };
        let mut buf = vec![0u8; 100];
        let n = builder.write(&mut buf, &[seq as u8; 30]).unwrap();
        buf.truncate(n);
        Bytes::from(buf)
    }

    #[test]
    fn nacked_packets_come_back_as_rtx_once_per_round_trip() {
        let t0 = Instant::now();
        let mut s = SendStream::new(1000, Some((2000, 97)), 90_000, 65_530, 8);
        for _ in 0..10 {
            let seq = s.next_sequence_number();
            s.on_sent(t0, packet(seq, 3000)).unwrap();
        }
        assert_eq!(s.counters().packets, 10);
        let mut out = [0u8; 200];
        let rtt = Duration::from_millis(50);
        // 65530 and 65531 fell out of the 8-packet history.
        assert_eq!(s.retransmit(t0, 65_531, rtt, &mut out).unwrap(), None);
        let n = s.retransmit(t0, 1, rtt, &mut out).unwrap().unwrap();
        let rtx = RtpPacket::parse(&out[..n]).unwrap();
        assert_eq!((rtx.ssrc(), rtx.payload_type()), (2000, 97));
        assert_eq!(rtx.sequence_number(), 65_530u16.wrapping_add(0x8000));
        assert!(rtx.marker());
        assert_eq!(rtx.extension(1), Some(&b"v"[..]));
        assert_eq!(rtx.padding_len(), 0);
        let (osn, payload) = unwrap_rtx(&rtx).unwrap();
        assert_eq!(osn, 1);
        assert_eq!(payload, &[1u8; 30][..]);
        // Not again within the round trip; again after it, with the next RTX seq.
        assert_eq!(s.retransmit(t0 + rtt / 2, 1, rtt, &mut out).unwrap(), None);
        let n = s.retransmit(t0 + rtt, 1, rtt, &mut out).unwrap().unwrap();
        let again = RtpPacket::parse(&out[..n]).unwrap();
        assert_eq!(again.sequence_number(), 65_530u16.wrapping_add(0x8001));
        assert_eq!(s.counters().retransmitted_packets, 2);
        assert_eq!(s.counters().nacks_received, 4);
    }

    #[test]
    fn without_rtx_the_packet_is_resent_as_it_was() {
        let t0 = Instant::now();
        let mut s = SendStream::new(1000, None, 90_000, 7, DEFAULT_HISTORY);
        let seq = s.next_sequence_number();
        let p = packet(seq, 1);
        s.on_sent(t0, p.clone()).unwrap();
        let mut out = [0u8; 200];
        let n = s
            .retransmit(t0, 7, Duration::ZERO, &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(&out[..n], &p[..]);
        let mut small = [0u8; 10];
        assert!(s
            .retransmit(t0 + Duration::from_secs(1), 7, Duration::ZERO, &mut small)
            .is_err());
    }

    #[test]
    fn sender_info_advances_the_last_timestamp_by_the_elapsed_time() {
        let t0 = Instant::now();
        let mut s = SendStream::new(1000, None, 90_000, 0, 0);
        assert!(s.sender_info(t0, NtpTime(0)).is_none());
        let seq = s.next_sequence_number();
        s.on_sent(t0, packet(seq, 90_000)).unwrap();
        let info = s
            .sender_info(t0 + Duration::from_millis(100), NtpTime(5))
            .unwrap();
        assert_eq!(info.rtp, 90_000 + 9_000);
        assert_eq!((info.packets, info.octets), (1, 30));
        assert_eq!(info.ntp, NtpTime(5));
    }
}
