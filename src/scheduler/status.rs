//! The state of submitted jobs, task by task: the scheduler's queue for what it
//! still holds, its accounting for what has finished (one call of each per
//! refresh, whatever the number of jobs). A task in neither is `unknown`
//! (accounting may not have flushed yet, or the id is from another cluster),
//! never `failed`.

use super::backend::{QueueEntry, QueueState, RunOutcome, RunRecord, Scheduler, StopCause};
use crate::jobdir::job_id::JobId;
use crate::util::error::{Error, Result};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Pending,
    Held,
    Running,
    Suspended,
    Deleting,
    /// The scheduler could not start it (Grid Engine's E: e.g. an unwritable log directory).
    Error,
    /// Ended to run again (exit 99) and waits for its next run.
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
    /// The scheduler's state code while it holds the task (`hqw`, `r`, `Eqw`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why it waits, when the scheduler says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How many finished runs accounting has for this task (more than 1 after exit 99).
    pub runs: usize,
    /// The latest finished run, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunRecord>,
    /// Why each finished run ended, oldest first (a requeued attempt, then
    /// the one that hit the time limit, …); `None` where the scheduler's
    /// record does not say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Option<StopCause>>,
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

/// Each task of each job gets a row: a range of billions of tasks (a corrupt
/// record) is refused before anything is asked or allocated.
pub fn check_walkable(jobs: &[TrackedJob]) -> Result<()> {
    for j in jobs {
        if let Some(r) = j.id.tasks {
            r.check_walkable().map_err(|why| {
                Error::Data(format!(
                    "{} job {} ({}): {why}; is its submission.json intact?",
                    j.stage, j.id.number, j.name
                ))
            })?;
        }
    }
    Ok(())
}

/// Ask `sched` about `jobs`: one queue call for all of them, then one
/// accounting call for the jobs that have a task the queue no longer lists.
pub fn query(sched: &mut dyn Scheduler, jobs: &[TrackedJob]) -> Result<Vec<JobStatus>> {
    check_walkable(jobs)?;
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
    let queue = sched.queue(&ids)?;
    let finished: Vec<JobId> = jobs
        .iter()
        .filter(|j| task_ids(j.id).any(|t| !queue.iter().any(|e| e.covers(j.id.number, t))))
        .map(|j| j.id)
        .collect();
    let records = if finished.is_empty() {
        Vec::new()
    } else {
        sched.accounting(&finished)?
    };
    Ok(collect(jobs, &queue, &records))
}

/// The job's tasks, walked lazily: a range is never expanded into a list here
/// (a [`TaskRange`](super::TaskRange) holds at most `MAX_TASKS`).
fn task_ids(id: JobId) -> Box<dyn Iterator<Item = Option<u32>>> {
    match id.tasks {
        Some(r) => Box::new(r.tasks().map(Some)),
        None => Box::new(std::iter::once(None)),
    }
}

/// Combine queue entries and accounting records, task by task.
pub fn collect(jobs: &[TrackedJob], queue: &[QueueEntry], records: &[RunRecord]) -> Vec<JobStatus> {
    jobs.iter()
        .map(|job| JobStatus {
            stage: job.stage.clone(),
            name: job.name.clone(),
            id: job.id,
            tasks: task_ids(job.id)
                .map(|t| task_status(job.id.number, t, queue, records))
                .collect(),
        })
        .collect()
}

fn task_status(
    job: u64,
    task: Option<u32>,
    queue: &[QueueEntry],
    records: &[RunRecord],
) -> TaskStatus {
    let runs: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.job == job && (task.is_none() || r.task == task))
        .collect();
    let last_run = runs.last().map(|r| (*r).clone());
    let attempts: Vec<Option<StopCause>> = runs.iter().map(|r| r.cause).collect();
    if let Some(e) = queue.iter().find(|e| e.covers(job, task)) {
        return TaskStatus {
            task,
            state: e.state.into(),
            code: Some(e.code.clone()),
            reason: e.reason.clone(),
            runs: runs.len(),
            last_run,
            attempts,
        };
    }
    let state = match last_run.as_ref().map(|r| r.outcome) {
        None => TaskState::Unknown,
        Some(RunOutcome::Succeeded) => TaskState::Done,
        // Accounting wrote the requeued run, and the next run is not queued yet.
        Some(RunOutcome::Requeued) => TaskState::Rescheduled,
        Some(RunOutcome::Failed) => TaskState::Failed,
    };
    TaskStatus {
        task,
        state,
        code: None,
        reason: None,
        runs: runs.len(),
        last_run,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobdir::job_id::TaskRange;
    use crate::scheduler::fake::Fake;
    use crate::scheduler::sge::qstat::QstatSnapshot;

    use crate::scheduler::captured as data;

    fn neutral(text: &str) -> Vec<RunRecord> {
        crate::scheduler::sge::qacct::parse(&data(text))
            .unwrap()
            .iter()
            .map(|r| r.to_neutral())
            .collect()
    }

    #[test]
    fn combines_queue_and_accounting_in_one_call_each() {
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
        let mut f = Fake::new();
        f.queue = qstat
            .entries
            .into_iter()
            .map(|e| e.into_neutral())
            .collect();
        f.records = [neutral("qacct_array.txt"), neutral("qacct_failed.txt")].concat();
        let st = query(&mut f, &jobs).unwrap();
        // qstat2 was taken while every task of array 9 was still queued or running.
        assert_eq!(st[0].tasks.len(), 6);
        assert_eq!(st[1].tasks[0].state, TaskState::Held);
        assert_eq!(st[1].tasks[0].code.as_deref(), Some("hqw"));
        assert_eq!(st[2].tasks[0].state, TaskState::Failed);
        let failure = st[2].tasks[0].last_run.as_ref().unwrap().failure.clone();
        assert_eq!(
            failure.as_deref(),
            Some("37 qmaster enforced h_rt, h_cpu, or h_vmem limit")
        );
        assert_eq!(st[3].tasks[0].state, TaskState::Unknown);
        assert_eq!(f.queue_calls.len(), 1, "one queue query for all jobs");
        assert_eq!(
            f.accounting_calls,
            vec![vec![jobs[2].id, jobs[3].id]],
            "one accounting call, and none for jobs the queue lists"
        );
    }

    /// Issue 22: a record with `"last": 4294967295` aborted `status` on a
    /// 34 GB allocation; it is an error naming the job, and nothing is asked.
    #[test]
    fn a_range_of_billions_of_tasks_is_refused_before_any_query() {
        let jobs = vec![TrackedJob {
            stage: "train".into(),
            name: "t".into(),
            id: JobId {
                number: 7,
                tasks: TaskRange::parse("1-4294967295"),
            },
        }];
        let mut f = Fake::new();
        let e = query(&mut f, &jobs).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.to_string(),
            "train job 7 (t): task range 1-4294967295:1: 4294967295 tasks, more than the \
             1000000 hecjob follows one by one (no scheduler runs that many in one array); is \
             its submission.json intact?"
        );
        assert!(f.queue_calls.is_empty());
    }

    #[test]
    fn rescheduled_then_done() {
        let recs = neutral("qacct_resched.txt");
        let s = task_status(8, None, &[], &recs[..1]);
        assert_eq!(s.state, TaskState::Rescheduled);
        let s = task_status(8, None, &[], &recs);
        assert_eq!((s.state, s.runs), (TaskState::Done, 2));
    }
}
