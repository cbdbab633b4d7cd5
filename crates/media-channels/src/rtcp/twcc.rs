//! Transport-wide congestion control feedback (RTPFB FMT 15,
//! draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
//!
//! After the common feedback header come the base sequence number, the packet
//! status count, a 24-bit reference time (multiples of 64 ms), a feedback
//! packet count, then packet status chunks and the receive deltas:
//!
//! - run-length chunk `0 SS LLLLLLLLLLLLL`: symbol `SS` repeated `L` times;
//! - status vector chunk `1 0 …14 one-bit symbols` (0 lost, 1 small delta) or
//!   `1 1 …7 two-bit symbols` (00 lost, 01 small delta, 10 large or negative
//!   delta, 11 reserved);
//! - a small delta is one unsigned byte, a large one two signed bytes, in 250 µs units.

use std::fmt;

use super::{
    begin_packet, fmt as fb_fmt, packet_type, truncated, u16_at, u32_at, Header, RtcpWrite,
};
use crate::error::Error;

/// Body bytes before the first chunk: SSRCs, base, count, reference time, fb count.
const FIXED_LEN: usize = 16;
/// Longest run a run-length chunk holds.
const MAX_RUN: usize = 0x1FFF;
/// Statuses in a one-bit status vector.
const ONE_BIT_CAPACITY: usize = 14;
/// Statuses in a two-bit status vector.
const TWO_BIT_CAPACITY: usize = 7;

const SYMBOL_LOST: u8 = 0;
const SYMBOL_SMALL: u8 = 1;
const SYMBOL_LARGE: u8 = 2;
const SYMBOL_RESERVED: u8 = 3;

/// One packet's status: its transport-wide sequence number and, when it was
/// received, its receive delta in 250 µs units (from the previous received
/// packet, or from the reference time for the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TwccRecord {
    /// The transport-wide sequence number.
    pub seq: u16,
    /// `None`: not received. `Some(d)`: received `d` × 250 µs after the previous one.
    pub delta: Option<i16>,
}

impl TwccRecord {
    /// A received packet.
    pub const fn received(seq: u16, delta: i16) -> TwccRecord {
        TwccRecord {
            seq,
            delta: Some(delta),
        }
    }

    /// A packet not received.
    pub const fn lost(seq: u16) -> TwccRecord {
        TwccRecord { seq, delta: None }
    }

    fn symbol(delta: Option<i16>) -> u8 {
        match delta {
            None => SYMBOL_LOST,
            Some(0..=255) => SYMBOL_SMALL,
            Some(_) => SYMBOL_LARGE,
        }
    }
}

/// How many statuses a chunk describes (before clipping to the status count).
fn chunk_capacity(chunk: u16) -> usize {
    if chunk & 0x8000 == 0 {
        usize::from(chunk & 0x1FFF)
    } else if chunk & 0x4000 == 0 {
        ONE_BIT_CAPACITY
    } else {
        TWO_BIT_CAPACITY
    }
}

/// The `i`th symbol of a chunk (`i` below its capacity).
fn chunk_symbol(chunk: u16, i: usize) -> u8 {
    if chunk & 0x8000 == 0 {
        ((chunk >> 13) & 0b11) as u8
    } else if chunk & 0x4000 == 0 {
        ((chunk >> (ONE_BIT_CAPACITY - 1 - i)) & 0b1) as u8
    } else {
        ((chunk >> (2 * (TWO_BIT_CAPACITY - 1 - i))) & 0b11) as u8
    }
}

fn delta_size(symbol: u8) -> usize {
    match symbol {
        SYMBOL_SMALL => 1,
        SYMBOL_LARGE => 2,
        _ => 0,
    }
}

/// A transport-wide CC feedback packet.
#[derive(Clone, Copy)]
pub struct TransportCc<'a> {
    body: &'a [u8],
    /// Offset of the first receive delta (after the last chunk).
    deltas_start: usize,
}

