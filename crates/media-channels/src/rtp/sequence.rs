//! Unwrapping RTP's wrapping counters, and RFC 3550 A.1's sequence validation.
//!
//! [`SequenceUnwrapper`] and [`TimestampUnwrapper`] extend 16-bit sequence
//! numbers and 32-bit timestamps to 64 bits by taking, for each new value,
//! the extension closest to the highest value seen so far: a packet up to
//! half the range older than the highest is placed before it (reordering
//! across the wrap works in both directions), anything else after it.
//!
//! ```
//! use media_channels::rtp::sequence::SequenceUnwrapper;
//!
//! let mut u = SequenceUnwrapper::new();
//! assert_eq!(u.unwrap(65534), Some(65534));
//! assert_eq!(u.unwrap(1), Some(65537)); // wrapped forward
//! assert_eq!(u.unwrap(65535), Some(65535)); // late packet from before the wrap
//! assert_eq!(u.unwrap(2), Some(65538));
//! ```
//!
//! [`SequenceTracker`] is RFC 3550 appendix A.1's `update_seq`: probation
//! for new sources, the cycle count, restarts after a large jump, and the
//! counts that A.3's loss report needs.

macro_rules! unwrapper {
    ($(#[$doc:meta])* $name:ident, $raw:ty, $signed:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name {
            highest: Option<i64>,
        }

        impl $name {
            /// An unwrapper that has seen nothing.
            pub fn new() -> Self {
                Self { highest: None }
            }

            /// The extended value of `value`, and the highest becomes it when it
            /// is newer. The first value keeps its own number; values older than
            /// it across a wrap come out negative.
            pub fn unwrap_signed(&mut self, value: $raw) -> i64 {
                let extended = match self.highest {
                    None => i64::from(value),
                    Some(highest) => {
                        // Reinterpreting the wrapped difference as signed picks
                        // the nearest extension; exactly half the range counts as older.
                        let delta = value.wrapping_sub(highest as $raw) as $signed;
                        highest + i64::from(delta)
                    }
                };
                if self.highest.is_none_or(|h| extended > h) {
                    self.highest = Some(extended);
                }
                extended
            }

            /// The extended value of `value`, or `None` when it falls before
            /// zero (older than the first value seen, across a wrap).
            pub fn unwrap(&mut self, value: $raw) -> Option<u64> {
                u64::try_from(self.unwrap_signed(value)).ok()
            }

            /// The highest extended value seen so far.
            pub fn highest(&self) -> Option<i64> {
                self.highest
            }
        }
    };
}

unwrapper!(
    /// Extends 16-bit RTP sequence numbers to 64 bits, tolerating reordering
    /// of up to 32 767 packets around the wrap.
    SequenceUnwrapper,
    u16,
    i16
);

unwrapper!(
    /// Extends 32-bit RTP timestamps to 64 bits, tolerating values up to
    /// 2^31 ticks older than the newest.
    TimestampUnwrapper,
    u32,
    i32
);

/// RFC 3550 A.1: a source may jump ahead by fewer packets than this and still be in sequence.
pub const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: a packet up to this many behind the highest is taken as reordered.
pub const MAX_MISORDER: u16 = 100;

/// What [`SequenceTracker::update`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceUpdate {
    /// In sequence (or reordered within bounds): count it.
    Valid,
    /// The source is still on probation; the packet is not counted yet.
    Probation,
    /// A large jump: ignored until the next packet confirms it (then the
    /// tracker restarts at it).
    Bad,
}

/// RFC 3550 appendix A.1's per-source sequence state (`init_seq` /
/// `update_seq`), with 64-bit cycle counting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceTracker {
    min_sequential: u32,
    started: bool,
    max_seq: u16,
    /// Shifted count of sequence number cycles (a multiple of 65 536).
    cycles: u64,
    base_seq: u16,
    /// Last 'bad' sequence number + 1; 65 536 (out of range) when none.
    bad_seq: u32,
    probation: u32,
    received: u64,
}

impl SequenceTracker {
    /// A tracker that needs `min_sequential` packets in sequence before it
    /// accepts a new source (RFC 3550 uses 2; 0 or 1 accepts the first packet,
    /// which suits SRTP, where every packet is authenticated).
    pub fn new(min_sequential: u32) -> SequenceTracker {
        SequenceTracker {
            min_sequential,
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 1 << 16,
            probation: 0,
            received: 0,
        }
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq;
        self.max_seq = seq;
        self.bad_seq = 1 << 16;
        self.cycles = 0;
        self.received = 0;
    }

