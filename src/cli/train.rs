//! `hecjob train`: the tutorial's bert_model.py interface, or `--config --task`
//! as train.com calls it.

use super::data_flags::DataFlags;
use crate::experiment::config::every::CheckpointEvery;
use crate::experiment::config::{self, DeviceChoice, LrSchedule, Optimizer, Precision, Train};
use crate::util::error::{Error, Result};
use crate::worker::train::spec::spec_from_config;
use crate::worker::train::trainer::{self, DataFiles, RunLimits, RunSpec};
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
    /// emotions.txt (label names, one per line); `-` for none (your own data
    /// whose labels are columns, given with --labels, or read from TRAIN)
    #[arg(required_unless_present = "config")]
    pub labels: Option<PathBuf>,
    /// Directory to save the model, metrics.json and checkpoints in.
    #[arg(required_unless_present = "config")]
    pub save_path: Option<PathBuf>,

    /// Experiment config (the train job's resolved config.yaml).
    // Every training flag conflicts: the config decides them all, and a flag
    // that was accepted but not applied would be a silent lie.
    #[arg(long, requires = "task", conflicts_with_all = [
        "train", "cuda", "transformer_model", "resume", "tutorial_recipe", "no_eval", "random_init",
        "learning_rate", "batch_size", "epochs", "max_length", "seed", "threshold", "dropout",
        "warmup_ratio", "weight_decay", "optimizer", "precision", "device", "tune_thresholds",
        "log_every", "lr_schedule", "length_buckets", "max_train_examples",
    ])]
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
    /// Every `train:` key of the config, each optional: what is not given
    /// keeps the config's default (config::Train::default()).
    #[command(flatten)]
    pub params: TrainFlags,
    /// The `data:` keys, for TRAIN DEV TEST in another layout than GoEmotions'.
    #[command(flatten)]
    pub data: DataFlags,
    /// Hub name or local directory.
    #[arg(long, default_value = "bert-base-uncased")]
    pub transformer_model: String,
    /// Continue from SAVE_PATH/checkpoint (config mode always does).
    #[arg(long)]
    pub resume: bool,
    /// The tutorial's exact recipe: fp32, plain Adam, constant lr, dropout 0.5,
    /// random (unbucketed) batches, 1 epoch unless --epochs is given. (The
    /// tutorial never truncates; GoEmotions texts stay far below --max-length 128.)
    #[arg(long)]
    pub tutorial_recipe: bool,
    /// Stop each epoch after N steps (quick tries, benchmarks).
    #[arg(long, value_parser = crate::cli::flag_values::at_least_one::<u64>)]
    pub max_steps: Option<u64>,
    /// Use only the first N training examples.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Skip dev/test evaluation (benchmarks).
    #[arg(long)]
    pub no_eval: bool,
    /// Start from random weights: the model directory needs only config.json and
    /// tokenizer.json (benchmarks of a model shape).
    #[arg(long)]
    pub random_init: bool,
}

/// The `train:` keys as flags. `None` keeps the default of the config's
/// `Train` (or of --tutorial-recipe): no default is written twice.
#[derive(Debug, Default, clap::Args)]
pub struct TrainFlags {
    /// [default: 5e-5]
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// [default: 16]
    #[arg(long)]
    pub batch_size: Option<u32>,
    /// [default: 4; 1 with --tutorial-recipe]
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Tokens per text after truncation [default: 128]
    #[arg(long)]
    pub max_length: Option<u32>,
    /// [default: 42]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Probability above which a label is predicted [default: 0.3]
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Dropout on the pooled output [default: 0.1; 0.5 with --tutorial-recipe]
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Fraction of steps with linear warmup [default: 0.1]
    #[arg(long)]
    pub warmup_ratio: Option<f64>,
    /// [default: 0.01]
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// [default: adamw]
    #[arg(long, value_enum)]
    pub optimizer: Option<Optimizer>,
    /// [default: auto]
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
    /// [default: cpu; cuda with --cuda] (given, it wins over --cuda)
    #[arg(long, value_enum)]
    pub device: Option<DeviceChoice>,
    /// Also pick per-label thresholds on dev and report test both ways.
    #[arg(long)]
    pub tune_thresholds: bool,
    /// Log the loss every N batches [default: 100]
    #[arg(long)]
    pub log_every: Option<u32>,
    /// [default: linear]
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrSchedule>,
    /// Batch texts of similar length [default: true; false with --tutorial-recipe]
    #[arg(long, value_name = "BOOL")]
    pub length_buckets: Option<bool>,
    /// Train on the first N examples only (as --train-limit).
    #[arg(long)]
    pub max_train_examples: Option<u32>,
    /// Commit a step checkpoint when this much wall time has passed since the
    /// last one: 30m, 90s, 2h or off [default: off; train.com passes the
    /// config's, a tenth of h_rt unless set]. Also beside --config.
    #[arg(long, value_name = "DURATION")]
    pub checkpoint_every: Option<CheckpointEvery>,
}

