//! How each scheduler's accounting names the figures hecjob shows in neutral
//! columns (peak memory, how a run failed), so that a Slurm run is never
//! labelled with Grid Engine's words (`maxvmem`, `failed`) nor the reverse.
//! Each scheduler's [`Dialect::words`](super::Dialect::words) gives its own;
//! status, report and their JSON take them from there.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AccountingWords {
    /// The scheduler, for people (`Grid Engine`, `Slurm`).
    pub scheduler: &'static str,
    /// The accounting client that answers (`qacct`, `sacct`).
    pub client: &'static str,
    /// Its field for the peak memory hecjob shows (`maxvmem`, `MaxRSS`).
    pub peak_memory: &'static str,
    /// What that peak measures.
    pub peak_memory_means: &'static str,
    /// Its field for how a run ended when it failed (`failed`, `State`).
    pub failure: &'static str,
    /// Its field for the exit status (`exit_status`, `ExitCode`).
    pub exit_status: &'static str,
}

impl AccountingWords {
    /// `qacct maxvmem`, `sacct MaxRSS`: where the peak memory figure comes from.
    pub fn peak_memory_source(&self) -> String {
        format!("{} {}", self.client, self.peak_memory)
    }
}

pub const GRID_ENGINE: AccountingWords = AccountingWords {
    scheduler: "Grid Engine",
    client: "qacct",
    peak_memory: "maxvmem",
    peak_memory_means: "peak virtual memory",
    failure: "failed",
    exit_status: "exit_status",
};

pub const SLURM: AccountingWords = AccountingWords {
    scheduler: "Slurm",
    client: "sacct",
    peak_memory: "MaxRSS",
    peak_memory_means: "peak resident memory of the largest process",
    failure: "State",
    exit_status: "ExitCode",
};
