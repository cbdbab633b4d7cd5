//! Property tests for the SDP codec.
//!
//! - Generated [`SessionDescription`]s (random codecs, fmtp parameters,
//!   feedback, header extensions, SSRCs and groups, rids, simulcast,
//!   candidates, fingerprints, unknown attributes, rejected and bundle-only
//!   sections, data sections) satisfy `parse(write(d)) == d`, and
//!   `write → parse → write` is stable.
//! - Malformed input: every truncation of every corpus file, and random
//!   byte/line mutations of them, never panic; whatever parses round-trips.

use std::net::Ipv4Addr;

use dtls_transport::certificate::HashAlgorithm;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use sdp::model::{
    Attribute, Bandwidth, Candidate, Codec, Connection, ContentInfo, Direction, Fingerprint, Group,
    HeaderExtension, MediaContentDescription, MediaType, Msid, MsidSemantic, Origin, Rid,
    RidDirection, RtcpFeedback, Setup, Simulcast, SimulcastLayer, SsrcAttribute, SsrcGroup,
    TransportDescription,
};
use sdp::{SessionDescription, SmolStr};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A string strategy's values as the model's [`SmolStr`].
fn smol(s: impl Strategy<Value = String>) -> impl Strategy<Value = SmolStr> {
    s.prop_map(SmolStr::from)
}

/// A non-empty SDP token (no spaces, colons, semicolons, commas, `=` or `/`).
fn token() -> impl Strategy<Value = SmolStr> {
    smol("[A-Za-z0-9][A-Za-z0-9_.+-]{0,9}")
}

/// Free text: printable ASCII with spaces, not starting or ending with one.
fn text() -> impl Strategy<Value = SmolStr> {
    smol(prop_oneof!["", "[!-~]", "[!-~][ -~]{0,14}[!-~]"])
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive),
    ]
}

fn unknown_attribute() -> impl Strategy<Value = Attribute> {
    // `zz` keeps the names clear of every attribute the parser knows.
    (smol("zz[a-z0-9-]{0,8}"), option::of(text()))
        .prop_map(|(name, value)| Attribute { name, value })
}

fn feedback() -> impl Strategy<Value = RtcpFeedback> {
    (
        token(),
        option::of(prop_oneof![token(), smol("[a-z]{1,5} [a-z0-9=]{1,8}")]),
    )
        .prop_map(|(kind, param)| RtcpFeedback { kind, param })
}

fn fmtp_param() -> impl Strategy<Value = (SmolStr, SmolStr)> {
    prop_oneof![
        3 => (smol("[A-Za-z][A-Za-z0-9_-]{0,12}"), smol("[A-Za-z0-9./-]{0,8}")),
        1 => (Just(SmolStr::default()), smol("[0-9]{1,3}/[0-9]{1,3}")),
    ]
}

fn codecs() -> impl Strategy<Value = Vec<Codec>> {
    let codec = (
        smol("[A-Za-z][A-Za-z0-9-]{0,9}"),
        any::<u32>(),
        option::of(any::<u16>()),
        vec(fmtp_param(), 0..4),
        vec(feedback(), 0..4),
    );
    (
        // An m= line needs a format: at least one codec.
        proptest::sample::subsequence((0u8..128).collect::<Vec<_>>(), 1..8).prop_shuffle(),
        vec(codec, 8),
    )
        .prop_map(|(pts, specs)| {
            pts.into_iter()
                .zip(specs)
                .map(
                    |(pt, (name, clock_rate, channels, params, feedback))| Codec {
                        payload_type: pt,
                        name,
                        clock_rate,
                        channels,
                        params,
                        feedback,
                    },
                )
                .collect()
        })
}

