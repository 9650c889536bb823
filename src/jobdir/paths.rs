//! The names of the contract: files and folders of a job directory and of a
//! task directory, and the stages whose scripts a job directory holds.

use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "config.yaml";
pub const TASKS_TSV: &str = "tasks.tsv";
pub const TASKS_FILE: &str = "tasks.json";
pub const TEMPLATES_FILE: &str = "templates.json";
pub const SUBMISSION_FILE: &str = "submission.json";
/// Early stopping's rung records, shared by the array's tasks (rungs.rs).
pub const RUNGS_DIR: &str = "rungs";
/// Where the scheduler writes `-o`/`-e` files, relative to the job directory.
pub const LOG_DIR: &str = "logs";
/// The worker's results inside a task directory.
pub const METRICS_FILE: &str = "metrics.json";

/// `task-N`: the task directory's name.
/// The job directory of a job's config.yaml: the folder holding it, which
/// every task of the array shares (rung records, the data record, the token
/// cache). A bare `config.yaml` is in the current directory.
pub fn job_dir_of_config(config: &std::path::Path) -> std::path::PathBuf {
    match config.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

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
    /// `submit --retries N`: a small job after the train array (any ending)
    /// that runs `hecjob resubmit` for one round and queues the next. Not chained.
    Retry,
    /// The `predict:` section: an array job, one task per shard of the inputs.
    Predict,
    /// After the predict array: concatenates the shards and checks them.
    Merge,
}

impl JobKind {
    pub const ALL: [JobKind; 5] = [
        JobKind::Install,
        JobKind::Download,
        JobKind::Train,
        JobKind::Predict,
        JobKind::Merge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Install => "install",
            JobKind::Download => "download",
            JobKind::Train => "train",
            JobKind::Notify => "notify",
            JobKind::Retry => "retry",
            JobKind::Predict => "predict",
            JobKind::Merge => "merge",
        }
    }

    /// The script's file name in the job directory.
    pub fn script(self) -> &'static str {
        match self {
            JobKind::Install => "install.com",
            JobKind::Download => "download.com",
            JobKind::Train => "train.com",
            JobKind::Notify => "notify.com",
            JobKind::Retry => "retry.com",
            JobKind::Predict => "predict.com",
            JobKind::Merge => "merge.com",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The worker's live position inside a task directory (progress.rs).
pub const PROGRESS_FILE: &str = "progress.json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_kinds() {
        assert_eq!(task_dir_name(12), "task-12");
        assert_eq!(parse_task_dir_name("task-12"), Some(12));
        assert_eq!(parse_task_dir_name("task-x"), None);
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
