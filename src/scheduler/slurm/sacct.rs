//! `sacct`: accounting of finished (and running) jobs, one record per run of each job
//! or array task, with its steps folded in. One call serves all jobs of a refresh.
//!
//! hecjob asks for `sacct --parsable2 -D -j IDS --format=FIELDS`:
//! * `--parsable2` prints a header line; columns are found by name, not position;
//! * `-D` (duplicates): a task that was requeued has one record per run, the earlier
//!   ones in state REQUEUED. Slurm 22.05 has no `Restarts` field (sacct refuses it);
//!   restarts are counted from these records;
//! * a job's steps (`29_1.batch`, `.extern`, `.0`) follow its line; MaxRSS lives on the
//!   steps (blank for steps shorter than one sampling interval), so a run's peak is the
//!   largest of its steps';
//! * the job line's State/ExitCode is the run's (a TIMEOUT run's batch step says
//!   CANCELLED 0:15); ExitCode is `exit:signal`;
//! * an array task that never started shows as `29_[3-4]`: expanded to one record per task;
//! * without slurmdbd sacct fails with "Slurm accounting storage is disabled":
//!   [`is_unavailable`] tells the caller to report from squeue and metrics.json alone.

use super::memory::parse_rss;
use super::state::{JobState, TaskSpecs};
use super::time::{parse_duration_secs, parse_timestamp, Timestamp};
use crate::util::error::{Error, Result};
use serde::Serialize;

/// The fields asked for; [`parse`] needs JobID, State and ExitCode, the rest are read
/// when present.
pub const FIELDS: &str =
    "JobID,JobIDRaw,JobName,Partition,State,ExitCode,Elapsed,MaxRSS,TotalCPU,Submit,Start,End,NodeList";

/// The arguments (after `sacct`) of the one call a refresh makes.
pub fn args(job_ids: &[u64]) -> Vec<String> {
    let ids: Vec<String> = job_ids.iter().map(u64::to_string).collect();
    vec![
        "--parsable2".into(),
        "-D".into(),
        "-j".into(),
        ids.join(","),
        format!("--format={FIELDS}"),
    ]
}

/// sacct's error on a cluster without accounting storage (no slurmdbd).
pub fn is_unavailable(stderr: &str) -> bool {
    stderr.contains("accounting storage is disabled")
        || stderr.contains("Unable to contact slurmdbd")
        || stderr.contains("Problem talking to the database")
}

/// One run of a job or array task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcctRun {
    /// The array job id (the part of JobID before `_`); a plain job's own id.
    pub job: u64,
    pub task: Option<u32>,
    pub name: String,
    pub partition: String,
    pub state: JobState,
    pub exit_code: i32,
    /// The signal that ended the job (the part after `:`), 0 if none.
    pub signal: i32,
    pub elapsed_s: Option<f64>,
    /// The largest MaxRSS of the run's steps, bytes; None when no step was sampled.
    pub max_rss_bytes: Option<u64>,
    pub total_cpu_s: Option<f64>,
    pub submit: Option<Timestamp>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub nodes: String,
}

impl AcctRun {
    pub fn succeeded(&self) -> bool {
        self.state == JobState::Completed && self.exit_code == 0
    }
}

/// `3:0` → (3, 0).
pub fn parse_exit_code(s: &str) -> Option<(i32, i32)> {
    let (code, sig) = s.trim().split_once(':')?;
    Some((code.parse().ok()?, sig.parse().ok()?))
}

/// `29_1.batch` → ("29", Some("1"), Some("batch")); `28` → ("28", None, None).
fn split_job_id(id: &str) -> (&str, Option<&str>, Option<&str>) {
    let (head, step) = match id.split_once('.') {
        Some((h, s)) => (h, Some(s)),
        None => (id, None),
    };
    match head.split_once('_') {
        Some((job, task)) => (job, Some(task), step),
        None => (head, None, step),
    }
}