fn candidate() -> impl Strategy<Value = Candidate> {
    (
        "[A-Za-z0-9+/]{1,10}",
        1u16..=2,
        1u32..,
        any::<u32>(),
        any::<u16>(),
        option::of(0u32..10),
        option::of("[A-Za-z0-9+/]{4,8}"),
        option::of(any::<u32>()),
    )
        .prop_map(
            |(foundation, comp, prio, ip, port, generation, ufrag, cost)| {
                let mut line = format!(
                    "candidate:{foundation} {comp} udp {prio} {} {port} typ host",
                    Ipv4Addr::from(ip)
                );
                if let Some(g) = generation {
                    line.push_str(&format!(" generation {g}"));
                }
                if let Some(u) = ufrag {
                    line.push_str(&format!(" ufrag {u}"));
                }
                if let Some(c) = cost {
                    line.push_str(&format!(" network-cost {c}"));
                }
                line.parse().expect("generated candidate parses")
            },
        )
}

fn transport() -> impl Strategy<Value = TransportDescription> {
    (
        prop_oneof![Just(SmolStr::default()), smol("[A-Za-z0-9+/]{4,8}")],
        prop_oneof![Just(SmolStr::default()), smol("[A-Za-z0-9+/]{22,26}")],
        vec(token(), 0..3),
        option::of(any::<[u8; 32]>()),
        option::of(prop_oneof![
            Just(Setup::ActPass),
            Just(Setup::Active),
            Just(Setup::Passive)
        ]),
        vec(candidate(), 0..4),
        any::<bool>(),
    )
        .prop_map(
            |(ice_ufrag, ice_pwd, ice_options, fp, setup, candidates, eoc)| TransportDescription {
                ice_ufrag,
                ice_pwd,
                ice_options,
                fingerprints: fp
                    .map(|d| Fingerprint::new(HashAlgorithm::Sha256, &d).unwrap())
                    .into_iter()
                    .collect(),
                setup,
                candidates,
                end_of_candidates: eoc,
            },
        )
}

fn simulcast_list() -> impl Strategy<Value = Vec<Vec<SimulcastLayer>>> {
    let layer = (token(), any::<bool>()).prop_map(|(rid, paused)| SimulcastLayer { rid, paused });
    vec(vec(layer, 1..3), 0..3)
}

fn simulcast() -> impl Strategy<Value = Simulcast> {
    (simulcast_list(), simulcast_list())
        .prop_filter("at least one direction", |(s, r)| {
            !s.is_empty() || !r.is_empty()
        })
        .prop_map(|(send, recv)| Simulcast { send, recv })
}

fn connection() -> impl Strategy<Value = Connection> {
    (smol(prop_oneof!["IP4", "IP6"]), token()).prop_map(|(address_type, address)| Connection {
        net_type: "IN".into(),
        address_type,
        address,
    })
}

fn bandwidths() -> impl Strategy<Value = Vec<Bandwidth>> {
    vec(
        (smol(prop_oneof!["AS", "TIAS", "CT"]), any::<u64>())
            .prop_map(|(kind, value)| Bandwidth { kind, value }),
        0..2,
    )
}

