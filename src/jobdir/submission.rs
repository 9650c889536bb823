//! `submission.json`: what `hecjob submit` queued, and how: the jobs of the
//! chain with their ids (job_id.rs) and the exact command lines that queued them.

use super::job_id::JobId;
use super::read::{read_bounded, SUBMISSION};
use super::{JobKind, SUBMISSION_FILE};
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// An exact command line and the directory it ran in, as recorded in submission.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandLine {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
}

impl CommandLine {
    /// A client call that reads no relative path (a query, a cancel): it runs
    /// in the temp directory, so it works whatever the caller's directory is.
    pub fn anywhere(argv: Vec<String>) -> CommandLine {
        CommandLine {
            argv,
            cwd: std::env::temp_dir(),
        }
    }

    /// The command as one shell line (each word quoted when it needs it).
    pub fn shell(&self) -> String {
        self.argv
            .iter()
            .map(|a| crate::util::shell::quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One job of a submitted chain, as recorded in submission.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmittedJob {
    pub stage: String,
    pub name: String,
    /// The script as submitted (relative to the job directory when inside it).
    pub script: PathBuf,
    pub sha256: String,
    pub id: JobId,
    /// Job numbers this job started after.
    pub hold: Vec<u64>,
    pub command: CommandLine,
    /// What a resubmitted train job asked for (`hecjob resubmit` rewrote its
    /// directives); absent: the rendered script's requests, as the config says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<JobRequests>,
}

/// A train job's memory and wall-clock requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobRequests {
    pub memory_bytes: Option<u64>,
    pub time_s: Option<u64>,
}

/// `submission.json`: what `hecjob submit` queued, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionRecord {
    pub hecjob_version: String,
    /// The back end's name: `sge`, `dry-run` or `local`.
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

    /// The last job submitted for a stage.
    pub fn job(&self, kind: JobKind) -> Option<&SubmittedJob> {
        self.jobs.iter().rev().find(|j| j.stage == kind.as_str())
    }

    /// Write `submission.json` into the job directory, atomically.
    pub fn write(&self, job_dir: &Path) -> Result<PathBuf> {
        let path = job_dir.join(SUBMISSION_FILE);
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("serializing the submission record: {e}")))?;
        crate::util::fsutil::write_atomic(&path, format!("{json}\n").as_bytes())?;
        Ok(path)
    }

    /// Read a record from `submission.json` or from the directory holding it.
    pub fn load(path: &Path) -> Result<SubmissionRecord> {
        let file = if path.is_dir() {
            path.join(SUBMISSION_FILE)
        } else {
            path.to_path_buf()
        };
        let Some(text) = read_bounded(&file, SUBMISSION)? else {
            return Err(Error::Usage(format!(
                "{} not found: `hecjob submit` writes it into the rendered job directory \
                 (jobs/<experiment>/); pass that directory",
                file.display()
            )));
        };
        serde_json::from_str(&text)
            .map_err(|e| Error::Data(format!("{}: not a submission record: {e}", file.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_record_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let job = |stage: &str, n: u64| SubmittedJob {
            stage: stage.into(),
            name: format!("x-{stage}"),
            script: format!("{stage}.com").into(),
            sha256: "0".repeat(64),
            id: JobId::single(n),
            hold: vec![],
            command: CommandLine {
                argv: vec!["qsub".into()],
                cwd: dir.path().into(),
            },
            requests: None,
        };
        let rec = SubmissionRecord::new(
            "sge",
            None,
            dir.path(),
            vec![job("install", 1), job("train", 2), job("train", 3)],
        );
        rec.write(dir.path()).unwrap();
        let back = SubmissionRecord::load(dir.path()).unwrap();
        assert_eq!(back, rec);
        assert_eq!(back.job(JobKind::Train).unwrap().id.number, 3);
        assert!(back.job(JobKind::Download).is_none());
    }

    #[test]
    fn missing_record_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let e = SubmissionRecord::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("submission.json not found"), "{e}");
    }
}
