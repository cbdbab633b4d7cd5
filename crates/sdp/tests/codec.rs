//! Unit-level parser and writer tests: each attribute lands in the right
//! field, errors name the right line, LF input, the crate-level example.

use sdp::model::{
    Candidate, Direction, Fingerprint, MediaType, RidDirection, RtcpFeedback, Setup, SimulcastLayer,
};
use sdp::{Error, SessionDescription, SmolStr};

const HEAD: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
const FP: &str = "sha-256 B6:D5:AF:89:1F:B3:74:84:8C:32:AD:00:56:FE:58:79:84:43:F9:3D:75:35:78:3E:0C:6A:07:D5:E0:DF:31:80";

/// A session with the given session attributes and sections (lines joined with CRLF).
fn sdp(session: &[&str], sections: &[&[&str]]) -> String {
    let mut s = HEAD.to_string();
    for l in session {
        s.push_str(l);
        s.push_str("\r\n");
    }
    for sec in sections {
        for l in *sec {
            s.push_str(l);
            s.push_str("\r\n");
        }
    }
    s
}

fn parse(text: &str) -> SessionDescription {
    sdp::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn parse_err(text: &str) -> (usize, &'static str, String) {
    match sdp::parse(text) {
        Err(Error::Parse {
            line,
            expected,
            found,
        }) => (line, expected, found),
        other => panic!("expected a parse error, got {other:?}\n{text}"),
    }
}

/// Parses, checks that writing and parsing again gives the same model, returns it.
fn round_trip(text: &str) -> SessionDescription {
    let d = parse(text);
    let w = sdp::write(&d);
    assert_eq!(sdp::parse(&w).unwrap(), d, "written:\n{w}");
    d
}

#[test]
fn crate_level_example() {
    let text = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    let desc = sdp::parse(text).unwrap();
    assert_eq!(desc.origin.session_version, 2);
    assert_eq!(sdp::write(&desc), text);
    assert_eq!(desc.to_string(), text);
    assert_eq!(text.parse::<SessionDescription>().unwrap(), desc);
}

#[test]
fn session_lines() {
    let d = round_trip(
        "v=0\r\no=alice 2890844526 2890842807 IN IP6 ::1\r\ns=Talk\r\ni=info\r\n\
         u=http://x\r\ne=a@b\r\np=+1 555\r\nc=IN IP4 224.2.17.12/127\r\nb=CT:128\r\n\
         t=2873397496 2873404696\r\nr=7d 1h 0 25h\r\nz=2882844526 -1h\r\nk=prompt\r\n\
         a=group:BUNDLE a b\r\na=group:LS a\r\na=msid-semantic:WMS *\r\na=ice-lite\r\n\
         a=ice-options:trickle renomination\r\na=extmap-allow-mixed\r\na=tool:x\r\na=recvonly\r\n",
    );
    assert_eq!(d.origin.username, "alice");
    assert_eq!(d.origin.session_id, 2890844526);
    assert_eq!(d.origin.session_version, 2890842807);
    assert_eq!(d.origin.address_type, "IP6");
    assert_eq!(d.origin.address, "::1");
    assert_eq!(d.session_name, "Talk");
    assert_eq!(d.session_info.as_deref(), Some("info"));
    assert_eq!(d.connection.as_ref().unwrap().address, "224.2.17.12/127");
    assert_eq!(d.bandwidths[0].kind, "CT");
    assert_eq!(d.bandwidths[0].value, 128);
    assert_eq!(d.timing, (2873397496, 2873404696));
    assert_eq!(d.groups.len(), 2);
    assert!(d.groups[0].is_bundle());
    assert_eq!(d.groups[0].mids, ["a", "b"]);
    assert_eq!(d.groups[1].semantics, "LS");
    let ms = d.msid_semantic.as_ref().unwrap();
    assert_eq!(
        (ms.semantic.as_str(), ms.ids.as_slice()),
        ("WMS", &[SmolStr::from("*")][..])
    );
    assert!(d.ice_lite);
    assert_eq!(d.ice_options, ["trickle", "renomination"]);
    assert!(d.extmap_allow_mixed);
    let extra: Vec<_> = d
        .extra_attributes
        .iter()
        .map(|a| (a.name.as_str(), a.value.as_deref()))
        .collect();
    assert_eq!(extra, [("tool", Some("x")), ("recvonly", None)]);
    assert!(d.contents.is_empty());
}

#[test]
fn msid_semantic_with_and_without_space() {
    for line in ["a=msid-semantic: WMS", "a=msid-semantic:WMS"] {
        let d = parse(&sdp(&[line], &[]));
        let ms = d.msid_semantic.unwrap();
        assert_eq!(ms.semantic, "WMS");
        assert!(ms.ids.is_empty());
    }
    let d = parse(&sdp(&["a=msid-semantic: WMS s1 s2"], &[]));
    assert_eq!(d.msid_semantic.unwrap().ids, ["s1", "s2"]);
    // Written the way Chromium writes it.
    assert!(sdp::write(&parse(&sdp(&["a=msid-semantic:WMS"], &[])))
        .contains("a=msid-semantic: WMS\r\n"));
}

const AUDIO: &[&str] = &[
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110",
    "c=IN IP4 0.0.0.0",
    "b=AS:64",
    "b=TIAS:64000",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=candidate:3348941282 1 udp 2122260223 192.168.1.20 56143 typ host generation 0 ufrag x5Ut network-id 1",
    "a=candidate:842163049 1 udp 1686052607 203.0.113.5 56143 typ srflx raddr 192.168.1.20 rport 56143 generation 0",
    "a=end-of-candidates",
    "a=ice-ufrag:x5Ut",
    "a=ice-pwd:Xwk8dJ4Zf9EH0nVn6qj7vKc2",
    "a=ice-options:trickle",
    "a=fingerprint:sha-256 B6:D5:AF:89:1F:B3:74:84:8C:32:AD:00:56:FE:58:79:84:43:F9:3D:75:35:78:3E:0C:6A:07:D5:E0:DF:31:80",
    "a=setup:actpass",
    "a=mid:0",
    "a=extmap-allow-mixed",
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "a=extmap:2/sendonly urn:ietf:params:rtp-hdrext:csrc-audio-level vad=on",
    "a=sendonly",
    "a=msid:stream track",
    "a=msid:other track",
    "a=rtcp-mux",
    "a=rtcp-mux-only",
    "a=rtcp-rsize",
    "a=rtcp-xr:rcvr-rtt=all",
    "a=rtcp-fb:* ccm tmmbr smaxpr=120",
    "a=rtpmap:111 opus/48000/2",
    "a=rtcp-fb:111 transport-cc",
    "a=rtcp-fb:111 nack",
    "a=fmtp:111 minptime=10; useinbandfec=1",
    "a=rtpmap:63 red/48000/2",
    "a=fmtp:63 111/111",
    "a=rtpmap:110 telephone-event/48000",
    "a=rtpmap:120 unlisted/90000",
    "a=fmtp:120 x=1",
    "a=maxptime:120",
    "a=ptime:20",
    "a=ssrc-group:FID 1001 1002",
    "a=ssrc:1001 cname:abc",
    "a=ssrc:1001 msid:stream track",
    "a=ssrc:1002 label",
    "a=x-unknown:1 2 3",
    "a=flag",
];

#[test]
fn audio_section_fields() {
    let d = round_trip(&sdp(&["a=group:BUNDLE 0"], &[AUDIO]));
    let c = &d.contents[0];
    let m = &c.media;
    let t = &c.transport;
    assert_eq!(c.mid, "0");
    assert!(!c.rejected && !c.bundle_only);
    assert_eq!(m.media_type, MediaType::Audio);
    assert_eq!(m.port, 9);
    assert_eq!(m.protocol, "UDP/TLS/RTP/SAVPF");
    assert!(m.formats.is_empty());
    assert_eq!(m.connection.as_ref().unwrap().address, "0.0.0.0");
    assert_eq!(m.bandwidths.len(), 2);
    assert_eq!(m.bandwidths[1].kind, "TIAS");
    assert_eq!(m.rtcp.as_deref(), Some("9 IN IP4 0.0.0.0"));
    // Codecs in m-line order, static ones filled in.
    let pts: Vec<u8> = m.codecs.iter().map(|c| c.payload_type).collect();
    assert_eq!(pts, [111, 63, 9, 0, 8, 13, 110]);
    let names: Vec<&str> = m.codecs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "opus",
            "red",
            "G722",
            "PCMU",
            "PCMA",
            "CN",
            "telephone-event"
        ]
    );
    let opus = m.codec(111).unwrap();
    assert_eq!((opus.clock_rate, opus.channels), (48000, Some(2)));
    assert_eq!(
        opus.params,
        [
            ("minptime".into(), "10".into()),
            ("useinbandfec".into(), "1".into())
        ]
    );
    assert_eq!(
        opus.feedback,
        [
            RtcpFeedback::new("transport-cc", None),
            RtcpFeedback::new("nack", None)
        ]
    );
    let red = m.codec(63).unwrap();
    assert_eq!(red.params, [(SmolStr::default(), SmolStr::from("111/111"))]);
    assert_eq!(m.codec(0).unwrap().clock_rate, 8000);
    assert_eq!(m.codec(0).unwrap().channels, None);
    assert_eq!(m.codec(9).unwrap().clock_rate, 8000);
    assert_eq!(
        m.wildcard_feedback,
        [RtcpFeedback::new("ccm", Some("tmmbr smaxpr=120"))]
    );
    // Extensions.
    assert_eq!(m.header_extensions.len(), 2);
    assert_eq!(m.header_extensions[0].id, 1);
    assert_eq!(m.header_extensions[0].direction, None);
    assert_eq!(m.header_extensions[1].direction, Some(Direction::SendOnly));
    assert_eq!(
        m.header_extensions[1].uri,
        "urn:ietf:params:rtp-hdrext:csrc-audio-level"
    );
    assert_eq!(m.header_extensions[1].attributes.as_deref(), Some("vad=on"));
    assert!(m.extmap_allow_mixed);
    assert_eq!(m.direction, Direction::SendOnly);
    assert!(m.direction_written);
    assert_eq!(m.msids.len(), 2);
    assert_eq!(m.msids[0].stream_id, "stream");
    assert_eq!(m.msids[0].track_id.as_deref(), Some("track"));
    assert!(m.rtcp_mux && m.rtcp_mux_only && m.rtcp_rsize);
    assert_eq!((m.ptime, m.max_ptime), (Some(20), Some(120)));
    assert_eq!(m.ssrc_groups[0].semantics, "FID");
    assert_eq!(m.ssrc_groups[0].ssrcs, [1001, 1002]);
    assert_eq!(m.ssrcs.len(), 3);
    assert_eq!(m.ssrc_attribute(1001, "cname"), Some("abc"));
    assert_eq!(m.ssrcs[2].name, "label");
    assert_eq!(m.ssrcs[2].value, None);
    // Unknown attributes (and those for unlisted payload types) kept in order,
    // Chromium's pre-codec ones first.
    let extra: Vec<_> = m
        .extra_attributes
        .iter()
        .map(|a| (a.name.as_str(), a.value.as_deref()))
        .collect();
    assert_eq!(
        extra,
        [
            ("rtcp-xr", Some("rcvr-rtt=all")),
            ("rtpmap", Some("120 unlisted/90000")),
            ("fmtp", Some("120 x=1")),
            ("x-unknown", Some("1 2 3")),
            ("flag", None),
        ]
    );
    // Transport.
    assert_eq!(t.ice_ufrag, "x5Ut");
    assert_eq!(t.ice_pwd, "Xwk8dJ4Zf9EH0nVn6qj7vKc2");
    assert_eq!(t.ice_options, ["trickle"]);
    assert_eq!(t.fingerprints, [FP.parse::<Fingerprint>().unwrap()]);
    assert_eq!(t.setup, Some(Setup::ActPass));
    assert_eq!(t.candidates.len(), 2);
    assert_eq!(t.candidates[1], AUDIO[6].parse::<Candidate>().unwrap());
    assert!(t.end_of_candidates);
}

