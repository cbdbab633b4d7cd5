//! The lines of an m-section: `m=` itself, `i=`/`c=`/`b=`/`k=`, and every
//! `a=` attribute the model knows, one function per attribute with a value
//! worth a grammar.

use std::str::FromStr;

use super::lex::{
    attribute, fields, number, required, split_attribute, tokens, trim, AttrName, SplitByte,
    SplitN3, Strings,
};
use super::values::{
    ice_credential, is_rtp_protocol, is_token, parse_bandwidth, parse_connection,
    parse_fingerprint, parse_setup, parse_simulcast, payload_type, push_fingerprint,
};
use super::{Line, Parser, Section, MAX_FORMATS, MAX_SECTIONS};
use crate::error::{Limited, Violation};
use crate::jsep::MAX_CANDIDATES_PER_SECTION;
use crate::model::{
    Candidate, Codec, ContentInfo, Direction, HeaderExtension, MediaContentDescription, MediaType,
    Msid, Rid, RidDirection, RtcpFeedback, SmolStr, SsrcAttribute, SsrcGroup,
};
use crate::validate::{is_ice_pwd, is_ice_ufrag};
use crate::Error;

impl<'a> Parser<'a> {
    /// `i=`, `c=`, `b=`, `k=` in a section.
    pub(super) fn media_other_line(
        &mut self,
        line: Line<'a>,
        kind: u8,
        value: &'a str,
    ) -> Result<(), Error> {
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

    /// An `m=` line: a new content at the end of the description.
    pub(super) fn media_line(&mut self, line: Line<'a>, value: &'a str) -> Result<(), Error> {
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
    pub(super) fn media_attribute(&mut self, line: Line<'a>, attr: &'a str) -> Result<(), Error> {
        let (name, value) = split_attribute(attr);
        let section = self.section_index();
        let Some(content) = self.desc.contents.last_mut() else {
            return Err(line.err("an `m=` line"));
        };
        let strings = &mut self.strings;
        let state = &mut self.section;
        let ContentInfo {
            mid,
            bundle_only,
            media,
            transport,
            ..
        } = content;
        match AttrName::of(name) {
            AttrName::RtcpFb => rtcp_fb(strings, line, value, state, media)?,
            AttrName::Rtpmap => rtpmap(strings, line, value, state, media)?,
            AttrName::Fmtp => fmtp(strings, line, value, state, media)?,
            AttrName::Extmap => {
                let extension = extmap(strings, line, value)?;
                let list = &mut media.header_extensions;
                if list.capacity() == 0 {
                    // Chromium offers about a dozen for video: one allocation.
                    list.reserve_exact(16);
                }
                list.push(extension);
            }
            AttrName::Ssrc => media.ssrcs.push(ssrc(strings, line, value)?),
            AttrName::Candidate => candidate(line, section, attr, &mut transport.candidates)?,
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
            AttrName::Msid => media.msids.push(msid(strings, line, value)?),
            AttrName::SsrcGroup => media.ssrc_groups.push(ssrc_group(strings, line, value)?),
            AttrName::Rid => media.rids.push(rid(strings, line, value)?),
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
                unknown(strings, name, value, state, media)
            }
        }
        Ok(())
    }
}

/// `a=rtcp-fb`: on its codec, on every codec (`*`), or kept as unknown for
/// a payload type the `m=` line does not list.
fn rtcp_fb(
    strings: &mut Strings,
    line: Line<'_>,
    value: Option<&str>,
    state: &Section,
    media: &mut MediaContentDescription,
) -> Result<(), Error> {
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
        return Ok(());
    }
    let pt = payload_type(line, pt)?;
    match state.codec_index(pt) {
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
    Ok(())
}

/// `a=rtpmap`: names its codec (once per payload type), or is kept as
/// unknown for a payload type the `m=` line does not list.
fn rtpmap(
    strings: &mut Strings,
    line: Line<'_>,
    value: Option<&str>,
    state: &mut Section,
    media: &mut MediaContentDescription,
) -> Result<(), Error> {
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
    match state.codec_index(pt) {
        Some(i) => {
            if std::mem::replace(&mut state.has_rtpmap[usize::from(pt)], true) {
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
    Ok(())
}

/// `a=fmtp`: its codec's parameters, or kept as unknown for a payload type
/// the `m=` line does not list.
fn fmtp(
    strings: &mut Strings,
    line: Line<'_>,
    value: Option<&str>,
    state: &Section,
    media: &mut MediaContentDescription,
) -> Result<(), Error> {
    const WHAT: &str = "`fmtp:<pt> <parameters>`";
    let v = required(line, value, WHAT)?;
    let (pt, params) = v.split_once_byte(b' ').unwrap_or((v, ""));
    let pt = payload_type(line, pt)?;
    let Some(i) = state.codec_index(pt) else {
        media
            .extra_attributes
            .push(attribute(strings, "fmtp", value));
        return Ok(());
    };
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
    Ok(())
}

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]`.
fn extmap(
    strings: &mut Strings,
    line: Line<'_>,
    value: Option<&str>,
) -> Result<HeaderExtension, Error> {
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
            Some(Direction::from_token(d).ok_or_else(|| line.err("an extmap direction"))?),
        ),
        None => (id_dir, None),
    };
    Ok(HeaderExtension {
        id: number(line, id, "an extmap id (0-65535)")?,
        uri: strings.get(uri),
        direction,
        attributes,
    })
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]`.
fn ssrc(
    strings: &mut Strings,
    line: Line<'_>,
    value: Option<&str>,
) -> Result<SsrcAttribute, Error> {
    const WHAT: &str = "`ssrc:<ssrc> <attribute>[:<value>]`";
    let v = required(line, value, WHAT)?;
    let (ssrc, rest) = v.split_once_byte(b' ').ok_or_else(|| line.err(WHAT))?;
    let (name, value) = split_attribute(rest);
    if name.is_empty() {
        return Err(line.err(WHAT));
    }
    Ok(SsrcAttribute {
        ssrc: number(line, ssrc, "an SSRC (0-4294967295)")?,
        name: strings.token(name),
        value: strings.opt(value),
    })
}

/// `a=msid:<stream id> [<track id>]`.
fn msid(strings: &mut Strings, line: Line<'_>, value: Option<&str>) -> Result<Msid, Error> {
    let v = required(line, value, "`msid:<stream id> [<track id>]`")?;
    Ok(match v.split_once_byte(b' ') {
        Some((s, t)) => Msid {
            stream_id: strings.get(s),
            track_id: Some(strings.get(t)),
        },
        None => Msid {
            stream_id: strings.get(v),
            track_id: None,
        },
    })
}

/// `a=ssrc-group:<semantics> <ssrc>…`.
fn ssrc_group(
    strings: &mut Strings,
    line: Line<'_>,
    value: Option<&str>,
) -> Result<SsrcGroup, Error> {
    const WHAT: &str = "`ssrc-group:<semantics> <ssrc>…`";
    let v = required(line, value, WHAT)?;
    let mut it = fields(v, b' ');
    let semantics = it.next().filter(|s| !s.is_empty());
    let semantics = semantics.ok_or_else(|| line.err(WHAT))?;
    let mut ssrcs = Vec::with_capacity(it.clone().count());
    for s in it.filter(|s| !s.is_empty()) {
        ssrcs.push(number(line, s, "an SSRC (0-4294967295)")?);
    }
    Ok(SsrcGroup {
        semantics: strings.get(semantics),
        ssrcs,
    })
}

/// `a=rid:<id> send|recv [<restrictions>]`.
fn rid(strings: &mut Strings, line: Line<'_>, value: Option<&str>) -> Result<Rid, Error> {
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
    Ok(Rid {
        id: strings.get(id),
        direction,
        restrictions: strings.opt(it.next()),
    })
}

/// `a=candidate`, bounded by [`MAX_CANDIDATES_PER_SECTION`].
fn candidate(
    line: Line<'_>,
    section: Option<usize>,
    attr: &str,
    candidates: &mut Vec<Candidate>,
) -> Result<(), Error> {
    if candidates.len() >= MAX_CANDIDATES_PER_SECTION {
        let v = Violation::TooMany {
            what: Limited::Candidates,
            limit: MAX_CANDIDATES_PER_SECTION,
        };
        return Err(line.invalid(section, v));
    }
    let c = Candidate::from_str(attr).map_err(|_| line.err("an ICE candidate"))?;
    candidates.push(c);
    Ok(())
}

/// An attribute the section has no field for, kept in order; the few that
/// Chromium writes before the codecs are kept ahead of the others, in the
/// slot `write` puts them back in.
fn unknown(
    strings: &mut Strings,
    name: &str,
    value: Option<&str>,
    state: &mut Section,
    media: &mut MediaContentDescription,
) {
    let a = attribute(strings, name, value);
    if crate::write::is_rtp_slot_attribute(name) {
        state.rtp_slot_extras += 1;
        media.extra_attributes.insert(state.rtp_slot_extras - 1, a);
    } else {
        media.extra_attributes.push(a);
    }
}
