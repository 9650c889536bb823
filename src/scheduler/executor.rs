//! The executor abstraction (in the style of hyperfine's `Executor` trait): one
//! interface to put a job script in front of Grid Engine, run it here, or only
//! record what would be run.

use super::sge::directives::Directives;
use super::job_id::JobId;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One job to submit.
#[derive(Debug, Clone)]
pub struct JobRequest {
    /// The job script (`.com` file).
    pub script: PathBuf,
    /// Directory the submission runs in: `-cwd` and relative `-o`/`-e` paths
    /// resolve against it.
    pub workdir: PathBuf,
    /// Extra submission options placed before the script (`-w e`, `-N name`, …).
    pub options: Vec<String>,
    /// Arguments passed to the script itself.
    pub args: Vec<String>,
    /// Jobs that must finish before this one starts (`-hold_jid`).
    pub hold: Vec<JobId>,
}

impl JobRequest {
    pub fn new(script: impl Into<PathBuf>, workdir: impl Into<PathBuf>) -> JobRequest {
        JobRequest {
            script: script.into(),
            workdir: workdir.into(),
            options: Vec::new(),
            args: Vec::new(),
            hold: Vec::new(),
        }
    }

    pub fn hold_on(mut self, ids: &[JobId]) -> JobRequest {
        self.hold.extend_from_slice(ids);
        self
    }

    pub fn with_options(mut self, options: &[&str]) -> JobRequest {
        self.options.extend(options.iter().map(|s| s.to_string()));
        self
    }

    /// The script's path as the submission sees it (a relative script is relative
    /// to `workdir`, where qsub runs).
    pub fn script_path(&self) -> PathBuf {
        self.workdir.join(&self.script)
    }

    /// The script's `#$` directives with the submission options applied on top,
    /// as qsub combines them: a script or option qsub would reject fails here too.
    pub fn directives(&self) -> Result<Directives> {
        let mut d = Directives::from_file(&self.script_path())?;
        d.apply_options(&self.options)
            .map_err(|e| Error::Usage(format!("submission options: {e}")))?;
        Ok(d)
    }

    /// The job's name as Grid Engine would show it: `-N` from the options or the
    /// script, else the script's file name.
    pub fn display_name(&self) -> String {
        let from_options = self
            .options
            .windows(2)
            .rev()
            .find(|w| w[0] == "-N")
            .map(|w| w[1].clone());
        from_options
            .or_else(|| {
                Directives::from_file(&self.script_path())
                    .ok()
                    .and_then(|d| d.name)
            })
            .unwrap_or_else(|| file_name(&self.script))
    }
}

pub(crate) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// An exact command line and the directory it ran in, as recorded in submission.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandLine {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
}

impl CommandLine {
    /// The command as one shell line (each word quoted when it needs it).
    pub fn shell(&self) -> String {
        self.argv
            .iter()
            .map(|a| crate::shell::quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Something that takes job scripts and gives back job ids.
pub trait Executor {
    /// Short name recorded in submission.json (`sge`, `local`, `dry-run`).
    fn name(&self) -> &'static str;

    /// Submit (or run, or record) one job; returns its id.
    fn submit(&mut self, job: &JobRequest) -> Result<JobId>;

    /// Whether `submit` runs the job to its end (the local executor): then a
    /// failed chain has nothing queued to undo.
    fn runs_in_submit(&self) -> bool {
        false
    }

    /// Remove jobs this executor submitted (used to undo a half-submitted chain).
    fn cancel(&mut self, ids: &[JobId]) -> Result<()>;

    /// The exact command lines run so far, in order.
    fn commands(&self) -> &[CommandLine];
}
