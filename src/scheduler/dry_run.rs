//! The dry-run back end: records the exact submission commands, submits nothing.
//! Job ids are placeholders (1, 2, 3, …) so the dependency chain is visible.
//! It builds each command with the real back end's builder, so what it prints
//! is byte for byte what a real submission runs.

use super::backend::{CommandLine, JobRequest, QueueEntry, RunRecord, Scheduler, Submitted};
use crate::jobdir::job_id::{JobId, TaskRange};
use crate::util::error::{Error, Result};

/// A script's job name and array range, as the scheduler would read them.
pub type Inspect = fn(&JobRequest) -> Result<(String, Option<TaskRange>)>;

/// What a dry run needs from a real back end: its command builder, and how it
/// reads a script's name and array range (so a script it would reject fails here too).
pub struct Builder {
    pub name: &'static str,
    pub command: fn(&JobRequest) -> CommandLine,
    pub inspect: Inspect,
    pub cancel: fn(&[JobId]) -> CommandLine,
}

pub struct DryRun {
    builder: Builder,
    next: u64,
}

impl DryRun {
    pub fn new(builder: Builder) -> DryRun {
        DryRun { builder, next: 0 }
    }

    /// A dry run of Slurm's `sbatch`.
    pub fn slurm() -> DryRun {
        DryRun::new(super::slurm::client::dry_run_builder())
    }

    /// A dry run of Grid Engine's `qsub`.
    pub fn sge() -> DryRun {
        DryRun::new(super::sge::dry_run_builder())
    }
}

impl Scheduler for DryRun {
    fn name(&self) -> &'static str {
        "dry-run"
    }

    fn submit_command(&self, job: &JobRequest) -> CommandLine {
        (self.builder.command)(job)
    }

    fn submit(&mut self, job: &JobRequest) -> Result<Submitted> {
        let (name, tasks) = (self.builder.inspect)(job)?;
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
        (self.builder.cancel)(ids)
    }

    fn cancel(&mut self, _ids: &[JobId]) -> Result<()> {
        Ok(())
    }

    fn queue(&mut self, _ids: &[JobId]) -> Result<Vec<QueueEntry>> {
        Err(no_status(self.builder.name))
    }

    fn accounting(&mut self, _ids: &[JobId]) -> Result<Vec<RunRecord>> {
        Err(no_status(self.builder.name))
    }
}

fn no_status(of: &str) -> Error {
    Error::Usage(format!(
        "a dry run of `{of}` submitted nothing, so it has no status"
    ))
}
