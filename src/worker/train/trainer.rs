//! The training run: data → tokens → epochs (train, dev macro-F1, checkpoint)
//! → best epoch on test → Table 4, metrics.json and the saved model.

use super::batches::{epoch_batches, predict_probs, sync, Rng, Stager};
use super::checkpoint::{self, Checkpoint, CheckpointState};
use super::optim::{learning_rate, FlatAdam};
use super::runlog::RunLog;
use crate::data::tsv;
use crate::experiment::config::{DeviceChoice, LrSchedule, Precision, Train};
use crate::jobdir::metrics::{self, EpochRecord, Evaluation, LossPoint, RunMetrics};
use crate::jobdir::RunStatus;
use crate::util::error::{Error, Result};
use crate::util::progress::Progress;
use crate::util::units::bytes as human_bytes;
use crate::worker::model::saved::{HecjobMeta, LoadedModel};
use crate::worker::model::weights::{self, Head};
use crate::worker::monitor::Monitor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tch::{Device, Kind, Reduction, Tensor};

/// The four GoEmotions files.
#[derive(Debug, Clone)]
pub struct DataFiles {
    pub train: PathBuf,
    pub dev: PathBuf,
    pub test: PathBuf,
    pub labels: PathBuf,
}

impl DataFiles {
    pub fn in_dir(dir: &Path) -> DataFiles {
        DataFiles {
            train: dir.join("train.tsv"),
            dev: dir.join("dev.tsv"),
            test: dir.join("test.tsv"),
            labels: dir.join("emotions.txt"),
        }
    }
}

/// Everything one run needs, from the tutorial's flags or a config task.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub data: DataFiles,
    pub save_dir: PathBuf,
    pub model: String,
    pub revision: Option<String>,
    pub params: Train,
    /// Continue from `save_dir/checkpoint` when there is one.
    pub resume: bool,
    /// This process is the scheduler running the task again after it stopped
    /// (see [`scheduler_restart_from_env`]), not a first run or a user's own
    /// `--resume`: only such an attempt that again finishes no epoch is failed
    /// instead of being requeued once more.
    pub scheduler_restart: bool,
    pub experiment: Option<String>,
    pub task: Option<u32>,
    pub swept: serde_json::Map<String, serde_json::Value>,
    /// How much of the run to do (everything, unless a benchmark or test says less).
    pub limits: RunLimits,
    /// Print Table 4 at the end.
    pub print_table: bool,
    /// Early stopping of a sweep task (`sweep.early_stop`), if configured.
    pub early_stop: Option<EarlyStopSpec>,
}

/// The knobs that make a run smaller or stranger than a full one (benchmarks,
/// smoke tests, quick tries, tests of the signal path), kept together so each
/// caller says only what it changes: `RunLimits { skip_eval: true, ..RunLimits::full() }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunLimits {
    /// Stop each epoch after this many steps (benchmarks, smoke tests).
    pub max_steps_per_epoch: Option<u64>,
    /// Use only the first N training examples (tests, quick tries).
    pub train_limit: Option<usize>,
    /// Skip dev/test evaluation (benchmarks).
    pub skip_eval: bool,
    /// Start from random weights (benchmarks of a model shape).
    pub random_init: bool,
    /// Raise SIGUSR1 at this global step (tests of the interrupt/resume path
    /// through the real signal handler).
    pub raise_signal_at_step: Option<u64>,
}

impl RunLimits {
    /// A full run: every step, every example, evaluation, pretrained weights, no signal.
    pub fn full() -> RunLimits {
        RunLimits::default()
    }
}

/// Where a sweep task records its rung results and how it judges them.
#[derive(Debug, Clone)]
pub struct EarlyStopSpec {
    /// The job directory (its `rungs/` folder is shared by the array's tasks).
    pub job_dir: PathBuf,
    /// sha256 of the config body: records of another render are not compared.
    pub config_sha256: String,
    pub rule: crate::experiment::config::search::EarlyStop,
}

const NO_DEV_F1: f64 = -1.0;
/// Examples per forward pass when scoring dev and test (no gradients kept).
const EVAL_BATCH: usize = 128;

/// Which signal asked us to stop (0: none). Checked before every batch, so a
/// signal during an epoch's evaluation or checkpoint takes effect at the first
/// batch of the next epoch, once that checkpoint is complete. After the last
/// epoch the run finishes its test evaluation (seconds) rather than stopping.
static STOP_SIGNAL: AtomicUsize = AtomicUsize::new(0);

fn install_signal_handlers() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
    // SIGUSR1: Grid Engine's warning at s_rt (with -notify); SIGUSR2: before a kill.
    for sig in [SIGINT, SIGTERM, SIGUSR1, SIGUSR2] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            signal_hook::low_level::register(sig, move || {
                STOP_SIGNAL.store(sig as usize, Ordering::SeqCst);
            })
        }
        .map_err(|e| Error::Internal(format!("installing signal handler: {e}")))?;
    }
    Ok(())
}

fn signal_name(sig: usize) -> &'static str {
    match sig as i32 {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        signal_hook::consts::SIGUSR1 => "SIGUSR1 (the scheduler's warning before the time limit: Grid Engine's s_rt, Slurm's --signal)",
        signal_hook::consts::SIGUSR2 => "SIGUSR2 (Grid Engine's warning before a kill)",
        _ => "a signal",
    }
}

