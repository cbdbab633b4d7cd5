//! Differential test against `sdp-types` (the generic SDP line grammar):
//! for every corpus file, what `sdp-types` sees in the lines agrees with our
//! typed model (origin, groups, media lines, rtpmap, fmtp, rtcp-fb, extmap,
//! mid, ICE credentials, fingerprint, setup, candidates, ssrc, msid, rid,
//! direction, sctp-port).

use std::path::PathBuf;

use sdp::model::{ContentInfo, Fingerprint, Setup};

#[path = "support/corpus.rs"]
mod corpus_files;

fn corpus() -> Vec<PathBuf> {
    corpus_files::sdp_files()
}

fn values<'a>(
    attrs: &'a [sdp_types::Attribute],
    name: &'static str,
) -> impl Iterator<Item = &'a str> {
    attrs
        .iter()
        .filter(move |a| a.attribute == name)
        .map(|a| a.value.as_deref().unwrap_or(""))
}

fn first<'a>(attrs: &'a [sdp_types::Attribute], name: &'static str) -> Option<&'a str> {
    values(attrs, name).next()
}

fn has(attrs: &[sdp_types::Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.attribute == name)
}

fn compare_section(
    file: &str,
    session: &sdp_types::Session,
    theirs: &sdp_types::Media,
    ours: &ContentInfo,
) {
    let at = |what: &str| format!("{file}: mid {}: {what}", ours.mid);
    let a = &theirs.attributes;
    let m = &ours.media;
    let t = &ours.transport;
    assert_eq!(theirs.media, m.media_type.as_str(), "{}", at("media"));
    assert_eq!(theirs.port, m.port, "{}", at("port"));
    assert_eq!(theirs.proto, m.protocol, "{}", at("proto"));
    let fmts: Vec<&str> = theirs.fmt.split(' ').filter(|f| !f.is_empty()).collect();
    let ours_fmts: Vec<String> = m
        .codecs
        .iter()
        .map(|c| c.payload_type.to_string())
        .chain(m.formats.iter().map(|f| f.to_string()))
        .collect();
    assert_eq!(fmts, ours_fmts, "{}", at("formats"));

    // rtpmap: every line is a codec of ours with that rtpmap.
    let mut rtpmaps = 0;
    for v in values(a, "rtpmap") {
        let (pt, map) = v.split_once(' ').unwrap();
        let codec = m.codec(pt.parse().unwrap()).expect("codec for rtpmap");
        assert_eq!(codec.rtpmap(), map, "{}", at("rtpmap"));
        rtpmaps += 1;
    }
    assert!(rtpmaps <= m.codecs.len(), "{}", at("rtpmap count"));
    // fmtp: the parameters as written, without optional spaces.
    let mut fmtps = 0;
    for v in values(a, "fmtp") {
        let (pt, params) = v.split_once(' ').unwrap();
        let codec = m.codec(pt.parse().unwrap()).expect("codec for fmtp");
        assert_eq!(
            codec.fmtp().as_deref(),
            Some(params.replace("; ", ";").as_str()),
            "{}",
            at("fmtp")
        );
        fmtps += 1;
    }
    let with_params = m.codecs.iter().filter(|c| !c.params.is_empty()).count();
    assert_eq!(fmtps, with_params, "{}", at("fmtp count"));
    // rtcp-fb: per codec plus wildcard.
    let fb: usize =
        m.codecs.iter().map(|c| c.feedback.len()).sum::<usize>() + m.wildcard_feedback.len();
    assert_eq!(values(a, "rtcp-fb").count(), fb, "{}", at("rtcp-fb count"));
    for v in values(a, "rtcp-fb") {
        let (pt, rest) = v.split_once(' ').unwrap();
        let list = match pt {
            "*" => &m.wildcard_feedback,
            pt => &m.codec(pt.parse().unwrap()).unwrap().feedback,
        };
        assert!(
            list.iter().any(|f| f.to_string() == rest),
            "{}",
            at("rtcp-fb")
        );
    }
    // extmap: id and URI, in order.
    let theirs_ext: Vec<(u16, &str)> = values(a, "extmap")
        .map(|v| {
            let mut it = v.split(' ');
            let id = it
                .next()
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (id, it.next().unwrap())
        })
        .collect();
    let ours_ext: Vec<(u16, &str)> = m
        .header_extensions
        .iter()
        .map(|e| (e.id, e.uri.as_str()))
        .collect();
    assert_eq!(theirs_ext, ours_ext, "{}", at("extmap"));

    // Transport, with session-level fallback (JSEP).
    let sess = &session.attributes;
    assert_eq!(first(a, "mid").unwrap_or(""), ours.mid, "{file}: mid");
    let ufrag = first(a, "ice-ufrag")
        .or(first(sess, "ice-ufrag"))
        .unwrap_or("");
    assert_eq!(ufrag, t.ice_ufrag, "{}", at("ice-ufrag"));
    let pwd = first(a, "ice-pwd").or(first(sess, "ice-pwd")).unwrap_or("");
    assert_eq!(pwd, t.ice_pwd, "{}", at("ice-pwd"));
    // Every fingerprint of the section (or, without any, of the session).
    let mut fps: Vec<Fingerprint> = values(a, "fingerprint")
        .map(|f| f.parse::<Fingerprint>().unwrap())
        .collect();
    if fps.is_empty() {
        fps = values(sess, "fingerprint")
            .map(|f| f.parse::<Fingerprint>().unwrap())
            .collect();
    }
    assert_eq!(fps, t.fingerprints, "{}", at("fingerprint"));
    let setup = first(a, "setup").or(first(sess, "setup"));
    assert_eq!(
        setup.map(|s| s.parse::<Setup>().unwrap()),
        t.setup,
        "{}",
        at("setup")
    );
    assert_eq!(
        values(a, "candidate").count(),
        t.candidates.len(),
        "{}",
        at("candidates")
    );
    assert_eq!(
        has(a, "end-of-candidates"),
        t.end_of_candidates,
        "{}",
        at("eoc")
    );

    // Streams and flags.
    assert_eq!(values(a, "ssrc").count(), m.ssrcs.len(), "{}", at("ssrc"));
    assert_eq!(
        values(a, "ssrc-group").count(),
        m.ssrc_groups.len(),
        "{}",
        at("ssrc-group")
    );
    assert_eq!(values(a, "msid").count(), m.msids.len(), "{}", at("msid"));
    assert_eq!(values(a, "rid").count(), m.rids.len(), "{}", at("rid"));
    assert_eq!(
        has(a, "simulcast"),
        m.simulcast.is_some(),
        "{}",
        at("simulcast")
    );
    assert_eq!(has(a, "rtcp-mux"), m.rtcp_mux, "{}", at("rtcp-mux"));
    assert_eq!(has(a, "rtcp-rsize"), m.rtcp_rsize, "{}", at("rtcp-rsize"));
    assert_eq!(
        has(a, "bundle-only"),
        ours.bundle_only,
        "{}",
        at("bundle-only")
    );
    let dir = ["sendrecv", "sendonly", "recvonly", "inactive"]
        .into_iter()
        .rfind(|d| has(a, d));
    assert_eq!(
        dir.is_some(),
        m.direction_written,
        "{}",
        at("direction written")
    );
    if let Some(d) = dir {
        assert_eq!(d, m.direction.as_str(), "{}", at("direction"));
    }
    assert_eq!(
        first(a, "sctp-port").map(|p| p.parse::<u16>().unwrap()),
        m.sctp_port,
        "{}",
        at("sctp-port")
    );
    assert_eq!(
        first(a, "max-message-size").map(|p| p.parse::<u64>().unwrap()),
        m.max_message_size,
        "{}",
        at("max-message-size")
    );
    assert_eq!(
        theirs
            .connections
            .first()
            .map(|c| c.connection_address.as_str()),
        m.connection.as_ref().map(|c| c.address.as_str()),
        "{}",
        at("c=")
    );
}

