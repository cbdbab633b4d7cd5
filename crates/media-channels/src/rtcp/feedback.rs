//! RFC 4585 feedback messages: generic NACK, PLI, FIR (RFC 5104) and REMB.
//!
//! Every feedback message starts with the sender's SSRC and the media
//! source's SSRC (RFC 4585 §6.1), followed by its feedback control information.

use std::fmt;

use super::{
    begin_packet, fmt as fb_fmt, packet_type, truncated, u16_at, u32_at, write_ssrcs, Header,
    RtcpWrite, Ssrcs,
};
use crate::error::Error;

/// Length of the common feedback part: sender SSRC and media SSRC.
const COMMON_LEN: usize = 8;

fn write_common(buf: &mut [u8], sender_ssrc: u32, media_ssrc: u32) {
    buf[4..8].copy_from_slice(&sender_ssrc.to_be_bytes());
    buf[8..12].copy_from_slice(&media_ssrc.to_be_bytes());
}

/// One NACK entry: a lost packet id and a bitmask of the 16 after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NackPair {
    /// PID: a lost sequence number.
    pub pid: u16,
    /// BLP: bit i set means `pid + i + 1` is lost too.
    pub blp: u16,
}

impl NackPair {
    /// The sequence numbers this entry reports lost, in order.
    pub fn lost(self) -> NackLost<'static> {
        NackLost {
            pairs: NackPairs::new(&[]),
            current: Some(self),
            bit: 0,
        }
    }
}

/// Iterator over the entries of a [`Nack`].
#[derive(Debug, Clone)]
pub struct NackPairs<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl<'a> NackPairs<'a> {
    fn new(fci: &'a [u8]) -> NackPairs<'a> {
        NackPairs {
            chunks: fci.chunks_exact(4),
        }
    }
}

impl Iterator for NackPairs<'_> {
    type Item = NackPair;

    fn next(&mut self) -> Option<NackPair> {
        self.chunks.next().map(|c| NackPair {
            pid: u16::from_be_bytes([c[0], c[1]]),
            blp: u16::from_be_bytes([c[2], c[3]]),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for NackPairs<'_> {}
impl std::iter::FusedIterator for NackPairs<'_> {}

/// Iterator over the lost sequence numbers of a [`Nack`], each entry's PID
/// followed by the ones its BLP marks.
#[derive(Debug, Clone)]
pub struct NackLost<'a> {
    pairs: NackPairs<'a>,
    current: Option<NackPair>,
    /// 0: the PID itself; 1–16: BLP bit `bit - 1`.
    bit: u8,
}

impl Iterator for NackLost<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        loop {
            let pair = match self.current {
                Some(p) => p,
                None => {
                    let p = self.pairs.next()?;
                    self.current = Some(p);
                    self.bit = 0;
                    p
                }
            };
            if self.bit == 0 {
                self.bit = 1;
                return Some(pair.pid);
            }
            while self.bit <= 16 {
                let b = self.bit;
                self.bit += 1;
                if pair.blp & (1 << (b - 1)) != 0 {
                    return Some(pair.pid.wrapping_add(u16::from(b)));
                }
            }
            self.current = None;
        }
    }
}

impl std::iter::FusedIterator for NackLost<'_> {}

/// A generic NACK (RTPFB FMT 1, RFC 4585 §6.2.1).
#[derive(Clone, Copy)]
pub struct Nack<'a> {
    body: &'a [u8],
}

impl<'a> Nack<'a> {
    pub(crate) fn parse(header: &Header, body: &'a [u8]) -> Result<Nack<'a>, Error> {
        // At least one entry; trailing bytes short of an entry are ignored.
        if body.len() < COMMON_LEN + 4 {
            return Err(truncated(header));
        }
        Ok(Nack { body })
    }

    /// The SSRC of the packet's sender.
    pub fn sender_ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The SSRC of the media source whose packets were lost.
    pub fn media_ssrc(&self) -> u32 {
        u32_at(self.body, 4)
    }

    /// The PID/BLP entries.
    pub fn pairs(&self) -> NackPairs<'a> {
        NackPairs::new(self.body.get(COMMON_LEN..).unwrap_or(&[]))
    }

