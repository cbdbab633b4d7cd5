//! [`SessionDescription`] → SDP text
//! (libwebrtc's `SdpSerialize`).
//!
//! Lines end in CRLF and come in the order Chromium writes them
//! (`webrtc_sdp.cc`), so a description parsed from Chromium's output is
//! written back byte for byte:
//!
//! - session: `v=`, `o=`, `s=`, (`i=`, `c=`, `b=`), `t=`, `a=group`,
//!   `a=extmap-allow-mixed`, `a=msid-semantic`, `a=ice-lite`,
//!   `a=ice-options`, then the unknown session attributes;
//! - each section: `m=`, `c=`, `b=`, `a=bundle-only`, `a=rtcp`,
//!   `a=candidate`…, `a=end-of-candidates`, `a=ice-ufrag`, `a=ice-pwd`,
//!   `a=ice-options`, `a=fingerprint`, `a=setup`, `a=mid`,
//!   `a=extmap-allow-mixed`, `a=extmap`…, the direction, `a=msid`…,
//!   `a=rtcp-mux`, `a=rtcp-mux-only`, `a=rtcp-rsize`, the unmodelled
//!   attributes Chromium writes here (`a=rtcp-xr`, `a=x-google-flag`,
//!   `a=remote-net-estimate`, `a=crypto`: the leading run of them in
//!   `extra_attributes`), `a=rtcp-fb:*`…, per
//!   codec `a=rtpmap` / `a=rtcp-fb`… / `a=fmtp`, `a=maxptime`, `a=ptime`,
//!   `a=ssrc-group`…, `a=ssrc`…, `a=rid`…, `a=simulcast`, `a=sctp-port`,
//!   `a=max-message-size`, then the unknown section attributes.
//!
//! Every field of the model that is set is written, whatever the section's
//! kind. What the writer relies on (and the parser produces): RTP sections
//! list their payload types through `codecs` and non-RTP sections through
//! `formats`; a rejected section is written with port 0 whatever `port` says.
//! A section with neither codecs nor formats is written with the format `0`,
//! as libwebrtc does, since an `m=` line needs one.
//!
//! # No line injection
//!
//! The model's strings are public fields, so a value may hold anything. The
//! writer never lets one end a line: control characters (C0 and DEL, so CR
//! and LF among them) inside values are left out of the output. Checking
//! costs one pass over the finished text (its control bytes must be exactly
//! the CRLF line ends the writer wrote); only when that fails is the text
//! written again, filtering every value. The parser refuses such characters,
//! so a parsed description is always written as it came.

use std::fmt::{self, Write as _};

use crate::model::{
    Codec, ContentInfo, HeaderExtension, MediaContentDescription, SessionDescription, Simulcast,
    SimulcastLayer, SmolStr, TransportDescription,
};

/// Writes SDP text with CRLF line ends, in Chromium's line order.
///
/// ```
/// use sdp::model::{Codec, ContentInfo, Group, MediaContentDescription, MediaType, Origin};
/// use sdp::SessionDescription;
///
/// let mut desc = SessionDescription::new(Origin::new(1, 2));
/// desc.groups.push(Group::bundle(["0"]));
/// let mut audio = MediaContentDescription::new_rtp(MediaType::Audio);
/// audio.codecs.push(Codec::new(111, "opus", 48000, Some(2)).with_param("useinbandfec", "1"));
/// desc.contents.push(ContentInfo::new("0", audio));
///
/// let text = sdp::write(&desc);
/// assert!(text.starts_with("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"));
/// assert!(text.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
/// assert!(text.contains("a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n"));
/// assert_eq!(sdp::parse(&text)?, desc);
/// # Ok::<(), sdp::Error>(())
/// ```
pub fn write(desc: &SessionDescription) -> String {
    let mut out = String::with_capacity(1024 + 2048 * desc.contents.len());
    write_into(desc, &mut out);
    out
}

