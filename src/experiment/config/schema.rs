//! The experiment config schema: what a YAML file may say, and the defaults.
//! Defaults follow the GoEmotions paper and the HEC tutorial (see README).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub experiment: Experiment,
    #[serde(default)]
    pub cluster: Cluster,
    #[serde(default)]
    pub install: Install,
    #[serde(default)]
    pub paths: Paths,
    #[serde(default)]
    pub data: Data,
    #[serde(default)]
    pub model: Model,
    #[serde(default)]
    pub train: Train,
    /// The search space (config::search): train key → list (grid, the cartesian
    /// product, first key outermost) or distribution (`method: random`), and the
    /// settings `method`, `samples`, `seed`, `early_stop`. Kept as written here
    /// and checked by config::search, which reports problems by key path.
    /// A key written twice is refused, as anywhere else in the config.
    #[serde(default, deserialize_with = "unique_keys")]
    pub sweep: IndexMap<String, serde_yaml_ng::Value>,
    /// Label a corpus with the trained model after the sweep (`predict.com`,
    /// then `merge.com`); absent: no predict stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predict: Option<Predict>,
}

/// `predict:`: the predict array and its merge (experiment/predict.rs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predict {
    /// A model directory saved by `hecjob train` (absolute, or relative to the
    /// config's folder), or `best`: the sweep's best task by the report's rule
    /// (dev macro-F1), chosen when the predict tasks run.
    pub model: String,
    /// Files or globs (`*`, `?` in the file name), absolute or relative to the
    /// config's folder; resolved and counted when the job directory is rendered.
    pub inputs: Vec<String>,
    /// Input rows per array task.
    #[serde(default = "default_shard_size")]
    pub shard_size: u64,
    /// How the shards and the merged predictions are written.
    #[serde(default)]
    pub format: PredictFormat,
    /// Also write every label's probability.
    #[serde(default)]
    pub probabilities: bool,
    /// Probability above which a label is predicted (default: the model's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Texts per forward pass; left out, as `hecjob predict --batch-size
    /// auto`: 64 on the CPU, on a GPU as many as its free memory allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// How the inputs are written (default: from each file's extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_format: Option<PredictInputFormat>,
    /// The text column(s), their join and the id column (default: `data:`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_column: Option<crate::data::spec::TextColumns>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_join: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    /// What the shards compute in, as `hecjob predict --precision`: `auto`
    /// is bf16 on a node whose CPU has it natively, fp32 elsewhere; on a GPU
    /// bf16 or fp16 as the card has tensor cores for.
    #[serde(default, skip_serializing_if = "is_auto")]
    pub precision: PredictPrecision,
    /// `int8`: the encoder's linear layers quantized (CPU), as
    /// `hecjob predict --quantize int8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantize: Option<PredictQuantize>,
}

/// `predict.precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PredictPrecision {
    #[default]
    Auto,
    Fp32,
    Bf16,
    /// GPU only (`cluster.jobs.predict.ngpus`).
    Fp16,
}

impl PredictPrecision {
    pub fn name(self) -> &'static str {
        match self {
            PredictPrecision::Auto => "auto",
            PredictPrecision::Fp32 => "fp32",
            PredictPrecision::Bf16 => "bf16",
            PredictPrecision::Fp16 => "fp16",
        }
    }
}

fn is_auto(p: &PredictPrecision) -> bool {
    *p == PredictPrecision::Auto
}

/// `predict.quantize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PredictQuantize {
    Int8,
}

fn default_shard_size() -> u64 {
    100_000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PredictFormat {
    #[default]
    Jsonl,
    Csv,
}

impl PredictFormat {
    pub fn name(self) -> &'static str {
        match self {
            PredictFormat::Jsonl => "jsonl",
            PredictFormat::Csv => "csv",
        }
    }
}

/// `predict.data_format`: as `hecjob predict --data-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PredictInputFormat {
    Text,
    Csv,
    Tsv,
    Jsonl,
}

impl PredictInputFormat {
    pub fn name(self) -> &'static str {
        match self {
            PredictInputFormat::Text => "text",
            PredictInputFormat::Csv => "csv",
            PredictInputFormat::Tsv => "tsv",
            PredictInputFormat::Jsonl => "jsonl",
        }
    }
}