/// Whether the scheduler is running this task again: Grid Engine sets
/// RESTARTED=1 on a rescheduled task; Slurm sets SLURM_RESTART_COUNT (absent or
/// 0 on the first run) on a requeued one. A user's `hecjob train --resume` has neither.
pub fn scheduler_restart_from_env() -> bool {
    scheduler_restart(crate::util::env_vars::get)
}

fn scheduler_restart(get: impl Fn(&str) -> Option<String>) -> bool {
    get(crate::util::env_vars::RESTARTED).is_some_and(|v| v.trim() == "1")
        || get(crate::util::env_vars::SLURM_RESTART_COUNT)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

pub fn choose_device(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto => Ok(Device::cuda_if_available()),
        DeviceChoice::Cuda => {
            if tch::Cuda::is_available() {
                Ok(Device::Cuda(0))
            } else {
                Err(Error::Training(
                    "--cuda (device: cuda) was asked for but libtorch sees no usable GPU: on the HEC, submit to the GPU \
                     cluster (switch-gpu, a GPU queue, -l ngpus=1); check nvidia-smi and that LD_LIBRARY_PATH reaches \
                     the CUDA libtorch. Use device: cpu to train on the CPU deliberately."
                        .into(),
                ))
            }
        }
    }
}

fn compute_kind(p: Precision, device: Device) -> Option<Kind> {
    match (p, device) {
        (Precision::Bf16, Device::Cuda(_)) => Some(Kind::BFloat16),
        _ => None,
    }
}

/// TF32 for cuBLAS matmuls. libtorch reads this override once, at its first
/// matmul, so it must be set before any CUDA work (tch has no setter for
/// torch.backends.cuda.matmul.allow_tf32).
fn enable_tf32(p: Precision, device: Device) -> bool {
    let on = matches!(
        (p, device),
        (Precision::Tf32 | Precision::Auto, Device::Cuda(_))
    );
    if on {
        std::env::set_var(crate::util::env_vars::TORCH_ALLOW_TF32_CUBLAS_OVERRIDE, "1");
    }
    on
}

struct Encoded {
    ids: Vec<Vec<i64>>,
    labels: Vec<Vec<usize>>,
}

fn encode(model: &LoadedModel, examples: &[tsv::Example]) -> Result<Encoded> {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    Ok(Encoded {
        ids: model.encoder.encode_all(&texts)?,
        labels: examples.iter().map(|e| e.labels.clone()).collect(),
    })
}

/// Every parameter that shapes the run, including the limits given on the
/// command line: a checkpoint is resumed only when all of them match.
fn params_json(spec: &RunSpec) -> serde_json::Map<String, serde_json::Value> {
    let mut m = match serde_json::to_value(&spec.params) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    if let Some(n) = spec.limits.max_steps_per_epoch {
        m.insert("max_steps_per_epoch".into(), n.into());
    }
    if let Some(n) = spec.limits.train_limit {
        m.insert("train_limit".into(), n.into());
    }
    m
}

fn write_metrics(save_dir: &Path, m: &RunMetrics) -> Result<()> {
    let json = serde_json::to_string_pretty(m).expect("json");
    crate::util::fsutil::write_atomic(&save_dir.join("metrics.json"), json.as_bytes())
}

/// Train, evaluate, save. Returns the final metrics (also in metrics.json).
/// A run that fails leaves `status: failed` and the reason in metrics.json.
pub fn run(spec: &RunSpec) -> Result<RunMetrics> {
    // One run per output directory; a refused run leaves the holder's files alone.
    let _lock = crate::util::run_lock::OutputLock::acquire(&spec.save_dir)?;
    let result = run_inner(spec);
    if let Err(e) = &result {
        if !matches!(e, Error::Interrupted(_)) {
            mark_failed(&spec.save_dir, &e.to_string());
        }
    }
    result
}

/// Patch an existing metrics.json to `failed` (a run that failed before its
/// first epoch has none; the scheduler's record tells that story).
fn mark_failed(save_dir: &Path, message: &str) {
    let path = save_dir.join("metrics.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&text) {
        v["status"] = RunStatus::Failed.as_str().into();
        v["message"] = message.into();
        let json = serde_json::to_string_pretty(&v).expect("json");
        if let Err(e) = crate::util::fsutil::write_atomic(&path, json.as_bytes()) {
            eprintln!("warning: could not mark {} failed: {e}", path.display());
        }
    }
}

/// What the run trains with, prepared before the first step: the device and
/// compute kind, the labels, the model, the three encoded splits, the
/// optimizer and the learning-rate schedule.
struct Prepared {
    device: Device,
    kind: Option<Kind>,
    labels: Vec<String>,
    lm: LoadedModel,
    pad_id: i64,
    train: Encoded,
    dev: Encoded,
    test: Encoded,
    opt: FlatAdam,
    /// Token count of each training text (batches are built from these).
    lengths: Vec<usize>,
    steps_per_epoch: u64,
    total_steps: u64,
    warmup: u64,
    decay: bool,
}

