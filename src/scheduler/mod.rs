//! Schedulers: where rendered job scripts go, and what becomes of them.
//!
//! * [`backend`]: the seam, the [`Scheduler`] trait (submit → id, name and the
//!   exact command; queue and accounting of many jobs per call; cancel; check) and
//!   its scheduler-neutral types. Back ends: [`sge::GridEngine`], [`slurm::Slurm`], [`local::Local`]
//!   (bash, here and now, with the scheduler's environment and log names),
//!   [`dry_run::DryRun`] (the exact commands, nothing submitted) and
//!   [`fake::Fake`] (scripted, fails on demand, for tests of every rollback branch).
//! * [`command`]: the one runner every scheduler client goes through (timeout,
//!   process group killed, the command named when it fires).
//! * [`submission`]: a chain of jobs, each after the one before, all or nothing.
//! * [`status`]: queue and accounting combined, task by task.
//! * [`words`]: each scheduler's names for the figures shown in neutral columns.
//! * [`dialect`]: the [`Dialect`] each scheduler's folder provides: directives,
//!   time and memory formats, config checks, commands, words, templates.
//! * [`auto`]: the one place that knows every scheduler: [`SchedulerKind`] and
//!   the factory [`open`] (submit, query, dry run). Outside `scheduler/`, nothing
//!   names a scheduler's folder (scripts/check-layers.sh).
//! * [`program`]: finding client programs, a script's file name (shared).
//! * [`resources`]: memory (bytes) and time limits (seconds) as the config gives
//!   them, parsed once; each dialect writes them in its own syntax.
//! * [`sge`]: Grid Engine's own formats (`#$` directives, `qsub -terse`,
//!   `qstat -xml`, `qacct`); [`slurm`]: Slurm's (`#SBATCH`, `sbatch`, `squeue`,
//!   `sacct`). A third scheduler goes beside them (docs/scheduler-backend.md).
//!
//! This module imports only `jobdir` and `util` (scripts/check-layers.sh): it
//! knows scripts, ids and states, not experiments.
pub mod auto;
pub mod backend;
pub mod command;
pub mod dialect;
pub mod dry_run;
pub mod fake;
pub mod local;
pub mod program;
pub mod resources;
pub mod sge;
pub mod slurm;
pub mod status;
pub mod submission;
pub mod words;

/// Job ids are part of the on-disk contract (submission.json): defined there.
pub use crate::jobdir::job_id::{JobId, TaskRange};
pub use auto::{open, open_accounting, SchedulerKind};
pub use backend::{
    CommandLine, JobRequest, QueueEntry, QueueState, RunOutcome, RunRecord, Scheduler, Submitted,
};
pub use dialect::{Dialect, Purpose, Verdict};

/// The exit codes that cross the job-script boundary ([`crate::util::exit_code`]).
pub use crate::util::exit_code;

/// Scheduler output captured from Son of Grid Engine 8.1.9 (tests/data/sge/).
#[cfg(test)]
pub(crate) fn captured(name: &str) -> String {
    let path = format!("{}/tests/data/sge/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
