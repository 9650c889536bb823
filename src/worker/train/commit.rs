//! Committing a checkpoint, after an epoch or at a step inside one (a stop
//! signal, `train.checkpoint_every`): weights, optimizer, the best model kept
//! beside them, then the state that names the position, and a plain log line
//! with what it cost.

use super::checkpoint::{CheckpointState, InEpoch};
use super::prepare::Prepared;
use super::state::{Live, Position};
use super::trainer::RunSpec;
use crate::jobdir::metrics::RunMetrics;
use crate::util::error::Result;
use std::path::Path;
use std::time::Instant;

/// Where a checkpoint is taken, and why (for its log line).
pub(super) enum At {
    /// After this epoch.
    EpochEnd(u32),
    /// Inside an epoch, on the stop signal.
    Signal(InEpoch),
    /// Inside an epoch, `train.checkpoint_every` after the last commit.
    Timer(InEpoch),
}

/// Commit the run's state at `pos.global_step`. Returns the log line
/// (`checkpoint at step S (…): 420 MiB in 1.2 s`), which the caller prints
/// where its progress bar lets it.
pub(super) fn commit(
    spec: &RunSpec,
    run: &Prepared,
    pos: &Position,
    live: &mut Live,
    metrics: &RunMetrics,
    at: At,
) -> Result<String> {
    let t = Instant::now();
    let (epochs_done, in_epoch, why) = match at {
        At::EpochEnd(e) => (e, None, ""),
        At::Signal(i) => (i.epoch - 1, Some(i), ", on the stop signal"),
        At::Timer(i) => (i.epoch - 1, Some(i), ", train.checkpoint_every passed"),
    };
    let dir = match in_epoch {
        Some(_) => live.ckpt.begin_step(pos.global_step)?,
        None => live.ckpt.begin(epochs_done)?,
    };
    crate::worker::model::saved::save_weights(&run.lm.vs, &dir.join("model.safetensors"))?;
    run.opt.save(&dir.join("optimizer.safetensors"))?;
    let best = spec.save_dir.join("model.safetensors");
    let place = match &in_epoch {
        Some(i) => format!(
            "epoch {}, batch {}/{}",
            i.epoch, i.batches_done, run.steps_per_epoch
        ),
        None => format!("end of epoch {epochs_done}"),
    };
    live.ckpt.commit(
        &CheckpointState {
            epochs_done,
            global_step: pos.global_step,
            best_dev_f1: pos.best_dev_f1,
            metrics: metrics.clone(),
            totals: Some(live.totals()),
            sha256: Default::default(),
            in_epoch,
        },
        best.is_file().then_some(best.as_path()),
    )?;
    live.checkpoint_ours = true;
    live.committed_step = pos.global_step;
    live.last_commit = Instant::now();
    Ok(format!(
        "checkpoint at step {} ({place}{why}): {} in {:.2} s",
        pos.global_step,
        crate::util::units::bytes(folder_bytes(&dir)),
        t.elapsed().as_secs_f64()
    ))
}

/// The bytes the checkpoint's own files take (the best model is a hard link
/// to the output folder's, so it is not counted).
fn folder_bytes(dir: &Path) -> u64 {
    ["model.safetensors", "optimizer.safetensors", "state.json"]
        .iter()
        .filter_map(|n| std::fs::metadata(dir.join(n)).ok())
        .map(|m| m.len())
        .sum()
}
