//! Grid Engine accounting for the train array job: `qacct -j ID`, parsed per task.
//!
//! qacct prints one `key value` block per finished task attempt, separated by a
//! line of `=`. A task that was interrupted and rescheduled (exit 99) has several
//! blocks: its wallclock is the sum over attempts, its maxvmem the maximum, and its
//! exit status that of the last attempt.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Accounting {
    pub maxvmem_bytes: Option<u64>,
    pub wallclock_seconds: Option<f64>,
    pub exit_status: Option<i64>,
    /// `failed` as qacct prints it: `0`, or `25  : rescheduling`.
    pub failed: Option<String>,
    /// How many accounting records (attempts) the task has.
    pub attempts: u32,
}

/// Per-task accounting keyed by task id. A non-array job (`taskid undefined`)
/// is filed under task 1.
pub type ByTask = BTreeMap<u32, Accounting>;

/// Run `program -j job_id` and parse it. `None` when qacct is not installed,
/// fails (e.g. "job id N not found"), or prints nothing usable: the report then
/// shows "-" for these columns rather than failing.
pub fn query(program: &Path, job_id: &str) -> Option<ByTask> {
    let out = Command::new(program).arg("-j").arg(job_id).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let parsed = parse(&String::from_utf8_lossy(&out.stdout));
    (!parsed.is_empty()).then_some(parsed)
}

pub fn parse(text: &str) -> ByTask {
    // One parser for qacct's output: the scheduler's.
    let records = crate::scheduler::qacct::parse(text).unwrap_or_default();
    let mut by_task = ByTask::new();
    for r in records {
        let acc = by_task.entry(r.task.unwrap_or(1)).or_default();
        acc.attempts += 1;
        acc.maxvmem_bytes = Some(
            acc.maxvmem_bytes
                .map_or(r.maxvmem_bytes, |m| m.max(r.maxvmem_bytes)),
        );
        acc.wallclock_seconds = Some(acc.wallclock_seconds.unwrap_or(0.0) + r.wallclock_s);
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
        assert!(query(Path::new("/nonexistent/qacct"), "1").is_none());
    }
}
