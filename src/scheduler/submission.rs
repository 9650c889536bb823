//! Submitting a chain of jobs (install → download → train), each to start after
//! the one before succeeds. A chain is all or nothing: when one submission fails
//! (refused, or its command timed out), the jobs this chain already queued are
//! cancelled, and the error says what was removed, or what to remove by hand.

use super::backend::{JobRequest, Scheduler, Submitted};
use crate::jobdir::job_id::JobId;
use crate::util::error::{Error, Result};
use std::path::{Path, PathBuf};

/// One stage of the chain.
#[derive(Debug, Clone)]
pub struct StageJob {
    /// A label for messages and the record (`install`, `download`, `train`).
    pub stage: String,
    pub script: PathBuf,
    /// Ask the scheduler to refuse a job it could never run (see [`JobRequest::verify`]).
    pub verify: bool,
    /// Extra options in the scheduler's own syntax (before the script).
    pub options: Vec<String>,
    /// Start once the stage before has ended, however it ended (predict after
    /// the train array: a failed task leaves the others' models), instead of
    /// only after it succeeded.
    pub after_any: bool,
}

/// One job of a submitted chain: a record of submission.json (the on-disk contract).
pub use crate::jobdir::submission::SubmittedJob;

/// The requests the chain submits, in order, each after the previous job: the
/// ids of earlier jobs are known only once they are submitted, so this takes
/// them as `ids` (placeholders for a printed chain).
pub fn requests(job_dir: &Path, stages: &[StageJob], ids: &[JobId]) -> Vec<JobRequest> {
    stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let after = match i.checked_sub(1).and_then(|p| ids.get(p)) {
                Some(id) => vec![*id],
                None => Vec::new(),
            };
            let mut req = JobRequest::new(relative_script(job_dir, &stage.script), job_dir)
                .after(&after)
                .verified(stage.verify);
            req.after_any = stage.after_any;
            req.options = stage.options.clone();
            req
        })
        .collect()
}

fn relative_script(job_dir: &Path, script: &Path) -> PathBuf {
    script
        .strip_prefix(job_dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| script.to_path_buf())
}

/// Submit the stages in order, each after the previous one, from `job_dir`.
/// On a failure, cancels what this chain queued and returns the scheduler's message.
pub fn submit_chain(
    sched: &mut dyn Scheduler,
    job_dir: &Path,
    stages: &[StageJob],
) -> Result<Vec<SubmittedJob>> {
    let mut done: Vec<SubmittedJob> = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        let ids: Vec<JobId> = done.iter().map(|j| j.id).collect();
        let req = requests(job_dir, &stages[..=i], &ids).remove(i);
        // Read before submitting (the record pins what ran), and inside the
        // rollback: an unreadable script must not leave earlier jobs queued.
        let submitted = crate::util::digest::sha256_file(&stage.script)
            .and_then(|sha256| Ok((sha256, sched.submit(&req)?)))
            .and_then(|(sha256, s)| Ok((sha256, unrepeated(s, &stage.stage, &done)?)));
        match submitted {
            Ok((sha256, s)) => done.push(SubmittedJob {
                stage: stage.stage.clone(),
                name: s.name,
                script: req.script.clone(),
                sha256,
                id: s.id,
                hold: req.after.iter().map(|j| j.number).collect(),
                command: s.command,
                requests: None,
            }),
            Err(e) => return Err(roll_back(sched, &done, &stage.stage, e)),
        }
    }
    Ok(done)
}

/// Submit one more job after a submitted chain (Slurm's notify job, after the
/// train array however it ends): `req` carries its own dependency options. A
/// chain is still all or nothing: when this submission fails, the chain's jobs
/// are removed as for any stage, and the error says which, and whether this
/// job itself may be queued (a timeout; see [`super::backend::may_be_queued`]).
pub fn submit_after_chain(
    sched: &mut dyn Scheduler,
    stage: &str,
    req: &JobRequest,
    chain: &[SubmittedJob],
) -> Result<SubmittedJob> {
    let submitted = crate::util::digest::sha256_file(&req.script_path())
        .and_then(|sha256| Ok((sha256, sched.submit(req)?)))
        .and_then(|(sha256, s)| Ok((sha256, unrepeated(s, stage, chain)?)));
    match submitted {
        Ok((sha256, s)) => Ok(SubmittedJob {
            stage: stage.to_string(),
            name: s.name,
            script: req.script.clone(),
            sha256,
            id: s.id,
            hold: req.after.iter().map(|j| j.number).collect(),
            command: s.command,
            requests: None,
        }),
        Err(e) => Err(roll_back(sched, chain, stage, e)),
    }
}

/// `s`, unless the scheduler answered an id it already gave a job of this
/// chain: the job would wait on itself (or on the wrong job), and the record
/// could not tell the two apart. A wrapper that prints a fixed id does this.
fn unrepeated(s: Submitted, stage: &str, earlier: &[SubmittedJob]) -> Result<Submitted> {
    match earlier.iter().find(|j| j.id.number == s.id.number) {
        None => Ok(s),
        Some(j) => {
            Err(Error::Scheduler(format!(
            "the scheduler answered job id {} for {stage}, the id it gave {} already: a chain's \
             jobs each need their own id (is `{}` a wrapper that prints a fixed id?)",
            s.id.number,
            j.stage,
            s.command.argv.first().map_or("the submit command", String::as_str)
        )))
        }
    }
}

/// Undo a half-submitted chain and say what happened. The branches: nothing
/// was queued; the runner ran jobs to their end (nothing to undo); the earlier
/// jobs were cancelled; cancelling them failed too (the command to run by hand).
fn roll_back(sched: &mut dyn Scheduler, done: &[SubmittedJob], stage: &str, e: Error) -> Error {
    if sched.runs_in_submit() {
        return annotate(
            e,
            &format!("stopped at {stage}: the jobs after it were not run"),
            false,
        );
    }
    if done.is_empty() {
        return annotate(
            e,
            &format!("submitting {stage}: no earlier job of this submission was queued"),
            false,
        );
    }
    let list = done
        .iter()
        .map(|j| format!("{} (job {})", j.stage, j.id))
        .collect::<Vec<_>>()
        .join(", ");
    let ids: Vec<JobId> = done.iter().map(|j| j.id).collect();
    match sched.cancel(&ids) {
        Ok(()) => annotate(
            e,
            &format!(
                "submitting {stage}: removed the jobs this submission had already queued: {list}"
            ),
            true,
        ),
        Err(c) => annotate(
            e,
            &format!(
                "submitting {stage}: could not remove the jobs already queued ({list}): {c}; \
                 remove them with `{}`",
                sched.cancel_command(&ids).shell()
            ),
            true,
        ),
    }
}

/// Add the rollback's outcome to a scheduler error. Another error (a script
/// that cannot be read, a bad option) keeps its own kind and exit code while
/// nothing was queued; once jobs were, what became of them must be said.
fn annotate(e: Error, note: &str, queued: bool) -> Error {
    match e {
        Error::Scheduler(m) => Error::Scheduler(format!("{m}\n{note}")),
        other if queued => Error::Scheduler(format!("{other}\n{note}")),
        other => other,
    }
}

#[cfg(test)]
mod tests;
