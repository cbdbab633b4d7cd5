//! The media channels against real headless Chromium (`cargo xtask test-all --only
//! interop-sdp` runs this file too, in a loopback-only network namespace with
//! `PEERSTACK_REQUIRE_CHROMIUM=1`). Without Chromium or its venv the test prints why and
//! passes; see the sdp crate's `tests/support/chromium.rs`, which this file shares.
//!
//! Chromium offers its fake microphone and camera; the sdp crate's factory answers, our
//! TransportController (tokio driver) connects with ICE + DTLS-SRTP, and a
//! [`ChannelManager`] with one [`BaseChannel`] per section takes the plain RTP and RTCP:
//! Chromium's Opus frames and VP8 frames arrive reassembled (keyframes detected), and
//! every frame is sent straight back on our own stream. Chromium's decoder counts the VP8
//! frames we packetized (`framesDecoded` in its `inbound-rtp` stats) and its audio
//! pipeline the Opus ones: the packetization, SSRCs, payload types, header extensions and
//! RTCP our channels write are good enough for a browser to play.

#[path = "../../sdp/tests/support/chromium.rs"]
mod chromium;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chromium::{ChromiumPeer, Media};
use dtls_transport::certificate::{Certificate, KeyType, DEFAULT_VALIDITY};
use dtls_transport::controller::{ControllerConfig, ControllerEvent};
use dtls_transport::driver::{AsyncTransportController, DriverConfig, TransportHandle};
use dtls_transport::dtls::{DtlsRole, Setup};
use dtls_transport::ice::network::NetworkFilter;
use dtls_transport::ice::{Credentials, IceConfig, IceRole};
use media_channels::base_channel::{BaseChannel, ChannelConfig, ChannelEvent};
use media_channels::channel_manager::ChannelManager;
use media_channels::rtp::stats::NtpTime;
use sdp::factory::{
    MediaDescriptionOptions, MediaSessionDescriptionFactory, MediaSessionOptions, SenderOptions,
    TransportDescriptionFactory,
};
use sdp::model::{MediaType, SessionDescription};
use sdp::{JsepIceCandidate, JsepSessionDescription, SdpType};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

/// A transport controller on 127.0.0.1 and a factory writing its fingerprint.
fn our_side() -> (AsyncTransportController, MediaSessionDescriptionFactory) {
    let certificate = Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap();
    let ice = IceConfig {
        role: IceRole::Controlled,
        ..Default::default()
    };
    let mut config = DriverConfig::new(ControllerConfig::new(certificate, ice));
    config.networks = NetworkFilter::only(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let controller = AsyncTransportController::new(config).unwrap();
    let factory = MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
        controller.local_fingerprint(),
    ));
    (controller, factory)
}

/// Options accepting every section of `offer`, sendrecv with a track.
fn accept_all(offer: &SessionDescription) -> MediaSessionOptions {
    MediaSessionOptions::with_sections(
        offer
            .contents
            .iter()
            .map(|c| {
                MediaDescriptionOptions::new(c.media.media_type.clone(), &c.mid)
                    .with_sender(SenderOptions::new(&format!("track-{}", c.mid), &["ours"]))
            })
            .collect(),
    )
}

/// Connects our controller to Chromium's offer with our answer: returns the answer and the
/// bundled transport's handle once both sides are connected.
fn connect(
    chromium: &mut ChromiumPeer,
    rt: &tokio::runtime::Runtime,
    offer: &JsepSessionDescription,
) -> Result<
    (
        SessionDescription,
        TransportHandle,
        AsyncTransportController,
    ),
    Box<dyn std::error::Error>,
