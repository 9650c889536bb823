//! Phase 4 of a run: the end of an epoch: dev evaluation, the epoch record,
//! the best model saved, metrics.json written, the early-stopping rung, and
//! the checkpoint the next attempt resumes from.

use super::batches::predict_probs_for;
use super::commit::{commit, At};
use super::epoch::kill_point;
use super::evaluation::{score, EVAL_BATCH};
use super::prepare::Prepared;
use super::rungs::rung_check;
use super::state::{meta, EpochResult, Live, Position};
use super::trainer::{write_metrics, RunSpec, NO_DEV_F1};
use crate::jobdir::metrics::{EpochRecord, RunMetrics};
use crate::util::error::Result;
use std::time::Instant;
use tch::Device;

/// Phase 4: the end of an epoch: dev evaluation, the epoch record, the best
/// model saved, metrics.json written, the early-stopping rung, and the
/// checkpoint the next attempt resumes from. Returns whether to go on.
pub(super) fn end_epoch(
    spec: &RunSpec,
    run: &mut Prepared,
    pos: &mut Position,
    live: &mut Live,
    metrics: &mut RunMetrics,
    epoch: u32,
    t: EpochResult,
) -> Result<bool> {
    live.runlog.evaluating(pos.global_step, epoch);
    let dev_f1 = record_epoch(spec, run, pos, live, metrics, epoch, t);
    save_if_best(spec, run, pos, metrics, epoch, dev_f1)?;
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
    if epoch < spec.params.epochs {
        commit_checkpoint(spec, run, pos, live, metrics, epoch)?;
    }
    Ok(true)
}

/// The dev evaluation and the epoch's record (printed, in metrics and the
/// run log). Returns the dev macro-F1 (NaN without evaluation).
fn record_epoch(
    spec: &RunSpec,
    run: &Prepared,
    pos: &Position,
    live: &mut Live,
    metrics: &mut RunMetrics,
    epoch: u32,
    t: EpochResult,
) -> f64 {
    let device = run.device;
    let dev_eval = (!spec.limits.skip_eval).then(|| {
        let probs = predict_probs_for(
            run.task,
            &run.lm.model,
            &run.dev.ids,
            run.pad_id,
            EVAL_BATCH,
            device,
        );
        score(
            run.task,
            &probs,
            &run.dev.labels,
            &run.labels,
            spec.params.threshold,
        )
    });
    let dev_f1 = dev_eval.as_ref().map_or(f64::NAN, |e| e.macro_avg.f1);
    let accuracy = dev_eval
        .as_ref()
        .and_then(|e| e.accuracy)
        .map(|a| format!(", accuracy {a:.4}"))
        .unwrap_or_default();
    println!(
        "epoch {epoch}: average loss {:.4}, {:.1} s ({:.1} steps/s), dev macro-F1 {dev_f1:.4}{accuracy}",
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
    dev_f1
}

/// Keep the best epoch by dev macro-F1 (the last one when not evaluating):
/// its model saved in the output folder.
fn save_if_best(
    spec: &RunSpec,
    run: &Prepared,
    pos: &mut Position,
    metrics: &mut RunMetrics,
    epoch: u32,
    dev_f1: f64,
) -> Result<()> {
    if !(spec.limits.skip_eval || dev_f1 > pos.best_dev_f1) {
        return Ok(());
    }
    pos.best_dev_f1 = if spec.limits.skip_eval {
        NO_DEV_F1
    } else {
        dev_f1
    };
    metrics.best_epoch = Some(epoch);
    let t_save = Instant::now();
    run.lm
        .save(&spec.save_dir, &meta(spec, epoch, None, run.kind))?;
    let s = t_save.elapsed().as_secs_f64();
    metrics.save_seconds = Some(s);
    println!(
        "saved epoch {epoch} to {} in {s:.1} s",
        spec.save_dir.display()
    );
    kill_point("best-saved", epoch);
    Ok(())
}

/// The checkpoint the next attempt resumes from: weights, optimizer, and the
/// best model saved so far (this epoch's or an earlier one's), committed with
/// the state that names its epoch.
fn commit_checkpoint(
    spec: &RunSpec,
    run: &Prepared,
    pos: &Position,
    live: &mut Live,
    metrics: &RunMetrics,
    epoch: u32,
) -> Result<()> {
    let line = commit(spec, run, pos, live, metrics, At::EpochEnd(epoch))?;
    println!("{line}");
    kill_point("committed", epoch);
    Ok(())
}

/// Whether the host or the GPU bounded the epoch's training steps, from the
/// share of time the host spent waiting for the device.
pub(super) fn gpu_wait_line(epoch: u32, waited: f64, seconds: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::gpu_wait_line;

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
