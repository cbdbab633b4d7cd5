//! Over-use detection with an adaptive threshold (libwebrtc's
//! `TrendlineEstimator::Detect` and `UpdateThreshold`,
//! draft-ietf-rmcat-gcc-02 §5.4).
//!
//! The trend is scaled by the number of deltas seen (up to 60) and a gain of
//! 4 into a "modified trend" in ms. Above the threshold for more than 10 ms
//! of send time, over two or more deltas, and not falling, it is
//! [`Overusing`](BandwidthUsage::Overusing); below minus the threshold,
//! [`Underusing`](BandwidthUsage::Underusing); otherwise
//! [`Normal`](BandwidthUsage::Normal).
//!
//! The threshold (γ, starting at 12.5 ms) follows |modified trend|: down
//! quickly (k = 0.039 per ms) when the trend is inside it, up slowly
//! (k = 0.0087) when outside, clamped to 6…600 ms, and not moved at all by
//! spikes more than 15 ms beyond it. So a competing TCP flow that keeps the
//! queue filled raises γ instead of starving us, and a quiet path lowers it
//! to stay sensitive.

use super::BandwidthUsage;

/// Gain on the trend (libwebrtc's `threshold_gain_`).
pub const THRESHOLD_GAIN: f64 = 4.0;
/// Deltas after which the trend's scaling stops growing (`kMinNumDeltas`).
pub const MIN_NUM_DELTAS: u32 = 60;
/// The threshold to start with, ms.
pub const INITIAL_THRESHOLD: f64 = 12.5;
/// Rate at which the threshold rises towards a larger trend (`k_up_`).
pub const K_UP: f64 = 0.0087;
/// Rate at which the threshold falls towards a smaller trend (`k_down_`).
pub const K_DOWN: f64 = 0.039;
/// Trends this far beyond the threshold do not move it (`kMaxAdaptOffsetMs`).
const MAX_ADAPT_OFFSET: f64 = 15.0;
/// Over-use must last this long in send time (`kOverUsingTimeThreshold`), ms.
const OVERUSING_TIME_THRESHOLD: f64 = 10.0;
/// Longest step of the threshold's update, ms.
const MAX_TIME_DELTA: f64 = 100.0;

/// The detector; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct OveruseDetector {
    threshold: f64,
    time_over_using: Option<f64>,
    overuse_counter: u32,
    prev_trend: f64,
    last_update_ms: Option<f64>,
    hypothesis: BandwidthUsage,
    modified_trend: f64,
}

impl Default for OveruseDetector {
    fn default() -> OveruseDetector {
        OveruseDetector {
            threshold: INITIAL_THRESHOLD,
            time_over_using: None,
            overuse_counter: 0,
            prev_trend: 0.0,
            last_update_ms: None,
            hypothesis: BandwidthUsage::Normal,
            modified_trend: 0.0,
        }
    }
}

impl OveruseDetector {
    /// A detector in the normal state with the initial threshold.
    pub fn new() -> OveruseDetector {
        OveruseDetector::default()
    }

    /// The current verdict.
    pub fn state(&self) -> BandwidthUsage {
        self.hypothesis
    }

    /// The adaptive threshold γ, ms.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The last modified trend (trend × min(deltas, 60) × 4), ms.
    pub fn modified_trend(&self) -> f64 {
        self.modified_trend
    }

    /// Judges a new `trend` after `num_deltas` deltas; `send_delta_ms` is the
    /// send-time span of the last delta and `now_ms` its arrival time (any
    /// origin, only differences count).
    pub fn detect(
        &mut self,
        trend: f64,
        num_deltas: u32,
        send_delta_ms: f64,
        now_ms: f64,
    ) -> BandwidthUsage {
        if num_deltas < 2 {
            self.hypothesis = BandwidthUsage::Normal;
            return self.hypothesis;
        }
        let modified_trend = f64::from(num_deltas.min(MIN_NUM_DELTAS)) * trend * THRESHOLD_GAIN;
        self.modified_trend = modified_trend;
        if modified_trend > self.threshold {
            let time = match self.time_over_using {
                // Assume over-use began half-way since the last sample.
                None => send_delta_ms / 2.0,
                Some(t) => t + send_delta_ms,
            };
            self.time_over_using = Some(time);
            self.overuse_counter += 1;
            if time > OVERUSING_TIME_THRESHOLD
                && self.overuse_counter > 1
                && trend >= self.prev_trend
            {
                self.time_over_using = Some(0.0);
                self.overuse_counter = 0;
                self.hypothesis = BandwidthUsage::Overusing;
            }
        } else if modified_trend < -self.threshold {
            self.time_over_using = None;
            self.overuse_counter = 0;
            self.hypothesis = BandwidthUsage::Underusing;
        } else {
            self.time_over_using = None;
            self.overuse_counter = 0;
            self.hypothesis = BandwidthUsage::Normal;
        }
        self.prev_trend = trend;
        self.update_threshold(modified_trend, now_ms);
        self.hypothesis
    }

