//! What the parser and [`sdp::validate`] refuse, one table row per rule
//! (error kind and where it points), what they keep that peers send, and that
//! a refused description changes nothing.

use dtls_transport::certificate::{Certificate, HashAlgorithm, KeyType, DEFAULT_VALIDITY};
use sdp::error::{Limited, Violation};
use sdp::factory::{
    MediaSessionDescriptionFactory, MediaSessionOptions, TransportDescriptionFactory,
};
use sdp::model::Fingerprint;
use sdp::{Error, JsepIceCandidate, JsepSessionDescription, SdpType};

const FP: &str = "sha-256 B6:D5:AF:89:1F:B3:74:84:8C:32:AD:00:56:FE:58:79:84:43:F9:3D:75:35:78:3E:0C:6A:07:D5:E0:DF:31:80";
const PWD: &str = "Xwk8dJ4Zf9EH0nVn6qj7vKc2";

/// A valid BUNDLEd offer (audio, video, data), as a browser writes it.
fn offer() -> String {
    let transport = format!(
        "a=ice-ufrag:x5Ut\r\na=ice-pwd:{PWD}\r\na=ice-options:trickle\r\n\
         a=fingerprint:{FP}\r\na=setup:actpass\r\n"
    );
    format!(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
         a=group:BUNDLE 0 1 2\r\na=msid-semantic: WMS\r\n\
         m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n{transport}a=mid:0\r\n\
         a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n\
         m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n{transport}a=mid:1\r\n\
         a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n{transport}\
         a=mid:2\r\na=sctp-port:5000\r\n"
    )
}

/// `text` with the first occurrence of `from` replaced by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` not in the text");
    text.replacen(from, to, 1)
}

/// The 1-based line number of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.split('\n')
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains `{needle:?}`"))
        + 1
}

