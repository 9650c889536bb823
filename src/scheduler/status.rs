//! The state of submitted jobs, task by task: qstat for what Grid Engine still
//! holds, qacct for what has finished. A task in neither is `unknown` (qacct may
//! not have flushed yet, or the id is from another cluster), never `failed`.

use super::job_id::JobId;
use super::sge::qacct::AcctRecord;
use super::sge::qstat::{QstatSnapshot, QueueState};
use crate::error::Result;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Pending,
    Held,
    Running,
    Suspended,
    Deleting,
    /// qstat state E: Grid Engine could not start it (e.g. unwritable log directory).
    Error,
    /// Exited 99 and waits to run again.
    Rescheduled,
    Done,
    Failed,
    Unknown,
}

impl TaskState {
    pub fn is_finished(self) -> bool {
        matches!(self, TaskState::Done | TaskState::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Held => "held",
            TaskState::Running => "running",
            TaskState::Suspended => "suspended",
            TaskState::Deleting => "deleting",
            TaskState::Error => "error",
            TaskState::Rescheduled => "rescheduled",
            TaskState::Done => "done",
            TaskState::Failed => "failed",
            TaskState::Unknown => "unknown",
        }
    }
}

impl From<QueueState> for TaskState {
    fn from(q: QueueState) -> TaskState {
        match q {
            QueueState::Pending => TaskState::Pending,
            QueueState::Held => TaskState::Held,
            QueueState::Running => TaskState::Running,
            QueueState::Suspended => TaskState::Suspended,
            QueueState::Deleting => TaskState::Deleting,
            QueueState::Error => TaskState::Error,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskStatus {
    /// None for a non-array job.
    pub task: Option<u32>,
    pub state: TaskState,
    /// qstat's state code while Grid Engine holds the task (`hqw`, `r`, `Eqw`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// How many finished runs accounting has for this task (more than 1 after exit 99).
    pub runs: usize,
    /// The latest finished run, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<AcctRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub stage: String,
    pub name: String,
    pub id: JobId,
    pub tasks: Vec<TaskStatus>,
}

impl JobStatus {
    pub fn all_finished(&self) -> bool {
        self.tasks.iter().all(|t| t.state.is_finished())
    }
}

/// A job to look up: its stage (install, download, train), name and id.
#[derive(Debug, Clone)]
pub struct TrackedJob {
    pub stage: String,
    pub name: String,
    pub id: JobId,
}

/// Combine one qstat snapshot with qacct records; `acct` is called at most once
/// per job, and only for jobs that have a task qstat no longer lists.
pub fn collect(
    jobs: &[TrackedJob],
    qstat: &QstatSnapshot,
    mut acct: impl FnMut(u64) -> Result<Vec<AcctRecord>>,
) -> Result<Vec<JobStatus>> {
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let tasks: Vec<Option<u32>> = match job.id.tasks {
            Some(r) => r.tasks().map(Some).collect(),
            None => vec![None],
        };
        let needs_acct = tasks
            .iter()
            .any(|t| qstat.find(job.id.number, *t).is_none());
        let records = if needs_acct {
            acct(job.id.number)?
        } else {
            Vec::new()
        };
        let tasks = tasks
            .into_iter()
            .map(|t| task_status(job.id.number, t, qstat, &records))
            .collect();
        out.push(JobStatus {
            stage: job.stage.clone(),
            name: job.name.clone(),
            id: job.id,
            tasks,
        });
    }
    Ok(out)
}

fn task_status(
    job: u64,
    task: Option<u32>,
    qstat: &QstatSnapshot,
    records: &[AcctRecord],
) -> TaskStatus {
    let runs: Vec<&AcctRecord> = records
        .iter()
        .filter(|r| r.job == job && (task.is_none() || r.task == task))
        .collect();
    let last_run = runs.last().map(|r| (*r).clone());
    if let Some(e) = qstat.find(job, task) {
        return TaskStatus {
            task,
            state: e.state.into(),
            code: Some(e.code.clone()),
            runs: runs.len(),
            last_run,
        };
    }
    let state = match &last_run {
        None => TaskState::Unknown,
        Some(r) if r.succeeded() => TaskState::Done,
        // Accounting wrote the rescheduled run, and the next run is not in qstat yet.
        Some(r) if r.failed == 25 => TaskState::Rescheduled,
        Some(_) => TaskState::Failed,
    };
    TaskStatus {
        task,
        state,
        code: None,
        runs: runs.len(),
        last_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::job_id::TaskRange;

    use crate::scheduler::captured as data;

    #[test]
    fn combines_qstat_and_qacct() {
        let qstat = QstatSnapshot::parse(&data("qstat2.xml")).unwrap();
        let jobs = vec![
            TrackedJob {
                stage: "a".into(),
                name: "arr".into(),
                id: JobId {
                    number: 9,
                    tasks: Some(TaskRange {
                        first: 1,
                        last: 6,
                        step: 1,
                    }),
                },
            },
            TrackedJob {
                stage: "b".into(),
                name: "held".into(),
                id: JobId::single(10),
            },
            TrackedJob {
                stage: "c".into(),
                name: "gone".into(),
                id: JobId::single(5),
            },
            TrackedJob {
                stage: "d".into(),
                name: "never".into(),
                id: JobId::single(777),
            },
        ];
        let mut calls = Vec::new();
        let st = collect(&jobs, &qstat, |j| {
            calls.push(j);
            Ok(match j {
                9 => crate::scheduler::sge::qacct::parse(&data("qacct_array.txt")).unwrap(),
                5 => crate::scheduler::sge::qacct::parse(&data("qacct_failed.txt")).unwrap(),
                _ => Vec::new(),
            })
        })
        .unwrap();
        // qstat2 was taken while array 9 still ran; qacct has the finished tasks.
        assert_eq!(st[0].tasks.len(), 6);
        assert_eq!(st[1].tasks[0].state, TaskState::Held);
        assert_eq!(st[1].tasks[0].code.as_deref(), Some("hqw"));
        assert_eq!(st[2].tasks[0].state, TaskState::Failed);
        assert_eq!(st[2].tasks[0].last_run.as_ref().unwrap().failed, 37);
        assert_eq!(st[3].tasks[0].state, TaskState::Unknown);
        assert!(
            !calls.contains(&10),
            "qacct is not asked about jobs qstat lists"
        );
    }

    #[test]
    fn rescheduled_then_done() {
        let recs = crate::scheduler::sge::qacct::parse(&data("qacct_resched.txt")).unwrap();
        let empty = QstatSnapshot::default();
        let s = task_status(8, None, &empty, &recs[..1]);
        assert_eq!(s.state, TaskState::Rescheduled);
        let s = task_status(8, None, &empty, &recs);
        assert_eq!((s.state, s.runs), (TaskState::Done, 2));
    }
}
