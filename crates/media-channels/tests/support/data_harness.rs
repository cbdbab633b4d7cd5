// The in-memory harness of `tests/data_channels.rs`: two SctpTransports over
// a seeded lossy wire on virtual time. Included there with `include!` (its
// items are that test crate's own), kept apart for size.

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

/// SplitMix64: a seeded, dependency-free RNG for loss, delay and payloads.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// One direction of the pipe.
#[derive(Clone, Copy, Debug)]
struct Net {
    /// Probability that a packet is dropped.
    loss: f64,
    /// One-way delay.
    delay: Duration,
    /// Extra delay, uniform in [0, jitter): reorders packets.
    jitter: Duration,
}

impl Net {
    fn clean() -> Net {
        Net {
            loss: 0.0,
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
        }
    }

    fn lossy(loss: f64) -> Net {
        Net {
            loss,
            ..Net::clean()
        }
    }
}

/// What the harness saw go over the wire: DATA chunks by PPID.
#[derive(Default, Debug)]
struct Wire {
    packets: u64,
    dropped: u64,
    data_chunks_by_ppid: BTreeMap<u32, u64>,
}

impl Wire {
    fn record(&mut self, packet: &[u8]) {
        self.packets += 1;
        let mut at = 12;
        while at + 4 <= packet.len() {
            let kind = packet[at];
            let len = u16::from_be_bytes([packet[at + 2], packet[at + 3]]) as usize;
            if kind == 0 && len >= 16 && at + 16 <= packet.len() {
                let ppid = u32::from_be_bytes([
                    packet[at + 12],
                    packet[at + 13],
                    packet[at + 14],
                    packet[at + 15],
                ]);
                *self.data_chunks_by_ppid.entry(ppid).or_default() += 1;
            }
            if len < 4 {
                break;
            }
            at += (len + 3) & !3;
        }
    }

    fn ppid(&self, ppid: u32) -> u64 {
        self.data_chunks_by_ppid.get(&ppid).copied().unwrap_or(0)
    }
}

/// Packets in flight to one side, by arrival time (then send order).
#[derive(Default)]
struct Flight {
    heap: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    seq: u64,
}

impl Flight {
    fn push(&mut self, at: Instant, packet: Vec<u8>) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, packet)));
    }

    fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.next_due()? <= now {
            self.heap.pop().map(|Reverse((_, _, p))| p)
        } else {
            None
        }
    }
}

/// Two transports and the pipe between them.
struct Pair {
    a: SctpTransport,
    b: SctpTransport,
    now: Instant,
    net_ab: Net,
    net_ba: Net,
    rng: Rng,
    to_a: Flight,
    to_b: Flight,
    /// Events each side reported, not yet taken by the test.
    ev_a: VecDeque<DataChannelEvent>,
    ev_b: VecDeque<DataChannelEvent>,
    wire_ab: Wire,
    wire_ba: Wire,
}

impl Pair {
    fn new(
        config_a: SctpConfig,
        config_b: SctpConfig,
        net_ab: Net,
        net_ba: Net,
        seed: u64,
    ) -> Pair {
        let now = Instant::now();
        let mut a = SctpTransport::new(config_a, DtlsRole::Client);
        let mut b = SctpTransport::new(config_b, DtlsRole::Server);
        a.connect(now).unwrap();
        b.connect(now).unwrap();
        Pair {
            a,
            b,
            now,
            net_ab,
            net_ba,
            rng: Rng(seed),
            to_a: Flight::default(),
            to_b: Flight::default(),
            ev_a: VecDeque::new(),
            ev_b: VecDeque::new(),
            wire_ab: Wire::default(),
            wire_ba: Wire::default(),
        }
    }

    fn symmetric(net: Net, seed: u64) -> Pair {
        Pair::new(SctpConfig::default(), SctpConfig::default(), net, net, seed)
    }

    /// A connected pair (both saw `Connected`).
    fn connected(net: Net, seed: u64) -> Pair {
        let mut p = Pair::symmetric(net, seed);
        p.connect();
        p
    }

    fn connect(&mut self) {
        let ok = self.run_until(Duration::from_secs(120), |p| {
            p.a.is_connected() && p.b.is_connected()
        });
        assert!(ok, "association established");
        assert_eq!(self.ev_a.pop_front(), Some(DataChannelEvent::Connected));
        assert_eq!(self.ev_b.pop_front(), Some(DataChannelEvent::Connected));
    }

    /// Drains both sides: events into the logs, packets into the pipe.
    fn pump(&mut self) {
        while let Some(e) = self.a.poll_event() {
            self.ev_a.push_back(e);
        }
        while let Some(e) = self.b.poll_event() {
            self.ev_b.push_back(e);
        }
        while let Some(packet) = self.a.poll_transmit(self.now) {
            self.wire_ab.record(&packet);
            if self.rng.unit() < self.net_ab.loss {
                self.wire_ab.dropped += 1;
                continue;
            }
            let jitter = self.rng.below(self.net_ab.jitter.as_micros() as u64);
            let at = self.now + self.net_ab.delay + Duration::from_micros(jitter);
            self.to_b.push(at, packet.to_vec());
        }
        while let Some(packet) = self.b.poll_transmit(self.now) {
            self.wire_ba.record(&packet);
            if self.rng.unit() < self.net_ba.loss {
                self.wire_ba.dropped += 1;
                continue;
            }
            let jitter = self.rng.below(self.net_ba.jitter.as_micros() as u64);
            let at = self.now + self.net_ba.delay + Duration::from_micros(jitter);
            self.to_a.push(at, packet.to_vec());
        }
    }