#[test]
fn sdp_types_agrees_with_our_model_on_the_corpus() {
    for path in corpus() {
        let file = path.display().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let theirs = sdp_types::Session::parse(&bytes)
            .unwrap_or_else(|e| panic!("{file}: sdp-types: {e:?}"));
        let ours = sdp::parse(std::str::from_utf8(&bytes).unwrap()).unwrap();

        assert_eq!(
            theirs.origin.sess_id,
            ours.origin.session_id.to_string(),
            "{file}"
        );
        assert_eq!(
            theirs.origin.sess_version, ours.origin.session_version,
            "{file}"
        );
        assert_eq!(theirs.origin.unicast_address, ours.origin.address, "{file}");
        assert_eq!(theirs.session_name, ours.session_name, "{file}");
        let groups: Vec<&str> = values(&theirs.attributes, "group").collect();
        assert_eq!(groups.len(), ours.groups.len(), "{file}: groups");
        for (g, o) in groups.iter().zip(&ours.groups) {
            let mut it = g.split(' ');
            assert_eq!(it.next(), Some(o.semantics.as_str()), "{file}");
            assert_eq!(it.collect::<Vec<_>>(), o.mids, "{file}");
        }
        assert_eq!(
            has(&theirs.attributes, "msid-semantic"),
            ours.msid_semantic.is_some(),
            "{file}"
        );
        assert_eq!(has(&theirs.attributes, "ice-lite"), ours.ice_lite, "{file}");
        assert_eq!(
            has(&theirs.attributes, "extmap-allow-mixed"),
            ours.extmap_allow_mixed,
            "{file}"
        );
        assert_eq!(theirs.medias.len(), ours.contents.len(), "{file}: m= count");
        for (m, c) in theirs.medias.iter().zip(&ours.contents) {
            compare_section(&file, &theirs, m, c);
        }
        // And sdp-types reads our output the same way.
        let written = sdp::write(&ours);
        let reread = sdp_types::Session::parse(written.as_bytes())
            .unwrap_or_else(|e| panic!("{file}: sdp-types on our output: {e:?}"));
        assert_eq!(reread.medias.len(), ours.contents.len(), "{file}");
        for (m, c) in reread.medias.iter().zip(&ours.contents) {
            compare_section(&format!("{file} (written)"), &reread, m, c);
        }
    }
}
