//! The crate's error type.

/// Everything that can go wrong in this crate: parsing SDP text, JSEP
/// candidate handling, and offer/answer negotiation.
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
    /// The SDP text is larger than the parser accepts.
    #[error("SDP of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Input length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A candidate names an m-section that does not exist.
    #[error("no m-section for candidate (sdpMid {mid:?}, sdpMLineIndex {index:?})")]
    UnknownSection {
        /// The candidate's sdpMid.
        mid: Option<String>,
        /// The candidate's sdpMLineIndex.
        index: Option<usize>,
    },
    /// A candidate line or JSON object is malformed.
    #[error("bad ICE candidate: {0}")]
    Candidate(String),
    /// An offer or answer cannot be produced or applied.
    #[error("negotiation failed: {0}")]
    Negotiation(String),
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
}
