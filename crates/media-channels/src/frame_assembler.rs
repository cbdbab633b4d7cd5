//! The receive-side jitter buffer of one RTP stream: packets in (any order,
//! duplicates already dropped), whole encoded frames out, in order
//! (libwebrtc's video PacketBuffer and the frame-completion half of its
//! FrameBuffer, for audio and video alike).
//!
//! A frame is a run of consecutive sequence numbers that starts with a
//! payload the depacketizer calls a frame start and ends with one it calls a
//! frame end (the marker bit for most formats), every packet present. Frames
//! come out in sequence order. When the next frame is incomplete the
//! assembler waits for the missing packets (NACK and RTX may bring them) up
//! to [`AssemblerConfig::max_wait`]; then, or after the shorter
//! [`AssemblerConfig::keyframe_wait`] when a complete keyframe follows, it
//! skips past the gap and the next frame it delivers is
//! marked [`AssembledFrame::after_loss`]. A video decoder can only continue
//! after a loss from a keyframe: [`FrameAssembler::needs_keyframe`] says when
//! one must be asked for (PLI/FIR).
//!
//! Bounded: at most [`AssemblerConfig::max_packets`] packets are held; beyond
//! it everything before the newest frame start is dropped.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::packetizer::{AnyDepacketizer, Depacketizer};

/// How long a [`FrameAssembler`] waits and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssemblerConfig {
    /// How long to wait for a missing packet before giving up on its frame.
    pub max_wait: Duration,
    /// How long to wait for it when a complete keyframe already follows (a
    /// retransmission may still come; the keyframe lets decoding go on
    /// without it).
    pub keyframe_wait: Duration,
    /// Most packets held.
    pub max_packets: usize,
}

impl AssemblerConfig {
    /// Video: wait up to 250 ms (a few NACK round trips), 100 ms when
    /// a complete keyframe follows; hold 2,048 packets.
    pub fn video() -> AssemblerConfig {
        AssemblerConfig {
            max_wait: Duration::from_millis(250),
            keyframe_wait: Duration::from_millis(100),
            max_packets: 2048,
        }
    }

    /// Audio: every packet is a frame; wait 40 ms for a reordered packet
    /// (20 ms once later ones are there), hold 256.
    pub fn audio() -> AssemblerConfig {
        AssemblerConfig {
            max_wait: Duration::from_millis(40),
            keyframe_wait: Duration::from_millis(20),
            max_packets: 256,
        }
    }
}

/// One reassembled frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledFrame {
    /// The frame's RTP timestamp.
    pub rtp_timestamp: u32,
    /// The encoded frame.
    pub data: Bytes,
    /// It can be decoded without earlier frames.
    pub keyframe: bool,
    /// Frames before it were lost (skipped).
    pub after_loss: bool,
    /// Extended sequence numbers of its first and last packets.
    pub sequence_range: (u64, u64),
    /// When its last packet arrived.
    pub completed_at: Instant,
}

#[derive(Debug, Clone)]
struct Held {
    timestamp: u32,
    marker: bool,
    payload: Bytes,
    arrival: Instant,
    /// A sequence number that carries no media (FEC, padding): skipped.
    filler: bool,
}

/// The jitter buffer of one stream; see the [module docs](self).
#[derive(Debug)]
pub struct FrameAssembler {
    depacketizer: AnyDepacketizer,
    config: AssemblerConfig,
    packets: BTreeMap<u64, Held>,
    /// The first sequence number of the next frame to deliver (after the
    /// last delivered frame's end).
    next: Option<u64>,
    /// Since when the frame at `next` has been waited for.
    waiting_since: Option<Instant>,
    after_loss: bool,
    /// Keyframe needed: a gap was skipped and no keyframe came since.
    needs_keyframe: bool,
    frame: BytesMut,
    dropped_frames: u64,
}

impl FrameAssembler {
    /// An assembler for the payloads `depacketizer` understands.
    pub fn new(depacketizer: AnyDepacketizer, config: AssemblerConfig) -> FrameAssembler {
        FrameAssembler {
            depacketizer,
            config,
            packets: BTreeMap::new(),
            next: None,
            waiting_since: None,
            after_loss: false,
            needs_keyframe: false,
            frame: BytesMut::new(),
            dropped_frames: 0,
        }
    }

