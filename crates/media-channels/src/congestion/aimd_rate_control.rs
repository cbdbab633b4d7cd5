//! The delay-based rate controller (libwebrtc's AimdRateControl with its
//! LinkCapacityEstimator, draft-ietf-rmcat-gcc-02 §5.5).
//!
//! Driven by the over-use detector's verdict:
//!
//! - **Normal** → *increase*: multiplicatively (8 % per second) while the
//!   link capacity is unknown, additively (about one packet per
//!   response time, RTT + 100 ms) near a known capacity; never above
//!   1.5 × the acknowledged rate + 10 kbit/s.
//! - **Overusing** → *decrease* to [`BETA`] (0.85) × the acknowledged rate,
//!   and the capacity estimate learns from that rate; then *hold*.
//! - **Underusing** → *hold*: queues are draining, keep the rate.
//!
//! The result is clamped to the configured minimum and maximum.

use std::time::{Duration, Instant};

use super::BandwidthUsage;

/// The multiplicative decrease factor (libwebrtc's `beta_`).
pub const BETA: f64 = 0.85;
/// The round-trip time assumed before one is known.
pub const DEFAULT_RTT: Duration = Duration::from_millis(200);
/// After this long with throughput, the estimate is set from it.
const INITIALIZATION_TIME: Duration = Duration::from_secs(5);

/// The link capacity learnt at over-use: a mean with a normalised variance
/// (libwebrtc's LinkCapacityEstimator), in kbit/s.
#[derive(Debug, Clone, Copy)]
struct LinkCapacity {
    estimate_kbps: Option<f64>,
    deviation_kbps: f64,
}

impl LinkCapacity {
    const fn new() -> LinkCapacity {
        LinkCapacity {
            estimate_kbps: None,
            deviation_kbps: 0.4,
        }
    }

    fn deviation(&self, estimate: f64) -> f64 {
        (self.deviation_kbps * estimate).sqrt()
    }

    fn upper_bound_bps(&self) -> f64 {
        match self.estimate_kbps {
            Some(e) => (e + 3.0 * self.deviation(e)) * 1000.0,
            None => f64::INFINITY,
        }
    }

    fn lower_bound_bps(&self) -> f64 {
        match self.estimate_kbps {
            Some(e) => (e - 3.0 * self.deviation(e)).max(0.0) * 1000.0,
            None => 0.0,
        }
    }

    fn on_overuse_detected(&mut self, acknowledged_bps: f64) {
        let sample = acknowledged_bps / 1000.0;
        let alpha = 0.05;
        let estimate = match self.estimate_kbps {
            None => sample,
            Some(e) => (1.0 - alpha) * e + alpha * sample,
        };
        self.estimate_kbps = Some(estimate);
        let norm = estimate.max(1.0);
        let error = estimate - sample;
        self.deviation_kbps =
            ((1.0 - alpha) * self.deviation_kbps + alpha * error * error / norm).clamp(0.4, 2.5);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hold,
    Increase,
    Decrease,
}

/// The controller; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct AimdRateControl {
    min_bps: f64,
    max_bps: f64,
    current_bps: f64,
    latest_throughput_bps: f64,
    link_capacity: LinkCapacity,
    state: State,
    time_last_change: Option<Instant>,
    time_first_throughput: Option<Instant>,
    initialized: bool,
    rtt: Duration,
}

impl AimdRateControl {
    /// A controller between `min_bps` and `max_bps` starting at `start_bps`.
    pub fn new(start_bps: u64, min_bps: u64, max_bps: u64) -> AimdRateControl {
        let max_bps = max_bps.max(min_bps) as f64;
        let start = (start_bps as f64).clamp(min_bps as f64, max_bps);
        AimdRateControl {
            min_bps: min_bps as f64,
            max_bps,
            current_bps: start,
            latest_throughput_bps: start,
            link_capacity: LinkCapacity::new(),
            state: State::Hold,
            time_last_change: None,
            time_first_throughput: None,
            initialized: true,
            rtt: DEFAULT_RTT,
        }
    }

    /// Changes the limits; the estimate is clamped to them.
    pub fn set_limits(&mut self, min_bps: u64, max_bps: u64) {
        self.min_bps = min_bps as f64;
        self.max_bps = max_bps.max(min_bps) as f64;
        self.current_bps = self.clamp(self.current_bps);
    }

    /// The round-trip time, which paces the additive increase and the
    /// repeated decreases.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// The estimate, bit/s.
    pub fn latest_estimate(&self) -> u64 {
        self.current_bps as u64
    }

    /// True once the estimate means something (from the start rate, an
    /// over-use or the first seconds of throughput).
    pub fn valid_estimate(&self) -> bool {
        self.initialized
    }

