//! `hecjob train`: the tutorial's bert_model.py interface, or `--config --task`
//! as train.com calls it.

use crate::config::{self, DeviceChoice, LrSchedule, Optimizer, Precision, Train};
use crate::error::{Error, Result};
use crate::train::spec::spec_from_config;
use crate::train::trainer::{self, DataFiles, RunSpec};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Tutorial form:  hecjob train TRAIN DEV TEST LABELS SAVE_PATH [--cuda] [--learning-rate 5e-5] [--batch-size 16]\n\
Config form:    hecjob train --config jobs/<experiment>/config.yaml --task $SGE_TASK_ID"
)]
pub struct TrainArgs {
    /// train.tsv
    #[arg(required_unless_present = "config")]
    pub train: Option<PathBuf>,
    /// dev.tsv
    #[arg(required_unless_present = "config")]
    pub dev: Option<PathBuf>,
    /// test.tsv
    #[arg(required_unless_present = "config")]
    pub test: Option<PathBuf>,
    /// emotions.txt (label names, one per line)
    #[arg(required_unless_present = "config")]
    pub labels: Option<PathBuf>,
    /// Directory to save the model, metrics.json and checkpoints in.
    #[arg(required_unless_present = "config")]
    pub save_path: Option<PathBuf>,

    /// Experiment config (the train job's resolved config.yaml).
    #[arg(long, conflicts_with_all = ["train", "cuda", "learning_rate", "batch_size", "transformer_model"], requires = "task")]
    pub config: Option<PathBuf>,
    /// Sweep task id (1-based; train.com passes $SGE_TASK_ID).
    #[arg(long)]
    pub task: Option<u32>,
    /// Refuse to run unless the config's body has this sha256 (train.com passes
    /// the value it was rendered with).
    #[arg(long, requires = "config", value_name = "HEX")]
    pub config_sha256: Option<String>,

    /// Train on the GPU (an error if none is usable; without it, the CPU).
    #[arg(long)]
    pub cuda: bool,
    #[arg(long, default_value_t = 5e-5)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 16)]
    pub batch_size: u32,
    /// Hub name or local directory.
    #[arg(long, default_value = "bert-base-uncased")]
    pub transformer_model: String,
    /// Epochs [default: 4; 1 with --tutorial-recipe]
    #[arg(long)]
    pub epochs: Option<u32>,
    #[arg(long, default_value_t = 128)]
    pub max_length: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 0.3)]
    pub threshold: f64,
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f64,
    #[arg(long, default_value_t = 0.1)]
    pub warmup_ratio: f64,
    #[arg(long, value_enum, default_value = "auto")]
    pub precision: PrecisionArg,
    /// Also pick per-label thresholds on dev and report test both ways.
    #[arg(long)]
    pub tune_thresholds: bool,
    /// Continue from SAVE_PATH/checkpoint (config mode always does).
    #[arg(long)]
    pub resume: bool,
    /// The tutorial's exact recipe: fp32, plain Adam, constant lr, dropout 0.5,
    /// random (unbucketed) batches, 1 epoch unless --epochs is given. (The
    /// tutorial never truncates; GoEmotions texts stay far below --max-length 128.)
    #[arg(long)]
    pub tutorial_recipe: bool,
    /// Stop each epoch after N steps (quick tries, benchmarks).
    #[arg(long, value_parser = crate::flag_values::at_least_one::<u64>)]
    pub max_steps: Option<u64>,
    /// Use only the first N training examples.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Skip dev/test evaluation (benchmarks).
    #[arg(long)]
    pub no_eval: bool,
    /// Log the loss every N batches.
    #[arg(long, default_value_t = 100)]
    pub log_every: u32,
    /// Start from random weights: the model directory needs only config.json and
    /// tokenizer.json (benchmarks of a model shape).
    #[arg(long)]
    pub random_init: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PrecisionArg {
    Auto,
    Fp32,
    Tf32,
    Bf16,
}

fn spec_from_args(a: &TrainArgs) -> Result<RunSpec> {
    let need = |o: &Option<PathBuf>, what: &str| {
        o.clone()
            .ok_or_else(|| Error::Usage(format!("missing {what} (or use --config FILE --task N)")))
    };
    let mut params = Train {
        learning_rate: a.learning_rate,
        batch_size: a.batch_size,
        epochs: a.epochs.unwrap_or(if a.tutorial_recipe { 1 } else { 4 }),
        max_length: a.max_length,
        seed: a.seed,
        threshold: a.threshold,
        dropout: a.dropout,
        warmup_ratio: a.warmup_ratio,
        precision: match a.precision {
            PrecisionArg::Auto => Precision::Auto,
            PrecisionArg::Fp32 => Precision::Fp32,
            PrecisionArg::Tf32 => Precision::Tf32,
            PrecisionArg::Bf16 => Precision::Bf16,
        },
        device: device_choice(a.cuda),
        tune_thresholds: a.tune_thresholds,
        log_every: a.log_every,
        ..Train::default()
    };
    if a.tutorial_recipe {
        params.precision = Precision::Fp32;
        params.optimizer = Optimizer::Adam;
        params.weight_decay = 0.0;
        params.warmup_ratio = 0.0;
        params.lr_schedule = LrSchedule::Constant;
        params.dropout = 0.5;
        params.length_buckets = false;
    }
    let mut problems = config::validate::Problems::default();
    config::validate::check_train(&mut problems, "train", &params);
    if let Some(p) = problems.0.first() {
        return Err(Error::Usage(format!(
            "--{}: {}",
            p.path.trim_start_matches("train.").replace('_', "-"),
            p.message
        )));
    }
    Ok(RunSpec {
        data: DataFiles {
            train: need(&a.train, "TRAIN")?,
            dev: need(&a.dev, "DEV")?,
            test: need(&a.test, "TEST")?,
            labels: need(&a.labels, "LABELS")?,
        },
        save_dir: need(&a.save_path, "SAVE_PATH")?,
        model: a.transformer_model.clone(),
        revision: None,
        params,
        resume: a.resume,
        experiment: None,
        task: None,
        swept: Default::default(),
        max_steps_per_epoch: a.max_steps,
        train_limit: a.train_limit,
        skip_eval: a.no_eval,
        print_table: true,
        random_init: a.random_init,
        raise_signal_at_step: None,
        early_stop: None,
    })
}

pub fn run_train(a: &TrainArgs) -> Result<()> {
    let spec = match (&a.config, a.task) {
        (Some(cfg), Some(task)) => {
            if let Some(want) = &a.config_sha256 {
                let text = crate::fsutil::read_to_string(cfg, "reading config")?;
                let got = config::body_sha256(&text);
                if &got != want {
                    return Err(Error::Config(format!(
                        "{}: changed since this job was rendered (sha256 {got}, the job expects {want}): \
                         it was re-rendered while tasks were queued. Resubmit, or render into another --out.",
                        cfg.display()
                    )));
                }
            }
            let mut s = spec_from_config(cfg, task)?;
            s.max_steps_per_epoch = a.max_steps;
            s.train_limit = a.train_limit.or(s.train_limit);
            s
        }
        _ => spec_from_args(a)?,
    };
    trainer::run(&spec).map(|_| ())
}

/// `--cuda` asks for the GPU (an error without one); otherwise the CPU.
fn device_choice(cuda: bool) -> DeviceChoice {
    if cuda {
        DeviceChoice::Cuda
    } else {
        DeviceChoice::Cpu
    }
}

pub(crate) fn device(cuda: bool) -> Result<tch::Device> {
    trainer::choose_device(device_choice(cuda))
}