    /// Every sequence number reported lost, entry by entry.
    pub fn lost(&self) -> NackLost<'a> {
        NackLost {
            pairs: self.pairs(),
            current: None,
            bit: 0,
        }
    }
}

impl fmt::Debug for Nack<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nack")
            .field("sender_ssrc", &self.sender_ssrc())
            .field("media_ssrc", &self.media_ssrc())
            .field("lost", &self.lost().collect::<Vec<_>>())
            .finish()
    }
}

/// Packs lost sequence numbers into PID/BLP entries greedily, in input order:
/// a number within 16 after the current PID sets a bit, any other starts an
/// entry. Ascending input (wrap-aware) gives the fewest entries; any order is
/// reported completely. Calls `emit` for each entry; returns how many.
fn pack_nack(lost: &[u16], mut emit: impl FnMut(NackPair)) -> usize {
    let mut count = 0;
    let mut current: Option<NackPair> = None;
    for &seq in lost {
        if let Some(pair) = current.as_mut() {
            let d = seq.wrapping_sub(pair.pid);
            if d == 0 {
                continue;
            }
            if d <= 16 {
                pair.blp |= 1 << (d - 1);
                continue;
            }
            emit(*pair);
            count += 1;
        }
        current = Some(NackPair { pid: seq, blp: 0 });
    }
    if let Some(pair) = current {
        emit(pair);
        count += 1;
    }
    count
}

/// Writes a generic NACK from a list of lost sequence numbers.
///
/// ```
/// use media_channels::rtcp::{NackBuilder, RtcpPacket, RtcpWrite};
///
/// let lost = [100, 101, 105, 115, 500];
/// let mut buf = [0u8; 32];
/// let n = NackBuilder { sender_ssrc: 1, media_ssrc: 2, lost: &lost }.write(&mut buf)?;
/// assert_eq!(n, 12 + 2 * 4); // two PID/BLP entries
/// let RtcpPacket::Nack(nack) = RtcpPacket::parse(&buf[..n])? else { unreachable!() };
/// assert_eq!(nack.lost().collect::<Vec<_>>(), lost);
/// # Ok::<(), media_channels::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NackBuilder<'a> {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The media source whose packets were lost.
    pub media_ssrc: u32,
    /// The lost sequence numbers, at least one; ascending packs best.
    pub lost: &'a [u16],
}

impl RtcpWrite for NackBuilder<'_> {
    fn encoded_len(&self) -> usize {
        4 + COMMON_LEN + 4 * pack_nack(self.lost, |_| {})
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.lost.is_empty() {
            return Err(Error::InvalidInput("NACK without lost packets"));
        }
        let total = self.encoded_len();
        begin_packet(buf, total, false, fb_fmt::NACK, packet_type::RTPFB)?;
        write_common(buf, self.sender_ssrc, self.media_ssrc);
        let mut pos = 4 + COMMON_LEN;
        pack_nack(self.lost, |pair| {
            buf[pos..pos + 2].copy_from_slice(&pair.pid.to_be_bytes());
            buf[pos + 2..pos + 4].copy_from_slice(&pair.blp.to_be_bytes());
            pos += 4;
        });
        Ok(total)
    }
}

/// A picture loss indication (PSFB FMT 1, RFC 4585 §6.3.1); it has no
/// feedback control information, so it is its own builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pli {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The media source that should send a key frame.
    pub media_ssrc: u32,
}

impl Pli {
    pub(crate) fn parse(header: &Header, body: &[u8]) -> Result<Pli, Error> {
        if body.len() < COMMON_LEN {
            return Err(truncated(header));
        }
        Ok(Pli {
            sender_ssrc: u32_at(body, 0),
            media_ssrc: u32_at(body, 4),
        })
    }
}

