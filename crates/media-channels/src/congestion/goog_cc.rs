//! The send-side controller (libwebrtc's GoogCcNetworkController in its
//! transport-feedback-only mode): sent packets and the peer's feedback in,
//! the target bitrate for the encoders and the pacing rate out.
//!
//! Per feedback: the [`TransportFeedbackAdapter`] matches statuses to sent
//! packets; the round-trip time comes from the newest packets (mean of the
//! last 32 feedbacks' maxima for the rate controller, the minimum for loss
//! timing); losses are counted and handed to the loss-based controller once
//! a second; the received packets, sorted by arrival, feed the
//! [`AcknowledgedBitrateEstimator`] and the [`DelayBasedBwe`], whose
//! estimate caps the [`SendSideBandwidthEstimation`]. A REMB caps it too.
//! Every 25 ms ([`handle_timeout`](GoogCcController::handle_timeout)) the
//! loss-based rules run. When the target changes, one
//! [`GoogCcEvent::TargetBitrate`] says so with the newest values.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::acknowledged_bitrate::AcknowledgedBitrateEstimator;
use super::delay_based_bwe::DelayBasedBwe;
use super::feedback_adapter::{PacketResult, TransportFeedbackAdapter};
use super::send_side_bwe::SendSideBandwidthEstimation;
use super::BandwidthUsage;
use crate::rtcp::{RtcpPacket, TransportCc};

/// How often the loss-based rules run (libwebrtc's process interval).
pub const PROCESS_INTERVAL: Duration = Duration::from_millis(25);
/// How often losses are handed to the loss-based controller.
const LOSS_UPDATE_INTERVAL: Duration = Duration::from_millis(1000);
/// Feedbacks whose RTT maxima are averaged.
const MAX_FEEDBACK_RTT_WINDOW: usize = 32;

/// Settings of a [`GoogCcController`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoogCcConfig {
    /// The target to start from, bit/s (libwebrtc: 300 kbit/s).
    pub start_bitrate_bps: u64,
    /// The target never goes below this, bit/s.
    pub min_bitrate_bps: u64,
    /// Nor above this, bit/s.
    pub max_bitrate_bps: u64,
    /// Pacing rate = target × this (libwebrtc: 2.5).
    pub pacing_factor: f64,
}

impl Default for GoogCcConfig {
    fn default() -> GoogCcConfig {
        GoogCcConfig {
            start_bitrate_bps: 300_000,
            min_bitrate_bps: 30_000,
            max_bitrate_bps: 30_000_000,
            pacing_factor: 2.5,
        }
    }
}

/// What the controller tells the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GoogCcEvent {
    /// The target changed: set the encoders to `bitrate_bps` and the
    /// pacer to `pacing_rate_bps`. Changes since the last
    /// [`poll_event`](GoogCcController::poll_event) come as one event with
    /// the newest values.
    TargetBitrate {
        /// The target for all media on the transport, bit/s.
        bitrate_bps: u64,
        /// The rate to pace packets at, bit/s.
        pacing_rate_bps: u64,
    },
}

