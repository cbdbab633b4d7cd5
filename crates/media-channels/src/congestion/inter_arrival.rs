//! Packet groups and their deltas (libwebrtc's InterArrivalDelta,
//! draft-ietf-rmcat-gcc-02 §5.2).
//!
//! Packets sent within [`SEND_TIME_GROUP_LENGTH`] (5 ms) of a group's first
//! packet form one group; so does a burst that arrives faster than it was
//! sent (the network queued it: arrival spacing at most
//! [`BURST_DELTA_THRESHOLD`] while shrinking, for at most
//! [`MAX_BURST_DURATION`]). When a packet opens a new group, the group before
//! it is complete, and the deltas between the last two complete groups come
//! out: send time of the last packet, arrival time of the last packet, and
//! size.
//!
//! Times are microseconds: send times on our clock, arrival times on the
//! peer's, `system` our clock when the feedback was processed (to notice an
//! arrival-time jump). Reordered groups are skipped; three in a row, or an
//! arrival clock that jumps [`ARRIVAL_TIME_OFFSET_THRESHOLD`] ahead of ours,
//! start over.

use std::time::Duration;

/// Send-time span of one group (libwebrtc's `kSendTimeGroupLength`).
pub const SEND_TIME_GROUP_LENGTH: Duration = Duration::from_millis(5);
/// Arrival spacing under which a queued burst stays one group.
pub const BURST_DELTA_THRESHOLD: Duration = Duration::from_millis(5);
/// Longest burst kept as one group.
pub const MAX_BURST_DURATION: Duration = Duration::from_millis(100);
/// Reordered groups in a row that reset the state.
pub const REORDERED_RESET_THRESHOLD: u32 = 3;
/// An arrival-clock jump beyond ours of this much resets the state.
pub const ARRIVAL_TIME_OFFSET_THRESHOLD: Duration = Duration::from_secs(3);

fn us(d: Duration) -> i64 {
    d.as_micros() as i64
}

#[derive(Debug, Clone, Copy)]
struct Group {
    size: usize,
    first_send: i64,
    send: i64,
    first_arrival: i64,
    complete: i64,
    last_system: i64,
}

/// Deltas between two consecutive complete groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupDeltas {
    /// Between the groups' last send times, µs.
    pub send_delta_us: i64,
    /// Between the groups' last arrival times, µs.
    pub arrival_delta_us: i64,
    /// Between the groups' sizes, bytes.
    pub size_delta: i64,
}

/// The grouping state; see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct InterArrival {
    current: Option<Group>,
    prev: Option<Group>,
    reordered: u32,
}

impl InterArrival {
    /// No packets seen.
    pub fn new() -> InterArrival {
        InterArrival::default()
    }

    /// Forgets every group.
    pub fn reset(&mut self) {
        *self = InterArrival::default();
    }

    /// Adds one packet (in arrival order); returns the deltas when it
    /// completed a group and a previous complete group exists.
    pub fn compute_deltas(
        &mut self,
        send_us: i64,
        arrival_us: i64,
        system_us: i64,
        size: usize,
    ) -> Option<GroupDeltas> {
        let mut deltas = None;
        let Some(current) = self.current.as_mut() else {
            self.current = Some(Group {
                size,
                first_send: send_us,
                send: send_us,
                first_arrival: arrival_us,
                complete: arrival_us,
                last_system: system_us,
            });
            return None;
        };
        if current.first_send > send_us {
            return None; // Reordered packet.
        }
        if new_group(current, arrival_us, send_us) {
            let current = *current;
            if let Some(prev) = self.prev {
                let send_delta_us = current.send - prev.send;
                let arrival_delta_us = current.complete - prev.complete;
                let system_delta_us = current.last_system - prev.last_system;
                if arrival_delta_us - system_delta_us >= us(ARRIVAL_TIME_OFFSET_THRESHOLD) {
                    self.reset();
                    return None;
                }
                if arrival_delta_us < 0 {
                    self.reordered += 1;
                    if self.reordered >= REORDERED_RESET_THRESHOLD {
                        self.reset();
                    }
                    return None;
                }
                self.reordered = 0;
                deltas = Some(GroupDeltas {
                    send_delta_us,
                    arrival_delta_us,
                    size_delta: current.size as i64 - prev.size as i64,
                });
            }
            self.prev = Some(current);
            self.current = Some(Group {
                size: 0,
                first_send: send_us,
                send: send_us,
                first_arrival: arrival_us,
                complete: arrival_us,
                last_system: system_us,
            });
        } else {
            current.send = current.send.max(send_us);
        }
        if let Some(current) = self.current.as_mut() {
            current.size += size;
            current.complete = arrival_us;
            current.last_system = system_us;
        }
        deltas
    }
}