    /// The link capacity learnt at over-uses, bit/s.
    pub fn link_capacity(&self) -> Option<u64> {
        self.link_capacity
            .estimate_kbps
            .map(|k| (k * 1000.0) as u64)
    }

    /// Sets the estimate (clamped), as after a probe.
    pub fn set_estimate(&mut self, bitrate_bps: u64, now: Instant) {
        self.initialized = true;
        self.current_bps = self.clamp(bitrate_bps as f64);
        self.time_last_change = Some(now);
    }

    /// While over-using: whether another decrease is due, once per RTT
    /// (10…200 ms) or at once when the throughput fell below half the
    /// estimate.
    pub fn time_to_reduce_further(&self, now: Instant, throughput_bps: u64) -> bool {
        let interval = self
            .rtt
            .clamp(Duration::from_millis(10), Duration::from_millis(200));
        if self
            .time_last_change
            .is_none_or(|t| now.saturating_duration_since(t) >= interval)
        {
            return true;
        }
        self.valid_estimate() && (throughput_bps as f64) < 0.5 * self.current_bps
    }

    /// [`time_to_reduce_further`](Self::time_to_reduce_further) before any
    /// throughput is known.
    pub fn initial_time_to_reduce_further(&self, now: Instant) -> bool {
        self.valid_estimate()
            && self.time_to_reduce_further(now, (self.current_bps / 2.0) as u64 - 1)
    }

    /// Runs the controller on the detector's verdict and the acknowledged
    /// throughput; returns the estimate, bit/s.
    pub fn update(
        &mut self,
        usage: BandwidthUsage,
        throughput_bps: Option<u64>,
        now: Instant,
    ) -> u64 {
        if !self.initialized {
            match self.time_first_throughput {
                None => {
                    if throughput_bps.is_some() {
                        self.time_first_throughput = Some(now);
                    }
                }
                Some(first) => {
                    if let Some(t) = throughput_bps {
                        if now.saturating_duration_since(first) > INITIALIZATION_TIME {
                            self.current_bps = t as f64;
                            self.initialized = true;
                        }
                    }
                }
            }
        }
        self.change_bitrate(usage, throughput_bps, now);
        self.current_bps as u64
    }

    fn change_bitrate(&mut self, usage: BandwidthUsage, throughput_bps: Option<u64>, now: Instant) {
        if let Some(t) = throughput_bps {
            self.latest_throughput_bps = t as f64;
        }
        let throughput = self.latest_throughput_bps;
        // An over-use always acts, even before the first estimate.
        if !self.initialized && usage != BandwidthUsage::Overusing {
            return;
        }
        self.change_state(usage, now);
        let mut new_bitrate = None;
        match self.state {
            State::Hold => {}
            State::Increase => {
                if throughput > self.link_capacity.upper_bound_bps() {
                    self.link_capacity.estimate_kbps = None;
                }
                let limit = 1.5 * throughput + 10_000.0;
                if self.current_bps < limit {
                    let increase = if self.link_capacity.estimate_kbps.is_some() {
                        self.additive_increase(now)
                    } else {
                        self.multiplicative_increase(now)
                    };
                    new_bitrate = Some((self.current_bps + increase).min(limit));
                }
                self.time_last_change = Some(now);
            }
            State::Decrease => {
                let mut decreased = throughput * BETA;
                if decreased > self.current_bps {
                    if let Some(capacity) = self.link_capacity.estimate_kbps {
                        decreased = BETA * capacity * 1000.0;
                    }
                }
                // Never increase while over-using.
                if decreased < self.current_bps {
                    new_bitrate = Some(decreased);
                }
                if throughput < self.link_capacity.lower_bound_bps() {
                    // Far below the learnt capacity: start learning afresh.
                    self.link_capacity.estimate_kbps = None;
                }
                self.initialized = true;
                self.link_capacity.on_overuse_detected(throughput);
                self.state = State::Hold;
                self.time_last_change = Some(now);
            }
        }
        self.current_bps = self.clamp(new_bitrate.unwrap_or(self.current_bps));
    }

    fn change_state(&mut self, usage: BandwidthUsage, now: Instant) {
        match usage {
            BandwidthUsage::Normal => {
                if self.state == State::Hold {
                    self.time_last_change = Some(now);
                    self.state = State::Increase;
                }
            }
            BandwidthUsage::Overusing => self.state = State::Decrease,
            BandwidthUsage::Underusing => self.state = State::Hold,
        }
    }

    fn clamp(&self, bps: f64) -> f64 {
        bps.min(self.max_bps).max(self.min_bps)
    }

