//! The parser's text handling: how strings become model strings without
//! allocating, how attribute names are told apart, and byte-level splitting
//! of lines into fields.

use super::Line;
use crate::model::{Attribute, Direction, SmolStr};
use crate::names::{known_long, known_token, INLINE_CAP};
use crate::Error;

/// How many long strings [`Strings`] remembers.
const RECENT_STRINGS: usize = 8;

/// Makes the model's strings: inline when short, static when a known header
/// extension URI, and shared with an equal long string seen shortly before
/// (descriptions repeat their stream ids, track ids and ICE passwords in
/// several lines and sections), so that most values cost no allocation.
pub(super) struct Strings {
    recent: [SmolStr; RECENT_STRINGS],
    next: usize,
}

impl Strings {
    pub(super) const fn new() -> Strings {
        Strings {
            recent: [const { SmolStr::new_static("") }; RECENT_STRINGS],
            next: 0,
        }
    }

    #[inline]
    pub(super) fn get(&mut self, s: &str) -> SmolStr {
        if s.len() <= INLINE_CAP {
            // Inlined (unlike `SmolStr::new`, which is an out-of-line call).
            return SmolStr::new_inline(s);
        }
        self.get_long(s)
    }

    #[inline(never)]
    fn get_long(&mut self, s: &str) -> SmolStr {
        if let Some(k) = known_long(s) {
            return SmolStr::new_static(k);
        }
        if let Some(r) = self.recent.iter().find(|r| r.as_str() == s) {
            return r.clone();
        }
        let new = SmolStr::new(s);
        self.recent[self.next] = new.clone();
        self.next = (self.next + 1) % RECENT_STRINGS;
        new
    }

    /// [`get`](Self::get) for values that are usually well-known tokens.
    #[inline]
    pub(super) fn token(&mut self, s: &str) -> SmolStr {
        match known_token(s) {
            Some(k) => SmolStr::new_static(k),
            None => self.get(s),
        }
    }

    #[inline]
    pub(super) fn opt(&mut self, s: Option<&str>) -> Option<SmolStr> {
        s.map(|s| self.get(s))
    }
}

/// The attributes the model knows, told apart by [`AttrName::of`] once per
/// line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum AttrName {
    Group,
    MsidSemantic,
    IceLite,
    IceOptions,
    ExtmapAllowMixed,
    IceUfrag,
    IcePwd,
    Fingerprint,
    Setup,
    RtcpFb,
    Rtpmap,
    Fmtp,
    Extmap,
    Ssrc,
    Candidate,
    Mid,
    BundleOnly,
    Direction(Direction),
    Rtcp,
    RtcpMux,
    RtcpMuxOnly,
    RtcpRsize,
    Msid,
    SsrcGroup,
    Rid,
    Simulcast,
    SctpPort,
    MaxMessageSize,
    Ptime,
    MaxPtime,
    EndOfCandidates,
    Other,
}

impl AttrName {
    /// Dispatches on the length first, so a name is compared with at most
    /// the few known names of its length (instead of a chain of string
    /// compares over every known name).
    #[inline]
    pub(super) fn of(name: &str) -> AttrName {
        use AttrName::*;
        let b = name.as_bytes();
        match b.len() {
            3 => match b {
                b"mid" => Mid,
                b"rid" => Rid,
                _ => Other,
            },
            4 => match b {
                b"fmtp" => Fmtp,
                b"ssrc" => Ssrc,
                b"msid" => Msid,
                b"rtcp" => Rtcp,
                _ => Other,
            },
            5 => match b {
                b"setup" => Setup,
                b"ptime" => Ptime,
                b"group" => Group,
                _ => Other,
            },
            6 => match b {
                b"rtpmap" => Rtpmap,
                b"extmap" => Extmap,
                _ => Other,
            },
            7 => match b {
                b"rtcp-fb" => RtcpFb,
                b"ice-pwd" => IcePwd,
                _ => Other,
            },
            8 => match b {
                b"sendrecv" => Direction(crate::model::Direction::SendRecv),
                b"sendonly" => Direction(crate::model::Direction::SendOnly),
                b"recvonly" => Direction(crate::model::Direction::RecvOnly),
                b"inactive" => Direction(crate::model::Direction::Inactive),
                b"rtcp-mux" => RtcpMux,
                b"ice-lite" => IceLite,
                b"maxptime" => MaxPtime,
                _ => Other,
            },
            9 => match b {
                b"candidate" => Candidate,
                b"ice-ufrag" => IceUfrag,
                b"simulcast" => Simulcast,
                b"sctp-port" => SctpPort,
                _ => Other,
            },
            10 => match b {
                b"rtcp-rsize" => RtcpRsize,
                b"ssrc-group" => SsrcGroup,
                _ => Other,
            },
            11 => match b {
                b"fingerprint" => Fingerprint,
                b"ice-options" => IceOptions,
                b"bundle-only" => BundleOnly,
                _ => Other,
            },
            13 => match b {
                b"rtcp-mux-only" => RtcpMuxOnly,
                b"msid-semantic" => MsidSemantic,
                _ => Other,
            },
            16 if b == b"max-message-size" => MaxMessageSize,
            17 if b == b"end-of-candidates" => EndOfCandidates,
            18 if b == b"extmap-allow-mixed" => ExtmapAllowMixed,
            _ => Other,
        }
    }
}