    fn update_threshold(&mut self, modified_trend: f64, now_ms: f64) {
        let last = *self.last_update_ms.get_or_insert(now_ms);
        let magnitude = modified_trend.abs();
        if magnitude > self.threshold + MAX_ADAPT_OFFSET {
            // A latency spike (a sudden capacity drop): do not adapt to it.
            self.last_update_ms = Some(now_ms);
            return;
        }
        let k = if magnitude < self.threshold {
            K_DOWN
        } else {
            K_UP
        };
        let time_delta = (now_ms - last).clamp(0.0, MAX_TIME_DELTA);
        self.threshold += k * (magnitude - self.threshold) * time_delta;
        self.threshold = self.threshold.clamp(6.0, 600.0);
        self.last_update_ms = Some(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overuse_needs_time_and_repetition() {
        let mut d = OveruseDetector::new();
        assert_eq!(d.detect(1.0, 1, 5.0, 0.0), BandwidthUsage::Normal);
        // 60 deltas × 4 × 0.1 = 24 ms > 12.5: over the threshold, but only
        // 2.5 ms of over-use and one sample so far.
        assert_eq!(d.detect(0.1, 60, 5.0, 5.0), BandwidthUsage::Normal);
        assert_eq!(d.detect(0.1, 60, 5.0, 10.0), BandwidthUsage::Normal); // 7.5 ms
        assert_eq!(d.detect(0.1, 60, 5.0, 15.0), BandwidthUsage::Overusing); // 12.5 ms
                                                                             // Stays over-using while the trend is unchanged.
        assert_eq!(d.detect(0.1, 60, 5.0, 20.0), BandwidthUsage::Overusing);
        // A falling trend is not a new over-use: the state is kept.
        assert_eq!(d.detect(0.09, 60, 50.0, 25.0), BandwidthUsage::Overusing);
        assert_eq!(d.detect(0.0, 60, 5.0, 30.0), BandwidthUsage::Normal);
        assert_eq!(d.detect(-0.1, 60, 5.0, 35.0), BandwidthUsage::Underusing);
    }

    #[test]
    fn few_deltas_scale_the_trend_down() {
        let mut d = OveruseDetector::new();
        // With 2 deltas, 0.1 × 2 × 4 = 0.8 ms: inside the threshold.
        for i in 0..10 {
            assert_eq!(
                d.detect(0.1, 2, 5.0, 5.0 * f64::from(i)),
                BandwidthUsage::Normal
            );
        }
    }

    #[test]
    fn threshold_adapts() {
        let mut d = OveruseDetector::new();
        // A quiet path: the threshold falls to its floor of 6 ms.
        for i in 0..100 {
            d.detect(0.0, 60, 10.0, 10.0 * f64::from(i));
        }
        assert!((d.threshold() - 6.0).abs() < 1e-9);
        // A persistent modified trend of 18 ms (within 15 ms of it) pulls the
        // threshold up, slowly.
        let mut now = 1000.0;
        for _ in 0..100 {
            now += 10.0;
            d.detect(18.0 / 240.0, 60, 10.0, now);
        }
        assert!(d.threshold() > 15.0 && d.threshold() < 18.0);
        // A spike far beyond it leaves it alone.
        let before = d.threshold();
        d.detect(1.0, 60, 10.0, now + 10.0);
        assert_eq!(d.threshold(), before);
    }
}