/// The send-side bandwidth estimator; see the [module docs](self) for what
/// happens inside.
///
/// Inputs: [`on_packet_sent`](Self::on_packet_sent) for every packet that
/// leaves with a transport-wide sequence number,
/// [`handle_rtcp`](Self::handle_rtcp) for the peer's RTCP, and
/// [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout). Output:
/// [`poll_event`](Self::poll_event) after any input, and the getters.
///
/// ```
/// use std::time::{Duration, Instant};
/// use media_channels::congestion::{
///     FeedbackGeneratorConfig, GoogCcConfig, GoogCcController, GoogCcEvent,
///     TransportFeedbackGenerator,
/// };
/// use media_channels::rtcp::RtcpPacket;
///
/// let t0 = Instant::now();
/// let config = GoogCcConfig { start_bitrate_bps: 300_000, ..GoogCcConfig::default() };
/// let mut cc = GoogCcController::new(t0, config);
/// assert_eq!(cc.target_bitrate(), 300_000);
/// assert_eq!(cc.pacing_rate(), 750_000); // 2.5 × target
/// let mut receiver = TransportFeedbackGenerator::new(FeedbackGeneratorConfig::default());
///
/// // Two seconds of 1000-byte packets every 10 ms (800 kbit/s) over a path
/// // with 20 ms of delay each way and room to spare; feedback every 100 ms.
/// let delay = Duration::from_millis(20);
/// let mut on_the_way = std::collections::VecDeque::new();
/// let mut feedback_on_the_way = std::collections::VecDeque::new();
/// let mut buf = [0u8; 1500];
/// let mut seq = 0u16;
/// for ms in 0..2000u64 {
///     let now = t0 + Duration::from_millis(ms);
///     if ms % 10 == 0 {
///         cc.on_packet_sent(now, seq, 1000);
///         on_the_way.push_back((now + delay, seq));
///         seq = seq.wrapping_add(1);
///     }
///     // The receiver.
///     while on_the_way.front().is_some_and(|(t, _)| *t <= now) {
///         let (_, s) = on_the_way.pop_front().unwrap();
///         receiver.on_packet_received(now, s);
///     }
///     receiver.handle_timeout(now);
///     while let Some(n) = receiver.poll_feedback(&mut buf)? {
///         feedback_on_the_way.push_back((now + delay, buf[..n].to_vec()));
///     }
///     // The sender.
///     while feedback_on_the_way.front().is_some_and(|(t, _)| *t <= now) {
///         let (_, bytes) = feedback_on_the_way.pop_front().unwrap();
///         cc.handle_rtcp(now, &RtcpPacket::parse(&bytes)?);
///     }
///     if cc.poll_timeout().is_some_and(|t| t <= now) {
///         cc.handle_timeout(now);
///     }
/// }
/// let mut last = None;
/// while let Some(GoogCcEvent::TargetBitrate { bitrate_bps, .. }) = cc.poll_event() {
///     last = Some(bitrate_bps);
/// }
/// // No loss, no queue growth: the target went up.
/// assert!(last.unwrap() > 300_000);
/// assert_eq!(cc.target_bitrate(), last.unwrap());
/// assert!(cc.acknowledged_bitrate().unwrap() > 700_000);
/// # Ok::<(), media_channels::Error>(())
/// ```
#[doc(alias = "SendSideBandwidthEstimator")]
#[derive(Debug, Clone)]
pub struct GoogCcController {
    config: GoogCcConfig,
    adapter: TransportFeedbackAdapter,
    acknowledged: AcknowledgedBitrateEstimator,
    delay_based: DelayBasedBwe,
    loss_based: SendSideBandwidthEstimation,
    feedback_max_rtts: VecDeque<Duration>,
    rtt: Option<Duration>,
    lost_since_update: usize,
    expected_since_update: usize,
    next_loss_update: Option<Instant>,
    next_process: Instant,
    results: Vec<PacketResult>,
    reported_target: u64,
    event_pending: bool,
}

impl GoogCcController {
    /// A controller starting at `config.start_bitrate_bps`.
    pub fn new(now: Instant, config: GoogCcConfig) -> GoogCcController {
        let GoogCcConfig {
            start_bitrate_bps: start,
            min_bitrate_bps: min,
            max_bitrate_bps: max,
            ..
        } = config;
        let loss_based = SendSideBandwidthEstimation::new(start, min, max);
        GoogCcController {
            config,
            adapter: TransportFeedbackAdapter::new(),
            acknowledged: AcknowledgedBitrateEstimator::new(),
            delay_based: DelayBasedBwe::new(start, min, max),
            reported_target: loss_based.target_bitrate(),
            loss_based,
            feedback_max_rtts: VecDeque::new(),
            rtt: None,
            lost_since_update: 0,
            expected_since_update: 0,
            next_loss_update: None,
            next_process: now + PROCESS_INTERVAL,
            results: Vec::new(),
            event_pending: false,
        }
    }

    // ---- getters -------------------------------------------------------------

    /// The settings.
    pub fn config(&self) -> &GoogCcConfig {
        &self.config
    }

    /// The target for all media on the transport, bit/s.
    pub fn target_bitrate(&self) -> u64 {
        self.loss_based.target_bitrate()
    }

    /// The rate to pace at: target × [`GoogCcConfig::pacing_factor`], bit/s.
    pub fn pacing_rate(&self) -> u64 {
        (self.target_bitrate() as f64 * self.config.pacing_factor) as u64
    }

    /// The delay-based estimate, bit/s.
    pub fn delay_based_bitrate(&self) -> u64 {
        self.delay_based.estimate()
    }

    /// The rate the peer acknowledged receiving, bit/s.
    pub fn acknowledged_bitrate(&self) -> Option<u64> {
        self.acknowledged.bitrate()
    }

    /// The last loss fraction, in 1/256.
    pub fn fraction_loss(&self) -> u8 {
        self.loss_based.fraction_loss()
    }

    /// The round-trip time seen in feedback (the smallest of the last
    /// feedback, queuing at the receiver's side removed).
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The delay-based detector's verdict.
    pub fn bandwidth_usage(&self) -> BandwidthUsage {
        self.delay_based.state()
    }

    /// Bytes sent and not yet reported by feedback.
    pub fn data_in_flight(&self) -> usize {
        self.adapter.data_in_flight()
    }

    /// The delay-based estimator, for inspection.
    pub fn delay_based(&self) -> &DelayBasedBwe {
        &self.delay_based
    }

    // ---- inputs --------------------------------------------------------------

    /// A packet with transport-wide sequence number `seq` and `size` bytes
    /// (the RTP packet as sent, after SRTP) left at `now`. Call it when the
    /// packet really leaves: after the pacer.
    pub fn on_packet_sent(&mut self, now: Instant, seq: u16, size: usize) {
        self.adapter.on_packet_sent(now, seq, size);
    }