> {
    let (controller, factory) = rt.block_on(async { our_side() });
    let mut answer =
        factory.create_answer(offer.description(), &accept_all(offer.description()), None)?;
    let role = DtlsRole::from_setup(
        answer.contents[0].transport.setup.unwrap_or(Setup::Active),
        Setup::ActPass,
    )?;
    let name = answer.bundle_group().expect("bundled").mids[0].to_string();
    let (answer_sdp, handle) = rt.block_on(async {
        let handle = controller.add_transport(&name, role).await.unwrap();
        let creds = handle.local_credentials().clone();
        for c in answer.contents.iter_mut().filter(|c| !c.rejected) {
            c.transport.ice_ufrag = creds.ufrag.as_str().into();
            c.transport.ice_pwd = creds.pwd.as_str().into();
        }
        let theirs = &offer.description().contents[0].transport;
        controller
            .set_remote_fingerprints(&name, &theirs.fingerprints)
            .await
            .unwrap();
        let creds = Credentials::new(&theirs.ice_ufrag, &theirs.ice_pwd).unwrap();
        controller
            .set_remote_credentials(&name, creds)
            .await
            .unwrap();
        for c in offer.candidates(0).unwrap().iter() {
            let _ = controller
                .add_remote_candidate(&name, c.candidate.clone())
                .await;
        }
        controller.start_gathering().await.unwrap();
        let mut ours = JsepSessionDescription::new(SdpType::Answer, answer.clone());
        loop {
            match tokio::time::timeout(WAIT, controller.next_event())
                .await
                .expect("gathering ends")
                .expect("driver alive")
            {
                ControllerEvent::Candidate {
                    transport,
                    candidate,
                } if transport == name => {
                    ours.add_candidate(JsepIceCandidate::new(&name, 0, candidate))
                        .unwrap();
                }
                ControllerEvent::EndOfCandidates { transport } if transport == name => break,
                _ => {}
            }
        }
        ours.set_end_of_candidates(Some(&name), None).unwrap();
        (ours.to_sdp(), handle)
    });
    chromium.set_remote("c", "answer", &answer_sdp)?;
    chromium.wait_state("c", "connected", WAIT)?;
    rt.block_on(async { tokio::time::timeout(WAIT, controller.connected()).await })??;
    Ok((answer, handle, controller))
}

/// What the pump saw.
#[derive(Debug, Default, Clone)]
struct Seen {
    audio_frames: u64,
    video_frames: u64,
    video_keyframes: u64,
    echoed: u64,
    keyframe_requests: u64,
    send_failures: u64,
    /// (payload type, SSRC, packets) of the RTP Chromium sent, for diagnostics.
    rtp: Vec<(u8, u32, u64)>,
    /// RTP no channel took.
    dropped_rtp: u64,
    /// Per channel: (MID, receive SSRCs with their packet counts).
    receiving: Vec<(String, Vec<(u32, u64)>)>,
}

