//! The local back end: runs each job script with bash, here and now, in submission
//! order, with the environment and log files Grid Engine would give it — or Slurm,
//! for a script with `#SBATCH` lines. Holds are met by construction (an earlier job
//! has finished before the next one starts).
//!
//! What it copies from Slurm (a script whose directives are `#SBATCH` lines):
//! * `SLURM_JOB_ID`, `SLURM_JOB_NAME`, `SLURM_ARRAY_JOB_ID`, `SLURM_ARRAY_TASK_ID`
//!   (and `_MIN`, `_MAX`, `_STEP`, `_COUNT`), `SLURM_RESTART_COUNT` from the first
//!   re-run on, `SLURM_SUBMIT_DIR`, `SLURM_JOB_PARTITION`, `SLURM_CPUS_PER_TASK`;
//!   `HECJOB_RUN_LOCAL=1`, so the train script exits 99 for a re-run here instead of
//!   calling `scontrol requeue`;
//! * logs from `-o`/`-e` with `%x %j %A %a` expanded (default `slurm-%j.out`,
//!   `slurm-%A_%a.out` for array tasks; stderr into stdout's file without `-e`),
//!   run in the submission directory (or `--chdir`), `%N` caps concurrent tasks.
//!
//! What it copies from Grid Engine:
//! * `JOB_ID`, `JOB_NAME`, `SGE_TASK_ID`/`SGE_TASK_FIRST`/`SGE_TASK_LAST`/
//!   `SGE_TASK_STEPSIZE` (`undefined` outside array jobs, as Grid Engine sets them),
//!   `RESTARTED`, `NSLOTS`, `SGE_O_WORKDIR`, a fresh `TMPDIR` per task;
//! * logs `<name>.o<jobid>` / `<name>.e<jobid>` (`.<taskid>` appended for array tasks)
//!   in the `-o`/`-e` directory, opened for appending, `-j y` merging stderr;
//! * a missing log directory is an error (Grid Engine puts such a job in state Eqw);
//! * exit status 99 re-runs the task with `RESTARTED=1` (Grid Engine reschedules it),
//!   at most `max_restarts` times.
//!
//! Limits and signals, as the schedulers apply them:
//! * a Grid Engine task past `-l s_rt` gets SIGUSR1, past `-l h_rt` SIGKILL; a Slurm
//!   task gets `--signal`'s signal that many seconds before `--time`, SIGTERM at it
//!   and SIGKILL 30 s later (Slurm's default KillWait);
//! * each task runs in a process group of its own, so a signal reaches all of it
//!   (its workers included): SIGINT, SIGTERM and SIGHUP to hecjob are passed on to
//!   every running task, which then has [`STOP_GRACE`] to end before SIGKILL, and
//!   the run stops (exit 99);
//! * a SIGKILL of hecjob ends them too: the task's shell has a parent-death signal
//!   (SIGTERM, `prctl(PR_SET_PDEATHSIG)`), and a small guard process that holds a
//!   pipe from hecjob kills the task groups still registered when that pipe closes
//!   (the parent-death signal alone would not reach the shell's children).
//!
//! With `jobs` > 1 (`run --local --jobs K`), up to K array tasks run at once (never
//! more than the script's `-tc`), lowest ids first as they free up, each with its
//! own `CUDA_VISIBLE_DEVICES`: slot i gets the i-th device of the inherited list, or
//! device i when none is set. The first failure starts no further task, lets the
//! running ones end, and is the error reported.

use super::backend::{CommandLine, JobRequest, QueueEntry, RunRecord, Scheduler, Submitted};
use super::exit_code;
use super::program::file_name;
use super::sge::directives::Directives;
use super::sge::request_directives;
use super::slurm::directives::{self as slurm_directives, Directives as SlurmDirectives};
use crate::jobdir::job_id::JobId;
use crate::jobdir::job_id::TaskRange;
use crate::util::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a task has to end after a signal passed on from hecjob, before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// Slurm's default KillWait: from SIGTERM at the time limit to SIGKILL.
const SLURM_KILL_WAIT: Duration = Duration::from_secs(30);
/// How often a running task is looked at (its end, its limits, a signal to pass on).
const POLL: Duration = Duration::from_millis(50);

/// The last of SIGINT, SIGTERM, SIGHUP hecjob received (0: none); the first
/// call installs the handlers that record it.
fn stop_signal() -> &'static Arc<AtomicUsize> {
    static SIGNAL: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    SIGNAL.get_or_init(|| {
        let flag = Arc::new(AtomicUsize::new(0));
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // A handler that only stores the number: the polling loop passes it on.
            let _ = signal_hook::flag::register_usize(sig, flag.clone(), sig as usize);
        }
        flag
    })
}

/// The guard process: reads `+PGID` / `-PGID` lines from hecjob and, when the
/// pipe closes without every group removed (hecjob killed), kills those groups.
const GUARD: &str = r#"trap '' INT TERM HUP
live=" "
while IFS= read -r line; do
    case "$line" in
        +*) live="$live${line#+} " ;;
        -*) live="${live/ ${line#-} / }" ;;
    esac
done
[ "$live" = " " ] && exit 0
for g in $live; do kill -TERM -- "-$g" 2>/dev/null; done
sleep 5
for g in $live; do kill -KILL -- "-$g" 2>/dev/null; done
"#;