/// Where the run stands between epochs: after `resume`, the epoch to start
/// at and the state carried over from the checkpoint.
struct Position {
    start_epoch: u32,
    global_step: u64,
    /// F1 lies in [0, 1]; -1 means "none yet" and survives JSON (infinities do not).
    best_dev_f1: f64,
    /// What the earlier attempts of the run used (none on a fresh start).
    earlier: checkpoint::Totals,
}

/// The live parts of a run that every epoch uses and an interruption ends.
struct Live {
    t_start: Instant,
    ckpt: Checkpoint,
    /// Taken (and finished) by an interruption.
    monitor: Option<Monitor>,
    /// What the earlier attempts used ([`Position::earlier`]).
    earlier: checkpoint::Totals,
    /// The checkpoint is this run's: resumed or committed by this attempt
    /// (one left by another run is not written to).
    checkpoint_ours: bool,
    runlog: RunLog,
    stager: Stager,
}

impl Live {
    /// Wall seconds of every attempt so far, this one's included.
    fn seconds(&self) -> f64 {
        self.earlier.seconds + self.t_start.elapsed().as_secs_f64()
    }

    /// Every attempt's measures so far, for the checkpoint.
    fn totals(&self) -> checkpoint::Totals {
        checkpoint::Totals {
            attempts: self.earlier.attempts + 1,
            seconds: self.seconds(),
            monitor: self
                .monitor
                .as_ref()
                .map_or_else(|| self.earlier.monitor.clone(), Monitor::totals),
        }
    }
}

/// What one epoch's training steps produced.
struct EpochResult {
    train_loss: f64,
    seconds: f64,
    steps: u64,
    timed_seconds: Option<f64>,
    waited: Duration,
}

/// The run in named phases: prepare → resume → for each epoch, train it and
/// end it (dev evaluation, best save, metrics, rung, checkpoint) → finish.
fn run_inner(spec: &RunSpec) -> Result<RunMetrics> {
    // First of all, so a signal during model loading or tokenization is
    // caught too (the default action would kill the task with no exit 99).
    STOP_SIGNAL.store(0, Ordering::SeqCst);
    install_signal_handlers()?;
    let t_start = Instant::now();
    let mut run = prepare(spec)?;
    std::fs::create_dir_all(&spec.save_dir)
        .map_err(|e| Error::io("creating output directory", &spec.save_dir, e))?;
    let ckpt = Checkpoint::in_run(&spec.save_dir);
    let mut metrics = new_metrics(spec, &run);
    let mut pos = resume(spec, &ckpt, &mut run, &mut metrics)?;
    let p = &spec.params;
    let last_dev = metrics
        .epochs
        .last()
        .and_then(|e| e.dev.as_ref())
        .map(|d| d.macro_avg.f1);
    let mut live = Live {
        t_start,
        ckpt,
        monitor: Some(Monitor::start_after(
            Duration::from_millis(500),
            run.device != Device::Cpu,
            pos.earlier.monitor.clone(),
        )),
        earlier: pos.earlier.clone(),
        checkpoint_ours: pos.start_epoch > 1,
        runlog: RunLog::start(
            &spec.save_dir,
            p.epochs,
            run.total_steps,
            pos.global_step,
            last_dev,
        ),
        stager: Stager::new(run.device),
    };
    let first_epoch_of_attempt = pos.start_epoch;
    for epoch in pos.start_epoch..=p.epochs {
        let attempt = Attempt {
            scheduler_restart: spec.scheduler_restart,
            finished_an_epoch: epoch > first_epoch_of_attempt,
        };
        let trained = train_epoch(
            spec,
            &mut run,
            &mut pos,
            &mut live,
            &mut metrics,
            epoch,
            attempt,
        )?;
        if !end_epoch(
            spec,
            &mut run,
            &mut pos,
            &mut live,
            &mut metrics,
            epoch,
            trained,
        )? {
            break;
        }
    }
    finish(spec, &run, live, metrics)
}

