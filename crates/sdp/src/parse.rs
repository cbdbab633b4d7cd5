//! SDP text → [`SessionDescription`]
//! (libwebrtc's `SdpDeserialize`).
//!
//! A hand-written single pass over the lines: no regular expressions, no
//! intermediate generic SDP tree (which is what makes it several times faster
//! than going through `sdp-types`; that crate is the tests' differential
//! oracle instead).
//!
//! # What is accepted
//!
//! - CRLF or LF line ends (mixed too), with or without a final line end;
//!   blank lines are skipped.
//! - `v=0` first, then `o=` and `s=`, then the other session lines in any
//!   order, then `m=` sections with their `i=`, `c=`, `b=`, `k=` and `a=`
//!   lines. Every RFC 8866 line type (`v o s i u e p c b t r z k a m`) is
//!   accepted where RFC 8866 allows it; anything else is an error.
//! - Attributes the model has no field for are kept in order in
//!   `extra_attributes` (session or section) and written back. So are known
//!   attributes that cannot apply (an `a=rtpmap` for a payload type the `m=`
//!   line does not list, an `a=candidate` at session level…). The few
//!   unmodelled attributes Chromium writes before the codecs (`a=rtcp-xr`,
//!   `a=x-google-flag`, `a=remote-net-estimate`, `a=crypto`) are kept ahead
//!   of the other unknown section attributes, in input order, because
//!   [`write`](crate::write()) puts them back in that slot.
//!
//! # What is dropped
//!
//! The model does not keep: `u=`, `e=`, `p=`, `r=`, `z=` and `k=` lines, the
//! media-level `i=`, any `t=` after the first, any `c=` after the first of its
//! level, and the number-of-ports suffix of an `m=` port (`49170/2`).
//! Session-level `a=ice-ufrag`, `a=ice-pwd`, `a=fingerprint` and `a=setup`
//! are not kept at session level but copied into every section that does not
//! set its own (JSEP, RFC 8829 §5.8); session-level `a=ice-options` is kept
//! *and* copied the same way. Every `a=fingerprint` of a section is kept
//! (aiortc sends sha-256, sha-384 and sha-512); one with a hash function
//! that DTLS does not support (`md5`, `sha-224`…) is kept as an unknown
//! attribute instead, so it is written back but never used.
//!
//! # Errors and limits
//!
//! Malformed syntax is [`Error::Parse`] naming the 1-based line, what was
//! expected and the line itself; a rule broken on a line is
//! [`Error::Invalid`] with the line and a [`Violation`]. The parser never
//! panics. Refused, as libwebrtc refuses them:
//!
//! - input that is not UTF-8 ([`parse_bytes`], [`Error::NotUtf8`] with the
//!   line of the first bad byte);
//! - a control character (C0 or DEL: NUL, TAB, a bare CR or LF that does not
//!   end the line…) anywhere in a line ([`Violation::ControlCharacter`]), so a
//!   value can never smuggle a second line past a reader;
//! - an `m=` line without a format, with a port that is not `<0-65535>` or
//!   `<port>/<count>`, or with a proto that is not `token *("/" token)`;
//! - `a=ice-ufrag` / `a=ice-pwd` outside RFC 8839's grammar (4–256 and 22–256
//!   `ice-char`s), and a session block with one and not the other;
//! - `a=setup` other than `actpass`, `active`, `passive`;
//! - a known attribute with a malformed value (a payload type above 127, a
//!   second `a=rtpmap` for one payload type, a malformed fingerprint or
//!   candidate…). An unknown attribute is never an error.
//!
//! Everything the parser builds is bounded ([`Violation::TooMany`] or
//! [`Violation::LineTooLong`] past a limit):
//!
//! | what | limit |
//! |---|---|
//! | the whole text | [`MAX_SDP_LEN`] bytes ([`Error::TooLarge`]) |
//! | one line | [`MAX_LINE_LEN`] bytes |
//! | m-sections | [`MAX_SECTIONS`] |
//! | `a=` lines in the session block or in one section | [`MAX_ATTRIBUTES`] |
//! | formats on an `m=` line (so codecs in a section) | [`MAX_FORMATS`] (RTP payload types are distinct and 0–127 anyway) |
//! | `a=candidate` lines in one section | [`MAX_CANDIDATES_PER_SECTION`] |
//! | `a=fingerprint` lines in one block | [`MAX_FINGERPRINTS`] |
//!
//! Rules about the description as a whole (mids, BUNDLE groups, credentials
//! and fingerprints present where a transport needs them) are not the
//! parser's: [`validate`](crate::validate()) checks them, and
//! [`JsepSessionDescription::parse`](crate::JsepSessionDescription::parse)
//! applies it.

use std::str::FromStr;

use dtls_transport::certificate::ParseFingerprintError;
use memchr::memchr;

use crate::error::{Limited, Violation};
pub use crate::jsep::MAX_CANDIDATES_PER_SECTION;
use crate::model::{
    Attribute, Bandwidth, Candidate, Codec, Connection, ContentInfo, Direction, Fingerprint, Group,
    HeaderExtension, MediaContentDescription, MediaType, Msid, MsidSemantic, Origin, Rid,
    RidDirection, RtcpFeedback, SessionDescription, Setup, Simulcast, SimulcastLayer, SmolStr,
    SsrcAttribute, SsrcGroup,
};
use crate::names::{known_long, known_token, INLINE_CAP};
use crate::validate::{is_ice_pwd, is_ice_ufrag};
use crate::Error;

