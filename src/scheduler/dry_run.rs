//! The dry-run back end: records the exact submission commands, submits nothing.
//! Job ids are placeholders (1, 2, 3, …) so the dependency chain is visible.
//! It builds each command with the real back end's [`Dialect`], so what it
//! prints is byte for byte what a real submission runs.

use super::backend::{CommandLine, JobRequest, QueueEntry, RunRecord, Scheduler, Submitted};
use super::dialect::Dialect;
use crate::jobdir::job_id::JobId;
use crate::util::error::{Error, Result};

/// A dry run of one scheduler: its dialect builds each command and reads each
/// script (so a script it would reject fails here too).
pub struct DryRun {
    dialect: &'static dyn Dialect,
    next: u64,
}

impl DryRun {
    pub fn new(dialect: &'static dyn Dialect) -> DryRun {
        DryRun { dialect, next: 0 }
    }
}

impl Scheduler for DryRun {
    fn name(&self) -> &'static str {
        "dry-run"
    }

    fn submit_command(&self, job: &JobRequest) -> CommandLine {
        self.dialect.submit_command(job)
    }

    fn submit(&mut self, job: &JobRequest) -> Result<Submitted> {
        let (name, tasks) = self.dialect.inspect(job)?;
        self.next += 1;
        Ok(Submitted {
            id: JobId {
                number: self.next,
                tasks,
            },
            name,
            command: self.submit_command(job),
        })
    }

    fn cancel_command(&self, ids: &[JobId]) -> CommandLine {
        self.dialect.cancel_command(ids)
    }

    fn cancel(&mut self, _ids: &[JobId]) -> Result<()> {
        Ok(())
    }

    fn queue(&mut self, _ids: &[JobId]) -> Result<Vec<QueueEntry>> {
        Err(no_status(self.dialect.name()))
    }

    fn accounting(&mut self, _ids: &[JobId]) -> Result<Vec<RunRecord>> {
        Err(no_status(self.dialect.name()))
    }
}

fn no_status(of: &str) -> Error {
    Error::Usage(format!(
        "a dry run of `{of}` submitted nothing, so it has no status"
    ))
}