/// Where an error must point.
#[derive(Debug, Clone, Copy)]
enum At {
    /// The first line containing this text.
    Line(&'static str),
    /// This 0-based m-section, no line.
    Section(usize),
    /// The session: neither a line nor a section.
    Session,
}

/// What a row expects.
#[derive(Debug, Clone)]
enum Expect {
    Invalid(Violation, At),
    Parse(At),
}

/// Parses `text` as `sdp_type` the way an application handling a remote
/// description does, and checks the error.
fn check(name: &str, text: &str, sdp_type: SdpType, expect: &Expect) {
    let err = match JsepSessionDescription::parse(sdp_type, text) {
        Ok(_) => panic!("{name}: accepted\n{text}"),
        Err(e) => e,
    };
    let at = match expect {
        Expect::Invalid(_, at) | Expect::Parse(at) => *at,
    };
    let (want_line, want_section) = match at {
        At::Line(needle) => (Some(line_of(text, needle)), None),
        At::Section(i) => (None, Some(i)),
        At::Session => (None, None),
    };
    match expect {
        Expect::Invalid(violation, at) => {
            assert_eq!(err.violation(), Some(violation), "{name}: {err}");
            assert_eq!(err.line(), want_line, "{name}: {err}");
            if !matches!(at, At::Line(_)) {
                assert_eq!(err.section(), want_section, "{name}: {err}");
            }
        }
        Expect::Parse(_) => {
            assert!(matches!(err, Error::Parse { .. }), "{name}: {err:?}");
            assert_eq!(err.line(), want_line, "{name}: {err}");
        }
    }
    // The message names where.
    let msg = err.to_string();
    match (err.line(), err.section()) {
        (Some(l), _) => assert!(msg.contains(&format!("line {l}")), "{name}: {msg}"),
        (None, Some(s)) => assert!(msg.contains(&format!("section {s}")), "{name}: {msg}"),
        (None, None) => assert!(msg.starts_with("SDP session"), "{name}: {msg}"),
    }
}

#[test]
fn the_base_offer_is_valid() {
    let text = offer();
    let desc = JsepSessionDescription::parse(SdpType::Offer, &text).unwrap();
    desc.validate().unwrap();
    sdp::validate(desc.description(), SdpType::Offer).unwrap();
}

#[test]
fn refused_inputs() {
    use Violation::*;
    let base = offer();
    let pwd_line = format!("a=ice-pwd:{PWD}\r\n");
    let long_ufrag = format!("a=ice-ufrag:{}", "u".repeat(257));
    let long_pwd = format!("a=ice-pwd:{}", "p".repeat(257));
    let no_fp = base.replace(&format!("a=fingerprint:{FP}\r\n"), "");
    let two_groups = edit(
        &base,
        "a=group:BUNDLE 0 1 2\r\n",
        "a=group:BUNDLE 0 1 2\r\na=group:BUNDLE 2\r\n",
    );
    let unbundled = edit(&base, "a=group:BUNDLE 0 1 2\r\n", "");
    // Section 1 of `unbundled` without its ufrag and pwd.
    let unbundled_no_ice = {
        let start = unbundled.find("m=video").unwrap();
        let (head, tail) = unbundled.split_at(start);
        let creds = format!("a=ice-ufrag:x5Ut\r\n{pwd_line}");
        format!("{head}{}", tail.replacen(&creds, "", 1))
    };
    let section0_no_pwd = base.replacen(&pwd_line, "", 1);
    let section0_no_ice = edit(&section0_no_pwd, "a=ice-ufrag:x5Ut\r\n", "");

    let cases: Vec<(&str, String, SdpType, Expect)> = vec![
        // ICE credentials (RFC 8839 grammar and presence).
        ("ufrag too short", edit(&base, "a=ice-ufrag:x5Ut", "a=ice-ufrag:x5U"), SdpType::Offer, Expect::Invalid(IceUfrag, At::Line("a=ice-ufrag:x5U\r"))),
        ("ufrag with a non-ice-char", edit(&base, "a=ice-ufrag:x5Ut", "a=ice-ufrag:x5-t"), SdpType::Offer, Expect::Invalid(IceUfrag, At::Line("x5-t"))),
        ("ufrag too long", edit(&base, "a=ice-ufrag:x5Ut", &long_ufrag), SdpType::Offer, Expect::Invalid(IceUfrag, At::Line("uuuu"))),
        ("empty ufrag", edit(&base, "a=ice-ufrag:x5Ut", "a=ice-ufrag:"), SdpType::Offer, Expect::Invalid(IceUfrag, At::Line("a=ice-ufrag:\r"))),
        ("pwd too short", edit(&base, PWD, &PWD[..21]), SdpType::Offer, Expect::Invalid(IcePwd, At::Line(&PWD[..21]))),
        ("pwd with a non-ice-char", edit(&base, PWD, "Xwk8dJ4Zf9EH0nVn6qj7v=c2"), SdpType::Offer, Expect::Invalid(IcePwd, At::Line("v=c2"))),
        ("pwd too long", edit(&base, &format!("a=ice-pwd:{PWD}"), &long_pwd), SdpType::Offer, Expect::Invalid(IcePwd, At::Line("pppp"))),
        ("session ufrag without pwd", edit(&base, "a=msid-semantic: WMS\r\n", "a=msid-semantic: WMS\r\na=ice-ufrag:sess\r\n"), SdpType::Offer, Expect::Invalid(IncompleteIceCredentials, At::Line("a=ice-ufrag:sess"))),
        ("session pwd without ufrag", edit(&base, "a=msid-semantic: WMS\r\n", &format!("a=msid-semantic: WMS\r\na=ice-pwd:{PWD}\r\n")), SdpType::Offer, Expect::Invalid(IncompleteIceCredentials, At::Line("a=ice-pwd"))),
        ("section ufrag without pwd", section0_no_pwd, SdpType::Offer, Expect::Invalid(IncompleteIceCredentials, At::Section(0))),
        ("tagged section without credentials", section0_no_ice, SdpType::Offer, Expect::Invalid(MissingIceCredentials, At::Section(0))),
        ("unbundled section without credentials", unbundled_no_ice, SdpType::Offer, Expect::Invalid(MissingIceCredentials, At::Section(1))),
        // Control characters inside values.
        ("NUL", edit(&base, "a=mid:1", "a=mid:1\0"), SdpType::Offer, Expect::Invalid(ControlCharacter { byte: 0 }, At::Line("a=mid:1"))),
        ("bare CR", edit(&base, "a=mid:1", "a=mid:1\ra=mid:9"), SdpType::Offer, Expect::Invalid(ControlCharacter { byte: b'\r' }, At::Line("a=mid:1"))),
        ("CR CR LF", edit(&base, "a=mid:1\r\n", "a=mid:1\r\r\n"), SdpType::Offer, Expect::Invalid(ControlCharacter { byte: b'\r' }, At::Line("a=mid:1"))),
        ("TAB", edit(&base, "s=-", "s=-\t-"), SdpType::Offer, Expect::Invalid(ControlCharacter { byte: b'\t' }, At::Line("s=-"))),
        ("ESC", edit(&base, "a=mid:2", "a=mid:\x1b2"), SdpType::Offer, Expect::Invalid(ControlCharacter { byte: 0x1b }, At::Line("a=mid:\x1b"))),
        ("DEL", edit(&base, "a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP8\x7f/90000"), SdpType::Offer, Expect::Invalid(ControlCharacter { byte: 0x7f }, At::Line("VP8\x7f"))),
        // m= lines.
        ("m= without formats", edit(&base, "m=video 9 UDP/TLS/RTP/SAVPF 96", "m=video 9 UDP/TLS/RTP/SAVPF"), SdpType::Offer, Expect::Parse(At::Line("m=video"))),
        ("m= with only spaces after proto", edit(&base, "m=video 9 UDP/TLS/RTP/SAVPF 96", "m=video 9 UDP/TLS/RTP/SAVPF  "), SdpType::Offer, Expect::Parse(At::Line("m=video"))),
        ("m= proto with an empty token", edit(&base, "UDP/TLS/RTP/SAVPF 96", "UDP//RTP/SAVPF 96"), SdpType::Offer, Expect::Parse(At::Line("m=video"))),
        ("m= proto with a non-token char", edit(&base, "UDP/TLS/RTP/SAVPF 96", "UDP/TLS/RTP/SAVPF@ 96"), SdpType::Offer, Expect::Parse(At::Line("m=video"))),
        ("m= port not a number", edit(&base, "m=video 9 ", "m=video 9x "), SdpType::Offer, Expect::Parse(At::Line("m=video"))),
        ("m= port count not a number", edit(&base, "m=video 9 ", "m=video 9/x "), SdpType::Offer, Expect::Parse(At::Line("m=video"))),
        ("m= port out of range", edit(&base, "m=video 9 ", "m=video 65536 "), SdpType::Offer, Expect::Parse(At::Line("m=video"))),
        // Mids and BUNDLE.
        ("section without a mid", edit(&base, "a=mid:1\r\n", ""), SdpType::Offer, Expect::Invalid(MissingMid, At::Section(1))),
        ("duplicate mid", edit(&base, "a=mid:1\r\n", "a=mid:0\r\n"), SdpType::Offer, Expect::Invalid(DuplicateMid { mid: "0".into() }, At::Section(1))),
        ("BUNDLE names an unknown mid", edit(&base, "a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1 2 3"), SdpType::Offer, Expect::Invalid(BundleUnknownMid { mid: "3".into() }, At::Session)),
        ("BUNDLE tags a rejected section", edit(&base, "m=audio 9 ", "m=audio 0 "), SdpType::Offer, Expect::Invalid(BundleTaggedRejected { mid: "0".into() }, At::Section(0))),
        ("mid in two BUNDLE groups", two_groups, SdpType::Offer, Expect::Invalid(MidInTwoBundles { mid: "2".into() }, At::Section(2))),
        // DTLS.
        ("no fingerprint", no_fp.clone(), SdpType::Offer, Expect::Invalid(MissingFingerprint, At::Section(0))),
        ("only an unsupported hash function", edit(&no_fp, "a=setup:actpass", "a=fingerprint:md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass"), SdpType::Offer, Expect::Invalid(MissingFingerprint, At::Section(0))),
        ("malformed fingerprint", edit(&base, "a=fingerprint:sha-256 B6:", "a=fingerprint:sha-256 B6:B"), SdpType::Offer, Expect::Parse(At::Line("a=fingerprint:sha-256 B6:B"))),
        ("setup holdconn", edit(&base, "a=setup:actpass", "a=setup:holdconn"), SdpType::Offer, Expect::Invalid(Setup, At::Line("holdconn"))),
        ("unknown setup", edit(&base, "a=setup:actpass", "a=setup:bogus"), SdpType::Offer, Expect::Invalid(Setup, At::Line("bogus"))),
        ("answer with actpass", base.clone(), SdpType::Answer, Expect::Invalid(ActPassInAnswer, At::Section(0))),
        ("pranswer with actpass", base.clone(), SdpType::PrAnswer, Expect::Invalid(ActPassInAnswer, At::Section(0))),
    ];
    for (name, text, sdp_type, expect) in &cases {
        check(name, text, *sdp_type, expect);
    }
}

#[test]
fn limits_are_enforced() {
    use Violation::*;
    let base = offer();
    // A line over MAX_LINE_LEN.
    let long = edit(
        &base,
        "a=mid:2\r\n",
        &format!(
            "a=mid:2\r\na=x-long:{}\r\n",
            "y".repeat(sdp::parse::MAX_LINE_LEN)
        ),
    );
    check(
        "long line",
        &long,
        SdpType::Offer,
        &Expect::Invalid(
            LineTooLong {
                len: sdp::parse::MAX_LINE_LEN + 9,
                limit: sdp::parse::MAX_LINE_LEN,
            },
            At::Line("a=x-long"),
        ),
    );

    // One section more than MAX_SECTIONS.
    let mut many = base.clone();
    for i in 3..=sdp::parse::MAX_SECTIONS {
        many.push_str(&format!(
            "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:{i}\r\n"
        ));
    }
    let err = sdp::parse(&many).unwrap_err();
    assert_eq!(
        err.violation(),
        Some(&TooMany {
            what: Limited::Sections,
            limit: sdp::parse::MAX_SECTIONS
        }),
        "{err}"
    );
    // Exactly MAX_SECTIONS is fine.
    let at_limit = &many[..many.rfind("m=application 0 ").unwrap()];
    assert_eq!(
        sdp::parse(at_limit).unwrap().contents.len(),
        sdp::parse::MAX_SECTIONS
    );

    // Attributes in one section, and in the session block.
    let extra = "a=x-y:1\r\n".repeat(sdp::parse::MAX_ATTRIBUTES);
    let err = sdp::parse(&format!("{base}{extra}")).unwrap_err();
    assert_eq!(
        err.violation(),
        Some(&TooMany {
            what: Limited::Attributes,
            limit: sdp::parse::MAX_ATTRIBUTES
        }),
        "{err}"
    );
    assert_eq!(err.section(), Some(2));
    let err = sdp::parse(&edit(&base, "t=0 0\r\n", &format!("t=0 0\r\n{extra}"))).unwrap_err();
    assert_eq!(
        err.violation(),
        Some(&TooMany {
            what: Limited::Attributes,
            limit: sdp::parse::MAX_ATTRIBUTES
        }),
        "{err}"
    );
    assert_eq!(err.section(), None);

    // Candidates in one section.
    let candidates: String = (0..=sdp::parse::MAX_CANDIDATES_PER_SECTION)
        .map(|i| {
            format!(
                "a=candidate:{i} 1 udp 2122260223 127.0.0.1 {} typ host\r\n",
                1000 + i
            )
        })
        .collect();
    let err = sdp::parse(&format!("{base}{candidates}")).unwrap_err();
    assert_eq!(
        err.violation(),
        Some(&TooMany {
            what: Limited::Candidates,
            limit: sdp::parse::MAX_CANDIDATES_PER_SECTION
        }),
        "{err}"
    );

    // Fingerprints in one section.
    let fps = format!("a=fingerprint:{FP}\r\n").repeat(sdp::parse::MAX_FINGERPRINTS);
    let err = sdp::parse(&format!("{base}{fps}")).unwrap_err();
    assert_eq!(
        err.violation(),
        Some(&TooMany {
            what: Limited::Fingerprints,
            limit: sdp::parse::MAX_FINGERPRINTS
        }),
        "{err}"
    );

    // Formats on one m= line.
    let formats = vec!["f"; sdp::parse::MAX_FORMATS + 1].join(" ");
    let err = sdp::parse(&format!(
        "{base}m=application 9 UDP/DTLS/SCTP {formats}\r\n"
    ))
    .unwrap_err();
    assert_eq!(
        err.violation(),
        Some(&TooMany {
            what: Limited::Formats,
            limit: sdp::parse::MAX_FORMATS
        }),
        "{err}"
    );

    // The whole text.
    let huge = format!(
        "{base}{}",
        "a=x-y:1\r\n".repeat(sdp::parse::MAX_SDP_LEN / 9)
    );
    assert!(matches!(sdp::parse(&huge), Err(Error::TooLarge { .. })));
    assert!(matches!(
        sdp::parse::parse_bytes(huge.as_bytes()),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn bytes_that_are_not_utf8_name_their_line() {
    let base = offer();
    let mut bytes = base.clone().into_bytes();
    let at = base.find("a=mid:1").unwrap() + "a=mid:".len();
    bytes[at] = 0xff;
    let err = JsepSessionDescription::parse_bytes(SdpType::Offer, &bytes).unwrap_err();
    assert_eq!(
        err,
        Error::NotUtf8 {
            line: line_of(&base, "a=mid:1"),
            offset: at
        }
    );
    assert!(err
        .to_string()
        .contains(&format!("line {}", line_of(&base, "a=mid:1"))));
    // A truncated multi-byte character at the very end.
    let mut cut = base.clone().into_bytes();
    cut.extend_from_slice("a=x-name:é".as_bytes());
    cut.pop();
    assert!(matches!(
        sdp::parse::parse_bytes(&cut),
        Err(Error::NotUtf8 { .. })
    ));
    // Valid UTF-8 bytes parse as the text does.
    assert_eq!(
        sdp::parse::parse_bytes(base.as_bytes()).unwrap(),
        sdp::parse(&base).unwrap()
    );
}

#[test]
fn sections_that_share_a_transport_need_no_credentials_of_their_own() {
    // Firefox's bundle-only sections and rejected sections carry no ICE or
    // DTLS attributes: only the tagged section must.
    let base = offer();
    let video_start = base.find("m=video").unwrap();
    let (head, tail) = base.split_at(video_start);
    let bare = tail
        .replace(&format!("a=ice-ufrag:x5Ut\r\na=ice-pwd:{PWD}\r\n"), "")
        .replace(&format!("a=fingerprint:{FP}\r\n"), "")
        .replace("a=setup:actpass\r\n", "");
    let text = format!("{head}{bare}");
    let desc = JsepSessionDescription::parse(SdpType::Offer, &text).unwrap();
    assert!(desc.description().contents[1]
        .transport
        .ice_ufrag
        .is_empty());

    // A rejected section outside the group needs nothing either.
    let rejected = edit(
        &edit(&text, "a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1"),
        "m=application 9 ",
        "m=application 0 ",
    );
    JsepSessionDescription::parse(SdpType::Offer, &rejected).unwrap();
    // ...but the same section accepted outside the group does.
    let unbundled = edit(&text, "a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1");
    let err = JsepSessionDescription::parse(SdpType::Offer, &unbundled).unwrap_err();
    assert_eq!(err.violation(), Some(&Violation::MissingIceCredentials));
    assert_eq!(err.section(), Some(2));
}

fn certificate() -> Certificate {
    Certificate::generate(KeyType::EcdsaP256, DEFAULT_VALIDITY).unwrap()
}

#[test]
fn every_fingerprint_is_kept_and_unsupported_ones_stay_on_the_wire() {
    // aiortc lists three hash functions; a fourth we cannot check (md5).
    let cert = certificate();
    let lines: String = [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ]
    .into_iter()
    .map(|a| format!("a=fingerprint:{}\r\n", cert.fingerprint(a)))
    .collect();
    let md5 = "a=fingerprint:md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n";
    let text = offer().replace(&format!("a=fingerprint:{FP}\r\n"), &format!("{lines}{md5}"));
    let desc = JsepSessionDescription::parse(SdpType::Offer, &text).unwrap();
    let t = &desc.description().contents[0].transport;
    assert_eq!(t.fingerprints.len(), 3);
    assert_eq!(
        t.strongest_fingerprint(),
        Some(&cert.fingerprint(HashAlgorithm::Sha512))
    );
    assert!(Fingerprint::matches_any(
        &t.fingerprints,
        cert.certificate_der()
    ));
    assert!(!Fingerprint::matches_any(
        &t.fingerprints,
        certificate().certificate_der()
    ));
    // All four written back.
    let written = desc.to_sdp();
    assert!(written.contains(&lines));
    assert!(written.contains(md5));
    assert_eq!(sdp::parse(&written).unwrap(), *desc.description());

    // Session-level fingerprints are inherited, all of them.
    let session_level = offer()
        .replace(&format!("a=fingerprint:{FP}\r\n"), "")
        .replace(
            "a=msid-semantic: WMS\r\n",
            &format!("a=msid-semantic: WMS\r\n{lines}"),
        );
    let desc = JsepSessionDescription::parse(SdpType::Offer, &session_level).unwrap();
    for c in &desc.description().contents {
        assert_eq!(c.transport.fingerprints.len(), 3);
    }
}

#[test]
fn default_candidate_keeps_ipv4_and_prefers_udp() {
    // Candidates added one by one, and the audio section's `m=` + `c=` after each.
    let steps = [
        // TCP never becomes the default: the dummy address stays.
        (
            "candidate:2 1 tcp 2122260223 127.0.0.1 9 typ host tcptype active",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n",
        ),
        // Only IPv6 UDP so far: the line moves to it.
        (
            "candidate:1 1 udp 2122262783 ::1 50002 typ host",
            "m=audio 50002 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP6 ::1\r\n",
        ),
        // IPv4 wins over IPv6 whatever the priorities.
        (
            "candidate:3 1 udp 2122260223 127.0.0.1 50000 typ host",
            "m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\n",
        ),
        // A relayed candidate is the likeliest to work.
        (
            "candidate:4 1 udp 41885439 127.0.0.2 50004 typ relay raddr 0.0.0.0 rport 0",
            "m=audio 50004 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.2\r\n",
        ),
        // A later host candidate does not displace it.
        (
            "candidate:5 1 udp 2122260224 127.0.0.3 50006 typ host",
            "m=audio 50004 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.2\r\n",
        ),
    ];
    let mut desc = JsepSessionDescription::parse(SdpType::Offer, &offer()).unwrap();
    for (line, expected) in steps {
        let c = JsepIceCandidate::new("0", 0, line.parse().unwrap());
        assert!(desc.add_candidate(c).unwrap());
        let text = desc.to_sdp();
        assert!(text.contains(expected), "after {line}:\n{text}");
    }
}

#[test]
fn a_refused_description_changes_nothing() {
    let base = offer();
    let current = JsepSessionDescription::parse(SdpType::Offer, &base).unwrap();
    let snapshot = current.clone();
    let bad = edit(&base, "a=mid:1\r\n", "a=mid:0\r\n");
    assert!(JsepSessionDescription::parse(SdpType::Offer, &bad).is_err());
    assert_eq!(current, snapshot);

    // The answer factory refuses an invalid offer before building anything.
    let cert = certificate();
    let factory = MediaSessionDescriptionFactory::new(TransportDescriptionFactory::new(
        cert.fingerprint(HashAlgorithm::Sha256),
    ));
    let options = MediaSessionOptions::with_sections(vec![
        sdp::factory::MediaDescriptionOptions::audio("0"),
        sdp::factory::MediaDescriptionOptions::video("1"),
        sdp::factory::MediaDescriptionOptions::data("2"),
    ]);
    let good = sdp::parse(&base).unwrap();
    factory.create_answer(&good, &options, None).unwrap();
    for text in [
        bad,
        base.replace(&format!("a=fingerprint:{FP}\r\n"), ""),
        edit(&base, "a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1 2 9"),
    ] {
        let offer = sdp::parse(&text).unwrap();
        let err = factory.create_answer(&offer, &options, None).unwrap_err();
        assert!(err.violation().is_some(), "{err}");
    }

    // A munged description is checked again on request, and stays as munged.
    let mut munged = current.clone();
    munged.description_mut().contents[1].mid = "0".into();
    let err = munged.validate().unwrap_err();
    assert_eq!(
        err.violation(),
        Some(&Violation::DuplicateMid { mid: "0".into() })
    );
}