    /// Adds a packet (its extended sequence number, RTP timestamp, marker
    /// bit and payload) that arrived at `now`.
    pub fn insert(&mut self, now: Instant, seq: u64, timestamp: u32, marker: bool, payload: Bytes) {
        if self.next.is_some_and(|n| seq < n) {
            return; // late: its frame was delivered or skipped
        }
        self.packets.insert(
            seq,
            Held {
                timestamp,
                marker,
                payload,
                arrival: now,
                filler: false,
            },
        );
        if self.packets.len() > self.config.max_packets {
            self.overflow();
        }
    }

    /// Records that sequence number `seq` carried no media (ULPFEC, padding),
    /// so that no frame waits for it.
    pub fn insert_filler(&mut self, now: Instant, seq: u64) {
        if self.next.is_some_and(|n| seq < n) {
            return;
        }
        self.packets.insert(
            seq,
            Held {
                timestamp: 0,
                marker: false,
                payload: Bytes::new(),
                arrival: now,
                filler: true,
            },
        );
        if self.packets.len() > self.config.max_packets {
            self.overflow();
        }
    }

    /// Whether `p` begins a frame (fillers never do).
    fn starts_frame(&self, p: &Held) -> bool {
        !p.filler && self.depacketizer.is_frame_start(&p.payload)
    }

    /// Too much held: keep only from the newest frame start on.
    fn overflow(&mut self) {
        let start = self
            .packets
            .iter()
            .rev()
            .find(|(_, p)| self.starts_frame(p))
            .map(|(&s, _)| s);
        tracing::debug!(
            held = self.packets.len(),
            "jitter buffer full: dropping old packets"
        );
        match start {
            Some(s) => {
                self.packets = self.packets.split_off(&s);
                self.skip_to(s);
            }
            None => {
                self.packets.clear();
                self.next = None;
                self.after_loss = true;
                self.needs_keyframe = true;
            }
        }
    }

    /// Gives up on everything before `seq`.
    fn skip_to(&mut self, seq: u64) {
        self.packets = self.packets.split_off(&seq);
        self.next = Some(seq);
        self.waiting_since = None;
        self.after_loss = true;
        self.needs_keyframe = true;
        self.dropped_frames += 1;
    }

    /// The complete frame starting at `start`: its last sequence number.
    fn complete_from(&self, start: u64) -> Option<u64> {
        let first = self.packets.get(&start)?;
        if !self.starts_frame(first) {
            return None;
        }
        let mut seq = start;
        loop {
            let p = self.packets.get(&seq)?;
            if p.filler || p.timestamp != first.timestamp {
                return None;
            }
            if self.depacketizer.is_frame_end(&p.payload, p.marker) {
                return Some(seq);
            }
            seq += 1;
        }
    }

    /// The next frame ready at `now`, if any.
    pub fn poll_frame(&mut self, now: Instant) -> Option<AssembledFrame> {
        loop {
            // Fillers where the next frame should start are passed over.
            while let Some(n) = self.next {
                if !self.packets.get(&n).is_some_and(|p| p.filler) {
                    break;
                }
                self.packets.remove(&n);
                self.next = Some(n + 1);
                self.waiting_since = None;
            }
            let next = match self.next {
                Some(n) => n,
                None => {
                    // The first frame: from the first packet that starts one.
                    let start = self
                        .packets
                        .iter()
                        .find(|(_, p)| self.starts_frame(p))
                        .map(|(&s, _)| s)?;
                    self.packets = self.packets.split_off(&start);
                    self.next = Some(start);
                    start
                }
            };
            if let Some(end) = self.complete_from(next) {
                match self.assemble(next, end) {
                    Some(frame) => return Some(frame),
                    None => continue, // undecodable: skipped, try the next
                }
            }
            // The next frame is not complete: wait for it, unless a complete
            // keyframe follows or the wait is over.
            let since = *self.waiting_since.get_or_insert(now);
            let later = self.later_complete_frame(next);
            let waited = now.saturating_duration_since(since);
            match later {
                Some((start, keyframe))
                    if waited >= self.config.max_wait
                        || (keyframe && waited >= self.config.keyframe_wait) =>
                {
                    self.skip_to(start);
                }
                _ => return None,
            }
        }
    }

    /// The first complete frame after `next`: its start and whether it is a keyframe.
    fn later_complete_frame(&self, next: u64) -> Option<(u64, bool)> {
        self.packets
            .range(next + 1..)
            .filter(|(_, p)| self.starts_frame(p))
            .find_map(|(&s, _)| {
                self.complete_from(s)
                    .map(|_| (s, self.is_keyframe_start(s)))
            })
    }

