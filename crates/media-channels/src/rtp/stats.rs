//! Reception statistics and timing for RTCP reports: RFC 3550 A.3 (packets
//! lost, fraction lost), A.8 (interarrival jitter), NTP timestamps in their
//! 64-bit and compact forms, round-trip time from LSR/DLSR, and the RTP ↔ NTP
//! mapping a sender report establishes.
//!
//! Nothing here reads a clock: arrival times and wall-clock times are passed in.
//!
//! ```
//! use std::time::Duration;
//! use media_channels::rtp::stats::{round_trip_time, CompactNtp, NtpTime};
//!
//! // We sent an SR at 1000.0 s (NTP); the peer held it 250 ms before its RR
//! // (DLSR), which arrived at 1000.3 s: 50 ms round trip.
//! let sent = NtpTime::from_unix(Duration::from_secs(1000));
//! let arrived = NtpTime::from_unix(Duration::from_millis(1_000_300));
//! let lsr = sent.compact().0;
//! let dlsr = CompactNtp::from_duration(Duration::from_millis(250)).0;
//! let rtt = round_trip_time(arrived.compact(), lsr, dlsr).unwrap();
//! assert!(rtt.abs_diff(Duration::from_millis(50)) < Duration::from_micros(50));
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::sequence::SequenceTracker;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Cumulative packets lost is a signed 24-bit field in a report block.
pub const CUMULATIVE_LOST_MAX: i32 = 0x7F_FFFF;
/// The smallest cumulative loss a report block can carry.
pub const CUMULATIVE_LOST_MIN: i32 = -0x80_0000;

/// One A.3 report: the numbers a report block's loss fields come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossReport {
    /// Packets expected since the start: extended highest − base + 1.
    pub expected: u64,
    /// Packets lost since the start: expected − received (negative with duplicates).
    pub lost: i64,
    /// `lost` clamped to the report block's signed 24 bits.
    pub cumulative_lost: i32,
    /// Packets expected in this interval.
    pub expected_interval: u64,
    /// Packets received in this interval.
    pub received_interval: u64,
    /// Fraction lost in this interval, in 1/256ths (0 when duplicates outnumber losses).
    pub fraction_lost: u8,
}

/// RFC 3550 A.3: remembers the previous report's counts so each report can
/// state the fraction lost since the last one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossCounter {
    expected_prior: u64,
    received_prior: u64,
}

impl LossCounter {
    /// A counter before its first report.
    pub fn new() -> LossCounter {
        LossCounter::default()
    }

    /// The report for `expected` packets expected and `received` received
    /// since the start; the next report's interval starts here.
    pub fn report(&mut self, expected: u64, received: u64) -> LossReport {
        let lost = expected as i64 - received as i64;
        let cumulative_lost = lost.clamp(
            i64::from(CUMULATIVE_LOST_MIN),
            i64::from(CUMULATIVE_LOST_MAX),
        ) as i32;
        // A restarted source can make the totals shrink; count that interval as empty.
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            (((lost_interval as u64) << 8) / expected_interval).min(255) as u8
        };
        LossReport {
            expected,
            lost,
            cumulative_lost,
            expected_interval,
            received_interval,
            fraction_lost,
        }
    }

    /// The report for what `tracker` has counted.
    pub fn report_for(&mut self, tracker: &SequenceTracker) -> LossReport {
        self.report(tracker.expected(), tracker.received())
    }
}

/// RFC 3550 A.8: the interarrival jitter estimate, in timestamp units, kept
/// as an integer scaled by 16 like the RFC's integer variant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterEstimator {
    transit: Option<u32>,
    jitter_q4: u64,
}

impl JitterEstimator {
    /// An estimator before its first packet.
    pub fn new() -> JitterEstimator {
        JitterEstimator::default()
    }

