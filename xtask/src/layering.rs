//! The layering rule of `docs/architecture.md`, checked by this crate's unit tests (so by
//! `cargo test --workspace`, the `test` step of `cargo xtask test-all`):
//!
//! 1. each layer crate has, among the workspace's crates, only the crate directly below it
//!    as a normal dependency, without that crate's default features (so `sdp` pulls no tokio
//!    through the layers below; a crate's own `tokio` feature forwards to the one below);
//! 2. no layer's `src/` names a crate two or more layers down, or one above: what a layer
//!    shares with the layers below it reaches it through the re-exports of the crate directly
//!    below (`dtls_transport::ice`, `ice::stun`, `sdp::model::Candidate`…).
//!
//! Dev-dependencies are free: tests may use any crate below (and the crate itself with
//! extra features, as `ice` does for its simulator).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The layer crates, bottom up: package names, which are also their directories under `crates/`.
pub(crate) const LAYERS: &[&str] = &[
    "stun",
    "ice",
    "dtls-transport",
    "sdp",
    "media-channels",
    "peerconnection",
];

/// The Rust name of package `package` (`dtls-transport` → `dtls_transport`).
fn lib_name(package: &str) -> String {
    package.replace('-', "_")
}

/// Checks rule 1 on the output of `cargo metadata --format-version 1 --no-deps`.
pub(crate) fn check_manifest_dependencies(metadata: &str) -> Result<(), Vec<String>> {
    let metadata: serde_json::Value =
        serde_json::from_str(metadata).map_err(|e| vec![format!("cargo metadata: {e}")])?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or_else(|| vec!["cargo metadata: no `packages` array".to_owned()])?;
    let workspace: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut problems = Vec::new();
    for (i, layer) in LAYERS.iter().enumerate() {
        let Some(package) = packages.iter().find(|p| p["name"] == *layer) else {
            problems.push(format!("layer crate `{layer}` is not in the workspace"));
            continue;
        };
        let below = i.checked_sub(1).map(|j| LAYERS[j]);
        let mut found_below = false;
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let name = dep["name"].as_str().unwrap_or_default();
            // A workspace crate by path; a registry crate that happens to share a name
            // (webrtc-rs's `stun`, `sdp`) has no path.
            if dep["path"].is_null() || !workspace.contains(&name) {
                continue;
            }
            match dep["kind"].as_str() {
                Some("dev") => {}
                Some(kind) => problems.push(format!(
                    "`{layer}` has a {kind} dependency on workspace crate `{name}`"
                )),
                None if Some(name) == below => {
                    found_below = true;
                    if dep["uses_default_features"] != false {
                        problems.push(format!(
                            "`{layer}` depends on `{name}` with its default features; \
                             add `default-features = false` (and forward features explicitly)"
                        ));
                    }
                }
                None => problems.push(format!(
                    "`{layer}` depends on `{name}`; a layer depends only on the one directly \
                     below it ({})",
                    below.map_or("none, for the bottom layer".to_owned(), |b| format!(
                        "`{b}`"
                    ))
                )),
            }
        }
        if let (Some(below), false) = (below, found_below) {
            problems.push(format!(
                "`{layer}` does not depend on `{below}`, the layer below it"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// One token of Rust source: an identifier or keyword, `::`, or another punctuation
/// character; with its 1-based line. Comments and string/char literals produce none.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Ident(&'a str),
    PathSep,
    Punct(char),
}

/// A deliberately small lexer: enough to find paths, not to parse Rust.
fn tokens(source: &str) -> Vec<(Token<'_>, usize)> {
    let bytes = source.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < bytes.len() {
        let b = bytes[i];
        let rest = &source[i..];
        if b == b'\n' {
            line += 1;
            i += 1;
        } else if b.is_ascii_whitespace() {
            i += 1;
        } else if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            let len = rest.find("*/").map_or(rest.len(), |e| e + 2);
            line += rest[..len].matches('\n').count();
            i += len;
        } else if b == b'"' || ((b == b'r' || b == b'b') && raw_or_byte_string(rest).is_some()) {
            let len = if b == b'"' {
                quoted_len(rest)
            } else {
                raw_or_byte_string(rest).unwrap_or(1)
            };
            line += rest[..len].matches('\n').count();
            i += len;
        } else if b == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): skip the literal only.
            let close = rest[1..].find('\'').map(|e| e + 1);
            match close {
                Some(e)
                    if e <= 11
                        && !rest[1..e].contains('\n')
                        && (e == 2 || rest[1..].starts_with('\\')) =>
                {
                    i += e + 1
                }
                _ => i += 1,
            }
        } else if is_ident(b) {
            let len = bytes[i..].iter().take_while(|&&c| is_ident(c)).count();
            out.push((Token::Ident(&source[i..i + len]), line));
            i += len;
        } else if rest.starts_with("::") {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push((Token::Punct(c), line));
            i += c.len_utf8();
        }
    }
    out
}