/// A mapping whose keys are each written once: an `IndexMap` alone keeps the
/// last of two `epochs:` lists and drops the first without a word.
fn unique_keys<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<IndexMap<String, serde_yaml_ng::Value>, D::Error> {
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = IndexMap<String, serde_yaml_ng::Value>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = IndexMap::new();
            while let Some(key) = m.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
                }
                let value = m.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Names the job directory, the Grid Engine jobs (`<name>-train`) and outputs.
    #[serde(deserialize_with = "not_null")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A string that YAML's null (`name:`, `name: ~`, `name: null`) must not fill:
/// serde would read it as the word "null".
fn not_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Option::<String>::deserialize(d)?.ok_or_else(|| {
        serde::de::Error::custom(
            "`name` is empty (YAML null); write a name, e.g. `name: goemotions-bert` (quote it, \"null\", to mean the word)",
        )
    })
}

/// `h_vmem`, `h_rt`, `s_rt`: read into bytes and seconds as the config is parsed.
pub use crate::scheduler::resources::{Memory, TimeLimit};
/// `cluster.scheduler`: the one scheduler enum, kept with the schedulers.
pub use crate::scheduler::SchedulerKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cluster {
    pub scheduler: SchedulerKind,
    /// Queue for the install and download jobs (HEC: serial).
    pub cpu_queue: String,
    /// Queue for the train job (HEC: short, 12 h).
    pub gpu_queue: String,
    /// Root of the paths below: an environment variable reference such as
    /// `$global_storage` (expanded on the compute node) or an absolute path.
    pub storage_root: String,
    /// Environment modules to `module add` in every job (HEC: none needed for hecjob).
    pub modules: Vec<String>,
    /// Shell lines run at the start of every job, after the modules. This is the
    /// one field that is shell code by design; each entry must be a single line.
    pub setup: Vec<String>,
    /// Cap on array tasks running at once (`#$ -tc`, Slurm `--array=1-N%K`).
    pub max_concurrent_tasks: Option<u32>,
    /// Mail when the experiment ends or fails (Grid Engine: `-M`/`-m` on the jobs;
    /// Slurm: one small job after the train array mails a one-line summary, since the
    /// HEC rejects arrays that ask for mail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    /// The site's GPU types, for the report's suggestion of the smallest type
    /// that holds a run's peak GPU memory. Empty: the HEC's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gpu_types: Vec<SiteGpu>,
    pub jobs: Jobs,
    /// The most the queue or partition allows: `hecjob resubmit` raises a
    /// task's requests up to these and no further.
    pub limits: Limits,
    /// Rounds of `hecjob resubmit` run by a small job after the train array,
    /// without a hand on the keyboard (`submit --retries N` sets it too); 0: none.
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u32,
}

/// The most `cluster.retries` rounds: each is a job that waits on the last,
/// and a task still failing after this many needs a person.
pub const MAX_RETRIES: u32 = 10;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// `cluster.limits`: the HEC's by default (its GPU partition `gpu-short` and
/// Grid Engine queue `short` end jobs at 12 hours; no memory ceiling is
/// documented, so none is assumed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The longest wall-clock time a train job may ask for.
    pub max_time: Option<TimeLimit>,
    /// The most memory a train job may ask for.
    pub max_memory: Option<Memory>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_time: Some(TimeLimit::from("12:00:00")),
            max_memory: None,
        }
    }
}

/// One entry of `cluster.gpu_types`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteGpu {
    /// As people call it (`A100-80GB`).
    pub name: String,
    /// The card's memory as NVML reports its total (`80G`, `81920M`).
    pub memory: String,
    /// Slurm's GRES type for it (`nvidia_a100_80gb`), when the site has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gres: Option<String>,
    /// Where it is, or what else to know before asking for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `cluster.notify`: where to mail, and on what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    pub address: String,
    /// When to mail: `end` (every job's end, success or not) and/or `fail`.
    #[serde(default = "Notify::default_on")]
    pub on: Vec<NotifyOn>,
}

