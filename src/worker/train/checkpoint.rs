//! The checkpoint a resumed task continues from: weights, optimizer moments
//! and step count, and the metrics so far. Written after every finished
//! epoch, at the step a stop signal arrived at, and every
//! `train.checkpoint_every` of wall time, so a signal loses nothing and a
//! kill without warning at most that interval.
//!
//! Layout: `checkpoint/epoch-N/` (after epoch N) or `checkpoint/step-S/`
//! (after global step S, inside an epoch: [`InEpoch`] says where), each with
//! `{model,optimizer}.safetensors + state.json`, and `checkpoint/latest`
//! naming the complete one. `latest` is replaced atomically only after the
//! folder's files are all written, so a kill at any moment (Grid Engine's h_rt
//! SIGKILL) leaves `latest` pointing at a complete set. A commit then removes
//! every other folder but the last epoch's.
//!
//! No RNG state is saved: the learning rate is a function of the step, the
//! batch order of (seed, epoch), and dropout's generator is reseeded from
//! (seed, epoch, step) before every step (epoch.rs), so the position is all a
//! resume needs to continue bit for bit.
//!
//! `epoch-N/best.safetensors` holds the weights of the state's best epoch (a
//! hard link to the saved model's file, so no extra space): the best model in
//! the output folder is overwritten before the epoch that beat it is
//! committed, and a kill in between must not leave a resume trusting weights
//! its recorded best epoch did not produce ([`Checkpoint::best_weights`]).
//!
//! `state.json` records the sha256 of each of the epoch folder's files when
//! it is committed, and a resume checks them before it loads anything: a file
//! damaged on disk or changed by hand is refused, naming the file and what to
//! do, instead of being trained on (checkpoints of older hecjob versions
//! carry no sums and are resumed as before).

use crate::jobdir::metrics::RunMetrics;
use crate::jobdir::read::{read_bounded, CHECKPOINT_LATEST, CHECKPOINT_STATE};
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Epochs finished (the next epoch to run is this + 1).
    pub epochs_done: u32,
    /// Global optimizer steps so far.
    pub global_step: u64,
    pub best_dev_f1: f64,
    pub metrics: RunMetrics,
    /// The worker's own measures over every attempt so far; absent in
    /// checkpoints of older hecjob versions.
    #[serde(default)]
    pub totals: Option<Totals>,
    /// sha256 of each file of the epoch folder (file name → hex digest),
    /// filled in by [`Checkpoint::commit`] and checked by [`Checkpoint::read`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sha256: BTreeMap<String, String>,
    /// Where inside epoch `epochs_done + 1` a step checkpoint was taken;
    /// absent after a finished epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_epoch: Option<InEpoch>,
}

/// The position inside an epoch and the epoch's running sums at a step
/// checkpoint: what the rest of the epoch and its end need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InEpoch {
    /// The epoch in progress.
    pub epoch: u32,
    /// Batches of the epoch's deterministic order already trained.
    pub batches_done: u64,
    /// The epoch's loss sum and the log window's, as the f32 the device held
    /// (exact in JSON's f64), so the epoch's average and the next logged
    /// loss come out bit for bit.
    pub loss_sum: f64,
    pub window_loss_sum: f64,
    /// Wall seconds of the epoch's training so far, and of them waiting for the GPU.
    pub seconds: f64,
    pub waited_seconds: f64,
}

/// What every attempt (process) of a run used so far, as the worker measured
/// it: a resumed attempt adds its own, so metrics.json describes the whole
/// run, not its last attempt. Updated at each commit and when an attempt is
/// stopped by a signal (a kill loses the time since the last commit).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Processes that worked on the run.
    pub attempts: u32,
    /// Wall seconds, all attempts (GPU hours follow from these).
    pub seconds: f64,
    /// Peaks, GPU utilization and energy ([`crate::worker::monitor::Totals`]).
    pub monitor: crate::worker::monitor::Totals,
}

/// The best epoch's weights inside an epoch folder.
const BEST_WEIGHTS: &str = "best.safetensors";