    /// Feeds one packet: its arrival time converted to the stream's timestamp
    /// units (any origin, wrapping; see [`rtp_ticks`]) and its RTP timestamp.
    /// Retransmissions should not be fed (their timestamps are old).
    pub fn update(&mut self, arrival: u32, rtp_timestamp: u32) {
        let transit = arrival.wrapping_sub(rtp_timestamp);
        if let Some(previous) = self.transit {
            let d = u64::from((transit.wrapping_sub(previous) as i32).unsigned_abs());
            // J += (|D| - J) / 16, with J scaled by 16.
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// The jitter estimate in timestamp units, as a report block carries it.
    pub fn jitter(&self) -> u32 {
        (self.jitter_q4 >> 4).min(u64::from(u32::MAX)) as u32
    }
}

/// `elapsed` in ticks of a `clock_rate` Hz media clock (rounded down).
pub fn rtp_ticks(elapsed: Duration, clock_rate: u32) -> u64 {
    (elapsed.as_nanos() * u128::from(clock_rate) / NANOS_PER_SEC) as u64
}

/// A 64-bit NTP timestamp (RFC 5905): seconds since 1900 in the high 32 bits,
/// the fraction of a second in the low 32.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
    pub const UNIX_EPOCH_OFFSET: u64 = 2_208_988_800;

    /// The timestamp with these seconds and fraction.
    pub fn new(seconds: u32, fraction: u32) -> NtpTime {
        NtpTime((u64::from(seconds) << 32) | u64::from(fraction))
    }

    /// Whole seconds (mod 2^32: era 0 ends in 2036).
    pub fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Fraction of a second in 1/2^32 s.
    pub fn fraction(self) -> u32 {
        self.0 as u32
    }

    /// The NTP time of `since_unix_epoch` after 1970 (seconds wrap into era 1 after 2036).
    pub fn from_unix(since_unix_epoch: Duration) -> NtpTime {
        let seconds = since_unix_epoch.as_secs() + Self::UNIX_EPOCH_OFFSET;
        let fraction = (u64::from(since_unix_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTime((seconds << 32).wrapping_add(fraction))
    }

    /// The NTP time of a wall-clock time (passed in; this crate reads no clock).
    /// Times before 1900 saturate to zero.
    pub fn from_system_time(time: SystemTime) -> NtpTime {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => NtpTime::from_unix(after),
            Err(e) => {
                let before = e.duration();
                let units = (before.as_nanos() << 32) / NANOS_PER_SEC;
                let epoch = u128::from(Self::UNIX_EPOCH_OFFSET) << 32;
                NtpTime(epoch.saturating_sub(units) as u64)
            }
        }
    }

    /// The time since the Unix epoch, reading seconds below 2^31 as era 1
    /// (2036–2104, RFC 4330 §3); `None` for times before 1970.
    pub fn to_unix(self) -> Option<Duration> {
        let mut seconds = u64::from(self.seconds());
        if seconds < 0x8000_0000 {
            seconds += 1 << 32;
        }
        let seconds = seconds.checked_sub(Self::UNIX_EPOCH_OFFSET)?;
        let nanos = (u64::from(self.fraction()) * 1_000_000_000) >> 32;
        Some(Duration::new(seconds, nanos as u32))
    }

    /// The middle 32 bits, as LSR and RTT computations use them.
    pub fn compact(self) -> CompactNtp {
        CompactNtp((self.0 >> 16) as u32)
    }
}

/// The "compact" NTP format: the middle 32 bits of an [`NtpTime`], 16.16 fixed
/// point seconds (LSR, DLSR, RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompactNtp(pub u32);

impl CompactNtp {
    /// A duration in 1/65 536 s, saturating at 65 536 s (for DLSR).
    pub fn from_duration(d: Duration) -> CompactNtp {
        let units = (d.as_nanos() << 16) / NANOS_PER_SEC;
        CompactNtp(units.min(u128::from(u32::MAX)) as u32)
    }

    /// The value as a duration.
    pub fn to_duration(self) -> Duration {
        let nanos = (u64::from(self.0) * 1_000_000_000) >> 16;
        Duration::from_nanos(nanos)
    }
}

/// Round-trip time from a report block (RFC 3550 §6.4.1): `arrival` − LSR −
/// DLSR, all compact NTP. `None` when LSR is 0 (no sender report received
/// yet); a negative result (clock drift, a forged DLSR) comes out as zero.
pub fn round_trip_time(arrival: CompactNtp, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let rtt = arrival.0.wrapping_sub(lsr).wrapping_sub(dlsr);
    if rtt >= 0x8000_0000 {
        return Some(Duration::ZERO);
    }
    Some(CompactNtp(rtt).to_duration())
}

/// The correspondence between a stream's RTP timestamps and wall-clock (NTP)
/// time that a sender report states: `rtp` was the media time at `ntp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpNtpMapping {
    /// Wall-clock time of the reference point.
    pub ntp: NtpTime,
    /// RTP timestamp of the reference point.
    pub rtp: u32,
    /// The media clock rate in Hz.
    pub clock_rate: u32,
}

impl RtpNtpMapping {
    /// The wall-clock time of RTP timestamp `rtp`, within ±2^31 ticks of the reference.
    pub fn ntp_at(&self, rtp: u32) -> NtpTime {
        if self.clock_rate == 0 {
            return self.ntp;
        }
        let ticks = i128::from(rtp.wrapping_sub(self.rtp) as i32);
        let delta = (ticks << 32).div_euclid(i128::from(self.clock_rate));
        NtpTime((i128::from(self.ntp.0) + delta) as u64)
    }

