//! The crate's error type.

use crate::model::SmolStr;

/// Everything that can go wrong in this crate: parsing SDP text, validating
/// a description, JSEP candidate handling, and offer/answer negotiation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SDP text is malformed. `line` is 1-based; `found` is the offending
    /// line (truncated to 80 characters).
    #[error("SDP line {line}: expected {expected}, found `{found}`")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What the parser expected there.
        expected: &'static str,
        /// The line as written (truncated).
        found: String,
    },
    /// The SDP bytes are not UTF-8 ([`parse_bytes`](crate::parse::parse_bytes)).
    #[error("SDP line {line}: invalid UTF-8 at byte {offset}")]
    NotUtf8 {
        /// 1-based line number of the first invalid byte.
        line: usize,
        /// Offset of the first invalid byte in the input.
        offset: usize,
    },
    /// The SDP text is larger than the parser accepts.
    #[error("SDP of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Input length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The description breaks a rule of SDP, JSEP or WebRTC that libwebrtc
    /// enforces (an ICE ufrag outside RFC 8839's grammar, a duplicate mid, a
    /// section without a fingerprint, a limit exceeded…). `line` names the
    /// 1-based line when the rule was checked while parsing; `section` the
    /// 0-based m-section index (and `mid` its mid, when it has one) when the
    /// rule is about a section. Both are `None` for session-wide rules.
    #[error("SDP {}: {violation}", location(.line, .section, .mid))]
    Invalid {
        /// 1-based line number, when known.
        line: Option<usize>,
        /// 0-based m-section index, when the rule is about one section.
        section: Option<usize>,
        /// The section's mid, when it has one.
        mid: Option<SmolStr>,
        /// Which rule.
        violation: Violation,
    },
    /// A candidate names an m-section that does not exist.
    #[error("no m-section for candidate (sdpMid {mid:?}, sdpMLineIndex {index:?})")]
    UnknownSection {
        /// The candidate's sdpMid.
        mid: Option<String>,
        /// The candidate's sdpMLineIndex.
        index: Option<usize>,
    },
    /// A trickled candidate (its line or `RTCIceCandidateInit` JSON) is
    /// malformed or cannot be added.
    #[error("bad ICE candidate: {0}")]
    Candidate(#[source] CandidateError),
    /// An offer or answer cannot be produced or applied.
    #[error("negotiation failed: {0}")]
    Negotiation(#[source] NegotiationError),
}

/// Why a trickled candidate was refused ([`Error::Candidate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CandidateError {
    /// The `candidate:` line does not parse.
    #[error("candidate line: {0}")]
    Line(#[source] dtls_transport::ice::Error),
    /// The JSON text is longer than
    /// [`MAX_CANDIDATE_JSON_LEN`](crate::jsep::MAX_CANDIDATE_JSON_LEN).
    #[error("JSON of {len} bytes exceeds {limit}")]
    JsonTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The text is not JSON.
    #[error("not JSON (line {line}, column {column})")]
    Json {
        /// Where the JSON parser stopped.
        line: usize,
        /// The column there.
        column: usize,
    },
    /// The JSON is not an object.
    #[error("RTCIceCandidateInit must be an object")]
    NotAnObject,
    /// A member that must be a string (or null) is not.
    #[error("`{0}` must be a string")]
    NotAString(&'static str),
    /// `sdpMLineIndex` is not a number in 0..=65535.
    #[error("`sdpMLineIndex` must be 0..=65535")]
    MLineIndex,
    /// Neither `sdpMid` nor `sdpMLineIndex` (a W3C `TypeError`).
    #[error("sdpMid and sdpMLineIndex are both null")]
    NoSection,
    /// The candidate belongs to another ICE generation (its ufrag is not the
    /// section's).
    #[error("candidate for ufrag `{candidate}`, the section uses `{section}`")]
    StaleUfrag {
        /// The candidate's ufrag.
        candidate: String,
        /// The section's current ufrag.
        section: String,
    },
    /// The section already holds
    /// [`MAX_CANDIDATES_PER_SECTION`](crate::jsep::MAX_CANDIDATES_PER_SECTION).
    #[error("more than {0} candidates in one section")]
    TooMany(usize),
}

/// Why an offer or answer cannot be made or applied ([`Error::Negotiation`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// A type string other than `offer`, `pranswer`, `answer`, `rollback`.
    #[error("unknown SDP type `{0}`")]
    UnknownSdpType(String),
    /// Max-bundle is configured and the offer accepts several sections
    /// without a BUNDLE group.
    #[error("max-bundle is configured but the offer has no BUNDLE group")]
    NoBundleGroup,
    /// An offered RTP section without `a=rtcp-mux`, which we require.
    #[error("section `{0}` does not offer a=rtcp-mux, which is required")]
    RtcpMuxRequired(SmolStr),
    /// The offer has no fingerprint for a transport (DTLS is required, RFC 8827).
    #[error("the offer has no a=fingerprint: DTLS is required (RFC 8827)")]
    NoFingerprint,
    /// Our options give a section another media type than it had.
    #[error("section `{mid}` is {from} and cannot become {to}")]
    MediaTypeChanged {
        /// The section.
        mid: SmolStr,
        /// Its media type so far.
        from: crate::model::MediaType,
        /// The one the options ask for.
        to: crate::model::MediaType,
    },
    /// Our options ask for a media type we cannot offer.
    #[error("cannot offer media type {media_type} (section `{mid}`)")]
    UnsupportedMediaType {
        /// The section.
        mid: SmolStr,
        /// The media type.
        media_type: crate::model::MediaType,
    },
    /// Our options have a section without a mid, or two with the same.
    #[error("options with a missing or duplicate mid `{0}`")]
    OptionsMid(SmolStr),
}

/// What [`Error::Invalid`] refuses: one variant per rule, so callers (and
/// tests) can match on the rule rather than on a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A control character (C0 or DEL, including a bare CR or LF that does
    /// not end the line) inside a line.
    #[error("control character {byte:#04x} inside a value")]
    ControlCharacter {
        /// The offending byte.
        byte: u8,
    },
    /// A line longer than [`MAX_LINE_LEN`](crate::parse::MAX_LINE_LEN).
    #[error("line of {len} bytes exceeds the {limit}-byte limit")]
    LineTooLong {
        /// The line's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// More of something than the parser keeps (see [`Limited`]).
    #[error("more than {limit} {what}")]
    TooMany {
        /// What was counted.
        what: Limited,
        /// The limit.
        limit: usize,
    },
    /// An `a=ice-ufrag` that is not 4–256 `ice-char`s (RFC 8839 §5.4).
    #[error("ice-ufrag must be 4 to 256 ice-chars (ALPHA / DIGIT / \"+\" / \"/\")")]
    IceUfrag,
    /// An `a=ice-pwd` that is not 22–256 `ice-char`s (RFC 8839 §5.4).
    #[error("ice-pwd must be 22 to 256 ice-chars (ALPHA / DIGIT / \"+\" / \"/\")")]
    IcePwd,
    /// An `a=ice-ufrag` without an `a=ice-pwd` (or the other way round).
    #[error("ice-ufrag and ice-pwd must come together")]
    IncompleteIceCredentials,
    /// A section that needs a transport of its own has no ICE credentials.
    #[error("no ice-ufrag and ice-pwd")]
    MissingIceCredentials,
    /// A section without `a=mid` in a JSEP description (RFC 8829 §5.2.1).
    #[error("no a=mid")]
    MissingMid,
    /// Two sections with the same mid.
    #[error("mid `{mid}` is used by two sections")]
    DuplicateMid {
        /// The repeated mid.
        mid: SmolStr,
    },
    /// A BUNDLE group names a mid that no section has.
    #[error("BUNDLE group names mid `{mid}`, which no m-section has")]
    BundleUnknownMid {
        /// The unknown mid.
        mid: SmolStr,
    },
    /// A BUNDLE group's tagged (first) mid is a rejected section.
    #[error("BUNDLE group's tagged mid `{mid}` is a rejected m-section")]
    BundleTaggedRejected {
        /// The tagged mid.
        mid: SmolStr,
    },
    /// A mid in two BUNDLE groups (RFC 9143 §7.1).
    #[error("mid `{mid}` is in two BUNDLE groups")]
    MidInTwoBundles {
        /// The mid.
        mid: SmolStr,
    },
    /// A section that needs a transport of its own has no `a=fingerprint`
    /// with a hash function we support (RFC 8827 requires DTLS).
    #[error("no a=fingerprint with a supported hash function (sha-1/256/384/512)")]
    MissingFingerprint,
    /// An `a=setup` value outside `actpass`, `active` and `passive`
    /// (`holdconn` is refused: WebRTC always needs the connection).
    #[error("a=setup must be actpass, active or passive")]
    Setup,
    /// An answer that says `a=setup:actpass` (RFC 8842 §5.3: the answerer
    /// picks `active` or `passive`).
    #[error("an answer must say a=setup:active or a=setup:passive, not actpass")]
    ActPassInAnswer,
}

/// What [`Violation::TooMany`] counted. The limits are constants of
/// [`parse`](mod@crate::parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limited {
    /// m-sections in a description ([`MAX_SECTIONS`](crate::parse::MAX_SECTIONS)).
    Sections,
    /// `a=` lines in one section or in the session block
    /// ([`MAX_ATTRIBUTES`](crate::parse::MAX_ATTRIBUTES)).
    Attributes,
    /// `a=candidate` lines in one section
    /// ([`MAX_CANDIDATES_PER_SECTION`](crate::jsep::MAX_CANDIDATES_PER_SECTION)).
    Candidates,
    /// Formats on one `m=` line ([`MAX_FORMATS`](crate::parse::MAX_FORMATS)).
    Formats,
    /// `a=fingerprint` lines in one section or in the session block
    /// ([`MAX_FINGERPRINTS`](crate::parse::MAX_FINGERPRINTS)).
    Fingerprints,
}

