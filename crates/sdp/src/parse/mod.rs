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

use memchr::memchr;

use crate::error::{Limited, Violation};
pub use crate::jsep::MAX_CANDIDATES_PER_SECTION;
use crate::model::{Fingerprint, Group, MsidSemantic, Origin, SessionDescription, Setup, SmolStr};
use crate::validate::{is_ice_pwd, is_ice_ufrag};
use crate::Error;
use lex::{attribute, fields, required, split_attribute, tokens, AttrName, Strings};
use values::{
    ice_credential, parse_bandwidth, parse_connection, parse_fingerprint, parse_origin,
    parse_setup, parse_timing, push_fingerprint, static_payload_type,
};

mod lex;
mod media;
mod values;

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
        .fold(false, |hit, b| hit | crate::write::is_control_byte(b));
    if any {
        text.bytes().find(|&b| crate::write::is_control_byte(b))
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

    /// The index in `codecs` of payload type `pt`, when the section is RTP
    /// and its `m=` line lists `pt`.
    #[inline]
    fn codec_index(&self, pt: u8) -> Option<usize> {
        match (self.rtp, self.pt_index[usize::from(pt)]) {
            (false, _) | (_, 0) => None,
            (true, i) => Some(usize::from(i) - 1),
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
            let (kind, value) = self.check_line(line)?;
            state = self.line(state, line, kind, value)?;
        }
        self.finish(state, last)
    }

    /// What every line must be: within [`MAX_LINE_LEN`], free of control
    /// characters, `<type>=<value>`, and (for `a=`) within
    /// [`MAX_ATTRIBUTES`] of its block. Returns the type and the value.
    #[inline]
    fn check_line(&mut self, line: Line<'a>) -> Result<(u8, &'a str), Error> {
        let text = line.text;
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
        Ok((kind, &text[2..]))
    }

    /// One line in `state` (RFC 8866 §5's order: `v=`, `o=`, `s=`, the
    /// session block, then sections); the state after it.
    #[inline]
    fn line(
        &mut self,
        state: State,
        line: Line<'a>,
        kind: u8,
        value: &'a str,
    ) -> Result<State, Error> {
        Ok(match (state, kind) {
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
        })
    }

    /// The end of the text in `state` (`last` is the last line, for errors).
    fn finish(mut self, state: State, last: Line<'a>) -> Result<SessionDescription, Error> {
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
}
