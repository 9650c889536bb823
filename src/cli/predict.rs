//! `hecjob predict`: labels for texts with a trained model (those above the
//! threshold; a single-label model's most probable class).

use super::train::device;
use crate::data::spec::Task;
use crate::util::error::Result;
use crate::worker::model::saved::LoadedModel;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// A model directory saved by `hecjob train`.
    pub model: PathBuf,
    /// Texts to classify.
    #[arg(required = true)]
    pub texts: Vec<String>,
    /// Probability above which a label is predicted (default: the model's
    /// per-label thresholds tuned on dev if it has them, else its training
    /// threshold). A single-label model predicts its most probable class.
    #[arg(long, value_parser = crate::cli::flag_values::threshold)]
    pub threshold: Option<f64>,
    /// Show the K most probable labels instead of those above the threshold.
    #[arg(long, value_parser = crate::cli::flag_values::at_least_one::<usize>)]
    pub top_k: Option<usize>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Run the model on the GPU (an error if none is usable).
    #[arg(long)]
    pub cuda: bool,
}

pub fn run_predict(a: &PredictArgs) -> Result<()> {
    let dev = device(a.cuda)?;
    let lm = LoadedModel::trained(&a.model, dev)?;
    let texts: Vec<&str> = a.texts.iter().map(String::as_str).collect();
    let ids = lm.encoder.encode_all(&texts)?;
    let task = lm.task();
    let probs = crate::worker::train::batches::predict_probs_for(
        task,
        &lm.model,
        &ids,
        lm.config.pad_token_id,
        64,
        dev,
    );
    let thresholds = lm.thresholds(a.threshold);
    let mut out = Vec::new();
    for (text, p) in a.texts.iter().zip(&probs) {
        let mut ranked: Vec<(usize, f32)> = p.iter().copied().enumerate().collect();
        ranked.sort_by(|x, y| y.1.total_cmp(&x.1));
        let chosen: Vec<(usize, f32)> = match (a.top_k, task) {
            (Some(k), _) => ranked.into_iter().take(k).collect(),
            // One class per text: the most probable (softmax probabilities).
            (None, Task::SingleLabel) => ranked.into_iter().take(1).collect(),
            (None, Task::MultiLabel) => ranked
                .into_iter()
                .filter(|(j, pr)| f64::from(*pr) > thresholds[*j])
                .collect(),
        };
        let labels: Vec<serde_json::Value> = chosen
            .iter()
            .map(|(j, pr)| serde_json::json!({"label": lm.labels[*j], "probability": pr}))
            .collect();
        if a.json {
            out.push(serde_json::json!({"text": text, "labels": labels}));
        } else {
            let shown: Vec<String> = chosen
                .iter()
                .map(|(j, pr)| format!("{} {:.3}", lm.labels[*j], pr))
                .collect();
            println!(
                "{text}\n  → {}",
                if shown.is_empty() {
                    "(no label above the threshold)".into()
                } else {
                    shown.join(", ")
                }
            );
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    }
    Ok(())
}
