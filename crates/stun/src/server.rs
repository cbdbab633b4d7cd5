//! A STUN Binding server: the sans-IO core ([`BindingServer`]) and, with the
//! `tokio` feature, the drivers for UDP and TCP used by the `stun-server` binary
//! (UDP GSO with the `udp-gso` feature).
//!
//! The core answers Binding requests with XOR-MAPPED-ADDRESS, SOFTWARE and
//! FINGERPRINT, 420 (with UNKNOWN-ATTRIBUTES) for unknown
//! comprehension-required attributes, 400 for malformed requests and other
//! methods, and stays silent for everything else. It never allocates per
//! request and never panics on any input.
//!
//! ```
//! use stun::server::BindingServer;
//! use stun::{Message, MessageBuilder, Class, Method, TransactionId};
//! use stun::attributes::XorMappedAddress;
//!
//! let server = BindingServer::new("peerstack");
//! let mut req = [0u8; 64];
//! let mut b = MessageBuilder::new(&mut req, Class::Request, Method::BINDING, TransactionId([9; 12])).unwrap();
//! b.add_fingerprint().unwrap();
//! let n = b.finish();
//!
//! let client = "127.0.0.1:50000".parse().unwrap();
//! let mut out = [0u8; 1500];
//! let len = server.handle(&req[..n], client, &mut out).unwrap();
//! let resp = Message::parse(&out[..len]).unwrap();
//! assert_eq!(resp.class(), Class::SuccessResponse);
//! assert_eq!(resp.get::<XorMappedAddress>().unwrap(), Some(XorMappedAddress(client)));
//! ```

use std::net::SocketAddr;
#[cfg(feature = "tokio")]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "tokio")]
use std::sync::Arc;
#[cfg(feature = "tokio")]
use std::time::Duration;

use crate::attributes::{
    AttributeType, ChangeRequest, ErrorCode, MappedAddress, Software, UnknownAttributes,
    XorMappedAddress,
};
use crate::message::{
    decode_message_type, Class, Message, MessageBuilder, Method, TransactionId, HEADER_LEN,
};

/// Most unknown attributes listed in one 420 response.
const MAX_UNKNOWN_LISTED: usize = 16;

/// The sans-IO Binding server.
#[derive(Debug, Clone)]
pub struct BindingServer {
    software: String,
}

impl BindingServer {
    /// A server that names itself `software` in the SOFTWARE attribute (empty: none).
    pub fn new(software: &str) -> BindingServer {
        // RFC 8489: fewer than 128 characters.
        let software: String = software.chars().take(127).collect();
        BindingServer { software }
    }