impl Notify {
    fn default_on() -> Vec<NotifyOn> {
        vec![NotifyOn::End, NotifyOn::Fail]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyOn {
    End,
    Fail,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            scheduler: SchedulerKind::Sge,
            cpu_queue: "serial".into(),
            gpu_queue: "short".into(),
            storage_root: "$global_storage".into(),
            modules: Vec::new(),
            setup: Vec::new(),
            max_concurrent_tasks: None,
            notify: None,
            gpu_types: Vec::new(),
            jobs: Jobs::default(),
            limits: Limits::default(),
            retries: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Jobs {
    pub install: JobResources,
    pub download: JobResources,
    pub train: JobResources,
    /// The predict array (`predict:`): a CPU job unless it asks for GPUs.
    /// Left out of the resolved config.yaml while it is the default, so
    /// configs without `predict:` resolve as before.
    #[serde(skip_serializing_if = "JobResources::is_predict_default")]
    pub predict: JobResources,
}

impl JobResources {
    fn is_predict_default(&self) -> bool {
        *self == Jobs::default().predict
    }
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            install: JobResources {
                h_vmem: Some("4G".into()),
                h_rt: Some("01:00:00".into()),
                ..JobResources::default()
            },
            download: JobResources {
                h_vmem: Some("4G".into()),
                h_rt: Some("01:00:00".into()),
                ..JobResources::default()
            },
            train: JobResources {
                h_vmem: Some("40G".into()),
                h_rt: Some("02:00:00".into()),
                ncpus: Some(4),
                ngpus: Some(1),
                ..JobResources::default()
            },
            predict: JobResources {
                h_vmem: Some("8G".into()),
                h_rt: Some("04:00:00".into()),
                ncpus: Some(4),
                ..JobResources::default()
            },
        }
    }
}

/// Grid Engine resources of one job. Unset fields are left to the site default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct JobResources {
    /// Overrides `cpu_queue`/`gpu_queue` for this job.
    pub queue: Option<String>,
    /// Memory limit per slot, e.g. `4G` (`-l h_vmem`; Slurm `--mem`), read into bytes.
    pub h_vmem: Option<Memory>,
    /// Wall-clock limit `HH:MM:SS` (`-l h_rt`; Slurm `--time`, which also takes
    /// `D-HH:MM:SS`), read into seconds; the job is killed past it.
    pub h_rt: Option<TimeLimit>,
    /// Soft wall-clock limit (`-l s_rt`): Grid Engine sends SIGUSR1 there, the
    /// worker exits 99 and the task is rescheduled to resume from its checkpoint.
    /// Default for the train job: h_rt minus 10 % (at least 1, at most 10 minutes).
    pub s_rt: Option<TimeLimit>,
    /// `-l ncpus=N` as on the HEC.
    pub ncpus: Option<u32>,
    /// `-l ngpus=N` (Slurm: `--gres=gpu:N`); only the train job may ask for GPUs.
    pub ngpus: Option<u32>,
    /// Slurm only: the GPU's GRES type, e.g. `nvidia_h200_nvl` or
    /// `tesla_v100-pcie-32gb` (`--gres=gpu:TYPE:N`); without it any GPU will do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_type: Option<String>,
    /// Raw extra directives, written as `#$ <directive>` (Slurm: `#SBATCH <directive>`),
    /// e.g. `-M me@lancaster.ac.uk` or `--qos=gpu`.
    pub extra_directives: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum InstallFrom {
    /// `cargo install --path <source>` with libtorch from the PyPI torch wheel.
    #[default]
    Source,
    /// Copy a prebuilt hecjob binary (`install.binary`); no torch install.
    Binary,
}

/// How the install job puts hecjob and libtorch under `$storage_root/hecjob`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Install {
    pub from: InstallFrom,
    /// hecjob source checkout, relative to the job directory (`jobs/<experiment>/`).
    pub source: String,
    /// Prebuilt binary to copy when `from: binary`.
    pub binary: Option<String>,
    /// The PyPI torch version libtorch comes from (tch 0.24 needs 2.11.0).
    pub torch_version: String,
    /// The CUDA build of that torch: `cu130`, `cu128` or `cu126`, installed from
    /// PyTorch's own index for that build (V100 nodes run CUDA <= 12.9, so they need
    /// cu128 or cu126). Unset: PyPI's default wheel (CUDA 13 for torch 2.11.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub torch_cuda: Option<TorchCuda>,
}

