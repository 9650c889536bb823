//! Job ids as `qsub -terse` prints them: `20`, or `9.1-3:1` for an array job.

use crate::jobdir::job_id::{JobId, TaskRange};
use crate::util::error::{Error, Result};

/// Parse `qsub -terse` stdout. Grid Engine may print warnings on earlier lines, so
/// the id is the last line that parses as one; the number is the part before the
/// first `.`, the array range (if any) the part after it.
pub fn parse_terse(stdout: &str) -> Result<JobId> {
    stdout
        .lines()
        .rev()
        .find_map(parse_terse_line)
        .ok_or_else(|| {
            Error::Scheduler(format!(
                "could not find a job id in qsub's output (expected `20` or `9.1-3:1`): {:?}",
                stdout.trim()
            ))
        })
}

fn parse_terse_line(line: &str) -> Option<JobId> {
    let line = line.trim();
    let (num, rest) = match line.split_once('.') {
        Some((n, r)) => (n, Some(r)),
        None => (line, None),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Grid Engine numbers jobs from 1: a 0 is not an id (and `qdel 0` or
    // `-hold_jid 0` would mean something else).
    let number = num.parse().ok().filter(|&n: &u64| n > 0)?;
    let tasks = match rest {
        Some(r) => Some(TaskRange::parse(r)?),
        None => None,
    };
    Some(JobId { number, tasks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_array_ids() {
        assert_eq!(parse_terse("20\n").unwrap(), JobId::single(20));
        let a = parse_terse("9.1-3:1\n").unwrap();
        assert_eq!(a.number, 9);
        assert_eq!(
            a.tasks,
            Some(TaskRange {
                first: 1,
                last: 3,
                step: 1
            })
        );
        assert_eq!(a.to_string(), "9");
        assert_eq!(a.tasks.unwrap().tasks().collect::<Vec<_>>(), vec![1, 2, 3]);
    }

    #[test]
    fn warnings_before_the_id() {
        let out =
            "warning: no suitable queues right now\nWARNING: something 12 else\n  431.2-10:4 \n";
        let id = parse_terse(out).unwrap();
        assert_eq!(id.number, 431);
        assert_eq!(
            id.tasks.unwrap().tasks().collect::<Vec<_>>(),
            vec![2, 6, 10]
        );
    }

    #[test]
    fn job_id_zero_is_not_an_id() {
        let e = parse_terse("0\n").unwrap_err();
        assert!(e.to_string().contains("could not find a job id"), "{e}");
        assert!(parse_terse("0.1-3:1\n").is_err());
    }

    #[test]
    fn no_id_is_an_error() {
        let e = parse_terse("Your job has been submitted\n").unwrap_err();
        assert!(e.to_string().contains("could not find a job id"), "{e}");
        assert!(parse_terse("").is_err());
    }
}
