//! The training run: data → tokens → epochs (train, dev macro-F1, checkpoint)
//! → best epoch on test → Table 4, metrics.json and the saved model.
//!
//! This file holds the run's spec and its named phases (`run_inner`); each
//! phase and concern has its own file beside it: signals.rs, requeue.rs,
//! device.rs, data.rs, prepare.rs (phase 1) with loss.rs, resume.rs (2), epoch.rs (3),
//! end_epoch.rs (4) with rungs.rs and evaluation.rs, finish.rs (5), and
//! interrupt.rs for a run stopped by a signal.

use super::batches::Stager;
use super::checkpoint::Checkpoint;
use super::end_epoch::end_epoch;
use super::epoch::train_epoch;
use super::finish::finish;
use super::prepare::prepare;
use super::resume::resume;
use super::runlog::RunLog;
use super::state::{new_metrics, Live};
use crate::experiment::config::Train;
use crate::jobdir::metrics::{Evaluation, RunMetrics};
use crate::jobdir::RunStatus;
use crate::util::error::{Error, Result};
use crate::worker::monitor::Monitor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tch::Device;

pub use super::device::choose_device;
pub use super::evaluation::{compute_as_trained, evaluate_examples, evaluate_saved};
pub use super::requeue::scheduler_restart_from_env;

/// The run's data: the `data:` keys and where the split files are.
#[derive(Debug, Clone)]
pub struct DataFiles {
    pub spec: crate::data::spec::DataSpec,
    pub sources: crate::data::load::Sources,
    /// The job directory whose data record (data.json) the files must still
    /// match; `None` outside a rendered experiment.
    pub record_dir: Option<PathBuf>,
}

