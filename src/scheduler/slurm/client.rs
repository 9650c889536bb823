//! The Slurm back end: `sbatch --parsable` to submit (chained with
//! `--dependency=afterok:ID --kill-on-invalid-dep=yes`), one `squeue` and one `sacct`
//! call per status refresh for all jobs, `scancel` to undo. Every client call goes
//! through [`command::run`], bounded by a timeout.
//!
//! Decisions, and why:
//! * A failed job CANCELS the jobs chained after it (`--kill-on-invalid-dep=yes`)
//!   instead of leaving them pending forever with reason `DependencyNeverSatisfied`:
//!   unlike Grid Engine's error state, a failed Slurm job cannot be fixed and released,
//!   so held dependants could only ever be cancelled by hand. `hecjob status` says
//!   which earlier stage failed.
//! * `scancel` of an id Slurm does not know exits 0 silently; `scancel -v` prints
//!   `Invalid job id specified` for it. A rollback counts such an id as already gone
//!   (it ended), and fails on any other error.
//! * `squeue -t all`: jobs that ended within MinJobAge are listed with their final
//!   state. Those are NOT in [`Scheduler::queue`]'s answer (they are finished), but are
//!   kept: when `sacct` is unavailable (no slurmdbd), [`Scheduler::accounting`] answers
//!   from them (state only), and [`Slurm::accounting_note`] says so.
//! * `submit`'s `verify` adds nothing: Slurm refuses a request no node or partition can
//!   ever satisfy at submission (with `EnforcePartLimits`, as on the HEC); `hecjob check`
//!   asks `sbatch --test-only` for the verdict without submitting.

use super::directives::Directives;
use super::sacct::{self, AcctRun};
use super::sbatch::{self, TestOnly};
use super::squeue::{self, QueueEntry as SqueueEntry};
use super::state::JobState;
use crate::jobdir::job_id::{JobId, TaskRange};
use crate::scheduler::backend::{
    may_be_queued, CommandLine, JobRequest, QueueEntry, QueueState, RunOutcome, RunRecord,
    Scheduler, Submitted, Verdict,
};
use crate::scheduler::command;
use crate::util::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// The error for a machine without Slurm's clients.
pub fn not_a_submit_host(program: &str) -> Error {
    Error::Scheduler(format!(
        "`{program}` was not found on PATH: this machine is not a Slurm submit host \
         (run hecjob on the cluster's login node). To see the exact commands without \
         submitting, use `hecjob submit --dry-run`; to run the scripts here without a \
         scheduler, use `hecjob run --local`."
    ))
}

/// Resolve a Slurm client program or explain why it is missing.
pub fn client(program: &str) -> Result<PathBuf> {
    crate::scheduler::program::find_on_path(program).ok_or_else(|| not_a_submit_host(program))
}

