//! The command line: clap derive definitions and dispatch to each module's `run`.
//! Each subcommand's arguments live beside the code that runs it.

use crate::error::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hecjob",
    version,
    about = "Fine-tune transformer classifiers on a Grid Engine GPU cluster",
    long_about = "hecjob turns a YAML experiment config into Grid Engine job scripts \
(install, download, train), submits and follows them, and is itself the training worker \
(BERT/RoBERTa in libtorch) that reproduces the GoEmotions paper's Table 4."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an experiment config and print its sweep tasks.
    Validate(crate::config::cli::ValidateArgs),
    /// Write the install/download/train .com scripts for an experiment.
    Render(crate::render::RenderArgs),
    /// Render, then qsub install → download → train chained with -hold_jid.
    Submit(crate::cmd::jobs::SubmitArgs),
    /// Show the state of a submitted run from qstat and qacct.
    Status(crate::cmd::jobs::StatusArgs),
    /// Run the rendered scripts here, without a scheduler (--local).
    Run(crate::cmd::jobs::RunArgs),
    /// Download the GoEmotions TSV files (sha256 and row counts checked).
    DownloadData(crate::data::download::DownloadDataArgs),
    /// Download a model into the Hugging Face cache layout.
    DownloadModel(crate::hub::DownloadModelArgs),
    /// Label statistics per split, as the tutorial's data_analysis.py prints them.
    Analyze(crate::data::analysis::AnalyzeArgs),
    /// Fine-tune a classifier (the train job's worker).
    #[cfg(feature = "torch")]
    Train(crate::train::cli::TrainArgs),
    /// Predict emotions for texts with a trained model.
    #[cfg(feature = "torch")]
    Predict(crate::train::cli::PredictArgs),
    /// Evaluate a trained model on a TSV split and print Table 4.
    #[cfg(feature = "torch")]
    Evaluate(crate::train::cli::EvaluateArgs),
    /// Compare the tasks of a sweep, pick the best, plot.
    Report(crate::report::ReportArgs),
}

pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Validate(a) => crate::config::cli::run_validate(&a),
        Command::Render(a) => crate::render::run(&a),
        Command::Submit(a) => crate::cmd::jobs::run_submit(&a),
        Command::Status(a) => crate::cmd::jobs::run_status(&a),
        Command::Run(a) => crate::cmd::jobs::run_run(&a),
        Command::DownloadData(a) => crate::data::download::run(&a),
        Command::DownloadModel(a) => crate::hub::run(&a),
        Command::Analyze(a) => crate::data::analysis::run(&a),
        #[cfg(feature = "torch")]
        Command::Train(a) => crate::train::cli::run_train(&a),
        #[cfg(feature = "torch")]
        Command::Predict(a) => crate::train::cli::run_predict(&a),
        #[cfg(feature = "torch")]
        Command::Evaluate(a) => crate::train::cli::run_evaluate(&a),
        Command::Report(a) => crate::report::run(&a),
    }
}
