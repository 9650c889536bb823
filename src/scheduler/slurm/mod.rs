//! The Slurm back end ([`client::Slurm`]: sbatch, squeue, sacct, scancel through the
//! [`Scheduler`](crate::scheduler::Scheduler) seam), and what Slurm's commands print,
//! read into types (pure parsers, tested on output captured from a real Slurm 22.05
//! by tests/data/slurm/capture.sh).
//!
//! * [`dialect`]: what hecjob writes for Slurm and checks in a config (the
//!   [`Dialect`](crate::scheduler::Dialect) seam).
//! * [`client`]: submit, follow, cancel, `--test-only`; the decisions are there.
//! * [`directives`]: `#SBATCH` lines written, read back as sbatch reads them, and
//!   `extra_directives` checked.
//! * [`sbatch`]: the id of `sbatch --parsable`; the verdict of `sbatch --test-only`.
//! * [`squeue`]: jobs still held, one line per array task, with pending reasons.
//! * [`sacct`]: accounting per run (requeued runs included), steps folded in.
//! * [`state`]: job states and array task specs; [`time`]: durations as squeue and
//!   sacct print them (`D-HH:MM:SS`, `HH:MM:SS`, `MM:SS`, minutes) and timestamps;
//!   [`memory`]: `--mem` and MaxRSS sizes.
pub mod client;
pub mod dialect;
pub mod directives;
pub mod memory;
pub mod sacct;
pub mod sbatch;
pub mod squeue;
pub mod state;
pub mod time;

pub use client::Slurm;

/// Scheduler output captured from Slurm 22.05 (tests/data/slurm/).
#[cfg(test)]
pub(crate) fn captured(name: &str) -> String {
    let path = format!("{}/tests/data/slurm/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
