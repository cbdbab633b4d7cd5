//! Sender and receiver reports with their report blocks (RFC 3550 §6.4).

use std::fmt;

use super::{begin_packet, check_count, packet_type, truncated, u32_at, Header, RtcpWrite};
use crate::error::Error;
use crate::rtp::stats::{NtpTime, CUMULATIVE_LOST_MAX, CUMULATIVE_LOST_MIN};

/// Length of one report block.
pub const REPORT_BLOCK_LEN: usize = 24;
/// Length of the sender info after the SSRC in an SR.
const SENDER_INFO_LEN: usize = 20;

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256ths.
    pub fraction_lost: u8,
    /// Cumulative packets lost, signed 24 bits.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// LSR: the middle 32 bits of the last SR's NTP time (0: none received).
    pub last_sr: u32,
    /// DLSR: delay since that SR, in 1/65 536 s.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    /// Reads a block from its 24 bytes (shorter input reads as zeros).
    pub fn parse(b: &[u8]) -> ReportBlock {
        let lost = u32_at(b, 4);
        // Sign-extend the 24-bit cumulative loss.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        ReportBlock {
            ssrc: u32_at(b, 0),
            fraction_lost: (lost >> 24) as u8,
            cumulative_lost,
            extended_highest_seq: u32_at(b, 8),
            jitter: u32_at(b, 12),
            last_sr: u32_at(b, 16),
            delay_since_last_sr: u32_at(b, 20),
        }
    }

    /// Writes the block's 24 bytes at the start of `out` (which holds them).
    fn write(&self, out: &mut [u8]) -> Result<(), Error> {
        if !(CUMULATIVE_LOST_MIN..=CUMULATIVE_LOST_MAX).contains(&self.cumulative_lost) {
            return Err(Error::InvalidInput(
                "cumulative lost outside signed 24 bits",
            ));
        }
        let lost =
            (u32::from(self.fraction_lost) << 24) | (self.cumulative_lost as u32 & 0x00FF_FFFF);
        for (i, v) in [
            self.ssrc,
            lost,
            self.extended_highest_seq,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        ]
        .into_iter()
        .enumerate()
        {
            out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
        }
        Ok(())
    }
}

/// Iterator over the report blocks of an SR or RR.
#[derive(Debug, Clone)]
pub struct ReportBlocks<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        self.chunks.next().map(ReportBlock::parse)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for ReportBlocks<'_> {}
impl std::iter::FusedIterator for ReportBlocks<'_> {}

fn report_blocks(body: &[u8], start: usize, count: u8) -> ReportBlocks<'_> {
    let end = start + REPORT_BLOCK_LEN * usize::from(count);
    ReportBlocks {
        chunks: body
            .get(start..end)
            .unwrap_or(&[])
            .chunks_exact(REPORT_BLOCK_LEN),
    }
}

/// A sender report (RFC 3550 §6.4.1).
#[derive(Clone, Copy)]
pub struct SenderReport<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> SenderReport<'a> {
    pub(crate) fn parse(header: &Header, body: &'a [u8]) -> Result<SenderReport<'a>, Error> {
        let needed = 4 + SENDER_INFO_LEN + REPORT_BLOCK_LEN * usize::from(header.count);
        if body.len() < needed {
            return Err(truncated(header));
        }
        Ok(SenderReport {
            body,
            count: header.count,
        })
    }

    /// The sender's SSRC.
    pub fn ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The wall-clock time the report was sent.
    pub fn ntp_time(&self) -> NtpTime {
        NtpTime((u64::from(u32_at(self.body, 4)) << 32) | u64::from(u32_at(self.body, 8)))
    }

    /// The RTP timestamp corresponding to [`SenderReport::ntp_time`].
    pub fn rtp_time(&self) -> u32 {
        u32_at(self.body, 12)
    }

    /// Packets sent since the start of transmission.
    pub fn packet_count(&self) -> u32 {
        u32_at(self.body, 16)
    }

    /// Payload octets sent since the start of transmission.
    pub fn octet_count(&self) -> u32 {
        u32_at(self.body, 20)
    }

    /// The report blocks.
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        report_blocks(self.body, 4 + SENDER_INFO_LEN, self.count)
    }

    /// Profile-specific extension bytes after the report blocks.
    pub fn extension(&self) -> &'a [u8] {
        let start = 4 + SENDER_INFO_LEN + REPORT_BLOCK_LEN * usize::from(self.count);
        self.body.get(start..).unwrap_or(&[])
    }
}

