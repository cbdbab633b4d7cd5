//! TCP connections of a [`PacketSockets`](super::PacketSockets): one small
//! task per listener (accepting) and per connection (reading frames and
//! writing queued ones), reporting to the owner over one channel. A
//! connection to a TURN server over TLS pumps a sans-IO
//! `tls::TlsSession` between the socket and the frames.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

#[cfg(feature = "tls")]
use crate::error::TlsError;
use crate::Error;

/// How long connecting an active ICE-TCP candidate (or to a TURN server) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most bytes a writer gathers from its queue into one `write` call.
const WRITE_BATCH: usize = 64 * 1024;

/// How long the TLS handshake with a TURN server may take, after connecting.
#[cfg(feature = "tls")]
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Read buffer of a connection (grown in steps of this): frames are split
/// off it, so a small frame costs neither a system call nor an allocation
/// of its own.
const READ_BUFFER: usize = 16 * 1024;

/// How messages are delimited on a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// RFC 4571: a two-byte length before each packet (ICE-TCP).
    Rfc4571,
    /// STUN messages and padded ChannelData back to back (TURN over TCP).
    Stun,
}

/// What the TCP tasks report to the owning [`PacketSockets`](super::PacketSockets).
pub(super) enum TcpEvent<T> {
    /// A connection is open (accepted on a listener tagged `tag`, or opened
    /// for an active base on behalf of `tag`).
    Open {
        tag: T,
        base: SocketAddr,
        remote: SocketAddr,
        stream: TcpStream,
    },
    /// One frame arrived (without its RFC 4571 length prefix).
    Frame {
        tag: T,
        base: SocketAddr,
        remote: SocketAddr,
        data: BytesMut,
    },
    /// The connection could not be opened or ended: an error, or `None`
    /// when the peer closed it or the owner let it go.
    Closed {
        tag: T,
        base: SocketAddr,
        remote: SocketAddr,
        error: Option<Error>,
    },
}

/// What a connection carries: frames as they are, or inside TLS.
pub(super) enum Security {
    /// Plain TCP.
    Plain,
    /// TLS to a TURN server (`turns:`), in a session not started yet.
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::TlsSession>),
}

/// Accepts connections on a listener until the owner is gone.
pub(super) async fn accept_loop<T: Copy + Send + 'static>(
    tag: T,
    base: SocketAddr,
    listener: TcpListener,
    events: mpsc::Sender<TcpEvent<T>>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                let open = TcpEvent::Open {
                    tag,
                    base,
                    remote,
                    stream,
                };
                if events.send(open).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(%base, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        if events.is_closed() {
            return;
        }
    }
}

/// Opens a connection from `base`'s IP (an active candidate, port 9) to `remote`.
pub(super) async fn connect<T: Copy + Send + 'static>(
    tag: T,
    base: SocketAddr,
    remote: SocketAddr,
    events: mpsc::Sender<TcpEvent<T>>,
) {
    let attempt = async {
        let socket = if base.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(base.ip(), 0))?;
        socket.connect(remote).await
    };
    let event = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            TcpEvent::Open {
                tag,
                base,
                remote,
                stream,
            }
        }
        Ok(Err(e)) => {
            tracing::debug!(%remote, error = %e, "TCP connect failed");
            let error = Error::Io(e.kind());
            TcpEvent::Closed {
                tag,
                base,
                remote,
                error: Some(error),
            }
        }
        Err(_) => TcpEvent::Closed {
            tag,
            base,
            remote,
            error: Some(Error::Io(std::io::ErrorKind::TimedOut)),
        },
    };
    let _ = events.send(event).await;
}

/// The length (prefix included) of the first whole message in `buf`, when
/// it is all there.
fn complete_frame(buf: &[u8], framing: Framing) -> Option<usize> {
    let total = match framing {
        Framing::Rfc4571 => 2 + u16::from_be_bytes([*buf.first()?, *buf.get(1)?]) as usize,
        // Both headers carry the length in bytes 2..4.
        Framing::Stun => crate::port::turn::stream_frame_len(buf)?,
    };
    (buf.len() >= total).then_some(total)
}

