//! The Grid Engine back end: `qsub -terse` to submit, `qstat -xml` and `qacct -j`
//! to follow, `qdel` to undo, `qsub -w v` to check. Grid Engine's own formats live
//! in the files beside this one: its [`dialect`] (what hecjob writes for it and
//! checks in a config), `#$` directives read back ([`directives`]), job ids
//! ([`terse`]), queue ([`qstat`]) and accounting ([`qacct`]). Every client call goes through
//! [`command::run`], so each is bounded by a timeout.

pub mod dialect;
pub mod directives;
pub mod qacct;
pub mod qstat;
pub mod terse;

use crate::jobdir::job_id::JobId;
use crate::scheduler::backend::{
    may_be_queued, CommandLine, JobRequest, QueueEntry, RunRecord, Scheduler, Submitted, Verdict,
};
use crate::scheduler::command;
use crate::scheduler::program::file_name;
use crate::util::error::{Error, Result};
use directives::Directives;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// The error for a machine that is not a submit host.
pub fn not_a_submit_host(program: &str) -> Error {
    Error::Scheduler(format!(
        "`{program}` was not found on PATH: this machine is not a Grid Engine submit host \
         (on the HEC, run `switch-gpu` or `switch-cpu` on a login node first). \
         To see the exact commands without submitting, use `hecjob submit --dry-run`; \
         to run the scripts here without a scheduler, use `hecjob run --local`."
    ))
}

/// Resolve a Grid Engine client program or explain why it is missing.
pub fn client(program: &str) -> Result<PathBuf> {
    crate::scheduler::program::find_on_path(program).ok_or_else(|| not_a_submit_host(program))
}

/// The script's `#$` directives with the submission options applied on top,
/// as qsub combines them: a script or option qsub would reject fails here too.
pub fn request_directives(job: &JobRequest) -> Result<Directives> {
    let mut d = Directives::from_file(&job.script_path())?;
    d.apply_options(&job.options)
        .map_err(|e| Error::Usage(format!("submission options: {e}")))?;
    Ok(d)
}

/// The job's name as Grid Engine shows it: `-N` from the options or the
/// script, else the script's file name.
pub fn display_name(job: &JobRequest) -> String {
    let from_options = job
        .options
        .windows(2)
        .rev()
        .find(|w| w[0] == "-N")
        .map(|w| w[1].clone());
    from_options
        .or_else(|| {
            Directives::from_file(&job.script_path())
                .ok()
                .and_then(|d| d.name)
        })
        .unwrap_or_else(|| file_name(&job.script))
}

/// The `qsub` command line for a request: the one builder behind `submit`,
/// `submit --dry-run` and `render`'s printed chain.
pub fn qsub_command(job: &JobRequest) -> CommandLine {
    let mut argv = vec!["qsub".to_string(), "-terse".to_string()];
    if !job.after.is_empty() {
        argv.push("-hold_jid".into());
        argv.push(join_ids(&job.after, ","));
    }
    if job.verify {
        argv.extend(["-w".to_string(), "e".to_string()]);
    }
    job.command_line(argv)
}

/// How a user lists their own Grid Engine jobs (to find one whose submission
/// hecjob could not confirm).
pub const LIST_OWN_JOBS: &str = "qstat -u $USER";

/// `qdel ID…`.
pub fn qdel_command(ids: &[JobId]) -> CommandLine {
    let mut argv = vec!["qdel".to_string()];
    argv.extend(ids.iter().map(|j| j.to_string()));
    CommandLine::anywhere(argv)
}

fn join_ids(ids: &[JobId], sep: &str) -> String {
    ids.iter()
        .map(|j| j.to_string())
        .collect::<Vec<_>>()
        .join(sep)
}

/// Grid Engine through its clients on PATH (or given programs, for tests).
pub struct GridEngine {
    programs: Programs,
    timeout: Duration,
}

/// Where each client is: found on PATH when first needed, unless set.
#[derive(Debug, Clone, Default)]
pub struct Programs {
    pub qsub: Option<PathBuf>,
    pub qstat: Option<PathBuf>,
    pub qacct: Option<PathBuf>,
    pub qdel: Option<PathBuf>,
}

impl GridEngine {
    /// Fails with a clear message when `qsub` is not on PATH.
    pub fn new() -> Result<GridEngine> {
        Ok(GridEngine {
            programs: Programs {
                qsub: Some(client("qsub")?),
                ..Programs::default()
            },
            timeout: command::timeout_from_env()?,
        })
    }

