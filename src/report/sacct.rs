//! Slurm accounting for the train array job of a run submitted to Slurm: one
//! `sacct` call through the Slurm back end, folded per task into the report's
//! [`Accounting`] (a Slurm run's report never asks qacct).
//!
//! A requeued task has several runs: its elapsed and CPU time are summed over them,
//! its peak memory (MaxRSS, filed as the scheduler's peak) is the largest, and its
//! exit status and failure are those of the last run.

use super::qacct::{from_records, ByTask};
use crate::scheduler::{JobId, RunRecord, Scheduler};

/// Per-task accounting, or `None` when sacct is missing, fails or knows nothing.
pub fn query(job_id: u64) -> Option<ByTask> {
    let mut slurm = crate::scheduler::slurm::Slurm::for_queries().ok()?;
    let records = slurm.accounting(&[JobId::single(job_id)]).ok()?;
    if slurm.accounting_note().is_some() {
        return None;
    }
    let by_task = by_task(&records);
    (!by_task.is_empty()).then_some(by_task)
}

/// The same fold as Grid Engine's ([`from_records`]): a figure sacct did not
/// give stays missing (not 0), and MaxRSS stays MaxRSS.
fn by_task(records: &[RunRecord]) -> ByTask {
    from_records(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requeued_runs_fold_into_one_task() {
        let runs = crate::scheduler::slurm::sacct::parse(&crate::scheduler::slurm::captured(
            "sacct_requeue.txt",
        ))
        .unwrap();
        let records = crate::scheduler::slurm::client::neutral_runs(&runs);
        let t = by_task(&records);
        assert_eq!(t.len(), 2);
        let a = &t[&1];
        // 17 s requeued + 0 s resumed; the requeued run's MaxRSS is the peak.
        assert_eq!(a.wallclock_seconds, Some(17.0));
        assert_eq!(a.peak_memory_bytes(), Some(6484 * 1024));
        assert_eq!(a.maxvmem_bytes, None, "MaxRSS is not filed as maxvmem");
        assert_eq!((a.exit_status, a.failed.as_deref()), (Some(0), Some("0")));
    }
}
