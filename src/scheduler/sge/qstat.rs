//! `qstat -xml`: the jobs Grid Engine still holds (pending, held, running, in error).
//! Finished jobs are not listed; they are found through `qacct` (see `qacct.rs`).
//! One call serves a whole refresh, whatever the number of jobs.

use crate::jobdir::job_id::TaskRange;
use crate::scheduler::backend::{CommandLine, QueueEntry, QueueState};
use crate::util::error::{Error, Result};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// What a qstat state string (`qw`, `hqw`, `r`, `Eqw`, `Rq`, `dr`, …) means;
/// the most telling letter wins (E over h over r …).
pub fn state_of(code: &str) -> QueueState {
    if code.contains('E') {
        QueueState::Error
    } else if code.contains('d') {
        QueueState::Deleting
    } else if code.contains('h') {
        QueueState::Held
    } else if code.contains('s') || code.contains('S') || code.contains('T') {
        QueueState::Suspended
    } else if code.contains('r') || code.contains('t') {
        QueueState::Running
    } else {
        QueueState::Pending
    }
}

/// One `<job_list>` entry: a job, one running task, or a range of pending tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QstatEntry {
    pub job: u64,
    pub name: String,
    pub owner: String,
    /// The raw state code, e.g. `hqw`.
    pub code: String,
    pub state: QueueState,
    pub queue: Option<String>,
    /// Task ranges this entry covers (kept as ranges: a pending array of a
    /// million tasks is one range); empty for a non-array job.
    pub tasks: Vec<TaskRange>,
}

