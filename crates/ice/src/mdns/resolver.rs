//! [`MdnsResolver`]: one-shot mDNS queries (RFC 6762 §5.1) for the `.local`
//! names of remote ICE candidates.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use super::wire::{Message, MessageBuilder, RecordType};
use super::{check_local_name, MdnsTransmit, MDNS_PORT, MDNS_V4, MDNS_V6};
use crate::error::Error;
use crate::random::seeded_rng;

/// Most names in flight, whatever the configuration says.
pub const MAX_IN_FLIGHT: usize = 1024;

/// Most addresses kept for one name.
pub const MAX_ADDRS_PER_NAME: usize = 8;

/// Configuration of an [`MdnsResolver`].
#[derive(Debug, Clone)]
pub struct MdnsResolverConfig {
    /// How long one attempt waits for an answer. Default 1 s.
    pub timeout: Duration,
    /// Queries sent again after a silent attempt (the name is
    /// [`MdnsEvent::Unresolved`] after `timeout × (retransmits + 1)`).
    /// Default 1.
    pub retransmits: u32,
    /// Most names being resolved at once; [`MdnsResolver::resolve`]
    /// refuses more with [`Error::TooManyMdnsQueries`]. Default 16.
    pub max_in_flight: usize,
    /// Most names cached. Default 64.
    pub cache_size: usize,
    /// Longest time an answer is cached, whatever its TTL. Default 120 s
    /// (RFC 6762 §10's TTL for host records).
    pub max_ttl: Duration,
    /// Send queries to 224.0.0.251:5353. Default true.
    pub ipv4: bool,
    /// Send queries to \[ff02::fb\]:5353. Default true.
    pub ipv6: bool,
    /// Seed of the query ids; `None` draws from the OS.
    pub seed: Option<u64>,
}

impl Default for MdnsResolverConfig {
    fn default() -> Self {
        MdnsResolverConfig {
            timeout: Duration::from_secs(1),
            retransmits: 1,
            max_in_flight: 16,
            cache_size: 64,
            max_ttl: Duration::from_secs(120),
            ipv4: true,
            ipv6: true,
            seed: None,
        }
    }
}

/// What the resolver reports: exactly one event per name
/// [`MdnsResolver::resolve`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MdnsEvent {
    /// The name has these addresses (at least one).
    Resolved {
        /// The name, as given to [`MdnsResolver::resolve`].
        name: String,
        /// Its addresses, as answered (A and AAAA).
        addrs: Vec<IpAddr>,
    },
    /// No answer came in time.
    Unresolved {
        /// The name, as given to [`MdnsResolver::resolve`].
        name: String,
    },
}

/// How [`MdnsResolver::resolve`] took a name; the answer always comes as
/// an [`MdnsEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveStarted {
    /// The cache had it: the [`MdnsEvent::Resolved`] is queued already.
    Cached,
    /// A query is sent.
    Queried,
    /// A query for it was in flight already: its answer serves both.
    Joined,
}

#[derive(Debug)]
struct Query {
    /// Lower case, no final dot.
    key: String,
    /// As given, once per caller that joined.
    names: Vec<String>,
    id: u16,
    attempts: u32,
    deadline: Instant,
}

#[derive(Debug)]
struct CacheEntry {
    key: String,
    addrs: Vec<(IpAddr, Instant)>,
}

impl CacheEntry {
    fn live(&self, now: Instant) -> Vec<IpAddr> {
        self.addrs
            .iter()
            .filter(|(_, expires)| *expires > now)
            .map(|(a, _)| *a)
            .collect()
    }

    fn latest(&self) -> Option<Instant> {
        self.addrs.iter().map(|(_, e)| *e).max()
    }
}

