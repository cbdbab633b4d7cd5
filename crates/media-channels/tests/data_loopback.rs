//! Data channels between two of our stacks over real ICE and DTLS on
//! 127.0.0.1: two TransportController drivers (UDP sockets, ICE, DTLS with
//! verified fingerprints) carry two `SctpTransport`s. A reliable ordered
//! channel moves 2 MB in messages of up to 64 KiB, identical and in order;
//! an unordered one carries text both ways; closing a channel by stream
//! reset closes it on both sides.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dtls_transport::certificate::{Certificate, KeyType};
use dtls_transport::controller::{ControllerConfig, ControllerEvent};
use dtls_transport::driver::{AsyncTransportController, DriverConfig, TransportHandle};
use dtls_transport::dtls::DtlsRole;
use dtls_transport::ice::network::NetworkFilter;
use dtls_transport::ice::{IceConfig, IceRole};
use media_channels::data::{
    DataChannelEvent, DataChannelInit, DtlsRole as SctpRole, SctpConfig, SctpTransport,
};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(30);

/// Messages of the bulk transfer (about 2 MB).
const MESSAGES: usize = 64;

fn driver(role: IceRole) -> AsyncTransportController {
    let certificate =
        Certificate::generate(KeyType::EcdsaP256, Duration::from_secs(86_400)).unwrap();
    let ice = IceConfig {
        role,
        ..Default::default()
    };
    let mut config = DriverConfig::new(ControllerConfig::new(certificate, ice));
    config.networks = NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    AsyncTransportController::new(config).unwrap()
}

async fn signal(from: &AsyncTransportController, to: &AsyncTransportController) {
    loop {
        match timeout(WAIT, from.next_event()).await.unwrap().unwrap() {
            ControllerEvent::Candidate {
                transport,
                candidate,
            } => to
                .add_remote_candidate(&transport, candidate)
                .await
                .unwrap(),
            ControllerEvent::EndOfCandidates { transport } => {
                to.end_of_remote_candidates(&transport).await.unwrap();
                return;
            }
            _ => {}
        }
    }
}

