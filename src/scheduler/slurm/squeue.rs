//! `squeue`: the jobs Slurm still holds, with why a pending one waits. One call per
//! status refresh serves every job of a run (`-j` takes a list).
//!
//! hecjob asks for `squeue -r -h -t all -j IDS -o FORMAT`:
//! * `-r`: one line per array task, pending ones included (else `29_[3-4%2]`);
//! * `-t all`: jobs that ended within the cluster's MinJobAge are listed too, with
//!   their final state (with `-j` alone they are not);
//! * squeue exits 1 with `Invalid job id specified` when it knows NONE of the ids
//!   (all ended long ago, or another cluster's): that is an empty answer, not an error;
//! * the job name is the last field, so a `|` in a name cannot shift the others.

use super::state::{JobState, TaskSpecs};
use super::time::{parse_duration_secs, parse_limit, parse_timestamp, Limit, Timestamp};
use crate::util::error::{Error, Result};
use serde::Serialize;

/// `%i|%F|%K|%T|%r|%P|%M|%l|%S|%N|%j`: id, array job id, array task id, state, reason,
/// partition, time used, time limit, (expected) start, nodes, name.
pub const FORMAT: &str = "%i|%F|%K|%T|%r|%P|%M|%l|%S|%N|%j";
const FIELDS: usize = 11;

/// The arguments (after `squeue`) of the one call a refresh makes.
pub fn args(job_ids: &[u64]) -> Vec<String> {
    let ids: Vec<String> = job_ids.iter().map(u64::to_string).collect();
    vec![
        "-r".into(),
        "-h".into(),
        "-t".into(),
        "all".into(),
        "-j".into(),
        ids.join(","),
        "-o".into(),
        FORMAT.into(),
    ]
}

/// squeue's answer when it knows none of the ids asked for (exit status 1).
pub fn is_unknown_ids(stderr: &str) -> bool {
    stderr.contains("Invalid job id specified")
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueEntry {
    /// The array job id (`%F`); a plain job's own id.
    pub job: u64,
    /// The array task id (`%K`); None for a plain job.
    pub task: Option<u32>,
    pub state: JobState,
    /// Why it waits (`Resources`, `Priority`, `Dependency`, `DependencyNeverSatisfied`,
    /// `JobArrayTaskLimit`, `BeginTime`, …) or why it ended (`NonZeroExitCode`); None
    /// for Slurm's `None`.
    pub reason: Option<String>,
    pub partition: String,
    /// Run time so far, seconds.
    pub time_used_s: Option<f64>,
    pub time_limit: Option<Limit>,
    /// Start time, or the expected one for a pending job when the scheduler has one.
    pub start: Option<Timestamp>,
    pub nodes: String,
    pub name: String,
}

/// Every line of `squeue -h -o FORMAT`; a line that does not fit is an error naming it.
pub fn parse(text: &str) -> Result<Vec<QueueEntry>> {
    let mut out = Vec::new();
    let mut specs = TaskSpecs::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |what: &str| {
            Error::Scheduler(format!(
                "squeue output line {}: {what} in {line:?} (expected the fields of -o '{FORMAT}')",
                i + 1
            ))
        };
        let f: Vec<&str> = line.splitn(FIELDS, '|').collect();
        if f.len() != FIELDS {
            return Err(bad(&format!("{} fields instead of {FIELDS}", f.len())));
        }
        let job: u64 = f[1].trim().parse().map_err(|_| bad("no array job id"))?;
        let tasks: Vec<Option<u32>> = match f[2].trim() {
            "N/A" | "" => vec![None],
            spec => specs
                .expand(spec)
                .map_err(|why| bad(&why))?
                .into_iter()
                .map(Some)
                .collect(),
        };
        let reason = match f[4].trim() {
            "None" | "" => None,
            r => Some(r.to_string()),
        };
        for task in tasks {
            out.push(QueueEntry {
                job,
                task,
                state: JobState::parse(f[3]),
                reason: reason.clone(),
                partition: f[5].trim().to_string(),
                time_used_s: parse_duration_secs(f[6]),
                time_limit: parse_limit(f[7]),
                start: parse_timestamp(f[8]),
                nodes: f[9].trim().to_string(),
                name: f[10].to_string(),
            });
        }
    }
    Ok(out)
}

