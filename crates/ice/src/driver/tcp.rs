//! TCP connections of a [`PacketSockets`](super::PacketSockets): one small
//! task per listener (accepting) and per connection (reading frames and
//! writing queued ones), reporting to the owner over one channel.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How long connecting an active ICE-TCP candidate (or to a TURN server) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most bytes a writer gathers from its queue into one `write` call.
const WRITE_BATCH: usize = 64 * 1024;

/// Read buffer of a connection: frames are parsed out of it, so a small
/// frame costs no system call of its own.
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
    /// Opening a connection failed.
    ConnectFailed {
        tag: T,
        base: SocketAddr,
        remote: SocketAddr,
    },
    /// One frame arrived (without its RFC 4571 length prefix).
    Frame {
        tag: T,
        base: SocketAddr,
        remote: SocketAddr,
        data: Vec<u8>,
    },
    /// The connection ended.
    Closed {
        tag: T,
        base: SocketAddr,
        remote: SocketAddr,
    },
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
            TcpEvent::ConnectFailed { tag, base, remote }
        }
        Err(_) => TcpEvent::ConnectFailed { tag, base, remote },
    };
    let _ = events.send(event).await;
}

/// Reads one message in `framing`; `None` at the end of the stream or on error.
async fn read_frame<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
    framing: Framing,
) -> Option<Vec<u8>> {
    match framing {
        Framing::Rfc4571 => {
            let mut len = [0u8; 2];
            reader.read_exact(&mut len).await.ok()?;
            let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
            reader.read_exact(&mut buf).await.ok()?;
            Some(buf)
        }
        Framing::Stun => {
            // Both headers carry the length in bytes 2..4: read four bytes, then the rest.
            let mut buf = vec![0u8; 4];
            reader.read_exact(&mut buf).await.ok()?;
            let total = crate::port::turn::stream_frame_len(&buf)?;
            buf.resize(total.max(4), 0);
            reader.read_exact(&mut buf[4..]).await.ok()?;
            Some(buf)
        }
    }
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
/// from a buffer the writer keeps.
pub(super) async fn run_connection<T: Copy + Send + 'static>(
    tag: T,
    base: SocketAddr,
    remote: SocketAddr,
    stream: TcpStream,
    framing: Framing,
    mut frames: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<TcpEvent<T>>,
) {
    let (reader, mut writer) = stream.into_split();
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
        let mut reader = BufReader::with_capacity(READ_BUFFER, reader);
        while let Some(data) = read_frame(&mut reader, framing).await {
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
    };
    tokio::select! {
        () = write => {}
        () = read => {}
    }
    let _ = events.send(TcpEvent::Closed { tag, base, remote }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4571_frames_carry_their_length_in_the_same_buffer() {
        let mut out = Vec::new();
        frame_into(&mut out, Framing::Rfc4571, b"abc");
        frame_into(&mut out, Framing::Rfc4571, b"");
        frame_into(&mut out, Framing::Stun, b"xy");
        assert_eq!(out, [0, 3, b'a', b'b', b'c', 0, 0, b'x', b'y']);
    }
}