/// A CUDA build of torch on PyTorch's package index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TorchCuda {
    Cu130,
    Cu128,
    Cu126,
}

impl TorchCuda {
    pub fn as_str(self) -> &'static str {
        match self {
            TorchCuda::Cu130 => "cu130",
            TorchCuda::Cu128 => "cu128",
            TorchCuda::Cu126 => "cu126",
        }
    }

    /// pip's index for this build.
    pub fn index_url(self) -> String {
        format!("https://download.pytorch.org/whl/{}", self.as_str())
    }

    /// The CUDA major version the build needs from the driver.
    pub fn cuda_major(self) -> u32 {
        match self {
            TorchCuda::Cu130 => 13,
            TorchCuda::Cu128 | TorchCuda::Cu126 => 12,
        }
    }
}

impl Install {
    /// torch's own `__version__` for this config: `2.11.0` (PyPI's wheel) or
    /// `2.11.0+cu128` (PyTorch's index for that CUDA build).
    pub fn torch_build(&self) -> String {
        match self.torch_cuda {
            Some(c) => format!("{}+{}", self.torch_version, c.as_str()),
            None => self.torch_version.clone(),
        }
    }

    /// Where the install job puts hecjob, relative to the storage root
    /// (`$HECJOB_HOME` in the scripts). A build from source gets one folder
    /// per torch build (`hecjob/torch-2.11.0+cu128`), holding its venv and the
    /// hecjob linked against that venv's libtorch: experiments on one storage
    /// root that ask for another build then keep theirs instead of installing
    /// over it. A copied binary links no venv: `hecjob`. Only letters, digits
    /// and `. + -` (validation checks torch_version), as storage paths must.
    pub fn home(&self) -> String {
        match self.from {
            InstallFrom::Source => format!("hecjob/torch-{}", self.torch_build()),
            InstallFrom::Binary => "hecjob".into(),
        }
    }
}

impl Default for Install {
    fn default() -> Self {
        Install {
            from: InstallFrom::Source,
            source: "../..".into(),
            binary: None,
            torch_version: "2.11.0".into(),
            torch_cuda: None,
        }
    }
}

/// Paths, each absolute or relative to `cluster.storage_root`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paths {
    pub data_dir: String,
    /// Exported as HF_HOME; HF_HUB_CACHE and TRANSFORMERS_CACHE are `$HF_HOME/hub`.
    pub model_cache: String,
    /// Each task writes to `<output_dir>/<experiment>/task-<N>/`.
    pub output_dir: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            data_dir: "data/go-emotions".into(),
            model_cache: "huggingface_transformer_models_cache".into(),
            output_dir: "models/go-emotions".into(),
        }
    }
}

/// The `data:` keys, kept with the readers that apply them.
pub use crate::data::spec::DataSpec as Data;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Model {
    /// A hub name (bert-base-uncased, roberta-base, sentence-transformers/all-MiniLM-L6-v2)
    /// or a local directory holding config.json, tokenizer.json and model.safetensors.
    pub name: String,
    pub revision: Option<String>,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            name: "bert-base-uncased".into(),
            revision: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    Adam,
    #[default]
    Adamw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// The fastest setting measured to keep quality (BENCHMARKS.md): TF32
    /// tensor-core matmuls on CUDA; bf16 autocast on a CPU with native bf16
    /// (AMX-BF16 or AVX512-BF16), fp32 on other CPUs.
    #[default]
    Auto,
    /// Plain fp32 everywhere (the tutorial's exact numerics).
    Fp32,
    /// fp32 weights and activations, matmuls on TF32 tensor cores (CUDA).
    Tf32,
    /// bf16 matmuls and attention with fp32 master weights, LayerNorms and
    /// residual stream (what torch.autocast does).
    Bf16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA when available, else CPU.
    #[default]
    Auto,
    Cuda,
    Cpu,
}