/// The pipe to the guard process (started on first use; None if it could not
/// be, in which case the parent-death signal alone is left).
fn guard() -> &'static Mutex<Option<std::process::ChildStdin>> {
    static GUARD_PIPE: OnceLock<Mutex<Option<std::process::ChildStdin>>> = OnceLock::new();
    GUARD_PIPE.get_or_init(|| {
        use std::os::unix::process::CommandExt;
        let child = Command::new("bash")
            .arg("-c")
            .arg(GUARD)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        Mutex::new(child.ok().and_then(|mut c| c.stdin.take()))
    })
}

fn tell_guard(line: &str) {
    use std::io::Write;
    if let Ok(mut g) = guard().lock() {
        if let Some(pipe) = g.as_mut() {
            let _ = pipe.write_all(format!("{line}\n").as_bytes());
            let _ = pipe.flush();
        }
    }
}

/// Send `sig` to every process of the task's group.
fn signal_group(pgid: u32, sig: i32) {
    // SAFETY: killpg only sends a signal; a group that is gone is ESRCH.
    unsafe {
        libc::killpg(pgid as libc::pid_t, sig);
    }
}

/// What the scheduler does to a task as its run time passes: `(after, signal)`
/// in order, the last a SIGKILL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeLimits {
    pub steps: Vec<(Duration, i32)>,
    /// The limit itself: a step from here on is the scheduler ending the task.
    pub limit: Option<Duration>,
    /// The limit's name for messages: `h_rt of 60 s`, `--time of 60 s`.
    pub name: String,
}

/// Grid Engine's time value: seconds, or `[[hh:]mm:]ss`.
fn ge_seconds(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.len() > 3 {
        return None;
    }
    for p in parts {
        total = total.checked_mul(60)?.checked_add(p.parse::<u64>().ok()?)?;
    }
    Some(total)
}

pub struct Local {
    next: u64,
    /// Re-runs allowed per task after exit status 99.
    pub max_restarts: u32,
    /// Print one line per task started/finished on stderr.
    pub verbose: bool,
    /// Array tasks run at once (`run --local --jobs K`).
    pub jobs: usize,
}

impl Default for Local {
    fn default() -> Self {
        Local {
            next: 1,
            max_restarts: 3,
            verbose: true,
            jobs: 1,
        }
    }
}

impl Local {
    pub fn new() -> Local {
        Local::default()
    }

    /// Start numbering jobs at `first` (ids name the log files).
    pub fn with_first_id(first: u64) -> Local {
        Local {
            next: first,
            ..Local::default()
        }
    }
}

/// Where one stream of one task goes.
fn log_path(
    spec: Option<&str>,
    stream: char,
    name: &str,
    id: u64,
    task: Option<u32>,
    cwd: &Path,
) -> PathBuf {
    let file = match task {
        Some(t) => format!("{name}.{stream}{id}.{t}"),
        None => format!("{name}.{stream}{id}"),
    };
    let Some(spec) = spec else {
        return cwd.join(file);
    };
    let task_str = task
        .map(|t| t.to_string())
        .unwrap_or_else(|| "undefined".into());
    // Grid Engine's pseudo variables in -o/-e paths.
    let expanded = spec
        .replace("$JOB_ID", &id.to_string())
        .replace("$TASK_ID", &task_str)
        .replace("$JOB_NAME", name)
        .replace(
            "$HOME",
            &crate::util::env_vars::get(crate::util::env_vars::HOME).unwrap_or_default(),
        )
        .replace(
            "$USER",
            &crate::util::env_vars::get(crate::util::env_vars::USER).unwrap_or_default(),
        );
    let p = cwd.join(&expanded);
    if expanded.ends_with('/') || p.is_dir() {
        p.join(file)
    } else {
        p
    }
}

fn open_log(path: &Path, name: &str) -> Result<File> {
    if let Some(dir) = path.parent() {
        if !dir.is_dir() {
            return Err(Error::Scheduler(format!(
                "job {name:?}: log directory {} does not exist (Grid Engine would put the job \
                 in error state Eqw); create it or change the script's -o/-e",
                dir.display()
            )));
        }
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io("opening job log", path, e))
}

/// The device a parallel slot's task sees: the slot-th entry of the inherited
/// CUDA_VISIBLE_DEVICES (wrapping), or the slot number itself.
fn device_for_slot(inherited: Option<&str>, slot: usize) -> String {
    let list: Vec<&str> = inherited
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if list.is_empty() {
        slot.to_string()
    } else {
        list[slot % list.len()].to_string()
    }
}

/// The script's `-tc` cap on concurrent array tasks, if any.
fn task_concurrency(d: &Directives) -> Option<usize> {
    d.all
        .iter()
        .rev()
        .find(|(opt, _)| opt == "-tc")
        .and_then(|(_, args)| args.first())
        .and_then(|v| v.parse().ok())
}

/// A job script as the scheduler it was written for reads it.
enum Script {
    Sge(Directives),
    Slurm(SlurmDirectives),
}

