//! Slurm: what its commands print, read into types (pure parsers, tested on output
//! captured from a real Slurm 22.05 by tests/data/slurm/capture.sh).
//!
//! * [`directives`]: `#SBATCH` lines written, read back as sbatch reads them, and
//!   `extra_directives` checked.
//! * [`sbatch`]: the id of `sbatch --parsable`; the verdict of `sbatch --test-only`.
//! * [`squeue`]: jobs still held, one line per array task, with pending reasons.
//! * [`sacct`]: accounting per run (requeued runs included), steps folded in.
//! * [`state`]: job states and array task specs; [`time`]: durations (`D-HH:MM:SS`,
//!   `HH:MM:SS`, `MM:SS`, minutes) and timestamps; [`memory`]: `--mem` and MaxRSS sizes.
pub mod directives;
pub mod memory;
pub mod sacct;
pub mod sbatch;
pub mod squeue;
pub mod state;
pub mod time;

/// Scheduler output captured from Slurm 22.05 (tests/data/slurm/).
#[cfg(test)]
pub(crate) fn captured(name: &str) -> String {
    let path = format!("{}/tests/data/slurm/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