    /// Handles one datagram (or one framed TCP message) from `source`; writes
    /// the response into `out` and returns its length, or `None` when nothing
    /// should be sent back.
    pub fn handle(&self, data: &[u8], source: SocketAddr, out: &mut [u8]) -> Option<usize> {
        if data.len() < HEADER_LEN || data[0] & 0xC0 != 0 {
            return None;
        }
        let (class, method) = decode_message_type(u16::from_be_bytes([data[0], data[1]]));
        if class != Class::Request {
            return None;
        }
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&data[8..20]);
        let tid = TransactionId(tid);
        let msg = match Message::parse(data) {
            Ok(m) => m,
            Err(crate::Error::BadMagicCookie(_)) => {
                // An RFC 3489 client: answer with MAPPED-ADDRESS and its own 16-byte id.
                return self.classic_response(data, method, source, out);
            }
            Err(e) => {
                tracing::trace!(%source, error = %e, "malformed request");
                return self.error(out, method, tid, ErrorCode::BAD_REQUEST, &[]);
            }
        };
        if msg.verify_fingerprint_if_present().is_err() {
            // RFC 8489 §7.3: a bad FINGERPRINT means it is not STUN; discard silently.
            return None;
        }
        let mut unknown = [AttributeType(0); MAX_UNKNOWN_LISTED];
        let mut n_unknown = 0;
        for a in msg.attributes() {
            let unsupported_change = a.typ == AttributeType::CHANGE_REQUEST
                && msg
                    .get::<ChangeRequest>()
                    .ok()
                    .flatten()
                    .is_some_and(|c| c.change_ip || c.change_port);
            // With one address we cannot honour CHANGE-REQUEST (RFC 5780): report it as coturn does.
            let is_unknown = a.typ.is_comprehension_required() && !a.typ.is_known();
            if (is_unknown || unsupported_change)
                && n_unknown < MAX_UNKNOWN_LISTED
                && !unknown[..n_unknown].contains(&a.typ)
            {
                unknown[n_unknown] = a.typ;
                n_unknown += 1;
            }
        }
        if n_unknown > 0 {
            return self.error(
                out,
                method,
                tid,
                ErrorCode::UNKNOWN_ATTRIBUTE,
                &unknown[..n_unknown],
            );
        }
        if method != Method::BINDING {
            return self.error(out, method, tid, ErrorCode::BAD_REQUEST, &[]);
        }
        let mut b = MessageBuilder::new(out, Class::SuccessResponse, Method::BINDING, tid).ok()?;
        b.add(&XorMappedAddress(source)).ok()?;
        if !self.software.is_empty() {
            b.add(&Software(&self.software)).ok()?;
        }
        b.add_fingerprint().ok()?;
        Some(b.finish())
    }

    fn error(
        &self,
        out: &mut [u8],
        method: Method,
        tid: TransactionId,
        code: ErrorCode<'_>,
        unknown: &[AttributeType],
    ) -> Option<usize> {
        let mut b = MessageBuilder::new(out, Class::ErrorResponse, method, tid).ok()?;
        b.add(&code).ok()?;
        if !unknown.is_empty() {
            b.add(&UnknownAttributes::from_types(unknown)).ok()?;
        }
        if !self.software.is_empty() {
            b.add(&Software(&self.software)).ok()?;
        }
        b.add_fingerprint().ok()?;
        Some(b.finish())
    }

    /// RFC 3489 Binding: a 128-bit transaction id and MAPPED-ADDRESS only.
    /// A CHANGE-REQUEST asking for another address or port, which a
    /// one-address server cannot honour, gets 420 as on the RFC 5389 path
    /// (coturn does the same), so NAT-type probes are not misled.
    fn classic_response(
        &self,
        data: &[u8],
        method: Method,
        source: SocketAddr,
        out: &mut [u8],
    ) -> Option<usize> {
        let declared = u16::from_be_bytes([data[2], data[3]]) as usize;
        if method != Method::BINDING || declared % 4 != 0 || declared + HEADER_LEN != data.len() {
            return None;
        }
        let mut change_requested = false;
        let mut pos = HEADER_LEN;
        while pos + 4 <= data.len() {
            let typ = u16::from_be_bytes([data[pos], data[pos + 1]]);
            let len = u16::from_be_bytes([data[pos + 2], data[pos + 3]]) as usize;
            let value = data.get(pos + 4..pos + 4 + len)?;
            if typ == AttributeType::CHANGE_REQUEST.0 && len == 4 && value[3] & 0x06 != 0 {
                change_requested = true;
            }
            pos += 4 + ((len + 3) & !3);
        }
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&data[8..20]);
        let len = if change_requested {
            let mut b = MessageBuilder::new(
                out,
                Class::ErrorResponse,
                Method::BINDING,
                TransactionId(tid),
            )
            .ok()?;
            b.add(&ErrorCode::UNKNOWN_ATTRIBUTE).ok()?;
            b.add(&UnknownAttributes::from_types(&[
                AttributeType::CHANGE_REQUEST,
            ]))
            .ok()?;
            b.finish()
        } else {
            let mut b = MessageBuilder::new(
                out,
                Class::SuccessResponse,
                Method::BINDING,
                TransactionId(tid),
            )
            .ok()?;
            b.add(&MappedAddress(source)).ok()?;
            b.finish()
        };
        // The first four bytes of the 128-bit RFC 3489 transaction id sit where the cookie would be.
        out[4..8].copy_from_slice(&data[4..8]);
        Some(len)
    }
}