#[test]
fn writer_uses_chromium_order() {
    let d = parse(&sdp(&["a=group:BUNDLE 0"], &[AUDIO]));
    let w = sdp::write(&d);
    let names: Vec<&str> = w
        .lines()
        .skip_while(|l| !l.starts_with("m="))
        .map(|l| {
            let l = l.trim_end_matches('\r');
            match l.strip_prefix("a=") {
                Some(a) => a.split([':', ' ']).next().unwrap(),
                None => &l[..1],
            }
        })
        .collect();
    let mut dedup: Vec<&str> = Vec::new();
    for n in names {
        if dedup.last() != Some(&n) {
            dedup.push(n);
        }
    }
    assert_eq!(
        dedup,
        [
            "m",
            "c",
            "b",
            "rtcp",
            "candidate",
            "end-of-candidates",
            "ice-ufrag",
            "ice-pwd",
            "ice-options",
            "fingerprint",
            "setup",
            "mid",
            "extmap-allow-mixed",
            "extmap",
            "sendonly",
            "msid",
            "rtcp-mux",
            "rtcp-mux-only",
            "rtcp-rsize",
            "rtcp-xr",
            "rtcp-fb",
            "rtpmap",
            "rtcp-fb",
            "fmtp",
            "rtpmap",
            "fmtp",
            "rtpmap",
            "maxptime",
            "ptime",
            "ssrc-group",
            "ssrc",
            "rtpmap",
            "fmtp",
            "x-unknown",
            "flag",
        ]
    );
    // Static payload types get an rtpmap, as Chromium writes them; RED's
    // parameter without a name comes back as written.
    assert!(w.contains("a=rtpmap:0 PCMU/8000\r\n"));
    assert!(w.contains("a=fmtp:63 111/111\r\n"));
    assert!(w.contains("a=fmtp:111 minptime=10;useinbandfec=1\r\n"));
    assert!(w.contains("a=rtcp-fb:* ccm tmmbr smaxpr=120\r\n"));
}

