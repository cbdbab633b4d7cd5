//! The stats objects' JSON against hand-written browser JSON with the W3C
//! member names (webrtc-stats), one object of every `RTCStatsType`.

use peerconnection::stats::*;
use peerconnection::Error;
use serde_json::{json, Value};

const T: f64 = 1_700_000_000_123.5;

/// One object of every type with its members set, and the JSON a browser
/// would give for it, written by hand with the W3C member names.
fn golden() -> Vec<(RtcStats, Value)> {
    vec![
        (
            RtcStats::Codec(RtcCodecStats {
                id: "COT01_111".into(),
                timestamp: T,
                payload_type: 111,
                transport_id: "T01".into(),
                mime_type: "audio/opus".into(),
                clock_rate: Some(48_000),
                channels: Some(2),
                sdp_fmtp_line: Some("minptime=10;useinbandfec=1".into()),
            }),
            json!({"type": "codec", "id": "COT01_111", "timestamp": T, "payloadType": 111,
                   "transportId": "T01", "mimeType": "audio/opus", "clockRate": 48000,
                   "channels": 2, "sdpFmtpLine": "minptime=10;useinbandfec=1"}),
        ),
        (
            RtcStats::InboundRtp(RtcInboundRtpStreamStats {
                id: "IT01V1234".into(),
                timestamp: T,
                ssrc: 1234,
                kind: MediaKind::Video,
                transport_id: Some("T01".into()),
                codec_id: Some("CIT01_96".into()),
                packets_received: Some(1000),
                packets_lost: Some(-2),
                jitter: Some(0.004),
                track_identifier: "track-1".into(),
                mid: Some("1".into()),
                remote_id: Some("ROV1234".into()),
                bytes_received: Some(1_200_000),
                header_bytes_received: Some(12_000),
                last_packet_received_timestamp: Some(T - 5.0),
                frames_received: Some(300),
                frames_decoded: Some(299),
                key_frames_decoded: Some(3),
                frames_dropped: Some(1),
                frame_width: Some(640),
                frame_height: Some(480),
                frames_per_second: Some(30.0),
                jitter_buffer_delay: Some(12.5),
                jitter_buffer_emitted_count: Some(299),
                nack_count: Some(4),
                fir_count: Some(0),
                pli_count: Some(1),
                total_samples_received: None,
                concealed_samples: None,
                audio_level: None,
            }),
            json!({"type": "inbound-rtp", "id": "IT01V1234", "timestamp": T, "ssrc": 1234,
                   "kind": "video", "transportId": "T01", "codecId": "CIT01_96",
                   "packetsReceived": 1000, "packetsLost": -2, "jitter": 0.004,
                   "trackIdentifier": "track-1", "mid": "1", "remoteId": "ROV1234",
                   "bytesReceived": 1200000, "headerBytesReceived": 12000,
                   "lastPacketReceivedTimestamp": T - 5.0, "framesReceived": 300,
                   "framesDecoded": 299, "keyFramesDecoded": 3, "framesDropped": 1,
                   "frameWidth": 640, "frameHeight": 480, "framesPerSecond": 30.0,
                   "jitterBufferDelay": 12.5, "jitterBufferEmittedCount": 299,
                   "nackCount": 4, "firCount": 0, "pliCount": 1}),
        ),
        (
            RtcStats::OutboundRtp(RtcOutboundRtpStreamStats {
                id: "OT01A5678".into(),
                timestamp: T,
                ssrc: 5678,
                kind: MediaKind::Audio,
                transport_id: Some("T01".into()),
                codec_id: Some("COT01_111".into()),
                packets_sent: Some(500),
                bytes_sent: Some(40_000),
                header_bytes_sent: Some(6_000),
                retransmitted_packets_sent: Some(0),
                retransmitted_bytes_sent: Some(0),
                mid: Some("0".into()),
                media_source_id: Some("SA1".into()),
                remote_id: Some("RIA5678".into()),
                rid: None,
                target_bitrate: Some(32_000.0),
                frames_encoded: None,
                key_frames_encoded: None,
                frames_sent: None,
                frame_width: None,
                frame_height: None,
                frames_per_second: None,
                nack_count: Some(0),
                fir_count: None,
                pli_count: None,
                active: Some(true),
            }),
            json!({"type": "outbound-rtp", "id": "OT01A5678", "timestamp": T, "ssrc": 5678,
                   "kind": "audio", "transportId": "T01", "codecId": "COT01_111",
                   "packetsSent": 500, "bytesSent": 40000, "headerBytesSent": 6000,
                   "retransmittedPacketsSent": 0, "retransmittedBytesSent": 0, "mid": "0",
                   "mediaSourceId": "SA1", "remoteId": "RIA5678", "targetBitrate": 32000.0,
                   "nackCount": 0, "active": true}),
        ),
        (
            RtcStats::RemoteInboundRtp(RtcRemoteInboundRtpStreamStats {
                id: "RIA5678".into(),
                timestamp: T,
                ssrc: 5678,
                kind: MediaKind::Audio,
                transport_id: Some("T01".into()),
                codec_id: Some("COT01_111".into()),
                packets_received: None,
                packets_lost: Some(3),
                jitter: Some(0.002),
                local_id: Some("OT01A5678".into()),
                round_trip_time: Some(0.021),
                total_round_trip_time: Some(0.5),
                fraction_lost: Some(0.0),
                round_trip_time_measurements: Some(24),
            }),
            json!({"type": "remote-inbound-rtp", "id": "RIA5678", "timestamp": T,
                   "ssrc": 5678, "kind": "audio", "transportId": "T01",
                   "codecId": "COT01_111", "packetsLost": 3, "jitter": 0.002,
                   "localId": "OT01A5678", "roundTripTime": 0.021,
                   "totalRoundTripTime": 0.5, "fractionLost": 0.0,
                   "roundTripTimeMeasurements": 24}),
        ),
        (
            RtcStats::RemoteOutboundRtp(RtcRemoteOutboundRtpStreamStats {
                id: "ROV1234".into(),
                timestamp: T,
                ssrc: 1234,
                kind: MediaKind::Video,
                transport_id: Some("T01".into()),
                codec_id: None,
                packets_sent: Some(1002),
                bytes_sent: Some(1_201_000),
                local_id: Some("IT01V1234".into()),
                remote_timestamp: Some(T - 100.0),
                reports_sent: Some(10),
                round_trip_time: None,
            }),
            json!({"type": "remote-outbound-rtp", "id": "ROV1234", "timestamp": T,
                   "ssrc": 1234, "kind": "video", "transportId": "T01",
                   "packetsSent": 1002, "bytesSent": 1201000, "localId": "IT01V1234",
                   "remoteTimestamp": T - 100.0, "reportsSent": 10}),
        ),
        (
            RtcStats::MediaSource(RtcMediaSourceStats {
                id: "SA1".into(),
                timestamp: T,
                track_identifier: "mic".into(),
                kind: MediaKind::Audio,
                audio_level: Some(0.25),
                total_audio_energy: Some(1.5),
                total_samples_duration: Some(10.0),
                width: None,
                height: None,
                frames: None,
                frames_per_second: None,
            }),
            json!({"type": "media-source", "id": "SA1", "timestamp": T,
                   "trackIdentifier": "mic", "kind": "audio", "audioLevel": 0.25,
                   "totalAudioEnergy": 1.5, "totalSamplesDuration": 10.0}),
        ),
        (
            RtcStats::PeerConnection(RtcPeerConnectionStats {
                id: "P".into(),
                timestamp: T,
                data_channels_opened: Some(2),
                data_channels_closed: Some(1),
            }),
            json!({"type": "peer-connection", "id": "P", "timestamp": T,
                   "dataChannelsOpened": 2, "dataChannelsClosed": 1}),
        ),
        (
            RtcStats::DataChannel(RtcDataChannelStats {
                id: "D1".into(),
                timestamp: T,
                label: Some("chat".into()),
                protocol: Some(String::new()),
                data_channel_identifier: Some(1),
                state: DataChannelState::Open,
                messages_sent: Some(7),
                bytes_sent: Some(70),
                messages_received: Some(8),
                bytes_received: Some(80),
            }),
            json!({"type": "data-channel", "id": "D1", "timestamp": T, "label": "chat",
                   "protocol": "", "dataChannelIdentifier": 1, "state": "open",
                   "messagesSent": 7, "bytesSent": 70, "messagesReceived": 8,
                   "bytesReceived": 80}),
        ),
        (
            RtcStats::Transport(RtcTransportStats {
                id: "T01".into(),
                timestamp: T,
                packets_sent: Some(1500),
                packets_received: Some(1600),
                bytes_sent: Some(100_000),
                bytes_received: Some(1_300_000),
                ice_role: Some(IceRole::Controlling),
                ice_local_username_fragment: Some("abcd".into()),
                dtls_state: DtlsTransportState::Connected,
                ice_state: Some(IceTransportState::Connected),
                selected_candidate_pair_id: Some("CPa_b".into()),
                local_certificate_id: Some("CFlocal".into()),
                remote_certificate_id: Some("CFremote".into()),
                tls_version: Some("FEFD".into()),
                dtls_cipher: Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into()),
                dtls_role: Some(DtlsRole::Client),
                srtp_cipher: Some("AES_CM_128_HMAC_SHA1_80".into()),
                selected_candidate_pair_changes: Some(1),
            }),
            json!({"type": "transport", "id": "T01", "timestamp": T, "packetsSent": 1500,
                   "packetsReceived": 1600, "bytesSent": 100000, "bytesReceived": 1300000,
                   "iceRole": "controlling", "iceLocalUsernameFragment": "abcd",
                   "dtlsState": "connected", "iceState": "connected",
                   "selectedCandidatePairId": "CPa_b", "localCertificateId": "CFlocal",
                   "remoteCertificateId": "CFremote", "tlsVersion": "FEFD",
                   "dtlsCipher": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                   "dtlsRole": "client", "srtpCipher": "AES_CM_128_HMAC_SHA1_80",
                   "selectedCandidatePairChanges": 1}),
        ),
        (
            RtcStats::CandidatePair(RtcIceCandidatePairStats {
                id: "CPa_b".into(),
                timestamp: T,
                transport_id: "T01".into(),
                local_candidate_id: "Ia".into(),
                remote_candidate_id: "Ib".into(),
                state: IceCandidatePairState::InProgress,
                nominated: Some(true),
                packets_sent: Some(10),
                packets_received: Some(11),
                bytes_sent: Some(1000),
                bytes_received: Some(1100),
                last_packet_sent_timestamp: Some(T - 1.0),
                last_packet_received_timestamp: Some(T - 2.0),
                total_round_trip_time: Some(0.3),
                current_round_trip_time: Some(0.01),
                available_outgoing_bitrate: Some(2_500_000.0),
                available_incoming_bitrate: None,
                requests_received: Some(5),
                requests_sent: Some(6),
                responses_received: Some(6),
                responses_sent: Some(5),
                consent_requests_sent: Some(2),
            }),
            json!({"type": "candidate-pair", "id": "CPa_b", "timestamp": T,
                   "transportId": "T01", "localCandidateId": "Ia", "remoteCandidateId": "Ib",
                   "state": "in-progress", "nominated": true, "packetsSent": 10,
                   "packetsReceived": 11, "bytesSent": 1000, "bytesReceived": 1100,
                   "lastPacketSentTimestamp": T - 1.0,
                   "lastPacketReceivedTimestamp": T - 2.0, "totalRoundTripTime": 0.3,
                   "currentRoundTripTime": 0.01, "availableOutgoingBitrate": 2500000.0,
                   "requestsReceived": 5, "requestsSent": 6, "responsesReceived": 6,
                   "responsesSent": 5, "consentRequestsSent": 2}),
        ),
        (
            RtcStats::LocalCandidate(RtcIceCandidateStats {
                id: "Ia".into(),
                timestamp: T,
                transport_id: "T01".into(),
                address: Some("127.0.0.1".into()),
                port: Some(50_000),
                protocol: Some(IceProtocol::Udp),
                candidate_type: IceCandidateType::Relay,
                priority: Some(41_885_439),
                url: Some("turn:127.0.0.1:3478?transport=udp".into()),
                relay_protocol: Some(RelayProtocol::Udp),
                foundation: Some("1".into()),
                related_address: Some("127.0.0.1".into()),
                related_port: Some(40_000),
                username_fragment: Some("abcd".into()),
            }),
            json!({"type": "local-candidate", "id": "Ia", "timestamp": T,
                   "transportId": "T01", "address": "127.0.0.1", "port": 50000,
                   "protocol": "udp", "candidateType": "relay", "priority": 41885439,
                   "url": "turn:127.0.0.1:3478?transport=udp", "relayProtocol": "udp",
                   "foundation": "1", "relatedAddress": "127.0.0.1", "relatedPort": 40000,
                   "usernameFragment": "abcd"}),
        ),
        (
            RtcStats::RemoteCandidate(RtcIceCandidateStats {
                id: "Ib".into(),
                timestamp: T,
                transport_id: "T01".into(),
                address: Some("::1".into()),
                port: Some(50_001),
                protocol: Some(IceProtocol::Tcp),
                candidate_type: IceCandidateType::Srflx,
                ..RtcIceCandidateStats::default()
            }),
            json!({"type": "remote-candidate", "id": "Ib", "timestamp": T,
                   "transportId": "T01", "address": "::1", "port": 50001,
                   "protocol": "tcp", "candidateType": "srflx"}),
        ),
        (
            RtcStats::Certificate(RtcCertificateStats {
                id: "CFlocal".into(),
                timestamp: T,
                fingerprint: "AB:CD:EF".into(),
                fingerprint_algorithm: "sha-256".into(),
                base64_certificate: "MIIB".into(),
                issuer_certificate_id: None,
            }),
            json!({"type": "certificate", "id": "CFlocal", "timestamp": T,
                   "fingerprint": "AB:CD:EF", "fingerprintAlgorithm": "sha-256",
                   "base64Certificate": "MIIB"}),
        ),
    ]
}