/// The script's `#SBATCH` directives with the submission options on top.
pub fn request_directives(job: &JobRequest) -> Result<Directives> {
    let path = job.script_path();
    let text = crate::util::fsutil::read_to_string(&path, "reading job script")?;
    let mut d =
        Directives::parse(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    d.apply_options(&job.options)
        .map_err(|e| Error::Usage(format!("submission options: {e}")))?;
    Ok(d)
}

/// The job's name as Slurm shows it: `-J` from the options or the script, else the
/// script's file name (sbatch's own default).
pub fn display_name(job: &JobRequest) -> String {
    request_directives(job)
        .ok()
        .and_then(|d| d.name)
        .unwrap_or_else(|| crate::scheduler::program::file_name(&job.script))
}

fn join_ids(ids: &[JobId], sep: &str) -> String {
    ids.iter()
        .map(|j| j.number.to_string())
        .collect::<Vec<_>>()
        .join(sep)
}

/// The `sbatch` command line for a request: the one builder behind `submit`,
/// `submit --dry-run` and `render`'s printed chain.
pub fn sbatch_command(job: &JobRequest) -> CommandLine {
    let mut argv = vec!["sbatch".to_string(), "--parsable".to_string()];
    if !job.after.is_empty() && job.after_any {
        argv.push(format!(
            "--dependency=afterany:{}",
            join_ids(&job.after, ":")
        ));
    } else if !job.after.is_empty() {
        argv.push(format!(
            "--dependency=afterok:{}",
            join_ids(&job.after, ":")
        ));
        argv.push("--kill-on-invalid-dep=yes".into());
    }
    job.command_line(argv)
}

/// `sbatch --test-only` for a request: nothing is submitted.
pub fn test_only_command(job: &JobRequest) -> CommandLine {
    let mut cmd = sbatch_command(job);
    cmd.argv[1] = "--test-only".into();
    // A dependency on jobs that do not exist yet would be refused: leave it out.
    cmd.argv
        .retain(|a| !a.starts_with("--dependency=") && a != "--kill-on-invalid-dep=yes");
    cmd
}

/// How a user lists their own Slurm jobs (to find one whose submission hecjob
/// could not confirm).
pub const LIST_OWN_JOBS: &str = "squeue -u $USER";

/// `scancel -v ID…` (-v: an unknown id is reported, not silently ignored).
pub fn scancel_command(ids: &[JobId]) -> CommandLine {
    let mut argv = vec!["scancel".to_string(), "-v".to_string()];
    argv.extend(ids.iter().map(|j| j.number.to_string()));
    CommandLine::anywhere(argv)
}

/// Errors in `scancel -v` output other than "this id is unknown" (a job that ended).
pub fn scancel_errors(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split_once("error: ").map(|(_, e)| e.trim().to_string()))
        .filter(|e| !e.contains("Invalid job id specified"))
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct Programs {
    pub sbatch: Option<PathBuf>,
    pub squeue: Option<PathBuf>,
    pub sacct: Option<PathBuf>,
    pub scancel: Option<PathBuf>,
}

/// Slurm through its clients on PATH (or given programs, for tests).
pub struct Slurm {
    programs: Programs,
    timeout: Duration,
    /// Jobs the last squeue listed as ended (within MinJobAge): sacct's stand-in.
    ended: Vec<SqueueEntry>,
    note: Option<String>,
}

impl Slurm {
    /// Fails with a clear message when `sbatch` is not on PATH.
    pub fn new() -> Result<Slurm> {
        Ok(Slurm::with_programs(
            Programs {
                sbatch: Some(client("sbatch")?),
                ..Programs::default()
            },
            command::timeout_from_env()?,
        ))
    }

    /// For following jobs only (`hecjob status`): no `sbatch` needed.
    pub fn for_queries() -> Result<Slurm> {
        Ok(Slurm::with_programs(
            Programs::default(),
            command::timeout_from_env()?,
        ))
    }

    pub fn with_programs(programs: Programs, timeout: Duration) -> Slurm {
        Slurm {
            programs,
            timeout,
            ended: Vec::new(),
            note: None,
        }
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

    /// `sbatch --test-only`: would the job start, where and when, or why never.
    /// A client killed by a signal gave no verdict.
    pub fn test_only(&mut self, job: &JobRequest) -> Result<(CommandLine, TestOnly)> {
        let sbatch = self.program(&self.programs.sbatch, "sbatch")?;
        let cmd = test_only_command(job);
        let out = command::run_query(&sbatch, &cmd, self.timeout)?;
        if out.status.code().is_none() {
            let why = format!(
                "`{}` ended with {} before it gave a verdict",
                cmd.shell(),
                command::describe_status(&out.status)
            );
            return Ok((cmd, TestOnly::Unreadable { why }));
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((cmd, sbatch::parse_test_only(&text, out.status.success())))
    }
}

/// squeue's short code for a state, as `squeue` shows it by default.
fn short_code(s: &JobState) -> String {
    match s {
        JobState::Pending => "PD",
        JobState::Running => "R",
        JobState::Completing => "CG",
        JobState::Suspended => "S",
        JobState::Configuring => "CF",
        JobState::Requeued => "RQ",
        JobState::RequeueHold => "RH",
        JobState::RequeueFed => "RF",
        JobState::Stopped => "ST",
        JobState::Signaling => "SI",
        JobState::StageOut => "SO",
        JobState::Resizing => "RS",
        other => other.as_str(),
    }
    .to_string()
}

fn neutral_queue(e: &SqueueEntry) -> Option<QueueEntry> {
    let waits_on_dependency = matches!(
        e.reason.as_deref(),
        Some("Dependency" | "DependencyNeverSatisfied" | "JobHeldUser" | "JobHeldAdmin")
    );
    let state = match &e.state {
        s if s.is_final() => return None,
        JobState::RequeueHold => QueueState::Held,
        s if s.is_waiting() && waits_on_dependency => QueueState::Held,
        s if s.is_waiting() => QueueState::Pending,
        JobState::Suspended | JobState::Stopped => QueueState::Suspended,
        JobState::Completing | JobState::StageOut => QueueState::Deleting,
        _ => QueueState::Running,
    };
    Some(QueueEntry {
        job: e.job,
        tasks: e
            .task
            .map(|t| {
                vec![TaskRange {
                    first: t,
                    last: t,
                    step: 1,
                }]
            })
            .unwrap_or_default(),
        state,
        code: short_code(&e.state),
        reason: e.reason.clone(),
        name: e.name.clone(),
        queue: Some(e.partition.clone()).filter(|p| !p.is_empty()),
    })
}

/// Slurm's words for how a run ended, when it did not succeed.
fn failure(r: &AcctRun) -> Option<String> {
    if r.succeeded() || r.state == JobState::Requeued {
        return None;
    }
    Some(match (&r.state, r.exit_code, r.signal) {
        (JobState::Failed, code, 0) => format!("FAILED (exit status {code})"),
        (state, _, sig) if sig > 0 => format!("{} (signal {sig})", state.as_str()),
        (state, 0, _) => state.as_str().to_string(),
        (state, code, _) => format!("{} (exit status {code})", state.as_str()),
    })
}

fn neutral_run(r: &AcctRun, restarts_before: u32) -> RunRecord {
    let outcome = if r.state == JobState::Requeued {
        RunOutcome::Requeued
    } else if r.succeeded() {
        RunOutcome::Succeeded
    } else {
        RunOutcome::Failed
    };
    RunRecord {
        job: r.job,
        task: r.task,
        name: r.name.clone(),
        outcome,
        exit_status: Some(r.exit_code),
        failure: failure(r),
        wallclock_s: r.elapsed_s,
        cpu_s: r.total_cpu_s,
        max_rss_bytes: r.max_rss_bytes,
        maxvmem_bytes: None,
        restarts: Some(restarts_before),
        host: Some(r.nodes.clone()).filter(|n| !n.is_empty() && n != "None assigned"),
        queue: Some(r.partition.clone()).filter(|p| !p.is_empty()),
        start_time: r.start.as_ref().map(|t| t.0.clone()),
        end_time: r.end.as_ref().map(|t| t.0.clone()),
        cause: Some(r.state.stop_cause(r.exit_code)),
    }
}

/// Finished runs (and requeued ones) as neutral records, each with the number of
/// times its task had been requeued before it.
pub fn neutral_runs(runs: &[AcctRun]) -> Vec<RunRecord> {
    let mut out = Vec::new();
    let mut requeued: std::collections::HashMap<(u64, Option<u32>), u32> = Default::default();
    for r in runs {
        if !(r.state.is_final() || r.state == JobState::Requeued) {
            continue; // still pending or running: the queue speaks for it
        }
        let n = requeued.entry((r.job, r.task)).or_insert(0);
        out.push(neutral_run(r, *n));
        if r.state == JobState::Requeued {
            *n += 1;
        }
    }
    out
}

/// A record from squeue alone (no sacct): the final state, nothing measured.
fn run_from_queue(e: &SqueueEntry) -> RunRecord {
    let run = AcctRun {
        job: e.job,
        task: e.task,
        name: e.name.clone(),
        partition: e.partition.clone(),
        state: e.state.clone(),
        // squeue shows no exit code; NonZeroExitCode is its reason for a failure.
        exit_code: if e.state == JobState::Completed { 0 } else { 1 },
        signal: 0,
        elapsed_s: e.time_used_s,
        max_rss_bytes: None,
        total_cpu_s: None,
        submit: None,
        start: e.start.clone(),
        end: None,
        nodes: e.nodes.clone(),
    };
    let mut rec = neutral_run(&run, 0);
    rec.exit_status = None;
    rec.restarts = None;
    rec.failure = rec.failure.map(|_| {
        format!(
            "{}{}",
            e.state.as_str(),
            e.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )
    });
    rec
}

impl Scheduler for Slurm {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn submit_command(&self, job: &JobRequest) -> CommandLine {
        sbatch_command(job)
    }

    fn submit(&mut self, job: &JobRequest) -> Result<Submitted> {
        let sbatch = self.program(&self.programs.sbatch, "sbatch")?;
        // Read the script first: its name and array range are the job's id and name.
        let d = request_directives(job)?;
        let cmd = sbatch_command(job);
        let name = d
            .name
            .clone()
            .unwrap_or_else(|| crate::scheduler::program::file_name(&job.script));
        // An sbatch that timed out, or exited 0 without an id, may have queued the job.
        let uncertain = |e| may_be_queued(e, &name, &job.script, LIST_OWN_JOBS, "scancel ID");
        let out = self.run(&sbatch, &cmd).map_err(uncertain)?;
        if !out.status.success() {
            return Err(Error::Scheduler(format!(
                "Slurm refused job {name:?} ({}) with {}: {}",
                job.script.display(),
                command::describe_status(&out.status),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let number = sbatch::parse_parsable(&String::from_utf8_lossy(&out.stdout))
            .map_err(|e| Error::Scheduler(format!("job {name:?} ({}): {e}", job.script.display())))
            .map_err(uncertain)?;
        Ok(Submitted {
            id: JobId {
                number,
                tasks: d.tasks,
            },
            name,
            command: cmd,
        })
    }

    fn cancel_command(&self, ids: &[JobId]) -> CommandLine {
        scancel_command(ids)
    }

    fn cancel(&mut self, ids: &[JobId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let scancel = self.program(&self.programs.scancel, "scancel")?;
        let cmd = scancel_command(ids);
        let out = self.run(&scancel, &cmd)?;
        let errors = scancel_errors(&String::from_utf8_lossy(&out.stderr));
        if !out.status.success() || !errors.is_empty() {
            return Err(command::failed(&cmd, &out.status, &errors.join("; ")));
        }
        Ok(())
    }

    fn queue(&mut self, ids: &[JobId]) -> Result<Vec<QueueEntry>> {
        self.ended.clear();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let squeue = self.program(&self.programs.squeue, "squeue")?;
        let numbers: Vec<u64> = ids.iter().map(|i| i.number).collect();
        let mut argv = vec!["squeue".to_string()];
        argv.extend(squeue::args(&numbers));
        let cmd = CommandLine::anywhere(argv);
        let out = command::run_query(&squeue, &cmd, self.timeout)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            if squeue::is_unknown_ids(&stderr) {
                return Ok(Vec::new());
            }
            return Err(command::failed(&cmd, &out.status, stderr.trim()));
        }
        let entries = squeue::parse(&String::from_utf8_lossy(&out.stdout))?;
        let mut held = Vec::new();
        for e in entries {
            match neutral_queue(&e) {
                Some(q) => held.push(q),
                None => self.ended.push(e),
            }
        }
        Ok(held)
    }

    fn accounting(&mut self, ids: &[JobId]) -> Result<Vec<RunRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sacct = match self.program(&self.programs.sacct, "sacct") {
            Ok(p) => p,
            Err(_) => return Ok(self.without_sacct(ids, "sacct is not on PATH")),
        };
        let numbers: Vec<u64> = ids.iter().map(|i| i.number).collect();
        let mut argv = vec!["sacct".to_string()];
        argv.extend(sacct::args(&numbers));
        let cmd = CommandLine::anywhere(argv);
        let out = command::run_query(&sacct, &cmd, self.timeout)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            if sacct::is_unavailable(&stderr) {
                let why = stderr.lines().next().unwrap_or("").trim().to_string();
                return Ok(self.without_sacct(ids, &why));
            }
            return Err(command::failed(&cmd, &out.status, stderr.trim()));
        }
        self.note = None;
        Ok(neutral_runs(&sacct::parse(&String::from_utf8_lossy(
            &out.stdout,
        ))?))
    }

    fn accounting_note(&self) -> Option<String> {
        self.note.clone()
    }

    fn check(&mut self, job: &JobRequest) -> Result<Verdict> {
        let (_, t) = match self.test_only(job) {
            Ok(t) => t,
            Err(Error::Scheduler(e)) => return Ok(Verdict::Unknown(e)),
            Err(e) => return Err(e),
        };
        Ok(match t {
            TestOnly::WouldStart {
                start,
                nodes,
                partition,
                ..
            } => Verdict::Runs(format!(
                "would start{} on {nodes} in partition {partition}",
                start.map(|s| format!(" at {s}")).unwrap_or_default()
            )),
            TestOnly::Refused { reason } => Verdict::Refused(reason),
            TestOnly::Unreadable { why } => Verdict::Unknown(why),
        })
    }
}

impl Slurm {
    fn without_sacct(&mut self, ids: &[JobId], why: &str) -> Vec<RunRecord> {
        self.note = Some(format!(
            "Slurm accounting is not available here ({why}): finished jobs are shown as squeue \
             last listed them (for a few minutes after they end), without exit codes, run \
             times or memory; each task's metrics.json still says how training went"
        ));
        self.ended
            .iter()
            .filter(|e| ids.iter().any(|i| i.number == e.job))
            .map(run_from_queue)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// `hecjob check` on a Slurm whose sbatch answers with `body` (a bash script).
    fn check_with(body: &str) -> Verdict {
        let dir = tempfile::tempdir().unwrap();
        let sbatch = dir.path().join("sbatch");
        std::fs::write(&sbatch, format!("#!/bin/bash\n{body}\n")).unwrap();
        std::fs::set_permissions(&sbatch, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            dir.path().join("job.com"),
            "#!/bin/bash\n#SBATCH -J j\ntrue\n",
        )
        .unwrap();
        let mut slurm = Slurm::with_programs(
            Programs {
                sbatch: Some(sbatch),
                ..Programs::default()
            },
            Duration::from_secs(60),
        );
        slurm
            .check(&JobRequest::new("job.com", dir.path()))
            .unwrap()
    }

    /// Issue: a killed, silent or unreadable `sbatch --test-only` was read as
    /// "Slurm would never run this". It is no verdict at all.
    #[test]
    fn a_test_only_that_says_nothing_is_no_verdict() {
        assert_eq!(
            check_with("kill -KILL $$"),
            Verdict::Unknown(
                "`sbatch --test-only job.com` ended with killed by signal 9 before it gave a verdict"
                    .into()
            )
        );
        assert_eq!(
            check_with("exit 1"),
            Verdict::Unknown("sbatch --test-only printed nothing (it exited with an error)".into())
        );
        assert_eq!(
            check_with("echo 'Segmentation fault' >&2; exit 139"),
            Verdict::Unknown(
                "sbatch --test-only said neither where the job would start nor why it never \
                 could: \"Segmentation fault\""
                    .into()
            )
        );
        assert_eq!(
            check_with(
                "echo 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2\n\
                 echo 'allocation failure: Invalid partition name specified' >&2; exit 1"
            ),
            Verdict::Refused("Invalid partition name specified".into())
        );
    }
}
