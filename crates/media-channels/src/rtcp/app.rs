//! Application-defined packets (RFC 3550 §6.7).

use std::fmt;

use super::{begin_packet, packet_type, truncated, u32_at, Header, RtcpWrite};
use crate::error::Error;

/// An APP packet.
#[derive(Clone, Copy)]
pub struct App<'a> {
    body: &'a [u8],
    subtype: u8,
}

impl<'a> App<'a> {
    pub(crate) fn parse(header: &Header, body: &'a [u8]) -> Result<App<'a>, Error> {
        if body.len() < 8 {
            return Err(truncated(header));
        }
        Ok(App {
            body,
            subtype: header.count,
        })
    }

    /// The five-bit subtype.
    pub fn subtype(&self) -> u8 {
        self.subtype
    }

    /// The sender's SSRC or CSRC.
    pub fn ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The four-character name.
    pub fn name(&self) -> [u8; 4] {
        let mut name = [0u8; 4];
        if let Some(n) = self.body.get(4..8) {
            name.copy_from_slice(n);
        }
        name
    }

    /// The application-dependent data.
    pub fn data(&self) -> &'a [u8] {
        self.body.get(8..).unwrap_or(&[])
    }
}

impl fmt::Debug for App<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("subtype", &self.subtype)
            .field("ssrc", &self.ssrc())
            .field("name", &String::from_utf8_lossy(&self.name()))
            .field("data_len", &self.data().len())
            .finish()
    }
}

/// Writes an APP packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppBuilder<'a> {
    /// Subtype, 0–31.
    pub subtype: u8,
    /// The sender's SSRC or CSRC.
    pub ssrc: u32,
    /// Four ASCII characters naming the application.
    pub name: [u8; 4],
    /// Application-dependent data, whole 32-bit words.
    pub data: &'a [u8],
}

impl RtcpWrite for AppBuilder<'_> {
    fn encoded_len(&self) -> usize {
        12 + self.data.len()
    }

    fn write(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.subtype > 31 {
            return Err(Error::InvalidInput("APP subtype above 31"));
        }
        if self.data.len() % 4 != 0 {
            return Err(Error::InvalidInput(
                "APP data must be a whole number of 32-bit words",
            ));
        }
        let total = self.encoded_len();
        begin_packet(buf, total, false, self.subtype, packet_type::APP)?;
        buf[4..8].copy_from_slice(&self.ssrc.to_be_bytes());
        buf[8..12].copy_from_slice(&self.name);
        buf[12..total].copy_from_slice(self.data);
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::RtcpPacket;

    #[test]
    fn round_trip_and_limits() {
        // pion/rtcp application_defined_test.go "valid": subtype 0, SSRC
        // 0x4baae1ab, name "NAME", data "ABCD".
        let bytes = [
            0x80, 0xcc, 0x00, 0x03, 0x4b, 0xaa, 0xe1, 0xab, b'N', b'A', b'M', b'E', b'A', b'B',
            b'C', b'D',
        ];
        let RtcpPacket::App(app) = RtcpPacket::parse(&bytes).unwrap() else {
            panic!("not APP");
        };
        assert_eq!(app.subtype(), 0);
        assert_eq!(app.ssrc(), 0x4baa_e1ab);
        assert_eq!(&app.name(), b"NAME");
        assert_eq!(app.data(), b"ABCD");
        let b = AppBuilder {
            subtype: 0,
            ssrc: 0x4baa_e1ab,
            name: *b"NAME",
            data: b"ABCD",
        };
        let mut buf = [0u8; 16];
        assert_eq!(b.write(&mut buf).unwrap(), 16);
        assert_eq!(buf, bytes);
        assert!(AppBuilder { data: b"abc", ..b }.write(&mut buf).is_err());
        // pion "validWithPadding": data "ABCDE" and three bytes of RTCP padding.
        let padded = [
            0xA0, 0xcc, 0x00, 0x04, 0x4b, 0xaa, 0xe1, 0xab, b'N', b'A', b'M', b'E', b'A', b'B',
            b'C', b'D', b'E', 0x03, 0x03, 0x03,
        ];
        let RtcpPacket::App(app) = RtcpPacket::parse(&padded).unwrap() else {
            panic!("not APP");
        };
        assert_eq!(app.data(), b"ABCDE");
        // pion "wrongPaddingSize": a count of 9 fits the 16-byte body, but
        // leaves 7 bytes, too few for SSRC and name.
        let mut wrong = padded;
        wrong[19] = 9;
        assert!(matches!(
            RtcpPacket::parse(&wrong),
            Err(Error::RtcpTruncated {
                packet_type: 204,
                ..
            })
        ));
        // A count beyond the body is a padding error.
        wrong[19] = 17;
        assert_eq!(
            RtcpPacket::parse(&wrong).unwrap_err(),
            Error::BadPadding {
                padding: 17,
                available: 16
            }
        );
        assert!(matches!(
            RtcpPacket::parse(&[0x80, 0xcc, 0x00, 0x01, 0, 0, 0, 1]),
            Err(Error::RtcpTruncated {
                packet_type: 204,
                ..
            })
        ));
    }
}
