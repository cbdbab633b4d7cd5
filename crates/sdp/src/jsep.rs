//! JSEP objects (RFC 8829): a typed description with its candidates
//! (libwebrtc's `JsepSessionDescription`, `JsepCandidateCollection`,
//! `JsepIceCandidate`), and the W3C `RTCIceCandidateInit` JSON shape.
//!
//! Candidates live beside the description, one collection per m-section, as
//! in libwebrtc: trickled candidates are added and removed there, and
//! [`JsepSessionDescription::to_sdp`] writes them into their sections (and
//! moves `c=`/the `m=` port to the default candidate, RFC 8829 §5.3.2).
//!
//! ```
//! use sdp::{JsepIceCandidate, JsepSessionDescription, SdpType};
//!
//! let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
//!              m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
//!              a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
//!              a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:\
//!              10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n\
//!              a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n";
//! let mut desc = JsepSessionDescription::parse(SdpType::Offer, offer)?;
//! let candidate = JsepIceCandidate::from_json(
//!     r#"{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
//!        "sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}"#,
//! )?
//! .expect("not an end-of-candidates marker");
//! assert!(desc.add_candidate(candidate)?);
//! let sdp = desc.to_sdp();
//! assert!(sdp.contains("a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n"));
//! assert!(sdp.contains("m=application 50000 UDP/DTLS/SCTP"));
//! # Ok::<(), sdp::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::{CandidateError, NegotiationError};
use crate::model::{Candidate, SessionDescription, SmolStr, TransportProtocol};
use crate::Error;

/// The type of a description (W3C `RTCSdpType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdpType {
    /// `offer`.
    Offer,
    /// `pranswer`: a provisional answer.
    PrAnswer,
    /// `answer`.
    Answer,
    /// `rollback`: back to the last stable state (carries no SDP).
    Rollback,
}

impl SdpType {
    /// The W3C string.
    pub fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::PrAnswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }
}

impl fmt::Display for SdpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SdpType {
    type Err = Error;

    fn from_str(s: &str) -> Result<SdpType, Error> {
        match s {
            "offer" => Ok(SdpType::Offer),
            "pranswer" => Ok(SdpType::PrAnswer),
            "answer" => Ok(SdpType::Answer),
            "rollback" => Ok(SdpType::Rollback),
            _ => Err(Error::Negotiation(NegotiationError::UnknownSdpType(
                s.chars().take(32).collect(),
            ))),
        }
    }
}

/// One ICE candidate with the section it belongs to (libwebrtc's
/// `JsepIceCandidate`, W3C `RTCIceCandidate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsepIceCandidate {
    /// The mid of its m-section (preferred over the index when both are set).
    pub sdp_mid: Option<String>,
    /// The index of its m-section.
    pub sdp_mline_index: Option<usize>,
    /// The ICE ufrag it belongs to (an older generation's are ignored).
    pub username_fragment: Option<String>,
    /// The candidate.
    pub candidate: Candidate,
}

/// Longest JSON text [`JsepIceCandidate::from_json`] reads.
pub const MAX_CANDIDATE_JSON_LEN: usize = 4096;

impl JsepIceCandidate {
    /// Whether this candidate can belong to `description`: it names no
    /// ufrag (neither `usernameFragment` nor the line's `ufrag`), or a
    /// section of `description` has its ufrag. A candidate
    /// gathered for a description the peer then rolled back (glare) or
    /// restarted away from fails this, and `addIceCandidate` refuses it (W3C
    /// OperationError); perfect-negotiation applications drop such
    /// candidates quietly instead of treating the refusal as a failure.
    pub fn matches_ufrag_of(&self, description: &JsepSessionDescription) -> bool {
        let ufrag = self
            .username_fragment
            .as_deref()
            .or(self.candidate.ufrag.as_deref());
        ufrag.is_none_or(|u| {
            description
                .description()
                .contents
                .iter()
                .any(|s| s.transport.ice_ufrag.as_str() == u)
        })
    }

    /// A candidate for the section `sdp_mid` at `sdp_mline_index`.
    pub fn new(sdp_mid: &str, sdp_mline_index: usize, candidate: Candidate) -> JsepIceCandidate {
        JsepIceCandidate {
            sdp_mid: Some(sdp_mid.to_string()),
            sdp_mline_index: Some(sdp_mline_index),
            username_fragment: candidate.ufrag.clone(),
            candidate,
        }
    }

    /// The `candidate:` attribute value (without `a=`).
    pub fn candidate_line(&self) -> String {
        self.candidate.to_string()
    }