impl<'a> TransportCc<'a> {
    pub(crate) fn parse(header: &Header, body: &'a [u8]) -> Result<TransportCc<'a>, Error> {
        if body.len() < FIXED_LEN {
            return Err(truncated(header));
        }
        let mut remaining = usize::from(u16_at(body, 10));
        if remaining == 0 {
            return Err(Error::TwccEmpty);
        }
        let mut pos = FIXED_LEN;
        let mut delta_bytes = 0;
        while remaining > 0 {
            if body.len() < pos + 2 {
                return Err(truncated(header));
            }
            let chunk = u16_at(body, pos);
            pos += 2;
            let n = chunk_capacity(chunk).min(remaining);
            if chunk & 0x8000 == 0 {
                let symbol = chunk_symbol(chunk, 0);
                if symbol == SYMBOL_RESERVED && n > 0 {
                    return Err(Error::TwccReservedSymbol);
                }
                delta_bytes += n * delta_size(symbol);
            } else {
                for i in 0..n {
                    let symbol = chunk_symbol(chunk, i);
                    if symbol == SYMBOL_RESERVED {
                        return Err(Error::TwccReservedSymbol);
                    }
                    delta_bytes += delta_size(symbol);
                }
            }
            remaining -= n;
        }
        // Bytes after the deltas (zero padding without the P bit) are ignored.
        if body.len() < pos + delta_bytes {
            return Err(truncated(header));
        }
        Ok(TransportCc {
            body,
            deltas_start: pos,
        })
    }

    /// The SSRC of the packet's sender.
    pub fn sender_ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The media SSRC field (transport-wide feedback covers all media; often 0
    /// or the first media SSRC).
    pub fn media_ssrc(&self) -> u32 {
        u32_at(self.body, 4)
    }

    /// The transport-wide sequence number of the first status.
    pub fn base_sequence(&self) -> u16 {
        u16_at(self.body, 8)
    }

    /// Number of packets reported, from the base sequence number on.
    pub fn status_count(&self) -> u16 {
        u16_at(self.body, 10)
    }

    /// The 24-bit reference time, in multiples of 64 ms (wrapping; libwebrtc
    /// reads it unsigned).
    pub fn reference_time(&self) -> u32 {
        u32_at(self.body, 12) >> 8
    }

    /// The feedback packet count, to detect lost feedback.
    pub fn fb_pkt_count(&self) -> u8 {
        self.body.get(15).copied().unwrap_or(0)
    }

    /// Every reported packet from the base sequence number on, received or not.
    pub fn packets(&self) -> TwccPackets<'a> {
        TwccPackets {
            body: self.body,
            chunk_pos: FIXED_LEN,
            chunk: 0,
            index: 0,
            capacity: 0,
            remaining: self.status_count(),
            delta_pos: self.deltas_start,
            seq: self.base_sequence(),
        }
    }
}

impl fmt::Debug for TransportCc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportCc")
            .field("sender_ssrc", &self.sender_ssrc())
            .field("media_ssrc", &self.media_ssrc())
            .field("base_sequence", &self.base_sequence())
            .field("status_count", &self.status_count())
            .field("reference_time", &self.reference_time())
            .field("fb_pkt_count", &self.fb_pkt_count())
            .finish()
    }
}

/// Iterator over the packets of a [`TransportCc`], decoding chunks and
/// deltas as it goes.
#[derive(Debug, Clone)]
pub struct TwccPackets<'a> {
    body: &'a [u8],
    chunk_pos: usize,
    chunk: u16,
    index: usize,
    capacity: usize,
    remaining: u16,
    delta_pos: usize,
    seq: u16,
}