impl DataFiles {
    /// GoEmotions' four files in `dir`, read as the tutorial reads them.
    pub fn in_dir(dir: &Path) -> DataFiles {
        DataFiles {
            spec: Default::default(),
            sources: crate::data::load::Sources::goemotions(dir),
            record_dir: None,
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
    /// `--resume`: only such an attempt that commits no new step is failed
    /// instead of being requeued once more.
    pub scheduler_restart: bool,
    pub experiment: Option<String>,
    pub task: Option<u32>,
    pub swept: serde_json::Map<String, serde_json::Value>,
    /// How much of the run to do (everything, unless a benchmark or test says less).
    pub limits: RunLimits,
    /// Print Table 4 at the end, formatted by this (the report's
    /// `table4::format`; the worker does not depend on the report).
    pub print_table: Option<TableFormat>,
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

/// Formats an evaluation as Table 4 under a title.
pub type TableFormat = fn(&Evaluation, &str) -> String;

/// Where a sweep task records its rung results and how it judges them.
#[derive(Debug, Clone)]
pub struct EarlyStopSpec {
    /// The job directory (its `rungs/` folder is shared by the array's tasks).
    pub job_dir: PathBuf,
    /// sha256 of the config body: records of another render are not compared.
    pub config_sha256: String,
    /// The array's task ids: records of other ids are not compared.
    pub tasks: Vec<u32>,
    pub rule: crate::experiment::config::search::EarlyStop,
}

pub(super) const NO_DEV_F1: f64 = -1.0;

pub(super) fn write_metrics(save_dir: &Path, m: &RunMetrics) -> Result<()> {
    m.write(save_dir)
}

/// Train, evaluate, save. Returns the final metrics (also in metrics.json).
/// A run that fails leaves `status: failed` and the reason in metrics.json.
pub fn run(spec: &RunSpec) -> Result<RunMetrics> {
    // One run per output directory; a refused run leaves the holder's files alone.
    let _lock = crate::util::run_lock::OutputLock::acquire(&spec.save_dir)?;
    // libtorch's errors inside tch ops (a CUDA out-of-memory among them)
    // arrive as panics: caught here so metrics.json says what happened and
    // the exit status is a named one, not a panic's 101.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_inner(spec)))
        .unwrap_or_else(|panic| Err(panic_error(panic.as_ref())));
    if let Err(e) = &result {
        if !matches!(e, Error::Interrupted(_)) {
            mark_failed(&spec.save_dir, &e.to_string());
        }
    }
    result
}

/// The error for a panic in the run: a GPU out of memory said as such (what
/// `status` shows as its cause), anything else an internal error.
pub fn panic_error(panic: &(dyn std::any::Any + Send)) -> Error {
    use crate::jobdir::metrics::{GPU_OUT_OF_MEMORY, HOST_OUT_OF_MEMORY};
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    let first = text.lines().next().unwrap_or(text);
    if text.contains("CUDA out of memory") || text.contains("CUDA error: out of memory") {
        Error::Training(format!(
            "{GPU_OUT_OF_MEMORY}: {first}; lower train.batch_size or train.max_length, \
             use precision: bf16, or ask for a GPU with more memory"
        ))
    } else if text.contains("can't allocate memory") || text.contains("std::bad_alloc") {
        // libtorch's CPU allocator refused: over h_vmem (a ulimit) or the node's memory.
        Error::Training(format!(
            "{HOST_OUT_OF_MEMORY}: {first}; ask for more memory (cluster.jobs.train.h_vmem), \
             or lower train.batch_size or train.max_length"
        ))
    } else {
        Error::Internal(format!("the run panicked: {first}"))
    }
}

/// Patch an existing metrics.json to `failed` (a run that failed before its
/// first epoch has none; the scheduler's record tells that story).
fn mark_failed(save_dir: &Path, message: &str) {
    let path = save_dir.join(crate::jobdir::METRICS_FILE);
    if let Some(mut v) = RunMetrics::read_value(save_dir) {
        v["status"] = RunStatus::Failed.as_str().into();
        v["message"] = message.into();
        let json = serde_json::to_string_pretty(&v).expect("json");
        if let Err(e) = crate::util::fsutil::write_atomic(&path, json.as_bytes()) {
            eprintln!("warning: could not mark {} failed: {e}", path.display());
        }
    }
}

/// The run in named phases: prepare → resume → for each epoch, train it and
/// end it (dev evaluation, best save, metrics, rung, checkpoint) → finish.
fn run_inner(spec: &RunSpec) -> Result<RunMetrics> {
    // First of all, so a signal during model loading or tokenization is
    // caught too (the default action would kill the task with no exit 99).
    super::signals::install()?;
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
        checkpoint_ours: pos.global_step > 0,
        runlog: RunLog::start(
            &spec.save_dir,
            p.epochs,
            run.total_steps,
            pos.global_step,
            last_dev,
        ),
        stager: Stager::new(run.device),
        first_step: pos.global_step,
        committed_step: pos.global_step,
        last_commit: Instant::now(),
        every: p
            .checkpoint_every
            .as_ref()
            .and_then(|c| c.secs())
            .map(Duration::from_secs),
    };
    for epoch in pos.start_epoch..=p.epochs {
        let trained = train_epoch(spec, &mut run, &mut pos, &mut live, &mut metrics, epoch)?;
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

#[cfg(test)]
mod panic_tests {
    use super::*;

    #[test]
    fn a_cuda_out_of_memory_panic_is_named_and_others_are_internal() {
        let oom: Box<dyn std::any::Any + Send> = Box::new(String::from(
            "called `Result::unwrap()` on an `Err` value: Torch(\"CUDA out of memory. Tried to allocate 2.00 GiB\")\nException raised from malloc",
        ));
        let e = panic_error(oom.as_ref());
        assert!(matches!(e, Error::Training(_)), "{e:?}");
        assert!(
            e.to_string()
                .starts_with(crate::jobdir::metrics::GPU_OUT_OF_MEMORY),
            "{e}"
        );
        assert!(e.to_string().contains("lower train.batch_size"), "{e}");
        let host: Box<dyn std::any::Any + Send> = Box::new(String::from(
            "Torch(\"[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes\")",
        ));
        let e = panic_error(host.as_ref());
        assert!(
            e.to_string()
                .starts_with(crate::jobdir::metrics::HOST_OUT_OF_MEMORY),
            "{e}"
        );
        let other: Box<dyn std::any::Any + Send> = Box::new("index out of range");
        let e = panic_error(other.as_ref());
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
        assert!(
            e.to_string()
                .contains("the run panicked: index out of range"),
            "{e}"
        );
    }
}