impl TrainFlags {
    /// `base` with every flag that was given written over it.
    pub fn overlay(&self, mut t: Train) -> Train {
        macro_rules! set {
            ($($k:ident),*) => { $(if let Some(v) = self.$k { t.$k = v; })* };
        }
        set!(
            learning_rate,
            batch_size,
            epochs,
            max_length,
            seed,
            threshold,
            dropout,
            warmup_ratio,
            weight_decay,
            optimizer,
            precision,
            device,
            log_every,
            lr_schedule,
            length_buckets
        );
        t.tune_thresholds |= self.tune_thresholds;
        if self.max_train_examples.is_some() {
            t.max_train_examples = self.max_train_examples;
        }
        if let Some(c) = &self.checkpoint_every {
            t.checkpoint_every = Some(c.clone());
        }
        t
    }
}

/// The tutorial's exact recipe, over the config's defaults.
fn tutorial_recipe(mut t: Train) -> Train {
    t.epochs = 1;
    t.precision = Precision::Fp32;
    t.optimizer = Optimizer::Adam;
    t.weight_decay = 0.0;
    t.warmup_ratio = 0.0;
    t.lr_schedule = LrSchedule::Constant;
    t.dropout = 0.5;
    t.length_buckets = false;
    t
}

/// TRAIN DEV TEST LABELS read as the data flags say.
fn data_files(a: &TrainArgs) -> Result<DataFiles> {
    let need = |o: &Option<PathBuf>, what: &str| {
        o.clone()
            .ok_or_else(|| Error::Usage(format!("missing {what} (or use --config FILE --task N)")))
    };
    let labels = need(&a.labels, "LABELS")?;
    let flags = DataFlags {
        labels_file: a
            .data
            .labels_file
            .clone()
            .or((labels.as_os_str() != "-").then_some(labels)),
        ..a.data.clone()
    };
    let (spec, sources) = flags.sources(
        &need(&a.train, "TRAIN")?,
        Some(&need(&a.dev, "DEV")?),
        Some(&need(&a.test, "TEST")?),
    )?;
    Ok(DataFiles {
        spec,
        sources,
        record_dir: None,
    })
}

fn spec_from_args(a: &TrainArgs) -> Result<RunSpec> {
    let need = |o: &Option<PathBuf>, what: &str| {
        o.clone()
            .ok_or_else(|| Error::Usage(format!("missing {what} (or use --config FILE --task N)")))
    };
    let mut base = Train {
        // The tutorial interface trains on the CPU unless --cuda says otherwise.
        device: device_choice(a.cuda),
        ..Train::default()
    };
    if a.tutorial_recipe {
        base = tutorial_recipe(base);
    }
    let params = a.params.overlay(base);
    let train_limit = a
        .train_limit
        .or(params.max_train_examples.map(|n| n as usize));
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
        data: data_files(a)?,
        save_dir: need(&a.save_path, "SAVE_PATH")?,
        model: a.transformer_model.clone(),
        revision: None,
        params,
        resume: a.resume,
        // The tutorial interface can run inside a user's own job script too.
        scheduler_restart: trainer::scheduler_restart_from_env(),
        experiment: None,
        task: None,
        swept: Default::default(),
        limits: RunLimits {
            max_steps_per_epoch: a.max_steps,
            train_limit,
            skip_eval: a.no_eval,
            random_init: a.random_init,
            ..RunLimits::full()
        },
        print_table: Some(crate::report::table4::format),
        early_stop: None,
    })
}