#[test]
fn chromium_media_arrives_as_frames_and_our_packetized_echo_is_decoded(
) -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut chromium) = ChromiumPeer::start()? else {
        return Ok(());
    };
    chromium.new_pc("c", json!({"bundlePolicy": "max-bundle"}))?;
    let media = Media {
        audio: 1,
        video: 1,
        ..Media::default()
    };
    chromium.add_transceivers("c", &media)?;
    let offer = chromium.create_offer("c")?;
    chromium.set_local("c", "offer", &offer)?;
    let (gathered, _) = chromium.wait_gathering("c")?;
    let offer = JsepSessionDescription::parse(SdpType::Offer, &gathered.sdp)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (answer, handle, controller) = connect(&mut chromium, &rt, &offer)?;

    // One channel per section: our answer is the local description, Chromium's offer the
    // remote one.
    let start = Instant::now();
    let ntp = NtpTime::from_system_time(SystemTime::now());
    let mut manager = ChannelManager::new();
    let mut ids = Vec::new();
    for (ours, theirs) in answer.contents.iter().zip(&offer.description().contents) {
        let mut channel = BaseChannel::new(
            &ours.mid,
            ours.media.media_type.clone(),
            ChannelConfig::new(start, ntp),
        );
        channel.set_local_content(&ours.media)?;
        channel.set_remote_content(&theirs.media)?;
        let id = manager.add_channel((), channel);
        assert!(manager.update_demuxer(id));
        ids.push((id, ours.media.media_type.clone()));
    }
    manager.set_writable(start, (), true);

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let pump = {
        let (seen, stop, handle) = (seen.clone(), stop.clone(), handle.clone());
        rt.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                manager.handle_timeout(now);
                while let Some((id, event)) = manager.poll_event() {
                    let kind = ids.iter().find(|(i, _)| *i == id).map(|(_, k)| k.clone());
                    let mut s = seen.lock().unwrap();
                    match event {
                        ChannelEvent::Frame { frame, .. } => {
                            match kind {
                                Some(MediaType::Audio) => s.audio_frames += 1,
                                _ => {
                                    s.video_frames += 1;
                                    s.video_keyframes += u64::from(frame.keyframe);
                                }
                            }
                            // Straight back, on our stream of the same section.
                            let channel = manager.channel_mut(id).unwrap();
                            if channel
                                .send_frame(now, frame.rtp_timestamp, &frame.data)
                                .is_ok()
                            {
                                s.echoed += 1;
                            }
                        }
                        ChannelEvent::KeyframeRequested { .. } => {
                            // Chromium's decoder wants a keyframe of what we echo: ask
                            // Chromium's encoder for one.
                            s.keyframe_requests += 1;
                            manager.channel_mut(id).unwrap().request_keyframe(now);
                        }
                        _ => {}
                    }
                }
                while let Some(((), packet)) = manager.poll_transmit(now) {
                    let sent = if packet.rtcp {
                        handle.send_rtcp(packet.data).await
                    } else {
                        handle.send_rtp(packet.data).await
                    };
                    if sent.is_err() {
                        seen.lock().unwrap().send_failures += 1;
                    }
                }
                let deadline = manager
                    .poll_timeout()
                    .unwrap_or(now + Duration::from_millis(50))
                    .min(now + Duration::from_millis(50))
                    .max(now + Duration::from_micros(100));
                tokio::select! {
                    media = handle.recv_media() => match media {
                        Ok(m) if m.rtcp => manager.handle_rtcp(Instant::now(), (), &m.packet),
                        Ok(m) => {
                            if m.packet.len() >= 12 {
                                let (pt, ssrc) = (
                                    m.packet[1] & 0x7f,
                                    u32::from_be_bytes([m.packet[8], m.packet[9], m.packet[10], m.packet[11]]),
                                );
                                let mut s = seen.lock().unwrap();
                                match s.rtp.iter_mut().find(|(p, q, _)| (*p, *q) == (pt, ssrc)) {
                                    Some(e) => e.2 += 1,
                                    None => s.rtp.push((pt, ssrc, 1)),
                                }
                            }
                            manager.handle_rtp(Instant::now(), (), m.packet);
                            let mut s = seen.lock().unwrap();
                            s.dropped_rtp = manager.dropped_rtp();
                            s.receiving = manager
                                .channels()
                                .map(|(_, c)| {
                                    let streams = c
                                        .receive_ssrcs()
                                        .map(|ssrc| (ssrc, c.receive_counters(ssrc).map_or(0, |r| r.packets)))
                                        .collect();
                                    (c.mid().to_string(), streams)
                                })
                                .collect();
                        }
                        Err(_) => break,
                    },
                    () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {}
                }
            }
            manager
        })
    };

    // Chromium's frames arrive, reassembled; its camera's first frame is a keyframe.
    let deadline = Instant::now() + WAIT;
    loop {
        let s = seen.lock().unwrap().clone();
        if s.audio_frames >= 100 && s.video_frames >= 30 && s.video_keyframes >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not enough media from Chromium: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // What we packetized back is decoded by Chromium.
    let video = chromium.wait_inbound_frames("c", "video", 30, 20, WAIT)?;
    let audio = chromium.wait_inbound_frames("c", "audio", 100, 0, WAIT)?;
    stop.store(true, Ordering::Relaxed);
    let manager = rt.block_on(pump)?;
    let s = seen.lock().unwrap().clone();
    eprintln!(
        "ours: {s:?}\nChromium video inbound-rtp: {video}\nChromium audio inbound-rtp: {audio}"
    );
    assert!(
        video["framesDecoded"].as_u64().unwrap_or(0) >= 20,
        "{video}"
    );
    assert!(
        video["keyFramesDecoded"].as_u64().unwrap_or(0) >= 1,
        "{video}"
    );
    assert_eq!(video["mimeType"].as_str(), Some("video/VP8"), "{video}");
    assert_eq!(audio["mimeType"].as_str(), Some("audio/opus"), "{audio}");
    assert_eq!(s.send_failures, 0);
    assert_eq!(handle.srtp_errors(), 0);
    assert_eq!(
        manager.dropped_rtp(),
        0,
        "every packet from Chromium found its channel"
    );
    // The SSRCs Chromium decoded are the ones our answer signalled.
    let our_video_ssrc = answer.contents[1].media.ssrcs[0].ssrc;
    assert_eq!(
        video["ssrc"].as_u64(),
        Some(u64::from(our_video_ssrc)),
        "{video}"
    );
    chromium.close("c")?;
    rt.block_on(async { controller.close().await })?;
    Ok(())
}