/// The RTP-specific parts of a section, applied onto a base.
#[allow(clippy::type_complexity)]
fn rtp_media() -> impl Strategy<Value = MediaContentDescription> {
    let a = (
        prop_oneof![Just(MediaType::Audio), Just(MediaType::Video)],
        codecs(),
        vec(
            (
                1u16..=255,
                smol("urn:[a-z:-]{1,20}"),
                option::of(direction()),
                option::of(token()),
            )
                .prop_map(|(id, uri, direction, attributes)| HeaderExtension {
                    id,
                    uri,
                    direction,
                    attributes,
                }),
            0..4,
        ),
        (any::<bool>(), option::of(direction())),
        option::of(Just(SmolStr::new_static("9 IN IP4 0.0.0.0"))),
        any::<[bool; 4]>(),
        vec(
            (token(), option::of(token())).prop_map(|(stream_id, track_id)| Msid {
                stream_id,
                track_id,
            }),
            0..2,
        ),
    );
    let b = (
        vec(
            (any::<u32>(), token(), option::of(text()))
                .prop_map(|(ssrc, name, value)| SsrcAttribute { ssrc, name, value }),
            0..4,
        ),
        vec(
            (
                smol(prop_oneof!["FID", "SIM", "FEC-FR"]),
                vec(any::<u32>(), 0..3),
            )
                .prop_map(|(semantics, ssrcs)| SsrcGroup { semantics, ssrcs }),
            0..2,
        ),
        vec(
            (
                token(),
                any::<bool>(),
                option::of(smol("[a-z=0-9;-]{1,20}")),
            )
                .prop_map(|(id, send, restrictions)| Rid {
                    id,
                    direction: if send {
                        RidDirection::Send
                    } else {
                        RidDirection::Recv
                    },
                    restrictions,
                }),
            0..3,
        ),
        option::of(simulcast()),
        (option::of(any::<u32>()), option::of(any::<u32>())),
        vec(feedback(), 0..2),
    );
    (a, b).prop_map(
        |(
            (media_type, codecs, exts, (allow_mixed, direction), rtcp, flags, msids),
            (ssrcs, ssrc_groups, rids, simulcast, (ptime, max_ptime), wildcard),
        )| {
            let mut m = MediaContentDescription::new_rtp(media_type);
            m.codecs = codecs;
            m.header_extensions = exts;
            m.extmap_allow_mixed = allow_mixed;
            m.direction = direction.unwrap_or_default();
            m.direction_written = direction.is_some();
            m.rtcp = rtcp;
            m.rtcp_mux = flags[0];
            m.rtcp_mux_only = flags[1];
            m.rtcp_rsize = flags[2];
            m.msids = msids;
            m.ssrcs = ssrcs;
            m.ssrc_groups = ssrc_groups;
            m.rids = rids;
            m.simulcast = simulcast;
            m.ptime = ptime;
            m.max_ptime = max_ptime;
            m.wildcard_feedback = wildcard;
            m
        },
    )
}

fn data_media() -> impl Strategy<Value = MediaContentDescription> {
    (
        vec(token(), 1..3),
        option::of(any::<u16>()),
        option::of(any::<u64>()),
    )
        .prop_map(|(formats, sctp_port, max_message_size)| {
            let mut m = MediaContentDescription::new_data();
            m.formats = formats;
            m.sctp_port = sctp_port;
            m.max_message_size = max_message_size;
            m
        })
}

fn content() -> impl Strategy<Value = ContentInfo> {
    (
        token(),
        prop_oneof![3 => rtp_media(), 1 => data_media()],
        0u8..4,
        1u16..,
        option::of(connection()),
        bandwidths(),
        vec(unknown_attribute(), 0..3),
        transport(),
    )
        .prop_map(
            |(mid, mut media, state, port, connection, bandwidths, extras, transport)| {
                // 0: active, 1: rejected (port 0), 2: bundle-only (port 0), 3: bundle-only (port set).
                let (rejected, bundle_only) = (state == 1, state >= 2);
                media.port = if state == 1 || state == 2 { 0 } else { port };
                media.connection = connection;
                media.bandwidths = bandwidths;
                media.extra_attributes = extras;
                ContentInfo {
                    mid,
                    rejected,
                    bundle_only,
                    media,
                    transport,
                }
            },
        )
}