impl Script {
    /// A script with `#SBATCH` lines is Slurm's; anything else Grid Engine's.
    fn read(job: &JobRequest) -> Result<Script> {
        let path = job.script_path();
        let text = crate::util::fsutil::read_to_string(&path, "reading job script")?;
        let slurm = SlurmDirectives::parse(&text)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        if slurm.all.is_empty() {
            return Ok(Script::Sge(request_directives(job)?));
        }
        let mut d = slurm;
        d.apply_options(&job.options)
            .map_err(|e| Error::Usage(format!("submission options: {e}")))?;
        Ok(Script::Slurm(d))
    }

    fn name(&self, job: &JobRequest) -> String {
        match self {
            Script::Sge(d) => d.name.clone(),
            Script::Slurm(d) => d.name.clone(),
        }
        .unwrap_or_else(|| file_name(&job.script))
    }

    fn tasks(&self) -> Option<TaskRange> {
        match self {
            Script::Sge(d) => d.tasks,
            Script::Slurm(d) => d.tasks,
        }
    }

    /// The cap on concurrent array tasks: `-tc`, or `--array=…%K`.
    fn concurrency(&self) -> Option<usize> {
        match self {
            Script::Sge(d) => task_concurrency(d),
            Script::Slurm(d) => d
                .array
                .as_deref()
                .and_then(|a| a.split_once('%'))
                .and_then(|(_, k)| k.parse().ok()),
        }
    }

    /// The directory a job runs in.
    fn run_dir(&self, job: &JobRequest) -> PathBuf {
        match self {
            Script::Sge(d) => Local::run_dir(job, d),
            // Slurm runs a batch job where sbatch ran, unless --chdir says otherwise.
            Script::Slurm(d) => match &d.chdir {
                Some(dir) => job.workdir.join(dir),
                None => job.workdir.clone(),
            },
        }
    }

    /// (stdout file, stderr file) of one task.
    fn logs(&self, name: &str, id: u64, task: Option<u32>, cwd: &Path) -> (PathBuf, PathBuf) {
        match self {
            Script::Sge(d) => {
                let out = log_path(d.stdout.as_deref(), 'o', name, id, task, cwd);
                let err = if d.join {
                    out.clone()
                } else {
                    log_path(d.stderr.as_deref(), 'e', name, id, task, cwd)
                };
                (out, err)
            }
            Script::Slurm(d) => {
                let default = if task.is_some() {
                    "slurm-%A_%a.out"
                } else {
                    "slurm-%j.out"
                };
                let expand = |pattern: &str| {
                    cwd.join(slurm_directives::expand_pattern(
                        pattern, name, id, id, task,
                    ))
                };
                let out = expand(d.stdout.as_deref().unwrap_or(default));
                let err = d.stderr.as_deref().map_or_else(|| out.clone(), expand);
                (out, err)
            }
        }
    }

    /// The scheduler's variables for one run of one task.
    fn set_env(
        &self,
        cmd: &mut Command,
        job: &JobRequest,
        name: &str,
        id: u64,
        task: Option<u32>,
        restarts: u32,
    ) {
        let undefined = || "undefined".to_string();
        match self {
            Script::Sge(d) => {
                let (first, last, step) = match d.tasks {
                    Some(r) => (r.first.to_string(), r.last.to_string(), r.step.to_string()),
                    None => (undefined(), undefined(), undefined()),
                };
                cmd.env(crate::util::env_vars::JOB_ID, id.to_string())
                    .env(crate::util::env_vars::JOB_NAME, name)
                    .env(
                        crate::util::env_vars::SGE_TASK_ID,
                        task.map(|t| t.to_string()).unwrap_or_else(undefined),
                    )
                    .env(crate::util::env_vars::SGE_TASK_FIRST, &first)
                    .env(crate::util::env_vars::SGE_TASK_LAST, &last)
                    .env(crate::util::env_vars::SGE_TASK_STEPSIZE, &step)
                    .env(
                        crate::util::env_vars::RESTARTED,
                        if restarts > 0 { "1" } else { "0" },
                    )
                    .env(crate::util::env_vars::NSLOTS, "1")
                    .env(crate::util::env_vars::SGE_O_WORKDIR, &job.workdir);
            }
            Script::Slurm(d) => {
                use crate::util::env_vars as v;
                cmd.env(v::SLURM_JOB_ID, id.to_string())
                    .env(v::SLURM_JOB_NAME, name)
                    .env(v::SLURM_SUBMIT_DIR, &job.workdir)
                    .env(v::HECJOB_RUN_LOCAL, "1");
                if let (Some(t), Some(r)) = (task, d.tasks) {
                    cmd.env(v::SLURM_ARRAY_JOB_ID, id.to_string())
                        .env(v::SLURM_ARRAY_TASK_ID, t.to_string())
                        .env(v::SLURM_ARRAY_TASK_MIN, r.first.to_string())
                        .env(v::SLURM_ARRAY_TASK_MAX, r.last.to_string())
                        .env(v::SLURM_ARRAY_TASK_STEP, r.step.to_string())
                        .env(v::SLURM_ARRAY_TASK_COUNT, r.count().to_string());
                }
                if restarts > 0 {
                    cmd.env(v::SLURM_RESTART_COUNT, restarts.to_string());
                } else {
                    cmd.env_remove(v::SLURM_RESTART_COUNT);
                }
                if let Some(p) = &d.partition {
                    cmd.env(v::SLURM_JOB_PARTITION, p);
                }
                let cpus = d.all.iter().rev().find(|(o, _)| o == "--cpus-per-task");
                if let Some((_, Some(c))) = cpus {
                    cmd.env(v::SLURM_CPUS_PER_TASK, c);
                }
            }
        }
    }

