//! The end-of-epoch checkpoint a resumed task continues from: weights,
//! optimizer moments, and the metrics so far. Written after every finished
//! epoch, so an interruption loses at most the epoch in progress.
//!
//! Layout: `checkpoint/epoch-N/{model,optimizer}.safetensors + state.json`, and
//! `checkpoint/latest` naming the complete one. `latest` is replaced atomically
//! only after epoch N's files are all written, so a kill at any moment (Grid
//! Engine's h_rt SIGKILL) leaves `latest` pointing at a complete set.

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

    fn epoch_dir(&self, epoch: u32) -> PathBuf {
        self.dir.join(format!("epoch-{epoch}"))
    }

    /// The folder the latest complete checkpoint lives in.
    pub fn latest(&self) -> Option<PathBuf> {
        let name = std::fs::read_to_string(self.dir.join("latest")).ok()?;
        let dir = self.dir.join(name.trim());
        dir.join("state.json").is_file().then_some(dir)
    }

    pub fn exists(&self) -> bool {
        self.latest().is_some()
    }

    /// A fresh folder for epoch `epoch`'s files.
    pub fn begin(&self, epoch: u32) -> Result<PathBuf> {
        let dir = self.epoch_dir(epoch);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating checkpoint", &dir, e))?;
        Ok(dir)
    }

    /// Write the state last, point `latest` at the epoch, drop older epochs.
    pub fn commit(&self, epoch: u32, state: &CheckpointState) -> Result<()> {
        let dir = self.epoch_dir(epoch);
        let json = serde_json::to_string_pretty(state).expect("json");
        crate::fsutil::write_atomic(&dir.join("state.json"), json.as_bytes())?;
        let name = format!("epoch-{epoch}");
        crate::fsutil::write_atomic(&self.dir.join("latest"), name.as_bytes())?;
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("epoch-") && n != name {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }

    /// The latest complete checkpoint's state and folder.
    pub fn read(&self) -> Result<(CheckpointState, PathBuf)> {
        let dir = self.latest().ok_or_else(|| {
            Error::Training(format!("{}: no complete checkpoint", self.dir.display()))
        })?;
        let p = dir.join("state.json");
        let state = serde_json::from_str(&crate::fsutil::read_to_string(&p, "reading checkpoint")?)
            .map_err(|e| {
                Error::Training(format!(
                    "{}: unreadable checkpoint ({e}); delete the folder to start over",
                    p.display()
                ))
            })?;
        Ok((state, dir))
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incomplete_epoch_is_never_latest() {
        let tmp = tempfile::tempdir().unwrap();
        let c = Checkpoint::in_run(tmp.path());
        assert!(!c.exists());
        // Epoch 2's files written but not committed (killed before `commit`).
        let d = c.begin(2).unwrap();
        std::fs::write(d.join("model.safetensors"), b"partial").unwrap();
        assert!(
            !c.exists(),
            "no state.json and no `latest`: nothing to resume"
        );
    }
}