impl Iterator for TwccPackets<'_> {
    type Item = TwccRecord;

    fn next(&mut self) -> Option<TwccRecord> {
        if self.remaining == 0 {
            return None;
        }
        while self.index >= self.capacity {
            // Validated by `TransportCc::parse`; end quietly if not.
            if self.chunk_pos + 2 > self.body.len() {
                self.remaining = 0;
                return None;
            }
            self.chunk = u16_at(self.body, self.chunk_pos);
            self.chunk_pos += 2;
            self.capacity = chunk_capacity(self.chunk);
            self.index = 0;
        }
        let symbol = chunk_symbol(self.chunk, self.index);
        self.index += 1;
        let delta = match symbol {
            SYMBOL_SMALL => {
                let d = self.body.get(self.delta_pos).copied().unwrap_or(0);
                self.delta_pos += 1;
                Some(i16::from(d))
            }
            SYMBOL_LARGE => {
                let d = u16_at(self.body, self.delta_pos) as i16;
                self.delta_pos += 2;
                Some(d)
            }
            _ => None,
        };
        let record = TwccRecord {
            seq: self.seq,
            delta,
        };
        self.seq = self.seq.wrapping_add(1);
        self.remaining -= 1;
        Some(record)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.remaining);
        (n, Some(n))
    }
}

impl ExactSizeIterator for TwccPackets<'_> {}
impl std::iter::FusedIterator for TwccPackets<'_> {}

/// Writes a transport-wide CC feedback packet from per-packet records.
///
/// The records must have strictly increasing sequence numbers (wrap-aware,
/// spanning fewer than 65 536); the first is the base sequence number, and
/// numbers missing between records are reported as not received. Chunks are
/// chosen simply: a run-length chunk for runs of 7 or more equal statuses (or
/// a run reaching the end), otherwise a one-bit vector when the next 14
/// statuses need no large delta, else a two-bit vector.
///
/// ```
/// use media_channels::rtcp::{RtcpPacket, RtcpWrite, TransportCcBuilder, TwccRecord};
///
/// let records = [TwccRecord::received(10, 4), TwccRecord::received(12, -40)];
/// let b = TransportCcBuilder { sender_ssrc: 1, packets: &records, ..Default::default() };
/// let mut buf = [0u8; 64];
/// let n = b.write(&mut buf)?;
/// let RtcpPacket::TransportCc(fb) = RtcpPacket::parse(&buf[..n])? else { unreachable!() };
/// let got: Vec<_> = fb.packets().collect();
/// assert_eq!(got, [TwccRecord::received(10, 4), TwccRecord::lost(11), TwccRecord::received(12, -40)]);
/// # Ok::<(), media_channels::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TransportCcBuilder<'a> {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The media SSRC field.
    pub media_ssrc: u32,
    /// Reference time in multiples of 64 ms, 24 bits.
    pub reference_time: u32,
    /// Feedback packet count.
    pub fb_pkt_count: u8,
    /// The records, ascending by sequence number, at least one.
    pub packets: &'a [TwccRecord],
}

