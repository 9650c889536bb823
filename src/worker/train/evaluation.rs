//! Evaluation on test: the best epoch's model reloaded and scored (Table 4 at
//! the threshold, and with thresholds tuned on dev when asked), and a saved
//! model scored on one split (`hecjob evaluate`).

use super::batches::predict_probs;
use super::data::{encode, Encoded};
use super::state::meta;
use super::trainer::RunSpec;
use crate::data::tsv;
use crate::jobdir::metrics::{Evaluation, RunMetrics};
use crate::util::error::Result;
use crate::worker::metrics::{evaluate, tune_thresholds};
use crate::worker::model::saved::LoadedModel;
use std::path::Path;
use tch::{Device, Kind};

/// Examples per forward pass when scoring dev and test (no gradients kept).
pub(super) const EVAL_BATCH: usize = 128;

/// Test evaluation of the best epoch (reloaded from the saved model, not the
/// weights of the last epoch): Table 4 at the threshold, and with per-label
/// thresholds tuned on dev when asked.
pub(super) fn evaluate_best(
    spec: &RunSpec,
    kind: Option<Kind>,
    device: Device,
    pad_id: i64,
    dev: &Encoded,
    test: &Encoded,
    run: &mut RunMetrics,
) -> Result<()> {
    let p = &spec.params;
    let labels = run.labels.clone();
    // Evaluate the best epoch, not the last.
    let best = LoadedModel::trained(&spec.save_dir, device)?;
    let mut best_model = best.model;
    best_model.encoder.compute_kind = kind;
    let test_probs = predict_probs(&best_model, &test.ids, pad_id, EVAL_BATCH, device);
    let test_table = |thresholds: &[f64], title: &str| {
        let eval = evaluate(&test_probs, &test.labels, &labels, thresholds);
        if let Some(format) = spec.print_table {
            print!("{}", format(&eval, title));
        }
        eval
    };
    run.test = Some(test_table(
        &vec![p.threshold; labels.len()],
        &format!(
            "Table 4 — test set, threshold {}, best epoch {} (paper: BERT-base, Demszky et al. 2020)",
            p.threshold,
            run.best_epoch.unwrap_or(0)
        ),
    ));
    if p.tune_thresholds {
        let dev_probs = predict_probs(&best_model, &dev.ids, pad_id, EVAL_BATCH, device);
        let tuned = tune_thresholds(&dev_probs, &dev.labels, labels.len());
        run.test_tuned = Some(test_table(
            &tuned,
            "Table 4 — test set, per-label thresholds tuned on dev",
        ));
        let best_epoch = run.best_epoch.unwrap_or(p.epochs);
        let m = meta(spec, best_epoch, Some(tuned));
        let json = serde_json::to_string_pretty(&m).expect("json");
        crate::util::fsutil::write_atomic(&spec.save_dir.join("hecjob.json"), json.as_bytes())?;
    }
    Ok(())
}

/// Test-time evaluation of a saved model on one TSV split.
pub fn evaluate_saved(
    model_dir: &Path,
    tsv_path: &Path,
    threshold: Option<f64>,
    device: Device,
) -> Result<Evaluation> {
    let lm = LoadedModel::trained(model_dir, device)?;
    let examples = tsv::read_split(tsv_path, lm.labels.len())?;
    let enc = encode(&lm, &examples)?;
    let probs = predict_probs(
        &lm.model,
        &enc.ids,
        lm.config.pad_token_id,
        EVAL_BATCH,
        device,
    );
    Ok(evaluate(
        &probs,
        &enc.labels,
        &lm.labels,
        &lm.thresholds(threshold),
    ))
}
