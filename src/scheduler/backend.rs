//! The scheduler seam (in the style of hyperfine's `Executor`): one trait whose
//! calls return everything the caller needs, so the submission chain, its
//! rollback and `hecjob status` are written once for every back end.
//!
//! Scheduler-neutral by design: a dependency is "start after these jobs
//! succeed" ([`JobRequest::after`]), an array is a [`TaskRange`](super::TaskRange),
//! a job's state is a [`QueueState`] with the scheduler's own code kept for
//! display, and an accounting record ([`RunRecord`]) has optional fields, since
//! schedulers measure different things. How each scheduler spells these
//! (directives, ids, status and accounting output) stays in its own module.

use crate::jobdir::job_id::JobId;
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One job to submit.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    /// The job script, relative to `workdir` (or absolute).
    pub script: PathBuf,
    /// Directory the submission runs in: relative log paths and the job's
    /// working directory resolve against it.
    pub workdir: PathBuf,
    /// Start only after these jobs have ended successfully (Grid Engine:
    /// `-hold_jid`, with exit 100 keeping the chain held).
    pub after: Vec<JobId>,
    /// `after` is met once they have ended however they ended (Slurm:
    /// `afterany`, no cancelling; Grid Engine's `-hold_jid` is that already).
    pub after_any: bool,
    /// Ask the scheduler to refuse at once a job it could never run, instead of
    /// leaving it pending forever (Grid Engine: `-w e`).
    pub verify: bool,
    /// Extra options in the scheduler's own syntax, before the script.
    pub options: Vec<String>,
    /// Arguments passed to the script itself.
    pub args: Vec<String>,
}

impl JobRequest {
    pub fn new(script: impl Into<PathBuf>, workdir: impl Into<PathBuf>) -> JobRequest {
        JobRequest {
            script: script.into(),
            workdir: workdir.into(),
            after: Vec::new(),
            after_any: false,
            verify: false,
            options: Vec::new(),
            args: Vec::new(),
        }
    }

    /// `argv` (the scheduler's program and its own flags) followed by the
    /// request's options, script and arguments, run in its workdir: the tail
    /// every submission-shaped command (submit, verify, test-only) shares.
    pub fn command_line(&self, mut argv: Vec<String>) -> CommandLine {
        argv.extend(self.options.iter().cloned());
        argv.push(self.script.display().to_string());
        argv.extend(self.args.iter().cloned());
        CommandLine {
            argv,
            cwd: self.workdir.clone(),
        }
    }

    pub fn after(mut self, ids: &[JobId]) -> JobRequest {
        self.after.extend_from_slice(ids);
        self
    }

    pub fn verified(mut self, verify: bool) -> JobRequest {
        self.verify = verify;
        self
    }

    pub fn with_options(mut self, options: &[&str]) -> JobRequest {
        self.options.extend(options.iter().map(|s| s.to_string()));
        self
    }

    /// The script's path as the submission sees it.
    pub fn script_path(&self) -> PathBuf {
        self.workdir.join(&self.script)
    }
}

/// A client command and where it runs: recorded in submission.json, so defined
/// by the on-disk contract.
pub use crate::jobdir::submission::CommandLine;

/// What one submission returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub id: JobId,
    /// The job's name as the scheduler shows it.
    pub name: String,
    /// The exact command that ran (or, for a dry run, would run).
    pub command: CommandLine,
}

/// The error for a submission whose outcome is unknown: its client timed out,
/// or said it succeeded without an id hecjob can read. The job may be queued
/// all the same, so the error names it (`name`, `script`) and says how to look
/// for it (`list`, e.g. `qstat -u $USER`) and remove it (`remove`, e.g. `qdel
/// ID`). A client that never started (an I/O error) queued nothing: its error
/// passes through unchanged.
pub fn may_be_queued(e: Error, name: &str, script: &Path, list: &str, remove: &str) -> Error {
    match e {
        Error::Scheduler(m) => Error::Scheduler(format!(
            "{m}\nthe job {name:?} ({}) may nevertheless be queued: look for it with \
             `{list}` and, if it is there, remove it with `{remove}`",
            script.display()
        )),
        other => other,
    }
}

/// A job's state while the scheduler still holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueState {
    Pending,
    /// Waiting on a hold or a dependency.
    Held,
    Running,
    Suspended,
    Deleting,
    /// The scheduler could not start it (Grid Engine's `E`); needs a person.
    Error,
}

/// One job, or some tasks of an array job, as the scheduler's queue lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueEntry {
    pub job: u64,
    /// The array tasks this entry covers, as ranges; empty for a whole job.
    pub tasks: Vec<super::TaskRange>,
    pub state: QueueState,
    /// The scheduler's own state code (`hqw`, `Eqw`, `PD`), for display.
    pub code: String,
    /// Why it waits, when the scheduler says (Slurm's pending reason).
    pub reason: Option<String>,
    pub name: String,
    pub queue: Option<String>,
}

impl QueueEntry {
    /// Whether this entry stands for `task` of `job` (`None`: a non-array job).
    pub fn covers(&self, job: u64, task: Option<u32>) -> bool {
        self.job == job
            && match task {
                None => true,
                Some(t) => self.tasks.is_empty() || self.tasks.iter().any(|r| r.contains(t)),
            }
    }
}

/// How one finished run of a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    Succeeded,
    Failed,
    /// Ended to be run again (exit 99, or the node failed): another run follows.
    Requeued,
}

