//! Small helpers around [`std::process::Command`]: every command is printed
//! before it runs, and the questions the steps ask about the machine (is a tool
//! on `PATH`, are we root, can we make a network namespace) live here.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Renders `cmd` the way a shell user would type it: environment overrides,
/// program, arguments, and the working directory when one is set.
pub(crate) fn display(cmd: &Command) -> String {
    let mut out = String::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            out.push_str(&format!("{}={} ", key.to_string_lossy(), quote(value)));
        }
    }
    out.push_str(&quote(cmd.get_program()));
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&quote(arg));
    }
    if let Some(dir) = cmd.get_current_dir() {
        out.push_str(&format!("    (in {})", dir.display()));
    }
    out
}

/// Quotes one word for display if it contains anything a shell would split or expand.
fn quote(word: &OsStr) -> String {
    let s = word.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '+' | ',' | '@')
        });
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `cmd` in a few words for error messages: the program's file name and its arguments.
fn brief(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    let mut out = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy()
        .into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&quote(arg));
    }
    out
}

/// Prints `cmd`, runs it with inherited stdio and reports failure as an error.
pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    println!("$ {}", display(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{}`: {e}", display(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed: {status}", brief(cmd)))
    }
}

/// Prints `cmd`, runs it with stdout captured (stderr inherited) and returns
/// stdout; a non-zero exit is an error.
pub(crate) fn output(cmd: &mut Command) -> Result<String, String> {
    println!("$ {}", display(cmd));
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{}`: {e}", display(cmd)))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("`{}` failed: {}", brief(cmd), out.status))
    }
}

/// Runs `cmd` silently and says whether it succeeded; for probes such as
/// "does `cargo fuzz` exist" whose output nobody needs.
pub(crate) fn probe(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The cargo that started us (`$CARGO`), or `cargo` from `PATH`.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Where `name` is found on `PATH`, if it is there as an executable file.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether this process runs with effective uid 0 (read from `/proc/self/status`).
pub(crate) fn is_root() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

/// Why a fresh network namespace with only loopback cannot be made here, or
/// `None` when it can (root, `unshare` and `ip` present, and a trial run works).
pub(crate) fn netns_unavailable() -> Option<String> {
    if !is_root() {
        return Some("not root, so `unshare --net` is not available".into());
    }
    for tool in ["unshare", "ip"] {
        if which(tool).is_none() {
            return Some(format!("`{tool}` is not on PATH"));
        }
    }
    if !probe(Command::new("unshare").args(["--net", "sh", "-c", "ip link set lo up"])) {
        return Some("`unshare --net sh -c 'ip link set lo up'` failed".into());
    }
    None
}

/// A command that runs `program args...` inside a fresh network namespace
/// whose only interface is `lo` (brought up first): nothing inside can reach
/// any address but 127.0.0.1 and ::1. Callers check [`netns_unavailable`] first.
pub(crate) fn in_loopback_netns(program: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--net",
        "sh",
        "-c",
        r#"ip link set lo up && exec "$0" "$@""#,
    ]);
    cmd.arg(program).args(args);
    cmd
}