/// The largest SDP text [`parse`] accepts, in bytes (256 KiB). A Chromium
/// offer with three sections and a dozen candidates is about 6 KiB.
pub const MAX_SDP_LEN: usize = 256 * 1024;

/// The longest line [`parse`] accepts, in bytes (16 KiB). The longest lines
/// real peers write are `a=group:BUNDLE` with every mid and `a=ssrc-group`;
/// a candidate line is at most 1 KiB.
pub const MAX_LINE_LEN: usize = 16 * 1024;

/// Most m-sections in one description (1024: a large conference's SFU
/// offers a few hundred).
pub const MAX_SECTIONS: usize = 1024;

/// Most `a=` lines in the session block or in one section (1024; Chromium's
/// simulcast video section has about 80).
pub const MAX_ATTRIBUTES: usize = 1024;

/// Most formats on one `m=` line (128, the number of RTP payload types).
pub const MAX_FORMATS: usize = 128;

/// Most `a=fingerprint` lines in the session block or in one section (8;
/// aiortc sends 3).
pub const MAX_FINGERPRINTS: usize = 8;

/// Parses SDP text (CRLF or LF line ends) into a [`SessionDescription`].
///
/// See the [module documentation](self) for what is accepted, what is
/// dropped, and the limits.
///
/// ```
/// use sdp::model::{Direction, MediaType};
///
/// let text = "v=0\n\
///             o=- 4611731400430051336 2 IN IP4 127.0.0.1\n\
///             s=-\n\
///             t=0 0\n\
///             a=group:BUNDLE 0\n\
///             m=audio 9 UDP/TLS/RTP/SAVPF 111 0\n\
///             c=IN IP4 0.0.0.0\n\
///             a=ice-ufrag:x5Ut\n\
///             a=ice-pwd:Xwk8dJ4Zf9EH0nVn6qj7vKc2\n\
///             a=mid:0\n\
///             a=sendonly\n\
///             a=rtpmap:111 opus/48000/2\n\
///             a=fmtp:111 minptime=10;useinbandfec=1\n";
/// let desc = sdp::parse(text)?;
/// let audio = &desc.contents[0];
/// assert_eq!(audio.mid, "0");
/// assert_eq!(audio.media.media_type, MediaType::Audio);
/// assert_eq!(audio.media.direction, Direction::SendOnly);
/// assert_eq!(audio.media.codecs[0].param("useinbandfec"), Some("1"));
/// assert_eq!(audio.media.codecs[1].name, "PCMU"); // static payload type 0
/// assert_eq!(audio.transport.ice_ufrag, "x5Ut");
///
/// let err = sdp::parse("v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=audio 9 RTP/AVP 200\n");
/// assert!(matches!(err, Err(sdp::Error::Parse { line: 5, .. })));
/// # Ok::<(), sdp::Error>(())
/// ```
pub fn parse(text: &str) -> Result<SessionDescription, Error> {
    if text.len() > MAX_SDP_LEN {
        return Err(Error::TooLarge {
            len: text.len(),
            limit: MAX_SDP_LEN,
        });
    }
    Parser::new().run(text)
}

/// [`parse`] for raw bytes, such as an HTTP request body: input that is not
/// UTF-8 is [`Error::NotUtf8`] naming the line and offset of the first
/// invalid byte.
///
/// ```
/// let body = b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=x:\xff\r\n";
/// assert!(matches!(
///     sdp::parse::parse_bytes(body),
///     Err(sdp::Error::NotUtf8 { line: 5, offset: 47 })
/// ));
/// assert!(sdp::parse::parse_bytes(&body[..43]).is_ok());
/// ```
pub fn parse_bytes(bytes: &[u8]) -> Result<SessionDescription, Error> {
    if bytes.len() > MAX_SDP_LEN {
        return Err(Error::TooLarge {
            len: bytes.len(),
            limit: MAX_SDP_LEN,
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let offset = e.valid_up_to();
            let line = 1 + memchr::memchr_iter(b'\n', &bytes[..offset]).count();
            Err(Error::NotUtf8 { line, offset })
        }
    }
}

impl FromStr for SessionDescription {
    type Err = Error;

    /// [`parse`].
    fn from_str(s: &str) -> Result<Self, Error> {
        parse(s)
    }
}

/// One line being looked at: its number and text, for errors.
#[derive(Clone, Copy)]
struct Line<'a> {
    number: usize,
    text: &'a str,
}

impl Line<'_> {
    fn err(&self, expected: &'static str) -> Error {
        Error::parse(self.number, expected, self.text)
    }

    /// An [`Error::Invalid`] for this line, in m-section `section` (`None`:
    /// the session block).
    fn invalid(&self, section: Option<usize>, violation: Violation) -> Error {
        Error::Invalid {
            line: Some(self.number),
            section,
            mid: None,
            violation,
        }
    }
}

/// The first control character (C0 or DEL) in `text`, if any.
#[inline]
fn control_byte(text: &str) -> Option<u8> {
    // A branch-free pass first (vectorised), the search only on a hit.
    let any = text
        .bytes()
        .fold(false, |hit, b| hit | (b < 0x20) | (b == 0x7f));
    if any {
        text.bytes().find(|b| *b < 0x20 || *b == 0x7f)
    } else {
        None
    }
}

