//! Every exit code hecjob ends with, by name (nextest's `exit_codes.rs` style):
//! `Error::exit_code` maps each error kind to one, the rendered scripts test for
//! the two that cross the job-script boundary (passed into the templates by
//! name), and the schedulers act on those. A leaf module: `error` maps to them
//! and `scheduler` acts on them, without either importing the other. The
//! README's "Exit codes" table lists the same values.

/// Finished as asked.
pub const SUCCESS: i32 = 0;
/// An internal error: a bug in hecjob (please report it).
pub const INTERNAL: i32 = 1;
/// A bad command line or experiment config (clap also exits 2 for its own errors).
pub const USAGE: i32 = 2;
/// Bad input data or model files (the message names file:line).
pub const BAD_INPUT: i32 = 3;
/// Local file I/O failed (a full disk or a file-size limit included), or the
/// output directory is in use by another run.
pub const LOCAL_IO: i32 = 4;
/// A network request or download failed.
pub const NETWORK: i32 = 5;
/// The scheduler failed or refused (qsub, qstat, qacct; sbatch, squeue, sacct,
/// scancel); for `check`, a job could never run.
pub const SCHEDULER: i32 = 6;
/// Training failed (NaN loss, no usable GPU, …).
pub const TRAINING: i32 = 7;
/// A scheduler check gave no verdict (`hecjob check`: its client was killed,
/// said nothing, or said something unreadable): neither "would run" nor "never".
pub const NO_VERDICT: i32 = 8;
/// Checkpointed and stopped by a signal: run this task again; it resumes
/// (Grid Engine reschedules a job that exits 99).
pub const REQUEUE: i32 = 99;
/// Stop the chain: Grid Engine puts a job that exits 100 in error state, so
/// the jobs held on it wait for a person (`qmod -cj`, or `qdel`).
pub const HOLD_CHAIN: i32 = 100;

/// A short name for an exit status hecjob gives, for `status`'s WHY column;
/// None for a status hecjob does not give (a signal's 128 + N, a shell's 127).
pub fn name(code: i32) -> Option<&'static str> {
    Some(match code {
        SUCCESS => "success",
        INTERNAL => "internal error",
        USAGE => "bad command line or config",
        BAD_INPUT => "bad input data or model files",
        LOCAL_IO => "local file I/O",
        NETWORK => "network",
        SCHEDULER => "scheduler",
        TRAINING => "training failed",
        NO_VERDICT => "no verdict",
        REQUEUE => "checkpointed, to run again",
        HOLD_CHAIN => "chain held",
        _ => return None,
    })
}
