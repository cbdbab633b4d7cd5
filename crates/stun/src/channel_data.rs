//! TURN ChannelData messages (RFC 8656 §12.4).
//!
//! ```text
//!  0                   1                   2                   3
//! |         Channel Number        |            Length             |
//! |                       Application Data                        |
//! ```
//! Over UDP the data may be unpadded; over TCP/TLS it is padded to four bytes.

use crate::error::Error;

/// Header length of a ChannelData message.
pub const CHANNEL_DATA_HEADER_LEN: usize = 4;
/// The channel numbers a client may bind (RFC 8656 §12).
pub const CHANNEL_NUMBER_RANGE: std::ops::RangeInclusive<u16> = 0x4000..=0x4FFF;

/// A borrowed ChannelData message.
///
/// ```
/// use stun::ChannelData;
/// let mut buf = [0u8; 16];
/// let n = ChannelData::encode(0x4001, b"hello", &mut buf, false).unwrap();
/// let cd = ChannelData::parse(&buf[..n]).unwrap();
/// assert_eq!((cd.channel, cd.data), (0x4001, &b"hello"[..]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    /// The channel number, 0x4000..=0x4FFF.
    pub channel: u16,
    /// The application data.
    pub data: &'a [u8],
}

impl<'a> ChannelData<'a> {
    /// Parses one ChannelData message from the start of `buf`. Trailing bytes
    /// (padding, or a following message on a stream) are allowed; use
    /// [`ChannelData::framed_len`] to find where the next one starts on TCP.
    pub fn parse(buf: &'a [u8]) -> Result<ChannelData<'a>, Error> {
        if buf.len() < CHANNEL_DATA_HEADER_LEN {
            return Err(Error::TooShort(buf.len()));
        }
        let channel = u16::from_be_bytes([buf[0], buf[1]]);
        if !CHANNEL_NUMBER_RANGE.contains(&channel) {
            return Err(Error::BadChannelNumber(channel));
        }
        let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
        let available = buf.len() - CHANNEL_DATA_HEADER_LEN;
        if len > available {
            return Err(Error::ChannelDataTruncated {
                declared: len,
                available,
            });
        }
        Ok(ChannelData {
            channel,
            data: &buf[CHANNEL_DATA_HEADER_LEN..CHANNEL_DATA_HEADER_LEN + len],
        })
    }

    /// Length on a stream transport (header + data padded to four bytes),
    /// when at least the header is in `buf`.
    pub fn framed_len(buf: &[u8]) -> Option<usize> {
        if buf.len() < CHANNEL_DATA_HEADER_LEN {
            return None;
        }
        let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
        Some(CHANNEL_DATA_HEADER_LEN + ((len + 3) & !3))
    }

    /// Writes a ChannelData message into `out` and returns its length.
    /// `pad` adds zero padding to four bytes (required over TCP).
    pub fn encode(channel: u16, data: &[u8], out: &mut [u8], pad: bool) -> Result<usize, Error> {
        if !CHANNEL_NUMBER_RANGE.contains(&channel) {
            return Err(Error::BadChannelNumber(channel));
        }
        if data.len() > u16::MAX as usize {
            return Err(Error::ValueTooLong(crate::AttributeType::DATA));
        }
        let total = CHANNEL_DATA_HEADER_LEN
            + if pad {
                (data.len() + 3) & !3
            } else {
                data.len()
            };
        if out.len() < total {
            return Err(Error::BufferTooSmall);
        }
        out[0..2].copy_from_slice(&channel.to_be_bytes());
        out[2..4].copy_from_slice(&(data.len() as u16).to_be_bytes());
        out[4..4 + data.len()].copy_from_slice(data);
        for b in &mut out[4 + data.len()..total] {
            *b = 0;
        }
        Ok(total)
    }

    /// Wraps data already in place: the payload is
    /// `buf[CHANNEL_DATA_HEADER_LEN..CHANNEL_DATA_HEADER_LEN + len]`; the
    /// header is written before it (and, with `pad`, zeros after it up to
    /// four bytes), so the message is `buf[..n]` for the returned `n`.
    /// Nothing is copied.
    ///
    /// ```
    /// use stun::channel_data::{ChannelData, CHANNEL_DATA_HEADER_LEN};
    /// let mut buf = [0u8; 12];
    /// buf[CHANNEL_DATA_HEADER_LEN..][..3].copy_from_slice(b"abc");
    /// let n = ChannelData::wrap_in_place(0x4001, &mut buf, 3, true).unwrap();
    /// assert_eq!(&buf[..n], &[0x40, 0x01, 0, 3, b'a', b'b', b'c', 0]);
    /// assert_eq!(ChannelData::parse(&buf[..n]).unwrap().data, b"abc");
    /// ```
    pub fn wrap_in_place(
        channel: u16,
        buf: &mut [u8],
        len: usize,
        pad: bool,
    ) -> Result<usize, Error> {
        if !CHANNEL_NUMBER_RANGE.contains(&channel) {
            return Err(Error::BadChannelNumber(channel));
        }
        if len > u16::MAX as usize {
            return Err(Error::ValueTooLong(crate::AttributeType::DATA));
        }
        let end = CHANNEL_DATA_HEADER_LEN + len;
        let total = if pad { (end + 3) & !3 } else { end };
        if buf.len() < total {
            return Err(Error::BufferTooSmall);
        }
        buf[0..2].copy_from_slice(&channel.to_be_bytes());
        buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        buf[end..total].fill(0);
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let mut buf = [0u8; 16];
        let n = ChannelData::encode(0x4FFF, b"abcde", &mut buf, true).unwrap();
        assert_eq!(n, 12);
        assert_eq!(ChannelData::framed_len(&buf), Some(12));
        let cd = ChannelData::parse(&buf[..n]).unwrap();
        assert_eq!(cd.data, b"abcde");
        assert_eq!(
            ChannelData::parse(&buf[..6]),
            Err(Error::ChannelDataTruncated {
                declared: 5,
                available: 2
            })
        );
        assert_eq!(
            ChannelData::parse(&[0x50, 0, 0, 0]),
            Err(Error::BadChannelNumber(0x5000))
        );
        assert_eq!(ChannelData::parse(&[0x40]), Err(Error::TooShort(1)));
        assert_eq!(
            ChannelData::encode(0x3FFF, b"", &mut buf, false),
            Err(Error::BadChannelNumber(0x3FFF))
        );
        assert_eq!(
            ChannelData::encode(0x4000, &[0; 20], &mut buf, false),
            Err(Error::BufferTooSmall)
        );
    }
}
