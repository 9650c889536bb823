//! Slurm accounting for the train array job of a run submitted to Slurm: one
//! `sacct` call through the Slurm back end, folded per task into the report's
//! [`Accounting`] (a Slurm run's report never asks qacct).
//!
//! A requeued task has several runs: its elapsed and CPU time are summed over them,
//! its peak memory (MaxRSS, filed as the scheduler's peak) is the largest, and its
//! exit status and failure are those of the last run.

use super::qacct::{Accounting, ByTask};
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

fn by_task(records: &[RunRecord]) -> ByTask {
    let mut by_task = ByTask::new();
    for r in records {
        let acc: &mut Accounting = by_task.entry(r.task.unwrap_or(1)).or_default();
        acc.maxvmem_bytes = match (acc.maxvmem_bytes, r.max_rss_bytes) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        acc.wallclock_seconds =
            Some(acc.wallclock_seconds.unwrap_or(0.0) + r.wallclock_s.unwrap_or(0.0));
        acc.cpu_seconds = Some(acc.cpu_seconds.unwrap_or(0.0) + r.cpu_s.unwrap_or(0.0));
        acc.exit_status = r.exit_status.map(i64::from);
        acc.failed = Some(r.failure.clone().unwrap_or_else(|| "0".into()));
    }
    by_task
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
        assert_eq!(a.maxvmem_bytes, Some(6484 * 1024));
        assert_eq!((a.exit_status, a.failed.as_deref()), (Some(0), Some("0")));
    }
}