/// The packet opens a new group.
fn new_group(current: &Group, arrival_us: i64, send_us: i64) -> bool {
    !belongs_to_burst(current, arrival_us, send_us)
        && send_us - current.first_send > us(SEND_TIME_GROUP_LENGTH)
}

/// The packet arrived in a burst with the current group: it left later than
/// the group but the network delivered it right after.
fn belongs_to_burst(current: &Group, arrival_us: i64, send_us: i64) -> bool {
    let arrival_delta = arrival_us - current.complete;
    let send_delta = send_us - current.send;
    if send_delta == 0 {
        return true;
    }
    let propagation_delta = arrival_delta - send_delta;
    propagation_delta < 0
        && arrival_delta <= us(BURST_DELTA_THRESHOLD)
        && arrival_us - current.first_arrival < us(MAX_BURST_DURATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_send_time() {
        let mut ia = InterArrival::new();
        // Group A: sent 0..4 ms; group B: sent 20..24 ms; C at 40 ms closes B.
        assert_eq!(ia.compute_deltas(0, 100_000, 0, 100), None);
        assert_eq!(ia.compute_deltas(4_000, 104_000, 0, 100), None);
        assert_eq!(ia.compute_deltas(20_000, 121_000, 0, 100), None); // closes A
        assert_eq!(ia.compute_deltas(24_000, 126_000, 0, 300), None);
        let d = ia.compute_deltas(40_000, 141_000, 0, 100).unwrap(); // closes B
        assert_eq!(
            d,
            GroupDeltas {
                send_delta_us: 20_000,
                arrival_delta_us: 22_000,
                size_delta: 200
            }
        );
    }

    #[test]
    fn queued_burst_is_one_group() {
        let mut ia = InterArrival::new();
        ia.compute_deltas(0, 50_000, 0, 100);
        // Sent 10 ms later but arrived 1 ms after: queued behind the first.
        ia.compute_deltas(10_000, 51_000, 0, 100);
        ia.compute_deltas(30_000, 80_000, 0, 100); // closes the burst group
        let d = ia.compute_deltas(60_000, 110_000, 0, 100).unwrap();
        assert_eq!(d.send_delta_us, 20_000);
        assert_eq!(d.arrival_delta_us, 29_000);
        assert_eq!(d.size_delta, -100);
    }

    #[test]
    fn reordering_and_clock_jumps() {
        let mut ia = InterArrival::new();
        ia.compute_deltas(0, 0, 0, 1);
        ia.compute_deltas(10_000, 10_000, 0, 1);
        // A packet sent before the current group: ignored.
        assert_eq!(ia.compute_deltas(5_000, 11_000, 0, 1), None);
        assert!(ia.compute_deltas(20_000, 20_000, 0, 1).is_some());
        // The arrival clock jumps 5 s while ours does not: the group after
        // the jump shows it, and everything starts over.
        assert!(ia.compute_deltas(30_000, 5_030_000, 0, 1).is_some());
        assert_eq!(ia.compute_deltas(40_000, 5_040_000, 0, 1), None);
        assert!(ia.prev.is_none());
    }
}