/// Find a job's (or array task's) entry.
pub fn find(entries: &[QueueEntry], job: u64, task: Option<u32>) -> Option<&QueueEntry> {
    entries.iter().find(|e| e.job == job && e.task == task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::slurm::captured;

    #[test]
    fn every_reason_of_the_capture() {
        let q = parse(&captured("squeue.txt")).unwrap();
        assert_eq!(q.len(), 15);
        let reason = |job, task| find(&q, job, task).unwrap().reason.clone();
        // Array 29 (1-4%2): two tasks run, two wait for the cap.
        assert_eq!(find(&q, 29, Some(1)).unwrap().state, JobState::Running);
        assert_eq!(reason(29, Some(3)).as_deref(), Some("JobArrayTaskLimit"));
        assert_eq!(reason(29, Some(4)).as_deref(), Some("JobArrayTaskLimit"));
        assert_eq!(reason(30, None).as_deref(), Some("Resources"));
        assert_eq!(reason(31, None).as_deref(), Some("Priority"));
        assert_eq!(reason(34, None).as_deref(), Some("Dependency"));
        // afterok on a failed job: pending forever, or cancelled with --kill-on-invalid-dep.
        let never = find(&q, 32, None).unwrap();
        assert_eq!(
            (&never.state, never.reason.as_deref()),
            (&JobState::Pending, Some("DependencyNeverSatisfied"))
        );
        assert_eq!(find(&q, 33, None).unwrap().state, JobState::Cancelled);
        // Ended within MinJobAge: listed with its final state (-t all).
        let failed = find(&q, 28, None).unwrap();
        assert_eq!(
            (&failed.state, failed.reason.as_deref()),
            (&JobState::Failed, Some("NonZeroExitCode"))
        );
        // A reason with spaces and commas survives.
        assert!(reason(35, None)
            .unwrap()
            .starts_with("Nodes required for job are DOWN, DRAINED"));
        let gpu = find(&q, 35, None).unwrap();
        assert_eq!(gpu.partition, "gpu-short");
        assert_eq!(gpu.time_limit, Some(Limit::Seconds(12 * 3600)));
        assert_eq!(gpu.start, None, "N/A");
        let running = find(&q, 37, None).unwrap();
        assert_eq!(running.time_used_s, Some(3.0));
        assert_eq!(running.time_limit, Some(Limit::Seconds(60)));
        assert_eq!(running.nodes, "vm");
        assert_eq!(running.name, "timeout");
        assert_eq!(
            find(&q, 30, None).unwrap().time_limit,
            Some(Limit::Seconds(7 * 86400))
        );
    }

    #[test]
    fn unexpanded_array_and_bad_lines() {
        let q = parse("29_[3-4%2]|29|3-4%2|PENDING|JobArrayTaskLimit|serial|0:00|5:00|N/A||arr\n")
            .unwrap();
        assert_eq!(
            q.iter().map(|e| e.task).collect::<Vec<_>>(),
            vec![Some(3), Some(4)]
        );
        // A `|` in a job name stays in the name.
        let q = parse("7|7|N/A|RUNNING|None|serial|0:01|5:00|N/A|vm|a|b\n").unwrap();
        assert_eq!(q[0].name, "a|b");
        let e = parse("7|7|N/A|RUNNING\n").unwrap_err().to_string();
        assert!(
            e.contains("squeue output line 1: 4 fields instead of 11"),
            "{e}"
        );
        let e = parse("x|x|N/A|RUNNING|None|serial|0:01|5:00|N/A|vm|a\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no array job id"), "{e}");
    }

    #[test]
    fn unknown_ids_are_an_empty_answer() {
        let text = captured("squeue_unknown.txt");
        assert!(is_unknown_ids(&text));
        assert!(text.contains("rc=1"));
    }

    #[test]
    fn one_call_for_all_jobs() {
        let a = args(&[29, 30, 31]);
        assert_eq!(a[4..6], ["-j".to_string(), "29,30,31".to_string()]);
        assert!(a.contains(&"-r".to_string()) && a.contains(&FORMAT.to_string()));
    }
}