    /// The run-time limits the script asks for, as its scheduler enforces them.
    fn limits(&self) -> TimeLimits {
        match self {
            Script::Sge(d) => {
                let resource = |key: &str| {
                    d.all
                        .iter()
                        .filter(|(o, _)| o == "-l")
                        .flat_map(|(_, args)| args.iter())
                        .flat_map(|a| a.split(','))
                        .filter_map(|kv| kv.split_once('='))
                        .filter(|(k, _)| k.trim() == key)
                        .filter_map(|(_, v)| ge_seconds(v))
                        .next_back()
                };
                let mut steps = Vec::new();
                if let Some(s_rt) = resource("s_rt") {
                    steps.push((Duration::from_secs(s_rt), libc::SIGUSR1));
                }
                let h_rt = resource("h_rt");
                if let Some(h) = h_rt {
                    steps.push((Duration::from_secs(h), libc::SIGKILL));
                }
                steps.sort();
                TimeLimits {
                    steps,
                    limit: h_rt.map(Duration::from_secs),
                    name: h_rt.map_or_else(String::new, |h| format!("h_rt of {h} s")),
                }
            }
            Script::Slurm(d) => {
                let value = |key: &str| {
                    d.all
                        .iter()
                        .rev()
                        .find(|(o, _)| o == key)
                        .and_then(|(_, v)| v.clone())
                };
                let Some(limit) = value("--time")
                    .and_then(|t| super::slurm::time::parse_duration_secs(&t))
                    .map(|s| s as u64)
                else {
                    return TimeLimits::default();
                };
                let mut steps = Vec::new();
                // --signal=[{R|B}:]SIG[@SECONDS] (60 s before by default).
                if let Some(spec) = value("--signal") {
                    let spec = spec.split_once(':').map_or(spec.as_str(), |(_, s)| s);
                    let (sig, before) = spec.split_once('@').unwrap_or((spec, "60"));
                    let sig = sig.trim_start_matches("SIG");
                    let number = sig.parse::<i32>().ok().or(match sig {
                        "USR1" => Some(libc::SIGUSR1),
                        "USR2" => Some(libc::SIGUSR2),
                        "TERM" => Some(libc::SIGTERM),
                        "INT" => Some(libc::SIGINT),
                        "HUP" => Some(libc::SIGHUP),
                        _ => None,
                    });
                    if let (Some(n), Ok(b)) = (number, before.parse::<u64>()) {
                        steps.push((Duration::from_secs(limit.saturating_sub(b)), n));
                    }
                }
                steps.push((Duration::from_secs(limit), libc::SIGTERM));
                steps.push((Duration::from_secs(limit) + SLURM_KILL_WAIT, libc::SIGKILL));
                steps.sort();
                TimeLimits {
                    steps,
                    limit: Some(Duration::from_secs(limit)),
                    name: format!("--time of {limit} s"),
                }
            }
        }
    }

    /// What the scheduler itself would do with an exit status 99, for messages.
    fn requeue_words(&self) -> &'static str {
        match self {
            Script::Sge(_) => "as Grid Engine would reschedule it",
            Script::Slurm(_) => "as its script would requeue it on Slurm",
        }
    }
}

