//! Run a binary under a time and memory bound, so a regression (a hang, a blow-up) fails
//! the test instead of the machine.
//!
//! The run is `timeout -s KILL 2×max_seconds prlimit --as=4G -- BIN ARGS` in `dir`, under
//! GNU time (`/usr/bin/time`) when it is installed, which gives the peak resident memory.
//!
//! ```no_run
//! let dir = std::path::Path::new(".");
//! let run = rampart_testkit::bounded::run("/bin/true", dir, &[]);
//! run.assert_bounded();
//! ```

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Peak resident memory allowed for one run by [`Run::assert_bounded`].
pub const MAX_RSS_MB: u64 = 400;
/// Wall time allowed for one run by [`Run::assert_bounded`] (debug build, shared machine).
pub const MAX_SECONDS: u64 = 10;

/// One finished run.
pub struct Run {
    /// Exit status and captured output.
    pub out: Output,
    /// Peak resident memory in MB, when GNU time is installed.
    pub rss_mb: Option<u64>,
    /// Wall time.
    pub elapsed: Duration,
    /// The arguments, for messages.
    pub args: Vec<String>,
}

impl Run {
    /// stdout then stderr, lossily decoded.
    pub fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.out.stdout),
            String::from_utf8_lossy(&self.out.stderr)
        )
    }

    /// stdout, lossily decoded.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    /// stderr, lossily decoded.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    /// The exit code (`None` when killed by a signal, e.g. by the time bound).
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    /// Panics unless the run took under [`MAX_SECONDS`] and [`MAX_RSS_MB`].
    pub fn assert_bounded(&self) {
        self.assert_within(Duration::from_secs(MAX_SECONDS), MAX_RSS_MB);
    }

    /// Panics unless the run took under `time` and `rss_mb` of peak memory.
    pub fn assert_within(&self, time: Duration, rss_mb: u64) {
        let excerpt: String = self.text().chars().take(2000).collect();
        assert!(
            self.elapsed < time,
            "{:?} took {:?} (bound {time:?}):\n{excerpt}",
            self.args,
            self.elapsed
        );
        if let Some(mb) = self.rss_mb {
            assert!(
                mb < rss_mb,
                "{:?}: peak RSS {mb} MB (bound {rss_mb} MB):\n{excerpt}",
                self.args
            );
        }
    }
}

/// Run `bin ARGS` in `dir` with `NO_COLOR=1`: killed after twice [`MAX_SECONDS`], limited
/// to 4 GB of address space; the peak RSS comes from GNU time when it is installed.
pub fn run(bin: &str, dir: &Path, args: &[&str]) -> Run {
    run_env(bin, dir, args, &[])
}

/// [`run`] with extra environment variables.
pub fn run_env(bin: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let gnu_time = Path::new("/usr/bin/time").exists();
    // Outside `dir`, so a scan of `dir` never sees it.
    let rss_file = tempfile_path();
    let mut cmd = if gnu_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file);
        c.arg("timeout");
        c
    } else {
        eprintln!("note: /usr/bin/time missing; peak memory not checked");
        Command::new("timeout")
    };
    cmd.args(["-s", "KILL", &(2 * MAX_SECONDS).to_string()]);
    cmd.args(["prlimit", "--as=4294967296", "--", bin]);
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    let elapsed = start.elapsed();
    let rss_mb = if gnu_time {
        let t = std::fs::read_to_string(&rss_file).unwrap_or_default();
        let _ = std::fs::remove_file(&rss_file);
        // GNU time writes "Command terminated by signal 9" first when the bound kills it.
        t.lines()
            .rev()
            .find_map(|l| l.trim().parse::<u64>().ok())
            .map(|kb| kb / 1024)
    } else {
        None
    };
    eprintln!("{bin} {args:?}: {elapsed:?}, peak RSS {rss_mb:?} MB");
    Run {
        out,
        rss_mb,
        elapsed,
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

/// A fresh path in the system temp directory.
fn tempfile_path() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "rampart-testkit-rss-{}-{}.txt",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}