/// The length of the `"…"` literal at the start of `s` (escapes honoured).
fn quoted_len(s: &str) -> usize {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// The length of the `r"…"`, `r#"…"#`, `b"…"` or `br#"…"#` literal at the start of `s`.
fn raw_or_byte_string(s: &str) -> Option<usize> {
    let after_b = s.strip_prefix('b').unwrap_or(s);
    let Some(raw) = after_b.strip_prefix('r') else {
        // `b"…"` (not raw): escapes as in a normal string.
        return after_b
            .starts_with('"')
            .then(|| s.len() - after_b.len() + quoted_len(after_b));
    };
    let hashes = raw.bytes().take_while(|&c| c == b'#').count();
    let body = raw[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = body.find(&close).map_or(body.len(), |e| e + close.len());
    Some(s.len() - body.len() + end)
}

/// Where `source` names crate `krate` as the root of a path (`krate::…`, `::krate::…`,
/// `use krate…`, `extern crate krate`), as 1-based line numbers. `ice::stun::…`,
/// `use ice::{stun::…}` and `dtls_transport::ice::…` do not count: there the name is a
/// re-export in the crate below. Comments and string literals are not read (doc examples
/// are compiled as doctests, which catch a crate that is not a dependency).
pub(crate) fn names_crate(source: &str, krate: &str) -> Vec<usize> {
    let toks = tokens(source);
    fn ident<'a>(t: Option<&(Token<'a>, usize)>) -> Option<&'a str> {
        match t {
            Some((Token::Ident(s), _)) => Some(s),
            _ => None,
        }
    }
    let mut lines = Vec::new();
    // Inside a `use` statement, only its first segment is a crate name.
    let mut in_use = false;
    for (k, (tok, line)) in toks.iter().enumerate() {
        let prev = k.checked_sub(1).map(|j| &toks[j]);
        let prev2 = k.checked_sub(2).map(|j| &toks[j]);
        match tok {
            Token::Punct(';') => in_use = false,
            Token::Ident("use") => in_use = true,
            Token::Ident(name) if *name == krate => {
                let after_use = ident(prev) == Some("use")
                    || (matches!(prev, Some((Token::PathSep, _))) && ident(prev2) == Some("use"));
                let root = if in_use {
                    after_use
                } else {
                    let next_is_sep = matches!(toks.get(k + 1), Some((Token::PathSep, _)));
                    let prev_is_sep = matches!(prev, Some((Token::PathSep, _)));
                    // `krate::x`, or `::krate::x` (not `a::krate::x`).
                    (next_is_sep && !prev_is_sep)
                        || (prev_is_sep && ident(prev2).is_none())
                        || (ident(prev) == Some("crate") && ident(prev2) == Some("extern"))
                };
                if root && lines.last() != Some(line) {
                    lines.push(*line);
                }
            }
            _ => {}
        }
    }
    lines
}

