//! Exit codes that cross the job-script boundary: the worker exits with them,
//! the rendered scripts test for them (passed into the templates by name), and
//! the schedulers act on them. A leaf module: `error` maps to them and
//! `scheduler` acts on them, without either importing the other.

/// Checkpointed and stopped by a signal: run this task again; it resumes
/// (Grid Engine reschedules a job that exits 99).
pub const REQUEUE: i32 = 99;
/// Stop the chain: Grid Engine puts a job that exits 100 in error state, so
/// the jobs held on it wait for a person (`qmod -cj`, or `qdel`).
pub const HOLD_CHAIN: i32 = 100;
