//! Slurm's job states, as `squeue %T` and `sacct State` print them (long names;
//! `CANCELLED by 0` carries who cancelled), and array task specs (`3`, `[3-4%2]`).
//!
//! One answer (a squeue or sacct output) expands to at most [`MAX_TASKS`] task
//! ids in all, whatever its number of lines: [`TaskSpecs`] keeps the count.

use crate::jobdir::job_id::MAX_TASKS;
use crate::scheduler::backend::StopCause;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Pending,
    Configuring,
    Running,
    Completing,
    Suspended,
    Stopped,
    Signaling,
    StageOut,
    Resizing,
    Completed,
    Cancelled,
    Failed,
    Timeout,
    NodeFail,
    Preempted,
    OutOfMemory,
    BootFail,
    Deadline,
    /// This run ended and the job went back to the queue (`scontrol requeue`).
    Requeued,
    RequeueHold,
    RequeueFed,
    SpecialExit,
    Revoked,
    /// A state this version does not know, kept as printed.
    Other(String),
}

impl JobState {
    pub fn parse(s: &str) -> JobState {
        // `CANCELLED by 0`, `CANCELLED+` (sacct truncates long names with `+`).
        let word = s
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches('+');
        match word {
            "PENDING" | "PD" => JobState::Pending,
            "CONFIGURING" | "CF" => JobState::Configuring,
            "RUNNING" | "R" => JobState::Running,
            "COMPLETING" | "CG" => JobState::Completing,
            "SUSPENDED" | "S" => JobState::Suspended,
            "STOPPED" | "ST" => JobState::Stopped,
            "SIGNALING" | "SI" => JobState::Signaling,
            "STAGE_OUT" | "SO" => JobState::StageOut,
            "RESIZING" | "RS" => JobState::Resizing,
            "COMPLETED" | "CD" => JobState::Completed,
            "CANCELLED" | "CA" => JobState::Cancelled,
            "FAILED" | "F" => JobState::Failed,
            "TIMEOUT" | "TO" => JobState::Timeout,
            "NODE_FAIL" | "NF" => JobState::NodeFail,
            "PREEMPTED" | "PR" => JobState::Preempted,
            "OUT_OF_MEMORY" | "OOM" => JobState::OutOfMemory,
            "BOOT_FAIL" | "BF" => JobState::BootFail,
            "DEADLINE" | "DL" => JobState::Deadline,
            "REQUEUED" | "RQ" => JobState::Requeued,
            "REQUEUE_HOLD" | "RH" => JobState::RequeueHold,
            "REQUEUE_FED" | "RF" => JobState::RequeueFed,
            "SPECIAL_EXIT" | "SE" => JobState::SpecialExit,
            "REVOKED" | "RV" => JobState::Revoked,
            _ => JobState::Other(s.trim().to_string()),
        }
    }

