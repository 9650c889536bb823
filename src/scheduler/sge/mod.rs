//! The Grid Engine back end: `qsub -terse` to submit, `qdel` to undo; the
//! Grid Engine formats (`#$` directives, `qstat -xml`, `qacct -j`) in the files beside it.

pub mod directives;
pub mod qacct;
pub mod qstat;

use crate::scheduler::executor::{file_name, CommandLine, Executor, JobRequest};
use crate::scheduler::job_id::{parse_terse, JobId};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Search PATH for an executable, as a shell would.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os(crate::env_vars::PATH)?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

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
    find_on_path(program).ok_or_else(|| not_a_submit_host(program))
}

pub struct GridEngine {
    qsub: PathBuf,
    commands: Vec<CommandLine>,
}

impl GridEngine {
    /// Fails with a clear message when `qsub` is not on PATH.
    pub fn new() -> Result<GridEngine> {
        Ok(GridEngine {
            qsub: client("qsub")?,
            commands: Vec::new(),
        })
    }

    /// The `qsub` command line for a request (also what the dry run records).
    pub fn command_line(job: &JobRequest) -> CommandLine {
        let mut argv = vec!["qsub".to_string(), "-terse".to_string()];
        if !job.hold.is_empty() {
            argv.push("-hold_jid".into());
            argv.push(
                job.hold
                    .iter()
                    .map(|j| j.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        argv.extend(job.options.iter().cloned());
        argv.push(job.script.display().to_string());
        argv.extend(job.args.iter().cloned());
        CommandLine {
            argv,
            cwd: job.workdir.clone(),
        }
    }
}

impl Executor for GridEngine {
    fn name(&self) -> &'static str {
        "sge"
    }

    fn submit(&mut self, job: &JobRequest) -> Result<JobId> {
        let cmd = GridEngine::command_line(job);
        let out = Command::new(&self.qsub)
            .args(&cmd.argv[1..])
            .current_dir(&cmd.cwd)
            .output()
            .map_err(|e| Error::io("running qsub", &self.qsub, e))?;
        self.commands.push(cmd);
        if !out.status.success() {
            return Err(refusal(job, &out));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        parse_terse(&stdout).map_err(|e| {
            Error::Scheduler(format!(
                "job {:?} ({}): {e}; qsub's stderr: {}",
                job.display_name(),
                file_name(&job.script),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        })
    }

    fn cancel(&mut self, ids: &[JobId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let qdel = client("qdel")?;
        let out = Command::new(&qdel)
            .args(ids.iter().map(|j| j.to_string()))
            .output()
            .map_err(|e| Error::io("running qdel", &qdel, e))?;
        if !out.status.success() {
            return Err(Error::Scheduler(format!(
                "qdel {} failed: {}",
                ids.iter()
                    .map(|j| j.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    fn commands(&self) -> &[CommandLine] {
        &self.commands
    }
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
        "Grid Engine refused job {:?} ({}) with exit status {}: {msg}{hint}",
        job.display_name(),
        job.script.display(),
        out.status.code().unwrap_or(-1)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_with_holds_and_options() {
        let job = JobRequest::new("train.com", "/run/jobs/x")
            .hold_on(&[JobId::single(20), JobId::single(21)])
            .with_options(&["-w", "e"]);
        let c = GridEngine::command_line(&job);
        assert_eq!(
            c.argv,
            [
                "qsub",
                "-terse",
                "-hold_jid",
                "20,21",
                "-w",
                "e",
                "train.com"
            ]
        );
        assert_eq!(c.shell(), "qsub -terse -hold_jid 20,21 -w e train.com");
    }

    #[test]
    fn missing_qsub_points_to_alternatives() {
        let e = not_a_submit_host("qsub").to_string();
        assert!(e.contains("--dry-run") && e.contains("run --local"), "{e}");
    }
}