#[test]
fn video_rid_and_simulcast() {
    let d = round_trip(&sdp(
        &[],
        &[&[
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
            "a=mid:1",
            "a=rtpmap:96 VP8/90000",
            "a=rtpmap:97 rtx/90000",
            "a=fmtp:97 apt=96",
            "a=rid:q send",
            "a=rid:h send max-width=640;max-height=360",
            "a=rid:r recv pt=96",
            "a=simulcast:send q;h,~f;~x recv r",
        ]],
    ));
    let m = &d.contents[0].media;
    assert_eq!(m.codec(97).unwrap().apt(), Some(96));
    assert_eq!(m.rids.len(), 3);
    assert_eq!(
        m.rids[1].restrictions.as_deref(),
        Some("max-width=640;max-height=360")
    );
    assert_eq!(m.rids[2].direction, RidDirection::Recv);
    let s = m.simulcast.as_ref().unwrap();
    let l = |rid: &str, paused| SimulcastLayer {
        rid: rid.into(),
        paused,
    };
    assert_eq!(
        s.send,
        vec![
            vec![l("q", false)],
            vec![l("h", false), l("f", true)],
            vec![l("x", true)]
        ]
    );
    assert_eq!(s.recv, vec![vec![l("r", false)]]);
    // recv first is accepted; written send first.
    let d2 = parse(&sdp(
        &[],
        &[&[
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "a=simulcast:recv a send b",
        ]],
    ));
    let w = sdp::write(&d2);
    assert!(w.contains("a=simulcast:send b recv a\r\n"), "{w}");
    assert_eq!(m.streams()[0].rids, ["q", "h"]);
}