    /// The job is done with this run for good: it will not run again by itself.
    /// (REQUEUED is not final: the job waits to run again.)
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            JobState::Completed
                | JobState::Cancelled
                | JobState::Failed
                | JobState::Timeout
                | JobState::NodeFail
                | JobState::Preempted
                | JobState::OutOfMemory
                | JobState::BootFail
                | JobState::Deadline
                | JobState::SpecialExit
                | JobState::Revoked
        )
    }

    /// Why a run in this final state ended, with its exit code: Slurm's own
    /// states name the cluster's reasons (`TIMEOUT`, `PREEMPTED`, `NODE_FAIL`,
    /// `OUT_OF_MEMORY`); `FAILED` or a non-zero exit is the run's own.
    pub fn stop_cause(&self, exit_code: i32) -> StopCause {
        match self {
            JobState::Completed if exit_code == 0 => StopCause::Finished,
            JobState::Requeued | JobState::RequeueHold | JobState::RequeueFed => {
                StopCause::Requeued
            }
            JobState::Timeout | JobState::Deadline => StopCause::TimeLimit,
            JobState::Preempted => StopCause::Preempted,
            JobState::NodeFail | JobState::BootFail => StopCause::NodeFailure,
            JobState::OutOfMemory => StopCause::OutOfMemory,
            JobState::Cancelled | JobState::Revoked => StopCause::Cancelled,
            _ => StopCause::RunFailed,
        }
    }

    /// Waiting to start (again).
    pub fn is_waiting(&self) -> bool {
        matches!(
            self,
            JobState::Pending
                | JobState::Requeued
                | JobState::RequeueHold
                | JobState::RequeueFed
                | JobState::Configuring
        )
    }

    pub fn as_str(&self) -> &str {
        match self {
            JobState::Pending => "PENDING",
            JobState::Configuring => "CONFIGURING",
            JobState::Running => "RUNNING",
            JobState::Completing => "COMPLETING",
            JobState::Suspended => "SUSPENDED",
            JobState::Stopped => "STOPPED",
            JobState::Signaling => "SIGNALING",
            JobState::StageOut => "STAGE_OUT",
            JobState::Resizing => "RESIZING",
            JobState::Completed => "COMPLETED",
            JobState::Cancelled => "CANCELLED",
            JobState::Failed => "FAILED",
            JobState::Timeout => "TIMEOUT",
            JobState::NodeFail => "NODE_FAIL",
            JobState::Preempted => "PREEMPTED",
            JobState::OutOfMemory => "OUT_OF_MEMORY",
            JobState::BootFail => "BOOT_FAIL",
            JobState::Deadline => "DEADLINE",
            JobState::Requeued => "REQUEUED",
            JobState::RequeueHold => "REQUEUE_HOLD",
            JobState::RequeueFed => "REQUEUE_FED",
            JobState::SpecialExit => "SPECIAL_EXIT",
            JobState::Revoked => "REVOKED",
            JobState::Other(s) => s,
        }
    }
}

/// The task specs of one scheduler answer, expanded with a cap on their total:
/// 40 lines of `[1-1000000]` are an error, not 40 million entries.
#[derive(Debug)]
pub struct TaskSpecs {
    left: u64,
}

impl Default for TaskSpecs {
    fn default() -> Self {
        TaskSpecs { left: MAX_TASKS }
    }
}

impl TaskSpecs {
    pub fn new() -> TaskSpecs {
        TaskSpecs::default()
    }

    /// [`expand_tasks`], counted against the answer's total; the error says why
    /// (for a parser's "line N: …" message).
    pub fn expand(&mut self, spec: &str) -> std::result::Result<Vec<u32>, String> {
        let count = count_tasks(spec).ok_or_else(|| "no array task id".to_string())?;
        if count > self.left {
            return Err(format!(
                "more than {MAX_TASKS} array tasks in all (a cluster's array holds at most \
                 that many; is this the scheduler's answer?)"
            ));
        }
        self.left -= count;
        expand_tasks(spec).ok_or_else(|| "no array task id".to_string())
    }
}

/// The parts of a task spec as (first, last, step), or None when it is not one.
fn spec_parts(spec: &str) -> Option<Vec<(u32, u32, u32)>> {
    let s = spec.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    // `%2` is the concurrency cap, not part of the set.
    let s = s.split_once('%').map_or(s, |(set, _)| set);
    if s.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for part in s.split(',') {
        let (range, step) = match part.split_once(':') {
            Some((r, st)) => (r, st.parse::<u32>().ok().filter(|&x| x > 0)?),
            None => (part, 1),
        };
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => {
                let n = range.parse::<u32>().ok()?;
                (n, n)
            }
        };
        if last < first {
            return None;
        }
        parts.push((first, last, step));
    }
    Some(parts)
}

/// How many task ids a spec stands for, without expanding it.
fn count_tasks(spec: &str) -> Option<u64> {
    let parts = spec_parts(spec)?;
    Some(
        parts
            .iter()
            .map(|&(f, l, st)| u64::from(l - f) / u64::from(st) + 1)
            .sum(),
    )
}

