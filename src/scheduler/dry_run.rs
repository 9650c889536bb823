//! The dry-run back end: records the exact `qsub` command lines, submits nothing.
//! Job ids are placeholders (1, 2, 3, …) so the `-hold_jid` chain is visible.

use super::executor::{CommandLine, Executor, JobRequest};
use super::job_id::JobId;
use super::sge::GridEngine;
use crate::error::Result;

#[derive(Default)]
pub struct DryRun {
    next: u64,
    commands: Vec<CommandLine>,
}

impl DryRun {
    pub fn new() -> DryRun {
        DryRun::default()
    }
}

impl Executor for DryRun {
    fn name(&self) -> &'static str {
        "dry-run"
    }

    fn submit(&mut self, job: &JobRequest) -> Result<JobId> {
        // Parse the directives anyway: a script qsub would reject fails here too.
        let d = job.directives()?;
        self.commands.push(GridEngine::command_line(job));
        self.next += 1;
        Ok(JobId {
            number: self.next,
            tasks: d.tasks,
        })
    }

    fn cancel(&mut self, _ids: &[JobId]) -> Result<()> {
        Ok(())
    }

    fn commands(&self) -> &[CommandLine] {
        &self.commands
    }
}