#[test]
fn data_section() {
    let d = round_trip(&sdp(
        &[],
        &[&[
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            "c=IN IP4 0.0.0.0",
            "a=mid:2",
            "a=sctp-port:5000",
            "a=max-message-size:262144",
        ]],
    ));
    let m = &d.contents[0].media;
    assert!(m.is_sctp());
    assert_eq!(m.formats, ["webrtc-datachannel"]);
    assert!(m.codecs.is_empty());
    assert_eq!(m.sctp_port, Some(5000));
    assert_eq!(m.max_message_size, Some(262144));
    assert!(!m.direction_written);
    assert_eq!(m.direction, Direction::SendRecv);
}

#[test]
fn rejected_and_bundle_only() {
    let d = round_trip(&sdp(
        &[],
        &[
            &["m=audio 0 UDP/TLS/RTP/SAVPF 0", "a=mid:0"],
            &[
                "m=video 0 UDP/TLS/RTP/SAVPF 96",
                "a=bundle-only",
                "a=mid:1",
                "a=rtpmap:96 VP8/90000",
            ],
            &["m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=mid:2"],
        ],
    ));
    assert!(d.contents[0].rejected);
    assert!(!d.contents[1].rejected);
    assert!(d.contents[1].bundle_only);
    assert_eq!(d.contents[1].media.port, 0);
    assert!(!d.contents[2].rejected);
    // A rejected content is written with port 0.
    let mut d = d;
    d.contents[2].rejected = true;
    assert!(sdp::write(&d).contains("m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:2\r\n"));
}