/// Session-level transport attributes, copied into sections that lack them.
#[derive(Default)]
struct SessionTransport {
    ice_ufrag: Option<SmolStr>,
    ice_pwd: Option<SmolStr>,
    /// The line of the first `a=ice-ufrag` or `a=ice-pwd`, for the error when
    /// only one of them comes.
    ice_line: Option<usize>,
    fingerprints: Vec<Fingerprint>,
    setup: Option<Setup>,
}

/// Where the parser is in the description.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before `v=`.
    Start,
    /// After `v=`, expecting `o=`.
    Origin,
    /// After `o=`, expecting `s=`.
    Name,
    /// In the session block.
    Session,
    /// In an `m=` section.
    Media,
}

/// What the parser tracks for the section being built (the section itself
/// is the last of the description's contents).
struct Section {
    /// Whether the protocol is RTP (formats are payload types).
    rtp: bool,
    /// Payload type → index into `codecs` + 1 (0: not listed).
    pt_index: [u8; 128],
    /// Payload types that already had an `a=rtpmap`.
    has_rtpmap: [bool; 128],
    /// How many of the unknown attributes at the front of
    /// `extra_attributes` go in Chromium's pre-codec slot.
    rtp_slot_extras: usize,
}

impl Section {
    const fn new() -> Section {
        Section {
            rtp: false,
            pt_index: [0; 128],
            has_rtpmap: [false; 128],
            rtp_slot_extras: 0,
        }
    }
}

/// How many long strings [`Strings`] remembers.
const RECENT_STRINGS: usize = 8;

/// Makes the model's strings: inline when short, static when a known header
/// extension URI, and shared with an equal long string seen shortly before
/// (descriptions repeat their stream ids, track ids and ICE passwords in
/// several lines and sections), so that most values cost no allocation.
struct Strings {
    recent: [SmolStr; RECENT_STRINGS],
    next: usize,
}

impl Strings {
    const fn new() -> Strings {
        Strings {
            recent: [const { SmolStr::new_static("") }; RECENT_STRINGS],
            next: 0,
        }
    }