/// Appends `frame` to `out` as it goes on the wire in `framing`.
fn frame_into(out: &mut Vec<u8>, framing: Framing, frame: &[u8]) {
    if framing == Framing::Rfc4571 {
        out.extend_from_slice(&(frame.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(frame);
}

/// Reads frames from a connection and writes queued ones to it: each frame
/// with its length prefix in one `write` (frames waiting together share one),
/// from a buffer the writer keeps; over TLS, through the session.
#[allow(clippy::too_many_arguments)] // one task's whole state, passed once
pub(super) async fn run_connection<T: Copy + Send + 'static>(
    tag: T,
    base: SocketAddr,
    remote: SocketAddr,
    stream: TcpStream,
    framing: Framing,
    security: Security,
    frames: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<TcpEvent<T>>,
) {
    let error = match security {
        Security::Plain => {
            run_plain(tag, base, remote, stream, framing, frames, events.clone()).await;
            None
        }
        #[cfg(feature = "tls")]
        Security::Tls(session) => {
            let route = (tag, base, remote);
            let error = run_tls(route, stream, *session, frames, events.clone()).await;
            if let Some(e) = &error {
                tracing::warn!(%remote, error = %e, "TLS connection to the TURN server failed");
            }
            error
        }
    };
    let closed = TcpEvent::Closed {
        tag,
        base,
        remote,
        error,
    };
    let _ = events.send(closed).await;
}

async fn run_plain<T: Copy + Send + 'static>(
    tag: T,
    base: SocketAddr,
    remote: SocketAddr,
    stream: TcpStream,
    framing: Framing,
    mut frames: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<TcpEvent<T>>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let write = async move {
        let mut out = Vec::with_capacity(2 + 1500);
        while let Some(frame) = frames.recv().await {
            out.clear();
            frame_into(&mut out, framing, &frame);
            while out.len() < WRITE_BATCH {
                match frames.try_recv() {
                    Ok(next) => frame_into(&mut out, framing, &next),
                    Err(_) => break,
                }
            }
            if writer.write_all(&out).await.is_err() {
                return;
            }
        }
    };
    let read_events = events.clone();
    let read = async move {
        // Frames are split off one buffer: no allocation per frame, and a
        // frame's bytes can be decrypted in place by the owner.
        let mut buf = BytesMut::with_capacity(READ_BUFFER);
        loop {
            while let Some(total) = complete_frame(&buf, framing) {
                let mut data = buf.split_to(total);
                if framing == Framing::Rfc4571 {
                    data.advance(2);
                }
                let frame = TcpEvent::Frame {
                    tag,
                    base,
                    remote,
                    data,
                };
                if read_events.send(frame).await.is_err() {
                    return;
                }
            }
            // Room for at least the rest of a frame (at most 64 KiB + header).
            if buf.capacity() - buf.len() < READ_BUFFER / 4 {
                buf.reserve(READ_BUFFER);
            }
            match reader.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        () = write => {}
        () = read => {}
    }
}

/// A TLS connection's loop, in one task (the session is both directions'):
/// writes what the session produced, then waits for a frame to encrypt or
/// ciphertext to decrypt. Returns why it ended (`None`: the owner or the
/// server closed it in order).
#[cfg(feature = "tls")]
async fn run_tls<T: Copy + Send + 'static>(
    (tag, base, remote): (T, SocketAddr, SocketAddr),
    mut stream: TcpStream,
    mut session: crate::tls::TlsSession,
    mut frames: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<TcpEvent<T>>,
) -> Option<Error> {
    let handshake_deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    let mut out = Vec::with_capacity(READ_BUFFER);
    let mut cipher = vec![0u8; READ_BUFFER];
    let mut plain = BytesMut::with_capacity(READ_BUFFER);
    if let Err(e) = session.start() {
        return Some(e.into());
    }
    loop {
        session.take_output(&mut out);
        if !out.is_empty() {
            if let Err(e) = stream.write_all(&out).await {
                return Some(Error::Io(e.kind()));
            }
            out.clear();
        }
        while let Some(total) = complete_frame(&plain, Framing::Stun) {
            let data = plain.split_to(total);
            if events
                .send(TcpEvent::Frame {
                    tag,
                    base,
                    remote,
                    data,
                })
                .await
                .is_err()
            {
                return None;
            }
        }
        if session.is_closed() {
            return None;
        }
        if plain.capacity() - plain.len() < READ_BUFFER / 4 {
            plain.reserve(READ_BUFFER);
        }
        let established = session.is_established();
        tokio::select! {
            frame = frames.recv() => {
                // The owner let the connection go: an orderly end.
                let frame = frame?;
                let mut batch = frame.len();
                let mut next = Some(frame);
                while let Some(frame) = next.take() {
                    if let Err(e) = session.send(&frame) {
                        return Some(e.into());
                    }
                    if batch < WRITE_BATCH {
                        next = frames.try_recv().ok();
                        batch += next.as_ref().map_or(0, Bytes::len);
                    }
                }
            }
            read = stream.read(&mut cipher) => match read {
                Ok(0) if established => return None,
                Ok(0) => return Some(TlsError::Handshake("the server closed the connection".into()).into()),
                Ok(n) => {
                    if let Err(e) = session.handle_input(&cipher[..n], &mut plain) {
                        // Send the alert OpenSSL wrote, if any, before closing.
                        session.take_output(&mut out);
                        let _ = stream.write_all(&out).await;
                        return Some(e.into());
                    }
                }
                Err(e) => return Some(Error::Io(e.kind())),
            },
            () = tokio::time::sleep_until(handshake_deadline), if !established => {
                return Some(TlsError::Timeout.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_complete_only_when_all_their_bytes_are_there() {
        assert_eq!(complete_frame(&[], Framing::Rfc4571), None);
        assert_eq!(complete_frame(&[0], Framing::Rfc4571), None);
        assert_eq!(complete_frame(&[0, 3, 1, 2], Framing::Rfc4571), None);
        assert_eq!(
            complete_frame(&[0, 3, 1, 2, 3, 9], Framing::Rfc4571),
            Some(5)
        );
        assert_eq!(complete_frame(&[0, 0], Framing::Rfc4571), Some(2));
        // ChannelData over TCP: padded to four bytes.
        let cd = [0x40, 0x00, 0, 1, 7, 0, 0, 0];
        assert_eq!(complete_frame(&cd[..5], Framing::Stun), None);
        assert_eq!(complete_frame(&cd, Framing::Stun), Some(8));
    }

    #[test]
    fn rfc4571_frames_carry_their_length_in_the_same_buffer() {
        let mut out = Vec::new();
        frame_into(&mut out, Framing::Rfc4571, b"abc");
        frame_into(&mut out, Framing::Rfc4571, b"");
        frame_into(&mut out, Framing::Stun, b"xy");
        assert_eq!(out, [0, 3, b'a', b'b', b'c', 0, 0, b'x', b'y']);
    }
}
