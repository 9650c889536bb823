//! The end-of-epoch checkpoint a resumed task continues from: weights,
//! optimizer moments, and the metrics so far. Written after every finished
//! epoch, so an interruption loses at most the epoch in progress.

use crate::error::{Error, Result};
use crate::metrics::RunMetrics;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Epochs finished (the next epoch to run is this + 1).
    pub epochs_done: u32,
    /// Global optimizer steps so far.
    pub global_step: u64,
    pub best_dev_f1: f64,
    pub metrics: RunMetrics,
}

pub struct Checkpoint {
    pub dir: PathBuf,
}

impl Checkpoint {
    pub fn in_run(save_dir: &Path) -> Checkpoint {
        Checkpoint {
            dir: save_dir.join("checkpoint"),
        }
    }

    pub fn model_path(&self) -> PathBuf {
        self.dir.join("model.safetensors")
    }
    pub fn optimizer_path(&self) -> PathBuf {
        self.dir.join("optimizer.safetensors")
    }
    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn exists(&self) -> bool {
        self.state_path().is_file()
    }

    /// The state is written last: a checkpoint without it is incomplete and ignored.
    pub fn write_state(&self, state: &CheckpointState) -> Result<()> {
        let json = serde_json::to_string_pretty(state).expect("json");
        crate::fsutil::write_atomic(&self.state_path(), json.as_bytes())
    }

    pub fn read_state(&self) -> Result<CheckpointState> {
        let p = self.state_path();
        serde_json::from_str(&crate::fsutil::read_to_string(&p, "reading checkpoint")?).map_err(
            |e| {
                Error::Training(format!(
                    "{}: unreadable checkpoint ({e}); delete the folder to start over",
                    p.display()
                ))
            },
        )
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