    fn since_last_change(&self, now: Instant) -> Option<f64> {
        self.time_last_change
            .map(|t| now.saturating_duration_since(t).as_secs_f64())
    }

    /// 8 % per second, at least 1 kbit/s.
    fn multiplicative_increase(&self, now: Instant) -> f64 {
        let alpha = match self.since_last_change(now) {
            Some(s) => 1.08f64.powf(s.min(1.0)),
            None => 1.08,
        };
        (self.current_bps * (alpha - 1.0)).max(1000.0)
    }

    /// About one packet per response time (RTT + 100 ms), per second elapsed.
    fn additive_increase(&self, now: Instant) -> f64 {
        self.near_max_increase_rate() * self.since_last_change(now).unwrap_or(0.0)
    }

    /// libwebrtc's `GetNearMaxIncreaseRateBpsPerSecond`: at 30 frames per
    /// second of packets up to 1200 bytes, one average packet per response
    /// time; at least 4 kbit/s per second.
    fn near_max_increase_rate(&self) -> f64 {
        let frame_bits = self.current_bps / 30.0;
        let packets_per_frame = (frame_bits / (1200.0 * 8.0)).ceil().max(1.0);
        let packet_bits = frame_bits / packets_per_frame;
        let response_time = (self.rtt + Duration::from_millis(100)).as_secs_f64();
        (packet_bits / response_time).max(4000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increase_then_decrease_to_beta_times_throughput() {
        let t0 = Instant::now();
        let mut a = AimdRateControl::new(300_000, 30_000, 5_000_000);
        a.set_rtt(Duration::from_millis(50));
        // Normal for a second in 100 ms steps: about 8 % up (multiplicative).
        let mut now = t0;
        a.update(BandwidthUsage::Normal, Some(300_000), now);
        for _ in 0..10 {
            now += Duration::from_millis(100);
            a.update(BandwidthUsage::Normal, Some(300_000), now);
        }
        let r = a.latest_estimate() as f64 / 300_000.0;
        assert!((1.07..1.09).contains(&r), "{r}");
        // Over-use: 0.85 × the acknowledged rate.
        now += Duration::from_millis(100);
        let est = a.update(BandwidthUsage::Overusing, Some(310_000), now);
        assert_eq!(est, (310_000.0 * BETA) as u64);
        assert_eq!(a.link_capacity(), Some(310_000));
        // Hold while under-using.
        now += Duration::from_millis(100);
        assert_eq!(
            a.update(BandwidthUsage::Underusing, Some(250_000), now),
            est
        );
        // Near the learnt capacity the increase is additive: at 263 kbit/s,
        // one packet of about 1100 bytes per 150 ms ≈ 58 kbit/s per second.
        now += Duration::from_millis(100);
        a.update(BandwidthUsage::Normal, Some(263_000), now); // hold → increase
        now += Duration::from_secs(1);
        let after = a.update(BandwidthUsage::Normal, Some(263_000), now);
        let increase = after - est;
        assert!((50_000..65_000).contains(&increase), "{increase}");
    }

    #[test]
    fn increase_is_limited_by_throughput_and_limits() {
        let t0 = Instant::now();
        let mut a = AimdRateControl::new(1_000_000, 30_000, 1_200_000);
        let mut now = t0;
        for _ in 0..100 {
            now += Duration::from_millis(100);
            a.update(BandwidthUsage::Normal, Some(100_000), now);
        }
        // 1.5 × 100 k + 10 k: the start rate is above it, so no increase.
        assert_eq!(a.latest_estimate(), 1_000_000);
        for _ in 0..100 {
            now += Duration::from_millis(100);
            a.update(BandwidthUsage::Normal, Some(1_000_000), now);
        }
        assert_eq!(a.latest_estimate(), 1_200_000);
        // Decreases stop at the minimum.
        for _ in 0..50 {
            now += Duration::from_millis(300);
            a.update(BandwidthUsage::Overusing, Some(1_000), now);
        }
        assert_eq!(a.latest_estimate(), 30_000);
    }

    #[test]
    fn reduce_further_once_per_rtt() {
        let t0 = Instant::now();
        let mut a = AimdRateControl::new(1_000_000, 30_000, 5_000_000);
        a.set_rtt(Duration::from_millis(50));
        a.update(BandwidthUsage::Overusing, Some(900_000), t0);
        assert!(!a.time_to_reduce_further(t0 + Duration::from_millis(20), 800_000));
        // Throughput below half the estimate: at once.
        assert!(a.time_to_reduce_further(t0 + Duration::from_millis(20), 300_000));
        assert!(a.time_to_reduce_further(t0 + Duration::from_millis(50), 800_000));
    }
}