    /// Handles an RTCP packet: transport-wide feedback and REMB are used,
    /// the rest ignored. Returns true when it was one of those.
    pub fn handle_rtcp(&mut self, now: Instant, packet: &RtcpPacket<'_>) -> bool {
        match packet {
            RtcpPacket::TransportCc(fb) => {
                self.handle_transport_feedback(now, fb);
                true
            }
            RtcpPacket::Remb(remb) => {
                self.handle_remb(now, remb.bitrate_bps());
                true
            }
            _ => false,
        }
    }

    /// The peer's receiver-estimated maximum bitrate (REMB), a cap on the
    /// target; 0 removes the cap.
    pub fn handle_remb(&mut self, now: Instant, bitrate_bps: u64) {
        self.loss_based.update_receiver_estimate(bitrate_bps, now);
        self.check_target();
    }

    /// Changes the minimum and maximum target.
    pub fn set_bitrate_limits(&mut self, now: Instant, min_bps: u64, max_bps: u64) {
        self.config.min_bitrate_bps = min_bps;
        self.config.max_bitrate_bps = max_bps;
        self.delay_based.set_limits(min_bps, max_bps);
        self.loss_based.set_limits(min_bps, max_bps, now);
        self.check_target();
    }

    /// Handles one transport-wide feedback packet that arrived at `now`.
    pub fn handle_transport_feedback(&mut self, now: Instant, feedback: &TransportCc<'_>) {
        let mut results = std::mem::take(&mut self.results);
        results.clear();
        let summary = self.adapter.process_feedback(now, feedback, &mut results);
        self.update_rtt(now, &results);

        self.expected_since_update += summary.newly_reported;
        self.lost_since_update += summary.lost;
        self.lost_since_update = self.lost_since_update.saturating_sub(summary.recovered);
        if self.next_loss_update.is_none_or(|t| now > t) {
            self.next_loss_update = Some(now + LOSS_UPDATE_INTERVAL);
            self.loss_based.update_packets_lost(
                self.lost_since_update,
                self.expected_since_update,
                now,
            );
            self.lost_since_update = 0;
            self.expected_since_update = 0;
        }

        results.retain(PacketResult::is_received);
        results.sort_by_key(|p| p.receive_time_us);
        for p in &results {
            if let Some(t) = p.receive_time_us {
                self.acknowledged.on_packet_acknowledged(t, p.size);
            }
        }
        let acked = self.acknowledged.bitrate();
        let result = self
            .delay_based
            .incoming_packet_feedback(now, &results, acked);
        if result.updated {
            self.loss_based
                .update_delay_based_estimate(result.target_bitrate_bps, now);
        }
        self.results = results;
        self.check_target();
    }

    /// RTT samples from the received packets of one feedback.
    fn update_rtt(&mut self, now: Instant, results: &[PacketResult]) {
        let Some(max_receive) = results.iter().filter_map(|p| p.receive_time_us).max() else {
            return;
        };
        let mut max_rtt = None;
        let mut min_rtt = None;
        for p in results {
            let Some(receive) = p.receive_time_us else {
                continue;
            };
            let feedback_rtt = now.saturating_duration_since(p.send_time);
            let pending = Duration::from_micros((max_receive - receive).max(0) as u64);
            let rtt = feedback_rtt.saturating_sub(pending);
            max_rtt = max_rtt.max(Some(feedback_rtt));
            min_rtt = Some(min_rtt.map_or(rtt, |m: Duration| m.min(rtt)));
        }
        if let Some(max_rtt) = max_rtt {
            self.feedback_max_rtts.push_back(max_rtt);
            if self.feedback_max_rtts.len() > MAX_FEEDBACK_RTT_WINDOW {
                self.feedback_max_rtts.pop_front();
            }
            let sum: Duration = self.feedback_max_rtts.iter().sum();
            self.delay_based
                .on_rtt_update(sum / self.feedback_max_rtts.len() as u32);
        }
        if let Some(rtt) = min_rtt {
            self.rtt = Some(rtt);
            self.loss_based.update_rtt(rtt);
        }
    }

    // ---- timers and output ---------------------------------------------------

    /// Runs the periodic loss-based update when due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_process {
            return;
        }
        self.loss_based.update_estimate(now);
        self.check_target();
        self.next_process = now + PROCESS_INTERVAL;
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_process)
    }

    /// The next event: a changed target, at most one per change.
    pub fn poll_event(&mut self) -> Option<GoogCcEvent> {
        if !self.event_pending {
            return None;
        }
        self.event_pending = false;
        Some(GoogCcEvent::TargetBitrate {
            bitrate_bps: self.target_bitrate(),
            pacing_rate_bps: self.pacing_rate(),
        })
    }

    fn check_target(&mut self) {
        let target = self.target_bitrate();
        if target != self.reported_target {
            self.reported_target = target;
            self.event_pending = true;
        }
    }
}