/// Resolves `.local` names with one-shot multicast queries (RFC 6762 §5.1):
/// a query goes from the caller's socket (any port but 5353) to
/// 224.0.0.251:5353 and/or \[ff02::fb\]:5353, and responders answer
/// unicast to that port. A silent attempt is repeated
/// ([`MdnsResolverConfig::retransmits`]) before the name is reported
/// [`MdnsEvent::Unresolved`]. Answers are cached, bounded
/// ([`MdnsResolverConfig::cache_size`]), each address for its TTL (capped
/// at [`MdnsResolverConfig::max_ttl`]); a TTL of 0 (a goodbye) removes it.
/// Only answers for names in flight are taken, only from port 5353, and
/// only with the id of the query (which a responder echoes in its unicast
/// answer to a one-shot query), so an off-link sender must guess a 16-bit
/// id as well as a random name. (The IP TTL of 255 RFC 6762 §11 also asks
/// to check is not visible here.)
///
/// Sans-IO: no socket, no clock. The caller's loop:
///
/// 1. [`resolve`](Self::resolve) names as candidates arrive;
/// 2. send every [`poll_transmit`](Self::poll_transmit) from the querier socket;
/// 3. hand datagrams that socket receives to [`handle_receive`](Self::handle_receive);
/// 4. call [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout);
/// 5. take the answers from [`poll_event`](Self::poll_event).
///
/// ```
/// use std::time::{Duration, Instant};
/// use ice::mdns::{MdnsEvent, MdnsResolver, MdnsResolverConfig, MdnsResponder, MdnsResponderConfig, ResolveStarted};
///
/// let now = Instant::now();
/// let mut responder = MdnsResponder::new(MdnsResponderConfig { seed: Some(1), ..Default::default() });
/// let name = responder.register("192.0.2.7".parse().unwrap())?;
///
/// let mut resolver = MdnsResolver::new(MdnsResolverConfig { ipv6: false, seed: Some(2), ..Default::default() });
/// assert_eq!(resolver.resolve(now, &name)?, ResolveStarted::Queried);
///
/// // The query goes to 224.0.0.251:5353 from our ephemeral port 40000...
/// let querier = "10.0.0.1:40000".parse().unwrap();
/// let responder_addr = "10.0.0.2:5353".parse().unwrap();
/// let mut buf = [0u8; 1500];
/// let q = resolver.poll_transmit(&mut buf).unwrap();
/// assert_eq!(q.destination, "224.0.0.251:5353".parse().unwrap());
/// let query = buf[..q.len].to_vec();
/// responder.handle_receive(now, querier, &query)?;
/// // ...and the answer comes back unicast from port 5353.
/// let a = responder.poll_transmit(now, &mut buf).unwrap();
/// assert_eq!(a.destination, querier);
/// let answer = buf[..a.len].to_vec();
/// resolver.handle_receive(now + Duration::from_millis(3), responder_addr, &answer)?;
/// assert_eq!(
///     resolver.poll_event(),
///     Some(MdnsEvent::Resolved { name: name.clone(), addrs: vec!["192.0.2.7".parse().unwrap()] })
/// );
/// // Asked again, the cache answers at once.
/// assert_eq!(resolver.resolve(now, &name)?, ResolveStarted::Cached);
/// # Ok::<(), ice::Error>(())
/// ```
#[derive(Debug)]
pub struct MdnsResolver {
    config: MdnsResolverConfig,
    rng: ChaCha8Rng,
    queries: Vec<Query>,
    cache: Vec<CacheEntry>,
    /// Query ids whose datagrams are still to be sent, with the destination.
    out: VecDeque<(u16, SocketAddr)>,
    events: VecDeque<MdnsEvent>,
}

