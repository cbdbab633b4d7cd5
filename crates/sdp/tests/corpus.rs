//! Every SDP file under `tests/corpus/` (Chromium captures, Firefox and Safari
//! examples) parses, writes back semantically identical
//! (`parse(write(parse(x))) == parse(x)`), writes stably
//! (`write(parse(write(d))) == write(d)`), and, for the Chromium files, which
//! are canonical, writes back byte for byte.

use std::path::{Path, PathBuf};

#[path = "support/corpus.rs"]
mod corpus_files;

fn corpus() -> Vec<(PathBuf, String)> {
    corpus_files::sdp_files()
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

fn is_chromium(p: &Path) -> bool {
    p.components().any(|c| c.as_os_str() == "chromium")
}

#[test]
fn every_corpus_file_round_trips() {
    for (path, text) in corpus() {
        let name = path.display();
        let desc = sdp::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = sdp::write(&desc);
        let again = sdp::parse(&written).unwrap_or_else(|e| panic!("{name} (rewritten): {e}"));
        assert_eq!(again, desc, "{name}: parse(write(parse(x))) != parse(x)");
        assert_eq!(sdp::write(&again), written, "{name}: write is not stable");
        assert!(written.ends_with("\r\n"), "{name}");
        assert!(
            !written.replace("\r\n", "").contains('\n'),
            "{name}: bare LF in output"
        );
    }
}

#[test]
fn chromium_files_write_back_byte_identical() {
    let mut n = 0;
    for (path, text) in corpus().into_iter().filter(|(p, _)| is_chromium(p)) {
        n += 1;
        let desc = sdp::parse(&text).unwrap();
        let written = sdp::write(&desc);
        if written != text {
            let diff = text
                .lines()
                .zip(written.lines())
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .map(|(i, (a, b))| format!("line {}: input `{a}`, written `{b}`", i + 1))
                .unwrap_or_else(|| {
                    format!(
                        "{} input lines, {} written",
                        text.lines().count(),
                        written.lines().count()
                    )
                });
            panic!("{}: not byte-identical: {diff}", path.display());
        }
    }
    assert!(n > 0, "no Chromium files in the corpus");
}

#[test]
fn corpus_files_parse_with_lf_line_ends() {
    for (path, text) in corpus() {
        let crlf = sdp::parse(&text).unwrap();
        let lf = text.replace("\r\n", "\n");
        assert_eq!(sdp::parse(&lf).unwrap(), crlf, "{}", path.display());
        // Without the final line end too.
        let trimmed = lf.trim_end_matches('\n');
        assert_eq!(sdp::parse(trimmed).unwrap(), crlf, "{}", path.display());
    }
}

#[test]
fn chromium_offers_have_the_expected_shape() {
    for (path, text) in corpus().into_iter().filter(|(p, _)| is_chromium(p)) {
        let desc = sdp::parse(&text).unwrap();
        let name = path.display();
        assert!(!desc.contents.is_empty(), "{name}");
        for c in &desc.contents {
            assert!(!c.mid.is_empty(), "{name}: section without mid");
            assert!(
                !c.transport.ice_ufrag.is_empty(),
                "{name}: {} no ufrag",
                c.mid
            );
            assert!(
                !c.transport.fingerprints.is_empty(),
                "{name}: {} no fingerprint",
                c.mid
            );
            assert!(c.transport.setup.is_some(), "{name}: {} no setup", c.mid);
            if c.media.media_type.is_rtp() {
                assert!(!c.media.codecs.is_empty(), "{name}: {} no codecs", c.mid);
                for codec in &c.media.codecs {
                    assert!(!codec.name.is_empty(), "{name}: pt {}", codec.payload_type);
                }
            }
        }
        assert!(desc.bundle_group().is_some(), "{name}: no BUNDLE");
    }
}
