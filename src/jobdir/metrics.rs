//! Multi-label classification metrics (Table 4: per-label precision/recall/F1 at
//! a threshold, macro average) and the `metrics.json` record a training run writes.
//!
//! Conventions follow scikit-learn's `zero_division=0`: a label with no predicted
//! positives has precision 0, one with no gold positives has recall 0, and F1 is 0
//! when precision + recall is 0. The macro average is the unweighted mean over all
//! labels (as the paper's macro row is the column mean).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold positives for this label.
    pub support: u64,
    /// The threshold used for this label.
    pub threshold: f64,
}

impl LabelScore {
    pub fn scores(&self) -> Prf {
        Prf {
            precision: self.precision,
            recall: self.recall,
            f1: self.f1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub per_label: Vec<LabelScore>,
    pub macro_avg: Prf,
    pub examples: u64,
}

/// Confusion counts for one label.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    tp: u64,
    fp: u64,
    fn_: u64,
}

impl Counts {
    fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => {}
        }
    }
}

fn prf(c: Counts) -> Prf {
    let precision = ratio(c.tp, c.tp + c.fp);
    let recall = ratio(c.tp, c.tp + c.fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Prf {
        precision,
        recall,
        f1,
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Evaluate probabilities (`probs[i][j]`, example i, label j) against gold label
/// sets. A label is predicted when its probability is strictly above its threshold
/// (the paper: "> 0.3").
pub fn evaluate(
    probs: &[Vec<f32>],
    gold: &[Vec<usize>],
    labels: &[String],
    thresholds: &[f64],
) -> Evaluation {
    assert_eq!(probs.len(), gold.len(), "one gold set per example");
    assert_eq!(thresholds.len(), labels.len(), "one threshold per label");
    let mut counts = vec![Counts::default(); labels.len()];
    for (p, g) in probs.iter().zip(gold) {
        for (j, c) in counts.iter_mut().enumerate() {
            // Compared in f32, as torch compares a float32 tensor with 0.3.
            c.add(p[j] > thresholds[j] as f32, g.contains(&j));
        }
    }
    let per_label: Vec<LabelScore> = counts
        .iter()
        .zip(labels)
        .zip(thresholds)
        .map(|((c, name), &t)| {
            let s = prf(*c);
            LabelScore {
                label: name.clone(),
                precision: s.precision,
                recall: s.recall,
                f1: s.f1,
                support: c.tp + c.fn_,
                threshold: t,
            }
        })
        .collect();
    let n = per_label.len().max(1) as f64;
    let macro_avg = Prf {
        precision: per_label.iter().map(|s| s.precision).sum::<f64>() / n,
        recall: per_label.iter().map(|s| s.recall).sum::<f64>() / n,
        f1: per_label.iter().map(|s| s.f1).sum::<f64>() / n,
    };
    Evaluation {
        per_label,
        macro_avg,
        examples: probs.len() as u64,
    }
}

/// Per-label thresholds that maximise each label's F1 on `probs` (dev set),
/// searched over 0.05, 0.10, …, 0.95. Ties keep the lower threshold.
pub fn tune_thresholds(probs: &[Vec<f32>], gold: &[Vec<usize>], n_labels: usize) -> Vec<f64> {
    let grid: Vec<f64> = (1..20).map(|i| i as f64 * 0.05).collect();
    (0..n_labels)
        .map(|j| {
            let mut best = (0.3, -1.0);
            for &t in &grid {
                let mut c = Counts::default();
                for (p, g) in probs.iter().zip(gold) {
                    c.add(p[j] > t as f32, g.contains(&j));
                }
                let f = prf(c).f1;
                if f > best.1 + 1e-12 {
                    best = (t, f);
                }
            }
            best.0
        })
        .collect()
}

/// Table 4 as text: per-emotion P/R/F1/support, the paper's values beside them.
pub fn format_table4(eval: &Evaluation, title: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "{:<15} {:>6} {:>6} {:>6} {:>7}   {:>6} {:>6} {:>6} {:>7}",
        "emotion", "P", "R", "F1", "support", "paperP", "paperR", "paperF", "ΔF1"
    );
    // The report's cells (table4::cell): a label the paper lacks shows `-`.
    use crate::report::table4::cell;
    let mut line = |label: &str, ours: Prf, support: u64, paper: Option<(f64, f64, f64)>| {
        let _ = writeln!(
            out,
            "{:<15} {:>6} {:>6} {:>6} {:>7}   {:>6} {:>6} {:>6} {:>7}",
            label,
            cell::score(Some(ours.precision)),
            cell::score(Some(ours.recall)),
            cell::score(Some(ours.f1)),
            support,
            cell::score(paper.map(|p| p.0)),
            cell::score(paper.map(|p| p.1)),
            cell::score(paper.map(|p| p.2)),
            cell::delta(paper.map(|p| ours.f1 - p.2))
        );
    };
    for s in &eval.per_label {
        line(
            &s.label,
            s.scores(),
            s.support,
            crate::report::table4::paper_row(&s.label),
        );
    }
    line(
        "macro-average",
        eval.macro_avg,
        eval.examples,
        Some(crate::report::table4::PAPER_MACRO),
    );
    out
}

// ---------------------------------------------------------------------------
// metrics.json: written by `hecjob train` (atomically, after every epoch and at
// the end), read by `hecjob report`.

/// Steps excluded from `EpochRecord::timed_seconds` (the HF peer excludes as many).
pub const WARMUP_STEPS: u64 = 3;

/// Bump when a field changes meaning.
pub const METRICS_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMetrics {
    pub schema_version: u32,
    pub hecjob_version: String,
    /// running | finished | stopped_early | interrupted | failed
    /// Written and read as the one type of the on-disk contract.
    pub status: crate::jobdir::RunStatus,
    pub experiment: Option<String>,
    /// Sweep task id (1-based), when run from a config.
    pub task: Option<u32>,
    /// The swept values of this task (key → value), empty outside a sweep.
    #[serde(default)]
    pub swept: serde_json::Map<String, serde_json::Value>,
    /// Every training parameter in effect.
    pub params: serde_json::Map<String, serde_json::Value>,
    pub model: String,
    pub device: String,
    pub labels: Vec<String>,
    pub epochs: Vec<EpochRecord>,
    pub best_epoch: Option<u32>,
    /// Test evaluation of the best epoch at the configured threshold.
    pub test: Option<Evaluation>,
    /// Test evaluation with per-label thresholds tuned on dev (--tune-thresholds).
    pub test_tuned: Option<Evaluation>,
    /// Training loss as logged (every `log_every` batches).
    pub loss_log: Vec<LossPoint>,
    pub memory: MemoryRecord,
    /// Wall seconds the worker ran, every attempt of a resumed run added up.
    pub total_seconds: f64,
    pub save_seconds: Option<f64>,
    /// Set when status is failed or interrupted.
    pub message: Option<String>,
    /// Early stopping (`sweep.early_stop`): this task's decision at each rung
    /// it reached, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rungs: Vec<crate::worker::asha::Decision>,
    /// With status `stopped_early`: the rung decision that stopped the task
    /// (its rank among the results compared there). Its best epoch's model is
    /// kept and evaluated on test like a finished run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<crate::worker::asha::Decision>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: u32,
    pub train_loss: f64,
    pub seconds: f64,
    pub steps: u64,
    pub steps_per_second: f64,
    /// Seconds of the steps after the first `WARMUP_STEPS` (cuDNN autotuning and
    /// allocator growth happen there), for like-for-like benchmark rates.
    #[serde(default)]
    pub timed_seconds: Option<f64>,
    /// On a GPU: seconds the host waited for the device during the epoch's
    /// steps. Near zero means the step is bound by kernel launches.
    #[serde(default)]
    pub gpu_wait_seconds: Option<f64>,
    pub dev: Option<Evaluation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LossPoint {
    /// Global step (batches since the start of training, 1-based).
    pub step: u64,
    pub epoch: u32,
    pub loss: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemoryRecord {
    /// Whether NVML could be read; when false, `gpu_unavailable_reason` says why.
    pub gpu_available: bool,
    pub gpu_unavailable_reason: Option<String>,
    pub gpu_name: Option<String>,
    /// Peak of the device's used memory (all processes), bytes.
    pub peak_gpu_device_used_bytes: Option<u64>,
    /// Peak of this process's used GPU memory, bytes.
    pub peak_gpu_process_used_bytes: Option<u64>,
    /// Peak resident set size of this process, bytes (sysinfo).
    pub peak_rss_bytes: Option<u64>,
    /// The card's total memory, bytes (NVML).
    #[serde(default)]
    pub gpu_total_bytes: Option<u64>,
    /// Mean of NVML's GPU utilization (percent of time a kernel ran) over
    /// every sample taken while training, in every attempt of a resumed run
    /// (so are the peaks and the energy; the samples are the last attempt's).
    #[serde(default)]
    pub gpu_utilization_avg_percent: Option<f64>,
    /// Energy the card used while training, joules (NVML's energy counter,
    /// Volta and newer); `gpu_energy_unavailable_reason` says why when absent.
    #[serde(default)]
    pub gpu_energy_joules: Option<f64>,
    #[serde(default)]
    pub gpu_energy_unavailable_reason: Option<String>,
    pub samples: Vec<MemorySample>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemorySample {
    /// Seconds since the monitor started.
    pub t: f64,
    pub gpu_device_used_bytes: Option<u64>,
    pub gpu_process_used_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    /// NVML's GPU utilization at this sample, percent.
    #[serde(default)]
    pub gpu_utilization_percent: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("l{i}")).collect()
    }

    #[test]
    fn hand_computed_case() {
        // 4 examples, 3 labels.
        // label 0: predicted on ex 0,1,2; gold on 0,3 → tp1 fp2 fn1 → P 1/3 R 1/2 F1 0.4
        // label 1: never predicted; gold on ex 1 → P 0 R 0 F1 0 (zero division)
        // label 2: predicted on ex 3; never gold → P 0, R 0 (no gold), F1 0
        let probs = vec![
            vec![0.9, 0.1, 0.0],
            vec![0.31, 0.3, 0.0],
            vec![0.5, 0.2, 0.1],
            vec![0.3, 0.0, 0.8],
        ];
        let gold = vec![vec![0], vec![1], vec![], vec![0]];
        let e = evaluate(&probs, &gold, &labels(3), &[0.3; 3]);
        let l0 = &e.per_label[0];
        assert!((l0.precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((l0.recall - 0.5).abs() < 1e-12);
        assert!((l0.f1 - 0.4).abs() < 1e-12);
        assert_eq!(l0.support, 2);
        assert_eq!(
            (
                e.per_label[1].precision,
                e.per_label[1].recall,
                e.per_label[1].f1
            ),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(e.per_label[1].support, 1);
        assert_eq!(e.per_label[2].support, 0);
        assert_eq!(e.per_label[2].f1, 0.0);
        assert!((e.macro_avg.f1 - 0.4 / 3.0).abs() < 1e-12);
        assert!((e.macro_avg.precision - 1.0 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn threshold_is_strict() {
        let e = evaluate(&[vec![0.3]], &[vec![0]], &labels(1), &[0.3]);
        assert_eq!(e.per_label[0].recall, 0.0);
        let e = evaluate(&[vec![0.3001]], &[vec![0]], &labels(1), &[0.3]);
        assert_eq!(e.per_label[0].f1, 1.0);
    }

    #[test]
    fn tuning_finds_separating_threshold() {
        let probs = vec![vec![0.62], vec![0.58], vec![0.4], vec![0.1]];
        let gold = vec![vec![0], vec![0], vec![], vec![]];
        let t = tune_thresholds(&probs, &gold, 1);
        assert!(t[0] >= 0.4 && t[0] < 0.58, "{t:?}");
        let e = evaluate(&probs, &gold, &labels(1), &t);
        assert_eq!(e.per_label[0].f1, 1.0);
    }
}
