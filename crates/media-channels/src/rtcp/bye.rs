//! Goodbye (RFC 3550 §6.6): the sources leaving, and an optional reason.

use std::fmt;

use super::{
    begin_packet, check_count, packet_type, truncated, write_ssrcs, Header, RtcpWrite, Ssrcs,
};
use crate::error::Error;

/// A BYE packet.
#[derive(Clone, Copy)]
pub struct Bye<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> Bye<'a> {
    pub(crate) fn parse(header: &Header, body: &'a [u8]) -> Result<Bye<'a>, Error> {
        let ssrcs_len = 4 * usize::from(header.count);
        if body.len() < ssrcs_len {
            return Err(truncated(header));
        }
        if let Some(&len) = body.get(ssrcs_len) {
            if body.len() < ssrcs_len + 1 + usize::from(len) {
                return Err(truncated(header));
            }
        }
        Ok(Bye {
            body,
            count: header.count,
        })
    }

    /// The sources leaving.
    pub fn ssrcs(&self) -> Ssrcs<'a> {
        let end = 4 * usize::from(self.count);
        Ssrcs::new(self.body.get(..end).unwrap_or(&[]))
    }

    /// The reason for leaving, when one is given (empty reasons read as none).
    pub fn reason(&self) -> Option<&'a [u8]> {
        let at = 4 * usize::from(self.count);
        let len = usize::from(*self.body.get(at)?);
        self.body
            .get(at + 1..at + 1 + len)
            .filter(|r| !r.is_empty())
    }

    /// The reason as text, when it is given and UTF-8.
    pub fn reason_str(&self) -> Option<&'a str> {
        self.reason().and_then(|r| std::str::from_utf8(r).ok())
    }
}

impl fmt::Debug for Bye<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bye")
            .field("ssrcs", &self.ssrcs().collect::<Vec<_>>())
            .field("reason", &self.reason().map(String::from_utf8_lossy))
            .finish()
    }
}

/// Writes a BYE packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByeBuilder<'a> {
    /// The sources leaving, at most 31.
    pub ssrcs: &'a [u32],
    /// A reason, at most 255 bytes.
    pub reason: Option<&'a [u8]>,
}

impl RtcpWrite for ByeBuilder<'_> {
    fn encoded_len(&self) -> usize {
        let reason = self.reason.map_or(0, |r| (1 + r.len()).div_ceil(4) * 4);
        4 + 4 * self.ssrcs.len() + reason
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let count = check_count(self.ssrcs.len(), "more than 31 BYE sources")?;
        if self.reason.is_some_and(|r| r.len() > 255) {
            return Err(Error::InvalidInput("BYE reason longer than 255 bytes"));
        }
        let total = self.encoded_len();
        begin_packet(buf, total, false, count, packet_type::BYE)?;
        write_ssrcs(buf, 4, self.ssrcs);
        if let Some(reason) = self.reason {
            let at = 4 + 4 * self.ssrcs.len();
            buf[at] = reason.len() as u8;
            buf[at + 1..at + 1 + reason.len()].copy_from_slice(reason);
            // RFC 3550 §6.6: null octets to the 32-bit boundary (not RTCP padding).
            buf[at + 1 + reason.len()..total].fill(0);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::RtcpPacket;

    fn parse(bytes: &[u8]) -> Result<Bye<'_>, Error> {
        match RtcpPacket::parse(bytes)? {
            RtcpPacket::Bye(b) => Ok(b),
            other => panic!("not BYE: {other:?}"),
        }
    }

    #[test]
    fn pion_goodbye_vectors() {
        // pion/rtcp goodbye_test.go "valid": one source, reason "FOO" (pion's
        // length field says 12; 12 bytes are 3 words, length field 2).
        let bytes = [
            0x81, 0xcb, 0x00, 0x02, 0x90, 0x2f, 0x9e, 0x2e, 0x03, 0x46, 0x4f, 0x4f,
        ];
        let bye = parse(&bytes).unwrap();
        assert_eq!(bye.ssrcs().collect::<Vec<_>>(), [0x902f_9e2e]);
        assert_eq!(bye.reason_str(), Some("FOO"));
        let mut buf = [0u8; 12];
        let n = ByeBuilder {
            ssrcs: &[0x902f_9e2e],
            reason: Some(b"FOO"),
        }
        .write(&mut buf)
        .unwrap();
        assert_eq!(buf[..n], bytes);
        // pion "short reason": "F" and two null octets.
        let short = [
            0x81, 0xcb, 0x00, 0x02, 0x90, 0x2f, 0x9e, 0x2e, 0x01, 0x46, 0x00, 0x00,
        ];
        assert_eq!(parse(&short).unwrap().reason(), Some(&b"F"[..]));

        // pion "invalid octet count": the reason says 4 bytes, 3 are present.
        let mut bad = bytes;
        bad[8] = 4;
        assert!(matches!(parse(&bad), Err(Error::RtcpTruncated { .. })));
        // No reason at all.
        let bye = parse(&[0x81, 0xcb, 0x00, 0x01, 0, 0, 0, 9]).unwrap();
        assert_eq!(bye.ssrcs().collect::<Vec<_>>(), [9]);
        assert_eq!(bye.reason(), None);
        // More sources counted than present.
        assert!(parse(&[0x82, 0xcb, 0x00, 0x01, 0, 0, 0, 9]).is_err());
    }

    #[test]
    fn reason_padding() {
        let mut buf = [0u8; 16];
        let b = ByeBuilder {
            ssrcs: &[1],
            reason: Some(b"bye"),
        };
        // 1 + 3 reason bytes fit one word exactly.
        assert_eq!(b.write(&mut buf).unwrap(), 12);
        let b = ByeBuilder {
            ssrcs: &[1],
            reason: Some(b"gone"),
        };
        assert_eq!(b.write(&mut buf).unwrap(), 16);
        assert_eq!(parse(&buf).unwrap().reason(), Some(&b"gone"[..]));
        let long = [b'x'; 256];
        assert!(ByeBuilder {
            ssrcs: &[],
            reason: Some(&long)
        }
        .write(&mut [0u8; 512])
        .is_err());
    }
}