impl QstatEntry {
    pub fn into_neutral(self) -> QueueEntry {
        QueueEntry {
            job: self.job,
            tasks: self.tasks,
            state: self.state,
            code: self.code,
            reason: None,
            name: self.name,
            queue: self.queue,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct QstatSnapshot {
    pub entries: Vec<QstatEntry>,
}

impl QstatSnapshot {
    /// Run `qstat -xml -u '*'` once (all users: the submitter may not be the viewer).
    pub fn query() -> Result<QstatSnapshot> {
        let timeout = crate::scheduler::command::timeout_from_env()?;
        QstatSnapshot::query_with(&super::client("qstat")?, timeout)
    }

    /// [`query`](Self::query) through a given qstat program.
    pub fn query_with(qstat: &Path, timeout: Duration) -> Result<QstatSnapshot> {
        let cmd = CommandLine::anywhere(["qstat", "-xml", "-u", "*"].map(String::from).to_vec());
        let out = crate::scheduler::command::run_query(qstat, &cmd, timeout)?;
        if !out.status.success() {
            return Err(Error::Scheduler(format!(
                "qstat -xml failed ({}): {}",
                crate::scheduler::command::describe_status(&out.status),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        QstatSnapshot::parse(&String::from_utf8_lossy(&out.stdout))
    }

    pub fn parse(xml: &str) -> Result<QstatSnapshot> {
        let doc = roxmltree::Document::parse(xml)
            .map_err(|e| Error::Scheduler(format!("could not parse `qstat -xml` output: {e}")))?;
        let mut entries = Vec::new();
        for node in doc.descendants().filter(|n| n.has_tag_name("job_list")) {
            let child = |tag: &str| {
                node.children()
                    .find(|c| c.has_tag_name(tag))
                    .and_then(|c| c.text())
                    .map(|t| t.trim().to_string())
            };
            let job = child("JB_job_number")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    Error::Scheduler("`qstat -xml`: a job_list entry has no JB_job_number".into())
                })?;
            let code = child("state").unwrap_or_default();
            let tasks = match child("tasks") {
                Some(t) => parse_task_list(&t).ok_or_else(|| {
                    Error::Scheduler(format!("`qstat -xml`: job {job}: bad task list {t:?}"))
                })?,
                None => Vec::new(),
            };
            entries.push(QstatEntry {
                job,
                name: child("JB_name").unwrap_or_default(),
                owner: child("JB_owner").unwrap_or_default(),
                state: state_of(&code),
                code,
                queue: child("queue_name").filter(|q| !q.is_empty()),
                tasks,
            });
        }
        Ok(QstatSnapshot { entries })
    }

    /// The entry for a job (non-array) or one task of an array job.
    pub fn find(&self, job: u64, task: Option<u32>) -> Option<&QstatEntry> {
        self.entries.iter().find(|e| {
            e.job == job
                && match task {
                    None => true,
                    Some(t) => e.tasks.is_empty() || e.tasks.iter().any(|r| r.contains(t)),
                }
        })
    }
}

/// `3`, `1-5:1`, or a comma-separated list of those.
fn parse_task_list(s: &str) -> Option<Vec<TaskRange>> {
    s.split(',').map(TaskRange::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scheduler::captured as data;

    #[test]
    fn running_array_tasks_held_and_error_jobs() {
        // Captured from SGE 8.1.9: job 8 running, array 9 with six running tasks,
        // 10 held (-h), 11 held by -hold_jid, 12 in Eqw (unwritable -o).
        let s = QstatSnapshot::parse(&data("qstat1.xml")).unwrap();
        assert_eq!(s.entries.len(), 10);
        let t4 = s.find(9, Some(4)).unwrap();
        assert_eq!(t4.state, QueueState::Running);
        assert_eq!(t4.queue.as_deref(), Some("serial@vm"));
        assert_eq!(s.find(10, None).unwrap().state, QueueState::Held);
        assert_eq!(s.find(11, None).unwrap().name, "waiter");
        let e = s.find(12, None).unwrap();
        assert_eq!((e.state, e.code.as_str()), (QueueState::Error, "Eqw"));
        assert!(s.find(9, Some(7)).is_none());
        assert!(s.find(4, None).is_none());
    }

    #[test]
    fn pending_array_range() {
        let s = QstatSnapshot::parse(&data("qstat2.xml")).unwrap();
        let e = s.find(13, Some(5)).unwrap();
        assert_eq!(e.tasks, vec![TaskRange::parse("1-5:1").unwrap()]);
        assert_eq!(e.state, QueueState::Held);
    }

    #[test]
    fn state_codes() {
        for (code, st) in [
            ("qw", QueueState::Pending),
            ("hqw", QueueState::Held),
            ("hRwq", QueueState::Held),
            ("Rq", QueueState::Pending),
            ("r", QueueState::Running),
            ("Rr", QueueState::Running),
            ("t", QueueState::Running),
            ("Eqw", QueueState::Error),
            ("dr", QueueState::Deleting),
            ("S", QueueState::Suspended),
        ] {
            assert_eq!(state_of(code), st, "{code}");
        }
        let list = parse_task_list("1-3:1,7").unwrap();
        let covered: Vec<u32> = list.iter().flat_map(|r| r.tasks()).collect();
        assert_eq!(covered, vec![1, 2, 3, 7]);
    }

    #[test]
    fn a_huge_pending_range_stays_a_range() {
        // Issue 15: `1-4000000000:1` was expanded into a Vec (16 GB, abort).
        let xml = "<?xml version='1.0'?><job_info><queue_info/><job_info>\
            <job_list state=\"pending\"><JB_job_number>13</JB_job_number><JB_name>t</JB_name>\
            <JB_owner>me</JB_owner><state>qw</state><tasks>1-4000000000:1</tasks></job_list>\
            </job_info></job_info>";
        let s = QstatSnapshot::parse(xml).unwrap();
        assert_eq!(s.entries[0].tasks.len(), 1);
        assert!(s.find(13, Some(3_999_999_999)).is_some());
        assert!(s.find(13, Some(4_000_000_001)).is_none());
    }

    #[test]
    fn empty_and_garbage() {
        let s = QstatSnapshot::parse(
            "<?xml version='1.0'?><job_info><queue_info/><job_info/></job_info>",
        )
        .unwrap();
        assert!(s.entries.is_empty());
        assert!(QstatSnapshot::parse("error: commlib error").is_err());
    }
}