    /// The RTP timestamp at wall-clock time `ntp` (how a sender fills an SR's
    /// RTP timestamp for the moment it sends it).
    pub fn rtp_at(&self, ntp: NtpTime) -> u32 {
        let delta = i128::from(ntp.0.wrapping_sub(self.ntp.0) as i64);
        let ticks = (delta * i128::from(self.clock_rate)).div_euclid(1 << 32);
        self.rtp.wrapping_add(ticks as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a3_fraction_and_clamp() {
        let mut c = LossCounter::new();
        // 100 expected, 90 received: 10 lost, 10/100 of 256 = 25.
        let r = c.report(100, 90);
        assert_eq!(r.lost, 10);
        assert_eq!(r.cumulative_lost, 10);
        assert_eq!(r.fraction_lost, 25);
        // Next interval: 100 more expected, 100 more received: none lost now.
        let r = c.report(200, 190);
        assert_eq!(r.expected_interval, 100);
        assert_eq!(r.fraction_lost, 0);
        assert_eq!(r.cumulative_lost, 10);
        // Duplicates: more received than expected.
        let r = c.report(210, 205);
        assert_eq!(r.fraction_lost, 0);
        assert_eq!(r.lost, 5);
        let r = LossCounter::new().report(10, 20);
        assert_eq!(r.lost, -10);
        assert_eq!(r.cumulative_lost, -10);
        // Clamped to 24 bits.
        assert_eq!(
            LossCounter::new().report(1 << 30, 0).cumulative_lost,
            CUMULATIVE_LOST_MAX
        );
        assert_eq!(
            LossCounter::new().report(0, 1 << 30).cumulative_lost,
            CUMULATIVE_LOST_MIN
        );
        // Everything lost in an interval saturates at 255.
        let mut c = LossCounter::new();
        c.report(10, 10);
        assert_eq!(c.report(20, 10).fraction_lost, 255);
    }

    #[test]
    fn a3_with_tracker() {
        let mut t = SequenceTracker::new(0);
        for s in (0u16..100).filter(|s| s % 10 != 3) {
            t.update(s);
        }
        let r = LossCounter::new().report_for(&t);
        assert_eq!(r.expected, 100);
        assert_eq!(r.lost, 10);
        assert_eq!(r.fraction_lost, 25);
    }

    #[test]
    fn a8_jitter() {
        // Constant transit: no jitter.
        let mut j = JitterEstimator::new();
        for i in 0..10u32 {
            j.update(1000 + i * 160, i * 160);
        }
        assert_eq!(j.jitter(), 0);
        // Transit alternating between 0 and 160 ticks: |D| is 160 at every
        // step, so J converges to 160.
        let mut j = JitterEstimator::new();
        for i in 0..500u32 {
            let wobble = if i % 2 == 0 { 0 } else { 160 };
            j.update(i * 160 + wobble, i * 160);
        }
        assert!((155..=160).contains(&j.jitter()), "{}", j.jitter());
        // Wrapping arrival and timestamps do not disturb it.
        let mut j = JitterEstimator::new();
        j.update(u32::MAX - 10, u32::MAX - 100);
        j.update(150, 60);
        assert_eq!(j.jitter(), 0);
    }

    #[test]
    fn ticks() {
        assert_eq!(rtp_ticks(Duration::from_millis(20), 48_000), 960);
        assert_eq!(rtp_ticks(Duration::from_secs(1), 90_000), 90_000);
    }

    #[test]
    fn ntp_conversions() {
        // 1970-01-01 is NTP second 2 208 988 800.
        assert_eq!(NtpTime::from_unix(Duration::ZERO).seconds(), 2_208_988_800);
        let t = NtpTime::from_unix(Duration::new(1_700_000_000, 500_000_000));
        assert_eq!(t.fraction(), 0x8000_0000);
        assert_eq!(t.to_unix(), Some(Duration::new(1_700_000_000, 500_000_000)));
        // Era 1: after 2036-02-07 the seconds wrap; to_unix reads them back.
        let after_2036 = Duration::from_secs(2_200_000_000);
        let t = NtpTime::from_unix(after_2036);
        assert!(t.seconds() < 0x8000_0000);
        assert_eq!(t.to_unix(), Some(after_2036));
        assert_eq!(
            NtpTime::from_system_time(UNIX_EPOCH + Duration::from_secs(5)),
            NtpTime::from_unix(Duration::from_secs(5))
        );
        assert_eq!(
            NtpTime::from_system_time(UNIX_EPOCH - Duration::from_secs(5)).seconds(),
            2_208_988_795
        );
        assert_eq!(NtpTime::new(1, 2), NtpTime((1 << 32) | 2));
        // RFC 3550 §6.4.1's example: NTP 0xb44db705:20000000 is LSR 0xb7052000
        // (the low 16 bits of the seconds, the high 16 of the fraction).
        assert_eq!(
            NtpTime::new(0xb44d_b705, 0x2000_0000).compact(),
            CompactNtp(0xb705_2000)
        );
    }

    #[test]
    fn compact_ntp() {
        assert_eq!(
            CompactNtp::from_duration(Duration::from_millis(500)),
            CompactNtp(0x8000)
        );
        assert_eq!(
            CompactNtp(0x0001_8000).to_duration(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            CompactNtp::from_duration(Duration::from_secs(1 << 20)),
            CompactNtp(u32::MAX)
        );
    }

    #[test]
    fn rtt_rfc3550_example() {
        // RFC 3550 §6.4.1 figure 2: LSR 0xb705:2000 (46853.125 s), DLSR
        // 0x0005:4000 (5.25 s), arrival 0xb710:8000 (46864.500 s): delay 6.125 s.
        let rtt = round_trip_time(CompactNtp(0xb710_8000), 0xb705_2000, 0x0005_4000).unwrap();
        assert_eq!(rtt, Duration::from_millis(6125));
        assert_eq!(round_trip_time(CompactNtp(5), 0, 0), None);
        // DLSR larger than the elapsed time: zero, not a huge wrap.
        assert_eq!(
            round_trip_time(CompactNtp(0x10_0000), 0x0F_0000, 0x2_0000),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn rtp_ntp_mapping() {
        let m = RtpNtpMapping {
            ntp: NtpTime::from_unix(Duration::from_secs(1000)),
            rtp: u32::MAX - 47_999,
            clock_rate: 48_000,
        };
        // One second later the RTP clock has wrapped past zero.
        let later = NtpTime::from_unix(Duration::from_secs(1001));
        assert_eq!(m.rtp_at(later), 0);
        assert_eq!(m.ntp_at(0), later);
        // And backwards.
        let earlier = NtpTime::from_unix(Duration::from_millis(999_500));
        assert_eq!(m.rtp_at(earlier), u32::MAX - 47_999 - 24_000);
        assert_eq!(m.ntp_at(u32::MAX - 47_999 - 24_000), earlier);
    }
}
