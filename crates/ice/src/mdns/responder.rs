//! [`MdnsResponder`]: publishes our host addresses under random
//! `<uuid-v4>.local` names and answers queries for them.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use super::wire::{Message, MessageBuilder, RecordType, FLAG_AUTHORITATIVE, FLAG_RESPONSE};
use super::{MdnsTransmit, MDNS_PORT, MDNS_V4, MDNS_V6};
use crate::error::Error;
use crate::random::seeded_rng;

/// Most records in one response.
const MAX_ANSWERS: usize = 8;

/// Longest TTL in a legacy unicast answer (RFC 6762 §6.7).
const LEGACY_TTL: u32 = 10;

/// The shortest gap between two multicast answers for one name (RFC 6762 §6).
const MULTICAST_GAP: Duration = Duration::from_secs(1);

/// Configuration of an [`MdnsResponder`].
#[derive(Debug, Clone)]
pub struct MdnsResponderConfig {
    /// TTL of the answers. Default 120 s (RFC 6762 §10 for host records).
    pub ttl: Duration,
    /// Most names published; [`MdnsResponder::register`] refuses more.
    /// Default 16.
    pub max_names: usize,
    /// Most answers waiting to be sent; queries beyond it are not answered.
    /// Default 32.
    pub max_pending: usize,
    /// Seed of the names; `None` draws from the OS (as it must in production:
    /// the names hide our addresses only while nobody can guess them).
    pub seed: Option<u64>,
}

impl Default for MdnsResponderConfig {
    fn default() -> Self {
        MdnsResponderConfig {
            ttl: Duration::from_secs(120),
            max_names: 16,
            max_pending: 32,
            seed: None,
        }
    }
}

#[derive(Debug)]
struct Published {
    name: String,
    addr: IpAddr,
    last_multicast: Option<Instant>,
}

/// An answer to send.
#[derive(Debug)]
struct Pending {
    destination: SocketAddr,
    id: u16,
    /// A legacy unicast query (source port not 5353): echo the id and the
    /// questions, TTL at most 10 s, no cache-flush bit.
    legacy: bool,
    /// Indices into `names`, with the type the question asked.
    answers: [(usize, RecordType); MAX_ANSWERS],
    count: usize,
}

/// Publishes host addresses under random `<uuid-v4>.local` names
/// (draft-ietf-mmusic-mdns-ice-candidates §3.1.1) and answers mDNS queries
/// for them; every other query and every response is ignored.
///
/// How a query is answered (RFC 6762 §6, §6.7):
/// - from a port other than 5353 (a one-shot querier, as
///   [`MdnsResolver`](super::MdnsResolver) is): unicast to the querier's
///   address and port, with its id and question, TTL at most 10 s;
/// - from port 5353 with the QU bit: unicast to the querier;
/// - from port 5353 otherwise: multicast to the group of the query's family,
///   at most once a second per name.
///
/// Not implemented: probing and announcing (RFC 6762 §8; a random
/// 122-bit name does not collide), negative answers (NSEC) for a type we do
/// not have, known-answer suppression.
#[derive(Debug)]
pub struct MdnsResponder {
    config: MdnsResponderConfig,
    rng: ChaCha8Rng,
    names: Vec<Published>,
    out: VecDeque<Pending>,
}

impl MdnsResponder {
    /// A responder publishing nothing yet.
    pub fn new(config: MdnsResponderConfig) -> MdnsResponder {
        MdnsResponder {
            rng: seeded_rng(config.seed),
            config,
            names: Vec::new(),
            out: VecDeque::new(),
        }
    }

    /// Publishes `addr` under a new random `<uuid-v4>.local` name and
    /// returns the name; an address published already keeps its name.
    /// [`Error::TooManyMdnsNames`] beyond
    /// [`MdnsResponderConfig::max_names`].
    pub fn register(&mut self, addr: IpAddr) -> Result<String, Error> {
        if let Some(name) = self.name_of(addr) {
            return Ok(name.to_string());
        }
        if self.names.len() >= self.config.max_names {
            return Err(Error::TooManyMdnsNames(self.config.max_names));
        }
        let name = uuid_v4_local(&mut self.rng);
        tracing::debug!(%addr, %name, "mDNS name published");
        self.names.push(Published {
            name: name.clone(),
            addr,
            last_multicast: None,
        });
        Ok(name)
    }