    /// The W3C `RTCIceCandidateInit` JSON:
    /// `{"candidate":"candidate:…","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"…"}`.
    pub fn to_json(&self) -> String {
        candidate_init_json(
            &self.candidate_line(),
            self.sdp_mid.as_deref(),
            self.sdp_mline_index,
            self.username_fragment.as_deref(),
        )
    }

    /// Parses `RTCIceCandidateInit` JSON. An empty `candidate` is the W3C
    /// end-of-candidates marker and gives `Ok(None)`. A candidate needs an
    /// `sdpMid` or an `sdpMLineIndex`; `null` counts as absent.
    pub fn from_json(json: &str) -> Result<Option<JsepIceCandidate>, Error> {
        let init = IceCandidateInit::from_json(json)?;
        if init.candidate.trim().is_empty() {
            return Ok(None);
        }
        let candidate = parse_candidate_line(&init.candidate)?;
        Ok(Some(JsepIceCandidate {
            sdp_mid: init.sdp_mid,
            sdp_mline_index: init.sdp_mline_index,
            username_fragment: init.username_fragment.or_else(|| candidate.ufrag.clone()),
            candidate,
        }))
    }
}

/// The W3C `RTCIceCandidateInit` dictionary, including the end-of-candidates
/// form (an empty `candidate`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceCandidateInit {
    /// `candidate`: the attribute value, or empty for end-of-candidates.
    pub candidate: String,
    /// `sdpMid`.
    pub sdp_mid: Option<String>,
    /// `sdpMLineIndex`.
    pub sdp_mline_index: Option<usize>,
    /// `usernameFragment`.
    pub username_fragment: Option<String>,
}

impl IceCandidateInit {
    /// Parses the JSON object (unknown members ignored, at most
    /// [`MAX_CANDIDATE_JSON_LEN`] bytes).
    pub fn from_json(json: &str) -> Result<IceCandidateInit, Error> {
        if json.len() > MAX_CANDIDATE_JSON_LEN {
            return Err(Error::Candidate(CandidateError::JsonTooLong {
                len: json.len(),
                limit: MAX_CANDIDATE_JSON_LEN,
            }));
        }
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            Error::Candidate(CandidateError::Json {
                line: e.line(),
                column: e.column(),
            })
        })?;
        let obj = value
            .as_object()
            .ok_or(Error::Candidate(CandidateError::NotAnObject))?;
        let string = |key: &'static str| -> Result<Option<String>, Error> {
            match obj.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::Candidate(CandidateError::NotAString(key))),
            }
        };
        let sdp_mline_index = match obj.get("sdpMLineIndex") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|i| *i <= u64::from(u16::MAX))
                    .ok_or(Error::Candidate(CandidateError::MLineIndex))? as usize,
            ),
        };
        let init = IceCandidateInit {
            candidate: string("candidate")?.unwrap_or_default(),
            sdp_mid: string("sdpMid")?,
            sdp_mline_index,
            username_fragment: string("usernameFragment")?,
        };
        if init.sdp_mid.is_none() && init.sdp_mline_index.is_none() {
            return Err(Error::Candidate(CandidateError::NoSection));
        }
        Ok(init)
    }

    /// Whether this is the end-of-candidates marker.
    pub fn is_end_of_candidates(&self) -> bool {
        self.candidate.trim().is_empty()
    }

    /// The JSON object.
    pub fn to_json(&self) -> String {
        candidate_init_json(
            &self.candidate,
            self.sdp_mid.as_deref(),
            self.sdp_mline_index,
            self.username_fragment.as_deref(),
        )
    }
}

fn candidate_init_json(
    candidate: &str,
    mid: Option<&str>,
    index: Option<usize>,
    ufrag: Option<&str>,
) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("candidate".into(), candidate.into());
    obj.insert(
        "sdpMid".into(),
        mid.map_or(serde_json::Value::Null, Into::into),
    );
    obj.insert(
        "sdpMLineIndex".into(),
        index.map_or(serde_json::Value::Null, Into::into),
    );
    obj.insert(
        "usernameFragment".into(),
        ufrag.map_or(serde_json::Value::Null, Into::into),
    );
    serde_json::Value::Object(obj).to_string()
}

/// The candidates of one m-section (libwebrtc's `JsepCandidateCollection`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsepCandidateCollection {
    candidates: Vec<JsepIceCandidate>,
    end_of_candidates: bool,
}

/// Most candidates one section keeps (more are refused), bounding memory
/// against a peer trickling without end.
pub const MAX_CANDIDATES_PER_SECTION: usize = 256;

