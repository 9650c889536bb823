//! Job ids and array task ranges, scheduler-neutral: a job number and, for an
//! array job, its tasks as a range `first-last:step` (what `-t` and `--array` take).
//!
//! A [`TaskRange`] is valid however it was made: parsed from a script or a
//! scheduler's answer, or read back from `submission.json` (serde goes through
//! [`TaskRange::new`] too), so `first ≥ 1`, `last ≥ first` and `step ≥ 1` hold
//! everywhere. Ranges stay ranges: count them with [`TaskRange::count`], test
//! them with [`TaskRange::contains`]; whoever walks one task by task
//! ([`TaskRange::tasks`]) first checks it holds at most [`MAX_TASKS`]
//! ([`TaskRange::check_walkable`]).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The most tasks hecjob follows or runs one by one for one job: Slurm's
/// largest `MaxArraySize` is 4,000,001 and Grid Engine's `max_aj_tasks`
/// defaults to 75,000; a range past this is a corrupt record or a typo, and
/// would cost gigabytes to follow task by task.
pub const MAX_TASKS: u64 = 1_000_000;

/// An array job's task range `first-last:step` (Grid Engine's `-t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTaskRange")]
pub struct TaskRange {
    pub first: u32,
    pub last: u32,
    pub step: u32,
}

/// A task range as written on disk, before [`TaskRange::new`] checks it.
#[derive(Deserialize)]
struct RawTaskRange {
    first: u32,
    last: u32,
    step: u32,
}

impl TryFrom<RawTaskRange> for TaskRange {
    type Error = String;
    fn try_from(r: RawTaskRange) -> std::result::Result<TaskRange, String> {
        TaskRange::new(r.first, r.last, r.step)
    }
}

impl TaskRange {
    /// A checked range: the one way to make one from numbers read elsewhere.
    pub fn new(first: u32, last: u32, step: u32) -> std::result::Result<TaskRange, String> {
        let shown = format!("{first}-{last}:{step}");
        if first < 1 {
            return Err(format!("task range {shown}: tasks are numbered from 1"));
        }
        if last < first {
            return Err(format!(
                "task range {shown}: the last task is before the first"
            ));
        }
        if step < 1 {
            return Err(format!("task range {shown}: the step must be at least 1"));
        }
        Ok(TaskRange { first, last, step })
    }

    /// Ok when the range may be walked task by task: at most [`MAX_TASKS`].
    pub fn check_walkable(&self) -> std::result::Result<(), String> {
        if self.count() > MAX_TASKS {
            return Err(format!(
                "task range {self}: {} tasks, more than the {MAX_TASKS} hecjob follows one by one \
                 (no scheduler runs that many in one array)",
                self.count()
            ));
        }
        Ok(())
    }

    /// Parse `n`, `n-m` or `n-m:s` (the `-t` syntax and the tail of `qsub -terse`).
    pub fn parse(s: &str) -> Option<TaskRange> {
        TaskRange::parse_checked(s).ok()
    }

    /// [`TaskRange::parse`], saying what is wrong with a range that is not valid.
    pub fn parse_checked(s: &str) -> std::result::Result<TaskRange, String> {
        let bad = || format!("task range {s:?}: expected n, n-m or n-m:step");
        let s = s.trim();
        let (range, step) = match s.split_once(':') {
            Some((r, st)) => (r, st.parse().map_err(|_| bad())?),
            None => (s, 1),
        };
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
            None => {
                let n = range.parse().map_err(|_| bad())?;
                (n, n)
            }
        };
        TaskRange::new(first, last, step)
    }

    /// How many tasks the range holds, without walking it.
    pub fn count(&self) -> u64 {
        u64::from(self.last.saturating_sub(self.first)) / u64::from(self.step.max(1)) + 1
    }

    /// Whether `t` is one of the range's tasks.
    pub fn contains(&self, t: u32) -> bool {
        t >= self.first && t <= self.last && (t - self.first) % self.step == 0
    }

    pub fn tasks(&self) -> impl Iterator<Item = u32> {
        (self.first..=self.last).step_by(self.step as usize)
    }
}

impl fmt::Display for TaskRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}:{}", self.first, self.last, self.step)
    }
}

/// What a submission returned: the job number and, for an array job, its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobId {
    pub number: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<TaskRange>,
}

impl JobId {
    pub fn single(number: u64) -> JobId {
        JobId {
            number,
            tasks: None,
        }
    }
}

impl fmt::Display for JobId {
    /// The bare number: what `-hold_jid`, `qdel` and `qacct -j` take.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            TaskRange::parse("4"),
            Some(TaskRange {
                first: 4,
                last: 4,
                step: 1
            })
        );
        assert_eq!(TaskRange::parse("0-3"), None);
        assert_eq!(TaskRange::parse("5-3"), None);
        assert_eq!(TaskRange::parse("1-3:0"), None);
        assert_eq!(TaskRange::parse("1-5:2").unwrap().to_string(), "1-5:2");
        let r = TaskRange::parse("2-10:4").unwrap();
        assert!(r.contains(6) && r.contains(10) && !r.contains(7) && !r.contains(1));
        assert_eq!(r.count(), 3);
        assert_eq!(TaskRange::parse("1-1000000").unwrap().count(), MAX_TASKS);
        assert!(TaskRange::parse("1-1000000")
            .unwrap()
            .check_walkable()
            .is_ok());
        assert_eq!(
            TaskRange::parse("1-4294967295")
                .unwrap()
                .check_walkable()
                .unwrap_err(),
            "task range 1-4294967295:1: 4294967295 tasks, more than the 1000000 hecjob follows \
             one by one (no scheduler runs that many in one array)"
        );
        assert_eq!(
            TaskRange::parse_checked("0-3").unwrap_err(),
            "task range 0-3:1: tasks are numbered from 1"
        );
    }

    /// `submission.json` is read through the same checks as a parsed range: a
    /// step of 0 is an error, not a panic; a range of four billion tasks stays
    /// a range (status refuses to walk it).
    #[test]
    fn ranges_read_from_json_are_checked() {
        let read = |json: &str| serde_json::from_str::<JobId>(json).map_err(|e| e.to_string());
        assert_eq!(
            read(r#"{"number": 7, "tasks": {"first": 1, "last": 3, "step": 0}}"#).unwrap_err(),
            "task range 1-3:0: the step must be at least 1 at line 1 column 58"
        );
        let huge = read(r#"{"number": 7, "tasks": {"first": 1, "last": 4294967295, "step": 1}}"#);
        assert_eq!(huge.unwrap().tasks.unwrap().count(), 4_294_967_295);
        assert!(read(r#"{"number": 7, "tasks": {"first": 0, "last": 3, "step": 1}}"#).is_err());
        let ok = read(r#"{"number": 7, "tasks": {"first": 2, "last": 6, "step": 2}}"#).unwrap();
        assert_eq!(ok.tasks.unwrap().count(), 3);
    }
}