impl std::fmt::Display for Limited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limited::Sections => "m-sections",
            Limited::Attributes => "attributes in one block",
            Limited::Candidates => "candidates in one section",
            Limited::Formats => "formats on one m= line",
            Limited::Fingerprints => "fingerprints in one block",
        })
    }
}

/// "line 4", "section 2 (mid `1`)", "line 9, section 0 (mid `a`)" or "session".
fn location(line: &Option<usize>, section: &Option<usize>, mid: &Option<SmolStr>) -> String {
    let section = section.map(|s| match mid {
        Some(mid) => format!("section {s} (mid `{mid}`)"),
        None => format!("section {s}"),
    });
    match (line, section) {
        (Some(l), Some(s)) => format!("line {l}, {s}"),
        (Some(l), None) => format!("line {l}"),
        (None, Some(s)) => s,
        (None, None) => "session".to_string(),
    }
}

impl Error {
    /// A [`Error::Parse`] for the given line, truncating `found`.
    pub(crate) fn parse(line: usize, expected: &'static str, found: &str) -> Error {
        let mut end = found.len().min(80);
        while !found.is_char_boundary(end) {
            end -= 1;
        }
        Error::Parse {
            line,
            expected,
            found: found[..end].to_string(),
        }
    }

    /// The rule an [`Error::Invalid`] names.
    ///
    /// ```
    /// use sdp::error::Violation;
    ///
    /// let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:ab\r\n";
    /// let err = sdp::parse(sdp).unwrap_err();
    /// assert_eq!(err.violation(), Some(&Violation::IceUfrag));
    /// assert_eq!(err.line(), Some(5));
    /// ```
    pub fn violation(&self) -> Option<&Violation> {
        match self {
            Error::Invalid { violation, .. } => Some(violation),
            _ => None,
        }
    }