pub fn parse(text: &str) -> Result<Vec<AcctRun>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let cols = Columns::new(header)?;
    let mut runs: Vec<AcctRun> = Vec::new();
    // Index in `runs` of the records the following step lines belong to.
    let mut current: Vec<usize> = Vec::new();
    let mut specs = TaskSpecs::new();
    for (i, line) in lines {
        let f: Vec<&str> = line.split('|').collect();
        let bad = |what: &str| {
            Error::Scheduler(format!("sacct output line {}: {what} in {line:?}", i + 1))
        };
        if f.len() != cols.names.len() {
            return Err(bad(&format!(
                "{} fields instead of {}",
                f.len(),
                cols.names.len()
            )));
        }
        let (job, task, step) = split_job_id(f[cols.id].trim());
        let rss = cols.get(&f, "MaxRSS").and_then(|s| parse_rss(&s));
        if step.is_some() {
            // A step: its peak memory counts for the run it belongs to.
            for &k in &current {
                let r = &mut runs[k];
                r.max_rss_bytes = match (r.max_rss_bytes, rss) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            continue;
        }
        let job: u64 = job.parse().map_err(|_| bad("no job id"))?;
        let tasks: Vec<Option<u32>> = match task {
            None => vec![None],
            Some(spec) => specs
                .expand(spec)
                .map_err(|why| bad(&why))?
                .into_iter()
                .map(Some)
                .collect(),
        };
        let (exit_code, signal) =
            parse_exit_code(f[cols.exit]).ok_or_else(|| bad("no exit code"))?;
        let run = cols.run(&f, job, exit_code, signal, rss);
        current.clear();
        for task in tasks {
            current.push(runs.len());
            runs.push(AcctRun {
                task,
                ..run.clone()
            });
        }
    }
    Ok(runs)
}

/// The columns of sacct's header, found by name; JobID, State and ExitCode
/// must be there.
struct Columns<'h> {
    names: Vec<&'h str>,
    id: usize,
    state: usize,
    exit: usize,
}

