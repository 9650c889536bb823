//! A scripted scheduler for tests (hyperfine's `MockExecutor` in spirit): each
//! submission gets the next scripted [`Reply`] (accept, refuse, time out),
//! cancelling can be made to fail, and queue and accounting answers are set by
//! the test. It records every call, so tests check what a caller did (which ids
//! it cancelled, how many queries it made) without a live scheduler.

use super::backend::{CommandLine, JobRequest, QueueEntry, RunRecord, Scheduler, Submitted};
use super::command;
use crate::jobdir::job_id::JobId;
use crate::util::error::{Error, Result};
use std::collections::VecDeque;
use std::time::Duration;

/// What the fake does with one submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Queue it under the next job number.
    Accept,
    /// Refuse it with this message (as a scheduler's stderr).
    Refuse(String),
    /// Act as a client that never answered: the runner's timeout error, which
    /// (as the real back ends say) leaves the job possibly queued.
    TimeOut,
}

#[derive(Debug, Default)]
pub struct Fake {
    replies: VecDeque<Reply>,
    cancel_failure: Option<String>,
    runs_in_submit: bool,
    next: u64,
    /// The answer to every `queue` call.
    pub queue: Vec<QueueEntry>,
    /// The answer to every `accounting` call (filtered to the asked jobs).
    pub records: Vec<RunRecord>,
    /// Every submission, accepted or not, in order.
    pub submitted: Vec<JobRequest>,
    /// Every `cancel` call's ids.
    pub cancelled: Vec<Vec<JobId>>,
    pub queue_calls: Vec<Vec<JobId>>,
    pub accounting_calls: Vec<Vec<JobId>>,
}

impl Fake {
    /// Accepts everything; job numbers start at 1.
    pub fn new() -> Fake {
        Fake {
            next: 1,
            ..Fake::default()
        }
    }

    /// The replies to the next submissions, in order (then: accept).
    pub fn replies(mut self, replies: impl IntoIterator<Item = Reply>) -> Fake {
        self.replies.extend(replies);
        self
    }

    /// Make every `cancel` fail with this message.
    pub fn failing_cancel(mut self, message: &str) -> Fake {
        self.cancel_failure = Some(message.to_string());
        self
    }

    /// Behave as a runner that runs each job to its end inside `submit`.
    pub fn running_in_submit(mut self) -> Fake {
        self.runs_in_submit = true;
        self
    }
}

impl Scheduler for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn submit_command(&self, job: &JobRequest) -> CommandLine {
        let mut argv = vec!["fake-submit".to_string()];
        for id in &job.after {
            argv.extend(["--after".to_string(), id.to_string()]);
        }
        argv.push(job.script.display().to_string());
        CommandLine {
            argv,
            cwd: job.workdir.clone(),
        }
    }

    fn submit(&mut self, job: &JobRequest) -> Result<Submitted> {
        self.submitted.push(job.clone());
        let command = self.submit_command(job);
        match self.replies.pop_front().unwrap_or(Reply::Accept) {
            Reply::Accept => {
                let id = JobId::single(self.next);
                self.next += 1;
                Ok(Submitted {
                    id,
                    name: super::program::file_name(&job.script),
                    command,
                })
            }
            Reply::Refuse(m) => Err(Error::Scheduler(format!("fake refused: {m}"))),
            Reply::TimeOut => Err(super::backend::may_be_queued(
                command::timed_out(&command, Duration::from_secs(120)),
                &super::program::file_name(&job.script),
                &job.script,
                "fake-queue",
                "fake-cancel ID",
            )),
        }
    }

    fn runs_in_submit(&self) -> bool {
        self.runs_in_submit
    }

    fn cancel_command(&self, ids: &[JobId]) -> CommandLine {
        let mut argv = vec!["fake-cancel".to_string()];
        argv.extend(ids.iter().map(|j| j.to_string()));
        CommandLine {
            argv,
            cwd: std::env::temp_dir(),
        }
    }

    fn cancel(&mut self, ids: &[JobId]) -> Result<()> {
        self.cancelled.push(ids.to_vec());
        match &self.cancel_failure {
            Some(m) => Err(Error::Scheduler(format!("fake cancel failed: {m}"))),
            None => Ok(()),
        }
    }

    fn queue(&mut self, ids: &[JobId]) -> Result<Vec<QueueEntry>> {
        self.queue_calls.push(ids.to_vec());
        Ok(self.queue.clone())
    }

    fn accounting(&mut self, ids: &[JobId]) -> Result<Vec<RunRecord>> {
        self.accounting_calls.push(ids.to_vec());
        Ok(self
            .records
            .iter()
            .filter(|r| ids.iter().any(|i| i.number == r.job))
            .cloned()
            .collect())
    }
}
