//! Grid Engine accounting for the train array job: `qacct -j ID`, parsed per task.
//!
//! qacct prints one `key value` block per finished task attempt, separated by a
//! line of `=`. A task that was interrupted and rescheduled (exit 99) has several
//! blocks: its wallclock is the sum over attempts, its maxvmem the maximum, and its
//! exit status that of the last attempt.

use crate::scheduler::sge::qacct::{query_with, AcctRecord};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounting {
    pub maxvmem_bytes: Option<u64>,
    pub wallclock_seconds: Option<f64>,
    /// CPU time (user + system) summed over attempts, seconds.
    pub cpu_seconds: Option<f64>,
    pub exit_status: Option<i64>,
    /// `failed` as `code : reason` (`0`, or `25 : rescheduling`), from the last attempt.
    pub failed: Option<String>,
}

/// Per-task accounting keyed by task id. A non-array job (`taskid undefined`)
/// is filed under task 1.
pub type ByTask = BTreeMap<u32, Accounting>;

/// Run `program -j job_id` through the scheduler's qacct client. `None` when
/// qacct is not installed, fails (e.g. "job id N not found"), or prints nothing
/// usable: the report then shows "-" for these columns rather than failing.
pub fn query(program: &Path, job_id: u64) -> Option<ByTask> {
    let timeout = crate::scheduler::command::timeout_from_env().ok()?;
    let records = query_with(program, job_id, timeout).ok()?;
    let by_task = by_task(records);
    (!by_task.is_empty()).then_some(by_task)
}

fn by_task(records: Vec<AcctRecord>) -> ByTask {
    let mut by_task = ByTask::new();
    for r in records {
        let acc = by_task.entry(r.task.unwrap_or(1)).or_default();
        acc.maxvmem_bytes = Some(
            acc.maxvmem_bytes
                .map_or(r.maxvmem_bytes, |m| m.max(r.maxvmem_bytes)),
        );
        acc.wallclock_seconds = Some(acc.wallclock_seconds.unwrap_or(0.0) + r.wallclock_s);
        acc.cpu_seconds = Some(acc.cpu_seconds.unwrap_or(0.0) + r.cpu_s);
        acc.exit_status = Some(i64::from(r.exit_status));
        acc.failed = Some(if r.failed_reason.is_empty() {
            r.failed.to_string()
        } else {
            format!("{} : {}", r.failed, r.failed_reason)
        });
    }
    by_task
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_is_none() {
        assert!(query(Path::new("/nonexistent/qacct"), 1).is_none());
    }
}
