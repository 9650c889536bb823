//! Evaluation: scores as the data's task reads them (multi-label at a
//! threshold, single-label by argmax), the best epoch's model reloaded and
//! scored on test (Table 4 at the threshold, and with thresholds tuned on dev
//! when asked; nothing without a test split), and a saved model scored on one
//! split (`hecjob evaluate`).

use super::batches::predict_probs_for;
use super::data::encode;
use super::prepare::Prepared;
use super::state::meta;
use super::trainer::RunSpec;
use crate::data::dataset::Example;
use crate::data::spec::Task;
use crate::data::tsv;
use crate::jobdir::metrics::{Evaluation, RunMetrics};
use crate::util::error::{Error, Result};
use crate::worker::metrics::{evaluate, evaluate_single, tune_thresholds};
use crate::worker::model::saved::LoadedModel;
use std::path::Path;
use tch::Device;

/// Examples per forward pass when scoring dev and test (no gradients kept).
pub(super) const EVAL_BATCH: usize = 128;

/// The scores of `probs` against `gold` as the data's task reads them:
/// multi-label at `threshold` for every label, single-label by argmax (with
/// accuracy and the confusion matrix).
pub(super) fn score(
    task: Task,
    probs: &[Vec<f32>],
    gold: &[Vec<usize>],
    labels: &[String],
    threshold: f64,
) -> Evaluation {
    match task {
        Task::MultiLabel => evaluate(probs, gold, labels, &vec![threshold; labels.len()]),
        Task::SingleLabel => evaluate_single(probs, gold, labels),
    }
}

/// The line printed where Table 4 would be when the data has no test split.
pub const NO_TEST_LINE: &str = "no test split: nothing tested (data.test is not set)";

/// Test evaluation of the best epoch (reloaded from the saved model, not the
/// weights of the last epoch): Table 4 at the threshold (or by argmax for
/// single-label data), and for multi-label data with per-label thresholds
/// tuned on dev when asked. Without a test split nothing is tested (the
/// tuned thresholds are still saved for `predict`).
pub(super) fn evaluate_best(
    spec: &RunSpec,
    run: &Prepared,
    metrics: &mut RunMetrics,
) -> Result<()> {
    let p = &spec.params;
    let (device, pad_id, task) = (run.device, run.pad_id, run.task);
    let labels = metrics.labels.clone();
    // Evaluate the best epoch, not the last.
    let best = LoadedModel::trained(&spec.save_dir, device)?;
    let mut best_model = best.model;
    best_model.set_compute_kind(run.kind);
    let test_probs = run
        .has_test
        .then(|| predict_probs_for(task, &best_model, &run.test.ids, pad_id, EVAL_BATCH, device));
    let test_table = |eval: Evaluation, title: &str| {
        if let Some(format) = spec.print_table {
            print!("{}", format(&eval, title));
        }
        eval
    };
    let gold = &run.test.labels;
    match &test_probs {
        None => println!("{NO_TEST_LINE}"),
        Some(probs) => {
            let title = match task {
                Task::MultiLabel => format!(
                    "Table 4 — test set, threshold {}, best epoch {} (paper: BERT-base, Demszky et al. 2020)",
                    p.threshold,
                    metrics.best_epoch.unwrap_or(0)
                ),
                Task::SingleLabel => format!(
                    "test set, single-label (argmax), best epoch {}",
                    metrics.best_epoch.unwrap_or(0)
                ),
            };
            let eval = score(task, probs, gold, &labels, p.threshold);
            metrics.test = Some(test_table(eval, &title));
        }
    }
    if p.tune_thresholds && task == Task::SingleLabel {
        println!(
            "note: tune_thresholds does not apply to single-label data (the predicted class is the argmax); skipped"
        );
    } else if p.tune_thresholds {
        let dev_probs =
            predict_probs_for(task, &best_model, &run.dev.ids, pad_id, EVAL_BATCH, device);
        let tuned = tune_thresholds(&dev_probs, &run.dev.labels, labels.len());
        if let Some(probs) = &test_probs {
            metrics.test_tuned = Some(test_table(
                evaluate(probs, gold, &labels, &tuned),
                "Table 4 — test set, per-label thresholds tuned on dev",
            ));
        }
        let best_epoch = metrics.best_epoch.unwrap_or(p.epochs);
        let m = meta(spec, best_epoch, Some(tuned), run.kind);
        let json = serde_json::to_string_pretty(&m).expect("json");
        crate::util::fsutil::write_atomic(&spec.save_dir.join("hecjob.json"), json.as_bytes())?;
    }
    Ok(())
}

/// Set a saved model up to compute as its run did (`hecjob.json`'s
/// `precision`), so its scores are the run's: bf16 on a GPU and on a CPU
/// with native bf16. Where the CPU has none it scores in fp32 (bf16 would be
/// emulated, slowly), and the line returned says the numbers may then differ
/// a little from the run's.
pub fn compute_as_trained(lm: &mut LoadedModel, device: Device) -> Option<String> {
    if lm.meta.as_ref().and_then(|m| m.precision.as_deref()) != Some("bf16") {
        return None;
    }
    if device != Device::Cpu || crate::util::cpu::native_bf16().is_some() {
        lm.model.set_compute_kind(Some(tch::Kind::BFloat16));
        return None;
    }
    Some(format!(
        "hecjob: the model was trained in bf16, and {}: scoring in fp32, so the scores may \
         differ a little from the run's",
        crate::util::cpu::no_bf16_reason()
    ))
}

/// Test-time evaluation of a saved model on one GoEmotions TSV split, in
/// the precision it was trained in ([`compute_as_trained`]).
pub fn evaluate_saved(
    model_dir: &Path,
    tsv_path: &Path,
    threshold: Option<f64>,
    device: Device,
) -> Result<Evaluation> {
    let mut lm = LoadedModel::trained(model_dir, device)?;
    if let Some(note) = compute_as_trained(&mut lm, device) {
        eprintln!("{note}");
    }
    let examples = tsv::read_split(tsv_path, lm.labels.len())?;
    evaluate_examples(
        &lm,
        &examples,
        &tsv_path.display().to_string(),
        threshold,
        device,
    )
}

/// Test-time evaluation of a loaded model on `examples` (label ids index the
/// model's labels; `source` names their file), as the model's task reads its
/// logits (a single-label model: by argmax, each row needing exactly one label).
pub fn evaluate_examples(
    lm: &LoadedModel,
    examples: &[Example],
    source: &str,
    threshold: Option<f64>,
    device: Device,
) -> Result<Evaluation> {
    let task = lm.task();
    if task == Task::SingleLabel {
        if let Some(e) = examples.iter().find(|e| e.labels.len() != 1) {
            return Err(Error::Data(format!(
                "{source}:{}: {} labels, but the model is single-label (one label per text)",
                e.line,
                e.labels.len(),
            )));
        }
    }
    let enc = encode(lm, examples)?;
    let probs = predict_probs_for(
        task,
        &lm.model,
        &enc.ids,
        lm.config.pad_token_id,
        EVAL_BATCH,
        device,
    );
    Ok(match task {
        Task::MultiLabel => evaluate(&probs, &enc.labels, &lm.labels, &lm.thresholds(threshold)),
        Task::SingleLabel => evaluate_single(&probs, &enc.labels, &lm.labels),
    })
}