impl TransportCcBuilder<'_> {
    /// The base sequence number and status count, when the records are usable.
    fn span(&self) -> Result<(u16, usize), Error> {
        let first = self
            .packets
            .first()
            .ok_or(Error::InvalidInput("transport-cc feedback without packets"))?;
        let base = first.seq;
        let mut last = 0u16;
        for p in &self.packets[1..] {
            let offset = p.seq.wrapping_sub(base);
            if offset <= last {
                return Err(Error::InvalidInput(
                    "transport-cc records must have increasing sequence numbers",
                ));
            }
            last = offset;
        }
        if last == u16::MAX {
            return Err(Error::InvalidInput(
                "transport-cc records span more than 65535 packets",
            ));
        }
        Ok((base, usize::from(last) + 1))
    }

    /// The status symbol of offset `i` from the base.
    fn symbol(&self, base: u16, i: usize) -> u8 {
        let offset = i as u16;
        match self
            .packets
            .binary_search_by_key(&offset, |p| p.seq.wrapping_sub(base))
        {
            Ok(k) => TwccRecord::symbol(self.packets[k].delta),
            Err(_) => SYMBOL_LOST,
        }
    }

    /// Chooses the chunks for `count` statuses; calls `emit` for each and
    /// returns how many there are.
    fn encode_chunks(&self, base: u16, count: usize, mut emit: impl FnMut(u16)) -> usize {
        let mut chunks = 0;
        let mut i = 0;
        while i < count {
            let first = self.symbol(base, i);
            let mut run = 1;
            while i + run < count && run < MAX_RUN && self.symbol(base, i + run) == first {
                run += 1;
            }
            let chunk = if run >= TWO_BIT_CAPACITY || i + run == count {
                let c = (u16::from(first) << 13) | run as u16;
                i += run;
                c
            } else {
                let n = ONE_BIT_CAPACITY.min(count - i);
                if (i..i + n).all(|k| self.symbol(base, k) != SYMBOL_LARGE) {
                    let mut c = 0x8000u16;
                    for k in 0..n {
                        c |= u16::from(self.symbol(base, i + k)) << (ONE_BIT_CAPACITY - 1 - k);
                    }
                    i += n;
                    c
                } else {
                    let n = TWO_BIT_CAPACITY.min(count - i);
                    let mut c = 0xC000u16;
                    for k in 0..n {
                        c |=
                            u16::from(self.symbol(base, i + k)) << (2 * (TWO_BIT_CAPACITY - 1 - k));
                    }
                    i += n;
                    c
                }
            };
            emit(chunk);
            chunks += 1;
        }
        chunks
    }

    fn delta_bytes(&self) -> usize {
        self.packets
            .iter()
            .map(|p| delta_size(TwccRecord::symbol(p.delta)))
            .sum()
    }

    /// Length before padding to 32 bits.
    fn unpadded_len(&self) -> usize {
        let chunks = match self.span() {
            Ok((base, count)) => self.encode_chunks(base, count, |_| {}),
            Err(_) => 0,
        };
        4 + FIXED_LEN + 2 * chunks + self.delta_bytes()
    }
}