/// Checks rule 2 on the sources under `root/crates/<layer>/src`.
pub(crate) fn check_sources(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for (i, layer) in LAYERS.iter().enumerate() {
        let forbidden: Vec<String> = LAYERS
            .iter()
            .enumerate()
            .filter(|&(j, _)| j + 1 < i || j > i)
            .map(|(_, other)| lib_name(other))
            .collect();
        let src = root.join("crates").join(layer).join("src");
        let files = match rust_files(&src) {
            Ok(files) => files,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if files.is_empty() {
            problems.push(format!("no Rust sources under {}", src.display()));
        }
        for file in files {
            let source = match std::fs::read_to_string(&file) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("reading {}: {e}", file.display()));
                    continue;
                }
            };
            for krate in &forbidden {
                for line in names_crate(&source, krate) {
                    let file = file.strip_prefix(root).unwrap_or(&file);
                    problems.push(format!(
                        "{}:{line}: `{layer}` names `{krate}`, which is not the layer directly \
                         below it; go through that layer's re-export",
                        file.display()
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("reading {}: {e}", dir.display()))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `cargo metadata --format-version 1 --no-deps` of the workspace at `root`.
pub(crate) fn cargo_metadata(root: &Path) -> Result<String, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("cargo metadata: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        crate::workspace_root()
    }

    #[test]
    fn each_layer_depends_only_on_the_layer_below_without_default_features() {
        let metadata = cargo_metadata(&root()).unwrap();
        if let Err(problems) = check_manifest_dependencies(&metadata) {
            panic!("layering (Cargo.toml):\n  {}", problems.join("\n  "));
        }
    }

    #[test]
    fn no_layer_names_a_crate_two_layers_down() {
        if let Err(problems) = check_sources(&root()) {
            panic!("layering (sources):\n  {}", problems.join("\n  "));
        }
    }

    #[test]
    fn path_roots_are_found_and_reexports_are_not() {
        assert_eq!(names_crate("use stun::Message;", "stun"), vec![1]);
        assert_eq!(
            names_crate("let m = ::stun::Message::parse(b);", "stun"),
            vec![1]
        );
        assert_eq!(names_crate("x\n    stun :: classify(b)", "stun"), vec![2]);
        assert_eq!(
            names_crate("use stun;\nextern crate stun;", "stun"),
            vec![1, 2]
        );
        assert_eq!(
            names_crate("use ice::{stun::classify};", "stun"),
            Vec::<usize>::new()
        );
        assert_eq!(
            names_crate("use ice::stun::classify;", "stun"),
            Vec::<usize>::new()
        );
        assert_eq!(
            names_crate("use dtls_transport::ice::Candidate;", "ice"),
            Vec::<usize>::new()
        );
        assert_eq!(
            names_crate("let device = slice::from(x);", "ice"),
            Vec::<usize>::new()
        );
        assert_eq!(
            names_crate("use stun_codec::Message;", "stun"),
            Vec::<usize>::new()
        );
        assert_eq!(
            names_crate("// use stun::Message;", "stun"),
            Vec::<usize>::new()
        );
        assert_eq!(
            names_crate(
                "/* stun::x */ let s = \"stun::x\"; let r = r#\"stun::\"#;",
                "stun"
            ),
            Vec::<usize>::new()
        );
        assert_eq!(
            names_crate(
                "use ice::{\n    candidate::Candidate,\n    stun::classify,\n};",
                "stun"
            ),
            Vec::<usize>::new()
        );
        assert_eq!(
            names_crate("fn f<'a>(c: char) { g('x', c, stun::h()) }", "stun"),
            vec![1]
        );
        assert_eq!(
            names_crate("pub use stun;\nlet x = 1;\nstun::f();", "stun"),
            vec![1, 3]
        );
    }

    #[test]
    fn a_dependency_around_a_layer_or_with_default_features_is_refused() {
        let metadata = |sdp_deps: &str| {
            format!(
                r#"{{"packages":[
                {{"name":"stun","dependencies":[]}},
                {{"name":"ice","dependencies":[{{"name":"stun","path":"/w/crates/stun","kind":null,"uses_default_features":false}}]}},
                {{"name":"dtls-transport","dependencies":[{{"name":"ice","path":"/w/crates/ice","kind":null,"uses_default_features":false}},
                    {{"name":"ice","path":"/w/crates/ice","kind":"dev","uses_default_features":true}}]}},
                {{"name":"sdp","dependencies":[{sdp_deps}]}},
                {{"name":"media-channels","dependencies":[{{"name":"sdp","path":"/w/crates/sdp","kind":null,"uses_default_features":false}}]}},
                {{"name":"peerconnection","dependencies":[{{"name":"media-channels","path":"/w/crates/media-channels","kind":null,"uses_default_features":false}}]}}]}}"#
            )
        };
        let good = r#"{"name":"dtls-transport","path":"/w/crates/dtls-transport","kind":null,"uses_default_features":false},
                      {"name":"stun","path":"/w/crates/stun","kind":"dev","uses_default_features":true},
                      {"name":"sdp","source":"registry+https://github.com/rust-lang/crates.io-index","kind":"dev","uses_default_features":true}"#;
        assert_eq!(check_manifest_dependencies(&metadata(good)), Ok(()));

        let defaults = r#"{"name":"dtls-transport","path":"/w/crates/dtls-transport","kind":null,"uses_default_features":true}"#;
        let problems = check_manifest_dependencies(&metadata(defaults)).unwrap_err();
        assert!(problems[0].contains("default features"), "{problems:?}");

        let around = r#"{"name":"dtls-transport","path":"/w/crates/dtls-transport","kind":null,"uses_default_features":false},
                        {"name":"ice","path":"/w/crates/ice","kind":null,"uses_default_features":false}"#;
        let problems = check_manifest_dependencies(&metadata(around)).unwrap_err();
        assert!(
            problems[0].contains("`sdp` depends on `ice`"),
            "{problems:?}"
        );

        let problems = check_manifest_dependencies(&metadata("")).unwrap_err();
        assert!(
            problems[0].contains("does not depend on `dtls-transport`"),
            "{problems:?}"
        );
    }
}
