//! JSEP objects.
/// placeholder
pub struct JsepSessionDescription;
/// placeholder
pub struct JsepCandidateCollection;
/// placeholder
pub struct JsepIceCandidate;
/// placeholder
pub enum SdpType {}