impl fmt::Debug for SenderReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderReport")
            .field("ssrc", &self.ssrc())
            .field("ntp_time", &self.ntp_time())
            .field("rtp_time", &self.rtp_time())
            .field("packet_count", &self.packet_count())
            .field("octet_count", &self.octet_count())
            .field("report_blocks", &self.report_blocks().collect::<Vec<_>>())
            .field("extension_len", &self.extension().len())
            .finish()
    }
}

/// A receiver report (RFC 3550 §6.4.2).
#[derive(Clone, Copy)]
pub struct ReceiverReport<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> ReceiverReport<'a> {
    pub(crate) fn parse(header: &Header, body: &'a [u8]) -> Result<ReceiverReport<'a>, Error> {
        if body.len() < 4 + REPORT_BLOCK_LEN * usize::from(header.count) {
            return Err(truncated(header));
        }
        Ok(ReceiverReport {
            body,
            count: header.count,
        })
    }

    /// The reporter's SSRC.
    pub fn ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The report blocks.
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        report_blocks(self.body, 4, self.count)
    }

    /// Profile-specific extension bytes after the report blocks.
    pub fn extension(&self) -> &'a [u8] {
        let start = 4 + REPORT_BLOCK_LEN * usize::from(self.count);
        self.body.get(start..).unwrap_or(&[])
    }
}

impl fmt::Debug for ReceiverReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverReport")
            .field("ssrc", &self.ssrc())
            .field("report_blocks", &self.report_blocks().collect::<Vec<_>>())
            .field("extension_len", &self.extension().len())
            .finish()
    }
}

fn check_extension(extension: &[u8]) -> Result<(), Error> {
    if extension.len() % 4 != 0 {
        return Err(Error::InvalidInput(
            "report extension must be a whole number of 32-bit words",
        ));
    }
    Ok(())
}

fn write_blocks(buf: &mut [u8], at: usize, blocks: &[ReportBlock]) -> Result<usize, Error> {
    let mut pos = at;
    for block in blocks {
        block.write(&mut buf[pos..pos + REPORT_BLOCK_LEN])?;
        pos += REPORT_BLOCK_LEN;
    }
    Ok(pos)
}

/// Writes a sender report.
#[derive(Debug, Clone, Copy, Default)]
pub struct SenderReportBuilder<'a> {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// Wall-clock time of sending.
    pub ntp_time: NtpTime,
    /// The RTP timestamp at `ntp_time`.
    pub rtp_time: u32,
    /// Packets sent so far.
    pub packet_count: u32,
    /// Payload octets sent so far.
    pub octet_count: u32,
    /// Report blocks, at most 31 (more go in following RRs).
    pub report_blocks: &'a [ReportBlock],
    /// Profile-specific extension, whole 32-bit words.
    pub extension: &'a [u8],
}

impl RtcpWrite for SenderReportBuilder<'_> {
    fn encoded_len(&self) -> usize {
        4 + 4 + SENDER_INFO_LEN + REPORT_BLOCK_LEN * self.report_blocks.len() + self.extension.len()
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let count = check_count(self.report_blocks.len(), "more than 31 report blocks")?;
        check_extension(self.extension)?;
        let total = self.encoded_len();
        begin_packet(buf, total, false, count, packet_type::SR)?;
        buf[4..8].copy_from_slice(&self.ssrc.to_be_bytes());
        buf[8..16].copy_from_slice(&self.ntp_time.0.to_be_bytes());
        buf[16..20].copy_from_slice(&self.rtp_time.to_be_bytes());
        buf[20..24].copy_from_slice(&self.packet_count.to_be_bytes());
        buf[24..28].copy_from_slice(&self.octet_count.to_be_bytes());
        let pos = write_blocks(buf, 28, self.report_blocks)?;
        buf[pos..total].copy_from_slice(self.extension);
        Ok(total)
    }
}

