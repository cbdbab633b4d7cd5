// Running one `xtask __pair` of two ice-peers and reading what they
// signalled and selected, and reporting the results of a suite. Included by
// `netns.rs` with `include!`: the items are that module's own, kept apart for
// size.

// ------------------------------------------------------------- pairings

/// One `xtask __pair` run to make.
struct PairSpec {
    /// Printed before the run.
    title: String,
    /// Names the log files.
    slug: String,
    /// `--names` of `__pair`: the sender and the echoer.
    names: (&'static str, &'static str),
    sender: Vec<String>,
    echoer: Vec<String>,
}

/// What a successful `xtask __pair` run showed.
struct PairRun {
    /// `__pair`'s stdout: the signalling lines it relayed, among others.
    lines: Vec<String>,
    /// The sender's whole stderr.
    sender_stderr: String,
    seconds: f64,
}

impl PairRun {
    /// How many candidates `from` signalled that contain `needle`.
    fn signalled(&self, from: &str, to: &str, needle: &str) -> usize {
        signalled(&self.lines, from, to, needle)
    }
}

/// Candidate lines that `from` signalled to `to` in `__pair`'s output (printed
/// as `  [from -> to] {"type":"candidate",…}`) and that contain `needle`.
fn signalled(lines: &[String], from: &str, to: &str, needle: &str) -> usize {
    let label = format!("[{from} -> {to}] ");
    lines
        .iter()
        .map(|l| l.trim_start())
        .filter(|l| l.starts_with(&label))
        .filter(|l| l.contains(r#""type":"candidate""#) && l.contains(needle))
        .count()
}

/// The local and remote candidate of the last pair `ice-peer` logged as selected.
fn last_selected_pair(stderr: &str) -> Option<(&str, &str)> {
    let line = stderr.lines().rev().find(|l| l.contains(SELECTED_PAIR))?;
    let rest = &line[line.find(SELECTED_PAIR)? + SELECTED_PAIR.len()..];
    let (local, remote) = rest.split_once(" remote=")?;
    Some((local.trim(), remote.trim()))
}

/// `typ` and transport of a candidate as text: `relay/udp`.
fn kind(candidate: &str) -> String {
    let words: Vec<&str> = candidate.split_whitespace().collect();
    let typ = words
        .iter()
        .position(|w| *w == "typ")
        .and_then(|i| words.get(i + 1))
        .copied()
        .unwrap_or("?");
    let transport = words.get(2).copied().unwrap_or("?").to_ascii_lowercase();
    format!("{typ}/{transport}")
}

/// Runs `xtask __pair` for `spec`, with each peer's stderr also copied into
/// `logs/<slug>-<name>.stderr`.
fn run_pair(xtask: &Path, logs: &Path, spec: &PairSpec) -> Result<PairRun, String> {
    println!("\n--> {}", spec.title);
    let (a, b) = spec.names;
    let sender_log = logs.join(format!("{}-{a}.stderr", spec.slug));
    let echoer_log = logs.join(format!("{}-{b}.stderr", spec.slug));
    let mut cmd = Command::new(xtask);
    cmd.args(["__pair", "--timeout", &PAIR_TIMEOUT.to_string()])
        .args(["--names", &format!("{a},{b}")]);
    cmd.args(["bash", "-c", TEE_STDERR])
        .arg(&sender_log)
        .args(&spec.sender);
    cmd.arg("--");
    cmd.args(["bash", "-c", TEE_STDERR])
        .arg(&echoer_log)
        .args(&spec.echoer);
    let start = Instant::now();
    let out = run_captured(&mut cmd, PAIR_LIMIT, true);
    let seconds = start.elapsed().as_secs_f64();
    match out.result {
        Ok(()) => Ok(PairRun {
            lines: out.lines,
            sender_stderr: fs::read_to_string(&sender_log).unwrap_or_default(),
            seconds,
        }),
        Err(_) => Err(format!(
            "{} (peers' whole stderr: {}, {})",
            match out.status {
                Some(status) => format!("xtask __pair failed: {status}"),
                None => format!("xtask __pair killed after {} s", PAIR_LIMIT.as_secs()),
            },
            sender_log.display(),
            echoer_log.display()
        )),
    }
}

/// The result of one sub-test, for the step's own summary.
struct Report {
    name: String,
    result: Result<String, String>,
    seconds: f64,
}

fn print_reports(step: &str, reports: &[Report]) {
    let width = reports.iter().map(|r| r.name.len()).max().unwrap_or(0);
    println!("\n--> {step}:");
    for r in reports {
        let (status, note) = match &r.result {
            Ok(note) => ("ok", note.as_str()),
            Err(e) => ("FAILED", e.as_str()),
        };
        let note = note.lines().next().unwrap_or("");
        println!(
            "  {:<width$}  {status:<6}  {:>5.1} s  {note}",
            r.name, r.seconds
        );
    }
}

fn outcome(reports: &[Report]) -> Outcome {
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| r.result.is_err())
        .map(|r| r.name.as_str())
        .collect();
    if failed.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Failed(format!("failed: {}", failed.join(", ")))
    }
}