/// Chromium's data channel over our SCTP transport: Chromium offers a data channel, our
/// answer accepts it, the TransportController connects, and an [`SctpTransport`] on our
/// side of DTLS opens the association (we are the DTLS client, so we send INIT). Chromium's
/// DCEP OPEN arrives as `ChannelOpen` with its label; every message it sends comes back
/// (echoed by us); a channel we open reaches Chromium's `ondatachannel` with our label
/// and its messages arrive in order.
#[test]
fn chromium_data_channel_talks_to_our_sctp_transport() -> Result<(), Box<dyn std::error::Error>> {
    use media_channels::data::{
        DataChannelEvent, DataChannelInit, DtlsRole as SctpRole, SctpConfig, SctpTransport,
    };

    let Some(mut chromium) = ChromiumPeer::start()? else {
        return Ok(());
    };
    chromium.new_pc("c", json!({"bundlePolicy": "max-bundle"}))?;
    let media = Media {
        data: true,
        ..Media::default()
    };
    chromium.add_transceivers("c", &media)?;
    let offer = chromium.create_offer("c")?;
    chromium.set_local("c", "offer", &offer)?;
    let (gathered, _) = chromium.wait_gathering("c")?;
    let offer = JsepSessionDescription::parse(SdpType::Offer, &gathered.sdp)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (answer, handle, controller) = connect(&mut chromium, &rt, &offer)?;
    assert!(answer.contents[0].media.is_sctp());
    let role = match answer.contents[0].transport.setup {
        Some(Setup::Active) => SctpRole::Client,
        _ => SctpRole::Server,
    };
    let mut sctp = SctpTransport::new(SctpConfig::default(), role);
    if let Some(max) = offer.description().contents[0].media.max_message_size {
        sctp.set_remote_max_message_size(u32::try_from(max).unwrap_or(u32::MAX));
    }

    #[derive(Debug, Default, Clone)]
    struct Seen {
        opened: Vec<String>,
        echoed: u64,
        errors: Vec<String>,
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let pump =
        {
            let (seen, stop, handle) = (seen.clone(), stop.clone(), handle.clone());
            rt.spawn(async move {
            sctp.connect(Instant::now()).expect("connect");
            let mut ours = None;
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                if sctp.poll_timeout().is_some_and(|t| t <= now) {
                    sctp.handle_timeout(now);
                }
                while let Some(event) = sctp.poll_event() {
                    let mut s = seen.lock().unwrap();
                    match event {
                        DataChannelEvent::Connected => {
                            let id = sctp
                                .create_channel(now, DataChannelInit::new("ours"))
                                .expect("our channel");
                            ours = Some(id);
                            for i in 0..3 {
                                sctp.send_text(now, id, &format!("from us {i}")).unwrap();
                            }
                        }
                        DataChannelEvent::ChannelOpen { label, .. } => s.opened.push(label),
                        DataChannelEvent::Message { id, binary, data }
                            if Some(id) != ours && sctp.send(now, id, &data, binary).is_ok() =>
                        {
                            s.echoed += 1;
                        }
                        DataChannelEvent::Error { error, .. } => s.errors.push(error.to_string()),
                        _ => {}
                    }
                }
                while let Some(datagram) = sctp.poll_transmit(now) {
                    if handle.send_data(&datagram).await.is_err() {
                        return;
                    }
                }
                let deadline = sctp
                    .poll_timeout()
                    .unwrap_or(now + Duration::from_millis(50))
                    .clamp(now + Duration::from_micros(100), now + Duration::from_millis(50));
                tokio::select! {
                    data = handle.recv_data() => match data {
                        Ok(d) => sctp.handle_receive_bytes(Instant::now(), d),
                        Err(_) => return,
                    },
                    () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {}
                }
            }
        })
        };

    chromium.dc_send("c", "peerstack", "ping", 5)?;
    let echoed = chromium.dc_received("c", "peerstack", 5, WAIT)?;
    let ours = chromium.dc_received("c", "ours", 3, WAIT)?;
    stop.store(true, Ordering::Relaxed);
    rt.block_on(pump)?;
    let s = seen.lock().unwrap().clone();
    eprintln!("ours: {s:?}");
    assert_eq!(
        echoed,
        (0..5).map(|i| format!("ping {i}")).collect::<Vec<_>>(),
        "Chromium's messages came back in order"
    );
    assert_eq!(
        ours,
        (0..3).map(|i| format!("from us {i}")).collect::<Vec<_>>()
    );
    assert!(s.opened.contains(&"peerstack".to_string()), "{s:?}");
    assert!(s.errors.is_empty(), "{s:?}");
    assert_eq!(s.echoed, 5);
    chromium.close("c")?;
    rt.block_on(async { controller.close().await })?;
    Ok(())
}