/// The files of an epoch folder whose sums the state records (each when present).
pub const SUMMED_FILES: [&str; 3] = ["model.safetensors", "optimizer.safetensors", BEST_WEIGHTS];

pub struct Checkpoint {
    pub dir: PathBuf,
}

/// What a resume finds in `checkpoint/`.
#[derive(Debug, PartialEq)]
pub enum Found {
    /// No checkpoint was ever committed (or there is no folder).
    Nothing,
    /// The latest complete epoch's folder.
    Ready(PathBuf),
    /// Something is there but cannot be resumed; why, for the user.
    Unusable(String),
}

/// Parameters that change what a run logs or when it checkpoints, not what
/// it computes: a checkpoint written with another value is resumed all the same.
pub const LOGGING_KEYS: &[&str] = &["log_every", "checkpoint_every"];

/// Whether a checkpoint's parameters are this run's, logging keys aside.
pub fn same_params(
    a: &serde_json::Map<String, serde_json::Value>,
    b: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    let strip = |m: &serde_json::Map<String, serde_json::Value>| {
        let mut m = m.clone();
        for k in LOGGING_KEYS {
            m.remove(*k);
        }
        m
    };
    strip(a) == strip(b)
}

impl Checkpoint {
    pub fn in_run(save_dir: &Path) -> Checkpoint {
        Checkpoint {
            dir: save_dir.join("checkpoint"),
        }
    }

    /// The folder the latest complete checkpoint lives in.
    pub fn latest(&self) -> Option<PathBuf> {
        let name = read_bounded(&self.dir.join("latest"), CHECKPOINT_LATEST).ok()??;
        let dir = self.dir.join(name.trim());
        dir.join("state.json").is_file().then_some(dir)
    }

    pub fn exists(&self) -> bool {
        self.latest().is_some()
    }

    /// [`Checkpoint::latest`], saying why when a checkpoint is there but
    /// unusable (a `latest` that is empty or names a folder without state).
    pub fn find(&self) -> Found {
        let latest = self.dir.join("latest");
        // Bounded and from a regular file only: a FIFO here must not hang a resume.
        let name = match read_bounded(&latest, CHECKPOINT_LATEST) {
            Ok(Some(n)) => n,
            Err(e) => return Found::Unusable(e.to_string()),
            Ok(None) if !self.dir.is_dir() => return Found::Nothing,
            Ok(None) => {
                return if std::fs::read_dir(&self.dir).is_ok_and(|mut d| d.next().is_some()) {
                    Found::Unusable(format!(
                        "{} has no `latest`: no epoch was completed before the run stopped",
                        self.dir.display()
                    ))
                } else {
                    Found::Nothing
                }
            }
        };
        let name = name.trim();
        if name.is_empty() {
            return Found::Unusable(format!("{} is empty", latest.display()));
        }
        let dir = self.dir.join(name);
        if !is_checkpoint_name(name) || name.contains(['/', '\\']) {
            return Found::Unusable(format!(
                "{} names `{name}`, not an epoch or step folder",
                latest.display()
            ));
        }
        if !dir.join("state.json").is_file() {
            return Found::Unusable(format!(
                "{} names `{name}`, which has no state.json",
                latest.display()
            ));
        }
        Found::Ready(dir)
    }

    /// The weights of the best epoch of the checkpoint in `dir`, if kept
    /// (checkpoints of older hecjob versions did not keep them).
    pub fn best_weights(dir: &Path) -> Option<PathBuf> {
        let p = dir.join(BEST_WEIGHTS);
        p.is_file().then_some(p)
    }

    /// A fresh folder for epoch `epoch`'s files.
    pub fn begin(&self, epoch: u32) -> Result<PathBuf> {
        self.begin_named(&epoch_name(epoch))
    }

    /// A fresh folder for the files of the step checkpoint after global step `step`.
    pub fn begin_step(&self, step: u64) -> Result<PathBuf> {
        self.begin_named(&step_name(step))
    }

    fn begin_named(&self, name: &str) -> Result<PathBuf> {
        let dir = self.dir.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating checkpoint", &dir, e))?;
        Ok(dir)
    }

