// Process and file helpers of the netns steps (running with time limits,
// capturing output, killing leftovers, temporary and log directories).
// Included by `netns.rs` with `include!`: the items are that module's own,
// kept apart for size.

// ------------------------------------------------------------ processes

/// Waits for `child` up to `limit`; after that kills it, reaps it and returns `None`.
fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if start.elapsed() < limit => thread::sleep(Duration::from_millis(20)),
            Ok(None) | Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Waits up to `limit` for `handle`'s thread, then abandons it (a stray
/// grandchild could hold a pipe open forever).
fn join_within<T>(handle: JoinHandle<T>, limit: Duration) -> Option<T> {
    let start = Instant::now();
    while !handle.is_finished() {
        if start.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
    handle.join().ok()
}

/// `cmd` in a few words for error messages.
fn brief(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    let mut out = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy()
        .into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&arg.to_string_lossy());
    }
    if out.chars().count() > 120 {
        out = out.chars().take(117).collect::<String>() + "...";
    }
    out
}

/// The result of a finished (or killed) command.
fn judge(cmd: &Command, status: Option<ExitStatus>, limit: Duration) -> Result<(), String> {
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(format!("`{}` failed: {s}", brief(cmd))),
        None => Err(format!(
            "`{}` did not finish within {:.1} s (killed)",
            brief(cmd),
            limit.as_secs_f64()
        )),
    }
}

/// Prints `cmd`, runs it with inherited stdout/stderr (and `input` on stdin,
/// if any) and waits up to `limit`, killing it after that.
fn run_within(cmd: &mut Command, input: Option<&str>, limit: Duration) -> Result<(), String> {
    println!("$ {}", cmd::display(cmd));
    if let Some(text) = input {
        for line in text.lines() {
            println!("  < {line}");
        }
    }
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start `{}`: {e}", brief(cmd)))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A few hundred bytes: they fit in the pipe whether or not the child reads.
        let _ = stdin.write_all(text.as_bytes());
    }
    judge(cmd, wait_within(&mut child, limit), limit)
}

/// What a command printed on stdout, and how it ended.
struct Captured {
    lines: Vec<String>,
    /// `None` when it could not start or was killed at the time limit.
    status: Option<ExitStatus>,
    result: Result<(), String>,
}

/// Prints `cmd`, runs it (stdin null, stderr inherited) up to `limit` and
/// keeps its stdout lines, echoing them as they come when `echo` is set.
fn run_captured(cmd: &mut Command, limit: Duration, echo: bool) -> Captured {
    println!("$ {}", cmd::display(cmd));
    let spawned = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Captured {
                lines: Vec::new(),
                status: None,
                result: Err(format!("could not start `{}`: {e}", brief(cmd))),
            }
        }
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).split(b'\n') {
            let Ok(line) = line else { break };
            let line = String::from_utf8_lossy(&line).trim_end().to_owned();
            if echo {
                println!("{line}");
            }
            lines.push(line);
        }
        lines
    });
    let status = wait_within(&mut child, limit);
    let lines = join_within(reader, Duration::from_secs(2)).unwrap_or_default();
    Captured {
        lines,
        status,
        result: judge(cmd, status, limit),
    }
}

/// A command running `program` with `prefix` (e.g. `ip netns exec NAME`) in front.
fn command(prefix: &[String], program: &str) -> Command {
    match prefix.split_first() {
        None => Command::new(program),
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
    }
}

/// The command line of process `pid`, for messages.
fn cmdline(pid: u32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Kills the processes `pids` (ours: they live in namespaces this step made)
/// with SIGKILL, saying which and why.
fn kill_pids(pids: &[u32], why: &str) {
    if pids.is_empty() {
        return;
    }
    for pid in pids {
        println!("killing pid {pid} ({why}): {}", cmdline(*pid));
    }
    let mut kill = Command::new("kill");
    kill.arg("-KILL").args(pids.iter().map(u32::to_string));
    if let Err(e) = run_within(&mut kill, None, SETUP_LIMIT) {
        println!("warning: {e}");
    }
}

/// A directory under the system's temporary directory, deleted on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Result<TempDir, String> {
        let path = std::env::temp_dir().join(format!("peerstack-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `target/interop-logs/<step>`, emptied.
fn log_dir(root: &Path, step: &str) -> Result<PathBuf, String> {
    let dir = root.join("target/interop-logs").join(step);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}
