//! One summary row per sweep task, computed from its metrics.json (if any) and
//! the scheduler's accounting (qacct or sacct, if any); and the orderings `--sort` offers.

use super::accounting::Accounting;
use super::discover::Loaded;
use crate::jobdir::metrics::RunMetrics;
use crate::jobdir::RunStatus;
use crate::scheduler::words::{AccountingWords, GRID_ENGINE};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt;

/// The state a row shows. The first four come from metrics.json's `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Running,
    Finished,
    /// Stopped by `sweep.early_stop` at a rung; its best epoch was evaluated.
    StoppedEarly,
    Interrupted,
    Failed,
    /// Submitted, no metrics.json and no accounting record yet.
    Pending,
    /// No metrics.json although the task should have one (not submitted, or
    /// accounting says it ended, or its output_dir cannot be resolved).
    Missing,
    /// metrics.json exists but could not be parsed (an unknown status
    /// included); the row's note says why.
    Unreadable,
}

impl Status {
    fn from_metrics(s: RunStatus) -> Self {
        match s {
            RunStatus::Running => Status::Running,
            RunStatus::Finished => Status::Finished,
            RunStatus::StoppedEarly => Status::StoppedEarly,
            RunStatus::Interrupted => Status::Interrupted,
            RunStatus::Failed => Status::Failed,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Status::Running => "running",
            Status::Finished => "finished",
            Status::StoppedEarly => "stopped_early",
            Status::Interrupted => "interrupted",
            Status::Failed => "failed",
            Status::Pending => "pending",
            Status::Missing => "missing",
            Status::Unreadable => "unreadable",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub task: u32,
    /// The run's folder, for runs that are not sweep tasks (`hecjob report models/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether this is the best run of the sweep (see `Report::best`).
    pub best: bool,
    pub swept: Map<String, Value>,
    pub status: Status,
    /// Why the task failed, why metrics are unreadable or missing, etc.
    pub note: Option<String>,
    pub epochs_done: u32,
    /// The configured number of epochs, from the run's params.
    pub epochs_planned: Option<u32>,
    pub best_dev_f1: Option<f64>,
    pub best_dev_epoch: Option<u32>,
    pub test_precision: Option<f64>,
    pub test_recall: Option<f64>,
    pub test_f1: Option<f64>,
    /// Micro-averaged test F1 (runs from 0.4 on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_micro_f1: Option<f64>,
    /// Single-label runs: the share of test texts classified right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    pub seconds_per_epoch: Option<f64>,
    /// Peak GPU memory used by the training process (NVML), bytes.
    pub peak_gpu_bytes: Option<u64>,
    pub peak_rss_bytes: Option<u64>,
    /// The scheduler's peak memory (max over attempts), bytes: Grid Engine's
    /// maxvmem, or Slurm's MaxRSS (the report's `scheduler_peak_memory` says which).
    pub scheduler_peak_memory_bytes: Option<u64>,
    /// Grid Engine's ru_wallclock (summed over attempts), seconds.
    pub wallclock_seconds: Option<f64>,
    pub exit_status: Option<i64>,
    /// The rung decision that stopped the task (`sweep.early_stop`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<crate::jobdir::rungs::Decision>,
}

impl Row {
    /// How people name the row: the run's folder, else `task N`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("task {}", self.task),
        }
    }

