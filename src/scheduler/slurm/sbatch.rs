//! What `sbatch` prints: the job id of `--parsable`, and the verdict of `--test-only`.
//!
//! * `--parsable` prints `ID` or, on a multi-cluster site, `ID;CLUSTER`, as the LAST
//!   line; warnings (`sbatch: warning: …`) may come before it. An array job's id is the
//!   array's (tasks are `ID_N`).
//! * `--test-only` submits nothing. On stderr it prints `sbatch: Job N to start at TIME
//!   using C processors on nodes NODES in partition P` when the job could run, and exits 1
//!   with `allocation failure: REASON` (sometimes after an `sbatch: error: …` line) when
//!   it never could (no such partition, GPU type, too many CPUs, too long a time).
//!   Anything else (nothing at all, or neither of those) is no verdict: the check
//!   failed, which is not the same as Slurm refusing the job.

use super::time::{parse_timestamp, Timestamp};
use crate::util::error::{Error, Result};
use serde::Serialize;

/// The job id from `sbatch --parsable`'s stdout.
pub fn parse_parsable(stdout: &str) -> Result<u64> {
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let id = last.split(';').next().unwrap_or("").trim();
    id.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
        Error::Scheduler(format!(
            "sbatch --parsable printed no job id (expected a number as its last line), got {:?}",
            stdout.trim()
        ))
    })
}

/// `sbatch --test-only`'s verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum TestOnly {
    WouldStart {
        start: Option<Timestamp>,
        processors: Option<u32>,
        nodes: String,
        partition: String,
    },
    Refused {
        /// Slurm's own words, e.g. `Requested node configuration is not available`.
        reason: String,
    },
    /// sbatch said neither (it printed nothing, or nothing hecjob can read): the
    /// check failed, and nothing is known about the job.
    Unreadable {
        /// What it printed, or that it printed nothing.
        why: String,
    },
}

/// Read `--test-only`'s output (stdout and stderr together) and exit status.
pub fn parse_test_only(output: &str, success: bool) -> TestOnly {
    if success {
        if let Some(line) = output.lines().find(|l| l.contains(" to start at ")) {
            let after = |key: &str| {
                line.split_once(key)
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .map(str::to_string)
            };
            return TestOnly::WouldStart {
                start: after(" to start at ").and_then(|t| parse_timestamp(&t)),
                processors: after(" using ").and_then(|n| n.parse().ok()),
                nodes: after(" on nodes ").unwrap_or_default(),
                partition: after(" in partition ").unwrap_or_default(),
            };
        }
    }
    // Slurm's reason: the `allocation failure:` text, else the last `error:` line.
    let failure = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("allocation failure:"))
        .or_else(|| {
            output
                .lines()
                .rev()
                .find_map(|l| l.split_once("error: ").map(|(_, r)| r))
        });
    match failure {
        Some(r) => TestOnly::Refused {
            reason: r.trim().to_string(),
        },
        None if output.trim().is_empty() => TestOnly::Unreadable {
            why: format!(
                "sbatch --test-only printed nothing (it exited {})",
                if success { "0" } else { "with an error" }
            ),
        },
        None => TestOnly::Unreadable {
            why: format!(
                "sbatch --test-only said neither where the job would start nor why it never \
                 could: {:?}",
                output.trim()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::slurm::captured;

    /// A capture's output and exit status (`rc=N` on its last line; none means 0).
    fn output(name: &str) -> (String, bool) {
        let text = captured(name);
        let rc = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("rc="))
            .unwrap_or("0");
        (text.clone(), rc == "0")
    }

    #[test]
    fn parsable_ids() {
        assert_eq!(
            parse_parsable(&captured("sbatch_parsable_array.txt")).unwrap(),
            29
        );
        assert_eq!(parse_parsable("42;hec\n").unwrap(), 42);
        assert_eq!(
            parse_parsable("sbatch: warning: something\n43\n").unwrap(),
            43
        );
        let e = parse_parsable("Submitted batch job 7\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("printed no job id"), "{e}");
        assert!(parse_parsable("").is_err());
    }

    #[test]
    fn test_only_would_start() {
        let (text, ok) = output("test_only_ok.txt");
        assert_eq!(
            parse_test_only(&text, ok),
            TestOnly::WouldStart {
                start: parse_timestamp("2026-11-29T19:16:53"),
                processors: Some(1),
                nodes: "vm".into(),
                partition: "gpu-short".into(),
            }
        );
    }

    #[test]
    fn test_only_refusals_carry_slurms_reason() {
        for (file, reason) in [
            (
                "test_only_gpu_type.txt",
                "Requested node configuration is not available",
            ),
            (
                "test_only_mem.txt",
                "Requested node configuration is not available",
            ),
            (
                "test_only_partition.txt",
                "Invalid partition name specified",
            ),
            (
                "test_only_cpus.txt",
                "More processors requested than permitted",
            ),
            (
                "test_only_time.txt",
                "Requested time limit is invalid (missing or exceeds some limit)",
            ),
        ] {
            let (text, ok) = output(file);
            assert!(!ok, "{file}");
            assert_eq!(
                parse_test_only(&text, ok),
                TestOnly::Refused {
                    reason: reason.into()
                },
                "{file}"
            );
        }
        assert_eq!(
            parse_test_only("", false),
            TestOnly::Unreadable {
                why: "sbatch --test-only printed nothing (it exited with an error)".into()
            }
        );
        assert_eq!(
            parse_test_only("sbatch: Job 3 queued\n", true),
            TestOnly::Unreadable {
                why: "sbatch --test-only said neither where the job would start nor why it never could: \"sbatch: Job 3 queued\"".into()
            }
        );
        assert_eq!(
            parse_test_only("sbatch: error: Unable to contact slurm controller\n", false),
            TestOnly::Refused {
                reason: "Unable to contact slurm controller".into()
            }
        );
    }
}
