//! Values of single lines and attributes: origin, connection, bandwidth,
//! timing, fingerprint, setup, ICE credentials, payload types, simulcast.

use dtls_transport::certificate::ParseFingerprintError;

use super::lex::{exact_fields, fields, number, required, SplitByte, Strings};
use super::{Line, MAX_FINGERPRINTS};
use crate::error::{Limited, Violation};
use crate::model::{Bandwidth, Connection, Fingerprint, Origin, Setup, Simulcast, SimulcastLayer};
use crate::Error;

pub(super) fn parse_origin(
    strings: &mut Strings,
    line: Line<'_>,
    value: &str,
) -> Result<Origin, Error> {
    const WHAT: &str = "`o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`";
    let [username, id, version, net_type, address_type, address] = exact_fields(line, value, WHAT)?;
    Ok(Origin {
        username: strings.get(username),
        session_id: number(line, id, "a numeric session id (0 to 2^64-1)")?,
        session_version: number(line, version, "a numeric session version")?,
        net_type: strings.get(net_type),
        address_type: strings.get(address_type),
        address: strings.get(address),
    })
}

pub(super) fn parse_connection(
    strings: &mut Strings,
    line: Line<'_>,
    value: &str,
) -> Result<Connection, Error> {
    const WHAT: &str = "`c=<nettype> <addrtype> <address>`";
    let [net_type, address_type, address] = exact_fields(line, value, WHAT)?;
    Ok(Connection {
        net_type: strings.get(net_type),
        address_type: strings.get(address_type),
        address: strings.get(address),
    })
}

pub(super) fn parse_bandwidth(
    strings: &mut Strings,
    line: Line<'_>,
    value: &str,
) -> Result<Bandwidth, Error> {
    const WHAT: &str = "`b=<bwtype>:<bandwidth>`";
    let (kind, v) = value.split_once_byte(b':').ok_or_else(|| line.err(WHAT))?;
    if kind.is_empty() {
        return Err(line.err(WHAT));
    }
    Ok(Bandwidth {
        kind: strings.get(kind),
        value: number(line, v, WHAT)?,
    })
}

pub(super) fn parse_timing(line: Line<'_>, value: &str) -> Result<(u64, u64), Error> {
    const WHAT: &str = "`t=<start-time> <stop-time>`";
    let (a, b) = value.split_once_byte(b' ').ok_or_else(|| line.err(WHAT))?;
    Ok((number(line, a, WHAT)?, number(line, b, WHAT)?))
}

/// `a=fingerprint`, reusing the previous result when the text repeats it.
/// `None` for a well-formed fingerprint with a hash function DTLS does not
/// support (kept as an unknown attribute).
pub(super) fn parse_fingerprint<'a>(
    last: &mut Option<(&'a str, Fingerprint)>,
    line: Line<'_>,
    value: Option<&'a str>,
) -> Result<Option<Fingerprint>, Error> {
    const WHAT: &str = "a fingerprint `<hash-func> <XX:XX:…>`";
    let value = required(line, value, WHAT)?;
    if let Some((text, fp)) = last {
        if *text == value {
            return Ok(Some(*fp));
        }
    }
    match value.parse::<Fingerprint>() {
        Ok(fp) => {
            *last = Some((value, fp));
            Ok(Some(fp))
        }
        Err(ParseFingerprintError::UnknownAlgorithm) if is_unknown_fingerprint(value) => Ok(None),
        Err(_) => Err(line.err(WHAT)),
    }
}

/// `<hash-func> <hex pairs>` with a hash function token we do not support
/// (RFC 8122 §5: `md5`, `sha-224`, …).
pub(super) fn is_unknown_fingerprint(value: &str) -> bool {
    let Some((hash, hex)) = value.split_once_byte(b' ') else {
        return false;
    };
    is_token(hash)
        && !hex.is_empty()
        && fields(hex, b':').all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Appends a fingerprint to a block's list, bounded by [`MAX_FINGERPRINTS`].
pub(super) fn push_fingerprint(
    line: Line<'_>,
    section: Option<usize>,
    list: &mut Vec<Fingerprint>,
    fp: Fingerprint,
) -> Result<(), Error> {
    if list.len() >= MAX_FINGERPRINTS {
        let v = Violation::TooMany {
            what: Limited::Fingerprints,
            limit: MAX_FINGERPRINTS,
        };
        return Err(line.invalid(section, v));
    }
    list.push(fp);
    Ok(())
}

pub(super) fn parse_setup(
    line: Line<'_>,
    section: Option<usize>,
    value: Option<&str>,
) -> Result<Setup, Error> {
    required(line, value, "`setup:active`, `passive` or `actpass`")?
        .parse()
        .map_err(|_| line.invalid(section, Violation::Setup))
}

/// An `a=ice-ufrag` or `a=ice-pwd` value that `valid` accepts (RFC 8839's
/// grammar), or `violation` on this line.
pub(super) fn ice_credential<'a>(
    line: Line<'_>,
    section: Option<usize>,
    value: Option<&'a str>,
    valid: fn(&str) -> bool,
    violation: Violation,
) -> Result<&'a str, Error> {
    value
        .filter(|v| valid(v))
        .ok_or_else(|| line.invalid(section, violation))
}

