//! [`SessionDescription`](crate::model::SessionDescription) → SDP text.
use crate::model::SessionDescription;

/// Writes SDP text with CRLF line ends.
pub fn write(_desc: &SessionDescription) -> String {
    String::new()
}