#[test]
fn every_type_serialises_to_the_w3c_json() {
    for (stats, expected) in golden() {
        let written = serde_json::to_value(&stats).expect("serialise");
        assert_eq!(written, expected, "{}", stats.stats_type());
        assert_eq!(written["type"], stats.stats_type());
        assert_eq!(written["id"], stats.id());
        assert_eq!(written["timestamp"], stats.timestamp());
    }
}

#[test]
fn every_w3c_type_string_is_covered_once() {
    let types: Vec<&str> = golden().iter().map(|(s, _)| s.stats_type()).collect();
    assert_eq!(
        types,
        [
            "codec",
            "inbound-rtp",
            "outbound-rtp",
            "remote-inbound-rtp",
            "remote-outbound-rtp",
            "media-source",
            "peer-connection",
            "data-channel",
            "transport",
            "candidate-pair",
            "local-candidate",
            "remote-candidate",
            "certificate",
        ]
    );
}

#[test]
fn the_browser_json_reads_back_into_the_same_objects() {
    for (stats, json) in golden() {
        let read: RtcStats = serde_json::from_value(json).expect("deserialise");
        assert_eq!(read, stats);
    }
}

#[test]
fn a_report_round_trips_as_a_json_array_in_id_order() {
    let report: RtcStatsReport = golden().into_iter().map(|(s, _)| s).collect();
    assert_eq!(report.len(), 13);
    let json = report.to_json();
    let array: Value = serde_json::from_str(&json).expect("JSON");
    let ids: Vec<&str> = array
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    assert_eq!(
        RtcStatsReport::from_json(&json).expect("round trip"),
        report
    );
    assert!(matches!(
        report.get("CPa_b"),
        Some(RtcStats::CandidatePair(pair)) if pair.nominated == Some(true)
    ));
}

