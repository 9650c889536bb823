//! Submitting a chain of jobs (install → download → train), each held on the one
//! before, and the record of what was submitted (`submission.json`). A chain is
//! all or nothing: if one submission is refused, the jobs already queued are removed.

use super::executor::{CommandLine, Executor, JobRequest};
use super::job_id::JobId;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The record's file name inside the rendered job directory.
pub const RECORD_FILE: &str = "submission.json";

/// One stage of the chain.
#[derive(Debug, Clone)]
pub struct StageJob {
    /// `install`, `download`, `train`.
    pub stage: String,
    pub script: PathBuf,
    /// Extra qsub options (before the script).
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmittedJob {
    pub stage: String,
    pub name: String,
    /// The script as submitted (relative to the job directory when inside it).
    pub script: PathBuf,
    pub sha256: String,
    pub id: JobId,
    /// Job numbers this job was held on (`-hold_jid`).
    pub hold: Vec<u64>,
    pub command: CommandLine,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionRecord {
    pub hecjob_version: String,
    /// `sge`, `dry-run` or `local`.
    pub executor: String,
    pub submitted_at_unix: u64,
    /// The experiment config, resolved to an absolute path.
    pub config: Option<PathBuf>,
    pub job_dir: PathBuf,
    pub jobs: Vec<SubmittedJob>,
}

impl SubmissionRecord {
    pub fn new(
        executor: &str,
        config: Option<PathBuf>,
        job_dir: &Path,
        jobs: Vec<SubmittedJob>,
    ) -> Self {
        SubmissionRecord {
            hecjob_version: env!("CARGO_PKG_VERSION").to_string(),
            executor: executor.to_string(),
            submitted_at_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            config,
            job_dir: job_dir.to_path_buf(),
            jobs,
        }
    }

    /// Write `submission.json` into the job directory, atomically.
    pub fn write(&self, job_dir: &Path) -> Result<PathBuf> {
        let path = job_dir.join(RECORD_FILE);
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("serializing the submission record: {e}")))?;
        crate::fsutil::write_atomic(&path, format!("{json}\n").as_bytes())?;
        Ok(path)
    }

    /// Read a record from `submission.json` or from the directory holding it.
    pub fn load(path: &Path) -> Result<SubmissionRecord> {
        let file = if path.is_dir() {
            path.join(RECORD_FILE)
        } else {
            path.to_path_buf()
        };
        if !file.exists() {
            return Err(Error::Usage(format!(
                "{} not found: `hecjob submit` writes it into the rendered job directory \
                 (jobs/<experiment>/); pass that directory",
                file.display()
            )));
        }
        let text = crate::fsutil::read_to_string(&file, "reading submission record")?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Data(format!("{}: not a submission record: {e}", file.display())))
    }
}

/// Submit the stages in order, each held on the previous one, from `job_dir`.
/// On a refusal, removes what this chain queued and returns the scheduler's message.
pub fn submit_chain(
    exec: &mut dyn Executor,
    job_dir: &Path,
    stages: &[StageJob],
) -> Result<Vec<SubmittedJob>> {
    let mut done: Vec<SubmittedJob> = Vec::new();
    for stage in stages {
        let script = stage
            .script
            .strip_prefix(job_dir)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| stage.script.clone());
        let hold: Vec<JobId> = done.last().map(|j| vec![j.id]).unwrap_or_default();
        let mut req = JobRequest::new(script.clone(), job_dir).hold_on(&hold);
        req.options = stage.options.clone();
        let sha256 = crate::http::sha256_file(&stage.script)?;
        let name = req.display_name();
        match exec.submit(&req) {
            Ok(id) => {
                let command = exec
                    .commands()
                    .last()
                    .cloned()
                    .ok_or_else(|| Error::Internal("executor recorded no command".into()))?;
                done.push(SubmittedJob {
                    stage: stage.stage.clone(),
                    name,
                    script,
                    sha256,
                    id,
                    hold: hold.iter().map(|j| j.number).collect(),
                    command,
                });
            }
            Err(e) => return Err(roll_back(exec, &done, &stage.stage, e)),
        }
    }
    Ok(done)
}

fn roll_back(exec: &mut dyn Executor, done: &[SubmittedJob], stage: &str, e: Error) -> Error {
    if exec.runs_in_submit() {
        return annotate(
            e,
            &format!("stopped at {stage}: the jobs after it were not run"),
        );
    }
    if done.is_empty() {
        return annotate(e, &format!("submitting {stage}: nothing was queued"));
    }
    let list = done
        .iter()
        .map(|j| format!("{} (job {})", j.stage, j.id))
        .collect::<Vec<_>>()
        .join(", ");
    let ids: Vec<JobId> = done.iter().map(|j| j.id).collect();
    match exec.cancel(&ids) {
        Ok(()) => annotate(
            e,
            &format!(
                "submitting {stage}: removed the jobs this submission had already queued: {list}"
            ),
        ),
        Err(c) => annotate(
            e,
            &format!(
                "submitting {stage}: could not remove the jobs already queued ({list}): {c}; \
                 remove them with `qdel {}`",
                ids.iter()
                    .map(|j| j.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ),
    }
}

fn annotate(e: Error, note: &str) -> Error {
    match e {
        Error::Scheduler(m) => Error::Scheduler(format!("{m}\n{note}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::dry_run::DryRun;
    use crate::scheduler::executor::file_name;

    /// The stage name a rendered script stands for (`install.com` → `install`).
    fn stage_of(script: &Path) -> String {
        let n = file_name(script);
        n.strip_suffix(".com").unwrap_or(&n).to_string()
    }

    #[test]
    fn dry_run_chain_and_record_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |n: &str, body: &str| {
            let p = dir.path().join(n);
            std::fs::write(&p, body).unwrap();
            StageJob {
                stage: stage_of(&p),
                script: p,
                options: vec![],
            }
        };
        let stages = vec![
            mk("install.com", "#$ -N conda-install\n"),
            mk("download.com", "#$ -N download-model-data\n"),
            mk("train.com", "#$ -N run-transformer-model\n#$ -t 1-4\n"),
        ];
        let mut ex = DryRun::new();
        let jobs = submit_chain(&mut ex, dir.path(), &stages).unwrap();
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs[0].hold, Vec::<u64>::new());
        assert_eq!(jobs[2].hold, vec![jobs[1].id.number]);
        assert_eq!(jobs[2].name, "run-transformer-model");
        assert_eq!(jobs[2].id.tasks.unwrap().last, 4);
        assert_eq!(
            jobs[1].command.shell(),
            format!("qsub -terse -hold_jid {} download.com", jobs[0].id)
        );
        assert_eq!(jobs[0].sha256.len(), 64);
        let rec = SubmissionRecord::new("dry-run", None, dir.path(), jobs);
        rec.write(dir.path()).unwrap();
        assert_eq!(SubmissionRecord::load(dir.path()).unwrap(), rec);
    }

    #[test]
    fn missing_record_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let e = SubmissionRecord::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("submission.json not found"), "{e}");
    }
}
