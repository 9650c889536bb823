//! Phase 3 of a run: one epoch's training steps, each checked for a stop
//! signal before it runs and for a loss that diverged when it is logged.

use super::batches::{epoch_batches, sync, Rng, Stager};
use super::interrupt::interrupted;
use super::optim::learning_rate;
use super::prepare::Prepared;
use super::requeue::Attempt;
use super::state::{EpochResult, Live, Position};
use super::trainer::RunSpec;
use crate::jobdir::metrics::{self, LossPoint, RunMetrics};
use crate::util::error::{Error, Result};
use crate::util::progress::Progress;
use crate::worker::monitor::Monitor;
use std::time::{Duration, Instant};
use tch::{Kind, Tensor};

/// Phase 3: one epoch's training steps. A stop signal, checked before every
/// step, ends the run here (metrics written, exit 99 or a failure; see
/// [`interrupted`]).
// long: the loop's running sums, timers and progress bar live exactly for
// the epoch, so it is kept whole; the step itself is `step`.
pub(super) fn train_epoch(
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
        let sig = super::signals::pending();
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
pub(super) fn step(
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
    let loss = run.loss.of(&logits, &batch.targets);
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

pub(super) fn check_finite(loss: f64, step: u64, lr: f64) -> Result<()> {
    if loss.is_finite() {
        return Ok(());
    }
    Err(Error::Training(format!(
        "the training loss became {loss} by step {step} (learning rate {lr:e}): training diverged. \
         Try a smaller learning_rate (e.g. 2e-5), warmup_ratio 0.1, or precision: fp32."
    )))
}

/// Test hook ([`crate::util::env_vars::HECJOB_TEST_KILL_AT`]): SIGKILL this process
/// at `point` of `epoch`, as h_rt or a node crash would: no handler, no cleanup.
pub(super) fn kill_point(point: &str, epoch: u32) {
    if crate::util::env_vars::get(crate::util::env_vars::HECJOB_TEST_KILL_AT)
        .is_some_and(|v| v == format!("{point}:{epoch}"))
    {
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGKILL);
    }
}