impl RtcpWrite for TransportCcBuilder<'_> {
    fn encoded_len(&self) -> usize {
        self.unpadded_len().div_ceil(4) * 4
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let (base, count) = self.span()?;
        if self.reference_time > 0x00FF_FFFF {
            return Err(Error::InvalidInput(
                "transport-cc reference time above 24 bits",
            ));
        }
        let unpadded = self.unpadded_len();
        let total = unpadded.div_ceil(4) * 4;
        let padding = total - unpadded;
        // Padded with the P bit, as libwebrtc does.
        begin_packet(
            buf,
            total,
            padding > 0,
            fb_fmt::TRANSPORT_CC,
            packet_type::RTPFB,
        )?;
        buf[4..8].copy_from_slice(&self.sender_ssrc.to_be_bytes());
        buf[8..12].copy_from_slice(&self.media_ssrc.to_be_bytes());
        buf[12..14].copy_from_slice(&base.to_be_bytes());
        buf[14..16].copy_from_slice(&(count as u16).to_be_bytes());
        buf[16..20].copy_from_slice(
            &((self.reference_time << 8) | u32::from(self.fb_pkt_count)).to_be_bytes(),
        );
        let mut pos = 20;
        self.encode_chunks(base, count, |chunk| {
            buf[pos..pos + 2].copy_from_slice(&chunk.to_be_bytes());
            pos += 2;
        });
        for p in self.packets {
            match (TwccRecord::symbol(p.delta), p.delta) {
                (SYMBOL_SMALL, Some(d)) => {
                    buf[pos] = d as u8;
                    pos += 1;
                }
                (SYMBOL_LARGE, Some(d)) => {
                    buf[pos..pos + 2].copy_from_slice(&d.to_be_bytes());
                    pos += 2;
                }
                _ => {}
            }
        }
        if padding > 0 {
            buf[pos..total - 1].fill(0);
            buf[total - 1] = padding as u8;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::RtcpPacket;

    fn parse(bytes: &[u8]) -> Result<TransportCc<'_>, Error> {
        match RtcpPacket::parse(bytes)? {
            RtcpPacket::TransportCc(t) => Ok(t),
            other => panic!("not transport-cc: {other:?}"),
        }
    }

    fn records(base: u16, deltas: &[Option<i16>]) -> Vec<TwccRecord> {
        deltas
            .iter()
            .enumerate()
            .map(|(i, &delta)| TwccRecord {
                seq: base.wrapping_add(i as u16),
                delta,
            })
            .collect()
    }

    #[test]
    fn chunk_decoding_draft_examples() {
        // draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1.3/§3.1.4
        // examples (as pion's transport_layer_cc_test.go encodes them).
        assert_eq!(chunk_capacity(0x00DD), 221);
        assert_eq!(chunk_symbol(0x00DD, 100), SYMBOL_LOST);
        assert_eq!(chunk_capacity(0x6018), 24);
        assert_eq!(chunk_symbol(0x6018, 0), SYMBOL_RESERVED);
        let one_bit: Vec<u8> = (0..14).map(|i| chunk_symbol(0x9F1C, i)).collect();
        assert_eq!(one_bit, [0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0]);
        let two_bit: Vec<u8> = (0..7).map(|i| chunk_symbol(0xCD50, i)).collect();
        assert_eq!(two_bit, [0, 3, 1, 1, 1, 0, 0]);
    }

    #[test]
    fn pion_example1_run_length() {
        // pion transport_layer_cc_test.go "example1": one packet, small delta
        // 0x94 (37 ms), one byte of padding.
        let bytes = [
            0xaf, 0xcd, 0x00, 0x05, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x03, 0x2f, 0xa0, 0x00, 0x99,
            0x00, 0x01, 0x3d, 0xe8, 0x02, 0x17, 0x20, 0x01, 0x94, 0x01,
        ];
        let fb = parse(&bytes).unwrap();
        assert_eq!(fb.sender_ssrc(), 4_195_875_351);
        assert_eq!(fb.media_ssrc(), 1_124_282_272);
        assert_eq!(fb.base_sequence(), 153);
        assert_eq!(fb.status_count(), 1);
        assert_eq!(fb.reference_time(), 4_057_090);
        assert_eq!(fb.fb_pkt_count(), 23);
        assert_eq!(
            fb.packets().collect::<Vec<_>>(),
            [TwccRecord::received(153, 148)]
        );
        // Our writer produces the same bytes.
        let recs = [TwccRecord::received(153, 148)];
        let b = TransportCcBuilder {
            sender_ssrc: 4_195_875_351,
            media_ssrc: 1_124_282_272,
            reference_time: 4_057_090,
            fb_pkt_count: 23,
            packets: &recs,
        };
        let mut buf = [0u8; 24];
        assert_eq!(b.write(&mut buf).unwrap(), 24);
        assert_eq!(buf, bytes);
    }

    #[test]
    fn pion_example4_and_5() {
        // "example4": run of 7 small deltas.
        let bytes = [
            0xaf, 0xcd, 0x00, 0x07, 0xfa, 0x17, 0xfa, 0x17, 0x19, 0x3d, 0xd8, 0xbb, 0x00, 0x04,
            0x00, 0x07, 0x10, 0x63, 0x6e, 0x01, 0x20, 0x07, 0x4c, 0x24, 0x24, 0x10, 0x0c, 0x0c,
            0x10, 0x00, 0x00, 0x03,
        ];
        let fb = parse(&bytes).unwrap();
        assert_eq!(fb.reference_time(), 1_074_030);
        let deltas = [76, 36, 36, 16, 12, 12, 16].map(Some);
        let expected = records(4, &deltas);
        assert_eq!(fb.packets().collect::<Vec<_>>(), expected);
        let b = TransportCcBuilder {
            sender_ssrc: 4_195_875_351,
            media_ssrc: 423_483_579,
            reference_time: 1_074_030,
            fb_pkt_count: 1,
            packets: &expected,
        };
        let mut buf = [0u8; 32];
        assert_eq!(b.write(&mut buf).unwrap(), 32);
        assert_eq!(buf, bytes);

        // "example5": a one-bit vector of 14, four received.
        let bytes = [
            0xaf, 0xcd, 0x00, 0x06, 0xfa, 0x17, 0xfa, 0x17, 0x19, 0x3d, 0xd8, 0xbb, 0x00, 0x01,
            0x00, 0x0e, 0x10, 0x63, 0x6d, 0x00, 0xba, 0x00, 0x10, 0x0c, 0x0c, 0x10, 0x00, 0x02,
        ];
        let fb = parse(&bytes).unwrap();
        let mut deltas = [None; 14];
        deltas[0] = Some(16);
        deltas[1] = Some(12);
        deltas[2] = Some(12);
        deltas[4] = Some(16);
        assert_eq!(fb.packets().collect::<Vec<_>>(), records(1, &deltas));
    }

    #[test]
    fn pion_example6_mixed_chunks() {
        // Unmarshal "example6": a two-bit vector (5 small, lost, large) then a
        // run-length chunk of 48 lost, clipped to the count of 9.
        let bytes = [
            0xaf, 0xcd, 0x00, 0x07, 0x9b, 0x74, 0xf6, 0x1f, 0x93, 0x71, 0xdc, 0xbc, 0x85, 0x3c,
            0x00, 0x09, 0x63, 0xf9, 0x16, 0xb3, 0xd5, 0x52, 0x00, 0x30, 0x9b, 0xaa, 0x6a, 0xaa,
            0x7b, 0x01, 0x09, 0x01,
        ];
        let fb = parse(&bytes).unwrap();
        assert_eq!(fb.base_sequence(), 34108);
        assert_eq!(fb.fb_pkt_count(), 179);
        let deltas = [
            Some(155),
            Some(170),
            Some(106),
            Some(170),
            Some(123),
            None,
            Some(265),
            None,
            None,
        ];
        assert_eq!(fb.packets().collect::<Vec<_>>(), records(34108, &deltas));
        assert_eq!(fb.packets().len(), 9);
    }

    #[test]
    fn pion_marshal_example6_one_bit_vector() {
        // Marshal "example6": 12 statuses in one one-bit vector (0xbec0).
        let expected = [
            0xaf, 0xcd, 0x00, 0x07, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x03, 0x2f, 0xa0, 0x9c, 0x14,
            0x00, 0x0c, 0x75, 0x84, 0x20, 0x00, 0xbe, 0xc0, 0xc1, 0x3f, 0x3b, 0x3f, 0x53, 0x90,
            0x3b, 0x00, 0x00, 0x03,
        ];
        let deltas = [
            Some(193),
            Some(63),
            Some(59),
            Some(63),
            Some(83),
            None,
            Some(144),
            Some(59),
            None,
            None,
            None,
            None,
        ];
        let recs = records(39956, &deltas);
        let b = TransportCcBuilder {
            sender_ssrc: 4_195_875_351,
            media_ssrc: 1_124_282_272,
            reference_time: 7_701_536,
            fb_pkt_count: 0,
            packets: &recs,
        };
        let mut buf = [0u8; 32];
        assert_eq!(b.write(&mut buf).unwrap(), 32);
        assert_eq!(buf, expected);
    }

    #[test]
    fn rejects() {
        // pion "example7": status count 0 (libwebrtc refuses it too).
        let empty = [
            0x8f, 0xcd, 0x00, 0x04, 0x9a, 0xcb, 0x04, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(parse(&empty).unwrap_err(), Error::TwccEmpty);
        // pion "example8": three run-length small deltas, one delta byte present.
        let short = [
            0xaf, 0xcd, 0x00, 0x05, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x03, 0x2f, 0xa0, 0x00, 0x99,
            0x00, 0x03, 0x3d, 0xe8, 0x02, 0x17, 0x20, 0x03, 0x94, 0x01,
        ];
        assert!(matches!(parse(&short), Err(Error::RtcpTruncated { .. })));
        // pion "example2" (its padding count corrected to 1) uses the reserved
        // two-bit symbol 11, which pion reads as "received without delta".
        let reserved = [
            0xaf, 0xcd, 0x00, 0x06, 0xfa, 0x17, 0xfa, 0x17, 0x19, 0x3d, 0xd8, 0xbb, 0x01, 0x74,
            0x00, 0x0e, 0x45, 0xb1, 0x5a, 0x40, 0xd8, 0x00, 0xf0, 0xff, 0xd0, 0x00, 0x00, 0x01,
        ];
        assert_eq!(parse(&reserved).unwrap_err(), Error::TwccReservedSymbol);
        // Chunks missing for the count.
        let no_chunk = [
            0x8f, 0xcd, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0,
        ];
        assert!(matches!(parse(&no_chunk), Err(Error::RtcpTruncated { .. })));
    }

    #[test]
    fn builder_chunk_choices_round_trip() {
        // Long runs, wraps, large and negative deltas, one-bit and two-bit vectors.
        let mut deltas = vec![Some(1); 20];
        deltas.extend([None; 9000]);
        deltas.extend([Some(3), None, Some(-1), Some(300), Some(0), None, Some(7)]);
        deltas.extend([Some(2), None].repeat(10));
        deltas.push(Some(i16::MIN));
        let recs = records(65500, &deltas);
        let b = TransportCcBuilder {
            packets: &recs,
            ..Default::default()
        };
        let mut buf = vec![0u8; b.encoded_len()];
        let n = b.write(&mut buf).unwrap();
        assert_eq!(n, buf.len());
        let fb = parse(&buf).unwrap();
        assert_eq!(fb.packets().collect::<Vec<_>>(), recs);
        // Sparse records: the gaps come back as not received.
        let sparse = [TwccRecord::received(65535, 5), TwccRecord::received(3, 6)];
        let b = TransportCcBuilder {
            packets: &sparse,
            ..Default::default()
        };
        let n = b.write(&mut buf).unwrap();
        let got: Vec<_> = parse(&buf[..n]).unwrap().packets().collect();
        assert_eq!(
            got,
            [
                TwccRecord::received(65535, 5),
                TwccRecord::lost(0),
                TwccRecord::lost(1),
                TwccRecord::lost(2),
                TwccRecord::received(3, 6)
            ]
        );
    }

    #[test]
    fn builder_rejects() {
        let mut buf = [0u8; 64];
        assert!(TransportCcBuilder::default().write(&mut buf).is_err());
        let unordered = [TwccRecord::received(5, 1), TwccRecord::received(4, 1)];
        let b = TransportCcBuilder {
            packets: &unordered,
            ..Default::default()
        };
        assert!(matches!(b.write(&mut buf), Err(Error::InvalidInput(_))));
        let dup = [TwccRecord::received(5, 1), TwccRecord::received(5, 1)];
        let b = TransportCcBuilder {
            packets: &dup,
            ..Default::default()
        };
        assert!(b.write(&mut buf).is_err());
        let full_span = [TwccRecord::received(0, 1), TwccRecord::received(65535, 1)];
        let b = TransportCcBuilder {
            packets: &full_span,
            ..Default::default()
        };
        assert!(b.write(&mut vec![0u8; 20_000]).is_err());
        let ok = [TwccRecord::received(0, 1)];
        let b = TransportCcBuilder {
            packets: &ok,
            reference_time: 1 << 24,
            ..Default::default()
        };
        assert!(b.write(&mut buf).is_err());
    }
}