impl RtcpWrite for Pli {
    fn encoded_len(&self) -> usize {
        4 + COMMON_LEN
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        begin_packet(buf, 12, false, fb_fmt::PLI, packet_type::PSFB)?;
        write_common(buf, self.sender_ssrc, self.media_ssrc);
        Ok(12)
    }
}

/// One FIR entry: the source asked for a decoder refresh and the request's
/// command sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FirEntry {
    /// The media source that should send a key frame.
    pub ssrc: u32,
    /// Command sequence number, incremented per new request (RFC 5104 §4.3.1.1).
    pub seq_nr: u8,
}

/// Iterator over the entries of a [`Fir`].
#[derive(Debug, Clone)]
pub struct FirEntries<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for FirEntries<'_> {
    type Item = FirEntry;

    fn next(&mut self) -> Option<FirEntry> {
        self.chunks.next().map(|c| FirEntry {
            ssrc: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            seq_nr: c[4],
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for FirEntries<'_> {}
impl std::iter::FusedIterator for FirEntries<'_> {}

/// A full intra request (PSFB FMT 4, RFC 5104 §4.3.1).
#[derive(Clone, Copy)]
pub struct Fir<'a> {
    body: &'a [u8],
}

impl<'a> Fir<'a> {
    pub(crate) fn parse(header: &Header, body: &'a [u8]) -> Result<Fir<'a>, Error> {
        if body.len() < COMMON_LEN + 8 {
            return Err(truncated(header));
        }
        Ok(Fir { body })
    }

    /// The SSRC of the packet's sender.
    pub fn sender_ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The media SSRC field (unused by FIR, normally 0).
    pub fn media_ssrc(&self) -> u32 {
        u32_at(self.body, 4)
    }

    /// The requests.
    pub fn entries(&self) -> FirEntries<'a> {
        FirEntries {
            chunks: self.body.get(COMMON_LEN..).unwrap_or(&[]).chunks_exact(8),
        }
    }
}

impl fmt::Debug for Fir<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fir")
            .field("sender_ssrc", &self.sender_ssrc())
            .field("entries", &self.entries().collect::<Vec<_>>())
            .finish()
    }
}

/// Writes a full intra request.
#[derive(Debug, Clone, Copy, Default)]
pub struct FirBuilder<'a> {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The media SSRC field; RFC 5104 says 0.
    pub media_ssrc: u32,
    /// The requests, at least one.
    pub entries: &'a [FirEntry],
}

impl RtcpWrite for FirBuilder<'_> {
    fn encoded_len(&self) -> usize {
        4 + COMMON_LEN + 8 * self.entries.len()
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.entries.is_empty() {
            return Err(Error::InvalidInput("FIR without entries"));
        }
        let total = self.encoded_len();
        begin_packet(buf, total, false, fb_fmt::FIR, packet_type::PSFB)?;
        write_common(buf, self.sender_ssrc, self.media_ssrc);
        for (i, e) in self.entries.iter().enumerate() {
            let at = 4 + COMMON_LEN + 8 * i;
            buf[at..at + 4].copy_from_slice(&e.ssrc.to_be_bytes());
            buf[at + 4..at + 8].copy_from_slice(&[e.seq_nr, 0, 0, 0]);
        }
        Ok(total)
    }
}

/// The REMB unique identifier.
const REMB_ID: &[u8; 4] = b"REMB";
/// Largest REMB mantissa (18 bits).
const REMB_MANTISSA_MAX: u64 = 0x3_FFFF;

/// A receiver estimated maximum bitrate message (PSFB FMT 15,
/// draft-alvestrand-rmcat-remb-03).
#[derive(Clone, Copy)]
pub struct Remb<'a> {
    body: &'a [u8],
    bitrate: u64,
}

impl<'a> Remb<'a> {
    /// True when an application-layer feedback body carries REMB.
    pub(crate) fn is_remb(body: &[u8]) -> bool {
        body.get(COMMON_LEN..COMMON_LEN + 4) == Some(REMB_ID)
    }