/// Defines [`Train`] and [`TRAIN_KEYS`] from one field list, so the keys a
/// sweep may name cannot drift from the struct serde reads.
macro_rules! train_struct {
    ($($(#[$doc:meta])* $key:ident: $ty:ty,)*) => {
        /// Training hyper-parameters. Every key may be swept.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct Train {
            $($(#[$doc])* pub $key: $ty,)*
        }

        /// The keys of `train`, for sweep validation and suggestions (from the struct).
        pub const TRAIN_KEYS: &[&str] = &[$(stringify!($key)),*];
    };
}

train_struct! {
    learning_rate: f64,
    batch_size: u32,
    epochs: u32,
    /// Tokens per text after truncation (the paper: 50; GoEmotions texts are short).
    max_length: u32,
    seed: u64,
    /// A label is predicted when its probability is above this (Table 4: 0.3).
    threshold: f64,
    /// Dropout on the pooled output (paper 0.1; tutorial 0.5).
    dropout: f64,
    /// Fraction of steps with linear warmup, then linear decay to 0 (paper 0.1).
    warmup_ratio: f64,
    weight_decay: f64,
    optimizer: Optimizer,
    precision: Precision,
    device: DeviceChoice,
    /// Also pick per-label thresholds on dev and report test both ways.
    tune_thresholds: bool,
    /// Log the training loss every N batches (tutorial: 100).
    log_every: u32,
    /// `linear`: warmup then linear decay to 0 (BERT); `constant` (the tutorial).
    lr_schedule: LrSchedule,
    /// Batch texts of similar length (sorted within shuffled chunks) to cut
    /// padding; `false` pads random batches as the tutorial does.
    length_buckets: bool,
    /// Train on the first N examples only (quick tries of a whole pipeline).
    max_train_examples: Option<u32>,
    /// Commit a step checkpoint when this much wall time has passed since the
    /// last one (`30m`, `90s`, `2h`, or `off`), so a kill without warning loses
    /// at most that much. Default: a tenth of the train job's h_rt, at least
    /// 10 minutes (off without a limit).
    checkpoint_every: Option<super::every::CheckpointEvery>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    #[default]
    Linear,
    Constant,
}

impl Default for Train {
    fn default() -> Self {
        Train {
            learning_rate: 5e-5,
            batch_size: 16,
            epochs: 4,
            max_length: 128,
            seed: 42,
            threshold: 0.3,
            dropout: 0.1,
            warmup_ratio: 0.1,
            weight_decay: 0.01,
            optimizer: Optimizer::Adamw,
            precision: Precision::Auto,
            device: DeviceChoice::Auto,
            tune_thresholds: false,
            log_every: 100,
            lr_schedule: LrSchedule::Linear,
            length_buckets: true,
            max_train_examples: None,
            checkpoint_every: None,
        }
    }
}

impl Jobs {
    /// A job block in the YAML replaces only the keys it names: the rest keep
    /// the defaults above (so `train: {h_rt: "04:00:00"}` still asks for a GPU).
    /// `ngpus: 0` asks for none.
    /// `scheduler` reads and writes the time limits (the soft limit's default).
    pub fn fill_defaults(&mut self, scheduler: SchedulerKind) {
        let d = Jobs::default();
        for (job, def) in [
            (&mut self.install, d.install),
            (&mut self.download, d.download),
            (&mut self.train, d.train),
        ] {
            job.h_vmem = job.h_vmem.take().or(def.h_vmem);
            job.h_rt = job.h_rt.take().or(def.h_rt);
            job.ncpus = job.ncpus.or(def.ncpus);
            job.ngpus = job.ngpus.or(def.ngpus);
        }
        // Only the train job checkpoints, so only it gets a soft limit by default.
        if self.train.s_rt.is_none() {
            let dialect = scheduler.dialect();
            self.train.s_rt = self
                .train
                .h_rt
                .as_ref()
                .filter(|t| dialect.is_time(t.as_str()))
                .map(TimeLimit::secs)
                // Past u64: a typo the check names; no soft limit from it.
                .filter(|&h| h < u64::MAX)
                .and_then(|h| {
                    let margin = crate::scheduler::resources::soft_margin(h);
                    (h >= 2 * margin)
                        .then(|| TimeLimit::new(h - margin, dialect.format_time(h - margin)))
                });
        }
    }
}