    /// Whether the frame starting at `start` is a keyframe (depacketized to find out).
    fn is_keyframe_start(&self, start: u64) -> bool {
        let Some(end) = self.complete_from(start) else {
            return false;
        };
        let mut d = AnyDepacketizer::new(self.depacketizer.codec());
        let mut scratch = BytesMut::new();
        d.depacketize(
            self.packets.range(start..=end).map(|(_, p)| &p.payload[..]),
            &mut scratch,
        )
        .is_ok_and(|info| info.keyframe)
    }

    fn assemble(&mut self, start: u64, end: u64) -> Option<AssembledFrame> {
        let tail = self.packets.split_off(&(end + 1));
        let frame_packets = std::mem::replace(&mut self.packets, tail);
        self.next = Some(end + 1);
        self.waiting_since = None;
        let first = frame_packets.get(&start)?;
        let (timestamp, completed_at) = (
            first.timestamp,
            frame_packets.values().map(|p| p.arrival).max()?,
        );
        let result = self.depacketizer.depacketize(
            frame_packets.values().map(|p| &p.payload[..]),
            &mut self.frame,
        );
        let info = match result {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(error = %e, start, end, "frame not decodable: skipped");
                self.after_loss = true;
                self.needs_keyframe = true;
                self.dropped_frames += 1;
                return None;
            }
        };
        if info.keyframe {
            self.needs_keyframe = false;
        }
        let data = self.frame.split().freeze();
        Some(AssembledFrame {
            rtp_timestamp: timestamp,
            data,
            keyframe: info.keyframe,
            after_loss: std::mem::take(&mut self.after_loss),
            sequence_range: (start, end),
            completed_at,
        })
    }

    /// When [`poll_frame`](Self::poll_frame) may give up waiting for a gap
    /// (the shorter wait while a complete frame follows, which may be a keyframe).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let since = self.waiting_since?;
        let next = self.next?;
        let wait = if self.later_complete_frame(next).is_some_and(|(_, key)| key) {
            self.config.keyframe_wait
        } else {
            self.config.max_wait
        };
        Some(since + wait)
    }

    /// Whether frames were skipped since the last keyframe (a video decoder
    /// needs one to continue): ask the sender with PLI or FIR.
    pub fn needs_keyframe(&self) -> bool {
        self.needs_keyframe
    }

    /// Packets held.
    pub fn held(&self) -> usize {
        self.packets.len()
    }

    /// Frames skipped (incomplete or undecodable).
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packetizer::{Codec, Packetizer, Payloads, Vp8Packetizer};

    /// The payloads of one VP8 frame of `len` bytes.
    fn vp8(len: usize, keyframe: bool, fill: u8) -> (Vec<u8>, Vec<(Bytes, bool)>) {
        let mut frame = vec![fill; len];
        frame[0] = if keyframe { 0x10 } else { 0x11 };
        let mut payloads = Payloads::new();
        Vp8Packetizer::new()
            .packetize(&frame, 500, &mut payloads)
            .unwrap();
        let out = payloads
            .iter()
            .map(|p| (Bytes::copy_from_slice(p.data), p.marker))
            .collect();
        (frame, out)
    }

    fn assembler() -> FrameAssembler {
        FrameAssembler::new(AnyDepacketizer::new(Codec::Vp8), AssemblerConfig::video())
    }

    #[test]
    fn reordered_packets_make_frames_in_order() {
        let t0 = Instant::now();
        let mut a = assembler();
        let (f1, p1) = vp8(1400, true, 1);
        let (f2, p2) = vp8(900, false, 2);
        let mut packets: Vec<(u64, u32, Bytes, bool)> = Vec::new();
        for (i, (p, m)) in p1.iter().enumerate() {
            packets.push((10 + i as u64, 100, p.clone(), *m));
        }
        for (i, (p, m)) in p2.iter().enumerate() {
            packets.push((10 + p1.len() as u64 + i as u64, 200, p.clone(), *m));
        }
        packets.reverse();
        for (seq, ts, p, m) in packets {
            a.insert(t0, seq, ts, m, p);
        }
        let first = a.poll_frame(t0).unwrap();
        assert_eq!(
            (&first.data[..], first.keyframe, first.after_loss),
            (&f1[..], true, false)
        );
        let second = a.poll_frame(t0).unwrap();
        assert_eq!((&second.data[..], second.keyframe), (&f2[..], false));
        assert!(a.poll_frame(t0).is_none());
        assert_eq!(a.held(), 0);
    }

    #[test]
    fn a_gap_is_waited_for_then_skipped() {
        let t0 = Instant::now();
        let mut a = assembler();
        let (_, p1) = vp8(1400, true, 1);
        let (f2, p2) = vp8(300, false, 2);
        // The first frame's middle packet is missing.
        for (i, (p, m)) in p1.iter().enumerate().filter(|(i, _)| *i != 1) {
            a.insert(t0, i as u64, 100, *m, p.clone());
        }
        for (i, (p, m)) in p2.iter().enumerate() {
            a.insert(t0, (p1.len() + i) as u64, 200, *m, p.clone());
        }
        assert!(a.poll_frame(t0).is_none(), "waiting for the gap");
        let deadline = a.poll_timeout().unwrap();
        assert_eq!(deadline, t0 + AssemblerConfig::video().max_wait);
        assert!(a.poll_frame(deadline - Duration::from_millis(1)).is_none());
        let f = a.poll_frame(deadline).unwrap();
        assert_eq!(&f.data[..], &f2[..]);
        assert!(f.after_loss);
        assert!(a.needs_keyframe());
        assert_eq!(a.dropped_frames(), 1);
        // A late packet of the skipped frame is ignored.
        a.insert(deadline, 1, 100, false, p1[1].0.clone());
        assert_eq!(a.held(), 0);
    }

    #[test]
    fn a_complete_keyframe_shortens_the_wait() {
        let t0 = Instant::now();
        let mut a = assembler();
        let (_, p1) = vp8(1400, false, 1);
        let (f2, p2) = vp8(300, true, 2);
        for (i, (p, m)) in p1.iter().enumerate().filter(|(i, _)| *i != 0) {
            a.insert(t0, 1 + i as u64, 100, *m, p.clone());
        }
        // The first frame's start never came; a keyframe follows.
        a.insert(t0, 0, 50, true, vp8(10, false, 0).1[0].0.clone());
        for (i, (p, m)) in p2.iter().enumerate() {
            a.insert(t0, (1 + p1.len() + i) as u64, 200, *m, p.clone());
        }
        let keyframe_wait = AssemblerConfig::video().keyframe_wait;
        assert!(std::iter::from_fn(|| a.poll_frame(t0)).all(|f| f.data.len() < 20));
        assert_eq!(a.poll_timeout(), Some(t0 + keyframe_wait));
        let later = t0 + keyframe_wait;
        let frames: Vec<_> = std::iter::from_fn(|| a.poll_frame(later)).collect();
        assert_eq!(frames.last().map(|f| &f.data[..]), Some(&f2[..]));
        assert!(frames.last().unwrap().keyframe);
        assert!(!a.needs_keyframe());
    }

    #[test]
    fn fillers_between_frames_are_not_waited_for() {
        let t0 = Instant::now();
        let mut a = assembler();
        let (f1, p1) = vp8(300, true, 1);
        let (f2, p2) = vp8(300, false, 2);
        a.insert(t0, 0, 100, p1[0].1, p1[0].0.clone());
        // Two FEC packets after the first frame, then the second frame.
        a.insert_filler(t0, 1);
        a.insert_filler(t0, 2);
        a.insert(t0, 3, 200, p2[0].1, p2[0].0.clone());
        let frames: Vec<_> = std::iter::from_fn(|| a.poll_frame(t0)).collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            (&frames[0].data[..], &frames[1].data[..]),
            (&f1[..], &f2[..])
        );
        assert!(!frames[1].after_loss);
        assert_eq!(a.held(), 0);
    }

    #[test]
    fn held_packets_are_bounded() {
        let t0 = Instant::now();
        let config = AssemblerConfig {
            max_wait: Duration::from_secs(10),
            keyframe_wait: Duration::from_secs(10),
            max_packets: 32,
        };
        let mut a = FrameAssembler::new(AnyDepacketizer::new(Codec::Vp8), config);
        let (_, p) = vp8(100, false, 1);
        // Frames whose first packet is missing, forever: never more than the bound.
        for n in 0..1000u64 {
            if n % 2 == 1 {
                a.insert(t0, n, n as u32, true, p[0].0.clone());
            }
            assert!(a.held() <= 32);
        }
    }
}