    /// For following jobs only (`hecjob status`): no `qsub` needed.
    pub fn for_queries() -> Result<GridEngine> {
        Ok(GridEngine {
            programs: Programs::default(),
            timeout: command::timeout_from_env()?,
        })
    }

    /// Explicit client programs and timeout (stand-ins in tests).
    pub fn with_programs(programs: Programs, timeout: Duration) -> GridEngine {
        GridEngine { programs, timeout }
    }

    fn program(&self, set: &Option<PathBuf>, name: &str) -> Result<PathBuf> {
        match set {
            Some(p) => Ok(p.clone()),
            None => client(name),
        }
    }

    fn run(&self, program: &Path, cmd: &CommandLine) -> Result<Output> {
        command::run(program, cmd, self.timeout)
    }

    /// `qsub -w v`: would the job find a queue (ignoring the cluster's current
    /// load)? Submits nothing. Returns the command and the verdict: Grid
    /// Engine's words (`found suitable queue(s)`, or why no queue ever could),
    /// or why there is none (qsub was killed, or said nothing).
    pub fn verify(&self, job: &JobRequest) -> Result<(CommandLine, Verdict)> {
        let qsub = self.program(&self.programs.qsub, "qsub")?;
        let cmd = verify_command(job);
        let out = match command::run_query(&qsub, &cmd, self.timeout) {
            Ok(out) => out,
            Err(Error::Scheduler(e)) => return Ok((cmd, Verdict::Unknown(e))),
            Err(e) => return Err(e),
        };
        let verdict = verify_verdict(&cmd, &out);
        Ok((cmd, verdict))
    }
}

/// What `qsub -w v`'s answer says.
fn verify_verdict(cmd: &CommandLine, out: &Output) -> Verdict {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let words: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Exiting.")
        .collect();
    if out.status.success() && text.contains("found suitable queue") {
        Verdict::Runs("a suitable queue exists (qsub -w v)".into())
    } else if out.status.code().is_none() {
        Verdict::Unknown(format!(
            "`{}` ended with {} before it gave a verdict",
            cmd.shell(),
            command::describe_status(&out.status)
        ))
    } else if words.is_empty() {
        Verdict::Unknown(format!(
            "`{}` printed nothing ({})",
            cmd.shell(),
            command::describe_status(&out.status)
        ))
    } else {
        Verdict::Refused(words.join("; "))
    }
}

/// The `qsub -w v` line for a request: its options and script, no hold, no submission.
pub fn verify_command(job: &JobRequest) -> CommandLine {
    job.command_line(vec!["qsub".to_string(), "-w".to_string(), "v".to_string()])
}