fn session() -> impl Strategy<Value = SessionDescription> {
    (
        (
            token(),
            any::<u64>(),
            any::<u64>(),
            smol(prop_oneof!["IP4", "IP6"]),
            token(),
        ),
        text(),
        option::of(text()),
        option::of(connection()),
        bandwidths(),
        (any::<u64>(), any::<u64>()),
        vec(
            (smol(prop_oneof!["BUNDLE", "LS"]), vec(token(), 0..4))
                .prop_map(|(semantics, mids)| Group { semantics, mids }),
            0..2,
        ),
        option::of(
            (token(), vec(token(), 0..3))
                .prop_map(|(semantic, ids)| MsidSemantic { semantic, ids }),
        ),
        (any::<bool>(), any::<bool>(), vec(token(), 0..2)),
        vec(unknown_attribute(), 0..3),
        vec(content(), 0..4),
    )
        .prop_map(
            |(
                (username, id, version, address_type, address),
                session_name,
                session_info,
                connection,
                bandwidths,
                timing,
                groups,
                msid_semantic,
                (ice_lite, extmap_allow_mixed, ice_options),
                extra_attributes,
                mut contents,
            )| {
                // JSEP inheritance: a section without ice-options gets the session's.
                for c in &mut contents {
                    if c.transport.ice_options.is_empty() {
                        c.transport.ice_options.clone_from(&ice_options);
                    }
                }
                SessionDescription {
                    origin: Origin {
                        username,
                        session_id: id,
                        session_version: version,
                        net_type: "IN".into(),
                        address_type,
                        address,
                    },
                    session_name,
                    session_info,
                    connection,
                    bandwidths,
                    timing,
                    groups,
                    msid_semantic,
                    ice_lite,
                    ice_options,
                    extmap_allow_mixed,
                    extra_attributes,
                    contents,
                }
            },
        )
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn generated_descriptions_round_trip(d in session()) {
        let text = sdp::write(&d);
        let parsed = sdp::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&parsed, &d, "written:\n{}", text);
        prop_assert_eq!(sdp::write(&parsed), text);
        let lf = sdp::write(&d).replace("\r\n", "\n");
        prop_assert_eq!(sdp::parse(&lf).unwrap(), d);
    }
}