    /// Keep `best` (the weights of `state`'s best epoch) with the checkpoint,
    /// write the state last, point `latest` at it, and prune: every other
    /// folder goes but the last complete epoch's (kept beside a step checkpoint).
    /// The folder is `epoch-N` for a state after epoch N, `step-S` for one
    /// inside an epoch ([`CheckpointState::in_epoch`]).
    pub fn commit(&self, state: &CheckpointState, best: Option<&Path>) -> Result<()> {
        let name = match state.in_epoch {
            Some(_) => step_name(state.global_step),
            None => epoch_name(state.epochs_done),
        };
        let dir = self.dir.join(&name);
        if let Some(b) = best {
            crate::util::fsutil::link_or_copy_atomic(b, &dir.join(BEST_WEIGHTS))?;
        }
        let mut state = state.clone();
        state.sha256 = sums(&dir)?;
        let json = serde_json::to_string_pretty(&state).expect("json");
        crate::util::fsutil::write_atomic(&dir.join("state.json"), json.as_bytes())?;
        crate::util::fsutil::write_atomic(&self.dir.join("latest"), name.as_bytes())?;
        self.prune(&name);
        Ok(())
    }

    /// Remove every checkpoint folder but `keep` and the latest complete
    /// epoch's (a folder with a state, the highest epoch).
    fn prune(&self, keep: &str) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let folders: Vec<(String, PathBuf)> = rd
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .filter(|(n, _)| is_checkpoint_name(n))
            .collect();
        let last_epoch = folders
            .iter()
            .filter(|(_, p)| p.join("state.json").is_file())
            .filter_map(|(n, _)| n.strip_prefix("epoch-")?.parse::<u32>().ok())
            .max()
            .map(epoch_name);
        for (n, p) in folders {
            if n != keep && Some(&n) != last_epoch.as_ref() {
                let _ = std::fs::remove_dir_all(p);
            }
        }
    }

    /// The latest complete checkpoint's state and folder, its files checked
    /// against the sums recorded at the commit (what a resume loads).
    pub fn read(&self) -> Result<(CheckpointState, PathBuf)> {
        let (state, dir) = self.read_state()?;
        self.verify(&state, &dir)?;
        Ok((state, dir))
    }

    /// Every file whose sum the state recorded must still have it.
    fn verify(&self, state: &CheckpointState, dir: &Path) -> Result<()> {
        for (name, want) in &state.sha256 {
            let path = dir.join(name);
            let got = crate::util::digest::sha256_file(&path).map_err(|e| {
                Error::Training(format!(
                    "{e}: the checkpoint recorded this file when it was written; delete {} to \
                     start the run over",
                    self.dir.display()
                ))
            })?;
            if &got != want {
                return Err(Error::Training(format!(
                    "{}: its sha256 is {got}, not {want} as recorded when the checkpoint was \
                     written: the file was damaged or changed since. Delete {} to start the run \
                     over, or resume from an older checkpoint if you kept one.",
                    path.display(),
                    self.dir.display()
                )));
            }
        }
        Ok(())
    }

    /// The latest complete checkpoint's state and folder, its files unchecked
    /// (an interrupted attempt records its totals in seconds, not minutes).
    fn read_state(&self) -> Result<(CheckpointState, PathBuf)> {
        let dir = self.latest().ok_or_else(|| {
            Error::Training(format!("{}: no complete checkpoint", self.dir.display()))
        })?;
        let p = dir.join("state.json");
        let text = read_bounded(&p, CHECKPOINT_STATE)?
            .ok_or_else(|| Error::Training(format!("{}: no checkpoint state", p.display())))?;
        let state: CheckpointState = serde_json::from_str(&text).map_err(|e| {
            Error::Training(format!(
                "{}: unreadable checkpoint ({e}); delete the folder to start over",
                p.display()
            ))
        })?;
        // epochs_done counts the epoch records beside it, and at most the
        // run's epochs: anything else is a damaged or hand-edited file.
        let recorded = state.metrics.epochs.len();
        let planned = state.metrics.params.get("epochs").and_then(|v| v.as_u64());
        let in_epoch_fits = state
            .in_epoch
            .as_ref()
            .is_none_or(|i| i.epoch == state.epochs_done + 1 && i.batches_done >= 1);
        if (state.epochs_done == 0 && state.in_epoch.is_none())
            || !in_epoch_fits
            || state.epochs_done as usize != recorded
            || planned.is_some_and(|n| u64::from(state.epochs_done) > n)
        {
            return Err(Error::Training(format!(
                "{}: epochs_done {} does not fit the checkpoint ({recorded} epoch record{}, {} planned); delete {} to start over",
                p.display(),
                state.epochs_done,
                if recorded == 1 { "" } else { "s" },
                planned.map_or("?".into(), |n| n.to_string()),
                self.dir.display()
            )));
        }
        Ok((state, dir))
    }

    /// Write `totals` into the latest checkpoint's state (an attempt that
    /// stops adds its time after the last commit).
    pub fn record_totals(&self, totals: &Totals) -> Result<()> {
        let (mut state, dir) = self.read_state()?;
        state.totals = Some(totals.clone());
        let json = serde_json::to_string_pretty(&state).expect("json");
        crate::util::fsutil::write_atomic(&dir.join("state.json"), json.as_bytes())
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn epoch_name(epoch: u32) -> String {
    format!("epoch-{epoch}")
}

fn step_name(step: u64) -> String {
    format!("step-{step}")
}

/// A folder a commit may name: `epoch-N` or `step-S`.
fn is_checkpoint_name(name: &str) -> bool {
    name.strip_prefix("epoch-")
        .or_else(|| name.strip_prefix("step-"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The sums of the epoch folder's files ([`SUMMED_FILES`]) that exist.
fn sums(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for name in SUMMED_FILES {
        let path = dir.join(name);
        if path.is_file() {
            out.insert(name.to_string(), crate::util::digest::sha256_file(&path)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_says_why_a_checkpoint_is_not_resumed() {
        let tmp = tempfile::tempdir().unwrap();
        let c = Checkpoint::in_run(tmp.path());
        assert_eq!(c.find(), Found::Nothing);
        c.begin(1).unwrap();
        assert!(
            matches!(c.find(), Found::Unusable(w) if w.ends_with("has no `latest`: no epoch was completed before the run stopped"))
        );
        std::fs::write(c.dir.join("latest"), "").unwrap();
        assert!(matches!(c.find(), Found::Unusable(w) if w.ends_with("latest is empty")));
        std::fs::write(c.dir.join("latest"), "epoch-3").unwrap();
        assert!(
            matches!(c.find(), Found::Unusable(w) if w.ends_with("names `epoch-3`, which has no state.json"))
        );
        std::fs::write(c.dir.join("epoch-1/state.json"), "{}").unwrap();
        std::fs::write(c.dir.join("latest"), "epoch-1").unwrap();
        assert_eq!(c.find(), Found::Ready(c.dir.join("epoch-1")));
    }

    #[test]
    fn a_fifo_as_latest_is_unusable_not_waited_on() {
        let tmp = tempfile::tempdir().unwrap();
        let c = Checkpoint::in_run(tmp.path());
        c.begin(1).unwrap();
        let latest = c.dir.join("latest");
        let path = std::ffi::CString::new(latest.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
        assert_eq!(
            c.find(),
            Found::Unusable(format!(
                "{}: is not a regular file (a FIFO), so it is not a checkpoint pointer hecjob \
                 wrote: remove it",
                latest.display()
            ))
        );
        assert!(!c.exists());
    }

    #[test]
    fn logging_keys_do_not_make_other_parameters() {
        let a = serde_json::json!({"learning_rate": 1e-3, "log_every": 100});
        let b = serde_json::json!({"learning_rate": 1e-3, "log_every": 7});
        let c = serde_json::json!({"learning_rate": 2e-3, "log_every": 100});
        let m = |v: &serde_json::Value| v.as_object().unwrap().clone();
        assert!(same_params(&m(&a), &m(&b)));
        assert!(!same_params(&m(&a), &m(&c)));
    }

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