#[test]
fn session_level_transport_is_inherited() {
    // Firefox puts the fingerprint (and ice-options) at session level.
    let d = round_trip(&sdp(
        &[
            &format!("a=fingerprint:{FP}"),
            "a=ice-options:trickle",
            "a=ice-ufrag:sess",
            "a=ice-pwd:sessionpasswordsessionpwd",
            "a=setup:actpass",
        ],
        &[
            &["m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=mid:0"],
            &[
                "m=audio 9 UDP/TLS/RTP/SAVPF 0",
                "a=mid:1",
                "a=ice-ufrag:ownx",
                "a=ice-pwd:ownpasswordownpasswordxx",
                "a=setup:passive",
                "a=ice-options:renomination",
            ],
        ],
    ));
    assert_eq!(d.ice_options, ["trickle"]);
    let (a, b) = (&d.contents[0].transport, &d.contents[1].transport);
    assert_eq!(a.ice_ufrag, "sess");
    assert_eq!(a.ice_pwd, "sessionpasswordsessionpwd");
    assert_eq!(a.setup, Some(Setup::ActPass));
    assert_eq!(a.fingerprints.len(), 1);
    assert_eq!(a.ice_options, ["trickle"]);
    assert_eq!(b.ice_ufrag, "ownx");
    assert_eq!(b.setup, Some(Setup::Passive));
    assert_eq!(b.ice_options, ["renomination"]);
    assert_eq!(b.fingerprints, a.fingerprints);
}

#[test]
fn lf_input_and_missing_final_newline() {
    let text = sdp(&["a=group:BUNDLE 0"], &[AUDIO]);
    let crlf = parse(&text);
    let lf = text.replace("\r\n", "\n");
    assert_eq!(parse(&lf), crlf);
    assert_eq!(parse(lf.trim_end()), crlf);
    assert_eq!(parse(text.trim_end()), crlf);
    // Blank lines are skipped.
    assert_eq!(parse(&lf.replace("s=-\n", "s=-\n\n")), crlf);
}

