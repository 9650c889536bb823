//! `metrics.json`: the record a training run writes into its task directory
//! (atomically, after every epoch and at the end) and `report` and `status`
//! read, with the evaluation records it holds (Table 4's per-label
//! precision/recall/F1 and macro average, as `worker::metrics` computes them).
//! Only the record types and their read/write live here.

use super::read::{read_bounded, METRICS};
use super::rungs::Decision;
use super::METRICS_FILE;
use crate::util::error::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How a training run stands, as metrics.json's `status` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Finished,
    /// Stopped at a rung of `sweep.early_stop` (its best epoch evaluated, exit 0).
    #[serde(rename = "stopped_early")]
    StoppedEarly,
    /// Stopped by a signal; resumes from its last checkpoint when run again.
    Interrupted,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::StoppedEarly => "stopped_early",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold positives for this label.
    pub support: u64,
    /// The threshold used for this label.
    pub threshold: f64,
}

impl LabelScore {
    pub fn scores(&self) -> Prf {
        Prf {
            precision: self.precision,
            recall: self.recall,
            f1: self.f1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub per_label: Vec<LabelScore>,
    pub macro_avg: Prf,
    pub examples: u64,
    /// Micro-averaged P/R/F1 (over every label decision; for single-label
    /// data micro-F1 equals accuracy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_avg: Option<Prf>,
    /// Single-label only: the share of texts whose predicted class is the gold one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Single-label only: `counts[gold][predicted]`, in label order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confusion: Option<Vec<Vec<u64>>>,
}

/// Steps excluded from `EpochRecord::timed_seconds` (the HF peer excludes as many).
pub const WARMUP_STEPS: u64 = 3;

/// Bump when a field changes meaning.
pub const METRICS_SCHEMA_VERSION: u32 = 1;

/// How `message` starts in a run that failed because the GPU's memory ran
/// out (the worker writes it; `status` reads it as the stop cause).
pub const GPU_OUT_OF_MEMORY: &str = "GPU out of memory";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMetrics {
    pub schema_version: u32,
    pub hecjob_version: String,
    /// running | finished | stopped_early | interrupted | failed
    /// Written and read as the one type of the on-disk contract.
    pub status: RunStatus,
    pub experiment: Option<String>,
    /// Sweep task id (1-based), when run from a config.
    pub task: Option<u32>,
    /// The swept values of this task (key → value), empty outside a sweep.
    #[serde(default)]
    pub swept: serde_json::Map<String, serde_json::Value>,
    /// Every training parameter in effect.
    pub params: serde_json::Map<String, serde_json::Value>,
    pub model: String,
    pub device: String,
    pub labels: Vec<String>,
    /// The data the run read: format, task, label set, each file's sha256
    /// (the job's data.json when there is one). Absent in runs before 0.4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<crate::jobdir::data_record::DataRecord>,
    pub epochs: Vec<EpochRecord>,
    pub best_epoch: Option<u32>,
    /// Test evaluation of the best epoch at the configured threshold.
    pub test: Option<Evaluation>,
    /// Test evaluation with per-label thresholds tuned on dev (--tune-thresholds).
    pub test_tuned: Option<Evaluation>,
    /// Training loss as logged (every `log_every` batches).
    pub loss_log: Vec<LossPoint>,
    pub memory: MemoryRecord,
    /// Wall seconds the worker ran, every attempt of a resumed run added up.
    pub total_seconds: f64,
    pub save_seconds: Option<f64>,
    /// Set when status is failed or interrupted.
    pub message: Option<String>,
    /// Early stopping (`sweep.early_stop`): this task's decision at each rung
    /// it reached, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rungs: Vec<Decision>,
    /// With status `stopped_early`: the rung decision that stopped the task
    /// (its rank among the results compared there). Its best epoch's model is
    /// kept and evaluated on test like a finished run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<Decision>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: u32,
    pub train_loss: f64,
    pub seconds: f64,
    pub steps: u64,
    pub steps_per_second: f64,
    /// Seconds of the steps after the first `WARMUP_STEPS` (cuDNN autotuning and
    /// allocator growth happen there), for like-for-like benchmark rates.
    #[serde(default)]
    pub timed_seconds: Option<f64>,
    /// On a GPU: seconds the host waited for the device during the epoch's
    /// steps. Near zero means the step is bound by kernel launches.
    #[serde(default)]
    pub gpu_wait_seconds: Option<f64>,
    pub dev: Option<Evaluation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LossPoint {
    /// Global step (batches since the start of training, 1-based).
    pub step: u64,
    pub epoch: u32,
    pub loss: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemoryRecord {
    /// Whether NVML could be read; when false, `gpu_unavailable_reason` says why.
    pub gpu_available: bool,
    pub gpu_unavailable_reason: Option<String>,
    pub gpu_name: Option<String>,
    /// Peak of the device's used memory (all processes), bytes.
    pub peak_gpu_device_used_bytes: Option<u64>,
    /// Peak of this process's used GPU memory, bytes.
    pub peak_gpu_process_used_bytes: Option<u64>,
    /// Peak resident set size of this process, bytes (sysinfo).
    pub peak_rss_bytes: Option<u64>,
    /// The card's total memory, bytes (NVML).
    #[serde(default)]
    pub gpu_total_bytes: Option<u64>,
    /// Mean of NVML's GPU utilization (percent of time a kernel ran) over
    /// every sample taken while training, in every attempt of a resumed run
    /// (so are the peaks and the energy; the samples are the last attempt's).
    #[serde(default)]
    pub gpu_utilization_avg_percent: Option<f64>,
    /// Energy the card used while training, joules (NVML's energy counter,
    /// Volta and newer); `gpu_energy_unavailable_reason` says why when absent.
    #[serde(default)]
    pub gpu_energy_joules: Option<f64>,
    #[serde(default)]
    pub gpu_energy_unavailable_reason: Option<String>,
    pub samples: Vec<MemorySample>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemorySample {
    /// Seconds since the monitor started.
    pub t: f64,
    pub gpu_device_used_bytes: Option<u64>,
    pub gpu_process_used_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    /// NVML's GPU utilization at this sample, percent.
    #[serde(default)]
    pub gpu_utilization_percent: Option<u32>,
}

impl RunMetrics {
    /// Write `metrics.json` into the task directory, atomically.
    pub fn write(&self, task_dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("metrics serialise");
        crate::util::fsutil::write_atomic(&task_dir.join(METRICS_FILE), json.as_bytes())
    }

    /// `None` when the task has written no metrics.json yet; an unreadable
    /// file (too large, not a regular file, not a record) says why.
    pub fn read(task_dir: &Path) -> Option<std::result::Result<RunMetrics, String>> {
        let text = match read_bounded(&task_dir.join(METRICS_FILE), METRICS) {
            Ok(Some(t)) => t,
            Ok(None) => return None,
            Err(e) => return Some(Err(e.to_string())),
        };
        Some(serde_json::from_str(&text).map_err(|e| e.to_string()))
    }

    /// metrics.json as JSON values, for a writer that patches a record it
    /// may not be able to parse whole (a failed run's `status`).
    pub fn read_value(task_dir: &Path) -> Option<serde_json::Value> {
        let text = read_bounded(&task_dir.join(METRICS_FILE), METRICS).ok()??;
        serde_json::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_status_names() {
        for s in [
            RunStatus::Running,
            RunStatus::Finished,
            RunStatus::StoppedEarly,
            RunStatus::Interrupted,
            RunStatus::Failed,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn a_metrics_json_over_the_bound_is_unreadable_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RunMetrics::read(dir.path()).is_none());
        let f = std::fs::File::create(dir.path().join(METRICS_FILE)).unwrap();
        f.set_len(METRICS.limit + 1).unwrap();
        let e = RunMetrics::read(dir.path()).unwrap().unwrap_err();
        assert_eq!(
            e,
            format!(
                "{}: 16777217 bytes is larger than a metrics.json may be (16 MiB), so it is not \
                 one hecjob wrote: remove it",
                dir.path().join(METRICS_FILE).display()
            )
        );
    }
}