    pub(crate) fn parse(header: &Header, body: &'a [u8]) -> Result<Remb<'a>, Error> {
        if body.len() < COMMON_LEN + 8 {
            return Err(truncated(header));
        }
        let num_ssrc = usize::from(body[12]);
        let exponent = u32::from(body[13] >> 2);
        let mantissa = (u64::from(body[13] & 0x03) << 16) | u64::from(u16_at(body, 14));
        let bitrate = mantissa << exponent;
        if bitrate >> exponent != mantissa {
            return Err(Error::RembBitrateOverflow);
        }
        if body.len() < COMMON_LEN + 8 + 4 * num_ssrc {
            return Err(truncated(header));
        }
        Ok(Remb { body, bitrate })
    }

    /// The SSRC of the packet's sender.
    pub fn sender_ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The media SSRC field (0 for REMB).
    pub fn media_ssrc(&self) -> u32 {
        u32_at(self.body, 4)
    }

    /// The estimated maximum bitrate, bits per second.
    pub fn bitrate_bps(&self) -> u64 {
        self.bitrate
    }

    /// The SSRCs the estimate applies to.
    pub fn ssrcs(&self) -> Ssrcs<'a> {
        let n = usize::from(self.body.get(12).copied().unwrap_or(0));
        let start = COMMON_LEN + 8;
        Ssrcs::new(self.body.get(start..start + 4 * n).unwrap_or(&[]))
    }
}

impl fmt::Debug for Remb<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remb")
            .field("sender_ssrc", &self.sender_ssrc())
            .field("bitrate_bps", &self.bitrate)
            .field("ssrcs", &self.ssrcs().collect::<Vec<_>>())
            .finish()
    }
}

/// Writes a REMB message. The bitrate is stored as an 18-bit mantissa and a
/// 6-bit exponent, so values above 2^18 lose their low bits (rounded down).
#[derive(Debug, Clone, Copy, Default)]
pub struct RembBuilder<'a> {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The estimate, bits per second.
    pub bitrate_bps: u64,
    /// The SSRCs it applies to, at most 255.
    pub ssrcs: &'a [u32],
}

impl RembBuilder<'_> {
    /// The exponent and mantissa `bitrate_bps` is written as.
    pub fn exponent_mantissa(bitrate_bps: u64) -> (u8, u32) {
        let mut mantissa = bitrate_bps;
        let mut exponent = 0u8;
        while mantissa > REMB_MANTISSA_MAX {
            mantissa >>= 1;
            exponent += 1;
        }
        (exponent, mantissa as u32)
    }
}