    /// The 1-based line the error is about, when it is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Parse { line, .. } | Error::NotUtf8 { line, .. } => Some(*line),
            Error::Invalid { line, .. } => *line,
            _ => None,
        }
    }

    /// Whether the peer's input caused this (its description or trickled
    /// candidate), as opposed to our own options or calls: a server can log
    /// the first kind at a lower level and count it per peer.
    ///
    /// ```
    /// let err = sdp::parse("v=1\r\n").unwrap_err();
    /// assert!(err.is_peer_fault());
    /// ```
    pub fn is_peer_fault(&self) -> bool {
        match self {
            Error::Parse { .. }
            | Error::NotUtf8 { .. }
            | Error::TooLarge { .. }
            | Error::Invalid { .. }
            | Error::UnknownSection { .. }
            | Error::Candidate(_) => true,
            Error::Negotiation(e) => matches!(
                e,
                NegotiationError::UnknownSdpType(_)
                    | NegotiationError::NoBundleGroup
                    | NegotiationError::RtcpMuxRequired(_)
                    | NegotiationError::NoFingerprint
            ),
        }
    }

    /// The 0-based m-section index the error is about, when it is about one.
    pub fn section(&self) -> Option<usize> {
        match self {
            Error::Invalid { section, .. } => *section,
            _ => None,
        }
    }
}