    /// Feeds the sequence number of a received packet.
    pub fn update(&mut self, seq: u16) -> SequenceUpdate {
        if !self.started {
            self.started = true;
            if self.min_sequential <= 1 {
                self.init_seq(seq);
                self.received = 1;
                return SequenceUpdate::Valid;
            }
            // A.1: init_seq(seq); max_seq = seq - 1; probation = MIN_SEQUENTIAL.
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = self.min_sequential;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SequenceUpdate::Valid;
                }
            } else {
                self.probation = self.min_sequential - 1;
                self.max_seq = seq;
            }
            return SequenceUpdate::Probation;
        }
        if udelta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += 1 << 16;
            }
            self.max_seq = seq;
        } else if udelta <= u16::MAX - MAX_MISORDER + 1 {
            // A very large jump.
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets: the source restarted without telling us.
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & 0xFFFF;
                return SequenceUpdate::Bad;
            }
        }
        // Otherwise a duplicate or reordered packet: counted, max unchanged.
        self.received += 1;
        SequenceUpdate::Valid
    }

    /// Packets counted as received since the tracker (re)started.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The first sequence number counted, extended (cycle 0).
    pub fn base_seq(&self) -> u64 {
        u64::from(self.base_seq)
    }

    /// The extended highest sequence number: cycles plus the highest seen.
    pub fn extended_highest(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    /// The 32-bit extended highest sequence number a report block carries.
    pub fn extended_highest_u32(&self) -> u32 {
        self.extended_highest() as u32
    }

    /// Packets expected: extended highest − base + 1 (A.3).
    pub fn expected(&self) -> u64 {
        (self.extended_highest() + 1).saturating_sub(self.base_seq())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_both_ways() {
        let mut u = SequenceUnwrapper::new();
        assert_eq!(u.unwrap(10), Some(10));
        assert_eq!(u.unwrap(9), Some(9));
        assert_eq!(u.highest(), Some(10));
        // Older than the first, across the wrap: below zero.
        assert_eq!(u.unwrap(65535), None);
        assert_eq!(u.unwrap_signed(65535), -1);
        assert_eq!(u.highest(), Some(10));
        // Forward through 32 767 steps at a time.
        let mut expected: i64 = 10;
        let mut seq: u16 = 10;
        for _ in 0..10 {
            seq = seq.wrapping_add(32_767);
            expected += 32_767;
            assert_eq!(u.unwrap_signed(seq), expected);
        }
        // Exactly half the range counts as older.
        let h = u.highest().unwrap();
        assert_eq!(u.unwrap_signed((h as u16).wrapping_add(32_768)), h - 32_768);
    }

    #[test]
    fn reordering_near_the_wrap() {
        let mut u = SequenceUnwrapper::new();
        let arrivals = [65533u16, 65535, 0, 65534, 2, 1, 3];
        let got: Vec<_> = arrivals.iter().map(|&s| u.unwrap(s).unwrap()).collect();
        assert_eq!(got, [65533, 65535, 65536, 65534, 65538, 65537, 65539]);
    }

    #[test]
    fn timestamps() {
        let mut u = TimestampUnwrapper::new();
        assert_eq!(u.unwrap(u32::MAX - 100), Some(u64::from(u32::MAX) - 100));
        assert_eq!(u.unwrap(50), Some(u64::from(u32::MAX) + 51));
        assert_eq!(u.unwrap(u32::MAX - 10), Some(u64::from(u32::MAX) - 10));
        let mut u = TimestampUnwrapper::new();
        assert_eq!(u.unwrap_signed(5), 5);
        assert_eq!(u.unwrap_signed(u32::MAX), -1);
    }

    #[test]
    fn tracker_probation() {
        let mut t = SequenceTracker::new(2);
        assert_eq!(t.update(100), SequenceUpdate::Probation);
        assert_eq!(t.update(101), SequenceUpdate::Valid);
        assert_eq!(t.base_seq(), 101);
        assert_eq!(t.received(), 1);
        // A break during probation starts it again.
        let mut t = SequenceTracker::new(2);
        assert_eq!(t.update(100), SequenceUpdate::Probation);
        assert_eq!(t.update(200), SequenceUpdate::Probation);
        assert_eq!(t.update(201), SequenceUpdate::Valid);
        assert_eq!(t.base_seq(), 201);
    }

    #[test]
    fn tracker_cycles_and_loss_counts() {
        let mut t = SequenceTracker::new(0);
        assert_eq!(t.update(65530), SequenceUpdate::Valid);
        for s in [65531u16, 65533, 0, 2, 65532] {
            assert_eq!(t.update(s), SequenceUpdate::Valid);
        }
        // 65530..=65538 expected (9), 6 received; 65532 came late.
        assert_eq!(t.extended_highest(), 65538);
        assert_eq!(t.expected(), 9);
        assert_eq!(t.received(), 6);
        assert_eq!(t.extended_highest_u32(), 65538);
    }

    #[test]
    fn tracker_restart_after_jump() {
        let mut t = SequenceTracker::new(1);
        t.update(10);
        t.update(11);
        // A jump of 20 000: bad, then confirmed by the next in sequence.
        assert_eq!(t.update(20_011), SequenceUpdate::Bad);
        assert_eq!(t.update(20_012), SequenceUpdate::Valid);
        assert_eq!(t.base_seq(), 20_012);
        assert_eq!(t.received(), 1);
        // A duplicate well within MAX_MISORDER is counted without moving max.
        assert_eq!(t.update(20_012), SequenceUpdate::Valid);
        assert_eq!(t.extended_highest(), 20_012);
        assert_eq!(t.received(), 2);
    }
}
