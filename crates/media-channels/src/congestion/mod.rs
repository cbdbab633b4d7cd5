//! Congestion control as browsers do it: libwebrtc's GoogCC over
//! transport-wide congestion control feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01), sans-IO.
//!
//! | module | libwebrtc | what |
//! |---|---|---|
//! | [`feedback_generator`] | RemoteEstimatorProxy | receive side: arrival times of transport-wide sequence numbers → periodic TWCC feedback |
//! | [`feedback_adapter`] | TransportFeedbackAdapter | send side: sent-packet history; TWCC feedback → per-packet results |
//!
//! Nothing here reads a clock: every input carries `now`.

use std::time::Instant;

pub mod feedback_adapter;
pub mod feedback_generator;

pub use feedback_adapter::{PacketResult, TransportFeedbackAdapter};
pub use feedback_generator::{FeedbackGeneratorConfig, TransportFeedbackGenerator};

/// `t − origin` in microseconds, negative when `t` is before `origin`.
pub(crate) fn signed_micros(t: Instant, origin: Instant) -> i64 {
    match t.checked_duration_since(origin) {
        Some(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        None => -i64::try_from((origin - t).as_micros()).unwrap_or(i64::MAX),
    }
}