/// Phase 1: threads, device and precision, the data, the model, the encoded
/// splits, the optimizer and the schedule.
fn prepare(spec: &RunSpec) -> Result<Prepared> {
    let p = &spec.params;
    // Use the cores Grid Engine granted, not every core of a shared node.
    if let Some(n) = crate::util::env_vars::get(crate::util::env_vars::NSLOTS)
        .and_then(|v| v.parse::<i32>().ok())
    {
        if n > 0 {
            tch::set_num_threads(n);
        }
    }
    let device = choose_device(p.device)?;
    if p.precision == Precision::Bf16 && device == Device::Cpu {
        // It would silently train in fp32 (bf16 autocast is CUDA-only here).
        return Err(Error::Usage(
            "precision bf16 needs a GPU (here the device is the CPU, where hecjob trains in fp32): use fp32 or auto on the CPU, or --cuda / device: cuda".into(),
        ));
    }
    let kind = compute_kind(p.precision, device);
    let tf32 = enable_tf32(p.precision, device);
    if let Device::Cuda(_) = device {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    println!(
        "hecjob train: model {} on {:?}{}, batch {}, lr {:e}, {} epoch{}",
        spec.model,
        device,
        if kind.is_some() {
            " (bf16 autocast, fp32 master weights)"
        } else if tf32 {
            " (fp32, TF32 matmuls)"
        } else {
            " (fp32)"
        },
        p.batch_size,
        p.learning_rate,
        p.epochs,
        if p.epochs == 1 { "" } else { "s" }
    );
    let (labels, train_ex, dev_ex, test_ex) = read_data(spec)?;

    tch::manual_seed(p.seed as i64);
    let model_dir = crate::worker::model::saved::resolve(&spec.model, spec.revision.as_deref())?;
    let mut lm = LoadedModel::new_for_training(
        &model_dir,
        &labels,
        p.dropout,
        p.max_length as usize,
        device,
        spec.limits.random_init,
    )?;
    lm.model.encoder.compute_kind = kind;
    let pad_id = lm.config.pad_token_id;

    let t_tok = Instant::now();
    let train = encode(&lm, &train_ex)?;
    let dev = encode(&lm, &dev_ex)?;
    let test = encode(&lm, &test_ex)?;
    println!(
        "tokenized {} / {} / {} texts in {:.1} s",
        train.ids.len(),
        dev.ids.len(),
        test.ids.len(),
        t_tok.elapsed().as_secs_f64()
    );

    let opt = FlatAdam::new(&lm.vs, p.optimizer, p.weight_decay);
    let lengths: Vec<usize> = train.ids.iter().map(Vec::len).collect();
    let batches_per_epoch = lengths.len().div_ceil(p.batch_size as usize) as u64;
    let steps_per_epoch = spec
        .limits
        .max_steps_per_epoch
        .map_or(batches_per_epoch, |m| m.min(batches_per_epoch));
    let total_steps = steps_per_epoch * u64::from(p.epochs);
    Ok(Prepared {
        device,
        kind,
        labels,
        lm,
        pad_id,
        train,
        dev,
        test,
        opt,
        lengths,
        steps_per_epoch,
        total_steps,
        warmup: (p.warmup_ratio * total_steps as f64).round() as u64,
        decay: p.lr_schedule == LrSchedule::Linear,
    })
}

/// The labels and the three splits (train cut to `train_limit`; dev and test
/// empty with `skip_eval`, and otherwise required to be non-empty).
#[allow(clippy::type_complexity)]
fn read_data(
    spec: &RunSpec,
) -> Result<(
    Vec<String>,
    Vec<tsv::Example>,
    Vec<tsv::Example>,
    Vec<tsv::Example>,
)> {
    let labels = tsv::read_emotions(&spec.data.labels)?;
    let mut train_ex = tsv::read_split(&spec.data.train, labels.len())?;
    if let Some(n) = spec.limits.train_limit {
        train_ex.truncate(n);
    }
    let (dev_ex, test_ex) = if spec.limits.skip_eval {
        (Vec::new(), Vec::new())
    } else {
        (
            tsv::read_split(&spec.data.dev, labels.len())?,
            tsv::read_split(&spec.data.test, labels.len())?,
        )
    };
    if train_ex.is_empty() {
        return Err(Error::Data(format!(
            "{}: no training examples",
            spec.data.train.display()
        )));
    }
    // An empty split would report F1 0.0000 (or NaN) and exit 0.
    for (ex, path, role) in [
        (&dev_ex, &spec.data.dev, "dev picks the best epoch"),
        (&test_ex, &spec.data.test, "test gives Table 4"),
    ] {
        if ex.is_empty() && !spec.limits.skip_eval {
            return Err(Error::Data(format!(
                "{}: no examples; {role}, so it needs at least one (or pass --no-eval)",
                path.display()
            )));
        }
    }
    Ok((labels, train_ex, dev_ex, test_ex))
}

fn new_metrics(spec: &RunSpec, run: &Prepared) -> RunMetrics {
    RunMetrics {
        schema_version: metrics::METRICS_SCHEMA_VERSION,
        hecjob_version: env!("CARGO_PKG_VERSION").into(),
        status: RunStatus::Running,
        experiment: spec.experiment.clone(),
        task: spec.task,
        swept: spec.swept.clone(),
        params: params_json(spec),
        model: spec.model.clone(),
        device: format!("{:?}", run.device),
        labels: run.labels.clone(),
        epochs: Vec::new(),
        best_epoch: None,
        test: None,
        test_tuned: None,
        loss_log: Vec::new(),
        memory: Default::default(),
        total_seconds: 0.0,
        save_seconds: None,
        message: None,
        rungs: Vec::new(),
        stopped_early: None,
    }
}

/// Phase 2: continue from the checkpoint when asked and it belongs to this
/// run (same parameters and model): weights, optimizer state, the epochs and
/// losses so far. A checkpoint of another run is removed and the run starts over.
fn resume(
    spec: &RunSpec,
    ckpt: &Checkpoint,
    run: &mut Prepared,
    metrics: &mut RunMetrics,
) -> Result<Position> {
    let mut pos = Position {
        start_epoch: 1,
        global_step: 0,
        best_dev_f1: NO_DEV_F1,
        earlier: checkpoint::Totals::default(),
    };
    if let (true, checkpoint::Found::Unusable(why)) = (spec.resume, ckpt.find()) {
        println!("note: not resuming: {why}; starting over");
    }
    if spec.resume && ckpt.exists() {
        let (state, dir) = ckpt.read()?;
        if !checkpoint::same_params(&state.metrics.params, &metrics.params)
            || state.metrics.model != metrics.model
        {
            println!(
                "note: {} was written by a run with other parameters or another model; starting over",
                ckpt.dir.display()
            );
            ckpt.remove();
        } else {
            weights::load(
                &run.lm.vs,
                &dir.join("model.safetensors"),
                run.lm.config.model_type,
                Head::Required,
            )?;
            run.opt.load(&dir.join("optimizer.safetensors"))?;
            restore_best(spec, run, &state, &dir)?;
            pos.start_epoch = state.epochs_done + 1;
            pos.global_step = state.global_step;
            pos.best_dev_f1 = state.best_dev_f1;
            // A checkpoint of an older hecjob kept only its attempt's seconds.
            pos.earlier = state.totals.clone().unwrap_or(checkpoint::Totals {
                attempts: 1,
                seconds: state.metrics.total_seconds,
                monitor: Default::default(),
            });
            metrics.epochs = state.metrics.epochs;
            metrics.loss_log = state.metrics.loss_log;
            metrics.best_epoch = state.metrics.best_epoch;
            metrics.rungs = state.metrics.rungs;
            // metrics.json as the checkpoint has it, beside the model just restored.
            let mut now = metrics.clone();
            now.memory = state.metrics.memory;
            now.total_seconds = pos.earlier.seconds;
            write_metrics(&spec.save_dir, &now)?;
            println!(
                "resuming from {} after epoch {}",
                dir.display(),
                state.epochs_done
            );
        }
    }
    Ok(pos)
}

/// The output folder's best model made the checkpoint's best epoch's. An epoch
/// that beats the best is saved there before it is committed; a kill in
/// between leaves weights the checkpoint's best epoch did not produce, and the
/// rerun of that epoch need not beat the best again (GPUs are nondeterministic),
/// so nothing else would overwrite them before Table 4 is taken from them.
fn restore_best(spec: &RunSpec, run: &Prepared, state: &CheckpointState, dir: &Path) -> Result<()> {
    let Some(best) = state.metrics.best_epoch else {
        return Ok(());
    };
    let meta = meta(spec, best, None);
    if let Some(w) = Checkpoint::best_weights(dir) {
        crate::util::fsutil::link_or_copy_atomic(&w, &spec.save_dir.join("model.safetensors"))?;
        run.lm.save_beside_weights(&spec.save_dir, &meta)
    } else if best == state.epochs_done {
        // A checkpoint from before best weights were kept: its own weights
        // (loaded) are the best epoch's.
        run.lm.save(&spec.save_dir, &meta)
    } else {
        Ok(())
    }
}

/// Test hook ([`crate::util::env_vars::HECJOB_TEST_KILL_AT`]): SIGKILL this process
/// at `point` of `epoch`, as h_rt or a node crash would: no handler, no cleanup.
fn kill_point(point: &str, epoch: u32) {
    if crate::util::env_vars::get(crate::util::env_vars::HECJOB_TEST_KILL_AT)
        .is_some_and(|v| v == format!("{point}:{epoch}"))
    {
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGKILL);
    }
}