impl Local {
    /// Every task of an array job, `self.jobs` at a time.
    fn run_array(
        &self,
        job: &JobRequest,
        d: &Script,
        name: &str,
        id: u64,
        tasks: TaskRange,
        cwd: &Path,
    ) -> Result<()> {
        let width = self
            .jobs
            .min(d.concurrency().unwrap_or(usize::MAX))
            .min(usize::try_from(tasks.count()).unwrap_or(usize::MAX))
            .max(1);
        if width == 1 {
            for t in tasks.tasks() {
                self.run_task(job, d, name, id, Some(t), cwd, None)?;
            }
            return Ok(());
        }
        let inherited = crate::util::env_vars::get(crate::util::env_vars::CUDA_VISIBLE_DEVICES);
        let queue = std::sync::Mutex::new(tasks.tasks());
        let failure: std::sync::Mutex<Option<Error>> = std::sync::Mutex::new(None);
        std::thread::scope(|scope| {
            for slot in 0..width {
                let device = device_for_slot(inherited.as_deref(), slot);
                let (queue, failure) = (&queue, &failure);
                scope.spawn(move || loop {
                    if failure.lock().map_or(true, |f| f.is_some()) {
                        return;
                    }
                    let Some(t) = queue.lock().ok().and_then(|mut q| q.next()) else {
                        return;
                    };
                    if let Err(e) = self.run_task(job, d, name, id, Some(t), cwd, Some(&device)) {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e);
                        }
                        return;
                    }
                });
            }
        });
        match failure.into_inner() {
            Ok(Some(e)) => Err(e),
            Ok(None) => Ok(()),
            Err(_) => Err(Error::Internal("a local task runner panicked".into())),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_task(
        &self,
        job: &JobRequest,
        d: &Script,
        name: &str,
        id: u64,
        task: Option<u32>,
        cwd: &Path,
        device: Option<&str>,
    ) -> Result<()> {
        let (out_path, err_path) = d.logs(name, id, task, cwd);
        let join = out_path == err_path;
        let label = match task {
            Some(t) => format!("{name} (job {id}, task {t})"),
            None => format!("{name} (job {id})"),
        };
        let mut restarts = 0;
        loop {
            let stdout = open_log(&out_path, name)?;
            let stderr = if join {
                stdout
                    .try_clone()
                    .map_err(|e| Error::io("opening job log", &out_path, e))?
            } else {
                open_log(&err_path, name)?
            };
            let tmp = tempfile::Builder::new()
                .prefix(&format!("{id}.{}.local.", task.unwrap_or(1)))
                .tempdir()
                .map_err(|e| Error::io("creating TMPDIR", std::env::temp_dir(), e))?;
            if self.verbose {
                eprintln!("running {label} → {}", out_path.display());
            }
            let mut cmd = Command::new("bash");
            cmd.arg(job.script_path())
                .args(&job.args)
                .current_dir(cwd)
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr)
                .env(crate::util::env_vars::TMPDIR, tmp.path())
                .env(crate::util::env_vars::TMP, tmp.path());
            d.set_env(&mut cmd, job, name, id, task, restarts);
            if let Some(dev) = device {
                cmd.env(crate::util::env_vars::CUDA_VISIBLE_DEVICES, dev);
            }
            let (status, ended_by) = run_supervised(&mut cmd, &d.limits(), &job.script)?;
            if let Some(why) = ended_by {
                return Err(stopped(&label, &why, &out_path, &err_path));
            }
            match status.code() {
                Some(0) => return Ok(()),
                Some(exit_code::REQUEUE) if restarts < self.max_restarts => {
                    restarts += 1;
                    eprintln!("{label} exited {} (checkpointed): running it again, {} (restart {restarts} of at most {})", exit_code::REQUEUE, d.requeue_words(), self.max_restarts);
                }
                code => {
                    let how = match code {
                        Some(c) => format!("exited with status {c}"),
                        None => "was killed by a signal".to_string(),
                    };
                    return Err(Error::Scheduler(format!(
                        "local run: {label} {how}; see {}{}",
                        out_path.display(),
                        if err_path != out_path {
                            format!(" and {}", err_path.display())
                        } else {
                            String::new()
                        }
                    )));
                }
            }
        }
    }
}

/// Why a task did not end by itself.
#[derive(Debug)]
enum EndedBy {
    /// hecjob got this signal and passed it on.
    Signal(i32),
    /// It ran past its limit and was killed.
    Limit(String),
}

fn stopped(label: &str, why: &EndedBy, out: &Path, err: &Path) -> Error {
    let logs = if err != out {
        format!("{} and {}", out.display(), err.display())
    } else {
        out.display().to_string()
    };
    match why {
        EndedBy::Signal(sig) => Error::Interrupted(format!(
            "local run: hecjob got signal {sig} at {label}: passed it on to the task and \
             stopped the run; see {logs}"
        )),
        EndedBy::Limit(limit) => Error::Scheduler(format!(
            "local run: {label} ran past its {limit} and was killed, as its scheduler would; \
             see {logs}"
        )),
    }
}

/// Run the task's shell in a process group of its own, registered with the
/// guard, applying `limits` and passing on a signal hecjob receives.
fn run_supervised(
    cmd: &mut Command,
    limits: &TimeLimits,
    script: &Path,
) -> Result<(std::process::ExitStatus, Option<EndedBy>)> {
    use std::os::unix::process::CommandExt;
    let signal = stop_signal();
    let pending = signal.load(Ordering::Relaxed) as i32;
    if pending != 0 {
        // Stopped between two tasks: start no other.
        return Ok((
            std::process::ExitStatus::default(),
            Some(EndedBy::Signal(pending)),
        ));
    }
    let parent = std::process::id() as libc::pid_t;
    cmd.process_group(0);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // hecjob died between fork and prctl: the signal would never come.
            if libc::getppid() != parent {
                libc::_exit(128 + libc::SIGTERM);
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("running bash on job script", script, e))?;
    let pgid = child.id();
    tell_guard(&format!("+{pgid}"));
    let started = Instant::now();
    let mut next_step = 0;
    let mut ended_by: Option<EndedBy> = None;
    let mut kill_at: Option<Instant> = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                signal_group(pgid, libc::SIGKILL);
                let _ = child.wait();
                tell_guard(&format!("-{pgid}"));
                return Err(Error::io("waiting for job script", script, e));
            }
        }
        let sig = signal.load(Ordering::Relaxed) as i32;
        if sig != 0 && ended_by.is_none() {
            signal_group(pgid, sig);
            ended_by = Some(EndedBy::Signal(sig));
            kill_at = Some(Instant::now() + STOP_GRACE);
        }
        while let Some(&(after, sig)) = limits.steps.get(next_step) {
            if started.elapsed() < after {
                break;
            }
            signal_group(pgid, sig);
            if limits.limit.is_some_and(|l| after >= l) && ended_by.is_none() {
                ended_by = Some(EndedBy::Limit(limits.name.clone()));
            }
            next_step += 1;
        }
        if kill_at.is_some_and(|t| Instant::now() >= t) {
            signal_group(pgid, libc::SIGKILL);
            kill_at = None;
        }
        std::thread::sleep(POLL);
    };
    // The shell has ended; what it started in its group must not outlive it.
    signal_group(pgid, libc::SIGKILL);
    tell_guard(&format!("-{pgid}"));
    Ok((status, ended_by))
}