/// Appends the SDP text of `desc` to `out` (no allocation once `out` has
/// the capacity). Same output as [`write()`].
///
/// ```
/// use sdp::model::Origin;
///
/// let desc = sdp::SessionDescription::new(Origin::new(7, 1));
/// let mut buf = String::with_capacity(4096);
/// for _ in 0..2 {
///     buf.clear();
///     sdp::write::write_into(&desc, &mut buf);
///     assert_eq!(buf, sdp::write(&desc));
/// }
/// ```
pub fn write_into(desc: &SessionDescription, out: &mut String) {
    let start = out.len();
    let mut w = Writer {
        out,
        ends: 0,
        sanitize: false,
    };
    w.session(desc);
    let ends = w.ends;
    if control_bytes(&out.as_bytes()[start..]) != 2 * ends {
        // A value holds a control character: write again, filtering values.
        out.truncate(start);
        Writer {
            out,
            ends: 0,
            sanitize: true,
        }
        .session(desc);
    }
}

/// A control byte (C0 or DEL): what the parser refuses inside a line and
/// the writer leaves out of values. Branch-free, so loops over it vectorise.
#[inline]
pub(crate) fn is_control_byte(b: u8) -> bool {
    (b < 0x20) | (b == 0x7f)
}

/// How many control bytes `bytes` holds (a branch-free count).
fn control_bytes(bytes: &[u8]) -> usize {
    bytes.iter().map(|&b| usize::from(is_control_byte(b))).sum()
}

/// Whether a character is one the writer leaves out of values.
fn is_control(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_control_byte)
}

impl fmt::Display for SessionDescription {
    /// The SDP text, as [`write()`] produces it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(1024 + 2048 * self.contents.len());
        write_into(self, &mut s);
        f.write_str(&s)
    }
}

/// Unmodelled attributes Chromium writes after `a=rtcp-rsize` and before the
/// codecs (`BuildRtpContentAttributes`). The leading run of such attributes in
/// [`MediaContentDescription::extra_attributes`](crate::model::MediaContentDescription::extra_attributes)
/// is written there, the rest at the end of the section; the parser keeps
/// them in that order.
pub(crate) fn is_rtp_slot_attribute(name: &str) -> bool {
    matches!(
        name,
        "rtcp-xr" | "x-google-flag" | "remote-net-estimate" | "crypto"
    )
}

struct Writer<'a> {
    out: &'a mut String,
    /// Line ends written so far.
    ends: usize,
    /// Filter control characters out of every value (see the module docs).
    sanitize: bool,
}

