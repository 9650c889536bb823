//! `hecjob evaluate MODEL FILE`: a trained model's per-label scores on one
//! labelled file: GoEmotions' TSV (Table 4), or your own CSV, TSV or JSONL
//! read as the data flags say (as the config's `data:` keys would).

use super::data_flags::DataFlags;
use super::train::device;
use crate::data::dataset::Example;
use crate::data::load::{load, Sources};
use crate::data::spec::Format;
use crate::util::error::{Error, Result};
use crate::worker::model::saved::{resolve, LoadedModel};
use crate::worker::train::trainer;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// A model directory saved by `hecjob train`, or any transformers
    /// `*ForSequenceClassification` directory or Hub id (labels from its
    /// `id2label`; a Hub id is read from the Hugging Face cache, where
    /// `hecjob download-model ID` puts it).
    pub model: String,
    /// The Hub revision (branch, tag or commit) of a Hub id.
    #[arg(long)]
    pub revision: Option<String>,
    /// A labelled file: a GoEmotions TSV split (e.g. test.tsv), or your own
    /// CSV, TSV or JSONL (see the data flags).
    #[arg(value_name = "FILE")]
    pub tsv: PathBuf,
    /// One threshold for every label (default: as `predict`: the tuned ones, else
    /// the training threshold).
    #[arg(long, value_parser = crate::cli::flag_values::threshold)]
    pub threshold: Option<f64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Run the model on the GPU (an error if none is usable).
    #[arg(long)]
    pub cuda: bool,
    #[command(flatten)]
    pub data: DataFlags,
}

pub fn run_evaluate(a: &EvaluateArgs) -> Result<()> {
    let device = device(a.cuda)?;
    let model_dir = resolve(&a.model, a.revision.as_deref())?;
    let mut lm = LoadedModel::trained(&model_dir, device)?;
    if let Some(note) = trainer::compute_as_trained(&mut lm, device) {
        eprintln!("{note}");
    }
    let examples = read_examples(a, &lm.labels)?;
    let source = a.tsv.display().to_string();
    let eval = trainer::evaluate_examples(&lm, &examples, &source, a.threshold, device)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&eval).expect("json"));
    } else {
        print!(
            "{}",
            crate::report::table4::format(&eval, &format!("Table 4 — {source}"))
        );
    }
    Ok(())
}

/// The file's rows, their label ids indexing the model's labels.
fn read_examples(a: &EvaluateArgs, model_labels: &[String]) -> Result<Vec<Example>> {
    let (spec, src) = a.data.sources(&a.tsv, None, None)?;
    if src.format == Format::Goemotions
        && spec.label_map.is_none()
        && src.labels_file.as_deref().is_none_or(|f| !f.is_file())
    {
        // GoEmotions' ids index the model's labels (emotions.txt's order).
        return crate::data::tsv::read_split(&a.tsv, model_labels.len());
    }
    // The file as its own dev split: read once, nothing held out.
    let src = Sources {
        dev: Some(a.tsv.clone()),
        ..src
    };
    let loaded = load(&spec, &src)?;
    let to_model: Vec<usize> = loaded
        .dataset
        .labels
        .iter()
        .map(|name| {
            model_labels
                .iter()
                .position(|m| m == name)
                .ok_or_else(|| not_a_model_label(&a.tsv, name, model_labels))
        })
        .collect::<Result<_>>()?;
    Ok(loaded
        .dataset
        .dev
        .into_iter()
        .map(|mut e| {
            e.labels = e.labels.iter().map(|&l| to_model[l]).collect();
            e
        })
        .collect())
}

fn not_a_model_label(file: &Path, name: &str, model_labels: &[String]) -> Error {
    Error::Data(format!(
        "{}: the label {name:?} is not one of the model's {} labels ({}); evaluate on data with the model's labels (or map them with --label-map)",
        file.display(),
        model_labels.len(),
        crate::data::labels::abbreviated(model_labels)
    ))
}