    /// The row's key in tables: the folder name, else the task id.
    pub fn key(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.task.to_string())
    }

    /// A row from what was found on disk. `swept` is the task list's (jobs dir)
    /// or empty, in which case the run's own `swept` is used.
    pub fn new(
        task: u32,
        swept: Map<String, Value>,
        loaded: &Loaded,
        problem: Option<&str>,
        submitted: bool,
        acct: Option<&Accounting>,
        words: Option<&AccountingWords>,
    ) -> Row {
        let mut row = Row {
            task,
            name: None,
            best: false,
            swept,
            status: Status::Missing,
            note: problem.map(str::to_string),
            epochs_done: 0,
            epochs_planned: None,
            best_dev_f1: None,
            best_dev_epoch: None,
            test_precision: None,
            test_recall: None,
            test_f1: None,
            test_micro_f1: None,
            test_accuracy: None,
            seconds_per_epoch: None,
            peak_gpu_bytes: None,
            peak_rss_bytes: None,
            scheduler_peak_memory_bytes: acct
                .and_then(super::accounting::Accounting::peak_memory_bytes),
            wallclock_seconds: acct.and_then(|a| a.wallclock_seconds),
            exit_status: acct.and_then(|a| a.exit_status),
            stopped_early: None,
        };
        match loaded {
            Loaded::Metrics(m) => {
                row.fill_from(m);
                // A run that did not finish: the scheduler knows why it stopped
                // (its own record only says it was interrupted or failed).
                if let Some(stopped) = acct.and_then(Accounting::stopped) {
                    if matches!(row.status, Status::Interrupted | Status::Failed) {
                        row.note = Some(match row.note.take() {
                            Some(n) => format!("{stopped}; {n}"),
                            None => stopped,
                        });
                    }
                }
            }
            Loaded::Unreadable(reason) => {
                row.status = Status::Unreadable;
                row.note = Some(format!("metrics.json: {reason}"));
            }
            Loaded::Absent if problem.is_some() => {}
            Loaded::Absent => match acct {
                // Accounting has a record but there are no metrics: the job ran
                // and died before its first write (bad env, OOM at load, …).
                Some(a) => {
                    row.status = Status::Missing;
                    let w = words.copied().unwrap_or(GRID_ENGINE);
                    row.note = Some(format!(
                        "no metrics.json; {}: {} {}, {} {}{}",
                        w.scheduler,
                        w.exit_status,
                        a.exit_status.map_or("?".into(), |e| e.to_string()),
                        w.failure,
                        a.failed.as_deref().unwrap_or("?"),
                        a.stopped().map(|s| format!("; {s}")).unwrap_or_default()
                    ));
                }
                None if submitted => row.status = Status::Pending,
                None => {
                    row.status = Status::Missing;
                    row.note = Some("no metrics.json".into());
                }
            },
        }
        row
    }

    fn fill_from(&mut self, m: &RunMetrics) {
        self.status = Status::from_metrics(m.status);
        self.note = m.message.clone();
        if let Some(d) = &m.stopped_early {
            self.stopped_early = Some(d.clone());
            self.note = Some(format!(
                "stopped at rung {} (epoch {}): {} {:.4} ranked {} of {} recorded there, the top {} went on",
                d.rung, d.epoch, d.metric, d.value, d.rank, d.compared, d.kept
            ));
        }
        if self.swept.is_empty() {
            self.swept = m.swept.clone();
        }
        self.epochs_done = m.epochs.len() as u32;
        self.epochs_planned = m
            .params
            .get("epochs")
            .and_then(Value::as_u64)
            .map(|n| n as u32);
        if let Some((epoch, f1)) = best_dev(m) {
            self.best_dev_epoch = Some(epoch);
            self.best_dev_f1 = Some(f1);
        }
        if let Some(t) = &m.test {
            self.test_precision = Some(t.macro_avg.precision);
            self.test_recall = Some(t.macro_avg.recall);
            self.test_f1 = Some(t.macro_avg.f1);
            self.test_micro_f1 = t.micro_avg.map(|m| m.f1);
            self.test_accuracy = t.accuracy;
        }
        if !m.epochs.is_empty() {
            let total: f64 = m.epochs.iter().map(|e| e.seconds).sum();
            self.seconds_per_epoch = Some(total / m.epochs.len() as f64);
        }
        // The monitor updates the peaks with every sample it takes, kept or not.
        self.peak_gpu_bytes = m.memory.peak_gpu_process_used_bytes;
        self.peak_rss_bytes = m.memory.peak_rss_bytes;
    }
}

/// The epoch the run selected (`best_epoch`) with its dev macro-F1; when the run
/// has not chosen yet, the epoch with the highest dev macro-F1 (earliest on ties).
pub fn best_dev(m: &RunMetrics) -> Option<(u32, f64)> {
    let dev_f1 = |epoch: u32| {
        m.epochs
            .iter()
            .find(|e| e.epoch == epoch)
            .and_then(|e| e.dev.as_ref())
            .map(|d| d.macro_avg.f1)
    };
    if let Some(e) = m.best_epoch {
        if let Some(f) = dev_f1(e) {
            return Some((e, f));
        }
    }
    m.epochs
        .iter()
        .filter_map(|e| e.dev.as_ref().map(|d| (e.epoch, d.macro_avg.f1)))
        .fold(None, |best: Option<(u32, f64)>, (e, f)| match best {
            Some((_, bf)) if bf >= f => best,
            _ => Some((e, f)),
        })
}

