//! SDP text → [`SessionDescription`](crate::model::SessionDescription)
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
//!   [`write`](crate::write) puts them back in that slot.
//!
//! # What is dropped
//!
//! The model does not keep: `u=`, `e=`, `p=`, `r=`, `z=` and `k=` lines, the
//! media-level `i=`, any `t=` after the first, any `c=` after the first of its
//! level, fingerprints after the first of a section, and the number-of-ports
//! suffix of an `m=` port (`49170/2`). Session-level `a=ice-ufrag`,
//! `a=ice-pwd`, `a=fingerprint` and `a=setup` are not kept at session level but
//! copied into every section that does not set its own (JSEP, RFC 8829
//! §5.8); session-level `a=ice-options` is kept *and* copied the same way.
//!
//! # Errors and limits
//!
//! Every failure is [`Error::Parse`] naming the 1-based line, what was
//! expected and the line itself; the parser never panics. Input longer than
//! [`MAX_SDP_LEN`] is refused up front with [`Error::TooLarge`], so every list
//! the parser builds is bounded by the input length. A known attribute with a
//! malformed value is an error (a payload type above 127, a second `a=rtpmap`
//! for one payload type, a bad fingerprint or candidate…); an unknown
//! attribute is never one.

use std::str::FromStr;

use crate::model::{
    Attribute, Bandwidth, Candidate, Codec, Connection, ContentInfo, Direction, Fingerprint, Group,
    HeaderExtension, MediaContentDescription, MediaType, Msid, MsidSemantic, Origin, Rid,
    RidDirection, RtcpFeedback, SessionDescription, Setup, Simulcast, SimulcastLayer,
    SsrcAttribute, SsrcGroup,
};
use crate::Error;

/// The largest SDP text [`parse`] accepts, in bytes (256 KiB). A Chromium
/// offer with three sections and a dozen candidates is about 6 KiB.
pub const MAX_SDP_LEN: usize = 256 * 1024;

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
    Parser::default().run(text)
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
}

