//! Executors for the rendered jobs and what Grid Engine says about them.
//!
//! * [`executor`]: the [`Executor`] trait (submit a script with options, arguments and a
//!   hold list; get a [`JobId`] back) with three back ends: [`sge::GridEngine`]
//!   (`qsub -terse`), [`local::Local`] (bash, in order, Grid Engine's environment and
//!   log names) and [`dry_run::DryRun`] (records the exact command lines).
//! * [`submission`]: the install → download → train chain, all or nothing, and its
//!   `submission.json` record.
//! * [`qstat`], [`qacct`], [`status`]: job and task states for `hecjob status`.
//! * [`directives`]: the `#$` lines of a script; [`job_id`]: `qsub -terse` ids.
pub mod cli;
pub mod dry_run;
pub mod executor;
pub mod job_id;
pub mod local;
pub mod sge;
pub mod slurm;
pub mod status;
pub mod submission;

pub use executor::{CommandLine, Executor, JobRequest};
pub use job_id::{JobId, TaskRange};

/// Scheduler output captured from Son of Grid Engine 8.1.9 (tests/data/sge/).
#[cfg(test)]
pub(crate) fn captured(name: &str) -> String {
    let path = format!("{}/tests/data/sge/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