/// Counters shared by the server's drivers.
#[cfg(feature = "tokio")]
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Responses sent.
    pub responses: AtomicU64,
    /// Datagrams or messages dropped without a response.
    pub dropped: AtomicU64,
}

#[cfg(feature = "tokio")]
/// Most datagrams read before the responses are sent.
const UDP_BATCH: usize = 64;
#[cfg(all(feature = "udp-gso", target_os = "linux"))]
/// Receive buffer asked for: 256 requests in flight overflow Linux's default 208 KiB.
const UDP_RECV_BUFFER: usize = 4 << 20;

/// The responses to one read burst, sent grouped by destination.
#[cfg(feature = "tokio")]
struct ResponseBatch {
    /// Response bytes, back to back.
    bytes: Vec<u8>,
    /// (destination, offset, length) of each response.
    entries: Vec<(SocketAddr, usize, usize)>,
    /// One destination's equal-size responses, contiguous.
    train: Vec<u8>,
    /// Whether to try UDP_SEGMENT (GSO): the `udp-gso` feature on Linux; cleared
    /// on the first refusal by the kernel.
    gso: bool,
}

#[cfg(feature = "tokio")]
impl ResponseBatch {
    fn new() -> ResponseBatch {
        ResponseBatch {
            bytes: Vec::with_capacity(UDP_BATCH * 128),
            entries: Vec::with_capacity(UDP_BATCH),
            train: Vec::with_capacity(UDP_BATCH * 128),
            gso: cfg!(all(feature = "udp-gso", target_os = "linux")),
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn push(&mut self, to: SocketAddr, response: &[u8]) {
        self.entries.push((to, self.bytes.len(), response.len()));
        self.bytes.extend_from_slice(response);
    }

    /// Sends every response and returns how many went out: equal-length
    /// responses to one destination as one GSO train, the others one by one.
    async fn flush(&mut self, socket: &tokio::net::UdpSocket) -> std::io::Result<usize> {
        // Group by (destination, length); the sort is stable, so order within a group holds.
        self.entries.sort_by_key(|&(to, _, len)| (to, len));
        let mut sent = 0;
        let mut i = 0;
        while i < self.entries.len() {
            let (to, _, len) = self.entries[i];
            let mut j = i + 1;
            while j < self.entries.len() && self.entries[j].0 == to && self.entries[j].2 == len {
                j += 1;
            }
            if j - i > 1 && self.gso {
                self.train.clear();
                for &(_, off, l) in &self.entries[i..j] {
                    self.train.extend_from_slice(&self.bytes[off..off + l]);
                }
                match send_train(socket, &self.train, len, to).await {
                    Ok(()) => {
                        sent += j - i;
                        i = j;
                        continue;
                    }
                    // No GSO here (old kernel, other OS, device without it): fall back for good.
                    // 5 = EIO, 22 = EINVAL, 92 = ENOPROTOOPT.
                    Err(e)
                        if e.kind() == std::io::ErrorKind::Unsupported
                            || matches!(e.raw_os_error(), Some(5 | 22 | 92)) =>
                    {
                        tracing::info!(error = %e, "UDP GSO unavailable; sending datagrams one by one");
                        self.gso = false;
                    }
                    Err(e) => {
                        tracing::debug!(%to, error = %e, "send failed");
                        i = j;
                        continue;
                    }
                }
            }
            for &(to, off, l) in &self.entries[i..j] {
                let data = &self.bytes[off..off + l];
                match socket.try_send_to(data, to) {
                    Ok(_) => sent += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        socket.send_to(data, to).await?;
                        sent += 1;
                    }
                    Err(e) => tracing::debug!(%to, error = %e, "send failed"),
                }
            }
            i = j;
        }
        self.entries.clear();
        self.bytes.clear();
        Ok(sent)
    }
}

/// One `sendmsg` with UDP_SEGMENT: the kernel splits `train` into `segment`-byte datagrams.
#[cfg(all(feature = "udp-gso", target_os = "linux"))]
async fn send_train(
    socket: &tokio::net::UdpSocket,
    train: &[u8],
    segment: usize,
    to: SocketAddr,
) -> std::io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrStorage};
    use std::os::fd::AsRawFd;
    let segment = segment as u16;
    let addr = SockaddrStorage::from(to);
    loop {
        socket.writable().await?;
        let sent = socket.try_io(tokio::io::Interest::WRITABLE, || {
            sendmsg(
                socket.as_raw_fd(),
                &[std::io::IoSlice::new(train)],
                &[ControlMessage::UdpGsoSegments(&segment)],
                MsgFlags::empty(),
                Some(&addr),
            )
            .map_err(std::io::Error::from)
        });
        match sent {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Without the `udp-gso` feature (or off Linux) there is no GSO: `flush` never builds a train.
#[cfg(all(feature = "tokio", not(all(feature = "udp-gso", target_os = "linux"))))]
async fn send_train(
    _socket: &tokio::net::UdpSocket,
    _train: &[u8],
    _segment: usize,
    _to: SocketAddr,
) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(feature = "tokio")]
/// Serves Binding requests on a UDP socket until the task is dropped.
///
/// Reads are drained with `try_recv_from` until the socket would block (at
/// most `UDP_BATCH` (64) datagrams), then the responses go out grouped by
/// destination: with the `udp-gso` feature on Linux, several equal-size
/// responses to one address leave in one UDP GSO `sendmsg` where the kernel
/// has it (and the socket asks for a 4 MiB receive buffer); the rest, and
/// everything without the feature, one `send_to` each.
pub async fn serve_udp(
    socket: tokio::net::UdpSocket,
    server: Arc<BindingServer>,
    stats: Arc<ServerStats>,
) -> std::io::Result<()> {
    #[cfg(all(feature = "udp-gso", target_os = "linux"))]
    if let Err(e) =
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::RcvBuf, &UDP_RECV_BUFFER)
    {
        tracing::debug!(error = %e, "SO_RCVBUF");
    }
    let mut inbuf = vec![0u8; 65_536];
    let mut outbuf = [0u8; 1500];
    let mut batch = ResponseBatch::new();
    loop {
        socket.readable().await?;
        loop {
            let (n, from) = match socket.try_recv_from(&mut inbuf) {
                Ok(x) => x,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // ICMP port unreachable from an earlier send surfaces here on Linux; keep serving.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            };
            match server.handle(&inbuf[..n], from, &mut outbuf) {
                Some(len) => batch.push(from, &outbuf[..len]),
                None => {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            if batch.len() >= UDP_BATCH {
                let sent = batch.flush(&socket).await?;
                stats.responses.fetch_add(sent as u64, Ordering::Relaxed);
            }
        }
        let sent = batch.flush(&socket).await?;
        stats.responses.fetch_add(sent as u64, Ordering::Relaxed);
    }
}

#[cfg(feature = "tokio")]
/// Most time a TCP connection may stay idle before the server closes it.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
#[cfg(feature = "tokio")]
/// Most TCP connections served at once; further ones wait in the listen backlog.
pub const MAX_TCP_CONNECTIONS: usize = 1024;

#[cfg(feature = "tokio")]
/// Accepts TCP connections and serves STUN messages framed back to back
/// (RFC 8489 §6.2.2) on each, until the task is dropped. At most
/// [`MAX_TCP_CONNECTIONS`] are served at once; idle ones close after 60 s.
pub async fn serve_tcp(
    listener: tokio::net::TcpListener,
    server: Arc<BindingServer>,
    stats: Arc<ServerStats>,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_TCP_CONNECTIONS));
    loop {
        // Each connection holds a bounded buffer; the semaphore bounds their number.
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore never closed");
        let (stream, from) = listener.accept().await?;
        let server = server.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_tcp_connection(stream, from, &server, &stats).await {
                tracing::debug!(%from, error = %e, "tcp connection ended");
            }
            drop(permit);
        });
    }
}