/// Session-level transport attributes, copied into sections that lack them.
#[derive(Default)]
struct SessionTransport {
    ice_ufrag: Option<String>,
    ice_pwd: Option<String>,
    fingerprint: Option<Fingerprint>,
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

/// The section being built, with what the m= line listed.
struct Section {
    content: ContentInfo,
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

#[derive(Default)]
struct Parser {
    desc: Option<SessionDescription>,
    origin: Option<Origin>,
    session_name: Option<String>,
    timing: Option<(u64, u64)>,
    transport: SessionTransport,
    section: Option<Box<Section>>,
}

fn new_session(origin: Origin) -> SessionDescription {
    let mut d = SessionDescription::new(origin);
    d.session_name = String::new();
    d
}

impl Parser {
    fn run(mut self, text: &str) -> Result<SessionDescription, Error> {
        let mut state = State::Start;
        let mut last = Line {
            number: 1,
            text: "",
        };
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let text = raw.strip_suffix('\r').unwrap_or(raw);
            if text.is_empty() {
                continue;
            }
            let line = Line { number, text };
            last = line;
            let bytes = text.as_bytes();
            if bytes.len() < 2 || bytes[1] != b'=' {
                return Err(line.err("a `<type>=<value>` line"));
            }
            let kind = bytes[0];
            let value = &text[2..];
            state = match (state, kind) {
                (State::Start, b'v') => {
                    if value != "0" {
                        return Err(line.err("`v=0`"));
                    }
                    State::Origin
                }
                (State::Start, _) => return Err(line.err("`v=0` as the first line")),
                (State::Origin, b'o') => {
                    self.origin = Some(parse_origin(line, value)?);
                    State::Name
                }
                (State::Origin, _) => return Err(line.err("an `o=` line after `v=`")),
                (State::Name, b's') => {
                    self.session_name = Some(value.to_string());
                    let origin = self.origin.take().ok_or_else(|| line.err("`o=`"))?;
                    self.desc = Some(new_session(origin));
                    State::Session
                }
                (State::Name, _) => return Err(line.err("an `s=` line after `o=`")),
                (State::Session, b'm') | (State::Media, b'm') => {
                    if state == State::Session && self.timing.is_none() {
                        return Err(line.err("a `t=` line before the first `m=`"));
                    }
                    self.finish_section();
                    self.section = Some(Box::new(parse_media_line(line, value)?));
                    State::Media
                }
                (State::Session, _) => {
                    self.session_line(line, kind, value)?;
                    State::Session
                }
                (State::Media, _) => {
                    self.media_line(line, kind, value)?;
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
            _ => {}
        }
        self.finish_section();
        let mut desc = self
            .desc
            .take()
            .ok_or_else(|| last.err("a session description"))?;
        desc.session_name = self.session_name.take().unwrap_or_default();
        desc.timing = self.timing.unwrap_or((0, 0));
        Ok(desc)
    }

    fn desc(&mut self) -> &mut SessionDescription {
        // `desc` is set when the state reaches Session, before any caller.
        self.desc
            .get_or_insert_with(|| new_session(Origin::new(0, 0)))
    }

    fn session_line(&mut self, line: Line<'_>, kind: u8, value: &str) -> Result<(), Error> {
        match kind {
            b'i' => {
                let desc = self.desc();
                if desc.session_info.is_none() {
                    desc.session_info = Some(value.to_string());
                }
            }
            b'c' => {
                let c = parse_connection(line, value)?;
                let desc = self.desc();
                if desc.connection.is_none() {
                    desc.connection = Some(c);
                }
            }
            b'b' => {
                let b = parse_bandwidth(line, value)?;
                self.desc().bandwidths.push(b);
            }
            b't' => {
                let t = parse_timing(line, value)?;
                self.timing.get_or_insert(t);
            }
            // Dropped: URI, e-mail, phone, repeat times, time zones, key.
            b'u' | b'e' | b'p' | b'r' | b'z' | b'k' => {}
            b'a' => self.session_attribute(line, value)?,
            _ => return Err(line.err("a session-level line (i u e p c b t r z k a) or `m=`")),
        }
        Ok(())
    }

    fn session_attribute(&mut self, line: Line<'_>, attr: &str) -> Result<(), Error> {
        let (name, value) = split_attribute(attr);
        match name {
            "group" => {
                let v = required(line, value, "a group `<semantics> <mid>…`")?;
                let mut it = fields(v, b' ');
                let semantics = it.next().unwrap_or_default();
                if semantics.is_empty() {
                    return Err(line.err("a group semantics token"));
                }
                let mids = it.filter(|m| !m.is_empty()).map(str::to_string).collect();
                self.desc().groups.push(Group {
                    semantics: semantics.to_string(),
                    mids,
                });
            }
            "msid-semantic" => {
                let v = required(line, value, "`msid-semantic: WMS [<id>…]`")?;
                let mut it = fields(v, b' ').filter(|t| !t.is_empty());
                let semantic = it
                    .next()
                    .ok_or_else(|| line.err("an msid-semantic token"))?;
                let ids = it.map(str::to_string).collect();
                self.desc().msid_semantic = Some(MsidSemantic {
                    semantic: semantic.to_string(),
                    ids,
                });
            }
            "ice-lite" => self.desc().ice_lite = true,
            "ice-options" => {
                let v = required(line, value, "ice-options tokens")?;
                let desc = self.desc();
                desc.ice_options.clear();
                desc.ice_options.extend(tokens(v));
            }
            "extmap-allow-mixed" => self.desc().extmap_allow_mixed = true,
            "ice-ufrag" => {
                self.transport.ice_ufrag = Some(required(line, value, "an ICE ufrag")?.to_string());
            }
            "ice-pwd" => {
                self.transport.ice_pwd = Some(required(line, value, "an ICE pwd")?.to_string());
            }
            "fingerprint" => {
                let fp = parse_fingerprint(line, value)?;
                self.transport.fingerprint.get_or_insert(fp);
            }
            "setup" => self.transport.setup = Some(parse_setup(line, value)?),
            _ => self.desc().extra_attributes.push(attribute(name, value)),
        }
        Ok(())
    }

    fn media_line(&mut self, line: Line<'_>, kind: u8, value: &str) -> Result<(), Error> {
        let Some(section) = self.section.as_deref_mut() else {
            return Err(line.err("an `m=` line"));
        };
        let media = &mut section.content.media;
        match kind {
            // Media title and key: dropped.
            b'i' | b'k' => {}
            b'c' => {
                let c = parse_connection(line, value)?;
                if media.connection.is_none() {
                    media.connection = Some(c);
                }
            }
            b'b' => media.bandwidths.push(parse_bandwidth(line, value)?),
            b'a' => media_attribute(section, line, value)?,
            _ => return Err(line.err("a media-level line (i c b k a) or `m=`")),
        }
        Ok(())
    }

    /// Closes the current section: rejection, JSEP inheritance of the
    /// session-level transport attributes.
    fn finish_section(&mut self) {
        let Some(section) = self.section.take() else {
            return;
        };
        let mut content = section.content;
        for codec in &mut content.media.codecs {
            let pt = codec.payload_type;
            if !section.has_rtpmap[usize::from(pt)] {
                if let Some((name, rate, channels)) = static_payload_type(pt) {
                    codec.name = name.to_string();
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
        if t.fingerprint.is_none() {
            t.fingerprint = s.fingerprint;
        }
        if t.setup.is_none() {
            t.setup = s.setup;
        }
        let desc = self.desc();
        if content.transport.ice_options.is_empty() {
            content.transport.ice_options.clone_from(&desc.ice_options);
        }
        desc.contents.push(content);
    }
}

/// `name:value` → (`name`, `Some(value)`); `name` → (`name`, `None`).
fn split_attribute(attr: &str) -> (&str, Option<&str>) {
    match attr.split_once_byte(b':') {
        Some((n, v)) => (n, Some(v)),
        None => (attr, None),
    }
}

fn attribute(name: &str, value: Option<&str>) -> Attribute {
    Attribute {
        name: name.to_string(),
        value: value.map(str::to_string),
    }
}

fn required<'a>(
    line: Line<'_>,
    value: Option<&'a str>,
    what: &'static str,
) -> Result<&'a str, Error> {
    value.ok_or_else(|| line.err(what))
}

fn tokens(v: &str) -> impl Iterator<Item = String> + '_ {
    fields(v, b' ')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
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

fn parse_origin(line: Line<'_>, value: &str) -> Result<Origin, Error> {
    const WHAT: &str = "`o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`";
    let mut it = fields(value, b' ');
    let mut field = || {
        it.next()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| line.err(WHAT))
    };
    let username = field()?;
    let id = field()?;
    let version = field()?;
    let net_type = field()?;
    let address_type = field()?;
    let address = field()?;
    if it.next().is_some() {
        return Err(line.err(WHAT));
    }
    Ok(Origin {
        username: username.to_string(),
        session_id: number(line, id, "a numeric session id (0 to 2^64-1)")?,
        session_version: number(line, version, "a numeric session version")?,
        net_type: net_type.to_string(),
        address_type: address_type.to_string(),
        address: address.to_string(),
    })
}

fn parse_connection(line: Line<'_>, value: &str) -> Result<Connection, Error> {
    const WHAT: &str = "`c=<nettype> <addrtype> <address>`";
    let mut it = fields(value, b' ');
    let mut field = || {
        it.next()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| line.err(WHAT))
    };
    let net_type = field()?;
    let address_type = field()?;
    let address = field()?;
    if it.next().is_some() {
        return Err(line.err(WHAT));
    }
    Ok(Connection {
        net_type: net_type.to_string(),
        address_type: address_type.to_string(),
        address: address.to_string(),
    })
}

fn parse_bandwidth(line: Line<'_>, value: &str) -> Result<Bandwidth, Error> {
    const WHAT: &str = "`b=<bwtype>:<bandwidth>`";
    let (kind, v) = value.split_once_byte(b':').ok_or_else(|| line.err(WHAT))?;
    if kind.is_empty() {
        return Err(line.err(WHAT));
    }
    Ok(Bandwidth {
        kind: kind.to_string(),
        value: number(line, v, WHAT)?,
    })
}

fn parse_timing(line: Line<'_>, value: &str) -> Result<(u64, u64), Error> {
    const WHAT: &str = "`t=<start-time> <stop-time>`";
    let (a, b) = value.split_once_byte(b' ').ok_or_else(|| line.err(WHAT))?;
    Ok((number(line, a, WHAT)?, number(line, b, WHAT)?))
}

fn parse_fingerprint(line: Line<'_>, value: Option<&str>) -> Result<Fingerprint, Error> {
    const WHAT: &str = "a fingerprint `<hash-func> <XX:XX:…>`";
    required(line, value, WHAT)?
        .parse()
        .map_err(|_| line.err(WHAT))
}

fn parse_setup(line: Line<'_>, value: Option<&str>) -> Result<Setup, Error> {
    const WHAT: &str = "`setup:active`, `passive` or `actpass`";
    required(line, value, WHAT)?
        .parse()
        .map_err(|_| line.err(WHAT))
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

fn parse_media_line(line: Line<'_>, value: &str) -> Result<Section, Error> {
    const WHAT: &str = "`m=<media> <port> <proto> <fmt>…`";
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
    let port_str = port_field
        .split_once_byte(b'/')
        .map_or(port_field, |(p, _)| p);
    let port: u16 = number(line, port_str, "a port number (0-65535)")?;
    let rtp = is_rtp_protocol(protocol);
    let media = MediaContentDescription {
        media_type,
        port,
        protocol: protocol.to_string(),
        formats: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        rtcp: None,
        codecs: Vec::new(),
        header_extensions: Vec::new(),
        extmap_allow_mixed: false,
        direction: Direction::SendRecv,
        direction_written: false,
        rtcp_mux: false,
        rtcp_mux_only: false,
        rtcp_rsize: false,
        msids: Vec::new(),
        ssrcs: Vec::new(),
        ssrc_groups: Vec::new(),
        rids: Vec::new(),
        simulcast: None,
        sctp_port: None,
        max_message_size: None,
        ptime: None,
        max_ptime: None,
        wildcard_feedback: Vec::new(),
        extra_attributes: Vec::new(),
    };
    let mut section = Section {
        content: ContentInfo::new(String::new(), media),
        rtp,
        pt_index: [0; 128],
        has_rtpmap: [false; 128],
        rtp_slot_extras: 0,
    };
    let media = &mut section.content.media;
    // Sized once: the m= line lists every codec (at most 128 distinct).
    if rtp {
        let listed = value.bytes().filter(|b| *b == b' ').count().min(128);
        media.codecs.reserve_exact(listed);
    }
    for fmt in it.filter(|f| !f.is_empty()) {
        if rtp {
            let pt = payload_type(line, fmt)?;
            if section.pt_index[usize::from(pt)] != 0 {
                return Err(line.err("distinct payload types"));
            }
            // Static payload types get their RFC 3551 names when the
            // section ends without an rtpmap for them.
            media.codecs.push(Codec::new(pt, "", 0, None));
            // At most 128 codecs: the index fits in a u8.
            section.pt_index[usize::from(pt)] = media.codecs.len() as u8;
        } else {
            media.formats.push(fmt.to_string());
        }
    }
    Ok(section)
}

fn media_attribute(section: &mut Section, line: Line<'_>, attr: &str) -> Result<(), Error> {
    let (name, value) = split_attribute(attr);
    let Section {
        content,
        rtp,
        pt_index,
        has_rtpmap,
        rtp_slot_extras,
    } = section;
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
    match name {
        "rtcp-fb" => {
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
            let feedback = RtcpFeedback::new(kind, param);
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
                    None => media.extra_attributes.push(attribute("rtcp-fb", value)),
                }
            }
        }
        "rtpmap" => {
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
                    codec.name = name.to_string();
                    codec.clock_rate = clock_rate;
                    codec.channels = channels;
                }
                None => media.extra_attributes.push(attribute("rtpmap", value)),
            }
        }
        "fmtp" => {
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
                        let part = part.trim();
                        if part.is_empty() {
                            continue;
                        }
                        match part.split_once_byte(b'=') {
                            Some((k, v)) => {
                                let k = k.trim();
                                if k.is_empty() {
                                    return Err(line.err("an fmtp parameter name before `=`"));
                                }
                                codec.params.push((k.to_string(), v.trim().to_string()));
                            }
                            None => codec.params.push((String::new(), part.to_string())),
                        }
                    }
                }
                None => media.extra_attributes.push(attribute("fmtp", value)),
            }
        }
        "extmap" => {
            const WHAT: &str = "`extmap:<id>[/<direction>] <uri> [<attributes>]`";
            let v = required(line, value, WHAT)?;
            let mut it = SplitN3::new(v);
            let id_dir = it.next().unwrap_or_default();
            let uri = it.next().filter(|u| !u.is_empty());
            let uri = uri.ok_or_else(|| line.err(WHAT))?;
            let attributes = it.next().map(str::to_string);
            let (id, direction) = match id_dir.split_once_byte(b'/') {
                Some((id, d)) => (
                    id,
                    Some(Direction::from_token(d).ok_or_else(|| line.err("an extmap direction"))?),
                ),
                None => (id_dir, None),
            };
            media.header_extensions.push(HeaderExtension {
                id: number(line, id, "an extmap id (0-65535)")?,
                uri: uri.to_string(),
                direction,
                attributes,
            });
        }
        "ssrc" => {
            const WHAT: &str = "`ssrc:<ssrc> <attribute>[:<value>]`";
            let v = required(line, value, WHAT)?;
            let (ssrc, rest) = v.split_once_byte(b' ').ok_or_else(|| line.err(WHAT))?;
            let (name, value) = split_attribute(rest);
            if name.is_empty() {
                return Err(line.err(WHAT));
            }
            media.ssrcs.push(SsrcAttribute {
                ssrc: number(line, ssrc, "an SSRC (0-4294967295)")?,
                name: name.to_string(),
                value: value.map(str::to_string),
            });
        }
        "candidate" => {
            let c = Candidate::from_str(attr).map_err(|_| line.err("an ICE candidate"))?;
            transport.candidates.push(c);
        }
        "mid" => *mid = required(line, value, "a mid")?.to_string(),
        "bundle-only" => *bundle_only = true,
        "extmap-allow-mixed" => media.extmap_allow_mixed = true,
        "sendrecv" | "sendonly" | "recvonly" | "inactive" => {
            // The match arm lists exactly the tokens `from_token` accepts.
            media.direction = Direction::from_token(name).unwrap_or_default();
            media.direction_written = true;
        }
        "rtcp" => media.rtcp = Some(required(line, value, "`rtcp:<port> …`")?.to_string()),
        "rtcp-mux" => media.rtcp_mux = true,
        "rtcp-mux-only" => media.rtcp_mux_only = true,
        "rtcp-rsize" => media.rtcp_rsize = true,
        "msid" => {
            let v = required(line, value, "`msid:<stream id> [<track id>]`")?;
            let msid = match v.split_once_byte(b' ') {
                Some((s, t)) => Msid {
                    stream_id: s.to_string(),
                    track_id: Some(t.to_string()),
                },
                None => Msid {
                    stream_id: v.to_string(),
                    track_id: None,
                },
            };
            media.msids.push(msid);
        }
        "ssrc-group" => {
            const WHAT: &str = "`ssrc-group:<semantics> <ssrc>…`";
            let v = required(line, value, WHAT)?;
            let mut it = fields(v, b' ');
            let semantics = it.next().filter(|s| !s.is_empty());
            let semantics = semantics.ok_or_else(|| line.err(WHAT))?;
            let mut ssrcs = Vec::new();
            for s in it.filter(|s| !s.is_empty()) {
                ssrcs.push(number(line, s, "an SSRC (0-4294967295)")?);
            }
            media.ssrc_groups.push(SsrcGroup {
                semantics: semantics.to_string(),
                ssrcs,
            });
        }
        "rid" => {
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
                id: id.to_string(),
                direction,
                restrictions: it.next().map(str::to_string),
            });
        }
        "simulcast" => {
            let v = required(line, value, "`simulcast:send <streams> recv <streams>`")?;
            media.simulcast = Some(parse_simulcast(line, v)?);
        }
        "sctp-port" => {
            let v = required(line, value, "`sctp-port:<port>`")?;
            media.sctp_port = Some(number(line, v, "an SCTP port (0-65535)")?);
        }
        "max-message-size" => {
            let v = required(line, value, "`max-message-size:<bytes>`")?;
            media.max_message_size = Some(number(line, v, "a max-message-size in bytes")?);
        }
        "ptime" => {
            let v = required(line, value, "`ptime:<ms>`")?;
            media.ptime = Some(number(line, v, "a ptime in milliseconds")?);
        }
        "maxptime" => {
            let v = required(line, value, "`maxptime:<ms>`")?;
            media.max_ptime = Some(number(line, v, "a maxptime in milliseconds")?);
        }
        "ice-ufrag" => transport.ice_ufrag = required(line, value, "an ICE ufrag")?.to_string(),
        "ice-pwd" => transport.ice_pwd = required(line, value, "an ICE pwd")?.to_string(),
        "ice-options" => {
            let v = required(line, value, "ice-options tokens")?;
            transport.ice_options.clear();
            transport.ice_options.extend(tokens(v));
        }
        "fingerprint" => {
            let fp = parse_fingerprint(line, value)?;
            transport.fingerprint.get_or_insert(fp);
        }
        "setup" => transport.setup = Some(parse_setup(line, value)?),
        "end-of-candidates" => transport.end_of_candidates = true,
        _ => {
            let a = attribute(name, value);
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

/// `send <streams> [recv <streams>]` in either order (RFC 8853 §5.1).
fn parse_simulcast(line: Line<'_>, value: &str) -> Result<Simulcast, Error> {
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
                    rid: rid.to_string(),
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