/// Phase 3: one epoch's training steps. A stop signal, checked before every
/// step, ends the run here (metrics written, exit 99 or a failure; see
/// [`interrupted`]).
// A little over 100 lines, kept whole: the loop's running sums, timers and
// progress bar live exactly for the epoch; the step itself is `step`.
fn train_epoch(
    spec: &RunSpec,
    run: &mut Prepared,
    pos: &mut Position,
    live: &mut Live,
    metrics: &mut RunMetrics,
    epoch: u32,
    attempt: Attempt,
) -> Result<EpochResult> {
    let p = &spec.params;
    let device = run.device;
    // Seeds per epoch: dropout masks and batch order depend only on (seed,
    // epoch), so a run resumed at an epoch boundary equals an uninterrupted one.
    tch::manual_seed(p.seed as i64 + i64::from(epoch));
    let mut rng = Rng::new(p.seed, u64::from(epoch));
    let batches = epoch_batches(
        &run.lengths,
        p.batch_size as usize,
        p.length_buckets,
        &mut rng,
    );
    let log_every = u64::from(p.log_every.max(1));
    let t_epoch = Instant::now();
    let mut progress = Progress::new(
        &format!("epoch {epoch}/{}", p.epochs),
        run.steps_per_epoch,
        Duration::from_secs(30),
    );
    // Loss sums stay on the device: reading a value forces a sync, so we
    // read only when logging.
    let mut epoch_loss = Tensor::zeros([], (Kind::Float, device));
    let mut window_loss = Tensor::zeros([], (Kind::Float, device));
    let mut steps_done = 0u64;
    let mut t_timed: Option<Instant> = None;
    // Host time spent waiting for the device this epoch (ring wraps and
    // loss reads): the share says which side bounds a GPU step.
    let _ = live.stager.take_waited();
    let mut waited = Duration::ZERO;
    for (bi, idx) in batches
        .iter()
        .take(run.steps_per_epoch as usize)
        .enumerate()
    {
        if spec.limits.raise_signal_at_step == Some(pos.global_step) {
            let _ = signal_hook::low_level::raise(signal_hook::consts::SIGUSR1);
        }
        let sig = STOP_SIGNAL.load(Ordering::SeqCst);
        if sig != 0 {
            progress.finish();
            return Err(interrupted(spec, metrics, live, sig, epoch, attempt));
        }
        let (loss, lr) = step(spec, run, pos.global_step, &mut live.stager, idx)?;
        pos.global_step += 1;
        steps_done += 1;
        if steps_done == metrics::WARMUP_STEPS {
            sync(device);
            t_timed = Some(Instant::now());
        }
        tch::no_grad(|| {
            let l = loss.detach();
            let _ = epoch_loss.g_add_(&l);
            let _ = window_loss.g_add_(&l);
        });
        let batch_no = bi as u64 + 1;
        if batch_no % log_every == 0 {
            let t_read = Instant::now();
            let avg = window_loss.double_value(&[]) / log_every as f64;
            waited += t_read.elapsed();
            let _ = window_loss.zero_();
            check_finite(avg, pos.global_step, lr)?;
            progress.println(&format!("loss at batch {batch_no}: {avg:.4}"));
            metrics.loss_log.push(LossPoint {
                step: pos.global_step,
                epoch,
                loss: avg,
            });
            let sample = live.monitor.as_ref().and_then(Monitor::latest);
            live.runlog.step(pos.global_step, epoch, avg, lr, sample);
        }
        progress.inc(1, || format!("lr {lr:.2e}"));
    }
    progress.finish();
    let train_loss = epoch_loss.double_value(&[]) / steps_done.max(1) as f64;
    let timed_seconds = t_timed.map(|t| t.elapsed().as_secs_f64());
    check_finite(train_loss, pos.global_step, p.learning_rate)?;
    Ok(EpochResult {
        train_loss,
        seconds: t_epoch.elapsed().as_secs_f64(),
        steps: steps_done,
        timed_seconds,
        waited,
    })
}