/// Writes a receiver report.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceiverReportBuilder<'a> {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// Report blocks, at most 31.
    pub report_blocks: &'a [ReportBlock],
    /// Profile-specific extension, whole 32-bit words.
    pub extension: &'a [u8],
}

impl RtcpWrite for ReceiverReportBuilder<'_> {
    fn encoded_len(&self) -> usize {
        4 + 4 + REPORT_BLOCK_LEN * self.report_blocks.len() + self.extension.len()
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let count = check_count(self.report_blocks.len(), "more than 31 report blocks")?;
        check_extension(self.extension)?;
        let total = self.encoded_len();
        begin_packet(buf, total, false, count, packet_type::RR)?;
        buf[4..8].copy_from_slice(&self.ssrc.to_be_bytes());
        let pos = write_blocks(buf, 8, self.report_blocks)?;
        buf[pos..total].copy_from_slice(self.extension);
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::{RtcpPacket, RtcpWrite};

    // pion/rtcp sender_report_test.go, "valid": one report block.
    const PION_SR: [u8; 52] = [
        0x81, 0xc8, 0x00, 0x0c, 0x90, 0x2f, 0x9e, 0x2e, 0xda, 0x8b, 0xd1, 0xfc, 0xdd, 0xdd, 0xa0,
        0x5a, 0xaa, 0xf4, 0xed, 0xd5, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0xbc, 0x5e,
        0x9a, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46, 0xe1, 0x00, 0x00, 0x01, 0x11, 0x09,
        0xf3, 0x64, 0x32, 0x00, 0x02, 0x4a, 0x79,
    ];

    #[test]
    fn pion_sender_report() {
        // pion writes 7 in the length field of this vector (its Unmarshal
        // ignores it); 52 bytes are 13 words, length field 12.
        let RtcpPacket::SenderReport(sr) = RtcpPacket::parse(&PION_SR).unwrap() else {
            panic!("not an SR");
        };
        assert_eq!(sr.ssrc(), 0x902f_9e2e);
        assert_eq!(sr.ntp_time(), NtpTime(0xda8b_d1fc_dddd_a05a));
        assert_eq!(sr.rtp_time(), 0xaaf4_edd5);
        assert_eq!(sr.packet_count(), 1);
        assert_eq!(sr.octet_count(), 2);
        let blocks: Vec<_> = sr.report_blocks().collect();
        assert_eq!(
            blocks,
            [ReportBlock {
                ssrc: 0xbc5e_9a40,
                fraction_lost: 0,
                cumulative_lost: 0,
                extended_highest_seq: 0x46e1,
                jitter: 273,
                last_sr: 0x09f3_6432,
                delay_since_last_sr: 150_137,
            }]
        );
        assert!(sr.extension().is_empty());

        // And we write the same bytes.
        let b = SenderReportBuilder {
            ssrc: sr.ssrc(),
            ntp_time: sr.ntp_time(),
            rtp_time: sr.rtp_time(),
            packet_count: 1,
            octet_count: 2,
            report_blocks: &blocks,
            extension: &[],
        };
        let mut buf = [0u8; 64];
        let n = b.write(&mut buf).unwrap();
        assert_eq!(buf[..n], PION_SR);
    }

    #[test]
    fn pion_sender_report_with_extension() {
        // pion/rtcp sender_report_test.go "with extension" (issue #447): no
        // blocks, 28 bytes of profile-specific extension. pion's length field
        // says 6; 56 bytes are 14 words, length field 13.
        let bytes = [
            0x80, 0xc8, 0x00, 0x0d, 0x2b, 0x7e, 0xc0, 0xc5, 0xe0, 0x20, 0xa2, 0xa9, 0x52, 0xa5,
            0x3f, 0xc0, 0x2e, 0x48, 0xa5, 0x52, 0x00, 0x00, 0x00, 0x46, 0x00, 0x00, 0x12, 0x1d,
            0x81, 0xca, 0x00, 0x06, 0x2b, 0x7e, 0xc0, 0xc5, 0x01, 0x10, 0x4c, 0x63, 0x49, 0x66,
            0x7a, 0x58, 0x6f, 0x6e, 0x44, 0x6f, 0x72, 0x64, 0x53, 0x65, 0x57, 0x36, 0x00, 0x00,
        ];
        let RtcpPacket::SenderReport(sr) = RtcpPacket::parse(&bytes).unwrap() else {
            panic!("not an SR");
        };
        assert_eq!(sr.packet_count(), 70);
        assert_eq!(sr.octet_count(), 4637);
        assert_eq!(sr.report_blocks().len(), 0);
        assert_eq!(sr.extension(), &bytes[28..]);
    }

    #[test]
    fn truncated_reports() {
        // pion's "bad count in header": RC 2 with room for one block.
        let mut bytes = PION_SR;
        bytes[0] = 0x82;
        assert_eq!(
            RtcpPacket::parse(&bytes).unwrap_err(),
            Error::RtcpTruncated {
                packet_type: 200,
                fmt: 2
            }
        );
        // An RR with RC 1 and no block.
        let rr = [0x81, 201, 0x00, 0x01, 0, 0, 0, 1];
        assert!(matches!(
            RtcpPacket::parse(&rr),
            Err(Error::RtcpTruncated {
                packet_type: 201,
                ..
            })
        ));
    }

    #[test]
    fn negative_cumulative_lost() {
        let block = ReportBlock {
            ssrc: 7,
            fraction_lost: 3,
            cumulative_lost: -2,
            ..ReportBlock::default()
        };
        let mut raw = [0u8; 24];
        block.write(&mut raw).unwrap();
        assert_eq!(&raw[4..8], [3, 0xFF, 0xFF, 0xFE]);
        assert_eq!(ReportBlock::parse(&raw), block);
        let too_big = ReportBlock {
            cumulative_lost: 1 << 23,
            ..block
        };
        assert!(too_big.write(&mut raw).is_err());
    }

    #[test]
    fn builder_limits() {
        let blocks = [ReportBlock::default(); 32];
        let mut buf = vec![0u8; 2048];
        let rr = ReceiverReportBuilder {
            ssrc: 1,
            report_blocks: &blocks,
            extension: &[],
        };
        assert!(matches!(rr.write(&mut buf), Err(Error::InvalidInput(_))));
        let rr = ReceiverReportBuilder {
            ssrc: 1,
            report_blocks: &blocks[..31],
            extension: &[1, 2, 3],
        };
        assert!(matches!(rr.write(&mut buf), Err(Error::InvalidInput(_))));
        let rr = ReceiverReportBuilder {
            ssrc: 1,
            report_blocks: &blocks[..31],
            extension: &[1, 2, 3, 4],
        };
        let n = rr.write(&mut buf).unwrap();
        assert_eq!(n, 8 + 31 * 24 + 4);
        let RtcpPacket::ReceiverReport(parsed) = RtcpPacket::parse(&buf[..n]).unwrap() else {
            panic!("not an RR");
        };
        assert_eq!(parsed.report_blocks().len(), 31);
        assert_eq!(parsed.extension(), [1, 2, 3, 4]);
        assert_eq!(
            rr.write(&mut buf[..n - 1]),
            Err(Error::BufferTooSmall {
                needed: n,
                available: n - 1
            })
        );
    }
}
