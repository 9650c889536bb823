//! Running the hecjob binary: one builder for every test that runs it.
//!
//! `Hecjob::new().args([..]).env(..).current_dir(..).run()` runs it to the end
//! and gives a [`Run`], whose assertions compare whole messages and exit codes
//! and print the other stream on a mismatch:
//! `.code(2).stderr_eq("…").stdout_eq("")`. [`Hecjob::output`] gives the raw
//! [`Output`] to tests that read it themselves, [`Hecjob::command`] the
//! [`Command`] to tests that spawn it in the background.
//!
//! Environment and working directory go to the child only: a test never sets
//! its own (tests share one process under `cargo test`).

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The hecjob binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hecjob");

/// One run of hecjob being set up.
pub struct Hecjob {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl Default for Hecjob {
    fn default() -> Self {
        Hecjob::new()
    }
}

impl Hecjob {
    pub fn new() -> Self {
        Hecjob {
            cmd: Command::new(BIN),
            stdin: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.cmd.envs(vars);
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Bytes written to the child's stdin (else stdin is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Reach the test Slurm: `SLURM_CONF` set to [`super::slurm_conf`].
    pub fn slurm(self) -> Self {
        self.env("SLURM_CONF", super::slurm_conf())
    }

    /// The command as set up, for a test that spawns it (stdin not applied).
    pub fn command(self) -> Command {
        assert!(
            self.stdin.is_none(),
            "Hecjob::command does not feed stdin; use run() or output()"
        );
        self.cmd
    }

    /// Run to the end; stdout and stderr captured.
    pub fn output(mut self) -> Output {
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let input = self.stdin.unwrap_or_default();
        let mut pipe = child.stdin.take().unwrap();
        // A writer thread: a child that answers before reading all of its
        // input must not deadlock against a full pipe.
        let writer = std::thread::spawn(move || {
            // The child may exit without reading; a broken pipe is its answer.
            let _ = pipe.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }

    /// Run to the end, for assertions on the result.
    pub fn run(self) -> Run {
        let what = describe(&self.cmd);
        Run {
            output: self.output(),
            what,
        }
    }
}

/// `hecjob ARGS` (in DIR), for messages.
fn describe(cmd: &Command) -> String {
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match cmd.get_current_dir() {
        Some(d) => format!("hecjob {} (in {})", args.join(" "), d.display()),
        None => format!("hecjob {}", args.join(" ")),
    }
}

/// A finished run of hecjob.
pub struct Run {
    pub output: Output,
    what: String,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The exit code (None when a signal ended it).
    pub fn exit_code(&self) -> Option<i32> {
        self.output.status.code()
    }

    fn streams(&self) -> String {
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// Assert the exit code.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.exit_code(),
            Some(code),
            "{}: exit code\n{}",
            self.what,
            self.streams()
        );
        self
    }

    /// Assert exit code 0.
    #[track_caller]
    pub fn success(self) -> Self {
        self.code(0)
    }

    /// Assert stdout is exactly `expected`.
    #[track_caller]
    pub fn stdout_eq(self, expected: &str) -> Self {
        assert_eq!(
            self.stdout(),
            expected,
            "{}: stdout\n--- stderr ---\n{}",
            self.what,
            self.stderr()
        );
        self
    }

    /// Assert stderr is exactly `expected`.
    #[track_caller]
    pub fn stderr_eq(self, expected: &str) -> Self {
        assert_eq!(
            self.stderr(),
            expected,
            "{}: stderr\n--- stdout ---\n{}",
            self.what,
            self.stdout()
        );
        self
    }

    /// Assert stdout holds `part` (for output with times or paths in it).
    #[track_caller]
    pub fn stdout_contains(self, part: &str) -> Self {
        assert!(
            self.stdout().contains(part),
            "{}: stdout lacks {part:?}\n{}",
            self.what,
            self.streams()
        );
        self
    }

    /// Assert stderr holds `part`.
    #[track_caller]
    pub fn stderr_contains(self, part: &str) -> Self {
        assert!(
            self.stderr().contains(part),
            "{}: stderr lacks {part:?}\n{}",
            self.what,
            self.streams()
        );
        self
    }
}

#[test]
fn input_that_hecjob_never_reads_still_lets_the_run_end() {
    // A megabyte is more than a pipe holds; hecjob --version exits without
    // reading it, and the broken pipe is not the test's failure.
    Hecjob::new()
        .arg("--version")
        .stdin(vec![b'x'; 1 << 20])
        .run()
        .success()
        .stdout_contains(concat!("hecjob ", env!("CARGO_PKG_VERSION")))
        .stderr_eq("");
}

#[test]
fn a_failed_assertion_names_the_command_and_shows_the_output() {
    let tmp = tempfile::tempdir().unwrap();
    let run = Hecjob::new()
        .args(["validate", "missing.yaml"])
        .current_dir(tmp.path())
        .run()
        .stderr_contains("missing.yaml: no such config file");
    let err = std::panic::catch_unwind(move || {
        run.success();
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    let head = format!(
        "assertion `left == right` failed: hecjob validate missing.yaml (in {}): exit code\n--- stdout ---\n--- stderr ---\nerror: missing.yaml: no such config file",
        tmp.path().display()
    );
    assert!(msg.starts_with(&head), "{msg}");
}
