//! Classification metrics, computed into the records of metrics.json
//! (`jobdir::metrics`): multi-label (Table 4: per-label precision/recall/F1 at
//! a threshold, macro and micro averages) and single-label (the argmax class:
//! per-class precision/recall/F1, macro and micro averages, accuracy and the
//! confusion matrix).
//!
//! Conventions follow scikit-learn's `zero_division=0`: a label with no predicted
//! positives has precision 0, one with no gold positives has recall 0, and F1 is 0
//! when precision + recall is 0. The macro average is the unweighted mean over all
//! labels (as the paper's macro row is the column mean); the micro average pools
//! every label decision's counts (for single-label data it equals accuracy).

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

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
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
    let mut e = scores(&counts, labels, thresholds, probs.len());
    e.micro_avg = Some(micro(&counts));
    e
}

/// Per-label scores and their macro average from each label's counts, at the
/// thresholds recorded beside them.
fn scores(counts: &[Counts], labels: &[String], thresholds: &[f64], examples: usize) -> Evaluation {
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
        examples: examples as u64,
        micro_avg: None,
        accuracy: None,
        confusion: None,
    }
}

/// Micro-averaged P/R/F1: every label's counts pooled.
fn micro(counts: &[Counts]) -> Prf {
    let mut all = Counts::default();
    for &c in counts {
        all += c;
    }
    prf(all)
}

/// The threshold recorded for each class of a single-label evaluation: none
/// applies (the predicted class is the argmax), and 0.0 says so while keeping
/// the field a plain number for the readers of metrics.json.
pub const SINGLE_LABEL_THRESHOLD: f64 = 0.0;

/// Evaluate single-label predictions: each example's predicted class is the
/// argmax of its probabilities (the first on a tie), its gold class the one
/// label in `gold[i]`. Per class: precision, recall, F1 and support (gold
/// count), with the threshold [`SINGLE_LABEL_THRESHOLD`]; the macro average;
/// the micro average (one decision per example, so P = R = F1 = accuracy);
/// accuracy; and the confusion matrix, `counts[gold][predicted]` in label order.
pub fn evaluate_single(probs: &[Vec<f32>], gold: &[Vec<usize>], labels: &[String]) -> Evaluation {
    assert_eq!(probs.len(), gold.len(), "one gold label per example");
    let n = labels.len();
    let mut confusion = vec![vec![0u64; n]; n];
    for (p, g) in probs.iter().zip(gold) {
        assert_eq!(
            g.len(),
            1,
            "single-label: exactly one gold label per example"
        );
        confusion[g[0]][argmax(p)] += 1;
    }
    let counts: Vec<Counts> = (0..n)
        .map(|j| {
            let tp = confusion[j][j];
            let gold_j: u64 = confusion[j].iter().sum();
            let predicted_j: u64 = confusion.iter().map(|row| row[j]).sum();
            Counts {
                tp,
                fp: predicted_j - tp,
                fn_: gold_j - tp,
            }
        })
        .collect();
    let mut e = scores(
        &counts,
        labels,
        &vec![SINGLE_LABEL_THRESHOLD; n],
        probs.len(),
    );
    let correct: u64 = (0..n).map(|j| confusion[j][j]).sum();
    let accuracy = ratio(correct, probs.len() as u64);
    e.micro_avg = Some(micro(&counts));
    e.accuracy = Some(accuracy);
    e.confusion = Some(confusion);
    e
}