    /// Jumps to the next arrival or timer and handles everything due then.
    /// False when nothing is scheduled.
    fn advance(&mut self) -> bool {
        let next = [
            self.to_a.next_due(),
            self.to_b.next_due(),
            self.a.poll_timeout(),
            self.b.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else {
            return false;
        };
        self.now = self.now.max(next);
        let now = self.now;
        while let Some(p) = self.to_a.pop_due(now) {
            self.a.handle_receive(now, &p);
        }
        while let Some(p) = self.to_b.pop_due(now) {
            self.b.handle_receive(now, &p);
        }
        if self.a.poll_timeout().is_some_and(|t| t <= now) {
            self.a.handle_timeout(now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= now) {
            self.b.handle_timeout(now);
        }
        // The timer contract: after an input at `now`, the next deadline is later.
        for t in [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
        {
            assert!(t > now, "poll_timeout {:?} not after now", now - t);
        }
        true
    }

    /// Pumps and advances until `done` holds (true) or `limit` of virtual
    /// time passes or nothing is left to do (false). `done` runs after every
    /// pump, so it can react to events and send.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Pair) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            self.pump();
            if done(self) {
                self.pump();
                return true;
            }
            if self.now > deadline || !self.advance() {
                return false;
            }
        }
    }

    /// Runs for `d` of virtual time (or until idle).
    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(d + Duration::from_millis(1), |p| p.now >= until);
    }

    /// Runs until `a` or `b` reports an event matching `pred`; returns it.
    fn expect_event(
        &mut self,
        side_a: bool,
        limit: Duration,
        mut pred: impl FnMut(&DataChannelEvent) -> bool,
    ) -> DataChannelEvent {
        let mut found = None;
        self.run_until(limit, |p| {
            let log = if side_a { &mut p.ev_a } else { &mut p.ev_b };
            if let Some(i) = log.iter().position(&mut pred) {
                found = log.remove(i);
                true
            } else {
                false
            }
        });
        found.unwrap_or_else(|| {
            panic!(
                "no matching event on {} within {limit:?}; a: {:?} b: {:?}",
                if side_a { "a" } else { "b" },
                self.ev_a,
                self.ev_b
            )
        })
    }

    /// Opens an in-band channel from `a` (or `b`) and waits until both
    /// sides report it open; returns its id.
    fn open(&mut self, from_a: bool, init: DataChannelInit) -> u16 {
        let now = self.now;
        let id = if from_a {
            self.a.create_channel(now, init).unwrap()
        } else {
            self.b.create_channel(now, init).unwrap()
        };
        let is_open = move |e: &DataChannelEvent| matches!(e, DataChannelEvent::ChannelOpen { id: i, .. } if *i == id);
        self.expect_event(from_a, Duration::from_secs(60), is_open);
        self.expect_event(!from_a, Duration::from_secs(60), is_open);
        id
    }
}

/// Message `i` of a transfer: its index, then bytes derived from it.
fn payload(i: u32, len: usize) -> Vec<u8> {
    let mut rng = Rng(u64::from(i) * 0x1000_0001 + len as u64);
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&i.to_be_bytes()[..len.min(4)]);
    while v.len() < len {
        v.push(rng.next_u64() as u8);
    }
    v
}

fn take_messages(log: &mut VecDeque<DataChannelEvent>, id: u16) -> Vec<(bool, Bytes)> {
    let mut out = Vec::new();
    log.retain(|e| match e {
        DataChannelEvent::Message {
            id: i,
            binary,
            data,
        } if *i == id => {
            out.push((*binary, data.clone()));
            false
        }
        _ => true,
    });
    out
}

fn index_of(data: &[u8]) -> u32 {
    u32::from_be_bytes(data[..4].try_into().unwrap())
}

/// Sends `sizes` on `id` from `a`, keeping at most `window` bytes buffered,
/// and checks that `b` receives them identical; returns (virtual time,
/// wall time, messages in the order received).
fn transfer(
    p: &mut Pair,
    id: u16,
    sizes: &[usize],
    window: usize,
    limit: Duration,
) -> (Duration, Duration, Vec<u32>) {
    let wall = Instant::now();
    let t0 = p.now;
    let mut next = 0usize;
    let mut order = Vec::with_capacity(sizes.len());
    let ok = p.run_until(limit, |p| {
        while next < sizes.len() && p.a.buffered_amount(id).unwrap() < window {
            let now = p.now;
            p.a.send(now, id, &payload(next as u32, sizes[next]), true)
                .unwrap();
            next += 1;
        }
        for (binary, data) in take_messages(&mut p.ev_b, id) {
            assert!(binary);
            let i = index_of(&data);
            assert_eq!(
                &data[..],
                &payload(i, sizes[i as usize])[..],
                "message {i} intact"
            );
            order.push(i);
        }
        order.len() == sizes.len()
    });
    assert!(
        ok,
        "transfer incomplete: {} of {} sent, {} received after {:?}",
        next,
        sizes.len(),
        order.len(),
        p.now - t0
    );
    (p.now - t0, wall.elapsed(), order)
}

fn mixed_sizes(total: usize, max: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng(seed);
    let mut sizes = Vec::new();
    let mut sum = 0;
    while sum < total {
        // Mostly small, some large, a few at the maximum.
        let len = match rng.below(10) {
            0..=5 => 4 + rng.below(1200) as usize,
            6..=8 => 4 + rng.below(max as u64 - 4) as usize,
            _ => max,
        };
        sizes.push(len);
        sum += len;
    }
    sizes
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}
