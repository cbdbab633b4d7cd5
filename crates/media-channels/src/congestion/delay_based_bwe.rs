//! The delay-based estimate (libwebrtc's DelayBasedBwe): per-packet results
//! through [`InterArrival`] grouping, the [`TrendlineEstimator`] and the
//! [`OveruseDetector`], then [`AimdRateControl`] once per feedback.
//!
//! While over-using, the estimate is cut at most once per round trip (or at
//! once when the acknowledged rate fell below half of it); before any rate
//! is acknowledged, an over-use halves it. A stream silent for
//! [`STREAM_TIMEOUT`] starts the grouping and trend afresh.

use std::time::{Duration, Instant};

use super::aimd_rate_control::AimdRateControl;
use super::feedback_adapter::PacketResult;
use super::inter_arrival::InterArrival;
use super::overuse_detector::OveruseDetector;
use super::trendline::TrendlineEstimator;
use super::{signed_micros, BandwidthUsage};

/// Feedback this far apart resets the grouping and trend (`kStreamTimeOut`).
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// What one feedback did to the delay-based estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayBasedResult {
    /// The estimate was recomputed (it may be unchanged).
    pub updated: bool,
    /// The estimate, bit/s.
    pub target_bitrate_bps: u64,
    /// The detector went from under-use back to normal during the feedback.
    pub recovered_from_overuse: bool,
}

/// The delay-based estimator; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct DelayBasedBwe {
    inter_arrival: InterArrival,
    trendline: TrendlineEstimator,
    detector: OveruseDetector,
    rate_control: AimdRateControl,
    last_seen_packet: Option<Instant>,
    origin: Option<Instant>,
}

impl DelayBasedBwe {
    /// An estimator between `min_bps` and `max_bps` starting at `start_bps`.
    pub fn new(start_bps: u64, min_bps: u64, max_bps: u64) -> DelayBasedBwe {
        DelayBasedBwe {
            inter_arrival: InterArrival::new(),
            trendline: TrendlineEstimator::new(),
            detector: OveruseDetector::new(),
            rate_control: AimdRateControl::new(start_bps, min_bps, max_bps),
            last_seen_packet: None,
            origin: None,
        }
    }

    /// The detector's verdict.
    pub fn state(&self) -> BandwidthUsage {
        self.detector.state()
    }

    /// The trend estimator.
    pub fn trendline(&self) -> &TrendlineEstimator {
        &self.trendline
    }

    /// The over-use detector.
    pub fn detector(&self) -> &OveruseDetector {
        &self.detector
    }

    /// The rate controller.
    pub fn rate_control(&self) -> &AimdRateControl {
        &self.rate_control
    }

    /// The estimate, bit/s.
    pub fn estimate(&self) -> u64 {
        self.rate_control.latest_estimate()
    }

    /// Changes the limits.
    pub fn set_limits(&mut self, min_bps: u64, max_bps: u64) {
        self.rate_control.set_limits(min_bps, max_bps);
    }

    /// The mean round-trip time of recent feedback.
    pub fn on_rtt_update(&mut self, rtt: Duration) {
        self.rate_control.set_rtt(rtt);
    }

    /// Processes one feedback's received packets, sorted by arrival time;
    /// `acked_bps` is the acknowledged rate after them.
    pub fn incoming_packet_feedback(
        &mut self,
        now: Instant,
        packets: &[PacketResult],
        acked_bps: Option<u64>,
    ) -> DelayBasedResult {
        let mut any = false;
        let mut recovered_from_overuse = false;
        let mut prev_state = self.detector.state();
        for packet in packets {
            let Some(receive_us) = packet.receive_time_us else {
                continue;
            };
            any = true;
            self.incoming_packet(now, packet.send_time, receive_us, packet.size);
            let state = self.detector.state();
            if prev_state == BandwidthUsage::Underusing && state == BandwidthUsage::Normal {
                recovered_from_overuse = true;
            }
            prev_state = state;
        }
        if !any {
            return DelayBasedResult {
                updated: false,
                target_bitrate_bps: self.estimate(),
                recovered_from_overuse: false,
            };
        }
        let mut result = self.maybe_update_estimate(now, acked_bps);
        result.recovered_from_overuse = recovered_from_overuse && result.updated;
        result
    }

    fn incoming_packet(&mut self, now: Instant, send_time: Instant, receive_us: i64, size: usize) {
        if self
            .last_seen_packet
            .is_none_or(|t| now.saturating_duration_since(t) > STREAM_TIMEOUT)
        {
            self.inter_arrival.reset();
            self.trendline = TrendlineEstimator::new();
            self.detector = OveruseDetector::new();
        }
        self.last_seen_packet = Some(now);
        let origin = *self.origin.get_or_insert(send_time);
        let send_us = signed_micros(send_time, origin);
        let system_us = signed_micros(now, origin);
        if let Some(d) = self
            .inter_arrival
            .compute_deltas(send_us, receive_us, system_us, size)
        {
            let recv_delta_ms = d.arrival_delta_us as f64 / 1000.0;
            let send_delta_ms = d.send_delta_us as f64 / 1000.0;
            let arrival_ms = receive_us as f64 / 1000.0;
            let trend = self
                .trendline
                .update(recv_delta_ms, send_delta_ms, arrival_ms);
            self.detector.detect(
                trend,
                self.trendline.num_deltas(),
                send_delta_ms,
                arrival_ms,
            );
        }
    }

    fn maybe_update_estimate(&mut self, now: Instant, acked_bps: Option<u64>) -> DelayBasedResult {
        let mut updated = false;
        if self.detector.state() == BandwidthUsage::Overusing {
            match acked_bps {
                Some(acked) if self.rate_control.time_to_reduce_further(now, acked) => {
                    self.rate_control
                        .update(BandwidthUsage::Overusing, Some(acked), now);
                    updated = true;
                }
                None if self.rate_control.initial_time_to_reduce_further(now) => {
                    // Over-use before any acknowledged rate: halve.
                    let half = self.rate_control.latest_estimate() / 2;
                    self.rate_control.set_estimate(half, now);
                    updated = true;
                }
                _ => {}
            }
        } else {
            self.rate_control
                .update(self.detector.state(), acked_bps, now);
            updated = self.rate_control.valid_estimate();
        }
        DelayBasedResult {
            updated,
            target_bitrate_bps: self.estimate(),
            recovered_from_overuse: false,
        }
    }
}