/// One optimizer step on one batch, at `global_step` of the schedule: returns
/// the batch's loss (still on the device) and the learning rate used.
fn step(
    spec: &RunSpec,
    run: &mut Prepared,
    global_step: u64,
    stager: &mut Stager,
    idx: &[usize],
) -> Result<(Tensor, f64)> {
    let batch = stager.batch(
        &run.train.ids,
        &run.train.labels,
        idx,
        run.pad_id,
        run.labels.len(),
    );
    let logits = run.lm.model.forward_t(&batch.ids, &batch.mask, true);
    let loss = logits.binary_cross_entropy_with_logits::<Tensor>(
        &batch.targets,
        None,
        None,
        Reduction::Mean,
    );
    let grads = run.opt.backward(&loss)?;
    let lr = learning_rate(
        spec.params.learning_rate,
        global_step,
        run.warmup,
        run.total_steps,
        run.decay,
    );
    run.opt.step(&grads, lr)?;
    Ok((loss, lr))
}

/// Phase 4: the end of an epoch: dev evaluation, the epoch record, the best
/// model saved, metrics.json written, the early-stopping rung, and the
/// checkpoint the next attempt resumes from. Returns whether to go on.
fn end_epoch(
    spec: &RunSpec,
    run: &mut Prepared,
    pos: &mut Position,
    live: &mut Live,
    metrics: &mut RunMetrics,
    epoch: u32,
    t: EpochResult,
) -> Result<bool> {
    let p = &spec.params;
    let device = run.device;
    live.runlog.evaluating(pos.global_step, epoch);
    let dev_eval = if spec.limits.skip_eval {
        None
    } else {
        let probs = predict_probs(&run.lm.model, &run.dev.ids, run.pad_id, EVAL_BATCH, device);
        Some(metrics::evaluate(
            &probs,
            &run.dev.labels,
            &run.labels,
            &vec![p.threshold; run.labels.len()],
        ))
    };
    let dev_f1 = dev_eval.as_ref().map_or(f64::NAN, |e| e.macro_avg.f1);
    println!(
        "epoch {epoch}: average loss {:.4}, {:.1} s ({:.1} steps/s), dev macro-F1 {dev_f1:.4}",
        t.train_loss,
        t.seconds,
        t.steps as f64 / t.seconds
    );
    let gpu_wait_seconds = (device != Device::Cpu).then(|| {
        let w = (t.waited + live.stager.take_waited()).as_secs_f64();
        println!("{}", gpu_wait_line(epoch, w, t.seconds));
        w
    });
    metrics.epochs.push(EpochRecord {
        epoch,
        train_loss: t.train_loss,
        seconds: t.seconds,
        steps: t.steps,
        steps_per_second: t.steps as f64 / t.seconds,
        timed_seconds: t.timed_seconds,
        gpu_wait_seconds,
        dev: dev_eval,
    });
    live.runlog.epoch(
        pos.global_step,
        epoch,
        t.train_loss,
        dev_f1.is_finite().then_some(dev_f1),
    );
    // Keep the best epoch by dev macro-F1 (the last one when not evaluating).
    if spec.limits.skip_eval || dev_f1 > pos.best_dev_f1 {
        pos.best_dev_f1 = if spec.limits.skip_eval {
            NO_DEV_F1
        } else {
            dev_f1
        };
        metrics.best_epoch = Some(epoch);
        let t_save = Instant::now();
        run.lm.save(&spec.save_dir, &meta(spec, epoch, None))?;
        let s = t_save.elapsed().as_secs_f64();
        metrics.save_seconds = Some(s);
        println!(
            "saved epoch {epoch} to {} in {s:.1} s",
            spec.save_dir.display()
        );
        kill_point("best-saved", epoch);
    }
    if let Some(m) = &live.monitor {
        metrics.memory = m.snapshot();
    }
    metrics.total_seconds = live.seconds();
    write_metrics(&spec.save_dir, metrics)?;
    if let Some(d) = rung_check(spec, epoch, dev_f1)? {
        let stop = !d.continues;
        metrics.rungs.push(d.clone());
        if stop {
            metrics.stopped_early = Some(d);
            live.runlog.stopped_early(pos.global_step, epoch);
            return Ok(false);
        }
    }
    if epoch < p.epochs {
        let dir = live.ckpt.begin(epoch)?;
        crate::worker::model::saved::save_weights(&run.lm.vs, &dir.join("model.safetensors"))?;
        run.opt.save(&dir.join("optimizer.safetensors"))?;
        // The best model saved so far (this epoch's or an earlier one's) is
        // committed with the state that names its epoch.
        let best = spec.save_dir.join("model.safetensors");
        live.ckpt.commit(
            epoch,
            &CheckpointState {
                epochs_done: epoch,
                global_step: pos.global_step,
                best_dev_f1: pos.best_dev_f1,
                metrics: metrics.clone(),
                totals: Some(live.totals()),
            },
            best.is_file().then_some(best.as_path()),
        )?;
        live.checkpoint_ours = true;
        kill_point("committed", epoch);
    }
    Ok(true)
}

