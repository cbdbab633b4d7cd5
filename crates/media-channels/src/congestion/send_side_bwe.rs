//! The loss-based estimate and the caps on the target (libwebrtc's
//! SendSideBandwidthEstimation, the classic loss-based controller,
//! draft-ietf-rmcat-gcc-02 §6).
//!
//! Loss is reported as a fraction once enough packets (20) back it. Then:
//!
//! - loss ≤ 2 %: increase to 1.08 × the lowest target of the last second,
//!   plus 1 kbit/s (so about 8 % per second);
//! - 2 % < loss ≤ 10 %: keep the target;
//! - loss > 10 %: `target × (1 − loss / 2)`, at most once per 300 ms + RTT
//!   and once per loss report.
//!
//! During the first 2 s without loss the target jumps to the delay-based
//! estimate (or REMB) when higher. The target is always capped by the
//! delay-based estimate, the receiver's REMB and the configured maximum, and
//! floored at the configured minimum.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Loss fractions at or below this increase the target.
pub const LOW_LOSS_THRESHOLD: f64 = 0.02;
/// Loss fractions above this decrease the target.
pub const HIGH_LOSS_THRESHOLD: f64 = 0.10;
/// Packets a loss fraction needs (`kLimitNumPackets`).
const LIMIT_NUM_PACKETS: usize = 20;
/// Window of the minimum the increase starts from (`kBweIncreaseInterval`).
const INCREASE_INTERVAL: Duration = Duration::from_millis(1000);
/// Shortest time between decreases, plus the RTT (`kBweDecreaseInterval`).
const DECREASE_INTERVAL: Duration = Duration::from_millis(300);
/// How long after the first report the start phase lasts.
const START_PHASE: Duration = Duration::from_secs(2);
/// A loss report older than this is not acted on (1.2 × 5 s).
const LOSS_REPORT_MAX_AGE: Duration = Duration::from_secs(6);

/// The loss-based controller with the target's caps; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct SendSideBandwidthEstimation {
    current_bps: u64,
    min_bps: u64,
    max_bps: u64,
    delay_based_limit: Option<u64>,
    receiver_limit: Option<u64>,
    min_bitrate_history: VecDeque<(Instant, u64)>,
    lost_since_update: usize,
    expected_since_update: usize,
    last_fraction_loss: u8,
    has_decreased_since_last_fraction_loss: bool,
    last_loss_report: Option<Instant>,
    first_report_time: Option<Instant>,
    time_last_decrease: Option<Instant>,
    last_rtt: Duration,
}

impl SendSideBandwidthEstimation {
    /// A target of `start_bps` between `min_bps` and `max_bps`.
    pub fn new(start_bps: u64, min_bps: u64, max_bps: u64) -> SendSideBandwidthEstimation {
        let max_bps = max_bps.max(min_bps);
        SendSideBandwidthEstimation {
            current_bps: start_bps.clamp(min_bps, max_bps),
            min_bps,
            max_bps,
            delay_based_limit: None,
            receiver_limit: None,
            min_bitrate_history: VecDeque::new(),
            lost_since_update: 0,
            expected_since_update: 0,
            last_fraction_loss: 0,
            has_decreased_since_last_fraction_loss: false,
            last_loss_report: None,
            first_report_time: None,
            time_last_decrease: None,
            last_rtt: Duration::ZERO,
        }
    }

    /// The target, bit/s.
    pub fn target_bitrate(&self) -> u64 {
        self.current_bps
    }

    /// The last loss fraction, in 1/256 (as in RTCP report blocks).
    pub fn fraction_loss(&self) -> u8 {
        self.last_fraction_loss
    }

    /// The receiver's REMB, when one came.
    pub fn receiver_limit(&self) -> Option<u64> {
        self.receiver_limit
    }

    /// The delay-based estimate, when one was given.
    pub fn delay_based_limit(&self) -> Option<u64> {
        self.delay_based_limit
    }

    /// Changes the limits; the target is clamped to them.
    pub fn set_limits(&mut self, min_bps: u64, max_bps: u64, now: Instant) {
        self.min_bps = min_bps;
        self.max_bps = max_bps.max(min_bps);
        self.apply_limits(now);
    }

    /// Sets the target (clamped and capped), as the application may.
    pub fn set_send_bitrate(&mut self, bitrate_bps: u64, now: Instant) {
        self.min_bitrate_history.clear();
        self.update_target(bitrate_bps, now);
    }

    /// The round-trip time, which spaces the loss-based decreases.
    pub fn update_rtt(&mut self, rtt: Duration) {
        self.last_rtt = rtt;
    }

    /// A new delay-based estimate (0: none); the target is capped by it.
    pub fn update_delay_based_estimate(&mut self, bitrate_bps: u64, now: Instant) {
        self.delay_based_limit = (bitrate_bps > 0).then_some(bitrate_bps);
        self.apply_limits(now);
    }

    /// The receiver's estimated maximum bitrate (REMB; 0: none); the target
    /// is capped by it.
    pub fn update_receiver_estimate(&mut self, bitrate_bps: u64, now: Instant) {
        self.receiver_limit = (bitrate_bps > 0).then_some(bitrate_bps);
        self.apply_limits(now);
    }

    /// `lost` of `expected` packets were lost; once at least 20 are counted
    /// they make a new loss fraction, and the estimate is updated.
    pub fn update_packets_lost(&mut self, lost: usize, expected: usize, now: Instant) {
        self.first_report_time.get_or_insert(now);
        if expected == 0 {
            return;
        }
        let expected = self.expected_since_update + expected;
        let lost = self.lost_since_update + lost;
        if expected < LIMIT_NUM_PACKETS {
            self.expected_since_update = expected;
            self.lost_since_update = lost;
            return;
        }
        self.has_decreased_since_last_fraction_loss = false;
        self.last_fraction_loss = ((lost << 8) / expected).min(255) as u8;
        self.lost_since_update = 0;
        self.expected_since_update = 0;
        self.last_loss_report = Some(now);
        self.update_estimate(now);
    }