/// One side: its SCTP transport pumped over its DTLS transport until `done`
/// says so; every event is handed to `on_event`, which may send.
async fn pump(
    handle: TransportHandle,
    mut sctp: SctpTransport,
    mut on_event: impl FnMut(&mut SctpTransport, Instant, DataChannelEvent) -> bool,
) -> SctpTransport {
    let mut done = false;
    while !done {
        let now = Instant::now();
        if sctp.poll_timeout().is_some_and(|t| t <= now) {
            sctp.handle_timeout(now);
        }
        while let Some(event) = sctp.poll_event() {
            done |= on_event(&mut sctp, now, event);
        }
        while let Some(datagram) = sctp.poll_transmit(now) {
            handle.send_data(&datagram).await.expect("DTLS send");
        }
        if done {
            break;
        }
        let deadline = sctp
            .poll_timeout()
            .unwrap_or(now + Duration::from_millis(50))
            .clamp(
                now + Duration::from_micros(100),
                now + Duration::from_millis(50),
            );
        tokio::select! {
            data = handle.recv_data() => sctp.handle_receive_bytes(Instant::now(), data.expect("DTLS open")),
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {}
        }
    }
    // Let the last acknowledgements and resets out.
    let end = Instant::now() + Duration::from_millis(200);
    while Instant::now() < end {
        let now = Instant::now();
        if sctp.poll_timeout().is_some_and(|t| t <= now) {
            sctp.handle_timeout(now);
        }
        while let Some(datagram) = sctp.poll_transmit(now) {
            let _ = handle.send_data(&datagram).await;
        }
        tokio::select! {
            data = handle.recv_data() => match data {
                Ok(d) => sctp.handle_receive_bytes(Instant::now(), d),
                Err(_) => break,
            },
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
    sctp
}

/// Message `i` of the bulk transfer: 1 byte to 64 KiB, its bytes derived from `i`.
fn message(i: usize) -> Bytes {
    let len = 1 + (i * 7919) % 65_536;
    Bytes::from((0..len).map(|k| (k * 31 + i) as u8).collect::<Vec<u8>>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_channels_over_our_ice_and_dtls_on_loopback() {
    let a = driver(IceRole::Controlling);
    let b = driver(IceRole::Controlled);
    let ta = a.add_transport("0", DtlsRole::Client).await.unwrap();
    let tb = b.add_transport("0", DtlsRole::Server).await.unwrap();
    a.set_remote_fingerprint("0", b.local_fingerprint())
        .await
        .unwrap();
    b.set_remote_fingerprint("0", a.local_fingerprint())
        .await
        .unwrap();
    a.set_remote_credentials("0", tb.local_credentials().clone())
        .await
        .unwrap();
    b.set_remote_credentials("0", ta.local_credentials().clone())
        .await
        .unwrap();
    a.start_gathering().await.unwrap();
    b.start_gathering().await.unwrap();
    tokio::join!(signal(&a, &b), signal(&b, &a));
    timeout(WAIT, a.connected()).await.unwrap().unwrap();
    timeout(WAIT, b.connected()).await.unwrap().unwrap();

    // The DTLS client (A) sends INIT; A opens both channels.
    let mut client = SctpTransport::new(SctpConfig::default(), SctpRole::Client);
    client.connect(Instant::now()).unwrap();
    let server = SctpTransport::new(SctpConfig::default(), SctpRole::Server);
    let total: usize = (0..MESSAGES).map(|i| message(i).len()).sum();
    assert!(total > 2_000_000, "{total} bytes");

    let sender = tokio::spawn(pump(ta.clone(), client, {
        let mut bulk = None;
        let mut text = None;
        let mut next = 0usize;
        let mut echoes = 0;
        move |sctp, now, event| {
            match event {
                DataChannelEvent::Connected => {
                    bulk = Some(
                        sctp.create_channel(now, DataChannelInit::new("bulk"))
                            .unwrap(),
                    );
                    let mut unordered = DataChannelInit::new("text");
                    unordered.ordered = false;
                    let id = sctp.create_channel(now, unordered).unwrap();
                    sctp.send_text(now, id, "hello from a").unwrap();
                    text = Some(id);
                }
                DataChannelEvent::Message { id, data, .. } if Some(id) == text => {
                    assert_eq!(&data[..], b"hello from b");
                    echoes += 1;
                }
                DataChannelEvent::ChannelClosed { id } if Some(id) == text => return true,
                _ => {}
            }
            // Keep a few MB queued on the bulk channel until all is sent.
            if let Some(id) = bulk {
                while next < MESSAGES && sctp.buffered_amount(id).unwrap_or(usize::MAX) < 2 << 20 {
                    sctp.send(now, id, &message(next), true).unwrap();
                    next += 1;
                }
            }
            let _ = echoes;
            false
        }
    }));
    let receiver = tokio::spawn(pump(tb.clone(), server, {
        let mut got = 0usize;
        let mut labels = Vec::new();
        let mut text = None;
        move |sctp, now, event| {
            match event {
                DataChannelEvent::ChannelOpen { id, label, .. } => {
                    if label == "text" {
                        text = Some(id);
                    }
                    labels.push(label);
                }
                DataChannelEvent::Message { id, data, .. } if Some(id) == text => {
                    assert_eq!(&data[..], b"hello from a");
                    sctp.send_text(now, id, "hello from b").unwrap();
                }
                DataChannelEvent::Message { data, .. } => {
                    assert_eq!(data, message(got), "bulk message {got}");
                    got += 1;
                    if got == MESSAGES {
                        // Everything arrived in order: close the text channel.
                        let id = text.expect("text channel open");
                        sctp.close(now, id).unwrap();
                    }
                }
                DataChannelEvent::ChannelClosed { .. } => {
                    assert_eq!(got, MESSAGES);
                    labels.sort();
                    assert_eq!(labels, ["bulk", "text"]);
                    return true;
                }
                DataChannelEvent::Error { error, .. } => panic!("{error}"),
                _ => {}
            }
            false
        }
    }));
    let started = Instant::now();
    let (client, server) = tokio::join!(timeout(WAIT, sender), timeout(WAIT, receiver));
    let (client, server) = (client.unwrap().unwrap(), server.unwrap().unwrap());
    eprintln!(
        "{:.1} MB over our ICE + DTLS on loopback in {:.2} s",
        total as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    assert!(client.is_connected() && server.is_connected());
    assert_eq!(ta.send_errors(), 0);
    a.close().await.unwrap();
    b.close().await.unwrap();
}
