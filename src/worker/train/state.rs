//! What a run carries between its phases: its position after a resume, the
//! live parts every epoch uses (checkpoint, monitor, logs), one epoch's
//! result, and the records it starts from (metrics.json, the model's meta).

use super::batches::Stager;
use super::checkpoint::{self, Checkpoint};
use super::prepare::Prepared;
use super::runlog::RunLog;
use super::trainer::RunSpec;
use crate::jobdir::metrics::{self, RunMetrics};
use crate::jobdir::RunStatus;
use crate::worker::model::saved::HecjobMeta;
use crate::worker::monitor::Monitor;
use std::time::{Duration, Instant};

/// Where the run stands between epochs: after `resume`, the epoch to start
/// at and the state carried over from the checkpoint.
pub(super) struct Position {
    pub(super) start_epoch: u32,
    pub(super) global_step: u64,
    /// F1 lies in [0, 1]; -1 means "none yet" and survives JSON (infinities do not).
    pub(super) best_dev_f1: f64,
    /// What the earlier attempts of the run used (none on a fresh start).
    pub(super) earlier: checkpoint::Totals,
    /// Where inside `start_epoch` a step checkpoint left off (taken by the
    /// first epoch trained).
    pub(super) in_epoch: Option<checkpoint::InEpoch>,
}

/// The live parts of a run that every epoch uses and an interruption ends.
pub(super) struct Live {
    pub(super) t_start: Instant,
    pub(super) ckpt: Checkpoint,
    /// Taken (and finished) by an interruption.
    pub(super) monitor: Option<Monitor>,
    /// What the earlier attempts used ([`Position::earlier`]).
    pub(super) earlier: checkpoint::Totals,
    /// The checkpoint is this run's: resumed or committed by this attempt
    /// (one left by another run is not written to).
    pub(super) checkpoint_ours: bool,
    pub(super) runlog: RunLog,
    pub(super) stager: Stager,
    /// The global step this attempt started at, and the step of the latest
    /// checkpoint (resumed or committed): an attempt advanced when they differ.
    pub(super) first_step: u64,
    pub(super) committed_step: u64,
    /// When the latest checkpoint was committed (or the attempt started),
    /// and how long to let pass before a time-based one (`None`: never).
    pub(super) last_commit: Instant,
    pub(super) every: Option<Duration>,
}

impl Live {
    /// Wall seconds of every attempt so far, this one's included.
    pub(super) fn seconds(&self) -> f64 {
        self.earlier.seconds + self.t_start.elapsed().as_secs_f64()
    }

    /// Whether `train.checkpoint_every` has passed since the latest commit.
    pub(super) fn checkpoint_due(&self) -> bool {
        self.every.is_some_and(|d| self.last_commit.elapsed() >= d)
    }

    /// Every attempt's measures so far, for the checkpoint.
    pub(super) fn totals(&self) -> checkpoint::Totals {
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
pub(super) struct EpochResult {
    pub(super) train_loss: f64,
    pub(super) seconds: f64,
    pub(super) steps: u64,
    pub(super) timed_seconds: Option<f64>,
    pub(super) waited: Duration,
}

/// Every parameter that shapes the run, including the limits given on the
/// command line: a checkpoint is resumed only when all of them match.
pub(super) fn params_json(spec: &RunSpec) -> serde_json::Map<String, serde_json::Value> {
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

pub(super) fn new_metrics(spec: &RunSpec, run: &Prepared) -> RunMetrics {
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
        data: Some(run.data_record.clone()),
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

/// `kind`: what the run computes in (Prepared::kind).
pub(super) fn meta(
    spec: &RunSpec,
    epoch: u32,
    tuned: Option<Vec<f64>>,
    kind: Option<tch::Kind>,
) -> HecjobMeta {
    HecjobMeta {
        hecjob_version: env!("CARGO_PKG_VERSION").into(),
        base_model: spec.model.clone(),
        max_length: spec.params.max_length as usize,
        threshold: spec.params.threshold,
        tuned_thresholds: tuned,
        dropout: spec.params.dropout,
        epoch,
        task: spec.data.spec.task,
        precision: (kind == Some(tch::Kind::BFloat16)).then(|| "bf16".into()),
    }
}
