//! Job ids and array task ranges, scheduler-neutral: a job number and, for an
//! array job, its tasks as a range `first-last:step` (what `-t` and `--array` take).

use serde::{Deserialize, Serialize};
use std::fmt;

/// An array job's task range `first-last:step` (Grid Engine's `-t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRange {
    pub first: u32,
    pub last: u32,
    pub step: u32,
}

impl TaskRange {
    /// Parse `n`, `n-m` or `n-m:s` (the `-t` syntax and the tail of `qsub -terse`).
    pub fn parse(s: &str) -> Option<TaskRange> {
        let s = s.trim();
        let (range, step) = match s.split_once(':') {
            Some((r, st)) => (r, st.parse().ok()?),
            None => (s, 1),
        };
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let n = range.parse().ok()?;
                (n, n)
            }
        };
        (first >= 1 && last >= first && step >= 1).then_some(TaskRange { first, last, step })
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
    }
}