#[test]
fn errors_name_the_line() {
    let cases: &[(String, usize)] = &[
        ("o=- 1 2 IN IP4 127.0.0.1\r\n".to_string(), 1),
        ("v=1\r\n".to_string(), 1),
        ("v=0\r\ns=-\r\n".to_string(), 2),
        ("v=0\r\no=- x 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n".to_string(), 2),
        ("v=0\r\no=- 1 2 IN IP4\r\ns=-\r\nt=0 0\r\n".to_string(), 2),
        ("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\nt=0 0\r\n".to_string(), 3),
        (format!("{HEAD}xyz\r\n"), 5),
        (format!("{HEAD}x=1\r\n"), 5),
        (format!("{HEAD}t=0\r\n"), 5),
        (format!("{HEAD}b=AS\r\n"), 5),
        (format!("{HEAD}c=IN IP4\r\n"), 5),
        (format!("{HEAD}a=group:\r\n"), 5),
        (format!("{HEAD}a=fingerprint:sha-256 00:11\r\n"), 5),
        (format!("{HEAD}m=audio 9\r\n"), 5),
        (format!("{HEAD}m=audio 70000 RTP/AVP 0\r\n"), 5),
        (format!("{HEAD}m=audio 9 RTP/AVP 128\r\n"), 5),
        (format!("{HEAD}m=audio 9 RTP/AVP 0 0\r\n"), 5),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\ns=-\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\nt=0 0\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=rtpmap:96 opus/48000\r\na=rtpmap:96 opus/48000\r\n"), 7),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=rtpmap:96 opus\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=rtpmap:200 opus/48000\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=fmtp:96 =1\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=rtcp-fb:x nack\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=extmap:1/sideways urn:x\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=extmap:1\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=ssrc:1\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=ssrc:-1 cname:x\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=ssrc-group:FID 1 x\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=rid:q sideways\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=simulcast:send q;;h\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=simulcast:bogus q\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=candidate:bad\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=sctp-port:x\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=ptime:+20\r\n"), 6),
        (format!("{HEAD}m=audio 9 RTP/AVP 96\r\na=mid\r\n"), 6),
    ];
    for (text, line) in cases {
        let (got, expected, found) = parse_err(text);
        assert_eq!(got, *line, "{text:?}: {expected}");
        assert!(!expected.is_empty());
        let want = text.split("\r\n").nth(line - 1).unwrap_or_default();
        assert_eq!(found, want.chars().take(80).collect::<String>(), "{text:?}");
    }
    // The message names the line.
    let e = sdp::parse(&format!("{HEAD}m=audio 9 RTP/AVP 128\r\n")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("SDP line 5: expected a payload type"),
        "{e}"
    );
    // Empty input.
    assert_eq!(parse_err("").0, 1);
}

#[test]
fn oversized_input_is_refused() {
    let big = format!("{HEAD}{}", "a=x\r\n".repeat(sdp::parse::MAX_SDP_LEN / 5));
    assert!(matches!(
        sdp::parse(&big),
        Err(Error::TooLarge {
            limit: sdp::parse::MAX_SDP_LEN,
            ..
        })
    ));
}

#[test]
fn unknown_attributes_and_lenient_spots() {
    let d = round_trip(&sdp(
        &[],
        &[&[
            "m=audio 49170/2 RTP/AVP 0 96",
            "i=title",
            "k=clear:x",
            "a=mid:",
            "a=strange::value:with:colons",
            "a=rtcp-fb:0 nack ",
            "a=fmtp:96 ;;a=;b",
        ]],
    ));
    let m = &d.contents[0].media;
    assert_eq!(m.port, 49170);
    // A dynamic payload type without rtpmap: kept, nameless.
    assert_eq!(m.codec(96).unwrap().name, "");
    assert_eq!(
        m.codec(96).unwrap().params,
        [
            ("a".into(), SmolStr::default()),
            (SmolStr::default(), "b".into())
        ]
    );
    assert_eq!(
        m.codec(0).unwrap().feedback,
        [RtcpFeedback::new("nack", None)]
    );
    assert_eq!(m.extra_attributes[0].name, "strange");
    assert_eq!(
        m.extra_attributes[0].value.as_deref(),
        Some(":value:with:colons")
    );
    assert_eq!(d.contents[0].mid, "");
}