/// `name:value` → (`name`, `Some(value)`); `name` → (`name`, `None`).
#[inline]
pub(super) fn split_attribute(attr: &str) -> (&str, Option<&str>) {
    match attr.split_once_byte(b':') {
        Some((n, v)) => (n, Some(v)),
        None => (attr, None),
    }
}

#[inline]
pub(super) fn attribute(strings: &mut Strings, name: &str, value: Option<&str>) -> Attribute {
    Attribute {
        name: strings.get(name),
        value: strings.opt(value),
    }
}

#[inline]
pub(super) fn required<'a>(
    line: Line<'_>,
    value: Option<&'a str>,
    what: &'static str,
) -> Result<&'a str, Error> {
    value.ok_or_else(|| line.err(what))
}

pub(super) fn tokens<'s>(
    strings: &'s mut Strings,
    v: &'s str,
) -> impl Iterator<Item = SmolStr> + 's {
    fields(v, b' ')
        .filter(|t| !t.is_empty())
        .map(|t| strings.get(t))
}

/// `str::trim`, without looking at the characters when the ends are plain
/// ASCII (as in every fmtp parameter browsers write).
#[inline]
pub(super) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(z)) if is_plain(*a) && is_plain(*z) => s,
        _ => s.trim(),
    }
}

/// ASCII other than whitespace: never trimmed by `str::trim`.
fn is_plain(b: u8) -> bool {
    b.is_ascii() && !b.is_ascii_whitespace() && b != 0x0b
}

/// A decimal number of digits only (`FromStr` for integers would also take a
/// leading `+`), in range for `T`.
pub(super) fn number<T: TryFrom<u64>>(
    line: Line<'_>,
    s: &str,
    what: &'static str,
) -> Result<T, Error> {
    if s.is_empty() {
        return Err(line.err(what));
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(line.err(what));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| line.err(what))?;
    }
    T::try_from(n).map_err(|_| line.err(what))
}

/// `str::split_once` for an ASCII separator, without the generic pattern
/// machinery (lines are short; this is the parser's inner loop).
pub(super) trait SplitByte {
    fn split_once_byte(&self, sep: u8) -> Option<(&str, &str)>;
}

impl SplitByte for str {
    #[inline]
    fn split_once_byte(&self, sep: u8) -> Option<(&str, &str)> {
        debug_assert!(sep.is_ascii());
        let i = self.bytes().position(|b| b == sep)?;
        // `sep` is ASCII, so `i` and `i + 1` are char boundaries.
        Some((&self[..i], &self[i + 1..]))
    }
}

/// `str::split` for an ASCII separator.
#[inline]
pub(super) fn fields(s: &str, sep: u8) -> Fields<'_> {
    Fields { rest: Some(s), sep }
}

#[derive(Clone)]
pub(super) struct Fields<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match rest.split_once_byte(self.sep) {
            Some((field, tail)) => {
                self.rest = Some(tail);
                Some(field)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// `str::splitn(3, ' ')`.
pub(super) struct SplitN3<'a> {
    rest: Option<&'a str>,
    left: u8,
}

impl<'a> SplitN3<'a> {
    #[inline]
    pub(super) fn new(s: &'a str) -> Self {
        SplitN3 {
            rest: Some(s),
            left: 3,
        }
    }
}

impl<'a> Iterator for SplitN3<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        self.left -= 1;
        if self.left == 0 {
            self.rest = None;
            return Some(rest);
        }
        match rest.split_once_byte(b' ') {
            Some((field, tail)) => {
                self.rest = Some(tail);
                Some(field)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Exactly `N` non-empty space-separated fields (`o=`, `c=`), or the error `what`.
pub(super) fn exact_fields<'v, const N: usize>(
    line: Line<'_>,
    value: &'v str,
    what: &'static str,
) -> Result<[&'v str; N], Error> {
    let mut it = fields(value, b' ');
    let mut out = [""; N];
    for slot in &mut out {
        *slot = it
            .next()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| line.err(what))?;
    }
    if it.next().is_some() {
        return Err(line.err(what));
    }
    Ok(out)
}