/// Text with control characters (CR, LF, NUL, TAB, DEL…) among printable ones.
fn hostile() -> impl Strategy<Value = String> {
    vec(
        prop_oneof![
            3 => proptest::char::range(' ', '~'),
            2 => proptest::sample::select(vec!['\r', '\n', '\0', '\t', '\x0b', '\x1b', '\x7f']),
            1 => any::<char>(),
        ],
        0..12,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// Puts `evil` into one of the model's many string fields (picked by `which`).
fn inject(d: &mut SessionDescription, which: usize, evil: &str) {
    let evil = SmolStr::from(evil);
    let fields = 16;
    let section = d.contents.len().checked_sub(1);
    match (which % fields, section) {
        (0, _) => d.session_name = evil,
        (1, _) => d.origin.username = evil,
        (2, _) => d.session_info = Some(evil),
        (3, _) => d.extra_attributes.push(Attribute::new("zz", Some(evil))),
        (4, _) => d.groups.push(Group::bundle([evil])),
        (5, _) => d.extra_attributes.push(Attribute::new(evil, None::<&str>)),
        (_, None) => d.session_name = evil,
        (6, Some(i)) => d.contents[i].mid = evil,
        (7, Some(i)) => d.contents[i].transport.ice_ufrag = evil,
        (8, Some(i)) => d.contents[i].media.protocol = evil,
        (9, Some(i)) => d.contents[i].media.formats.push(evil),
        (10, Some(i)) => d.contents[i].media.msids.push(Msid {
            stream_id: evil,
            track_id: None,
        }),
        (11, Some(i)) => d.contents[i].media.rtcp = Some(evil),
        (12, Some(i)) => d.contents[i].media.ssrcs.push(SsrcAttribute {
            ssrc: 1,
            name: "cname".into(),
            value: Some(evil),
        }),
        (13, Some(i)) => match d.contents[i].media.codecs.first_mut() {
            Some(c) => c.params.push(("x".into(), evil)),
            None => d.contents[i].media.media_type = MediaType::Other(evil),
        },
        (14, Some(i)) => match d.contents[i].transport.candidates.first_mut() {
            Some(c) => c.extensions.push(("x".into(), evil.to_string())),
            None => d.contents[i].transport.ice_options.push(evil),
        },
        (_, Some(i)) => d.contents[i]
            .media
            .extra_attributes
            .push(Attribute::new("zz", Some(evil))),
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Whatever a model's strings hold, the writer's only control bytes are
    /// its own CRLF line ends, so no value can start a line of its own
    /// (line injection); each line still starts with `<letter>=`.
    #[test]
    fn writer_never_emits_a_stray_control_character(
        mut d in session(),
        edits in vec((any::<usize>(), hostile()), 1..4),
    ) {
        for (which, evil) in &edits {
            inject(&mut d, *which, evil);
        }
        let text = sdp::write(&d);
        let body = text.strip_suffix("\r\n").unwrap_or(&text);
        for line in body.split("\r\n") {
            prop_assert!(
                !line.chars().any(|c| c < ' ' || c == '\x7f'),
                "control character in {:?}", line
            );
            let b = line.as_bytes();
            prop_assert!(b.len() >= 2 && b[0].is_ascii_lowercase() && b[1] == b'=', "{:?}", line);
        }
        // The same through `Display` and into a reused buffer.
        prop_assert_eq!(d.to_string(), text.clone());
        let mut buf = String::from("prefix\r\n");
        sdp::write::write_into(&d, &mut buf);
        prop_assert_eq!(&buf["prefix\r\n".len()..], text.as_str());
    }
}

#[path = "support/corpus.rs"]
mod corpus_files;

fn corpus() -> Vec<String> {
    corpus_files::sdp_files()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Whatever parses writes back to something that parses to the same model.
fn check(text: &str) {
    if let Ok(d) = sdp::parse(text) {
        let w = sdp::write(&d);
        let again = sdp::parse(&w).unwrap_or_else(|e| panic!("{e}\ninput:\n{text}\nwritten:\n{w}"));
        assert_eq!(again, d, "input:\n{text}\nwritten:\n{w}");
    }
}

#[test]
fn truncated_corpus_files_never_panic() {
    for text in corpus() {
        // Every line end (±1 byte) and every 7th byte: every truncated line kind.
        let ends = text
            .match_indices('\n')
            .flat_map(|(i, _)| [i.saturating_sub(1), i, i + 1])
            .chain((0..text.len()).step_by(7));
        for end in ends.filter(|i| *i <= text.len() && text.is_char_boundary(*i)) {
            check(&text[..end]);
        }
    }
}

/// One edit of an input.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte at (index mod len) with an ASCII byte.
    SetByte(usize, u8),
    /// Delete the line at (index mod lines).
    DeleteLine(usize),
    /// Duplicate a line.
    DuplicateLine(usize),
    /// Swap two lines.
    SwapLines(usize, usize),
    /// Insert a line.
    InsertLine(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), prop_oneof![any::<u8>().prop_map(|b| b & 0x7f), proptest::sample::select(b" :;/=~*,0123456789\r\n".to_vec())])
            .prop_map(|(i, b)| Mutation::SetByte(i, b)),
        1 => any::<usize>().prop_map(Mutation::DeleteLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => (any::<usize>(), "[a-z]=[ -~]{0,20}").prop_map(|(i, l)| Mutation::InsertLine(i, l)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
    let n = lines.len();
    match m {
        Mutation::SetByte(i, b) => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = i % bytes.len();
                bytes[i] = *b;
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::InsertLine(i, l) => lines.insert(i % (n + 1), l.clone()),
    }
    lines.join("\r\n")
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn mutated_corpus_files_never_panic(
        file in any::<proptest::sample::Index>(),
        mutations in vec(mutation(), 1..6),
    ) {
        let corpus = corpus();
        let mut text = corpus[file.index(corpus.len())].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        check(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "(v=0\r\n)?([a-z]=[ -~]{0,30}\r?\n){0,12}") {
        check(&s);
    }
}