impl JsepCandidateCollection {
    /// Number of candidates.
    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// The candidates in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &JsepIceCandidate> {
        self.candidates.iter()
    }

    /// Whether `a=end-of-candidates` was signalled.
    pub fn end_of_candidates(&self) -> bool {
        self.end_of_candidates
    }

    /// Whether an equivalent candidate (same foundation, component,
    /// transport, address, port, type and ufrag) is present.
    pub fn has_candidate(&self, candidate: &Candidate) -> bool {
        self.candidates
            .iter()
            .any(|c| equivalent(&c.candidate, candidate))
    }

    fn add(&mut self, candidate: JsepIceCandidate) -> Result<bool, Error> {
        if self.has_candidate(&candidate.candidate) {
            return Ok(false);
        }
        if self.candidates.len() >= MAX_CANDIDATES_PER_SECTION {
            return Err(Error::Candidate(CandidateError::TooMany(
                MAX_CANDIDATES_PER_SECTION,
            )));
        }
        self.candidates.push(candidate);
        Ok(true)
    }

    fn remove(&mut self, candidate: &Candidate) -> bool {
        let before = self.candidates.len();
        self.candidates
            .retain(|c| !equivalent(&c.candidate, candidate));
        before != self.candidates.len()
    }
}

/// A `candidate:` line from a trickled candidate.
fn parse_candidate_line(line: &str) -> Result<Candidate, Error> {
    line.trim()
        .parse()
        .map_err(|e| Error::Candidate(CandidateError::Line(e)))
}

/// libwebrtc's `Candidate::IsEquivalent` (priority and generation aside).
fn equivalent(a: &Candidate, b: &Candidate) -> bool {
    a.foundation == b.foundation
        && a.component == b.component
        && a.transport == b.transport
        && a.address == b.address
        && a.port == b.port
        && a.kind == b.kind
        && a.related == b.related
        && a.tcp_type == b.tcp_type
        && (a.ufrag.is_none() || b.ufrag.is_none() || a.ufrag == b.ufrag)
}

/// A typed description with its type and candidates (libwebrtc's
/// `JsepSessionDescription`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsepSessionDescription {
    sdp_type: SdpType,
    description: SessionDescription,
    collections: Vec<JsepCandidateCollection>,
}

impl JsepSessionDescription {
    /// Wraps a description. Candidates written in its sections move into the
    /// per-section collections. Nothing is checked: use this for descriptions
    /// the factories made, and [`parse`](Self::parse) (or
    /// [`validate`](Self::validate)) for anything that came from a peer.
    pub fn new(sdp_type: SdpType, mut description: SessionDescription) -> JsepSessionDescription {
        let collections = description
            .contents
            .iter_mut()
            .enumerate()
            .map(|(index, content)| {
                let t = &mut content.transport;
                let mut collection = JsepCandidateCollection {
                    candidates: Vec::new(),
                    end_of_candidates: t.end_of_candidates,
                };
                for candidate in t.candidates.drain(..) {
                    let mut c = JsepIceCandidate::new(&content.mid, index, candidate);
                    c.username_fragment = c
                        .username_fragment
                        .or_else(|| Some(t.ice_ufrag.to_string()).filter(|u| !u.is_empty()));
                    // A description with more candidates than the bound keeps the first ones.
                    let _ = collection.add(c);
                }
                t.end_of_candidates = false;
                collection
            })
            .collect();
        JsepSessionDescription {
            sdp_type,
            description,
            collections,
        }
    }

    /// Parses SDP text of the given type and checks it with
    /// [`validate`](crate::validate()) (libwebrtc's `SetRemoteDescription`
    /// checks): a description that breaks a rule is refused with the
    /// [`Error::Invalid`] naming it, before anything else sees it.
    pub fn parse(sdp_type: SdpType, sdp: &str) -> Result<JsepSessionDescription, Error> {
        let description = crate::parse(sdp)?;
        crate::validate(&description, sdp_type)?;
        Ok(JsepSessionDescription::new(sdp_type, description))
    }

    /// [`parse`](Self::parse) for raw bytes (an HTTP body): bytes that are not
    /// UTF-8 are [`Error::NotUtf8`] naming the line.
    pub fn parse_bytes(sdp_type: SdpType, sdp: &[u8]) -> Result<JsepSessionDescription, Error> {
        let description = crate::parse::parse_bytes(sdp)?;
        crate::validate(&description, sdp_type)?;
        Ok(JsepSessionDescription::new(sdp_type, description))
    }

    /// Checks the description (with its type) as [`parse`](Self::parse) does,
    /// e.g. after munging it through [`description_mut`](Self::description_mut).
    pub fn validate(&self) -> Result<(), Error> {
        crate::validate(&self.description, self.sdp_type)
    }