impl<'h> Columns<'h> {
    fn new(header: &'h str) -> Result<Columns<'h>> {
        let names: Vec<&str> = header.split('|').collect();
        let need = |name: &str| {
            names.iter().position(|c| *c == name).ok_or_else(|| {
                Error::Scheduler(format!(
                    "sacct output has no {name} column (header {header:?}); hecjob asks for --format={FIELDS}"
                ))
            })
        };
        let (id, state, exit) = (need("JobID")?, need("State")?, need("ExitCode")?);
        Ok(Columns {
            names,
            id,
            state,
            exit,
        })
    }

    /// The field `name` of a line (trimmed), when sacct printed that column.
    fn get(&self, f: &[&str], name: &str) -> Option<String> {
        let i = self.names.iter().position(|c| *c == name)?;
        f.get(i).map(|s| s.trim().to_string())
    }

    /// The record of a job line `f` (task `None`: the caller sets each task's).
    fn run(
        &self,
        f: &[&str],
        job: u64,
        exit_code: i32,
        signal: i32,
        max_rss_bytes: Option<u64>,
    ) -> AcctRun {
        let time = |name| self.get(f, name).and_then(|s| parse_timestamp(&s));
        let secs = |name| self.get(f, name).and_then(|s| parse_duration_secs(&s));
        AcctRun {
            job,
            task: None,
            name: self.get(f, "JobName").unwrap_or_default(),
            partition: self.get(f, "Partition").unwrap_or_default(),
            state: JobState::parse(f[self.state]),
            exit_code,
            signal,
            elapsed_s: secs("Elapsed"),
            max_rss_bytes,
            total_cpu_s: secs("TotalCPU"),
            submit: time("Submit"),
            start: time("Start"),
            end: time("End"),
            nodes: self.get(f, "NodeList").unwrap_or_default(),
        }
    }
}

/// The runs of one job or array task, in accounting order (earliest first).
pub fn runs_of(runs: &[AcctRun], job: u64, task: Option<u32>) -> Vec<&AcctRun> {
    runs.iter()
        .filter(|r| r.job == job && r.task == task)
        .collect()
}

/// How often a task was requeued: its runs that ended in REQUEUED.
pub fn restarts(runs: &[&AcctRun]) -> usize {
    runs.iter()
        .filter(|r| r.state == JobState::Requeued)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::slurm::captured;

    #[test]
    fn array_plain_and_ended_jobs() {
        let runs = parse(&captured("sacct.txt")).unwrap();
        let one = |job, task| {
            let r = runs_of(&runs, job, task);
            assert_eq!(r.len(), 1, "{job} {task:?}");
            r[0].clone()
        };
        for t in [1, 2, 4] {
            let r = one(29, Some(t));
            assert!(r.succeeded(), "{r:?}");
            assert_eq!(r.elapsed_s, Some(6.0));
            // The worker held a 60 MiB buffer: the batch step's MaxRSS shows it.
            assert!(r.max_rss_bytes.unwrap() > 60 << 20, "{r:?}");
        }
        let failed = one(29, Some(3));
        assert_eq!((&failed.state, failed.exit_code), (&JobState::Failed, 3));
        assert!(!failed.succeeded());
        // Tasks 3 and 4 waited for the cap: they started after 1 and 2 ended.
        assert!(one(29, Some(3)).start.unwrap() >= one(29, Some(1)).end.unwrap());
        let timeout = one(37, None);
        assert_eq!(
            (&timeout.state, timeout.exit_code, timeout.signal),
            (&JobState::Timeout, 0, 0)
        );
        assert_eq!(timeout.elapsed_s, Some(77.0));
        let cancelled = one(38, None);
        assert_eq!(cancelled.state, JobState::Cancelled);
        assert_eq!(cancelled.start, None, "never started: Start is None");
        assert_eq!(cancelled.max_rss_bytes, None);
        assert_eq!(one(28, None).exit_code, 1);
        // A zero-second job has no MaxRSS sample.
        assert_eq!(one(28, None).max_rss_bytes, None);
        let gpu = one(35, None);
        assert_eq!(
            (gpu.partition.as_str(), gpu.name.as_str()),
            ("gpu-short", "gpu")
        );
        assert_eq!(gpu.total_cpu_s, Some(0.003));
        assert_eq!(gpu.start.unwrap().0, "2026-11-29T07:18:18");
    }

    #[test]
    fn requeued_runs_count_as_restarts() {
        let runs = parse(&captured("sacct_requeue.txt")).unwrap();
        for t in [1, 2] {
            let r = runs_of(&runs, 36, Some(t));
            assert_eq!(r.len(), 2);
            assert_eq!(r[0].state, JobState::Requeued);
            assert!(r[1].succeeded());
            assert_eq!(restarts(&r), 1);
            assert!(
                r[0].max_rss_bytes.is_some(),
                "the first run's steps are its own"
            );
            // The second run started after the first ended (both known).
            assert!(r[1].start.as_ref().unwrap() >= r[0].end.as_ref().unwrap());
        }
    }

    #[test]
    fn pending_array_tasks_and_bad_input() {
        let text = "JobID|State|ExitCode\n29_[3-4]|PENDING|0:0\n";
        let runs = parse(text).unwrap();
        assert_eq!(
            runs.iter().map(|r| r.task).collect::<Vec<_>>(),
            vec![Some(3), Some(4)]
        );
        assert_eq!(parse("").unwrap(), vec![]);
        let e = parse("JobID|State\n1|FAILED\n").unwrap_err().to_string();
        assert!(e.contains("no ExitCode column"), "{e}");
        let e = parse("JobID|State|ExitCode\n1|FAILED\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sacct output line 2: 2 fields instead of 3"),
            "{e}"
        );
        let e = parse("JobID|State|ExitCode\n1|FAILED|x\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no exit code"), "{e}");
    }

    #[test]
    fn no_restarts_field_in_22_05() {
        assert!(captured("sacct_no_restarts_field.txt")
            .contains("Invalid field requested: \"Restarts\""));
        assert!(!FIELDS.contains("Restarts"));
        assert!(is_unavailable(
            "sacct: error: Slurm accounting storage is disabled"
        ));
    }
}