/// The task ids of an array task spec as squeue `%K` and sacct `JobID` print them:
/// `3`, `3-4`, `[3-4%2]`, `1,3,5-7`, `1-7:2`. None for anything else (`N/A` included)
/// and for a spec of more than [`MAX_TASKS`] tasks; a whole answer goes through
/// [`TaskSpecs`], which caps the total.
pub fn expand_tasks(spec: &str) -> Option<Vec<u32>> {
    if count_tasks(spec)? > MAX_TASKS {
        return None;
    }
    let mut tasks = Vec::new();
    for (first, last, step) in spec_parts(spec)? {
        tasks.extend((first..=last).step_by(step as usize));
    }
    Some(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        assert_eq!(JobState::parse("CANCELLED by 0"), JobState::Cancelled);
        assert_eq!(JobState::parse("CANCELLED+"), JobState::Cancelled);
        assert_eq!(JobState::parse("OUT_OF_MEMORY"), JobState::OutOfMemory);
        assert_eq!(JobState::parse("PD"), JobState::Pending);
        assert_eq!(
            JobState::parse("FUTURE_STATE"),
            JobState::Other("FUTURE_STATE".into())
        );
        assert!(JobState::Timeout.is_final());
        assert!(!JobState::Requeued.is_final());
        assert!(JobState::Requeued.is_waiting());
        assert_eq!(JobState::parse("REQUEUED").as_str(), "REQUEUED");
    }

    #[test]
    fn task_specs() {
        assert_eq!(expand_tasks("3"), Some(vec![3]));
        assert_eq!(expand_tasks("[3-4%2]"), Some(vec![3, 4]));
        assert_eq!(expand_tasks("3-4%2"), Some(vec![3, 4]));
        assert_eq!(expand_tasks("1,3,5-7"), Some(vec![1, 3, 5, 6, 7]));
        assert_eq!(expand_tasks("1-7:2"), Some(vec![1, 3, 5, 7]));
        for bad in [
            "N/A",
            "",
            "4-3",
            "a",
            "1-",
            "1:0",
            "[]",
            "1-1000001",
            "1-4294967295",
        ] {
            assert_eq!(expand_tasks(bad), None, "{bad:?}");
        }
    }

    /// The cap is on the whole answer: each of 40 lines of a million tasks is
    /// within the per-spec cap, their sum is not.
    #[test]
    fn an_answer_expands_to_at_most_a_million_tasks_in_all() {
        let mut specs = TaskSpecs::new();
        assert_eq!(specs.expand("[1-3]"), Ok(vec![1, 2, 3]));
        assert_eq!(specs.expand("[1-999997]").map(|v| v.len()), Ok(999_997));
        assert_eq!(
            specs.expand("[1-1]"),
            Err(
                "more than 1000000 array tasks in all (a cluster's array holds at most \
                 that many; is this the scheduler's answer?)"
                    .to_string()
            )
        );
        assert_eq!(
            TaskSpecs::new().expand("N/A"),
            Err("no array task id".to_string())
        );
    }

    /// squeue's parser goes through [`TaskSpecs`]: 40 lines of a million tasks
    /// each are an error naming the line, not an abort on 40 million entries.
    #[test]
    fn squeue_with_forty_million_tasks_is_an_error() {
        let line = "1003_[1-1000000]|1003|[1-1000000]|PENDING|None|p|0:00|1:00:00|N/A||x\n";
        let e = crate::scheduler::slurm::squeue::parse(&line.repeat(40)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "squeue output line 2: more than 1000000 array tasks in all (a cluster's array \
                 holds at most that many; is this the scheduler's answer?) in {:?} (expected \
                 the fields of -o '%i|%F|%K|%T|%r|%P|%M|%l|%S|%N|%j')",
                line.trim_end()
            )
        );
    }
}

#[cfg(test)]
mod stop_cause_tests {
    use super::*;

    #[test]
    fn slurm_s_states_name_the_cluster_s_reasons() {
        let cause = |s: &str, code| JobState::parse(s).stop_cause(code);
        assert_eq!(cause("COMPLETED", 0), StopCause::Finished);
        assert_eq!(cause("COMPLETED", 3), StopCause::RunFailed);
        assert_eq!(cause("FAILED", 7), StopCause::RunFailed);
        assert_eq!(cause("TIMEOUT", 0), StopCause::TimeLimit);
        assert_eq!(cause("PREEMPTED", 0), StopCause::Preempted);
        assert_eq!(cause("NODE_FAIL", 0), StopCause::NodeFailure);
        assert_eq!(cause("OUT_OF_MEMORY", 0), StopCause::OutOfMemory);
        assert_eq!(cause("CANCELLED", 0), StopCause::Cancelled);
        assert_eq!(cause("REQUEUED", 99), StopCause::Requeued);
    }
}
