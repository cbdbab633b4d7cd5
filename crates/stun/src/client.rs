//! An async STUN Binding client over tokio: a thin driver around [`RequestManager`].
//!
//! ```no_run
//! # async fn run() -> Result<(), stun::Error> {
//! let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
//! let reflexive = stun::client::binding(&socket, "127.0.0.1:3478".parse().unwrap(), &Default::default()).await?;
//! println!("server-reflexive address: {reflexive}");
//! # Ok(()) }
//! ```

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

use crate::attributes::{MappedAddress, Software, XorMappedAddress};
use crate::error::Error;
use crate::message::{
    message_len, Class, Message, MessageBuilder, Method, TransactionId, HEADER_LEN,
};
use crate::request_manager::{RequestEvent, RequestManager, RetransmitConfig, Transport};

/// Options of a Binding transaction.
#[derive(Debug, Clone)]
pub struct BindingOptions {
    /// Retransmission schedule.
    pub retransmit: RetransmitConfig,
    /// SOFTWARE attribute; empty for none.
    pub software: String,
    /// Add FINGERPRINT to the request.
    pub fingerprint: bool,
}

impl Default for BindingOptions {
    fn default() -> Self {
        BindingOptions {
            retransmit: RetransmitConfig::rfc8489(),
            software: concat!("peerstack-stun ", env!("CARGO_PKG_VERSION")).to_string(),
            fingerprint: true,
        }
    }
}

fn build_request(options: &BindingOptions, out: &mut [u8]) -> Result<usize, Error> {
    let mut b = MessageBuilder::new(
        out,
        Class::Request,
        Method::BINDING,
        TransactionId::random(),
    )?;
    if !options.software.is_empty() {
        b.add(&Software(&options.software))?;
    }
    if options.fingerprint {
        b.add_fingerprint()?;
    }
    Ok(b.finish())
}

fn mapped_address(response: &[u8]) -> Result<SocketAddr, Error> {
    let msg = Message::parse(response)?;
    if let Some(x) = msg.get::<XorMappedAddress>()? {
        return Ok(x.0);
    }
    msg.get::<MappedAddress>()?
        .map(|m| m.0)
        .ok_or(Error::NoMappedAddress)
}

fn outcome(event: RequestEvent) -> Result<SocketAddr, Error> {
    match event {
        RequestEvent::Success { response, .. } => mapped_address(&response),
        RequestEvent::Error { code, .. } => Err(Error::ErrorResponse(code)),
        RequestEvent::Timeout { .. } => Err(Error::Timeout),
    }
}

/// Sends a Binding request from `socket` to `server` over UDP, retransmitting
/// per `options`, and returns the server-reflexive address it reports.
/// Datagrams from other sources, and non-matching responses, are ignored.
pub async fn binding(
    socket: &UdpSocket,
    server: SocketAddr,
    options: &BindingOptions,
) -> Result<SocketAddr, Error> {
    let mut manager = RequestManager::new(options.retransmit.clone());
    let mut req = [0u8; 1024];
    let n = build_request(options, &mut req)?;
    manager.send(
        Instant::now().into_std(),
        &req[..n],
        server,
        Transport::Udp,
        None,
    )?;
    let mut buf = vec![0u8; 2048];
    loop {
        while let Some(t) = manager.poll_transmit() {
            socket.send_to(&t.contents, t.destination).await?;
        }
        if let Some(event) = manager.poll_event() {
            return outcome(event);
        }
        let deadline = manager
            .poll_timeout()
            .map(Instant::from_std)
            .ok_or(Error::Timeout)?;
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let (len, from) = match r {
                    Ok(x) => x,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                    Err(e) => return Err(e.into()),
                };
                if from != server {
                    continue;
                }
                if let Ok(msg) = Message::parse(&buf[..len]) {
                    manager.handle_response(Instant::now().into_std(), &msg);
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                manager.handle_timeout(Instant::now().into_std());
            }
        }
    }
}

/// Sends a Binding request over a new TCP connection to `server` (sent once,
/// `options.retransmit.reliable_timeout` to answer) and returns the
/// server-reflexive address.
pub async fn binding_tcp(
    server: SocketAddr,
    options: &BindingOptions,
) -> Result<SocketAddr, Error> {
    let timeout = options.retransmit.reliable_timeout;
    tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(server).await?;
        let mut req = [0u8; 1024];
        let n = build_request(options, &mut req)?;
        let tid = Message::parse(&req[..n])?.transaction_id();
        stream.write_all(&req[..n]).await?;
        let mut buf = vec![0u8; HEADER_LEN + 65_535];
        let mut filled = 0;
        loop {
            let r = stream.read(&mut buf[filled..]).await?;
            if r == 0 {
                return Err(Error::Io(std::io::ErrorKind::UnexpectedEof));
            }
            filled += r;
            while let Some(len) = message_len(&buf[..filled]) {
                if filled < len {
                    break;
                }
                let msg = Message::parse(&buf[..len])?;
                if msg.transaction_id() == tid && msg.class().is_response() {
                    msg.verify_fingerprint_if_present()?;
                    return if msg.class() == Class::SuccessResponse {
                        mapped_address(&buf[..len])
                    } else {
                        let code = msg
                            .get::<crate::attributes::ErrorCode<'_>>()?
                            .map_or(0, |e| e.code);
                        Err(Error::ErrorResponse(code))
                    };
                }
                buf.copy_within(len..filled, 0);
                filled -= len;
            }
        }
    })
    .await
    .map_err(|_| Error::Timeout)?
}