    fn in_start_phase(&self, now: Instant) -> bool {
        self.first_report_time
            .is_none_or(|t| now.saturating_duration_since(t) < START_PHASE)
    }

    /// Runs the loss-based rules (call it every 25 ms or so, and it runs
    /// after each loss fraction).
    pub fn update_estimate(&mut self, now: Instant) {
        if self.last_fraction_loss == 0 && self.in_start_phase(now) {
            let mut new = self.current_bps;
            if let Some(r) = self.receiver_limit {
                new = new.max(r);
            }
            if let Some(d) = self.delay_based_limit {
                new = new.max(d);
            }
            if new != self.current_bps {
                self.min_bitrate_history.clear();
                self.min_bitrate_history.push_back((now, self.current_bps));
                self.update_target(new, now);
                return;
            }
        }
        self.update_min_history(now);
        let Some(report) = self.last_loss_report else {
            self.apply_limits(now);
            return;
        };
        if now.saturating_duration_since(report) < LOSS_REPORT_MAX_AGE {
            let loss = f64::from(self.last_fraction_loss) / 256.0;
            if loss <= LOW_LOSS_THRESHOLD {
                let base = self
                    .min_bitrate_history
                    .front()
                    .map_or(self.current_bps, |&(_, b)| b);
                let new = (base as f64 * 1.08 + 0.5) as u64 + 1000;
                self.update_target(new, now);
                return;
            }
            if loss > HIGH_LOSS_THRESHOLD
                && !self.has_decreased_since_last_fraction_loss
                && self.time_last_decrease.is_none_or(|t| {
                    now.saturating_duration_since(t) >= DECREASE_INTERVAL + self.last_rtt
                })
            {
                self.time_last_decrease = Some(now);
                let new = (self.current_bps as f64
                    * f64::from(512 - u32::from(self.last_fraction_loss))
                    / 512.0) as u64;
                self.has_decreased_since_last_fraction_loss = true;
                self.update_target(new, now);
                return;
            }
        }
        self.apply_limits(now);
    }

    /// Keeps the lowest target of the last second at the front.
    fn update_min_history(&mut self, now: Instant) {
        while let Some(&(t, _)) = self.min_bitrate_history.front() {
            if now.saturating_duration_since(t) + Duration::from_millis(1) > INCREASE_INTERVAL {
                self.min_bitrate_history.pop_front();
            } else {
                break;
            }
        }
        while let Some(&(_, b)) = self.min_bitrate_history.back() {
            if self.current_bps <= b {
                self.min_bitrate_history.pop_back();
            } else {
                break;
            }
        }
        self.min_bitrate_history.push_back((now, self.current_bps));
    }

    fn upper_limit(&self) -> u64 {
        let mut limit = self.max_bps;
        if let Some(d) = self.delay_based_limit {
            limit = limit.min(d);
        }
        if let Some(r) = self.receiver_limit {
            limit = limit.min(r);
        }
        limit
    }

    fn update_target(&mut self, bitrate_bps: u64, _now: Instant) {
        self.current_bps = bitrate_bps.min(self.upper_limit()).max(self.min_bps);
    }

    fn apply_limits(&mut self, now: Instant) {
        self.update_target(self.current_bps, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_rules() {
        let t0 = Instant::now();
        let mut s = SendSideBandwidthEstimation::new(1_000_000, 10_000, 10_000_000);
        s.update_delay_based_estimate(5_000_000, t0);
        // Too few packets: no fraction yet.
        s.update_packets_lost(5, 10, t0);
        assert_eq!(s.fraction_loss(), 0);
        // 5 % after the start phase: held.
        let t = t0 + Duration::from_secs(3);
        s.update_packets_lost(0, 90, t); // 5 / 100
        assert_eq!(s.fraction_loss(), 12);
        assert_eq!(s.target_bitrate(), 1_000_000);
        // 20 %: decrease by 10 %.
        let t = t + Duration::from_secs(1);
        s.update_packets_lost(20, 100, t);
        assert_eq!(s.target_bitrate(), 1_000_000 * (512 - 51) / 512);
        // Not again for the same report.
        let before = s.target_bitrate();
        s.update_estimate(t + Duration::from_secs(1));
        assert_eq!(s.target_bitrate(), before);
        // No loss: +8 % of the last second's minimum, + 1 kbit/s.
        let t = t + Duration::from_secs(2);
        s.update_packets_lost(0, 100, t);
        assert_eq!(
            s.target_bitrate(),
            (before as f64 * 1.08 + 0.5) as u64 + 1000
        );
    }

    #[test]
    fn caps_and_start_phase() {
        let t0 = Instant::now();
        let mut s = SendSideBandwidthEstimation::new(300_000, 30_000, 2_000_000);
        // Start phase: jump up to the delay-based estimate.
        s.update_delay_based_estimate(800_000, t0);
        s.update_estimate(t0);
        assert_eq!(s.target_bitrate(), 800_000);
        // REMB caps.
        s.update_receiver_estimate(500_000, t0);
        assert_eq!(s.target_bitrate(), 500_000);
        s.update_receiver_estimate(0, t0);
        s.update_delay_based_estimate(5_000_000, t0);
        s.update_estimate(t0);
        assert_eq!(s.target_bitrate(), 2_000_000);
        s.update_delay_based_estimate(1_000, t0);
        assert_eq!(s.target_bitrate(), 30_000);
    }
}
