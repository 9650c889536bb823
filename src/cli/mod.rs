//! The command layer: every subcommand's clap arguments (`*Args`) and the
//! `run_*` that carries it out and prints, one file per command
//! (`cli/<command>.rs`). Domain modules (config, render, scheduler, report,
//! train, …) return values and errors and print nothing of their own, except
//! progress lines of long operations (downloads, training epochs).
//! `hecjob completions bash|zsh|fish` prints a shell completion script.

// The flags' doc comments are also their `--help` text, where `<URL>` and
// `<experiment>` are the usual placeholders, not HTML.
#![allow(rustdoc::invalid_html_tags)]

pub mod analyze;
pub mod check;
pub mod completions;
pub mod data_flags;
pub mod download_data;
pub mod download_model;
#[cfg(feature = "torch")]
pub mod evaluate;
pub mod flag_values;
#[cfg(feature = "torch")]
pub mod predict;
pub mod predict_job;
pub mod prepare_data;
pub mod render;
pub mod report;
pub mod resubmit;
pub mod run;
pub mod status;
pub mod submit;
#[cfg(feature = "torch")]
pub mod train;
pub mod validate;

use crate::util::error::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hecjob",
    version,
    about = "Fine-tune transformer classifiers on a Grid Engine or Slurm GPU cluster",
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
    Validate(validate::ValidateArgs),
    /// Write the install/download/train .com scripts for an experiment.
    Render(render::RenderArgs),
    /// Render, then submit install → download → train, each after the one before
    /// (qsub -hold_jid on Grid Engine, sbatch --dependency=afterok on Slurm).
    Submit(submit::SubmitArgs),
    /// Ask the scheduler whether each job could ever run, submitting nothing
    /// (sbatch --test-only on Slurm, qsub -w v on Grid Engine; exit 6 if not).
    Check(check::CheckArgs),
    /// Show the state of a submitted run (qstat/qacct, or squeue/sacct).
    Status(status::StatusArgs),
    /// Submit again the train tasks that did not finish, each resuming its
    /// checkpoint, with more memory or time where that is why it stopped.
    Resubmit(resubmit::ResubmitArgs),
    /// Run the rendered scripts here, without a scheduler (--local).
    Run(run::RunArgs),
    /// Download the GoEmotions TSV files (sha256 and row counts checked).
    DownloadData(download_data::DownloadDataArgs),
    /// Download a model into the Hugging Face cache layout.
    DownloadModel(download_model::DownloadModelArgs),
    /// Label statistics per split for any dataset (GoEmotions' directory, a
    /// config's data:, or files), and the data's warnings.
    Analyze(analyze::AnalyzeArgs),
    /// Check the data as the config's data: says and write its record into the
    /// job directory (the download job runs it, before any GPU time).
    PrepareData(prepare_data::PrepareDataArgs),
    /// Fine-tune a classifier (the train job's worker).
    #[cfg(feature = "torch")]
    Train(train::TrainArgs),
    /// Label texts, or whole files (--input … --output), with a trained model.
    #[cfg(feature = "torch")]
    Predict(predict::PredictArgs),
    /// Label one shard of a job directory's predict inputs (predict.com runs it).
    #[cfg(feature = "torch")]
    PredictShard(predict_job::PredictShardArgs),
    /// Check the predict shards and concatenate them in input order (merge.com runs it).
    PredictMerge(predict_job::PredictMergeArgs),
    /// Evaluate a trained model on a TSV split and print Table 4.
    #[cfg(feature = "torch")]
    Evaluate(evaluate::EvaluateArgs),
    /// Compare the tasks of a sweep, pick the best, plot.
    Report(report::ReportArgs),
    /// Print a shell completion script (bash, zsh or fish).
    Completions(completions::CompletionsArgs),
}

pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Validate(a) => validate::run_validate(&a),
        Command::Render(a) => render::run(&a),
        Command::Submit(a) => submit::run_submit(&a),
        Command::Status(a) => status::run_status(&a),
        Command::Resubmit(a) => resubmit::run_resubmit(&a),
        Command::Check(a) => check::run_check(&a),
        Command::Run(a) => run::run_run(&a),
        Command::DownloadData(a) => download_data::run(&a),
        Command::DownloadModel(a) => download_model::run(&a),
        Command::Analyze(a) => analyze::run(&a),
        Command::PrepareData(a) => prepare_data::run(&a),
        #[cfg(feature = "torch")]
        Command::Train(a) => train::run_train(&a),
        #[cfg(feature = "torch")]
        Command::Predict(a) => predict::run_predict(&a),
        #[cfg(feature = "torch")]
        Command::PredictShard(a) => predict_job::run_shard(&a),
        Command::PredictMerge(a) => predict_job::run_merge(&a),
        #[cfg(feature = "torch")]
        Command::Evaluate(a) => evaluate::run_evaluate(&a),
        Command::Report(a) => report::run(&a),
        Command::Completions(a) => completions::run(&a),
    }
}