/// The index of the largest value (the first of equal ones; 0 when empty).
pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = j;
        }
    }
    best
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
        assert_eq!((e.accuracy, e.confusion.as_ref()), (None, None));
    }

    #[test]
    fn the_multi_label_micro_average_pools_every_label_decision() {
        // The hand-computed case above: label 0 tp1 fp2 fn1, label 1 fn1,
        // label 2 fp1 → pooled tp1 fp3 fn2: P 1/4, R 1/3, F1 2/7.
        let probs = vec![
            vec![0.9, 0.1, 0.0],
            vec![0.31, 0.3, 0.0],
            vec![0.5, 0.2, 0.1],
            vec![0.3, 0.0, 0.8],
        ];
        let gold = vec![vec![0], vec![1], vec![], vec![0]];
        let m = evaluate(&probs, &gold, &labels(3), &[0.3; 3])
            .micro_avg
            .unwrap();
        assert!((m.precision - 0.25).abs() < 1e-12, "{m:?}");
        assert!((m.recall - 1.0 / 3.0).abs() < 1e-12, "{m:?}");
        assert!((m.f1 - 2.0 / 7.0).abs() < 1e-12, "{m:?}");
    }

    /// One-hot-ish probabilities predicting class `p` among 3.
    fn predicting(p: usize) -> Vec<f32> {
        let mut v = vec![0.2; 3];
        v[p] = 0.6;
        v
    }

    #[test]
    fn single_label_scores_a_three_class_case_by_hand() {
        // (gold, predicted): a a, a b, a a, b b, b c, c c, c b, b b
        // confusion[gold][pred] = a [2 1 0], b [0 2 1], c [0 1 1]
        // a: tp2, predicted 2, gold 3 → P 1, R 2/3, F1 0.8
        // b: tp2, predicted 4, gold 3 → P 1/2, R 2/3, F1 4/7
        // c: tp1, predicted 2, gold 2 → P 1/2, R 1/2, F1 1/2
        let pairs = [
            (0, 0),
            (0, 1),
            (0, 0),
            (1, 1),
            (1, 2),
            (2, 2),
            (2, 1),
            (1, 1),
        ];
        let probs: Vec<Vec<f32>> = pairs.iter().map(|&(_, p)| predicting(p)).collect();
        let gold: Vec<Vec<usize>> = pairs.iter().map(|&(g, _)| vec![g]).collect();
        let e = evaluate_single(&probs, &gold, &labels(3));
        assert_eq!(
            e.confusion,
            Some(vec![vec![2, 1, 0], vec![0, 2, 1], vec![0, 1, 1]])
        );
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        let want = [
            (1.0, 2.0 / 3.0, 0.8, 3),
            (0.5, 2.0 / 3.0, 4.0 / 7.0, 3),
            (0.5, 0.5, 0.5, 2),
        ];
        for (s, (p, r, f, n)) in e.per_label.iter().zip(want) {
            assert!(
                close(s.precision, p) && close(s.recall, r) && close(s.f1, f),
                "{s:?}"
            );
            assert_eq!(s.support, n);
            assert_eq!(s.threshold, SINGLE_LABEL_THRESHOLD);
        }
        assert!(close(e.macro_avg.precision, 2.0 / 3.0), "{:?}", e.macro_avg);
        assert!(close(e.macro_avg.recall, 11.0 / 18.0), "{:?}", e.macro_avg);
        assert!(close(e.macro_avg.f1, 131.0 / 210.0), "{:?}", e.macro_avg);
        assert_eq!(e.accuracy, Some(5.0 / 8.0));
        let m = e.micro_avg.unwrap();
        assert!(
            close(m.precision, 5.0 / 8.0) && close(m.recall, 5.0 / 8.0) && close(m.f1, 5.0 / 8.0)
        );
        assert_eq!(e.examples, 8);
    }

    #[test]
    fn single_label_ties_go_to_the_first_class_and_absent_classes_score_zero() {
        assert_eq!(argmax(&[0.4, 0.4, 0.2]), 0);
        assert_eq!(argmax(&[0.1, 0.5, 0.5]), 1);
        let e = evaluate_single(&[vec![0.4, 0.4, 0.2]], &[vec![0]], &labels(3));
        assert_eq!(e.accuracy, Some(1.0));
        let c = &e.per_label[2];
        assert_eq!((c.precision, c.recall, c.f1, c.support), (0.0, 0.0, 0.0, 0));
        assert!((e.macro_avg.f1 - 1.0 / 3.0).abs() < 1e-12);
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
