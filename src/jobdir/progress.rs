//! `progress.json`: the worker's live position, written atomically in the task
//! directory at every log step and at the end of each epoch, read by `status`
//! (which must not parse a growing metrics.json or the `.o` log to say where a
//! task is).
//!
//! The estimate of the time left is the attempt's own pace (seconds per step
//! since this attempt started, dev evaluations included once one ran) times
//! the steps left; a resumed attempt does not count the steps it inherited.

use super::read::{read_bounded, PROGRESS};
use crate::util::error::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FILE: &str = super::PROGRESS_FILE;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveProgress {
    pub epoch: u32,
    pub epochs: u32,
    /// Global optimizer steps done (1-based count, across epochs and attempts).
    pub step: u64,
    pub steps_total: u64,
    /// The mean training loss over the last log window.
    pub last_loss: Option<f64>,
    /// Dev macro-F1 of the last finished epoch.
    pub last_dev_f1: Option<f64>,
    /// Seconds since this attempt started.
    pub elapsed_seconds: f64,
    pub eta_seconds: Option<f64>,
    /// Unix time of this write, so a reader can tell a stale file.
    pub updated_unix: f64,
    pub phase: Phase,
}

/// What the worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Training,
    /// The epoch's steps are done; the dev set is being evaluated.
    Evaluating,
    /// The last epoch is done (the test evaluation and save may follow).
    Finished,
    /// Stopped at a rung of `sweep.early_stop` (the best epoch's test
    /// evaluation may follow); nothing is left to train.
    #[serde(rename = "stopped_early")]
    StoppedEarly,
}

/// Seconds left at the attempt's pace; `None` before the first step of the attempt.
pub fn eta(steps_this_attempt: u64, attempt_seconds: f64, steps_left: u64) -> Option<f64> {
    (steps_this_attempt > 0 && attempt_seconds > 0.0)
        .then(|| attempt_seconds / steps_this_attempt as f64 * steps_left as f64)
}

pub fn write(dir: &Path, p: &LiveProgress) -> Result<()> {
    let json = serde_json::to_string_pretty(p).expect("progress serializes");
    crate::util::fsutil::write_atomic(&dir.join(FILE), json.as_bytes())
}

/// `None` when the task has written no progress yet; an unreadable file (too
/// large, not a regular file, not a record) says why.
pub fn read(dir: &Path) -> Option<std::result::Result<LiveProgress, String>> {
    let path = dir.join(FILE);
    let text = match read_bounded(&path, PROGRESS) {
        Ok(Some(t)) => t,
        Ok(None) => return None,
        Err(e) => return Some(Err(e.to_string())),
    };
    Some(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())))
}

/// Whole seconds as `1 h 05 min`, `12 min`, `40 s`.
pub fn human_duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min", (s + 30) / 60)
    } else {
        format!("{s} s")
    }
}

impl LiveProgress {
    /// One line for `status`: `epoch 2/4, step 1200/5428, loss 0.0812, dev
    /// macro-F1 0.4312, about 12 min left (updated 40 s ago)`.
    pub fn summary(&self, now_unix: f64) -> String {
        let mut parts = vec![
            format!("epoch {}/{}", self.epoch, self.epochs),
            format!("step {}/{}", self.step, self.steps_total),
        ];
        if let Some(l) = self.last_loss {
            parts.push(format!("loss {l:.4}"));
        }
        if let Some(f) = self.last_dev_f1 {
            parts.push(format!("dev macro-F1 {f:.4}"));
        }
        if self.phase == Phase::Evaluating {
            parts.push("evaluating".into());
        }
        if self.phase == Phase::StoppedEarly {
            parts.push("stopped early".into());
        }
        if let Some(eta) = self.eta_seconds {
            parts.push(format!("about {} left", human_duration(eta)));
        }
        let age = now_unix - self.updated_unix;
        format!(
            "{} (updated {} ago)",
            parts.join(", "),
            human_duration(age.max(0.0))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_uses_this_attempts_pace() {
        assert_eq!(eta(0, 10.0, 100), None);
        assert_eq!(eta(50, 100.0, 25), Some(50.0));
    }

    #[test]
    fn round_trip_and_summary() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).is_none());
        let p = LiveProgress {
            epoch: 2,
            epochs: 4,
            step: 1200,
            steps_total: 5428,
            last_loss: Some(0.08123),
            last_dev_f1: Some(0.43121),
            elapsed_seconds: 600.0,
            eta_seconds: Some(725.0),
            updated_unix: 1000.0,
            phase: Phase::Training,
        };
        write(dir.path(), &p).unwrap();
        assert_eq!(read(dir.path()).unwrap().unwrap(), p);
        assert_eq!(
            p.summary(1040.0),
            "epoch 2/4, step 1200/5428, loss 0.0812, dev macro-F1 0.4312, about 12 min left (updated 40 s ago)"
        );
        std::fs::write(dir.path().join(FILE), "{").unwrap();
        assert!(read(dir.path())
            .unwrap()
            .unwrap_err()
            .contains("progress.json"));
    }

    #[test]
    fn a_progress_json_over_the_bound_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(dir.path().join(FILE)).unwrap();
        f.set_len(PROGRESS.limit + 1).unwrap();
        assert_eq!(
            read(dir.path()).unwrap().unwrap_err(),
            format!(
                "{}: 1048577 bytes is larger than a progress.json may be (1 MiB), so it is not \
                 one hecjob wrote: remove it",
                dir.path().join(FILE).display()
            )
        );
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(40.4), "40 s");
        assert_eq!(human_duration(725.0), "12 min");
        assert_eq!(human_duration(3900.0), "1 h 05 min");
    }
}
