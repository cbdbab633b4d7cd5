//! # stun: the bottom layer of peerstack
//!
//! A STUN (RFC 8489) implementation for ICE, TURN and WebRTC, usable on its own:
//!
//! - [`Message`]: a zero-copy view that validates a message once and reads it
//!   without allocating; [`MessageBuilder`] writes into a caller-provided buffer.
//! - [`attributes`]: every RFC 8489, RFC 8445 (ICE) and RFC 8656 (TURN)
//!   attribute plus libwebrtc's GOOG-NETWORK-INFO, typed.
//! - [`IntegrityKey`]: short-term and long-term (MD5, SHA-256) credentials,
//!   MESSAGE-INTEGRITY / MESSAGE-INTEGRITY-SHA256 checked in constant time, FINGERPRINT.
//! - [`ChannelData`] framing and the RFC 7983 demultiplexer [`classify`].
//! - [`RequestManager`]: libwebrtc's StunRequestManager as a sans-IO state
//!   machine: retransmissions, timeouts and response matching on virtual time.
//! - [`server::BindingServer`]: the sans-IO core of a Binding server; with the
//!   `tokio` feature also its UDP/TCP drivers and [`client`], an async
//!   Binding client.
//!
//! ## Features
//!
//! With `default-features = false` the crate is the codec, the credentials and
//! the request manager: no runtime, no I/O. On top of that:
//!
//! - `tokio`: the async Binding client and the UDP/TCP server drivers;
//! - `udp-gso` (implies `tokio`): UDP GSO and a large receive buffer in the UDP
//!   server driver on Linux, through `nix`;
//! - `server-bin` (implies both): the `stun-server` binary (`tracing-subscriber`,
//!   Ctrl-C handling).
//!
//! The default features are `tokio` and `server-bin`, so that `cargo run -p stun
//! --bin stun-server` works; the crates above this one depend on it without them.
//!
//! ## The sans-IO loop
//!
//! [`RequestManager`] owns no socket and reads no clock. Feed it input and time,
//! then drain its outputs:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use stun::{RequestManager, RequestEvent, RetransmitConfig, Transport, Message, MessageBuilder,
//!            Class, Method, TransactionId};
//!
//! let mut manager = RequestManager::new(RetransmitConfig::rfc8489());
//! let start = Instant::now();
//! let server = "127.0.0.1:3478".parse().unwrap();
//!
//! // Build a Binding request and hand it over.
//! let mut buf = [0u8; 64];
//! let mut b = MessageBuilder::new(&mut buf, Class::Request, Method::BINDING, TransactionId::random()).unwrap();
//! b.add_fingerprint().unwrap();
//! let n = b.finish();
//! let tid = manager.send(start, &buf[..n], server, Transport::Udp, None).unwrap();
//!
//! // 1. transmit what is due, 2. sleep until poll_timeout, 3. handle_timeout / handle_response.
//! let first = manager.poll_transmit().unwrap();
//! assert_eq!(first.destination, server);
//! assert_eq!(manager.poll_timeout(), Some(start + Duration::from_millis(500)));
//! manager.handle_timeout(start + Duration::from_millis(500));
//! assert!(manager.poll_transmit().is_some()); // the first retransmission
//!
//! // Nobody answers: after Rc = 7 sends and Rm × RTO the request times out at 39.5 s.
//! let mut now = start;
//! while let Some(t) = manager.poll_timeout() { now = t; manager.handle_timeout(now); while manager.poll_transmit().is_some() {} }
//! assert_eq!(now - start, Duration::from_millis(39_500));
//! assert!(matches!(manager.poll_event(), Some(RequestEvent::Timeout { transaction_id, .. }) if transaction_id == tid));
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod attributes;
pub mod channel_data;
pub mod demux;
mod error;
pub mod integrity;
pub mod message;
pub mod request_manager;

#[cfg(feature = "tokio")]
pub mod client;
pub mod server;

pub use attributes::{Attribute, AttributeType, RawAttribute, StunAttribute};
pub use channel_data::ChannelData;
pub use demux::{classify, PacketKind};
pub use error::Error;
pub use integrity::{IntegrityKey, PasswordAlgorithm};
pub use message::{is_stun, Class, Message, MessageBuilder, Method, TransactionId};
pub use request_manager::{RequestEvent, RequestManager, RetransmitConfig, Transmit, Transport};