#[cfg(feature = "tokio")]
async fn serve_tcp_connection(
    mut stream: tokio::net::TcpStream,
    from: SocketAddr,
    server: &BindingServer,
    stats: &ServerStats,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // One maximal STUN message plus a read's worth: the buffer is bounded.
    let mut buf = vec![0u8; HEADER_LEN + 65_535 + 4096];
    let mut filled = 0;
    let mut out = [0u8; 1500];
    loop {
        let n = tokio::time::timeout(TCP_IDLE_TIMEOUT, stream.read(&mut buf[filled..]))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let mut start = 0;
        while filled - start >= HEADER_LEN {
            let chunk = &buf[start..filled];
            if chunk[0] & 0xC0 != 0 {
                // Not STUN framing: nothing sensible can follow on this stream.
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            let len = crate::message::message_len(chunk).unwrap_or(usize::MAX);
            if chunk.len() < len {
                break;
            }
            match server.handle(&chunk[..len], from, &mut out) {
                Some(m) => {
                    stream.write_all(&out[..m]).await?;
                    stats.responses.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            start += len;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::Priority;

    fn request(extra: impl FnOnce(&mut MessageBuilder<'_>)) -> Vec<u8> {
        let mut buf = vec![0u8; 256];
        let mut b = MessageBuilder::new(
            &mut buf,
            Class::Request,
            Method::BINDING,
            TransactionId([3; 12]),
        )
        .unwrap();
        extra(&mut b);
        let n = b.finish();
        buf.truncate(n);
        buf
    }

    #[test]
    fn answers_binding_with_fingerprint() {
        let s = BindingServer::new("test");
        let src: SocketAddr = "[::1]:9".parse().unwrap();
        let mut out = [0u8; 1500];
        let n = s.handle(&request(|_| {}), src, &mut out).unwrap();
        let m = Message::parse(&out[..n]).unwrap();
        m.verify_fingerprint().unwrap();
        assert_eq!(
            m.get::<XorMappedAddress>().unwrap(),
            Some(XorMappedAddress(src))
        );
        assert_eq!(m.get::<Software<'_>>().unwrap(), Some(Software("test")));
        assert_eq!(m.transaction_id(), TransactionId([3; 12]));
    }

    #[test]
    fn unknown_required_attribute_gets_420() {
        let s = BindingServer::new("");
        let req = request(|b| {
            b.add(&Priority(1)).unwrap();
            b.add_raw(&crate::RawAttribute {
                typ: AttributeType(0x7777),
                value: b"x",
                padding: &[0, 0, 0],
                offset: 0,
            })
            .unwrap();
            b.add_raw(&crate::RawAttribute {
                typ: AttributeType(0xC999),
                value: b"",
                padding: &[],
                offset: 0,
            })
            .unwrap();
        });
        let mut out = [0u8; 1500];
        let n = s
            .handle(&req, "127.0.0.1:1".parse().unwrap(), &mut out)
            .unwrap();
        let m = Message::parse(&out[..n]).unwrap();
        assert_eq!(m.class(), Class::ErrorResponse);
        assert_eq!(m.get::<ErrorCode<'_>>().unwrap().unwrap().code, 420);
        let u: Vec<_> = m
            .get::<UnknownAttributes<'_>>()
            .unwrap()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(u, vec![AttributeType(0x7777)]);
    }

    #[test]
    fn malformed_request_gets_400_and_garbage_gets_nothing() {
        let s = BindingServer::new("x");
        let mut req = request(|b| {
            b.add(&Priority(1)).unwrap();
        });
        req[22..24].copy_from_slice(&[0, 40]); // attribute length past the end
        let mut out = [0u8; 1500];
        let n = s
            .handle(&req, "127.0.0.1:1".parse().unwrap(), &mut out)
            .unwrap();
        let m = Message::parse(&out[..n]).unwrap();
        assert_eq!(m.get::<ErrorCode<'_>>().unwrap().unwrap().code, 400);
        assert_eq!(
            s.handle(&[0xff; 40], "127.0.0.1:1".parse().unwrap(), &mut out),
            None
        );
        assert_eq!(
            s.handle(&[], "127.0.0.1:1".parse().unwrap(), &mut out),
            None
        );
        // A success response is never answered.
        let mut resp = request(|_| {});
        resp[0..2].copy_from_slice(&0x0101u16.to_be_bytes());
        assert_eq!(
            s.handle(&resp, "127.0.0.1:1".parse().unwrap(), &mut out),
            None
        );
    }

    #[test]
    fn rfc3489_requests_get_mapped_address_or_420_for_change_requests() {
        let s = BindingServer::new("x");
        let src: SocketAddr = "127.0.0.1:4242".parse().unwrap();
        // An RFC 3489 Binding request: 16-byte transaction id, no magic cookie.
        let mut req = vec![0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef];
        req.extend_from_slice(&[7; 12]);
        let mut out = [0u8; 1500];
        let n = s.handle(&req, src, &mut out).unwrap();
        assert_eq!(n, 32);
        assert_eq!(&out[4..20], &req[4..20]);
        assert_eq!(&out[0..2], &[0x01, 0x01]);
        // MAPPED-ADDRESS, not XOR-ed.
        assert_eq!(&out[20..24], &[0x00, 0x01, 0x00, 0x08]);
        assert_eq!(&out[26..28], &4242u16.to_be_bytes());
        assert_eq!(&out[28..32], &[127, 0, 0, 1]);
        // With CHANGE-REQUEST (change port): 420 listing CHANGE-REQUEST.
        req[2..4].copy_from_slice(&8u16.to_be_bytes());
        req.extend_from_slice(&[0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0x02]);
        let n = s.handle(&req, src, &mut out).unwrap();
        assert_eq!(&out[0..2], &[0x01, 0x11]);
        assert_eq!(&out[4..20], &req[4..20]);
        assert!(out[20..n].windows(2).any(|w| w == [0x00, 0x03]));
        assert!(out[20..n].windows(2).any(|w| w == [0x04, 20]), "420");
    }

    /// A burst of requests from one client comes back as as many separate,
    /// well-formed responses (GSO trains are split by the kernel, not merged).
    #[cfg(feature = "tokio")]
    #[tokio::test]
    async fn a_burst_gets_one_response_datagram_per_request() {
        let server_socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server_socket.local_addr().unwrap();
        let stats = Arc::new(ServerStats::default());
        let task = tokio::spawn(serve_udp(
            server_socket,
            Arc::new(BindingServer::new("burst")),
            stats.clone(),
        ));
        let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut expected = std::collections::HashSet::new();
        for i in 0..100u8 {
            let req = request(|_| {});
            let mut req = req.clone();
            req[8] = i; // distinct transaction ids
            let tid = Message::parse(&req).unwrap().transaction_id();
            expected.insert(tid);
            client.send_to(&req, addr).await.unwrap();
        }
        let mut buf = [0u8; 2048];
        while !expected.is_empty() {
            let (n, _) = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                client.recv_from(&mut buf),
            )
            .await
            .expect("every response arrives")
            .unwrap();
            let m = Message::parse(&buf[..n]).expect("one whole message per datagram");
            m.verify_fingerprint().unwrap();
            assert_eq!(
                m.get::<XorMappedAddress>().unwrap(),
                Some(XorMappedAddress(client.local_addr().unwrap()))
            );
            assert!(
                expected.remove(&m.transaction_id()),
                "unexpected or duplicate response"
            );
        }
        // The counter is bumped right after the send returns; give it a moment.
        for _ in 0..100 {
            if stats.responses.load(Ordering::Relaxed) == 100 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(stats.responses.load(Ordering::Relaxed), 100);
        task.abort();
    }

    #[test]
    fn other_methods_get_400() {
        let s = BindingServer::new("x");
        let mut buf = [0u8; 64];
        let b = MessageBuilder::new(
            &mut buf,
            Class::Request,
            Method::ALLOCATE,
            TransactionId([1; 12]),
        )
        .unwrap();
        let n = b.finish();
        let mut out = [0u8; 1500];
        let len = s
            .handle(&buf[..n], "127.0.0.1:1".parse().unwrap(), &mut out)
            .unwrap();
        let m = Message::parse(&out[..len]).unwrap();
        assert_eq!(
            (m.method(), m.get::<ErrorCode<'_>>().unwrap().unwrap().code),
            (Method::ALLOCATE, 400)
        );
    }
}