impl Scheduler for GridEngine {
    fn name(&self) -> &'static str {
        "sge"
    }

    fn submit_command(&self, job: &JobRequest) -> CommandLine {
        qsub_command(job)
    }

    fn submit(&mut self, job: &JobRequest) -> Result<Submitted> {
        let qsub = self.program(&self.programs.qsub, "qsub")?;
        let cmd = qsub_command(job);
        // A qsub that timed out may have queued the job before it hung.
        let uncertain =
            |e| may_be_queued(e, &display_name(job), &job.script, LIST_OWN_JOBS, "qdel ID");
        let out = self.run(&qsub, &cmd).map_err(uncertain)?;
        if !out.status.success() {
            return Err(refusal(job, &out));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        // qsub exited 0: it queued something, whatever it printed.
        let id = terse::parse_terse(&stdout)
            .map_err(|e| {
                Error::Scheduler(format!(
                    "job {:?} ({}): {e}; qsub's stderr: {}",
                    display_name(job),
                    file_name(&job.script),
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            })
            .map_err(uncertain)?;
        // An id whose shape contradicts the job (a range for a job without
        // `-t`, none for an array job) comes from a broken or foreign qsub:
        // the job it queued is removed and the chain stops here.
        if let Some(array) = asks_for_tasks(job) {
            if array != id.tasks.is_some() {
                let n = id.number;
                let undo = match self.cancel(&[id]) {
                    Ok(()) => format!("removed job {n} (qdel) rather than track it wrongly"),
                    Err(e) => format!(
                        "job {n} is left queued but not tracked, and removing it failed ({e}): \
                         remove it by hand with `qdel {n}`"
                    ),
                };
                return Err(Error::Scheduler(format!(
                    "qsub answered {:?} for job {:?} ({}), which {}; {undo}",
                    stdout.trim(),
                    display_name(job),
                    file_name(&job.script),
                    if array {
                        "is an array job (`-t`) but got no task range"
                    } else {
                        "asks for no tasks (no `-t`) but got a task range"
                    },
                )));
            }
        }
        Ok(Submitted {
            id,
            name: display_name(job),
            command: cmd,
        })
    }

    fn cancel_command(&self, ids: &[JobId]) -> CommandLine {
        qdel_command(ids)
    }

    fn cancel(&mut self, ids: &[JobId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let qdel = self.program(&self.programs.qdel, "qdel")?;
        let cmd = self.cancel_command(ids);
        let out = self.run(&qdel, &cmd)?;
        if !out.status.success() {
            return Err(command::failed(
                &cmd,
                &out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
            ));
        }
        Ok(())
    }

    fn queue(&mut self, ids: &[JobId]) -> Result<Vec<QueueEntry>> {
        let qstat = self.program(&self.programs.qstat, "qstat")?;
        let snapshot = qstat::QstatSnapshot::query_with(&qstat, self.timeout)?;
        let wanted = |job: u64| ids.iter().any(|i| i.number == job);
        Ok(snapshot
            .entries
            .into_iter()
            .filter(|e| wanted(e.job))
            .map(qstat::QstatEntry::into_neutral)
            .collect())
    }

    fn check(&mut self, job: &JobRequest) -> Result<Verdict> {
        Ok(self.verify(job)?.1)
    }

    fn accounting(&mut self, ids: &[JobId]) -> Result<Vec<RunRecord>> {
        let qacct = self.program(&self.programs.qacct, "qacct")?;
        let mut records = Vec::new();
        // qacct -j takes one job: one call each, each bounded by the timeout.
        for id in ids {
            let acct = qacct::query_with(&qacct, id.number, self.timeout)?;
            records.extend(acct.iter().map(qacct::AcctRecord::to_neutral));
        }
        Ok(records)
    }
}

/// Whether the job asks for array tasks (`-t` in its options or its `#$`
/// lines); `None` when the script cannot be read here.
fn asks_for_tasks(job: &JobRequest) -> Option<bool> {
    if job.options.iter().any(|w| w == "-t") {
        return Some(true);
    }
    let text = std::fs::read_to_string(job.workdir.join(&job.script)).ok()?;
    Some(text.lines().any(|l| {
        l.strip_prefix("#$")
            .is_some_and(|rest| rest.split_whitespace().any(|w| w == "-t"))
    }))
}

/// Quote the scheduler's own words, with the job's name and a hint for the usual causes.
fn refusal(job: &JobRequest, out: &Output) -> Error {
    let mut msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.trim().is_empty() {
        msg = format!("{msg}\n{}", stdout.trim());
    }
    let msg = msg
        .lines()
        .filter(|l| l.trim() != "Exiting.")
        .collect::<Vec<_>>()
        .join("\n");
    let hint = if msg.contains("unknown resource") {
        "\nhint: this cluster does not define that resource (`qconf -sc` lists them); check the job's `-l` requests in the config"
    } else if msg.contains("no suitable queues") || msg.contains("unknown queue") {
        "\nhint: no queue can ever satisfy the job's `-q`/`-l` requests (`qconf -sql` lists queues, `qhost -F` capacities); on the HEC, run `switch-gpu` before submitting GPU jobs"
    } else {
        ""
    };
    Error::Scheduler(format!(
        "Grid Engine refused job {:?} ({}) with {}: {msg}{hint}",
        display_name(job),
        job.script.display(),
        command::describe_status(&out.status)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_with_holds_and_verification() {
        let job = JobRequest::new("train.com", "/run/jobs/x")
            .after(&[JobId::single(20), JobId::single(21)])
            .verified(true)
            .with_options(&["-N", "t"]);
        let c = qsub_command(&job);
        assert_eq!(
            c.argv,
            [
                "qsub",
                "-terse",
                "-hold_jid",
                "20,21",
                "-w",
                "e",
                "-N",
                "t",
                "train.com"
            ]
        );
        assert_eq!(c.shell(), "qsub -terse -hold_jid 20,21 -w e -N t train.com");
    }

    #[test]
    fn missing_qsub_points_to_alternatives() {
        let e = not_a_submit_host("qsub").to_string();
        assert!(e.contains("--dry-run") && e.contains("run --local"), "{e}");
    }
}
