//! The SDP corpus under `tests/corpus/` (Chromium captures, Firefox and Safari examples).
//! Test files include it with `#[path = "support/corpus.rs"] mod corpus_files;`.

use std::path::{Path, PathBuf};

/// Every `*.sdp` file under `tests/corpus/`, sorted; panics if there are none.
pub(crate) fn sdp_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut out = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "sdp") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no .sdp files under {}", dir.display());
    out
}
