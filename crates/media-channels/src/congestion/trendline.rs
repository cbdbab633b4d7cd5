//! The delay trend (libwebrtc's TrendlineEstimator): the slope of the
//! queuing delay over the last groups.
//!
//! Each group delta adds `arrival delta − send delta` (how much longer the
//! group took to arrive than to leave) to an accumulated delay, smoothed
//! exponentially (coefficient 0.9). The last [`DEFAULT_WINDOW_SIZE`] points
//! (arrival time, smoothed delay) are fitted by least squares; the slope
//! estimates `(send rate − capacity) / capacity`: above zero queues fill,
//! below zero they drain. Until the window is full the slope stays at its
//! last value (0 at first).
//!
//! ```
//! use media_channels::congestion::trendline::TrendlineEstimator;
//!
//! let mut t = TrendlineEstimator::new();
//! // Every group leaves 20 ms after the previous one but arrives 22 ms after:
//! // the queue grows by 2 ms per group (about 10 % over capacity).
//! let mut arrival = 0.0;
//! for _ in 0..100 {
//!     arrival += 22.0;
//!     t.update(22.0, 20.0, arrival);
//! }
//! assert!((t.trend() - 2.0 / 22.0).abs() < 0.01);
//! ```

use std::collections::VecDeque;

/// Points in the regression (libwebrtc's `kDefaultTrendlineWindowSize`).
pub const DEFAULT_WINDOW_SIZE: usize = 20;
/// Weight of the previous smoothed delay.
pub const DEFAULT_SMOOTHING: f64 = 0.9;
/// Deltas counted at most (libwebrtc's `kDeltaCounterMax`).
const DELTA_COUNTER_MAX: u32 = 1000;

/// The least-squares slope of `points` (x, y), or `None` when every x is
/// the same (or there are no points).
pub fn linear_fit_slope(points: impl Iterator<Item = (f64, f64)> + Clone) -> Option<f64> {
    let (mut n, mut sum_x, mut sum_y) = (0.0, 0.0, 0.0);
    for (x, y) in points.clone() {
        n += 1.0;
        sum_x += x;
        sum_y += y;
    }
    if n == 0.0 {
        return None;
    }
    let (x_avg, y_avg) = (sum_x / n, sum_y / n);
    let (mut numerator, mut denominator) = (0.0, 0.0);
    for (x, y) in points {
        numerator += (x - x_avg) * (y - y_avg);
        denominator += (x - x_avg) * (x - x_avg);
    }
    (denominator != 0.0).then(|| numerator / denominator)
}

/// The trend estimator; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct TrendlineEstimator {
    window_size: usize,
    smoothing: f64,
    /// (arrival ms since the first, smoothed delay ms).
    history: VecDeque<(f64, f64)>,
    first_arrival_ms: Option<f64>,
    accumulated_delay: f64,
    smoothed_delay: f64,
    num_deltas: u32,
    trend: f64,
}

impl Default for TrendlineEstimator {
    fn default() -> TrendlineEstimator {
        TrendlineEstimator::with_window(DEFAULT_WINDOW_SIZE, DEFAULT_SMOOTHING)
    }
}

impl TrendlineEstimator {
    /// The estimator with libwebrtc's window (20) and smoothing (0.9).
    pub fn new() -> TrendlineEstimator {
        TrendlineEstimator::default()
    }

    /// An estimator over `window_size` points (at least 2) with `smoothing`
    /// as the previous smoothed delay's weight.
    pub fn with_window(window_size: usize, smoothing: f64) -> TrendlineEstimator {
        TrendlineEstimator {
            window_size: window_size.max(2),
            smoothing,
            history: VecDeque::with_capacity(window_size.max(2) + 1),
            first_arrival_ms: None,
            accumulated_delay: 0.0,
            smoothed_delay: 0.0,
            num_deltas: 0,
            trend: 0.0,
        }
    }

    /// Adds one group delta: the groups arrived `recv_delta_ms` apart and
    /// left `send_delta_ms` apart; the later one arrived at
    /// `arrival_time_ms` (any origin). Returns the trend.
    pub fn update(&mut self, recv_delta_ms: f64, send_delta_ms: f64, arrival_time_ms: f64) -> f64 {
        let delta_ms = recv_delta_ms - send_delta_ms;
        self.num_deltas = (self.num_deltas + 1).min(DELTA_COUNTER_MAX);
        let first = *self.first_arrival_ms.get_or_insert(arrival_time_ms);
        self.accumulated_delay += delta_ms;
        self.smoothed_delay =
            self.smoothing * self.smoothed_delay + (1.0 - self.smoothing) * self.accumulated_delay;
        self.history
            .push_back((arrival_time_ms - first, self.smoothed_delay));
        if self.history.len() > self.window_size {
            self.history.pop_front();
        }
        if self.history.len() == self.window_size {
            if let Some(slope) = linear_fit_slope(self.history.iter().copied()) {
                self.trend = slope;
            }
        }
        self.trend
    }

    /// The last trend: the slope of the smoothed delay (ms per ms).
    pub fn trend(&self) -> f64 {
        self.trend
    }

    /// Deltas seen, up to 1000.
    pub fn num_deltas(&self) -> u32 {
        self.num_deltas
    }

    /// The smoothed accumulated delay, ms.
    pub fn smoothed_delay_ms(&self) -> f64 {
        self.smoothed_delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_lines_and_degenerate_input() {
        let line = |a: f64, b: f64| (0..10).map(move |i| (f64::from(i), a * f64::from(i) + b));
        assert!((linear_fit_slope(line(0.5, 3.0)).unwrap() - 0.5).abs() < 1e-12);
        assert!((linear_fit_slope(line(-2.0, 0.0)).unwrap() + 2.0).abs() < 1e-12);
        assert_eq!(linear_fit_slope(line(0.0, 7.0)), Some(0.0));
        assert_eq!(linear_fit_slope([(1.0, 1.0), (1.0, 5.0)].into_iter()), None);
        assert_eq!(linear_fit_slope(std::iter::empty()), None);
        // Least squares through noise: symmetric noise leaves the slope.
        let noisy = [(0.0, 1.0), (1.0, 0.0), (2.0, 3.0), (3.0, 2.0)];
        assert!((linear_fit_slope(noisy.into_iter()).unwrap() - 0.6).abs() < 1e-12);
    }

    #[test]
    fn trend_waits_for_a_full_window_then_follows_the_queue() {
        let mut t = TrendlineEstimator::new();
        let mut arrival = 0.0;
        for _ in 0..DEFAULT_WINDOW_SIZE - 1 {
            arrival += 10.0;
            assert_eq!(t.update(11.0, 10.0, arrival), 0.0);
        }
        arrival += 10.0;
        assert!(t.update(11.0, 10.0, arrival) > 0.0);
        // Steady state: no queue growth, the trend decays to zero.
        for _ in 0..200 {
            arrival += 10.0;
            t.update(10.0, 10.0, arrival);
        }
        assert!(t.trend().abs() < 1e-3);
        // Draining: negative.
        for _ in 0..30 {
            arrival += 9.0;
            t.update(9.0, 10.0, arrival);
        }
        assert!(t.trend() < -0.05);
    }
}