    /// The type.
    pub fn sdp_type(&self) -> SdpType {
        self.sdp_type
    }

    /// The description, without candidates (they are in
    /// [`candidates`](Self::candidates)).
    pub fn description(&self) -> &SessionDescription {
        &self.description
    }

    /// The description, mutably (for munging; keep the section count).
    pub fn description_mut(&mut self) -> &mut SessionDescription {
        &mut self.description
    }

    /// The `o=` session id.
    pub fn session_id(&self) -> u64 {
        self.description.origin.session_id
    }

    /// The `o=` session version.
    pub fn session_version(&self) -> u64 {
        self.description.origin.session_version
    }

    /// Number of m-sections.
    pub fn number_of_mediasections(&self) -> usize {
        self.description.contents.len()
    }

    /// The candidates of section `index`.
    pub fn candidates(&self, index: usize) -> Option<&JsepCandidateCollection> {
        self.collections.get(index)
    }

    /// The section index a candidate refers to: by mid if given (it must
    /// exist), else by index.
    fn section_index(&self, mid: Option<&str>, index: Option<usize>) -> Result<usize, Error> {
        let found = match mid {
            Some(mid) => self.description.contents.iter().position(|c| c.mid == mid),
            None => index.filter(|i| *i < self.description.contents.len()),
        };
        found.ok_or_else(|| Error::UnknownSection {
            mid: mid.map(str::to_string),
            index,
        })
    }

    /// Adds a trickled candidate (`AddCandidate`). Returns `Ok(false)` when
    /// an equivalent candidate is already there. A candidate whose
    /// `usernameFragment` is not the section's current ufrag (an older ICE
    /// generation) is refused with [`Error::Candidate`]; one for an unknown
    /// section with [`Error::UnknownSection`].
    pub fn add_candidate(&mut self, mut candidate: JsepIceCandidate) -> Result<bool, Error> {
        let index = self.section_index(candidate.sdp_mid.as_deref(), candidate.sdp_mline_index)?;
        let content = &self.description.contents[index];
        if let Some(ufrag) = &candidate.username_fragment {
            if !content.transport.ice_ufrag.is_empty() && *ufrag != content.transport.ice_ufrag {
                return Err(Error::Candidate(CandidateError::StaleUfrag {
                    candidate: ufrag.clone(),
                    section: content.transport.ice_ufrag.to_string(),
                }));
            }
        }
        candidate.sdp_mid = Some(content.mid.to_string());
        candidate.sdp_mline_index = Some(index);
        self.collections[index].add(candidate)
    }

    /// Removes candidates equivalent to these (`RemoveCandidates`), from
    /// every section when the candidate has no mid/index. Returns how many
    /// were removed.
    pub fn remove_candidates(&mut self, candidates: &[JsepIceCandidate]) -> usize {
        let mut removed = 0;
        for c in candidates {
            match self.section_index(c.sdp_mid.as_deref(), c.sdp_mline_index) {
                Ok(i) => removed += usize::from(self.collections[i].remove(&c.candidate)),
                Err(_) => {
                    for collection in &mut self.collections {
                        removed += usize::from(collection.remove(&c.candidate));
                    }
                }
            }
        }
        removed
    }

    /// Marks the end of candidates for a section (by mid or index), as an
    /// `RTCIceCandidateInit` with an empty candidate does.
    pub fn set_end_of_candidates(
        &mut self,
        mid: Option<&str>,
        index: Option<usize>,
    ) -> Result<(), Error> {
        let i = self.section_index(mid, index)?;
        self.collections[i].end_of_candidates = true;
        Ok(())
    }

    /// Applies an `RTCIceCandidateInit`: a candidate or end-of-candidates.
    pub fn add_candidate_init(&mut self, init: &IceCandidateInit) -> Result<bool, Error> {
        if init.is_end_of_candidates() {
            self.set_end_of_candidates(init.sdp_mid.as_deref(), init.sdp_mline_index)?;
            return Ok(true);
        }
        let candidate = parse_candidate_line(&init.candidate)?;
        self.add_candidate(JsepIceCandidate {
            sdp_mid: init.sdp_mid.clone(),
            sdp_mline_index: init.sdp_mline_index,
            username_fragment: init.username_fragment.clone(),
            candidate,
        })
    }