/// Why a run ended, in words every scheduler shares: each back end maps its
/// own states and codes onto these (Slurm's `TIMEOUT`, Grid Engine's
/// `failed 37` with maxvmem against h_vmem, …), and `status` refines a
/// failed run with the worker's own record (a CUDA out-of-memory error).
/// What `hecjob resubmit` raises follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// It ran to its end.
    Finished,
    /// It ended to run again: the worker's exit 99 on the scheduler's warning,
    /// or the scheduler's own requeue.
    Requeued,
    /// Killed at its wall-clock (or CPU-time) limit.
    TimeLimit,
    /// Stopped for a job of higher priority.
    Preempted,
    /// Its node failed (or never booted).
    NodeFailure,
    /// Killed for using more host memory than it asked for.
    OutOfMemory,
    /// The GPU's memory was exhausted (the worker's CUDA error).
    GpuOutOfMemory,
    /// Cancelled by a user (`scancel`, `qdel`) or an administrator.
    Cancelled,
    /// The run itself failed: its exit status says how.
    RunFailed,
}

impl StopCause {
    /// For tables and messages.
    pub fn describe(self) -> &'static str {
        match self {
            StopCause::Finished => "finished",
            StopCause::Requeued => "requeued",
            StopCause::TimeLimit => "time limit",
            StopCause::Preempted => "preempted",
            StopCause::NodeFailure => "node failure",
            StopCause::OutOfMemory => "out of memory",
            StopCause::GpuOutOfMemory => "GPU out of memory",
            StopCause::Cancelled => "cancelled",
            StopCause::RunFailed => "run failed",
        }
    }

    /// Whether the cluster, not the run, stopped it: running it again as it
    /// was (from its checkpoint) may finish it.
    pub fn not_the_run_s_fault(self) -> bool {
        matches!(
            self,
            StopCause::Requeued | StopCause::Preempted | StopCause::NodeFailure
        )
    }
}

/// Accounting for one finished run of a job or array task. Fields a scheduler
/// does not measure are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub job: u64,
    /// None for a non-array job.
    pub task: Option<u32>,
    pub name: String,
    pub outcome: RunOutcome,
    pub exit_status: Option<i32>,
    /// The scheduler's own words for a failure (`37 qmaster enforced h_rt, …`).
    pub failure: Option<String>,
    /// Wall-clock seconds the run took (Grid Engine: ru_wallclock; Slurm: Elapsed).
    pub wallclock_s: Option<f64>,
    pub cpu_s: Option<f64>,
    pub max_rss_bytes: Option<u64>,
    /// Peak virtual memory (Grid Engine's `maxvmem`).
    pub maxvmem_bytes: Option<u64>,
    /// Restarts the scheduler counts for this job (Slurm); Grid Engine instead
    /// writes one record per run.
    pub restarts: Option<u32>,
    pub host: Option<String>,
    pub queue: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// Why it ended, as the back end reads its scheduler's record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<StopCause>,
}

impl RunRecord {
    pub fn succeeded(&self) -> bool {
        self.outcome == RunOutcome::Succeeded
    }
}

/// What `hecjob check` learned about one job, without submitting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The scheduler would run it (its words: where, when).
    Runs(String),
    /// The scheduler says it never could (its words: why).
    Refused(String),
    /// The check itself failed (the client was killed, printed nothing, or
    /// something hecjob cannot read): nothing is known about the job.
    Unknown(String),
}

/// A scheduler, a local runner or a recorder: takes job scripts, gives back
/// job ids, and answers for the jobs it took.
pub trait Scheduler {
    /// Short name recorded in submission.json (`sge`, `local`, `dry-run`).
    fn name(&self) -> &'static str;

    /// The exact command that submits `job`: what `submit` runs and dry runs print.
    fn submit_command(&self, job: &JobRequest) -> CommandLine;

    /// Submit (or run, or record) one job.
    fn submit(&mut self, job: &JobRequest) -> Result<Submitted>;

    /// Whether `submit` runs the job to its end (the local runner): then a
    /// failed chain has nothing queued to undo.
    fn runs_in_submit(&self) -> bool {
        false
    }

    /// The command that removes these jobs (for messages when `cancel` fails).
    fn cancel_command(&self, ids: &[JobId]) -> CommandLine;

    /// Remove jobs this scheduler took (used to undo a half-submitted chain).
    fn cancel(&mut self, ids: &[JobId]) -> Result<()>;

    /// What the scheduler still holds of these jobs, in one query.
    fn queue(&mut self, ids: &[JobId]) -> Result<Vec<QueueEntry>>;

    /// Accounting of the finished runs of these jobs, in one call. A job the
    /// scheduler does not know (yet) has no records; that is not an error.
    fn accounting(&mut self, ids: &[JobId]) -> Result<Vec<RunRecord>>;

    /// Whether the scheduler would ever run `job` (Grid Engine: `qsub -w v`;
    /// Slurm: `sbatch --test-only`). Submits nothing.
    fn check(&mut self, _job: &JobRequest) -> Result<Verdict> {
        Err(Error::Usage(format!(
            "`{}` cannot tell whether a job could run without running it",
            self.name()
        )))
    }

    /// Why the last `accounting` answer is incomplete, when it is (e.g. a Slurm
    /// cluster without `sacct`): status shows it instead of failing.
    fn accounting_note(&self) -> Option<String> {
        None
    }
}
