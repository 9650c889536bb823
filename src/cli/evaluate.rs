//! `hecjob evaluate`: Table 4 of a trained model on a TSV split.

use super::train::device;
use crate::util::error::Result;
use crate::worker::train::trainer;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// A model directory saved by `hecjob train`.
    pub model: PathBuf,
    /// A GoEmotions TSV split (e.g. test.tsv).
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
}

pub fn run_evaluate(a: &EvaluateArgs) -> Result<()> {
    let eval = trainer::evaluate_saved(&a.model, &a.tsv, a.threshold, device(a.cuda)?)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&eval).expect("json"));
    } else {
        print!(
            "{}",
            crate::report::table4::format(&eval, &format!("Table 4 — {}", a.tsv.display()))
        );
    }
    Ok(())
}
