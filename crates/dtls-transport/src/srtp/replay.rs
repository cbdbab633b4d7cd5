//! The replay window (RFC 3711 §3.3.2): a bitmask over the last `size` indices.

use crate::Error;

/// A sliding replay window over 64-bit packet indices (48-bit SRTP index or
/// 31-bit SRTCP index).
///
/// The bitmask is a ring of `words * 64 >= size` bits: index `i` owns bit
/// `i % capacity`. Bits are cleared as the highest index advances over them,
/// so a bit that is set always belongs to the index within the window that
/// maps to it. Allocated once per stream; checking and marking never allocate.
#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    /// Packets behind (and including) the highest index that are still accepted.
    size: u64,
    /// Highest index accepted so far; `None` before the first packet.
    highest: Option<u64>,
    bits: Box<[u64]>,
}

impl ReplayWindow {
    /// A window accepting indices within `size` of the highest (`size >= 1`).
    pub(crate) fn new(size: usize) -> ReplayWindow {
        let size = size.max(1);
        let words = size.div_ceil(64);
        ReplayWindow {
            size: size as u64,
            highest: None,
            bits: vec![0u64; words].into_boxed_slice(),
        }
    }

    fn capacity(&self) -> u64 {
        self.bits.len() as u64 * 64
    }

    /// The highest index accepted so far.
    pub(crate) fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Whether `index` would be accepted: newer than the highest, or within
    /// the window and not yet seen.
    pub(crate) fn check(&self, index: u64) -> Result<(), Error> {
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if index > highest {
            return Ok(());
        }
        if highest - index >= self.size {
            return Err(Error::Replayed);
        }
        let bit = index % self.capacity();
        if self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0 {
            Err(Error::Replayed)
        } else {
            Ok(())
        }
    }

    /// Marks `index` as received (call only after [`check`](Self::check) passed
    /// and the packet authenticated).
    pub(crate) fn mark(&mut self, index: u64) {
        let cap = self.capacity();
        match self.highest {
            None => {
                self.bits.fill(0);
                self.highest = Some(index);
            }
            Some(highest) if index > highest => {
                let delta = index - highest;
                if delta >= cap {
                    self.bits.fill(0);
                } else {
                    for i in highest + 1..index {
                        let bit = i % cap;
                        self.bits[(bit / 64) as usize] &= !(1 << (bit % 64));
                    }
                }
                self.highest = Some(index);
            }
            Some(_) => {}
        }
        let bit = index % cap;
        self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
    }

    /// Forgets everything (the next index is accepted and becomes the highest).
    pub(crate) fn reset(&mut self) {
        self.highest = None;
        self.bits.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_new_rejects_repeats_and_old() {
        let mut w = ReplayWindow::new(128);
        for i in [10u64, 12, 11, 200, 73, 199] {
            assert!(w.check(i).is_ok(), "{i}");
            w.mark(i);
            assert_eq!(w.check(i), Err(Error::Replayed), "{i} again");
        }
        // 200 - 72 = 128: outside a 128-packet window.
        assert_eq!(w.check(72), Err(Error::Replayed));
        assert!(w.check(74).is_ok());
        assert!(w.check(201).is_ok());
    }

    #[test]
    fn odd_sizes_and_big_jumps() {
        for size in [1usize, 2, 63, 64, 65, 100, 1000] {
            let mut w = ReplayWindow::new(size);
            w.mark(5);
            w.mark(5 + 10 * size as u64);
            let hi = 5 + 10 * size as u64;
            for back in 1..size as u64 {
                assert!(w.check(hi - back).is_ok(), "size {size} back {back}");
            }
            assert_eq!(w.check(hi - size as u64), Err(Error::Replayed));
            assert_eq!(w.check(hi), Err(Error::Replayed));
        }
    }

    /// Against a set-based model, over a random walk.
    #[test]
    fn matches_a_model() {
        use std::collections::BTreeSet;
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for size in [1usize, 64, 128, 200] {
            let mut w = ReplayWindow::new(size);
            let mut seen = BTreeSet::new();
            let mut highest: Option<u64> = None;
            let mut cursor = 1000u64;
            for _ in 0..20_000 {
                let r = rnd();
                let idx = match r % 4 {
                    0 => cursor + r % 3,
                    1 => cursor.saturating_sub(r % (size as u64 + 20)),
                    2 => cursor + (r >> 8) % 300,
                    _ => cursor.saturating_sub((r >> 8) % 5),
                };
                let expect_ok = match highest {
                    None => true,
                    Some(h) => idx > h || (h - idx < size as u64 && !seen.contains(&idx)),
                };
                assert_eq!(w.check(idx).is_ok(), expect_ok, "size {size} idx {idx}");
                if expect_ok {
                    w.mark(idx);
                    seen.insert(idx);
                    highest = Some(highest.map_or(idx, |h| h.max(idx)));
                    cursor = highest.unwrap_or(idx);
                }
            }
        }
    }
}
