//! The on-disk contract: the job directory `render` writes and `submit`,
//! `status`, the worker and `report` read, and the task directory the worker
//! writes. Every file name is a named value here, and every JSON file is
//! written and read by the same type, so writer and readers cannot drift.
//!
//! ```text
//! jobs/<experiment>/            the job directory
//!   install.com download.com train.com   job scripts (JobKind::script)
//!   config.yaml                 the resolved config the tasks read
//!   tasks.tsv, tasks.json       the sweep's tasks (TasksFile)
//!   templates.json              the --templates directory it was rendered with, if any
//!   submission.json             what `hecjob submit` queued (SubmissionRecord)
//!   logs/                       the scheduler's -o/-e files
//!   rungs/                      early stopping: one record per task and rung (asha::store)
//! <output_dir>/<experiment>/task-N/   a task directory
//!   metrics.json                the worker's results (status: RunStatus)
//! ```

pub mod metrics;
pub mod progress;
pub mod written;

use crate::scheduler::submission::SubmittedJob;
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "config.yaml";
pub const TASKS_TSV: &str = "tasks.tsv";
pub const TASKS_FILE: &str = "tasks.json";
pub const TEMPLATES_FILE: &str = "templates.json";
pub const SUBMISSION_FILE: &str = "submission.json";
/// Early stopping's rung records, shared by the array's tasks (asha::store).
pub const RUNGS_DIR: &str = "rungs";
/// Where the scheduler writes `-o`/`-e` files, relative to the job directory.
pub const LOG_DIR: &str = "logs";
/// The worker's results inside a task directory.
pub const METRICS_FILE: &str = "metrics.json";

/// `task-N`: the task directory's name.
pub fn task_dir_name(task: u32) -> String {
    format!("task-{task}")
}

/// The task id of a `task-N` directory name.
pub fn parse_task_dir_name(name: &str) -> Option<u32> {
    name.strip_prefix("task-")?.parse().ok()
}

/// The stages of an experiment, in submission order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Install,
    Download,
    Train,
    /// Slurm with `cluster.notify`: a small job after the train array (afterany)
    /// that mails a one-line summary. Not one of the chained stages ([`JobKind::ALL`]).
    Notify,
}

impl JobKind {
    pub const ALL: [JobKind; 3] = [JobKind::Install, JobKind::Download, JobKind::Train];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Install => "install",
            JobKind::Download => "download",
            JobKind::Train => "train",
            JobKind::Notify => "notify",
        }
    }

    /// The script's file name in the job directory.
    pub fn script(self) -> &'static str {
        match self {
            JobKind::Install => "install.com",
            JobKind::Download => "download.com",
            JobKind::Train => "train.com",
            JobKind::Notify => "notify.com",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a training run stands, as metrics.json's `status` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Finished,
    /// Stopped at a rung of `sweep.early_stop` (its best epoch evaluated, exit 0).
    #[serde(rename = "stopped_early")]
    StoppedEarly,
    /// Stopped by a signal; resumes from its last checkpoint when run again.
    Interrupted,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::StoppedEarly => "stopped_early",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

/// `tasks.json`: the sweep's tasks and where each writes its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TasksFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    pub tasks: Vec<TaskEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEntry {
    pub id: u32,
    /// The swept keys and this task's values.
    #[serde(default)]
    pub swept: Map<String, Value>,
    /// As the config writes it: the storage root's variable unexpanded.
    pub output_dir: String,
}

impl TasksFile {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("tasks serialise");
        s.push('\n');
        s
    }

    pub fn read(path: &Path) -> Result<TasksFile> {
        let text = crate::util::fsutil::read_to_string(path, "reading tasks list")?;
        serde_json::from_str(&text).map_err(|e| Error::Data(format!("{}: {e}", path.display())))
    }
}

/// `templates.json`: the `--templates` directory a job directory was rendered
/// with, so `submit` and `run` render it again the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplatesRecord {
    pub templates: PathBuf,
}

impl TemplatesRecord {
    pub fn read(job_dir: &Path) -> Result<Option<TemplatesRecord>> {
        let path = job_dir.join(TEMPLATES_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text = crate::util::fsutil::read_to_string(&path, "reading templates record")?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))
    }

    /// Write the record, or remove a stale one when `templates` is `None`.
    pub fn write(job_dir: &Path, templates: Option<&Path>) -> Result<()> {
        let path = job_dir.join(TEMPLATES_FILE);
        match templates {
            Some(t) => {
                let rec = TemplatesRecord {
                    templates: t.to_path_buf(),
                };
                let json = serde_json::to_string_pretty(&rec).expect("record serialises");
                crate::util::fsutil::write_atomic(&path, format!("{json}\n").as_bytes())
            }
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::io("removing", &path, e))
                }
                _ => Ok(()),
            },
        }
    }
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
        if !file.exists() {
            return Err(Error::Usage(format!(
                "{} not found: `hecjob submit` writes it into the rendered job directory \
                 (jobs/<experiment>/); pass that directory",
                file.display()
            )));
        }
        let text = crate::util::fsutil::read_to_string(&file, "reading submission record")?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Data(format!("{}: not a submission record: {e}", file.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::{CommandLine, JobId};

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

    #[test]
    fn names_and_kinds() {
        assert_eq!(task_dir_name(12), "task-12");
        assert_eq!(parse_task_dir_name("task-12"), Some(12));
        assert_eq!(parse_task_dir_name("task-x"), None);
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for s in [
            RunStatus::Running,
            RunStatus::Finished,
            RunStatus::StoppedEarly,
            RunStatus::Interrupted,
            RunStatus::Failed,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
