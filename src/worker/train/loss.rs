//! The training loss, as the data's task says: for multi-label data, sigmoid +
//! binary cross-entropy per label (with per-label positive weights from the
//! train split under `data.pos_weight: auto`); for single-label data, softmax +
//! cross-entropy over the classes. Both read the same logits of the same head.
//!
//! With `pos_weight: none` the multi-label loss is exactly the call it always
//! was (no weight tensor), so such runs are bit-for-bit those of earlier
//! versions.

use crate::data::spec::{PosWeight, Task};
use tch::{Device, Kind, Reduction, Tensor};

/// The largest positive weight `pos_weight: auto` gives a label: a label with
/// one positive in 10,000 texts would otherwise weigh 10,000 and its few
/// examples would swamp every other gradient.
pub const POS_WEIGHT_CAP: f64 = 100.0;

/// How a batch's logits are scored against its targets.
pub(super) enum Loss {
    /// Sigmoid + binary cross-entropy, mean over examples and labels; with a
    /// weight on each label's positive term when `pos_weight` is set.
    Bce { pos_weight: Option<Tensor> },
    /// Softmax + cross-entropy against each example's one class, mean over
    /// examples.
    Softmax,
}

impl Loss {
    /// The loss for `task`, with positive weights from `train` (each
    /// example's label ids) under `pos_weight: auto` (multi-label only: a
    /// note says it is ignored for single-label data). Prints the weights'
    /// spread once.
    pub(super) fn new(
        task: Task,
        pos_weight: PosWeight,
        train: &[Vec<usize>],
        labels: &[String],
        device: Device,
    ) -> Loss {
        match (task, pos_weight) {
            (Task::SingleLabel, PosWeight::Auto) => {
                println!(
                    "note: data.pos_weight: auto applies to multi-label data only; single-label training uses plain cross-entropy"
                );
                Loss::Softmax
            }
            (Task::SingleLabel, PosWeight::None) => Loss::Softmax,
            (Task::MultiLabel, PosWeight::None) => Loss::Bce { pos_weight: None },
            (Task::MultiLabel, PosWeight::Auto) => {
                let w = pos_weights(train, labels.len());
                println!("{}", pos_weight_line(&w));
                let t = Tensor::from_slice(&w)
                    .to_kind(Kind::Float)
                    .to_device(device);
                Loss::Bce {
                    pos_weight: Some(t),
                }
            }
        }
    }

    /// The batch's mean loss. `targets` is multi-hot [batch, labels] (one-hot
    /// for single-label data, whose class is its argmax).
    pub(super) fn of(&self, logits: &Tensor, targets: &Tensor) -> Tensor {
        match self {
            Loss::Bce { pos_weight } => logits.binary_cross_entropy_with_logits::<&Tensor>(
                targets,
                None,
                pos_weight.as_ref(),
                Reduction::Mean,
            ),
            Loss::Softmax => {
                logits.cross_entropy_for_logits(&targets.argmax(-1, false).to_kind(Kind::Int64))
            }
        }
    }
}

/// Each label's BCE positive weight: its negatives / positives among the
/// `train` examples, capped at [`POS_WEIGHT_CAP`]. A label with no positives
/// (or no negatives) gets 1.0, not the cap: with no positive term in the train
/// loss the weight multiplies nothing there, and 1.0 keeps the printed spread
/// to the labels it does shift (a label on every text would otherwise get 0).
pub fn pos_weights(train: &[Vec<usize>], n_labels: usize) -> Vec<f64> {
    let mut positives = vec![0u64; n_labels];
    for labels in train {
        for &l in labels {
            positives[l] += 1;
        }
    }
    let n = train.len() as u64;
    positives
        .iter()
        .map(|&p| {
            if p == 0 || p == n {
                1.0
            } else {
                ((n - p) as f64 / p as f64).min(POS_WEIGHT_CAP)
            }
        })
        .collect()
}

/// The line the run log prints: the weights' minimum, median and maximum.
pub fn pos_weight_line(w: &[f64]) -> String {
    let mut s = w.to_vec();
    s.sort_by(f64::total_cmp);
    let median = match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    };
    format!(
        "pos_weight auto: {} labels, negatives/positives in train (capped at {POS_WEIGHT_CAP}): min {:.2}, median {:.2}, max {:.2}",
        s.len(),
        s.first().copied().unwrap_or(f64::NAN),
        median,
        s.last().copied().unwrap_or(f64::NAN)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pos_weights_are_negatives_over_positives_capped() {
        // 4 examples, 4 labels: label 0 on 1 (3/1), label 1 on 2 (2/2),
        // label 2 on none (1.0), label 3 on all (1.0).
        let train = vec![vec![0, 1, 3], vec![1, 3], vec![3], vec![3]];
        assert_eq!(pos_weights(&train, 4), vec![3.0, 1.0, 1.0, 1.0]);
        // One positive in 500: 499, capped at 100.
        let mut rare = vec![vec![]; 500];
        rare[7] = vec![0];
        assert_eq!(pos_weights(&rare, 1), vec![POS_WEIGHT_CAP]);
    }

    #[test]
    fn the_pos_weight_line_gives_min_median_max() {
        assert_eq!(
            pos_weight_line(&[3.0, 1.0, 100.0, 2.0]),
            "pos_weight auto: 4 labels, negatives/positives in train (capped at 100): min 1.00, median 2.50, max 100.00"
        );
    }

    #[test]
    fn softmax_loss_is_cross_entropy_of_the_one_class() {
        let logits = Tensor::from_slice(&[2.0f32, 0.0, 0.0, 0.0, 1.0, 0.0]).view([2, 3]);
        let targets = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.0, 0.0, 1.0]).view([2, 3]);
        let got = Loss::Softmax.of(&logits, &targets).double_value(&[]);
        let e = std::f64::consts::E;
        let want = (-(e * e / (e * e + 2.0)).ln() - (1.0 / (e + 2.0)).ln()) / 2.0;
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }

    #[test]
    fn without_pos_weight_the_loss_is_the_plain_bce_call_bit_for_bit() {
        tch::manual_seed(7);
        let logits = Tensor::randn([8, 5], (Kind::Float, Device::Cpu));
        let targets = Tensor::rand([8, 5], (Kind::Float, Device::Cpu))
            .gt(0.7)
            .to_kind(Kind::Float);
        // The call every run made before `pos_weight` existed.
        let before = logits.binary_cross_entropy_with_logits::<Tensor>(
            &targets,
            None,
            None,
            Reduction::Mean,
        );
        let now = Loss::Bce { pos_weight: None }.of(&logits, &targets);
        assert!(now.equal(&before));
    }

    #[test]
    fn a_pos_weight_scales_only_the_positive_terms() {
        let logits = Tensor::from_slice(&[0.0f32, 0.0]).view([1, 2]);
        let targets = Tensor::from_slice(&[1.0f32, 0.0]).view([1, 2]);
        let plain = Loss::Bce { pos_weight: None }.of(&logits, &targets);
        let w = Tensor::from_slice(&[3.0f32, 5.0]);
        let weighted = Loss::Bce {
            pos_weight: Some(w),
        }
        .of(&logits, &targets);
        let ln2 = std::f64::consts::LN_2;
        assert!((plain.double_value(&[]) - ln2).abs() < 1e-6);
        // Label 0 (positive) weighs 3, label 1 (negative) still 1: (3 + 1) ln2 / 2.
        assert!((weighted.double_value(&[]) - 2.0 * ln2).abs() < 1e-6);
    }
}