/// Phase 5: the best epoch on test (Table 4), the final metrics.json, the
/// checkpoint removed.
fn finish(
    spec: &RunSpec,
    run: &Prepared,
    live: Live,
    mut metrics: RunMetrics,
) -> Result<RunMetrics> {
    if !spec.limits.skip_eval {
        evaluate_best(
            spec,
            run.kind,
            run.device,
            run.pad_id,
            &run.dev,
            &run.test,
            &mut metrics,
        )?;
    }
    metrics.total_seconds = live.seconds();
    if let Some(m) = live.monitor {
        metrics.memory = m.finish();
    }
    metrics.status = if metrics.stopped_early.is_some() {
        RunStatus::StoppedEarly
    } else {
        RunStatus::Finished
    };
    write_metrics(&spec.save_dir, &metrics)?;
    live.ckpt.remove();
    print_memory(&metrics);
    println!(
        "done in {:.1} s; metrics in {}",
        metrics.total_seconds,
        spec.save_dir.join("metrics.json").display()
    );
    Ok(metrics)
}

/// At the end of an epoch that is a rung of `sweep.early_stop`: record this
/// task's dev macro-F1 there (once, even across a requeue), compare it with the
/// results recorded so far, and say whether to go on (asha module).
fn rung_check(
    spec: &RunSpec,
    epoch: u32,
    dev_f1: f64,
) -> Result<Option<crate::worker::asha::Decision>> {
    let (Some(es), Some(task)) = (&spec.early_stop, spec.task) else {
        return Ok(None);
    };
    let r = &es.rule;
    let rungs = crate::worker::asha::rungs(r.min_epochs, r.reduction_factor, spec.params.epochs);
    let Some(k) = rungs.iter().position(|&e| e == epoch) else {
        return Ok(None);
    };
    let store = crate::worker::asha::store::RungStore::new(&es.job_dir, &es.config_sha256);
    let d = store.check(
        task,
        k as u32 + 1,
        epoch,
        r.metric.as_str(),
        dev_f1,
        r.reduction_factor,
    )?;
    println!(
        "rung {} (epoch {epoch}): {} {:.4} ranks {} of {} recorded so far; the top {} go on: {}",
        d.rung,
        d.metric,
        d.value,
        d.rank,
        d.compared,
        d.kept,
        if d.continues {
            "continuing"
        } else {
            "stopping early (the best epoch's model is kept)"
        }
    );
    Ok(Some(d))
}