/// RFC 8866's `token`: one or more `token-char`s.
pub(super) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            matches!(b, 0x21 | 0x23..=0x27 | 0x2a | 0x2b | 0x2d | 0x2e | 0x30..=0x39 | 0x41..=0x5a | 0x5e..=0x7e)
        })
}

/// Whether a `m=` protocol carries RTP, so that its formats are payload types.
pub(super) fn is_rtp_protocol(protocol: &str) -> bool {
    fields(protocol, b'/').any(|p| p == "RTP")
}

/// The static payload types of RFC 3551 (name, clock rate, channels).
pub(super) fn static_payload_type(pt: u8) -> Option<(&'static str, u32, Option<u16>)> {
    Some(match pt {
        0 => ("PCMU", 8000, None),
        3 => ("GSM", 8000, None),
        4 => ("G723", 8000, None),
        5 => ("DVI4", 8000, None),
        6 => ("DVI4", 16000, None),
        7 => ("LPC", 8000, None),
        8 => ("PCMA", 8000, None),
        9 => ("G722", 8000, None),
        10 => ("L16", 44100, Some(2)),
        11 => ("L16", 44100, None),
        12 => ("QCELP", 8000, None),
        13 => ("CN", 8000, None),
        14 => ("MPA", 90000, None),
        15 => ("G728", 8000, None),
        16 => ("DVI4", 11025, None),
        17 => ("DVI4", 22050, None),
        18 => ("G729", 8000, None),
        25 => ("CelB", 90000, None),
        26 => ("JPEG", 90000, None),
        28 => ("nv", 90000, None),
        31 => ("H261", 90000, None),
        32 => ("MPV", 90000, None),
        33 => ("MP2T", 90000, None),
        34 => ("H263", 90000, None),
        _ => return None,
    })
}

#[inline]
pub(super) fn payload_type(line: Line<'_>, s: &str) -> Result<u8, Error> {
    const WHAT: &str = "a payload type (0-127)";
    let pt: u8 = number(line, s, WHAT)?;
    if pt > 127 {
        return Err(line.err(WHAT));
    }
    Ok(pt)
}

/// `send <streams> [recv <streams>]` in either order (RFC 8853 §5.1).
pub(super) fn parse_simulcast(
    strings: &mut Strings,
    line: Line<'_>,
    value: &str,
) -> Result<Simulcast, Error> {
    const WHAT: &str = "`simulcast:send <rid>[,<rid>][;…] recv …`";
    let mut simulcast = Simulcast::default();
    let mut it = fields(value, b' ').filter(|t| !t.is_empty());
    let mut seen_send = false;
    let mut seen_recv = false;
    while let Some(dir) = it.next() {
        let (target, seen) = match dir {
            "send" => (&mut simulcast.send, &mut seen_send),
            "recv" => (&mut simulcast.recv, &mut seen_recv),
            _ => return Err(line.err(WHAT)),
        };
        if std::mem::replace(seen, true) {
            return Err(line.err(WHAT));
        }
        let list = it.next().ok_or_else(|| line.err(WHAT))?;
        for stream in fields(list, b';') {
            let mut alternatives = Vec::new();
            for alt in fields(stream, b',') {
                let (rid, paused) = match alt.strip_prefix('~') {
                    Some(r) => (r, true),
                    None => (alt, false),
                };
                if rid.is_empty() {
                    return Err(line.err("a simulcast rid"));
                }
                alternatives.push(SimulcastLayer {
                    rid: strings.get(rid),
                    paused,
                });
            }
            target.push(alternatives);
        }
    }
    if !seen_send && !seen_recv {
        return Err(line.err(WHAT));
    }
    Ok(simulcast)
}