    /// Stops publishing `name`; whether it was published. Answers not sent
    /// yet are dropped.
    pub fn unregister(&mut self, name: &str) -> bool {
        let before = self.names.len();
        self.names.retain(|p| !p.name.eq_ignore_ascii_case(name));
        let removed = self.names.len() != before;
        if removed {
            self.out.clear();
        }
        removed
    }

    /// The name `addr` is published under.
    pub fn name_of(&self, addr: IpAddr) -> Option<&str> {
        self.names
            .iter()
            .find(|p| p.addr == addr)
            .map(|p| p.name.as_str())
    }

    /// The published names and their addresses.
    pub fn names(&self) -> impl Iterator<Item = (&str, IpAddr)> + '_ {
        self.names.iter().map(|p| (p.name.as_str(), p.addr))
    }

    /// A datagram the responder socket (port 5353) received from `from`.
    /// Queries for our names queue an answer; anything else is ignored.
    /// `Err` only for a malformed message.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
    ) -> Result<(), Error> {
        let msg = Message::new_checked(data)?;
        if msg.is_response() || msg.opcode() != 0 {
            return Ok(());
        }
        let legacy = from.port() != MDNS_PORT;
        let mut unicast = legacy;
        let mut answers = [(0, RecordType::Any); MAX_ANSWERS];
        let mut count = 0;
        for q in msg.questions() {
            if q.class != super::wire::CLASS_IN {
                continue;
            }
            for (i, p) in self.names.iter().enumerate() {
                if count < MAX_ANSWERS
                    && q.record_type.matches(p.addr)
                    && q.name.eq_str(&p.name)
                    && !answers[..count].iter().any(|(j, _)| *j == i)
                {
                    answers[count] = (i, q.record_type);
                    count += 1;
                    unicast |= q.unicast_response;
                }
            }
        }
        if count == 0 {
            return Ok(());
        }
        let destination = if unicast {
            from
        } else {
            // RFC 6762 §6: one multicast answer per name per second.
            let mut kept = 0;
            for k in 0..count {
                let (i, t) = answers[k];
                let p = &mut self.names[i];
                if p.last_multicast.is_some_and(|t| now < t + MULTICAST_GAP) {
                    continue;
                }
                p.last_multicast = Some(now);
                answers[kept] = (i, t);
                kept += 1;
            }
            count = kept;
            if count == 0 {
                return Ok(());
            }
            let group: IpAddr = if from.is_ipv4() {
                MDNS_V4.into()
            } else {
                MDNS_V6.into()
            };
            SocketAddr::new(group, MDNS_PORT)
        };
        if self.out.len() >= self.config.max_pending {
            tracing::debug!(%from, "mDNS answer queue full: query not answered");
            return Ok(());
        }
        tracing::trace!(%from, %destination, count, "mDNS query answered");
        self.out.push_back(Pending {
            destination,
            id: if legacy { msg.id() } else { 0 },
            legacy,
            answers,
            count,
        });
        Ok(())
    }

    /// The next answer, written into `buf` (1500 bytes always suffice):
    /// send `buf[..len]` to `destination` from the responder socket.
    pub fn poll_transmit(&mut self, _now: Instant, buf: &mut [u8]) -> Option<MdnsTransmit> {
        let ttl = self.config.ttl.as_secs().min(u32::MAX as u64) as u32;
        while let Some(p) = self.out.pop_front() {
            let built = (|| {
                let mut b = MessageBuilder::new(buf, p.id, FLAG_RESPONSE | FLAG_AUTHORITATIVE)?;
                if p.legacy {
                    for &(i, t) in &p.answers[..p.count] {
                        if let Some(n) = self.names.get(i) {
                            b.question(&n.name, t, false)?;
                        }
                    }
                }
                for &(i, _) in &p.answers[..p.count] {
                    if let Some(n) = self.names.get(i) {
                        let (ttl, flush) = if p.legacy {
                            (ttl.min(LEGACY_TTL), false)
                        } else {
                            (ttl, true)
                        };
                        b.answer(&n.name, n.addr, ttl, flush)?;
                    }
                }
                Ok::<usize, crate::error::DnsWireError>(b.finish())
            })();
            match built {
                Ok(len) => {
                    return Some(MdnsTransmit {
                        destination: p.destination,
                        len,
                    })
                }
                Err(e) => tracing::warn!(error = %e, "mDNS answer not built"),
            }
        }
        None
    }
}

/// `<uuid-v4>.local` from 16 random bytes (RFC 9562 §5.4: version 4,
/// variant 10).
fn uuid_v4_local(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}.local",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