impl Local {
    /// The directory a job runs in: Grid Engine runs it in $HOME unless -cwd or -wd says otherwise.
    fn run_dir(job: &JobRequest, d: &Directives) -> PathBuf {
        if let Some(wd) = &d.wd {
            job.workdir.join(wd)
        } else if d.cwd {
            job.workdir.clone()
        } else {
            crate::util::env_vars::get(crate::util::env_vars::HOME)
                .map(PathBuf::from)
                .unwrap_or_else(|| job.workdir.clone())
        }
    }
}

impl Scheduler for Local {
    fn name(&self) -> &'static str {
        "local"
    }

    fn runs_in_submit(&self) -> bool {
        true
    }

    fn submit_command(&self, job: &JobRequest) -> CommandLine {
        let mut argv = vec!["bash".to_string(), job.script_path().display().to_string()];
        argv.extend(job.args.iter().cloned());
        let cwd = match Script::read(job) {
            Ok(d) => d.run_dir(job),
            Err(_) => job.workdir.clone(),
        };
        CommandLine { argv, cwd }
    }

    fn submit(&mut self, job: &JobRequest) -> Result<Submitted> {
        let d = Script::read(job)?;
        let id = self.next;
        self.next += 1;
        let name = d.name(job);
        let cwd = d.run_dir(job);
        let command = self.submit_command(job);
        if let Some(range) = d.tasks() {
            range
                .check_walkable()
                .map_err(|why| Error::Config(format!("{}: {why}", job.script_path().display())))?;
        }
        match d.tasks() {
            Some(range) => {
                self.run_array(job, &d, &name, id, range, &cwd)?;
            }
            None => self.run_task(job, &d, &name, id, None, &cwd, None)?,
        }
        Ok(Submitted {
            id: JobId {
                number: id,
                tasks: d.tasks(),
            },
            name,
            command,
        })
    }

    fn cancel_command(&self, _ids: &[JobId]) -> CommandLine {
        CommandLine {
            argv: vec!["true".into()],
            cwd: std::env::temp_dir(),
        }
    }

    fn cancel(&mut self, _ids: &[JobId]) -> Result<()> {
        // Jobs run to completion inside submit: nothing is left queued.
        Ok(())
    }

    fn queue(&mut self, _ids: &[JobId]) -> Result<Vec<QueueEntry>> {
        Ok(Vec::new())
    }

    fn accounting(&mut self, _ids: &[JobId]) -> Result<Vec<RunRecord>> {
        Err(Error::Usage(
            "a local run keeps no accounting: its jobs ran to the end in `hecjob run --local`; \
             read their logs in logs/"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_follow_grid_engine() {
        let cwd = Path::new("/w");
        assert_eq!(
            log_path(None, 'o', "job", 7, None, cwd),
            PathBuf::from("/w/job.o7")
        );
        assert_eq!(
            log_path(Some("logs/"), 'e', "job", 7, Some(3), cwd),
            PathBuf::from("/w/logs/job.e7.3")
        );
        assert_eq!(
            log_path(
                Some("out.$JOB_ID.$TASK_ID.log"),
                'o',
                "job",
                7,
                Some(3),
                cwd
            ),
            PathBuf::from("/w/out.7.3.log")
        );
    }

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn runs_array_tasks_in_order_with_grid_engine_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        let s = script(
            dir.path(),
            "a.com",
            "#$ -N arr\n#$ -cwd\n#$ -o logs/ -e logs/\n#$ -t 1-3\n\
             echo \"$JOB_ID $JOB_NAME $SGE_TASK_ID $SGE_TASK_FIRST $SGE_TASK_LAST\"\n\
             test -d \"$TMPDIR\" && echo tmp-ok\necho err >&2\necho $SGE_TASK_ID >> order.txt\n",
        );
        let mut ex = Local::with_first_id(40);
        ex.verbose = false;
        let id = ex.submit(&JobRequest::new(&s, dir.path())).unwrap().id;
        assert_eq!(id.number, 40);
        let o2 = std::fs::read_to_string(dir.path().join("logs/arr.o40.2")).unwrap();
        assert_eq!(o2, "40 arr 2 1 3\ntmp-ok\n");
        let e3 = std::fs::read_to_string(dir.path().join("logs/arr.e40.3")).unwrap();
        assert_eq!(e3, "err\n");
        let order = std::fs::read_to_string(dir.path().join("order.txt")).unwrap();
        assert_eq!(order, "1\n2\n3\n");
    }

    #[test]
    fn exit_99_reruns_and_failures_name_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let s = script(
            dir.path(),
            "r.com",
            "#$ -N resume\n#$ -cwd\n#$ -j y\n\
             if [ -f state ]; then echo \"resumed RESTARTED=$RESTARTED task=$SGE_TASK_ID\"; exit 0; fi\n\
             touch state; exit 99\n",
        );
        let mut ex = Local::new();
        ex.verbose = false;
        ex.submit(&JobRequest::new(&s, dir.path())).unwrap();
        let log = std::fs::read_to_string(dir.path().join("resume.o1")).unwrap();
        assert_eq!(log, "resumed RESTARTED=1 task=undefined\n");

        let f = script(dir.path(), "f.com", "#$ -cwd\n#$ -o nolog/\nexit 3\n");
        let e = ex.submit(&JobRequest::new(&f, dir.path())).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let f = script(dir.path(), "g.com", "#$ -cwd\nexit 3\n");
        let e = ex.submit(&JobRequest::new(&f, dir.path())).unwrap_err();
        assert!(e.to_string().contains("exited with status 3"), "{e}");
        assert!(e.to_string().contains("g.com.o3"), "{e}");
    }

    /// `--jobs 2`: two tasks of an array run at the same time (each waits for
    /// the other to have started, which only concurrency allows), each with its
    /// own device; `-tc 1` in the script still runs them one at a time.
    #[test]
    fn jobs_run_array_tasks_at_once_with_their_own_device() {
        let dir = tempfile::tempdir().unwrap();
        let body = "#$ -N par\n#$ -cwd\n#$ -j y\n#$ -t 1-3\n\
             echo \"$CUDA_VISIBLE_DEVICES\" > dev.$SGE_TASK_ID\n\
             touch started.$SGE_TASK_ID\n\
             if [ $SGE_TASK_ID -le 2 ]; then other=$((3 - SGE_TASK_ID)); \
             for i in $(seq 300); do [ -f started.$other ] && exit 0; sleep 0.1; done; exit 3; fi\n";
        let s = script(dir.path(), "p.com", body);
        let mut ex = Local::new();
        ex.verbose = false;
        ex.jobs = 2;
        ex.submit(&JobRequest::new(&s, dir.path())).unwrap();
        let dev = |t: u32| std::fs::read_to_string(dir.path().join(format!("dev.{t}"))).unwrap();
        let inherited = crate::util::env_vars::get(crate::util::env_vars::CUDA_VISIBLE_DEVICES);
        let mut got = vec![dev(1), dev(2)];
        got.sort();
        let mut want: Vec<String> = (0..2)
            .map(|i| format!("{}\n", device_for_slot(inherited.as_deref(), i)))
            .collect();
        want.sort();
        assert_eq!(got, want);
        assert!(dir.path().join("started.3").is_file(), "task 3 ran too");

        // The script's -tc caps the width: task 1 then waits for a task 2 that
        // cannot start, and fails.
        let capped = script(
            dir.path(),
            "c.com",
            &body
                .replace("-t 1-3", "-t 1-3\n#$ -tc 1")
                .replace("seq 300", "seq 3"),
        );
        for f in ["started.1", "started.2", "started.3"] {
            std::fs::remove_file(dir.path().join(f)).unwrap();
        }
        let e = ex
            .submit(&JobRequest::new(&capped, dir.path()))
            .unwrap_err();
        assert!(
            e.to_string().contains("task 1) exited with status 3"),
            "{e}"
        );
        assert!(
            !dir.path().join("started.2").exists(),
            "no task starts after a failure"
        );
    }

    #[test]
    fn slots_take_the_inherited_devices_in_turn() {
        assert_eq!(device_for_slot(None, 1), "1");
        assert_eq!(device_for_slot(Some(""), 0), "0");
        assert_eq!(device_for_slot(Some("2,3"), 0), "2");
        assert_eq!(device_for_slot(Some("2, 3"), 1), "3");
        assert_eq!(device_for_slot(Some("2,3"), 2), "2");
    }

    /// Issue 22: nothing stopped a task past its limit under `run --local`.
    /// As Grid Engine does: SIGUSR1 at s_rt (the script may checkpoint), SIGKILL
    /// at h_rt, to the whole task (a child it started included).
    #[test]
    fn a_task_past_h_rt_gets_the_s_rt_warning_then_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let s = script(
            dir.path(),
            "slow.com",
            "#$ -N slow\n#$ -cwd\n#$ -j y\n#$ -l h_vmem=1G,s_rt=1 -l h_rt=00:00:03\n\
             trap 'echo warned >> warned.txt' USR1\n\
             sleep 60 & echo $! > child.pid\n\
             for i in $(seq 300); do sleep 0.1; done\necho survived > survived.txt\n",
        );
        let mut ex = Local::new();
        ex.verbose = false;
        let t = Instant::now();
        let e = ex.submit(&JobRequest::new(&s, dir.path())).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
        assert_eq!(
            e.to_string(),
            format!(
                "local run: slow (job 1) ran past its h_rt of 3 s and was killed, as its \
                 scheduler would; see {}",
                dir.path().join("slow.o1").display()
            )
        );
        assert_eq!(e.exit_code(), 6);
        let warned = std::fs::read_to_string(dir.path().join("warned.txt")).unwrap();
        assert!(warned.starts_with("warned\n"), "{warned}");
        assert!(!dir.path().join("survived.txt").exists());
        let pid: u32 = std::fs::read_to_string(dir.path().join("child.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            gone_within(&[pid], Duration::from_secs(5)),
            "the task's child outlived it"
        );
    }

    /// Issue 22: `#SBATCH --array=1-4294967295` (or `-t` alike) in a custom
    /// template aborted `run --local` on a 34 GB allocation; it is refused
    /// before anything runs.
    #[test]
    fn an_array_of_four_billion_tasks_is_refused_not_allocated() {
        let dir = tempfile::tempdir().unwrap();
        let mut ex = Local::new();
        ex.verbose = false;
        let sge = script(
            dir.path(),
            "a.com",
            "#$ -cwd\n#$ -t 1-4294967295\ntouch ran\n",
        );
        let e = ex.submit(&JobRequest::new(&sge, dir.path())).unwrap_err();
        let why = "task range 1-4294967295:1: 4294967295 tasks, more than the 1000000 hecjob \
                   follows one by one (no scheduler runs that many in one array)";
        assert_eq!(e.to_string(), format!("{}: {why}", sge.display()));
        assert_eq!(e.exit_code(), 2);
        let slurm = script(
            dir.path(),
            "b.com",
            "#!/bin/bash\n#SBATCH --array=1-4294967295\ntouch ran\n",
        );
        let e = ex.submit(&JobRequest::new(&slurm, dir.path())).unwrap_err();
        assert_eq!(e.to_string(), format!("{}: {why}", slurm.display()));
        assert!(!dir.path().join("ran").exists());
    }

    #[test]
    fn limits_are_read_as_each_scheduler_writes_them() {
        assert_eq!(ge_seconds("00:25:00"), Some(1500));
        assert_eq!(ge_seconds("90"), Some(90));
        assert_eq!(ge_seconds("1:30"), Some(90));
        assert_eq!(ge_seconds("x"), None);
        let slurm =
            SlurmDirectives::parse("#!/bin/bash\n#SBATCH --time=2\n#SBATCH --signal=B:USR1@30\n")
                .unwrap();
        let l = Script::Slurm(slurm).limits();
        assert_eq!(
            l.steps,
            vec![
                (Duration::from_secs(90), libc::SIGUSR1),
                (Duration::from_secs(120), libc::SIGTERM),
                (Duration::from_secs(150), libc::SIGKILL)
            ]
        );
        assert_eq!(l.name, "--time of 120 s");
    }

    /// Whether every pid has exited (a zombie counts as exited) within `limit`.
    fn gone_within(pids: &[u32], limit: Duration) -> bool {
        let alive = |pid: &u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .map(|(_, r)| r.trim_start().starts_with('Z'))
                })
                .is_some_and(|zombie| !zombie)
        };
        let t = Instant::now();
        while t.elapsed() < limit {
            if !pids.iter().any(alive) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Run by the tests below as a process of its own: a local run of the
    /// script named by HECJOB_TEST_LOCAL_SCRIPT, to be signalled or killed.
    #[test]
    #[ignore = "a local run in a process of its own, for the signal tests"]
    fn local_run_contender() {
        let Some(script) = std::env::var_os("HECJOB_TEST_LOCAL_SCRIPT") else {
            return;
        };
        let script = PathBuf::from(script);
        let dir = script.parent().unwrap().to_path_buf();
        let mut ex = Local::new();
        ex.verbose = false;
        let r = ex.submit(&JobRequest::new(&script, &dir));
        println!("contender: {:?}", r.map(|s| s.id));
    }

    /// Start the contender on a script whose task starts two sleepers in its
    /// own group (its "workers"), wait until they run, send `sig` to hecjob.
    /// Returns the contender's exit status and the workers' pids.
    fn signal_a_local_run(sig: i32) -> (std::process::ExitStatus, Vec<u32>) {
        let dir = tempfile::tempdir().unwrap();
        let s = script(
            dir.path(),
            "work.com",
            "#$ -N work\n#$ -cwd\n#$ -j y\n\
             sleep 300 & echo $! >> pids.tmp\nsleep 300 & echo $! >> pids.tmp\n\
             mv pids.tmp pids\nwait\n",
        );
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "scheduler::local::tests::local_run_contender",
            ])
            .env("HECJOB_TEST_LOCAL_SCRIPT", &s)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pids_file = dir.path().join("pids");
        let t = Instant::now();
        while !pids_file.exists() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the task never started"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let pids: Vec<u32> = std::fs::read_to_string(&pids_file)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        // SAFETY: kill only sends a signal, to the contender this test started.
        unsafe {
            libc::kill(child.id() as libc::pid_t, sig);
        }
        let status = child.wait().unwrap();
        (status, pids)
    }

    /// Issue 22: SIGTERM, SIGHUP or SIGKILL of `run --local` left its tasks
    /// (workers included) running. A signal is passed on to the task's whole
    /// group; a SIGKILL is met by the parent-death signal and the guard.
    #[test]
    fn signals_and_sigkill_of_hecjob_end_its_tasks() {
        use std::os::unix::process::ExitStatusExt;
        for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGKILL] {
            let (status, pids) = signal_a_local_run(sig);
            assert_eq!(pids.len(), 2);
            assert!(
                gone_within(&pids, Duration::from_secs(15)),
                "signal {sig}: the task's workers {pids:?} still run"
            );
            if sig == libc::SIGKILL {
                assert_eq!(status.signal(), Some(libc::SIGKILL));
            } else {
                assert_eq!(
                    status.code(),
                    Some(0),
                    "signal {sig}: the contender ended itself"
                );
            }
        }
    }
}
