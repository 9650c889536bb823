//! Early stopping in a report: for each rung, how many tasks reached it, how
//! many went on and where the cut fell; and the epochs (GPU time) the sweep
//! trained against a full run of the same points. Built from the tasks'
//! metrics.json (`rungs`, `stopped_early`), so it needs nothing but the task
//! directories.

use super::row::Row;
use crate::jobdir::metrics::RunMetrics;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RungRow {
    pub rung: u32,
    pub epoch: u32,
    /// Tasks that recorded a result at this rung.
    pub reached: usize,
    pub continued: usize,
    pub stopped: usize,
    /// The lowest metric that went on and the highest that stopped: the cut
    /// lies between (asynchronous, so they may overlap).
    pub lowest_continued: Option<f64>,
    pub highest_stopped: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EarlyStopSummary {
    pub rungs: Vec<RungRow>,
    pub stopped_tasks: usize,
    /// Epochs trained by every task, as recorded.
    pub epochs_trained: u64,
    /// Epochs the same points would train without early stopping (each task's
    /// `epochs`).
    pub epochs_full: u64,
    /// Seconds spent in training epochs (GPU time on a GPU job).
    pub seconds_trained: f64,
    /// The same at the sweep's mean seconds per epoch for `epochs_full`.
    pub seconds_full_estimate: f64,
}

impl EarlyStopSummary {
    /// The lowest metric that went on at rung `rung`, if any went on.
    pub fn lowest_continued_at(&self, rung: u32) -> Option<f64> {
        self.rungs
            .iter()
            .find(|r| r.rung == rung)
            .and_then(|r| r.lowest_continued)
    }
}

/// `None` when no task recorded a rung (no early stopping configured).
pub fn summarize(rows: &[Row], runs: &BTreeMap<u32, RunMetrics>) -> Option<EarlyStopSummary> {
    if runs.values().all(|m| m.rungs.is_empty()) {
        return None;
    }
    let mut by_rung: BTreeMap<(u32, u32), RungRow> = BTreeMap::new();
    for m in runs.values() {
        for d in &m.rungs {
            let r = by_rung.entry((d.rung, d.epoch)).or_insert(RungRow {
                rung: d.rung,
                epoch: d.epoch,
                reached: 0,
                continued: 0,
                stopped: 0,
                lowest_continued: None,
                highest_stopped: None,
            });
            r.reached += 1;
            let v = Some(d.value).filter(|v| v.is_finite());
            if d.continues {
                r.continued += 1;
                r.lowest_continued = min_opt(r.lowest_continued, v);
            } else {
                r.stopped += 1;
                r.highest_stopped = max_opt(r.highest_stopped, v);
            }
        }
    }
    let epochs_trained: u64 = rows.iter().map(|r| u64::from(r.epochs_done)).sum();
    let epochs_full: u64 = rows
        .iter()
        .map(|r| u64::from(r.epochs_planned.unwrap_or(r.epochs_done)))
        .sum();
    let seconds_trained: f64 = runs
        .values()
        .flat_map(|m| m.epochs.iter().map(|e| e.seconds))
        .sum();
    let per_epoch = seconds_trained / (epochs_trained.max(1) as f64);
    Some(EarlyStopSummary {
        rungs: by_rung.into_values().collect(),
        stopped_tasks: runs.values().filter(|m| m.stopped_early.is_some()).count(),
        epochs_trained,
        epochs_full,
        seconds_trained,
        seconds_full_estimate: per_epoch * epochs_full as f64,
    })
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// The summary for people: the epochs line, then one line per rung.
pub fn text(s: &EarlyStopSummary) -> String {
    let mut out = String::new();
    let share = 100.0 * s.epochs_trained as f64 / (s.epochs_full.max(1) as f64);
    let _ = writeln!(
        out,
        "early stopping (ASHA): {} task{} stopped early; {} epochs trained of {} for the same points without stopping ({share:.0} %); training time {} of about {} (h:mm:ss)",
        s.stopped_tasks,
        if s.stopped_tasks == 1 { "" } else { "s" },
        s.epochs_trained,
        s.epochs_full,
        crate::util::units::duration(s.seconds_trained),
        crate::util::units::duration(s.seconds_full_estimate)
    );
    for r in &s.rungs {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
        let _ = writeln!(
            out,
            "  rung {} (epoch {}): {} reached, {} went on, {} stopped; lowest that went on {}, highest stopped {}",
            r.rung,
            r.epoch,
            r.reached,
            r.continued,
            r.stopped,
            f(r.lowest_continued),
            f(r.highest_stopped)
        );
    }
    out
}