impl MdnsResolver {
    /// A resolver with nothing in flight and an empty cache.
    pub fn new(config: MdnsResolverConfig) -> MdnsResolver {
        MdnsResolver {
            rng: seeded_rng(config.seed),
            config,
            queries: Vec::new(),
            cache: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // ----------------------------------------------------------------- getters

    /// Names being resolved now.
    pub fn in_flight(&self) -> usize {
        self.queries.len()
    }

    /// Names in the cache (some possibly expired, until the next timeout or lookup).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// The unexpired cached addresses of `name`, if any.
    pub fn lookup(&self, now: Instant, name: &str) -> Option<Vec<IpAddr>> {
        let key = key(name);
        let addrs = self.cache.iter().find(|e| e.key == key)?.live(now);
        (!addrs.is_empty()).then_some(addrs)
    }

    // ---------------------------------------------------------------- commands

    /// Starts resolving `name` (a `.local` name). Whatever the way, one
    /// [`MdnsEvent`] for it follows. Refused with
    /// [`Error::InvalidMdnsName`] for a name that is not `.local`, and with
    /// [`Error::TooManyMdnsQueries`] when
    /// [`MdnsResolverConfig::max_in_flight`] names are in flight or as many
    /// events are unread.
    pub fn resolve(&mut self, now: Instant, name: &str) -> Result<ResolveStarted, Error> {
        check_local_name(name)?;
        let limit = self.limit();
        if self.events.len() >= limit {
            return Err(Error::TooManyMdnsQueries(limit));
        }
        if let Some(addrs) = self.lookup(now, name) {
            self.events.push_back(MdnsEvent::Resolved {
                name: name.to_string(),
                addrs,
            });
            return Ok(ResolveStarted::Cached);
        }
        let key = key(name);
        if let Some(q) = self.queries.iter_mut().find(|q| q.key == key) {
            if q.names.len() >= limit {
                return Err(Error::TooManyMdnsQueries(limit));
            }
            q.names.push(name.to_string());
            return Ok(ResolveStarted::Joined);
        }
        if self.queries.len() >= limit {
            tracing::debug!(name, limit, "mDNS query refused: too many in flight");
            return Err(Error::TooManyMdnsQueries(limit));
        }
        let id = self.fresh_id();
        self.queries.push(Query {
            key,
            names: vec![name.to_string()],
            id,
            attempts: 1,
            deadline: now + self.config.timeout,
        });
        self.queue_query(id);
        tracing::debug!(name, "mDNS query");
        Ok(ResolveStarted::Queried)
    }

    /// [`MdnsResolverConfig::max_in_flight`], within 1..=[`MAX_IN_FLIGHT`]
    /// (so that a free query id is always found quickly).
    fn limit(&self) -> usize {
        self.config.max_in_flight.clamp(1, MAX_IN_FLIGHT)
    }

    fn fresh_id(&mut self) -> u16 {
        loop {
            let id = (self.rng.next_u32() & 0xffff) as u16;
            if id != 0 && self.queries.iter().all(|q| q.id != id) {
                return id;
            }
        }
    }

    fn queue_query(&mut self, id: u16) {
        if self.config.ipv4 {
            self.out
                .push_back((id, SocketAddr::new(MDNS_V4.into(), MDNS_PORT)));
        }
        if self.config.ipv6 {
            self.out
                .push_back((id, SocketAddr::new(MDNS_V6.into(), MDNS_PORT)));
        }
    }

    // ------------------------------------------------------------------ inputs

    /// A datagram the querier socket received from `from`. Answers (A and
    /// AAAA records in any section) for names in flight resolve them and
    /// fill the cache; everything else is ignored. `Err` only for a
    /// malformed message (nothing changes then).
    pub fn handle_receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
    ) -> Result<(), Error> {
        let msg = Message::new_checked(data)?;
        if !msg.is_response() || msg.opcode() != 0 || msg.rcode() != 0 {
            return Ok(());
        }
        if from.port() != MDNS_PORT {
            // RFC 6762 §6: every mDNS response comes from port 5353.
            tracing::trace!(%from, "mDNS answer not from port 5353: ignored");
            return Ok(());
        }
        let mut resolved: Vec<usize> = Vec::new();
        for record in msg.records() {
            let Some(addr) = record.addr() else { continue };
            // An answer to a one-shot query echoes its id (RFC 6762 §6.7).
            let Some(qi) = self
                .queries
                .iter()
                .position(|q| q.id == msg.id() && record.name.eq_str(&q.key))
            else {
                continue;
            };
            let key = self.queries[qi].key.clone();
            let ttl = Duration::from_secs(record.ttl.into()).min(self.config.max_ttl);
            self.cache_insert(now, &key, addr, ttl);
            if record.ttl > 0 && !resolved.contains(&qi) {
                resolved.push(qi);
            }
        }
        resolved.sort_unstable_by(|a, b| b.cmp(a));
        for qi in resolved {
            let q = self.queries.remove(qi);
            self.out.retain(|(id, _)| *id != q.id);
            let addrs = self.lookup(now, &q.key).unwrap_or_default();
            if addrs.is_empty() {
                // Every address answered is a goodbye: keep waiting.
                self.queries.push(q);
                continue;
            }
            tracing::debug!(name = %q.key, ?addrs, "mDNS name resolved");
            for name in q.names {
                self.events.push_back(MdnsEvent::Resolved {
                    name,
                    addrs: addrs.clone(),
                });
            }
        }
        Ok(())
    }

    fn cache_insert(&mut self, now: Instant, key: &str, addr: IpAddr, ttl: Duration) {
        self.purge(now);
        let i = match self.cache.iter().position(|e| e.key == key) {
            Some(i) => i,
            None => {
                if ttl.is_zero() {
                    return;
                }
                if self.cache.len() >= self.config.cache_size.max(1) {
                    // Evict the entry that would expire first.
                    if let Some(victim) =
                        (0..self.cache.len()).min_by_key(|&i| self.cache[i].latest())
                    {
                        self.cache.swap_remove(victim);
                    }
                }
                self.cache.push(CacheEntry {
                    key: key.to_string(),
                    addrs: Vec::new(),
                });
                self.cache.len() - 1
            }
        };
        let entry = &mut self.cache[i];
        entry.addrs.retain(|(a, _)| *a != addr);
        if !ttl.is_zero() && entry.addrs.len() < MAX_ADDRS_PER_NAME {
            entry.addrs.push((addr, now + ttl));
        }
        if entry.addrs.is_empty() {
            self.cache.swap_remove(i);
        }
    }

    /// Drops expired addresses and empty entries.
    fn purge(&mut self, now: Instant) {
        for e in &mut self.cache {
            e.addrs.retain(|(_, expires)| *expires > now);
        }
        self.cache.retain(|e| !e.addrs.is_empty());
    }

    /// Retransmits the queries whose attempt timed out, gives up on those
    /// out of attempts, and drops expired cache entries.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.purge(now);
        let mut i = 0;
        while i < self.queries.len() {
            if self.queries[i].deadline > now {
                i += 1;
                continue;
            }
            if self.queries[i].attempts <= self.config.retransmits {
                let q = &mut self.queries[i];
                q.attempts += 1;
                q.deadline = now + self.config.timeout;
                let id = q.id;
                tracing::debug!(name = %q.key, attempt = q.attempts, "mDNS query sent again");
                self.out.retain(|(queued, _)| *queued != id);
                self.queue_query(id);
                i += 1;
            } else {
                let q = self.queries.remove(i);
                self.out.retain(|(id, _)| *id != q.id);
                tracing::debug!(name = %q.key, "mDNS name not resolved");
                for name in q.names {
                    self.events.push_back(MdnsEvent::Unresolved { name });
                }
            }
        }
    }

    // ----------------------------------------------------------------- outputs

    /// The next query to send, written into `buf` (512 bytes always
    /// suffice): send `buf[..len]` to `destination` from the querier socket.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<MdnsTransmit> {
        while let Some((id, destination)) = self.out.pop_front() {
            let Some(q) = self.queries.iter().find(|q| q.id == id) else {
                continue;
            };
            let built = (|| {
                let mut b = MessageBuilder::new(buf, id, 0)?;
                b.question(&q.key, RecordType::A, false)?;
                b.question(&q.key, RecordType::Aaaa, false)?;
                Ok::<usize, crate::error::DnsWireError>(b.finish())
            })();
            match built {
                Ok(len) => return Some(MdnsTransmit { destination, len }),
                Err(e) => tracing::warn!(error = %e, "mDNS query not built"),
            }
        }
        None
    }

    /// The next answer.
    pub fn poll_event(&mut self) -> Option<MdnsEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due (a query's
    /// attempt ends); `None` with nothing in flight.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queries.iter().map(|q| q.deadline).min()
    }
}

/// The cache and query key of a name: lower case, no final dot.
fn key(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}