    /// The description with its candidates written into the sections:
    /// `a=candidate` lines, `a=end-of-candidates`, and the `m=` port and
    /// `c=` address of each non-rejected section moved to its default
    /// candidate, chosen as libwebrtc's `UpdateConnectionAddress` does: a UDP
    /// candidate of the RTP component (TCP ones never become the default, so
    /// the line keeps `0.0.0.0` and port 9 without a UDP candidate), IPv4
    /// before IPv6 (an `IN IP4` line stays IPv4 whenever there is an IPv4
    /// candidate), then relayed before reflexive before host (the likeliest
    /// to reach the peer), then the first added.
    pub fn to_description(&self) -> SessionDescription {
        let mut d = self.description.clone();
        for (content, collection) in d.contents.iter_mut().zip(&self.collections) {
            content.transport.candidates = collection
                .candidates
                .iter()
                .map(|c| c.candidate.clone())
                .collect();
            content.transport.end_of_candidates = collection.end_of_candidates;
            if content.rejected || content.media.port == 0 {
                continue;
            }
            let default = collection
                .candidates
                .iter()
                .map(|c| &c.candidate)
                .filter(|c| {
                    c.component == 1
                        && c.transport == TransportProtocol::Udp
                        && c.socket_addr().is_some()
                })
                // `max_by_key` keeps the last of equals; libwebrtc the first.
                .rev()
                .max_by_key(|c| default_candidate_rank(c));
            if let Some(addr) = default.and_then(|c| c.socket_addr()) {
                content.media.port = addr.port();
                let conn = content
                    .media
                    .connection
                    .get_or_insert_with(crate::model::Connection::dummy_ip4);
                conn.address_type = SmolStr::new_static(if addr.is_ipv4() { "IP4" } else { "IP6" });
                conn.address = SmolStr::new(addr.ip().to_string());
            }
        }
        d
    }

    /// SDP text with candidates (see [`to_description`](Self::to_description)).
    pub fn to_sdp(&self) -> String {
        crate::write(&self.to_description())
    }
}

/// How good a default destination `c` makes (higher is better), as
/// libwebrtc ranks them: IPv4 before IPv6, then relayed, reflexive, host
/// (RFC 8445 §5.1.1.4: the likeliest to reach the peer); peer-reflexive
/// candidates are never signalled, so rank lowest.
fn default_candidate_rank(c: &Candidate) -> (bool, u8) {
    use crate::model::CandidateKind;
    let ipv4 = c.socket_addr().is_some_and(|a| a.is_ipv4());
    let kind = match c.kind {
        CandidateKind::Relay => 3,
        CandidateKind::ServerReflexive => 2,
        CandidateKind::Host => 1,
        CandidateKind::PeerReflexive => 0,
    };
    (ipv4, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "candidate:842163049 1 udp 1677729535 127.0.0.1 50000 typ host generation 0";

    fn init(json: &str) -> Result<IceCandidateInit, Error> {
        IceCandidateInit::from_json(json)
    }

    #[test]
    fn json_round_trip_and_errors() {
        let c = JsepIceCandidate::from_json(&format!(
            r#"{{"candidate":"{HOST}","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"uf"}}"#
        ))
        .unwrap()
        .unwrap();
        assert_eq!(c.sdp_mid.as_deref(), Some("0"));
        assert_eq!(c.sdp_mline_index, Some(0));
        assert_eq!(c.username_fragment.as_deref(), Some("uf"));
        let back = JsepIceCandidate::from_json(&c.to_json()).unwrap().unwrap();
        assert_eq!(back, c);
        assert_eq!(c.candidate_line(), HOST);

        // End of candidates.
        assert_eq!(
            JsepIceCandidate::from_json(r#"{"candidate":"","sdpMid":"0"}"#).unwrap(),
            None
        );
        assert!(init(r#"{"candidate":"","sdpMid":null,"sdpMLineIndex":null}"#).is_err());
        assert!(init(r#"{"candidate":"x","sdpMLineIndex":-1}"#).is_err());
        assert!(init(r#"{"candidate":5,"sdpMid":"0"}"#).is_err());
        assert!(init("[1]").is_err());
        assert!(init("{").is_err());
        assert!(init(&" ".repeat(MAX_CANDIDATE_JSON_LEN + 1)).is_err());
        assert!(matches!(
            JsepIceCandidate::from_json(r#"{"candidate":"candidate:bogus","sdpMid":"0"}"#),
            Err(Error::Candidate(_))
        ));
    }

    #[test]
    fn sdp_type_strings() {
        for t in [
            SdpType::Offer,
            SdpType::PrAnswer,
            SdpType::Answer,
            SdpType::Rollback,
        ] {
            assert_eq!(t.as_str().parse::<SdpType>().unwrap(), t);
        }
        assert!("Offer".parse::<SdpType>().is_err());
    }
}
