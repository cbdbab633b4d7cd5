//! The first-byte demultiplexer of RFC 7983 (as updated by RFC 9443), which
//! every layer above uses to split one 5-tuple into STUN, DTLS, TURN
//! ChannelData and SRTP/SRTCP.
//!
//! ```text
//!          +----------------+
//!          |        [0..3] -+--> STUN
//!          |      [16..19] -+--> ZRTP
//!          |      [20..63] -+--> DTLS
//!          |      [64..79] -+--> TURN ChannelData
//!          |    [128..191] -+--> RTP / RTCP
//!          +----------------+
//! ```

/// What a datagram is, judged by its first byte (and, for RTP/RTCP, its second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// STUN (first byte 0–3).
    Stun,
    /// ZRTP (16–19).
    Zrtp,
    /// DTLS record (20–63).
    Dtls,
    /// TURN ChannelData (64–79).
    ChannelData,
    /// RTP (128–191, payload type outside 64–95 per RFC 5761).
    Rtp,
    /// RTCP (128–191, packet type 192–223).
    Rtcp,
    /// Empty, or a first byte no protocol claims: drop it.
    Unknown,
}

/// Classifies a datagram by its first byte, RFC 7983 §7 / RFC 9443 §3, and
/// RTP from RTCP by the second byte (RFC 5761 §4: RTCP packet types 192–223).
///
/// ```
/// use stun::{classify, PacketKind};
/// assert_eq!(classify(&[0x00, 0x01]), PacketKind::Stun);
/// assert_eq!(classify(&[22, 0xfe, 0xfd]), PacketKind::Dtls);
/// assert_eq!(classify(&[0x40, 0x00]), PacketKind::ChannelData);
/// assert_eq!(classify(&[0x80, 96]), PacketKind::Rtp);
/// assert_eq!(classify(&[0x80, 200]), PacketKind::Rtcp);
/// assert_eq!(classify(&[]), PacketKind::Unknown);
/// ```
#[inline]
pub fn classify(datagram: &[u8]) -> PacketKind {
    let Some(&first) = datagram.first() else {
        return PacketKind::Unknown;
    };
    match first {
        0..=3 => PacketKind::Stun,
        16..=19 => PacketKind::Zrtp,
        20..=63 => PacketKind::Dtls,
        64..=79 => PacketKind::ChannelData,
        128..=191 => match datagram.get(1) {
            Some(pt) if (192..=223).contains(pt) => PacketKind::Rtcp,
            Some(_) => PacketKind::Rtp,
            None => PacketKind::Unknown,
        },
        _ => PacketKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_byte_has_one_kind() {
        for b in 0u8..=255 {
            let k = classify(&[b, 96]);
            let expected = match b {
                0..=3 => PacketKind::Stun,
                16..=19 => PacketKind::Zrtp,
                20..=63 => PacketKind::Dtls,
                64..=79 => PacketKind::ChannelData,
                128..=191 => PacketKind::Rtp,
                _ => PacketKind::Unknown,
            };
            assert_eq!(k, expected, "first byte {b}");
        }
        assert_eq!(classify(&[0x81, 201]), PacketKind::Rtcp);
        assert_eq!(classify(&[0x80]), PacketKind::Unknown);
    }
}
