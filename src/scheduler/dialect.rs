//! The dialect seam (in the style of submitit's `core`): everything hecjob says
//! to or reads from one scheduler that is not a run-time call of the
//! [`Scheduler`] trait. Each scheduler's folder (`sge/`, `slurm/`) provides one
//! [`Dialect`]; [`auto`](super::auto) is the one place that knows them all and
//! picks one by [`SchedulerKind`](super::auto::SchedulerKind). Nothing outside
//! `scheduler/` names a scheduler's folder: it asks the dialect.
//!
//! A dialect covers: the directive prefix and the rendering of hecjob's neutral
//! [`Request`] (queue, time, memory, GPUs, array, logs, warning signal, mail);
//! the checks of config values written in its syntax (queues, time limits,
//! `extra_directives`); its time and memory formats; the task-id variable; its
//! commands (submit, cancel, accounting, listing one's jobs); its accounting
//! words; its embedded templates; and opening its client for a [`Purpose`].

pub use super::backend::Verdict;
use super::backend::{CommandLine, JobRequest, Scheduler};
use super::words::AccountingWords;
use crate::jobdir::job_id::{JobId, TaskRange};
use crate::util::error::Result;
use std::path::Path;

/// hecjob's requests for one job, in neutral terms: sizes in bytes, times in
/// seconds. Every string was validated by the config (no quoting needed), except
/// `extra`, which passed the dialect's own [`Dialect::check_extra_directive`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// The job's name (`-N`, `-J`).
    pub name: String,
    /// The queue or partition.
    pub queue: String,
    /// The directory (relative to the job directory) the logs go in.
    pub log_dir: String,
    pub memory_bytes: Option<u64>,
    /// The hard wall-clock limit.
    pub time_s: Option<u64>,
    /// The soft limit: the warning signal's time (Grid Engine `s_rt`; Slurm
    /// `--signal` that many seconds before `time_s`).
    pub soft_time_s: Option<u64>,
    pub cpus: Option<u32>,
    pub gpus: u32,
    /// A GPU type, where the dialect has them ([`Dialect::gpu_types`]).
    pub gpu_type: Option<String>,
    /// Array tasks `1..=N` and the cap on how many run at once.
    pub array: Option<(u32, Option<u32>)>,
    /// Ask for the warning signal before the hard limit (and, where the
    /// scheduler needs it, for the task to be requeued).
    pub warn_before_limit: bool,
    /// Mail from the job itself, where the dialect does that ([`Dialect::mails_from_jobs`]).
    pub mail: Option<Mail>,
    /// The config's `extra_directives`, one directive line each, as written.
    pub extra: Vec<String>,
}

/// `cluster.notify`, for a dialect that mails from the jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub address: String,
    /// When to mail, in the config's order.
    pub on: Vec<MailOn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailOn {
    /// Every job's end, success or not.
    End,
    Fail,
}

/// What a client is opened for: its needs differ (a query needs no `qsub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Submit, cancel and check: fails at once when the submit client is missing.
    Submit,
    /// Follow jobs (queue and accounting) only.
    Query,
    /// Record the exact commands, submit nothing.
    DryRun,
    /// Run the scripts here with bash, one job after the other and up to
    /// `jobs` array tasks at once, with the environment the scheduler would give.
    Local { jobs: usize },
}

/// Everything hecjob writes in one scheduler's syntax, and reads back from it.
pub trait Dialect: Sync {
    /// The name a submission record holds (`sge`, `slurm`).
    fn name(&self) -> &'static str;
    /// The scheduler's name for people (`Grid Engine`, `Slurm`).
    fn display_name(&self) -> &'static str;

    // ---- job scripts ----
    /// What starts a directive line (`#$`, `#SBATCH`).
    fn directive_prefix(&self) -> &'static str;
    /// The directives (without the prefix) of a request, in a fixed order.
    fn directives(&self, r: &Request) -> Vec<String>;
    /// The variable holding an array task's id in a running job.
    fn task_id_var(&self) -> &'static str;
    /// The embedded templates: (file name, text).
    fn templates(&self) -> &'static [(&'static str, &'static str)];
    /// Where a `--templates DIR` keeps this scheduler's own templates: DIR
    /// itself (`None`) or a folder of it; the shared install and download
    /// templates are then also read from DIR itself.
    fn templates_subdir(&self) -> Option<&'static str>;
    /// Whether its array jobs mail (else hecjob adds a job after the array that does).
    fn mails_from_jobs(&self) -> bool;

