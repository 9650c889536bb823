//! Phase 2 of a run: continue from the checkpoint when asked and it belongs
//! to this run, restoring the weights, the optimizer, the best model, the
//! records so far and, for a step checkpoint, the place in the epoch.

use super::checkpoint::{self, Checkpoint, CheckpointState};
use super::prepare::Prepared;
use super::state::{meta, Position};
use super::trainer::{write_metrics, RunSpec, NO_DEV_F1};
use crate::jobdir::metrics::RunMetrics;
use crate::util::error::Result;
use crate::worker::model::weights::{self, Head};
use std::path::Path;

/// Phase 2: continue from the checkpoint when asked and it belongs to this
/// run (same parameters and model): weights, optimizer state, the epochs and
/// losses so far. A checkpoint of another run is removed and the run starts over.
pub(super) fn resume(
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
        in_epoch: None,
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
            pos.in_epoch = state.in_epoch.clone();
            // metrics.json as the checkpoint has it, beside the model just restored.
            let mut now = metrics.clone();
            now.memory = state.metrics.memory;
            now.total_seconds = pos.earlier.seconds;
            write_metrics(&spec.save_dir, &now)?;
            match &state.in_epoch {
                Some(i) => println!(
                    "resuming from {} at step {} (epoch {}, after batch {})",
                    dir.display(),
                    state.global_step,
                    i.epoch,
                    i.batches_done
                ),
                None => println!(
                    "resuming from {} after epoch {} (step {})",
                    dir.display(),
                    state.epochs_done,
                    state.global_step
                ),
            }
        }
    }
    Ok(pos)
}

/// The output folder's best model made the checkpoint's best epoch's. An epoch
/// that beats the best is saved there before it is committed; a kill in
/// between leaves weights the checkpoint's best epoch did not produce, and the
/// rerun of that epoch need not beat the best again (GPUs are nondeterministic),
/// so nothing else would overwrite them before Table 4 is taken from them.
pub(super) fn restore_best(
    spec: &RunSpec,
    run: &Prepared,
    state: &CheckpointState,
    dir: &Path,
) -> Result<()> {
    let Some(best) = state.metrics.best_epoch else {
        return Ok(());
    };
    let meta = meta(spec, best, None, run.kind);
    if let Some(w) = Checkpoint::best_weights(dir) {
        crate::util::fsutil::link_or_copy_atomic(&w, &spec.save_dir.join("model.safetensors"))?;
        run.lm.save_beside_weights(&spec.save_dir, &meta)
    } else if best == state.epochs_done && state.in_epoch.is_none() {
        // A checkpoint from before best weights were kept: its own weights
        // (loaded) are the best epoch's.
        run.lm.save(&spec.save_dir, &meta)
    } else {
        Ok(())
    }
}
