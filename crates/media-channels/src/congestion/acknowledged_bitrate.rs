//! The rate the peer received (libwebrtc's AcknowledgedBitrateEstimator
//! over its BitrateEstimator).
//!
//! Acknowledged bytes are summed by their arrival time into windows of
//! 150 ms (500 ms for the first sample); each window's rate is a sample for
//! a one-dimensional Bayesian filter whose sample variance grows with the
//! sample's distance from the estimate, so single odd windows move it
//! little and a lasting change moves it within a few windows.
//!
//! ```
//! use media_channels::congestion::acknowledged_bitrate::AcknowledgedBitrateEstimator;
//!
//! let mut e = AcknowledgedBitrateEstimator::new();
//! // 1000 bytes every 10 ms of arrival time: 800 kbit/s.
//! for i in 0..300 {
//!     e.on_packet_acknowledged(i * 10_000, 1000);
//! }
//! let rate = e.bitrate().unwrap();
//! assert!((790_000..=810_000).contains(&rate));
//! ```

/// The first window, ms.
const INITIAL_WINDOW_MS: i64 = 500;
/// Every later window, ms.
const WINDOW_MS: i64 = 150;
/// Scale of the sample uncertainty.
const UNCERTAINTY_SCALE: f64 = 10.0;

/// The estimator; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct AcknowledgedBitrateEstimator {
    sum_bytes: u64,
    current_window_ms: i64,
    prev_time_ms: Option<i64>,
    estimate_kbps: Option<f64>,
    estimate_var: f64,
}

impl Default for AcknowledgedBitrateEstimator {
    fn default() -> AcknowledgedBitrateEstimator {
        AcknowledgedBitrateEstimator {
            sum_bytes: 0,
            current_window_ms: 0,
            prev_time_ms: None,
            estimate_kbps: None,
            estimate_var: 50.0,
        }
    }
}

impl AcknowledgedBitrateEstimator {
    /// No estimate yet.
    pub fn new() -> AcknowledgedBitrateEstimator {
        AcknowledgedBitrateEstimator::default()
    }

    /// The estimate, bit/s; `None` until the first window closed.
    pub fn bitrate(&self) -> Option<u64> {
        self.estimate_kbps.map(|k| (k * 1000.0) as u64)
    }

    /// One packet of `size` bytes that arrived at `receive_time_us` (the
    /// peer's clock). Give packets in arrival order.
    pub fn on_packet_acknowledged(&mut self, receive_time_us: i64, size: usize) {
        let window = if self.estimate_kbps.is_none() {
            INITIAL_WINDOW_MS
        } else {
            WINDOW_MS
        };
        let Some(sample) = self.update_window(receive_time_us.div_euclid(1000), size, window)
        else {
            return;
        };
        let Some(estimate) = self.estimate_kbps else {
            self.estimate_kbps = Some(sample);
            return;
        };
        let uncertainty = UNCERTAINTY_SCALE * (estimate - sample).abs() / estimate.max(1e-9);
        let sample_var = uncertainty * uncertainty;
        // The estimate drifts: its variance grows with every update.
        let pred_var = self.estimate_var + 5.0;
        let new = (sample_var * estimate + pred_var * sample) / (sample_var + pred_var);
        self.estimate_kbps = Some(new.max(0.0));
        self.estimate_var = sample_var * pred_var / (sample_var + pred_var);
    }

    /// Adds `bytes` at `now_ms`; the rate of the window it closed, kbit/s.
    fn update_window(&mut self, now_ms: i64, bytes: usize, window_ms: i64) -> Option<f64> {
        if self.prev_time_ms.is_some_and(|p| now_ms < p) {
            // Time went backwards: start the window over.
            self.prev_time_ms = None;
            self.sum_bytes = 0;
            self.current_window_ms = 0;
        }
        if let Some(prev) = self.prev_time_ms {
            self.current_window_ms += now_ms - prev;
            // Nothing for more than a window: what was summed is stale.
            if now_ms - prev > window_ms {
                self.sum_bytes = 0;
                self.current_window_ms %= window_ms;
            }
        }
        self.prev_time_ms = Some(now_ms);
        let mut sample = None;
        if self.current_window_ms >= window_ms {
            sample = Some(8.0 * self.sum_bytes as f64 / window_ms as f64);
            self.current_window_ms -= window_ms;
            self.sum_bytes = 0;
        }
        self.sum_bytes += bytes as u64;
        sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_a_rate_change_within_a_second() {
        let mut e = AcknowledgedBitrateEstimator::new();
        let mut t = 0;
        for _ in 0..200 {
            t += 10_000;
            e.on_packet_acknowledged(t, 1250); // 1 Mbit/s
        }
        let r = e.bitrate().unwrap();
        assert!((980_000..=1_020_000).contains(&r), "{r}");
        for _ in 0..100 {
            t += 20_000;
            e.on_packet_acknowledged(t, 1250); // 500 kbit/s for 2 s
        }
        // A 150 ms window holds 7 or 8 of these packets: samples alternate
        // between 467 and 533 kbit/s.
        let r = e.bitrate().unwrap();
        assert!((460_000..=540_000).contains(&r), "{r}");
    }

    #[test]
    fn nothing_before_the_first_window() {
        let mut e = AcknowledgedBitrateEstimator::new();
        for i in 0..40 {
            e.on_packet_acknowledged(i * 10_000, 1000);
        }
        assert_eq!(e.bitrate(), None);
    }
}