impl Writer<'_> {
    fn s(&mut self, s: &str) -> &mut Self {
        if self.sanitize {
            self.out.extend(s.chars().filter(|c| !is_control(*c)));
        } else {
            self.out.push_str(s);
        }
        self
    }

    fn n(&mut self, n: impl fmt::Display) -> &mut Self {
        // Writing into a String cannot fail.
        if self.sanitize {
            let text = n.to_string();
            self.out.extend(text.chars().filter(|c| !is_control(*c)));
        } else {
            let _ = write!(self.out, "{n}");
        }
        self
    }

    fn end(&mut self) {
        self.out.push_str("\r\n");
        self.ends += 1;
    }

    /// `a=<name>` (flag attribute).
    fn flag(&mut self, name: &str) {
        self.s("a=").s(name).end();
    }

    /// `a=<name>:<value>`.
    fn attr(&mut self, name: &str, value: &str) {
        self.s("a=").s(name).s(":").s(value).end();
    }

    fn session(&mut self, d: &SessionDescription) {
        let o = &d.origin;
        self.s("v=0").end();
        self.s("o=").s(&o.username).s(" ").n(o.session_id).s(" ");
        self.n(o.session_version).s(" ").s(&o.net_type).s(" ");
        self.s(&o.address_type).s(" ").s(&o.address).end();
        self.s("s=").s(&d.session_name).end();
        if let Some(i) = &d.session_info {
            self.s("i=").s(i).end();
        }
        if let Some(c) = &d.connection {
            self.connection(c);
        }
        for b in &d.bandwidths {
            self.s("b=").s(&b.kind).s(":").n(b.value).end();
        }
        self.s("t=").n(d.timing.0).s(" ").n(d.timing.1).end();
        for g in &d.groups {
            self.s("a=group:").s(&g.semantics);
            for m in &g.mids {
                self.s(" ").s(m);
            }
            self.end();
        }
        if d.extmap_allow_mixed {
            self.flag("extmap-allow-mixed");
        }
        if let Some(m) = &d.msid_semantic {
            // Chromium's spelling, with a space after the colon.
            self.s("a=msid-semantic: ").s(&m.semantic);
            for id in &m.ids {
                self.s(" ").s(id);
            }
            self.end();
        }
        if d.ice_lite {
            self.flag("ice-lite");
        }
        self.ice_options(&d.ice_options);
        self.extras(&d.extra_attributes);
        for c in &d.contents {
            self.content(c);
        }
    }

    fn connection(&mut self, c: &crate::model::Connection) {
        self.s("c=").s(&c.net_type).s(" ").s(&c.address_type).s(" ");
        self.s(&c.address).end();
    }

    fn ice_options(&mut self, options: &[SmolStr]) {
        if options.is_empty() {
            return;
        }
        self.s("a=ice-options:");
        for (i, o) in options.iter().enumerate() {
            if i > 0 {
                self.s(" ");
            }
            self.s(o);
        }
        self.end();
    }

    fn extras(&mut self, extras: &[crate::model::Attribute]) {
        for a in extras {
            self.s("a=").s(&a.name);
            if let Some(v) = &a.value {
                self.s(":").s(v);
            }
            self.end();
        }
    }

    /// One m-section, its lines in Chromium's order.
    fn content(&mut self, c: &ContentInfo) {
        let m = &c.media;
        self.media_line(c);
        if let Some(conn) = &m.connection {
            self.connection(conn);
        }
        for b in &m.bandwidths {
            self.s("b=").s(&b.kind).s(":").n(b.value).end();
        }
        if c.bundle_only {
            self.flag("bundle-only");
        }
        if let Some(r) = &m.rtcp {
            self.attr("rtcp", r);
        }
        self.transport(&c.transport);
        if !c.mid.is_empty() {
            self.attr("mid", &c.mid);
        }
        if m.extmap_allow_mixed {
            self.flag("extmap-allow-mixed");
        }
        self.header_extensions(&m.header_extensions);
        if m.direction_written {
            self.flag(m.direction.as_str());
        }
        for msid in &m.msids {
            self.s("a=msid:").s(&msid.stream_id);
            if let Some(t) = &msid.track_id {
                self.s(" ").s(t);
            }
            self.end();
        }
        if m.rtcp_mux {
            self.flag("rtcp-mux");
        }
        if m.rtcp_mux_only {
            self.flag("rtcp-mux-only");
        }
        if m.rtcp_rsize {
            self.flag("rtcp-rsize");
        }
        let slot = m
            .extra_attributes
            .iter()
            .take_while(|a| is_rtp_slot_attribute(&a.name))
            .count();
        self.extras(&m.extra_attributes[..slot]);
        for fb in &m.wildcard_feedback {
            self.s("a=rtcp-fb:* ").n(fb).end();
        }
        self.codecs(&m.codecs);
        if let Some(p) = m.max_ptime {
            self.s("a=maxptime:").n(p).end();
        }
        if let Some(p) = m.ptime {
            self.s("a=ptime:").n(p).end();
        }
        self.streams(m);
        if let Some(sim) = &m.simulcast {
            self.simulcast(sim);
        }
        if let Some(p) = m.sctp_port {
            self.s("a=sctp-port:").n(p).end();
        }
        if let Some(s) = m.max_message_size {
            self.s("a=max-message-size:").n(s).end();
        }
        self.extras(&m.extra_attributes[slot..]);
    }

    /// `m=<media> <port> <proto> <fmt>…` (port 0 when rejected).
    fn media_line(&mut self, c: &ContentInfo) {
        let m = &c.media;
        self.s("m=").s(m.media_type.as_str()).s(" ");
        self.n(if c.rejected { 0 } else { m.port });
        self.s(" ").s(&m.protocol);
        for codec in &m.codecs {
            self.s(" ").n(codec.payload_type);
        }
        for f in &m.formats {
            self.s(" ").s(f);
        }
        if m.codecs.is_empty() && m.formats.is_empty() {
            self.s(" 0");
        }
        self.end();
    }

    /// The section's transport: candidates, ICE credentials and options,
    /// fingerprints, setup.
    fn transport(&mut self, t: &TransportDescription) {
        for cand in &t.candidates {
            self.s("a=").n(cand).end();
        }
        if t.end_of_candidates {
            self.flag("end-of-candidates");
        }
        if !t.ice_ufrag.is_empty() {
            self.attr("ice-ufrag", &t.ice_ufrag);
        }
        if !t.ice_pwd.is_empty() {
            self.attr("ice-pwd", &t.ice_pwd);
        }
        self.ice_options(&t.ice_options);
        for fp in &t.fingerprints {
            self.s("a=fingerprint:").n(fp).end();
        }
        if let Some(setup) = t.setup {
            self.attr("setup", setup.as_str());
        }
    }

    /// `a=extmap` lines.
    fn header_extensions(&mut self, extensions: &[HeaderExtension]) {
        for e in extensions {
            self.s("a=extmap:").n(e.id);
            if let Some(d) = e.direction {
                self.s("/").s(d.as_str());
            }
            self.s(" ").s(&e.uri);
            if let Some(a) = &e.attributes {
                self.s(" ").s(a);
            }
            self.end();
        }
    }

    /// Per codec: `a=rtpmap`, its `a=rtcp-fb` lines, `a=fmtp`.
    fn codecs(&mut self, codecs: &[Codec]) {
        for codec in codecs {
            let pt = codec.payload_type;
            if !codec.name.is_empty() {
                self.s("a=rtpmap:").n(pt).s(" ").s(&codec.name).s("/");
                self.n(codec.clock_rate);
                if let Some(ch) = codec.channels {
                    self.s("/").n(ch);
                }
                self.end();
            }
            for fb in &codec.feedback {
                self.s("a=rtcp-fb:").n(pt).s(" ").n(fb).end();
            }
            if !codec.params.is_empty() {
                self.s("a=fmtp:").n(pt).s(" ");
                for (i, (k, v)) in codec.params.iter().enumerate() {
                    if i > 0 {
                        self.s(";");
                    }
                    if !k.is_empty() {
                        self.s(k).s("=");
                    }
                    self.s(v);
                }
                self.end();
            }
        }
    }

    /// `a=ssrc-group`, `a=ssrc` and `a=rid` lines.
    fn streams(&mut self, m: &MediaContentDescription) {
        for g in &m.ssrc_groups {
            self.s("a=ssrc-group:").s(&g.semantics);
            for s in &g.ssrcs {
                self.s(" ").n(s);
            }
            self.end();
        }
        for a in &m.ssrcs {
            self.s("a=ssrc:").n(a.ssrc).s(" ").s(&a.name);
            if let Some(v) = &a.value {
                self.s(":").s(v);
            }
            self.end();
        }
        for r in &m.rids {
            self.s("a=rid:").s(&r.id).s(" ").s(r.direction.as_str());
            if let Some(x) = &r.restrictions {
                self.s(" ").s(x);
            }
            self.end();
        }
    }

    fn simulcast(&mut self, sim: &Simulcast) {
        self.s("a=simulcast:");
        let mut first = true;
        for (dir, list) in [("send", &sim.send), ("recv", &sim.recv)] {
            if list.is_empty() {
                continue;
            }
            if !first {
                self.s(" ");
            }
            first = false;
            self.s(dir).s(" ");
            for (i, stream) in list.iter().enumerate() {
                if i > 0 {
                    self.s(";");
                }
                self.layers(stream);
            }
        }
        self.end();
    }

    fn layers(&mut self, alternatives: &[SimulcastLayer]) {
        for (i, l) in alternatives.iter().enumerate() {
            if i > 0 {
                self.s(",");
            }
            if l.paused {
                self.s("~");
            }
            self.s(&l.rid);
        }
    }
}