    #[inline]
    fn get(&mut self, s: &str) -> SmolStr {
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
    fn token(&mut self, s: &str) -> SmolStr {
        match known_token(s) {
            Some(k) => SmolStr::new_static(k),
            None => self.get(s),
        }
    }

    fn opt(&mut self, s: Option<&str>) -> Option<SmolStr> {
        s.map(|s| self.get(s))
    }
}

/// The attributes the model knows, told apart by [`AttrName::of`] once per
/// line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AttrName {
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
    fn of(name: &str) -> AttrName {
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

struct Parser<'a> {
    desc: SessionDescription,
    timing: Option<(u64, u64)>,
    transport: SessionTransport,
    /// Set from the first `m=` line on; the section is `desc.contents.last()`.
    section: Section,
    strings: Strings,
    /// The last `a=fingerprint` value and what it parsed to: browsers repeat
    /// the same fingerprint in every section.
    fingerprint: Option<(&'a str, Fingerprint)>,
    /// `a=` lines seen in the current block (session or section).
    attributes: usize,
}

impl<'a> Parser<'a> {
    fn new() -> Parser<'a> {
        let mut desc = SessionDescription::new(Origin::new(0, 0));
        desc.session_name = SmolStr::default();
        Parser {
            desc,
            timing: None,
            transport: SessionTransport::default(),
            section: Section::new(),
            strings: Strings::new(),
            fingerprint: None,
            attributes: 0,
        }
    }

    /// The index of the section being parsed (`None` in the session block).
    fn section_index(&self) -> Option<usize> {
        self.desc.contents.len().checked_sub(1)
    }

    fn run(mut self, text: &'a str) -> Result<SessionDescription, Error> {
        let mut state = State::Start;
        let mut last = Line {
            number: 1,
            text: "",
        };
        let bytes = text.as_bytes();
        let mut start = 0;
        let mut number = 0;
        // The lines of `text.split('\n')`, found with a vectorised search.
        while start <= bytes.len() {
            let end = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            number += 1;
            // `\n` and `\r` are ASCII: these are char boundaries.
            let raw = &text[start..end];
            start = end + 1;
            let text = raw.strip_suffix('\r').unwrap_or(raw);
            if text.is_empty() {
                continue;
            }
            let line = Line { number, text };
            last = line;
            if text.len() > MAX_LINE_LEN {
                let v = Violation::LineTooLong {
                    len: text.len(),
                    limit: MAX_LINE_LEN,
                };
                return Err(line.invalid(self.section_index(), v));
            }
            if let Some(byte) = control_byte(text) {
                let v = Violation::ControlCharacter { byte };
                return Err(line.invalid(self.section_index(), v));
            }
            let lb = text.as_bytes();
            if lb.len() < 2 || lb[1] != b'=' {
                return Err(line.err("a `<type>=<value>` line"));
            }
            let kind = lb[0];
            let value = &text[2..];
            if kind == b'a' {
                self.attributes += 1;
                if self.attributes > MAX_ATTRIBUTES {
                    let v = Violation::TooMany {
                        what: Limited::Attributes,
                        limit: MAX_ATTRIBUTES,
                    };
                    return Err(line.invalid(self.section_index(), v));
                }
            }
            state = match (state, kind) {
                (State::Media, b'a') => {
                    self.media_attribute(line, value)?;
                    State::Media
                }
                (State::Start, b'v') => {
                    if value != "0" {
                        return Err(line.err("`v=0`"));
                    }
                    State::Origin
                }
                (State::Start, _) => return Err(line.err("`v=0` as the first line")),
                (State::Origin, b'o') => {
                    self.desc.origin = parse_origin(&mut self.strings, line, value)?;
                    State::Name
                }
                (State::Origin, _) => return Err(line.err("an `o=` line after `v=`")),
                (State::Name, b's') => {
                    self.desc.session_name = self.strings.get(value);
                    State::Session
                }
                (State::Name, _) => return Err(line.err("an `s=` line after `o=`")),
                (State::Session, b'm') | (State::Media, b'm') => {
                    if state == State::Session {
                        if self.timing.is_none() {
                            return Err(line.err("a `t=` line before the first `m=`"));
                        }
                        self.finish_session()?;
                    }
                    self.finish_section();
                    self.media_line(line, value)?;
                    self.attributes = 0;
                    State::Media
                }
                (State::Session, _) => {
                    self.session_line(line, kind, value)?;
                    State::Session
                }
                (State::Media, _) => {
                    self.media_other_line(line, kind, value)?;
                    State::Media
                }
            };
        }
        match state {
            State::Start => return Err(last.err("`v=0` as the first line")),
            State::Origin => return Err(last.err("an `o=` line after `v=`")),
            State::Name => return Err(last.err("an `s=` line after `o=`")),
            State::Session if self.timing.is_none() => {
                return Err(last.err("a `t=` line in the session description"))
            }
            State::Session => self.finish_session()?,
            State::Media => self.finish_section(),
        }
        self.desc.timing = self.timing.unwrap_or((0, 0));
        Ok(self.desc)
    }

    fn session_line(&mut self, line: Line<'a>, kind: u8, value: &'a str) -> Result<(), Error> {
        if kind == b'a' {
            return self.session_attribute(line, value);
        }
        let desc = &mut self.desc;
        match kind {
            b'i' => {
                if desc.session_info.is_none() {
                    desc.session_info = Some(self.strings.get(value));
                }
            }
            b'c' => {
                let c = parse_connection(&mut self.strings, line, value)?;
                if desc.connection.is_none() {
                    desc.connection = Some(c);
                }
            }
            b'b' => {
                let b = parse_bandwidth(&mut self.strings, line, value)?;
                desc.bandwidths.push(b);
            }
            b't' => {
                let t = parse_timing(line, value)?;
                self.timing.get_or_insert(t);
            }
            // Dropped: URI, e-mail, phone, repeat times, time zones, key.
            b'u' | b'e' | b'p' | b'r' | b'z' | b'k' => {}
            _ => return Err(line.err("a session-level line (i u e p c b t r z k a) or `m=`")),
        }
        Ok(())
    }

    fn session_attribute(&mut self, line: Line<'a>, attr: &'a str) -> Result<(), Error> {
        let (name, value) = split_attribute(attr);
        let strings = &mut self.strings;
        let desc = &mut self.desc;
        match AttrName::of(name) {
            AttrName::Group => {
                let v = required(line, value, "a group `<semantics> <mid>…`")?;
                let mut it = fields(v, b' ');
                let semantics = it.next().unwrap_or_default();
                if semantics.is_empty() {
                    return Err(line.err("a group semantics token"));
                }
                let mids = it
                    .filter(|m| !m.is_empty())
                    .map(|m| strings.get(m))
                    .collect();
                desc.groups.push(Group {
                    semantics: strings.get(semantics),
                    mids,
                });
            }
            AttrName::MsidSemantic => {
                let v = required(line, value, "`msid-semantic: WMS [<id>…]`")?;
                let mut it = fields(v, b' ').filter(|t| !t.is_empty());
                let semantic = it
                    .next()
                    .ok_or_else(|| line.err("an msid-semantic token"))?;
                let ids = it.map(|i| strings.get(i)).collect();
                desc.msid_semantic = Some(MsidSemantic {
                    semantic: strings.get(semantic),
                    ids,
                });
            }
            AttrName::IceLite => desc.ice_lite = true,
            AttrName::IceOptions => {
                let v = required(line, value, "ice-options tokens")?;
                desc.ice_options.clear();
                desc.ice_options.extend(tokens(strings, v));
            }
            AttrName::ExtmapAllowMixed => desc.extmap_allow_mixed = true,
            AttrName::IceUfrag => {
                let v = ice_credential(line, None, value, is_ice_ufrag, Violation::IceUfrag)?;
                self.transport.ice_ufrag = Some(strings.get(v));
                self.transport.ice_line.get_or_insert(line.number);
            }
            AttrName::IcePwd => {
                let v = ice_credential(line, None, value, is_ice_pwd, Violation::IcePwd)?;
                self.transport.ice_pwd = Some(strings.get(v));
                self.transport.ice_line.get_or_insert(line.number);
            }
            AttrName::Fingerprint => match parse_fingerprint(&mut self.fingerprint, line, value)? {
                Some(fp) => push_fingerprint(line, None, &mut self.transport.fingerprints, fp)?,
                None => desc.extra_attributes.push(attribute(strings, name, value)),
            },
            AttrName::Setup => self.transport.setup = Some(parse_setup(line, None, value)?),
            _ => desc.extra_attributes.push(attribute(strings, name, value)),
        }
        Ok(())
    }

    /// `i=`, `c=`, `b=`, `k=` in a section.
    fn media_other_line(&mut self, line: Line<'a>, kind: u8, value: &'a str) -> Result<(), Error> {
        let Some(content) = self.desc.contents.last_mut() else {
            return Err(line.err("an `m=` line"));
        };
        let media = &mut content.media;
        match kind {
            // Media title and key: dropped.
            b'i' | b'k' => {}
            b'c' => {
                let c = parse_connection(&mut self.strings, line, value)?;
                if media.connection.is_none() {
                    media.connection = Some(c);
                }
            }
            b'b' => media
                .bandwidths
                .push(parse_bandwidth(&mut self.strings, line, value)?),
            _ => return Err(line.err("a media-level line (i c b k a) or `m=`")),
        }
        Ok(())
    }

    /// Closes the session block: its ICE credentials come in pairs.
    fn finish_session(&mut self) -> Result<(), Error> {
        let t = &self.transport;
        if t.ice_ufrag.is_some() != t.ice_pwd.is_some() {
            return Err(Error::Invalid {
                line: t.ice_line,
                section: None,
                mid: None,
                violation: Violation::IncompleteIceCredentials,
            });
        }
        Ok(())
    }

    /// Closes the current section (the last content): static payload type
    /// names, rejection, JSEP inheritance of the session-level transport
    /// attributes.
    fn finish_section(&mut self) {
        let desc = &mut self.desc;
        let Some(content) = desc.contents.last_mut() else {
            return;
        };
        for codec in &mut content.media.codecs {
            let pt = codec.payload_type;
            if !self.section.has_rtpmap[usize::from(pt)] {
                if let Some((name, rate, channels)) = static_payload_type(pt) {
                    codec.name = SmolStr::new_static(name);
                    codec.clock_rate = rate;
                    codec.channels = channels;
                }
            }
        }
        content.rejected = content.media.port == 0 && !content.bundle_only;
        let t = &mut content.transport;
        let s = &self.transport;
        if t.ice_ufrag.is_empty() {
            if let Some(u) = &s.ice_ufrag {
                t.ice_ufrag.clone_from(u);
            }
        }
        if t.ice_pwd.is_empty() {
            if let Some(p) = &s.ice_pwd {
                t.ice_pwd.clone_from(p);
            }
        }
        if t.fingerprints.is_empty() {
            t.fingerprints.clone_from(&s.fingerprints);
        }
        if t.setup.is_none() {
            t.setup = s.setup;
        }
        if t.ice_options.is_empty() {
            t.ice_options.clone_from(&desc.ice_options);
        }
    }

    /// An `m=` line: a new content at the end of the description.
    fn media_line(&mut self, line: Line<'a>, value: &'a str) -> Result<(), Error> {
        const WHAT: &str = "`m=<media> <port> <proto> <fmt>…`";
        if self.desc.contents.len() >= MAX_SECTIONS {
            let v = Violation::TooMany {
                what: Limited::Sections,
                limit: MAX_SECTIONS,
            };
            return Err(line.invalid(None, v));
        }
        let mut it = fields(value, b' ');
        let mut field = || {
            it.next()
                .filter(|f| !f.is_empty())
                .ok_or_else(|| line.err(WHAT))
        };
        let media_type = MediaType::from_token(field()?);
        let port_field = field()?;
        let protocol = field()?;
        // `<port>/<number of ports>`: the count is dropped.
        let port_str = match port_field.split_once_byte(b'/') {
            Some((p, count)) => {
                number::<u16>(line, count, "`<port>/<number of ports>`")?;
                p
            }
            None => port_field,
        };
        let port: u16 = number(line, port_str, "a port number (0-65535)")?;
        if !fields(protocol, b'/').all(is_token) {
            return Err(line.err("a proto of tokens separated by `/` (`UDP/TLS/RTP/SAVPF`)"));
        }
        let rtp = is_rtp_protocol(protocol);
        let mut media = MediaContentDescription::new(media_type, port, self.strings.get(protocol));
        let section = &mut self.section;
        *section = Section::new();
        section.rtp = rtp;
        // Sized once: the m= line lists every format (at most 128 distinct
        // payload types).
        let listed = it.clone().filter(|f| !f.is_empty()).count();
        if listed == 0 {
            return Err(line.err("at least one format on the `m=` line"));
        }
        if listed > MAX_FORMATS {
            let v = Violation::TooMany {
                what: Limited::Formats,
                limit: MAX_FORMATS,
            };
            return Err(line.invalid(Some(self.desc.contents.len()), v));
        }
        if rtp {
            media.codecs.reserve_exact(listed.min(128));
        } else {
            media.formats.reserve_exact(listed);
        }
        for fmt in it.filter(|f| !f.is_empty()) {
            if rtp {
                let pt = payload_type(line, fmt)?;
                if section.pt_index[usize::from(pt)] != 0 {
                    return Err(line.err("distinct payload types"));
                }
                // Static payload types get their RFC 3551 names when the
                // section ends without an rtpmap for them.
                media.codecs.push(Codec {
                    payload_type: pt,
                    name: SmolStr::default(),
                    clock_rate: 0,
                    channels: None,
                    params: Vec::new(),
                    feedback: Vec::new(),
                });
                // At most 128 codecs: the index fits in a u8.
                section.pt_index[usize::from(pt)] = media.codecs.len() as u8;
            } else {
                media.formats.push(self.strings.get(fmt));
            }
        }
        self.desc
            .contents
            .push(ContentInfo::new(SmolStr::default(), media));
        Ok(())
    }

    /// An `a=` line in a section.
    fn media_attribute(&mut self, line: Line<'a>, attr: &'a str) -> Result<(), Error> {
        let (name, value) = split_attribute(attr);
        let section = self.section_index();
        let Some(content) = self.desc.contents.last_mut() else {
            return Err(line.err("an `m=` line"));
        };
        let strings = &mut self.strings;
        let Section {
            rtp,
            pt_index,
            has_rtpmap,
            rtp_slot_extras,
        } = &mut self.section;
        let ContentInfo {
            mid,
            bundle_only,
            media,
            transport,
            ..
        } = content;
        let codec_index = |pt: u8| match (*rtp, pt_index[usize::from(pt)]) {
            (false, _) | (_, 0) => None,
            (true, i) => Some(usize::from(i) - 1),
        };
        match AttrName::of(name) {
            AttrName::RtcpFb => {
                const WHAT: &str = "`rtcp-fb:<pt|*> <type> [<param>]`";
                let v = required(line, value, WHAT)?;
                let (pt, fb) = v.split_once_byte(b' ').ok_or_else(|| line.err(WHAT))?;
                let (kind, param) = match fb.split_once_byte(b' ') {
                    Some((k, p)) => (k, Some(p).filter(|p| !p.is_empty())),
                    None => (fb, None),
                };
                if kind.is_empty() {
                    return Err(line.err(WHAT));
                }
                let feedback = RtcpFeedback {
                    kind: strings.token(kind),
                    param: param.map(|p| strings.token(p)),
                };
                if pt == "*" {
                    media.wildcard_feedback.push(feedback);
                } else {
                    let pt = payload_type(line, pt)?;
                    match codec_index(pt) {
                        Some(i) => {
                            let list = &mut media.codecs[i].feedback;
                            if list.capacity() == 0 {
                                // Chromium writes five per video codec: one allocation.
                                list.reserve_exact(5);
                            }
                            list.push(feedback);
                        }
                        None => media
                            .extra_attributes
                            .push(attribute(strings, "rtcp-fb", value)),
                    }
                }
            }
            AttrName::Rtpmap => {
                const WHAT: &str = "`rtpmap:<pt> <name>/<clock rate>[/<channels>]`";
                let v = required(line, value, WHAT)?;
                let (pt, map) = v.split_once_byte(b' ').ok_or_else(|| line.err(WHAT))?;
                let pt = payload_type(line, pt)?;
                let mut parts = fields(map, b'/');
                let name = parts.next().filter(|n| !n.is_empty());
                let name = name.ok_or_else(|| line.err(WHAT))?;
                let rate = parts.next().ok_or_else(|| line.err(WHAT))?;
                let clock_rate: u32 = number(line, rate, "a clock rate")?;
                let channels: Option<u16> = match parts.next() {
                    Some(c) => Some(number(line, c, "a channel count")?),
                    None => None,
                };
                if parts.next().is_some() {
                    return Err(line.err(WHAT));
                }
                match codec_index(pt) {
                    Some(i) => {
                        if std::mem::replace(&mut has_rtpmap[usize::from(pt)], true) {
                            return Err(line.err("one `rtpmap` per payload type"));
                        }
                        let codec = &mut media.codecs[i];
                        codec.name = strings.token(name);
                        codec.clock_rate = clock_rate;
                        codec.channels = channels;
                    }
                    None => media
                        .extra_attributes
                        .push(attribute(strings, "rtpmap", value)),
                }
            }
            AttrName::Fmtp => {
                const WHAT: &str = "`fmtp:<pt> <parameters>`";
                let v = required(line, value, WHAT)?;
                let (pt, params) = v.split_once_byte(b' ').unwrap_or((v, ""));
                let pt = payload_type(line, pt)?;
                match codec_index(pt) {
                    Some(i) => {
                        let codec = &mut media.codecs[i];
                        codec
                            .params
                            .reserve(params.bytes().filter(|b| *b == b';').count() + 1);
                        for part in fields(params, b';') {
                            let part = trim(part);
                            if part.is_empty() {
                                continue;
                            }
                            match part.split_once_byte(b'=') {
                                Some((k, v)) => {
                                    let k = trim(k);
                                    if k.is_empty() {
                                        return Err(line.err("an fmtp parameter name before `=`"));
                                    }
                                    codec.params.push((strings.token(k), strings.get(trim(v))));
                                }
                                None => codec.params.push((SmolStr::default(), strings.get(part))),
                            }
                        }
                    }
                    None => media
                        .extra_attributes
                        .push(attribute(strings, "fmtp", value)),
                }
            }
            AttrName::Extmap => {
                const WHAT: &str = "`extmap:<id>[/<direction>] <uri> [<attributes>]`";
                let v = required(line, value, WHAT)?;
                let mut it = SplitN3::new(v);
                let id_dir = it.next().unwrap_or_default();
                let uri = it.next().filter(|u| !u.is_empty());
                let uri = uri.ok_or_else(|| line.err(WHAT))?;
                let attributes = strings.opt(it.next());
                let (id, direction) = match id_dir.split_once_byte(b'/') {
                    Some((id, d)) => (
                        id,
                        Some(
                            Direction::from_token(d)
                                .ok_or_else(|| line.err("an extmap direction"))?,
                        ),
                    ),
                    None => (id_dir, None),
                };
                let list = &mut media.header_extensions;
                if list.capacity() == 0 {
                    // Chromium offers about a dozen for video: one allocation.
                    list.reserve_exact(16);
                }
                list.push(HeaderExtension {
                    id: number(line, id, "an extmap id (0-65535)")?,
                    uri: strings.get(uri),
                    direction,
                    attributes,
                });
            }
            AttrName::Ssrc => {
                const WHAT: &str = "`ssrc:<ssrc> <attribute>[:<value>]`";
                let v = required(line, value, WHAT)?;
                let (ssrc, rest) = v.split_once_byte(b' ').ok_or_else(|| line.err(WHAT))?;
                let (name, value) = split_attribute(rest);
                if name.is_empty() {
                    return Err(line.err(WHAT));
                }
                media.ssrcs.push(SsrcAttribute {
                    ssrc: number(line, ssrc, "an SSRC (0-4294967295)")?,
                    name: strings.token(name),
                    value: strings.opt(value),
                });
            }
            AttrName::Candidate => {
                if transport.candidates.len() >= MAX_CANDIDATES_PER_SECTION {
                    let v = Violation::TooMany {
                        what: Limited::Candidates,
                        limit: MAX_CANDIDATES_PER_SECTION,
                    };
                    return Err(line.invalid(section, v));
                }
                let c = Candidate::from_str(attr).map_err(|_| line.err("an ICE candidate"))?;
                transport.candidates.push(c);
            }
            AttrName::Mid => *mid = strings.get(required(line, value, "a mid")?),
            AttrName::BundleOnly => *bundle_only = true,
            AttrName::ExtmapAllowMixed => media.extmap_allow_mixed = true,
            AttrName::Direction(d) => {
                media.direction = d;
                media.direction_written = true;
            }
            AttrName::Rtcp => {
                media.rtcp = Some(strings.get(required(line, value, "`rtcp:<port> …`")?));
            }
            AttrName::RtcpMux => media.rtcp_mux = true,
            AttrName::RtcpMuxOnly => media.rtcp_mux_only = true,
            AttrName::RtcpRsize => media.rtcp_rsize = true,
            AttrName::Msid => {
                let v = required(line, value, "`msid:<stream id> [<track id>]`")?;
                let msid = match v.split_once_byte(b' ') {
                    Some((s, t)) => Msid {
                        stream_id: strings.get(s),
                        track_id: Some(strings.get(t)),
                    },
                    None => Msid {
                        stream_id: strings.get(v),
                        track_id: None,
                    },
                };
                media.msids.push(msid);
            }
            AttrName::SsrcGroup => {
                const WHAT: &str = "`ssrc-group:<semantics> <ssrc>…`";
                let v = required(line, value, WHAT)?;
                let mut it = fields(v, b' ');
                let semantics = it.next().filter(|s| !s.is_empty());
                let semantics = semantics.ok_or_else(|| line.err(WHAT))?;
                let mut ssrcs = Vec::with_capacity(it.clone().count());
                for s in it.filter(|s| !s.is_empty()) {
                    ssrcs.push(number(line, s, "an SSRC (0-4294967295)")?);
                }
                media.ssrc_groups.push(SsrcGroup {
                    semantics: strings.get(semantics),
                    ssrcs,
                });
            }
            AttrName::Rid => {
                const WHAT: &str = "`rid:<id> send|recv [<restrictions>]`";
                let v = required(line, value, WHAT)?;
                let mut it = SplitN3::new(v);
                let id = it.next().filter(|s| !s.is_empty());
                let id = id.ok_or_else(|| line.err(WHAT))?;
                let direction = match it.next() {
                    Some("send") => RidDirection::Send,
                    Some("recv") => RidDirection::Recv,
                    _ => return Err(line.err(WHAT)),
                };
                media.rids.push(Rid {
                    id: strings.get(id),
                    direction,
                    restrictions: strings.opt(it.next()),
                });
            }
            AttrName::Simulcast => {
                let v = required(line, value, "`simulcast:send <streams> recv <streams>`")?;
                media.simulcast = Some(parse_simulcast(strings, line, v)?);
            }
            AttrName::SctpPort => {
                let v = required(line, value, "`sctp-port:<port>`")?;
                media.sctp_port = Some(number(line, v, "an SCTP port (0-65535)")?);
            }
            AttrName::MaxMessageSize => {
                let v = required(line, value, "`max-message-size:<bytes>`")?;
                media.max_message_size = Some(number(line, v, "a max-message-size in bytes")?);
            }
            AttrName::Ptime => {
                let v = required(line, value, "`ptime:<ms>`")?;
                media.ptime = Some(number(line, v, "a ptime in milliseconds")?);
            }
            AttrName::MaxPtime => {
                let v = required(line, value, "`maxptime:<ms>`")?;
                media.max_ptime = Some(number(line, v, "a maxptime in milliseconds")?);
            }
            AttrName::IceUfrag => {
                let v = ice_credential(line, section, value, is_ice_ufrag, Violation::IceUfrag)?;
                transport.ice_ufrag = strings.get(v);
            }
            AttrName::IcePwd => {
                let v = ice_credential(line, section, value, is_ice_pwd, Violation::IcePwd)?;
                transport.ice_pwd = strings.get(v);
            }
            AttrName::IceOptions => {
                let v = required(line, value, "ice-options tokens")?;
                transport.ice_options.clear();
                transport.ice_options.extend(tokens(strings, v));
            }
            AttrName::Fingerprint => match parse_fingerprint(&mut self.fingerprint, line, value)? {
                Some(fp) => push_fingerprint(line, section, &mut transport.fingerprints, fp)?,
                None => media.extra_attributes.push(attribute(strings, name, value)),
            },
            AttrName::Setup => transport.setup = Some(parse_setup(line, section, value)?),
            AttrName::EndOfCandidates => transport.end_of_candidates = true,
            // Session-level only: kept as unknown in a section.
            AttrName::Group | AttrName::MsidSemantic | AttrName::IceLite | AttrName::Other => {
                let a = attribute(strings, name, value);
                if crate::write::is_rtp_slot_attribute(name) {
                    // Written in Chromium's slot before the codecs, so kept ahead
                    // of the other unknown attributes (see `write`).
                    *rtp_slot_extras += 1;
                    media.extra_attributes.insert(*rtp_slot_extras - 1, a);
                } else {
                    media.extra_attributes.push(a);
                }
            }
        }
        Ok(())
    }
}

/// `name:value` → (`name`, `Some(value)`); `name` → (`name`, `None`).
fn split_attribute(attr: &str) -> (&str, Option<&str>) {
    match attr.split_once_byte(b':') {
        Some((n, v)) => (n, Some(v)),
        None => (attr, None),
    }
}

fn attribute(strings: &mut Strings, name: &str, value: Option<&str>) -> Attribute {
    Attribute {
        name: strings.get(name),
        value: strings.opt(value),
    }
}

fn required<'a>(
    line: Line<'_>,
    value: Option<&'a str>,
    what: &'static str,
) -> Result<&'a str, Error> {
    value.ok_or_else(|| line.err(what))
}