#[test]
fn none_members_are_absent() {
    let stats = RtcStats::OutboundRtp(RtcOutboundRtpStreamStats {
        id: "O".into(),
        timestamp: T,
        ssrc: 1,
        kind: MediaKind::Video,
        ..RtcOutboundRtpStreamStats::default()
    });
    let written = serde_json::to_value(&stats).expect("serialise");
    assert_eq!(
        written,
        json!({"type": "outbound-rtp", "id": "O", "timestamp": T, "ssrc": 1, "kind": "video"})
    );
    let pair = RtcStats::CandidatePair(RtcIceCandidatePairStats::default());
    let written = serde_json::to_value(&pair).expect("serialise");
    let members: Vec<&str> = written
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(members.len(), 7, "{members:?}");
    for member in ["bytesSent", "nominated", "currentRoundTripTime"] {
        assert!(written.get(member).is_none(), "{member}");
    }
}

#[test]
fn a_later_object_with_the_same_id_replaces_the_earlier() {
    let mut report = RtcStatsReport::new();
    let first = RtcStats::PeerConnection(RtcPeerConnectionStats {
        id: "P".into(),
        ..RtcPeerConnectionStats::default()
    });
    let second = RtcStats::PeerConnection(RtcPeerConnectionStats {
        id: "P".into(),
        data_channels_opened: Some(1),
        ..RtcPeerConnectionStats::default()
    });
    assert_eq!(report.insert(first.clone()), None);
    assert_eq!(report.insert(second.clone()), Some(first));
    assert_eq!(report.iter().collect::<Vec<_>>(), [&second]);
}

#[test]
fn malformed_reports_are_refused() {
    for json in [
        r#"{}"#,
        r#"[{"type": "candidate-pair", "id": "x"}]"#,
        r#"[{"type": "rtp", "id": "x", "timestamp": 1}]"#,
        r#"[{"type": "candidate-pair", "id": "x", "timestamp": 1, "transportId": "T",
             "localCandidateId": "a", "remoteCandidateId": "b", "state": "inprogress"}]"#,
    ] {
        assert!(
            matches!(
                RtcStatsReport::from_json(json),
                Err(Error::Json {
                    what: "RTCStatsReport",
                    ..
                })
            ),
            "{json}"
        );
    }
    let empty = RtcStatsReport::from_json("[]").expect("empty report");
    assert!(empty.is_empty());
}