    // ---- config values in its syntax ----
    /// A queue (partition) name as `cluster.*_queue` and `jobs.*.queue` give it.
    fn check_queue(&self, q: &str) -> std::result::Result<(), String>;
    /// One `extra_directives` entry (already one line); `array_job`: it goes on the
    /// train array. The message names the problem; the caller adds the key path.
    fn check_extra_directive(&self, d: &str, array_job: bool) -> std::result::Result<(), String>;
    /// Whether `s` is written as this scheduler writes a time limit (its value
    /// is checked apart: `9000:00:00` has the shape and is still a typo).
    fn is_time(&self, s: &str) -> bool;
    /// A time limit as this scheduler writes one, in seconds; None when it would not take it.
    fn parse_time(&self, s: &str) -> Option<u64>;
    /// The message for a time limit it would not take (`example`: a limit to suggest).
    fn time_expected(&self, example: &str, got: &str) -> String;
    /// Seconds as this scheduler's time limit.
    fn format_time(&self, secs: u64) -> String;
    /// Bytes as this scheduler's memory request.
    fn format_memory(&self, bytes: u64) -> String;
    /// Why a soft limit `soft_s` under the hard limit `hard_s` cannot be
    /// honoured here (Slurm signals at most 65535 s early), if it cannot.
    fn check_soft_limit(&self, soft: &str, hard: &str, soft_s: u64, hard_s: u64) -> Option<String>;
    /// Whether a job may ask for a GPU type (Slurm's GRES types).
    fn gpu_types(&self) -> bool;

    // ---- commands and words ----
    /// The exact submission command of a request (what submit runs and dry runs print).
    fn submit_command(&self, job: &JobRequest) -> CommandLine;
    /// The command that removes jobs.
    fn cancel_command(&self, ids: &[JobId]) -> CommandLine;
    /// Submission options that start a job once every one of `jobs` has
    /// ended, however each ended (the notify and retry jobs after train arrays).
    fn after_any(&self, jobs: &[u64]) -> Vec<String>;
    /// The accounting command for one job, for messages (`qacct -j 7`), with
    /// `program` standing for the client when given.
    fn accounting_command(&self, program: Option<&Path>, job: u64) -> String;
    /// How a user lists their own jobs (`qstat -u $USER`).
    fn list_own_jobs(&self) -> &'static str;
    /// How a user removes one (`qdel ID`).
    fn remove_one(&self) -> &'static str;
    /// Its accounting's names for the figures shown in neutral columns.
    fn words(&self) -> AccountingWords;

    /// The rendered train script `script` made to run again for `tasks`
    /// only, asking for `memory` bytes and `time` seconds where given: its
    /// own directive lines rewritten (so every other request stays exactly as
    /// rendered). Err names a directive the script lacks.
    fn resubmit_script(
        &self,
        script: &str,
        tasks: TaskRange,
        memory: Option<u64>,
        time: Option<u64>,
    ) -> std::result::Result<String, String>;
    /// A script's job name and array range as the scheduler reads them (so a
    /// dry run fails on a script the scheduler would refuse).
    fn inspect(&self, job: &JobRequest) -> Result<(String, Option<TaskRange>)>;
    /// What `submit --no-verify` means here, when it is not what it says.
    fn no_verify_note(&self) -> Option<&'static str> {
        None
    }

    // ---- clients ----
    /// Its client, for submitting or for queries ([`Purpose::DryRun`] and
    /// [`Purpose::Local`] are answered by [`auto::open`](super::auto::open) for
    /// every dialect alike).
    fn client(&self, purpose: Purpose) -> Result<Box<dyn Scheduler>>;
    /// Its client for queries, with `program` as its accounting client
    /// (`hecjob report --qacct PROGRAM`), where it has one to replace.
    fn accounting_client(&self, program: &Path) -> Result<Box<dyn Scheduler>>;
}

/// `script` with each line that starts with a prefix in `rewrites` replaced
/// by its new line; Err names a prefix no line has.
pub fn rewrite_directives(
    script: &str,
    rewrites: &[(&str, String)],
) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(script.len() + 64);
    let mut seen = vec![false; rewrites.len()];
    for line in script.lines() {
        match rewrites
            .iter()
            .position(|(prefix, _)| line.starts_with(prefix))
        {
            Some(i) => {
                out.push_str(&rewrites[i].1);
                seen[i] = true;
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    match seen.iter().position(|s| !s) {
        Some(i) => Err(format!(
            "the script has no `{}` line to rewrite",
            rewrites[i].0
        )),
        None => Ok(out),
    }
}

/// `first-last:step` (`first` alone for one task), as both schedulers write a range.
pub fn range_text(tasks: TaskRange) -> String {
    if tasks.first == tasks.last {
        tasks.first.to_string()
    } else if tasks.step == 1 {
        format!("{}-{}", tasks.first, tasks.last)
    } else {
        format!("{}-{}:{}", tasks.first, tasks.last, tasks.step)
    }
}