impl RtcpWrite for RembBuilder<'_> {
    fn encoded_len(&self) -> usize {
        4 + COMMON_LEN + 8 + 4 * self.ssrcs.len()
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.ssrcs.len() > 255 {
            return Err(Error::InvalidInput("REMB for more than 255 SSRCs"));
        }
        let total = self.encoded_len();
        begin_packet(buf, total, false, fb_fmt::AFB, packet_type::PSFB)?;
        write_common(buf, self.sender_ssrc, 0);
        let (exponent, mantissa) = Self::exponent_mantissa(self.bitrate_bps);
        buf[12..16].copy_from_slice(REMB_ID);
        buf[16] = self.ssrcs.len() as u8;
        buf[17] = (exponent << 2) | (mantissa >> 16) as u8;
        buf[18..20].copy_from_slice(&(mantissa as u16).to_be_bytes());
        write_ssrcs(buf, 20, self.ssrcs);
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::RtcpPacket;

    #[test]
    fn pion_nack() {
        // pion/rtcp transport_layer_nack_test.go "valid": PID 0xaaaa, BLP 0x5555.
        let bytes = [
            0x81, 0xcd, 0x00, 0x03, 0x90, 0x2f, 0x9e, 0x2e, 0x90, 0x2f, 0x9e, 0x2e, 0xaa, 0xaa,
            0x55, 0x55,
        ];
        let RtcpPacket::Nack(nack) = RtcpPacket::parse(&bytes).unwrap() else {
            panic!("not NACK");
        };
        assert_eq!(nack.sender_ssrc(), 0x902f_9e2e);
        assert_eq!(nack.media_ssrc(), 0x902f_9e2e);
        assert_eq!(
            nack.pairs().collect::<Vec<_>>(),
            [NackPair {
                pid: 0xaaaa,
                blp: 0x5555
            }]
        );
        // 0x5555 sets bits 0, 2, …, 14: PID + 1, + 3, …, + 15.
        let expected: Vec<u16> = std::iter::once(0xaaaa)
            .chain((1..=15).step_by(2).map(|d| 0xaaaa + d))
            .collect();
        assert_eq!(nack.lost().collect::<Vec<_>>(), expected);
        // pion "short report": no FCI.
        assert!(matches!(
            RtcpPacket::parse(&[0x81, 0xcd, 0x00, 0x02, 0x90, 0x2f, 0x9e, 0x2e, 0, 0, 0, 0]),
            Err(Error::RtcpTruncated {
                packet_type: 205,
                fmt: 1
            })
        ));
    }

    #[test]
    fn nack_pair_expansion() {
        // pion's TestNackPair cases.
        let lost = |pid, blp| NackPair { pid, blp }.lost().collect::<Vec<_>>();
        assert_eq!(lost(42, 0), [42]);
        assert_eq!(lost(42, 1), [42, 43]);
        assert_eq!(lost(42, 2), [42, 44]);
        assert_eq!(lost(42, 3), [42, 43, 44]);
        assert_eq!(lost(42, 0x8000), [42, 58]);
        // Across the wrap.
        assert_eq!(lost(65535, 1), [65535, 0]);
    }

    #[test]
    fn nack_packing() {
        // pion's TestTransportLayerNackPairGeneration cases.
        let pack = |lost: &[u16]| {
            let mut v = Vec::new();
            pack_nack(lost, |p| v.push((p.pid, p.blp)));
            v
        };
        assert_eq!(pack(&[]), []);
        assert_eq!(pack(&[100]), [(100, 0)]);
        assert_eq!(pack(&[100, 101, 105, 115]), [(100, 0x4011)]);
        assert_eq!(
            pack(&[100, 117, 500, 501, 502]),
            [(100, 0), (117, 0), (500, 0x3)]
        );
        // Duplicates and the wrap.
        assert_eq!(pack(&[65534, 65534, 65535, 0, 1]), [(65534, 0b111)]);
        assert!(matches!(
            NackBuilder::default().write(&mut [0u8; 32]),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn pion_pli() {
        // pion/rtcp picture_loss_indication_test.go "valid".
        let bytes = [
            0x81, 0xce, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x4b, 0xc4, 0xfc, 0xb4,
        ];
        let RtcpPacket::Pli(pli) = RtcpPacket::parse(&bytes).unwrap() else {
            panic!("not PLI");
        };
        assert_eq!(
            pli,
            Pli {
                sender_ssrc: 0,
                media_ssrc: 0x4bc4_fcb4
            }
        );
        let mut buf = [0u8; 12];
        assert_eq!(pli.write(&mut buf).unwrap(), 12);
        assert_eq!(buf, bytes);
        assert!(RtcpPacket::parse(&[0x81, 0xce, 0x00, 0x01, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn pion_fir() {
        // pion/rtcp full_intra_request_test.go "also valid": two entries.
        let bytes = [
            0x84, 0xce, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x4b, 0xc4, 0xfc, 0xb4, 0x12, 0x34,
            0x56, 0x78, 0x42, 0x00, 0x00, 0x00, 0x98, 0x76, 0x54, 0x32, 0x57, 0x00, 0x00, 0x00,
        ];
        let RtcpPacket::Fir(fir) = RtcpPacket::parse(&bytes).unwrap() else {
            panic!("not FIR");
        };
        assert_eq!(fir.sender_ssrc(), 0);
        assert_eq!(fir.media_ssrc(), 0x4bc4_fcb4);
        let entries: Vec<_> = fir.entries().collect();
        assert_eq!(
            entries,
            [
                FirEntry {
                    ssrc: 0x1234_5678,
                    seq_nr: 0x42
                },
                FirEntry {
                    ssrc: 0x9876_5432,
                    seq_nr: 0x57
                }
            ]
        );
        let mut buf = [0u8; 28];
        FirBuilder {
            sender_ssrc: 0,
            media_ssrc: 0x4bc4_fcb4,
            entries: &entries,
        }
        .write(&mut buf)
        .unwrap();
        assert_eq!(buf, bytes);
        // No room for an entry.
        let empty = [
            0x84, 0xce, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x4b, 0xc4, 0xfc, 0xb4,
        ];
        assert!(matches!(
            RtcpPacket::parse(&empty),
            Err(Error::RtcpTruncated {
                packet_type: 206,
                fmt: 4
            })
        ));
    }

    #[test]
    fn chrome_remb() {
        // pion/rtcp receiver_estimated_maximum_bitrate_test.go: "Real data
        // sent by Chrome while watching a 6Mb/s stream": exponent 6, mantissa
        // 139487, 8 927 168 bps, one SSRC.
        let bytes = [
            143, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 82, 69, 77, 66, 1, 26, 32, 223, 72, 116, 237,
            22,
        ];
        let RtcpPacket::Remb(remb) = RtcpPacket::parse(&bytes).unwrap() else {
            panic!("not REMB");
        };
        assert_eq!(remb.sender_ssrc(), 1);
        assert_eq!(remb.media_ssrc(), 0);
        assert_eq!(remb.bitrate_bps(), 8_927_168);
        assert_eq!(remb.ssrcs().collect::<Vec<_>>(), [1_215_622_422]);
        let mut buf = [0u8; 24];
        RembBuilder {
            sender_ssrc: 1,
            bitrate_bps: 8_927_168,
            ssrcs: &[1_215_622_422],
        }
        .write(&mut buf)
        .unwrap();
        assert_eq!(buf, bytes);
        // One less rounds the mantissa down by one unit of 2^6.
        assert_eq!(RembBuilder::exponent_mantissa(8_927_167), (6, 139_486));
    }

    #[test]
    fn remb_limits() {
        // pion's overflow test: mantissa 0x3FFFF, exponent 63 does not fit in u64.
        let overflow = [
            143, 206, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 82, 69, 77, 66, 0, 255, 255, 255,
        ];
        assert_eq!(
            RtcpPacket::parse(&overflow).unwrap_err(),
            Error::RembBitrateOverflow
        );
        // The largest u64 bitrate encodes and reads back rounded down.
        let mut buf = [0u8; 20];
        RembBuilder {
            bitrate_bps: u64::MAX,
            ..Default::default()
        }
        .write(&mut buf)
        .unwrap();
        let RtcpPacket::Remb(remb) = RtcpPacket::parse(&buf).unwrap() else {
            panic!("not REMB");
        };
        assert_eq!(remb.bitrate_bps(), 0x3_FFFF << 46);
        // AFB that is not REMB is unknown, not an error.
        let mut afb = overflow;
        afb[12..16].copy_from_slice(b"GOOG");
        assert!(matches!(
            RtcpPacket::parse(&afb),
            Ok(RtcpPacket::Unknown {
                packet_type: 206,
                fmt: 15,
                ..
            })
        ));
        // SSRC count beyond the packet.
        let short = bytes_with_count(3);
        assert!(matches!(
            RtcpPacket::parse(&short),
            Err(Error::RtcpTruncated { .. })
        ));
    }

    fn bytes_with_count(n: u8) -> Vec<u8> {
        let mut v = vec![143, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 82, 69, 77, 66];
        v.extend_from_slice(&[n, 0, 1, 0, 0, 0, 0, 1]);
        v
    }
}