pub fn run_train(a: &TrainArgs) -> Result<()> {
    if a.config.is_some() && a.data != DataFlags::default() {
        return Err(Error::Usage(
            "--config takes the data from the config's data: keys; drop the data flags (or set them in the config)".into(),
        ));
    }
    let spec = match (&a.config, a.task) {
        (Some(cfg), Some(task)) => {
            if let Some(want) = &a.config_sha256 {
                let text = crate::util::fsutil::read_to_string(cfg, "reading config")?;
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
            // When to checkpoint is the job's business, not the sweep point's:
            // train.com passes it, and it wins over the config's.
            if let Some(c) = &a.params.checkpoint_every {
                s.params.checkpoint_every = Some(c.clone());
            }
            s.limits.max_steps_per_epoch = a.max_steps;
            s.limits.train_limit = a.train_limit.or(s.limits.train_limit);
            s.print_table = Some(crate::report::table4::format);
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        f: TrainFlags,
    }

    fn flags(args: &[&str]) -> TrainFlags {
        T::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .unwrap()
            .f
    }

    /// No flag: exactly the config's defaults (no second copy of them here).
    /// Each key the README promises has a flag, the four that had none included.
    #[test]
    fn flags_overlay_the_config_defaults() {
        assert_eq!(flags(&[]).overlay(Train::default()), Train::default());
        let t = flags(&[
            "--weight-decay",
            "0.05",
            "--optimizer",
            "adam",
            "--lr-schedule",
            "constant",
            "--length-buckets",
            "false",
            "--precision",
            "bf16",
            "--batch-size",
            "8",
        ])
        .overlay(Train::default());
        assert_eq!(t.weight_decay, 0.05);
        assert_eq!(t.optimizer, Optimizer::Adam);
        assert_eq!(t.lr_schedule, LrSchedule::Constant);
        assert!(!t.length_buckets);
        assert_eq!(t.precision, Precision::Bf16);
        assert_eq!(t.batch_size, 8);
        assert_eq!(t.learning_rate, Train::default().learning_rate);
    }

    /// Every train key has a flag of the same name.
    #[test]
    fn every_train_key_is_a_flag() {
        use clap::CommandFactory;
        let cmd = T::command();
        for key in config::TRAIN_KEYS {
            assert!(
                cmd.get_arguments().any(|a| a.get_id() == *key),
                "train key {key} has no flag"
            );
        }
    }

    /// Given flags win over the tutorial recipe (it sets the defaults).
    #[test]
    fn explicit_flags_win_over_the_recipe() {
        let t = flags(&["--dropout", "0.2"]).overlay(tutorial_recipe(Train::default()));
        assert_eq!((t.dropout, t.epochs), (0.2, 1));
        assert_eq!(t.optimizer, Optimizer::Adam);
    }

    /// With --config the config decides every training value: a training flag
    /// beside it is refused, not silently ignored.
    #[test]
    fn training_flags_conflict_with_config() {
        #[derive(Debug, Parser)]
        struct Cmd {
            #[command(flatten)]
            a: TrainArgs,
        }
        let base = ["x", "--config", "config.yaml", "--task", "1"];
        assert!(Cmd::try_parse_from(base).is_ok());
        for extra in [
            &["--epochs", "2"][..],
            &["--dropout", "0.2"],
            &["--no-eval"],
            &["--random-init"],
            &["--resume"],
            &["--log-every", "5"],
            &["--max-train-examples", "10"],
        ] {
            let argv: Vec<&str> = base.iter().chain(extra).copied().collect();
            let e = Cmd::try_parse_from(&argv).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{argv:?}"
            );
        }
        // The run's limits still apply to a config task (quick tries, tests).
        let argv = ["x", "--config", "c.yaml", "--task", "1", "--max-steps", "3"];
        assert!(Cmd::try_parse_from(argv).is_ok());
        // So does when to checkpoint (train.com passes it from the job's h_rt).
        let argv = [
            "x",
            "--config",
            "c.yaml",
            "--task",
            "1",
            "--checkpoint-every",
            "90s",
        ];
        let a = Cmd::try_parse_from(argv).unwrap().a;
        assert_eq!(a.params.checkpoint_every.unwrap().secs(), Some(90));
    }
}