/// What `--sort` orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[value(name = "test_f1", alias = "test-f1")]
    TestF1,
    #[value(name = "dev_f1", alias = "dev-f1")]
    DevF1,
    #[value(name = "test_precision", alias = "test-precision")]
    TestPrecision,
    #[value(name = "test_recall", alias = "test-recall")]
    TestRecall,
    #[value(name = "seconds_per_epoch", alias = "seconds-per-epoch")]
    SecondsPerEpoch,
    #[value(name = "peak_gpu", alias = "peak-gpu")]
    PeakGpu,
    #[value(name = "task")]
    Task,
}

impl SortKey {
    /// The name `--sort` takes.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::TestF1 => "test_f1",
            SortKey::DevF1 => "dev_f1",
            SortKey::TestPrecision => "test_precision",
            SortKey::TestRecall => "test_recall",
            SortKey::SecondsPerEpoch => "seconds_per_epoch",
            SortKey::PeakGpu => "peak_gpu",
            SortKey::Task => "task",
        }
    }

    fn value(self, r: &Row) -> Option<f64> {
        match self {
            SortKey::TestF1 => r.test_f1,
            SortKey::DevF1 => r.best_dev_f1,
            SortKey::TestPrecision => r.test_precision,
            SortKey::TestRecall => r.test_recall,
            SortKey::SecondsPerEpoch => r.seconds_per_epoch,
            SortKey::PeakGpu => r.peak_gpu_bytes.map(|b| b as f64),
            SortKey::Task => Some(f64::from(r.task)),
        }
    }

    /// Scores sort high first; costs (time, memory) and task ids low first.
    fn higher_first(self) -> bool {
        matches!(
            self,
            SortKey::TestF1 | SortKey::DevF1 | SortKey::TestPrecision | SortKey::TestRecall
        )
    }

    /// The score that picks the best run. Sorting by a cost or by task id does
    /// not change which run is best: that stays dev macro-F1 (choosing by the
    /// test set would bias the comparison with the paper that follows).
    pub fn best_by(self) -> SortKey {
        if self.higher_first() {
            self
        } else {
            SortKey::DevF1
        }
    }

    /// Order rows: rows without a value last, ties by task id.
    pub fn compare(self, a: &Row, b: &Row) -> Ordering {
        let by_value = match (self.value(a), self.value(b)) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                if self.higher_first() {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by_value.then(a.task.cmp(&b.task))
    }

    /// The best row under this key's `best_by` score, if any row has that score.
    /// The best run among those with a test evaluation (finished runs): a
    /// run still training may lead on dev but has nothing to set beside the
    /// paper yet. Falls back to every run with a value when none has finished.
    pub fn pick_best(self, rows: &[Row]) -> Option<u32> {
        let key = self.best_by();
        let best = |finished_only: bool| {
            rows.iter()
                .filter(|r| key.value(r).is_some() && (!finished_only || r.test_f1.is_some()))
                .min_by(|a, b| key.compare(a, b))
                .map(|r| r.task)
        };
        best(true).or_else(|| best(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::words::SLURM;

    /// A task that did not finish says why it stopped, attempt by attempt,
    /// from the scheduler's record; one that finished says nothing of it.
    #[test]
    fn an_unfinished_task_says_why_each_attempt_stopped() {
        use crate::scheduler::backend::StopCause;
        let acct = Accounting {
            exit_status: Some(0),
            attempts: vec![Some(StopCause::Requeued), Some(StopCause::TimeLimit)],
            ..Accounting::default()
        };
        let mut without = Row::new(
            3,
            Map::new(),
            &Loaded::Absent,
            None,
            true,
            Some(&acct),
            Some(&SLURM),
        );
        assert!(without
            .note
            .take()
            .unwrap()
            .ends_with("; stopped: time limit (attempts: requeued, then time limit)"));
        let finished = Accounting {
            attempts: vec![Some(StopCause::Requeued), Some(StopCause::Finished)],
            ..acct.clone()
        };
        assert_eq!(finished.stopped(), None);
        assert_eq!(Accounting::default().stopped(), None);
    }

    /// A Slurm task that ran but wrote no metrics is described in sacct's
    /// words, not Grid Engine's (`exit_status`, `failed`).
    #[test]
    fn a_task_without_metrics_is_described_in_its_schedulers_words() {
        let acct = Accounting {
            exit_status: Some(1),
            failed: Some("FAILED (exit status 1)".into()),
            ..Accounting::default()
        };
        let row = Row::new(
            3,
            Map::new(),
            &Loaded::Absent,
            None,
            true,
            Some(&acct),
            Some(&SLURM),
        );
        assert_eq!(
            row.note.as_deref(),
            Some("no metrics.json; Slurm: ExitCode 1, State FAILED (exit status 1)")
        );
    }
}