/// Test evaluation of the best epoch (reloaded from the saved model, not the
/// weights of the last epoch): Table 4 at the threshold, and with per-label
/// thresholds tuned on dev when asked.
fn evaluate_best(
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
        let eval = metrics::evaluate(&test_probs, &test.labels, &labels, thresholds);
        if spec.print_table {
            print!("{}", metrics::format_table4(&eval, title));
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
        let tuned = metrics::tune_thresholds(&dev_probs, &dev.labels, labels.len());
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

fn meta(spec: &RunSpec, epoch: u32, tuned: Option<Vec<f64>>) -> HecjobMeta {
    HecjobMeta {
        hecjob_version: env!("CARGO_PKG_VERSION").into(),
        base_model: spec.model.clone(),
        max_length: spec.params.max_length as usize,
        threshold: spec.params.threshold,
        tuned_thresholds: tuned,
        dropout: spec.params.dropout,
        epoch,
    }
}

/// Whether the host or the GPU bounded the epoch's training steps, from the
/// share of time the host spent waiting for the device.
fn gpu_wait_line(epoch: u32, waited: f64, seconds: f64) -> String {
    let share = waited / seconds.max(1e-9);
    let bound = if share < 0.1 {
        "the host bounds the step (kernel launches), not the GPU"
    } else {
        "the GPU bounds the step"
    };
    format!(
        "epoch {epoch}: the host waited for the GPU {waited:.1} s ({:.0} % of the training steps): {bound}",
        share * 100.0
    )
}

fn check_finite(loss: f64, step: u64, lr: f64) -> Result<()> {
    if loss.is_finite() {
        return Ok(());
    }
    Err(Error::Training(format!(
        "the training loss became {loss} by step {step} (learning rate {lr:e}): training diverged. \
         Try a smaller learning_rate (e.g. 2e-5), warmup_ratio 0.1, or precision: fp32."
    )))
}

/// What this attempt (one process) achieved, for the requeue decision.
#[derive(Clone, Copy)]
struct Attempt {
    /// The scheduler's rerun of the task ([`RunSpec::scheduler_restart`]).
    scheduler_restart: bool,
    finished_an_epoch: bool,
}

/// The run stopped by signal `sig` during `epoch`: metrics.json and the
/// checkpoint's totals written, and the error that sets the exit status.
fn interrupted(
    spec: &RunSpec,
    metrics: &mut RunMetrics,
    live: &mut Live,
    sig: usize,
    epoch: u32,
    attempt: Attempt,
) -> Error {
    let ckpt = &live.ckpt;
    let mut totals = live.totals();
    if let Some(m) = live.monitor.take() {
        (metrics.memory, totals.monitor) = m.finish_with_totals();
    }
    metrics.total_seconds = totals.seconds;
    // The next attempt resumes this checkpoint: it carries this attempt's
    // time after the commit too (a SIGKILL would lose that).
    if live.checkpoint_ours && ckpt.exists() {
        if let Err(e) = ckpt.record_totals(&totals) {
            eprintln!("warning: could not record this attempt's totals in the checkpoint: {e}");
        }
    }
    // A rescheduled attempt that again finished no epoch would be rescheduled
    // forever, each time burning the whole time limit: fail instead. A user's
    // own --resume stopped by hand is a plain stop, resumable again.
    let no_progress = attempt.scheduler_restart && !attempt.finished_an_epoch;
    let msg = if no_progress {
        format!(
            "{} during epoch {epoch}, and this restarted attempt finished no epoch: one epoch takes longer than \
             the time to the soft limit. Raise h_rt (and s_rt) in cluster.jobs.train, or lower max_train_examples.",
            signal_name(sig)
        )
    } else {
        let resume_note = if ckpt.exists() && epoch > 1 {
            format!(
                "the checkpoint after epoch {} is in {}",
                epoch - 1,
                ckpt.dir.display()
            )
        } else {
            "no epoch had finished yet, so the task restarts from the beginning".to_string()
        };
        format!(
            "{} during epoch {epoch}: stopped; {resume_note}. Run again with --resume (a scheduled task is requeued and resumes by itself).",
            signal_name(sig)
        )
    };
    metrics.status = if no_progress {
        RunStatus::Failed
    } else {
        RunStatus::Interrupted
    };
    metrics.message = Some(msg.clone());
    if let Err(e) = write_metrics(&spec.save_dir, metrics) {
        eprintln!("warning: could not write metrics.json: {e}");
    }
    if no_progress {
        Error::Training(msg)
    } else {
        Error::Interrupted(msg)
    }
}

fn print_memory(m: &RunMetrics) {
    let mem = &m.memory;
    match (mem.gpu_available, mem.peak_gpu_device_used_bytes) {
        (true, Some(dev)) => println!(
            "peak GPU memory (NVML{}): device {}, this process {}",
            mem.gpu_name
                .as_deref()
                .map(|n| format!(", {n}"))
                .unwrap_or_default(),
            human_bytes(dev),
            mem.peak_gpu_process_used_bytes
                .map_or("not reported".to_string(), human_bytes)
        ),
        _ => println!(
            "peak GPU memory: not available ({})",
            mem.gpu_unavailable_reason
                .as_deref()
                .unwrap_or("no samples")
        ),
    }
    if let Some(rss) = mem.peak_rss_bytes {
        println!("peak RAM (RSS, sysinfo): {}", human_bytes(rss));
    }
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
    Ok(metrics::evaluate(
        &probs,
        &enc.labels,
        &lm.labels,
        &lm.thresholds(threshold),
    ))
}

#[cfg(test)]
mod tests {
    use super::{gpu_wait_line, scheduler_restart};

    #[test]
    fn only_the_schedulers_rerun_is_a_restart() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(
            !scheduler_restart(env(&[])),
            "a first run or a manual --resume"
        );
        assert!(scheduler_restart(env(&[("RESTARTED", "1")])), "Grid Engine");
        assert!(!scheduler_restart(env(&[("RESTARTED", "0")])));
        assert!(
            scheduler_restart(env(&[("SLURM_RESTART_COUNT", "2")])),
            "Slurm"
        );
        assert!(!scheduler_restart(env(&[("SLURM_RESTART_COUNT", "0")])));
        assert!(!scheduler_restart(env(&[("SLURM_RESTART_COUNT", "x")])));
    }

    #[test]
    fn the_wait_share_names_the_bound() {
        let host = gpu_wait_line(1, 0.5, 50.0);
        assert!(
            host.contains("0.5 s (1 %") && host.contains("kernel launches"),
            "{host}"
        );
        let gpu = gpu_wait_line(2, 20.0, 50.0);
        assert!(
            gpu.contains("(40 %") && gpu.contains("the GPU bounds"),
            "{gpu}"
        );
    }
}