fn tokens<'s>(strings: &'s mut Strings, v: &'s str) -> impl Iterator<Item = SmolStr> + 's {
    fields(v, b' ')
        .filter(|t| !t.is_empty())
        .map(|t| strings.get(t))
}

/// `str::trim`, without looking at the characters when the ends are plain
/// ASCII (as in every fmtp parameter browsers write).
fn trim(s: &str) -> &str {
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
fn number<T: TryFrom<u64>>(line: Line<'_>, s: &str, what: &'static str) -> Result<T, Error> {
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
trait SplitByte {
    fn split_once_byte(&self, sep: u8) -> Option<(&str, &str)>;
}

impl SplitByte for str {
    fn split_once_byte(&self, sep: u8) -> Option<(&str, &str)> {
        debug_assert!(sep.is_ascii());
        let i = self.bytes().position(|b| b == sep)?;
        // `sep` is ASCII, so `i` and `i + 1` are char boundaries.
        Some((&self[..i], &self[i + 1..]))
    }
}

/// `str::split` for an ASCII separator.
fn fields(s: &str, sep: u8) -> Fields<'_> {
    Fields { rest: Some(s), sep }
}

#[derive(Clone)]
struct Fields<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

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
struct SplitN3<'a> {
    rest: Option<&'a str>,
    left: u8,
}

