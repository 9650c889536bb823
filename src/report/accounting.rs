//! The scheduler's accounting of the train array job, per task, for the
//! report's columns and its efficiency section: one query through the
//! scheduler the run was submitted to ([`query`]; a Slurm run's report never
//! asks qacct, whose Grid Engine on the same machine would answer for an
//! unrelated job).
//!
//! Built from the scheduler-neutral [`RunRecord`]s (`scheduler::backend`), so
//! every scheduler fills the same figures through [`from_records`]. A task
//! interrupted and requeued (exit 99) has several runs: its wallclock and CPU
//! time are summed over them, its peak memory is the largest (Grid Engine's
//! maxvmem, Slurm's MaxRSS, each filed as what it is), its exit status and
//! failure the last run's. A figure the scheduler did not give stays missing.

use crate::scheduler::backend::{RunRecord, StopCause};
use crate::scheduler::{JobId, SchedulerKind};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounting {
    /// Peak virtual memory (Grid Engine's maxvmem), bytes.
    pub maxvmem_bytes: Option<u64>,
    /// Peak resident memory (Slurm's MaxRSS), bytes.
    pub max_rss_bytes: Option<u64>,
    pub wallclock_seconds: Option<f64>,
    /// CPU time (user + system) summed over attempts, seconds.
    pub cpu_seconds: Option<f64>,
    pub exit_status: Option<i64>,
    /// The last run's failure in the scheduler's words (`0` when none).
    pub failed: Option<String>,
    /// Why each run ended, oldest first (`None` where accounting does not say).
    pub attempts: Vec<Option<StopCause>>,
}

impl Accounting {
    /// What the report says of a task that did not finish: why its last run
    /// ended and, when it ran more than once, every attempt (`stopped: time
    /// limit (attempts: requeued, then time limit)`); None when it finished
    /// or accounting does not say.
    pub fn stopped(&self) -> Option<String> {
        let last = (*self.attempts.last()?)?;
        if last == StopCause::Finished {
            return None;
        }
        let mut out = format!("stopped: {}", last.describe());
        if self.attempts.len() > 1 {
            let all: Vec<&str> = self
                .attempts
                .iter()
                .map(|c| c.map_or("?", StopCause::describe))
                .collect();
            out.push_str(&format!(" (attempts: {})", all.join(", then ")));
        }
        Some(out)
    }

    /// The scheduler's peak memory: maxvmem where it counts virtual memory
    /// (what Grid Engine's h_vmem limits), else the peak RSS.
    pub fn peak_memory_bytes(&self) -> Option<u64> {
        self.maxvmem_bytes.or(self.max_rss_bytes).filter(|b| *b > 0)
    }
}

/// Per-task accounting keyed by task id. A non-array job (`taskid undefined`)
/// is filed under task 1.
pub type ByTask = BTreeMap<u32, Accounting>;

/// The accounting of jobs `job_ids` from `kind`'s accounting client (`program`:
/// the client `--qacct` names, for a scheduler that takes one). `None` when the
/// client is not installed, fails (e.g. "job id N not found"), knows nothing, or
/// says its answer is incomplete (Slurm without sacct): the report then shows
/// "-" for these columns rather than failing.
pub fn query(kind: SchedulerKind, program: &Path, job_ids: &[u64]) -> Option<ByTask> {
    let mut sched = crate::scheduler::open_accounting(kind, program).ok()?;
    // The train job and its resubmissions, oldest first: a task's runs in
    // later jobs are its later attempts.
    let ids: Vec<JobId> = job_ids.iter().map(|id| JobId::single(*id)).collect();
    let records = sched.accounting(&ids).ok()?;
    if sched.accounting_note().is_some() {
        return None;
    }
    let by_task = from_records(&records);
    (!by_task.is_empty()).then_some(by_task)
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x + y),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Fold a job's runs (in the order the scheduler lists them) into per-task figures.
pub fn from_records(records: &[RunRecord]) -> ByTask {
    let mut by_task = ByTask::new();
    for r in records {
        let acc = by_task.entry(r.task.unwrap_or(1)).or_default();
        acc.maxvmem_bytes = max(acc.maxvmem_bytes, r.maxvmem_bytes);
        acc.max_rss_bytes = max(acc.max_rss_bytes, r.max_rss_bytes);
        acc.wallclock_seconds = add(acc.wallclock_seconds, r.wallclock_s);
        acc.cpu_seconds = add(acc.cpu_seconds, r.cpu_s);
        acc.exit_status = r.exit_status.map(i64::from).or(acc.exit_status);
        acc.failed = Some(r.failure.clone().unwrap_or_else(|| "0".into()));
        acc.attempts.push(r.cause);
    }
    by_task
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_is_none() {
        assert!(query(SchedulerKind::Sge, Path::new("/nonexistent/qacct"), &[1]).is_none());
    }

    #[test]
    fn requeued_slurm_runs_fold_into_one_task() {
        let records =
            crate::scheduler::auto::captured_runs(SchedulerKind::Slurm, "sacct_requeue.txt");
        let t = from_records(&records);
        assert_eq!(t.len(), 2);
        let a = &t[&1];
        // 17 s requeued + 0 s resumed; the requeued run's MaxRSS is the peak.
        assert_eq!(a.wallclock_seconds, Some(17.0));
        assert_eq!(a.peak_memory_bytes(), Some(6484 * 1024));
        assert_eq!(a.maxvmem_bytes, None, "MaxRSS is not filed as maxvmem");
        assert_eq!((a.exit_status, a.failed.as_deref()), (Some(0), Some("0")));
    }

    /// A Slurm-like record (MaxRSS, no maxvmem) fills the same figures.
    #[test]
    fn neutral_records_from_any_scheduler() {
        use crate::scheduler::backend::RunOutcome;
        let run = |task, wall, cpu, rss, outcome| RunRecord {
            job: 7,
            task: Some(task),
            name: "x-train".into(),
            outcome,
            exit_status: Some(0),
            failure: None,
            wallclock_s: Some(wall),
            cpu_s: Some(cpu),
            max_rss_bytes: Some(rss),
            maxvmem_bytes: None,
            restarts: None,
            host: None,
            queue: None,
            start_time: None,
            end_time: None,
            cause: None,
        };
        let by = from_records(&[
            run(1, 100.0, 150.0, 3 << 30, RunOutcome::Requeued),
            run(1, 50.0, 90.0, 2 << 30, RunOutcome::Succeeded),
            run(2, 10.0, 5.0, 1 << 30, RunOutcome::Succeeded),
        ]);
        let one = &by[&1];
        assert_eq!(one.wallclock_seconds, Some(150.0));
        assert_eq!(one.cpu_seconds, Some(240.0));
        assert_eq!(one.peak_memory_bytes(), Some(3 << 30));
        assert_eq!(one.maxvmem_bytes, None);
        assert_eq!(one.failed.as_deref(), Some("0"));
        assert_eq!(by[&2].peak_memory_bytes(), Some(1 << 30));
    }
}
