//! Multi-label classification metrics (Table 4: per-label precision/recall/F1 at
//! a threshold, macro average), computed into the records of metrics.json
//! (`jobdir::metrics`).
//!
//! Conventions follow scikit-learn's `zero_division=0`: a label with no predicted
//! positives has precision 0, one with no gold positives has recall 0, and F1 is 0
//! when precision + recall is 0. The macro average is the unweighted mean over all
//! labels (as the paper's macro row is the column mean).

use crate::jobdir::metrics::{Evaluation, LabelScore, Prf};

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
        micro_avg: None,
        accuracy: None,
        confusion: None,
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