impl<'a> SplitN3<'a> {
    fn new(s: &'a str) -> Self {
        SplitN3 {
            rest: Some(s),
            left: 3,
        }
    }
}

impl<'a> Iterator for SplitN3<'a> {
    type Item = &'a str;

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
fn exact_fields<'v, const N: usize>(
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

fn parse_origin(strings: &mut Strings, line: Line<'_>, value: &str) -> Result<Origin, Error> {
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

fn parse_connection(
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

fn parse_bandwidth(strings: &mut Strings, line: Line<'_>, value: &str) -> Result<Bandwidth, Error> {
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

fn parse_timing(line: Line<'_>, value: &str) -> Result<(u64, u64), Error> {
    const WHAT: &str = "`t=<start-time> <stop-time>`";
    let (a, b) = value.split_once_byte(b' ').ok_or_else(|| line.err(WHAT))?;
    Ok((number(line, a, WHAT)?, number(line, b, WHAT)?))
}

/// `a=fingerprint`, reusing the previous result when the text repeats it.
/// `None` for a well-formed fingerprint with a hash function DTLS does not
/// support (kept as an unknown attribute).
fn parse_fingerprint<'a>(
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
fn is_unknown_fingerprint(value: &str) -> bool {
    let Some((hash, hex)) = value.split_once_byte(b' ') else {
        return false;
    };
    is_token(hash)
        && !hex.is_empty()
        && fields(hex, b':').all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Appends a fingerprint to a block's list, bounded by [`MAX_FINGERPRINTS`].
fn push_fingerprint(
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

fn parse_setup(
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
fn ice_credential<'a>(
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
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            matches!(b, 0x21 | 0x23..=0x27 | 0x2a | 0x2b | 0x2d | 0x2e | 0x30..=0x39 | 0x41..=0x5a | 0x5e..=0x7e)
        })
}

/// Whether a `m=` protocol carries RTP, so that its formats are payload types.
fn is_rtp_protocol(protocol: &str) -> bool {
    fields(protocol, b'/').any(|p| p == "RTP")
}

/// The static payload types of RFC 3551 (name, clock rate, channels).
fn static_payload_type(pt: u8) -> Option<(&'static str, u32, Option<u16>)> {
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

fn payload_type(line: Line<'_>, s: &str) -> Result<u8, Error> {
    const WHAT: &str = "a payload type (0-127)";
    let pt: u8 = number(line, s, WHAT)?;
    if pt > 127 {
        return Err(line.err(WHAT));
    }
    Ok(pt)
}

/// `send <streams> [recv <streams>]` in either order (RFC 8853 §5.1).
fn parse_simulcast(strings: &mut Strings, line: Line<'_>, value: &str) -> Result<Simulcast, Error> {
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
