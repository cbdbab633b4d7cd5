//! SDP text → [`SessionDescription`](crate::model::SessionDescription).
use crate::{model::SessionDescription, Error};

/// Parses SDP text (CRLF or LF line ends).
pub fn parse(_text: &str) -> Result<SessionDescription, Error> {
    Err(Error::parse(1, "a parser (not written yet)", ""))
}
