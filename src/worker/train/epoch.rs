//! Phase 3 of a run: one epoch's training steps, each checked for a stop
//! signal before it runs and for a loss that diverged when it is logged, with
//! step checkpoints on a stop signal and every `train.checkpoint_every`.

use super::batches::{epoch_batches, sync, Rng, Stager};
use super::checkpoint::InEpoch;
use super::commit::{commit, At};
use super::interrupt::interrupted;
use super::optim::learning_rate;
use super::prepare::Prepared;
use super::state::{EpochResult, Live, Position};
use super::trainer::RunSpec;
use crate::jobdir::metrics::{self, LossPoint, RunMetrics};
use crate::util::error::{Error, Result};
use crate::util::progress::Progress;
use crate::worker::monitor::Monitor;
use std::time::{Duration, Instant};
use tch::{Kind, Tensor};

/// Phase 3: one epoch's training steps, from where a step checkpoint left
/// off (`pos.in_epoch`) or its start. A stop signal, checked before every
/// step, commits a checkpoint at the step just finished and ends the run
/// (metrics written, exit 99 or a failure; see [`interrupted`]); so does
/// nothing but commit when `train.checkpoint_every` has passed.
// long: the loop's running sums, timers and progress bar live exactly for
// the epoch, so it is kept whole; the step itself is `step`, the sums a
// checkpoint needs are `Sums`.
pub(super) fn train_epoch(
    spec: &RunSpec,
    run: &mut Prepared,
    pos: &mut Position,
    live: &mut Live,
    metrics: &mut RunMetrics,
    epoch: u32,
) -> Result<EpochResult> {
    let p = &spec.params;
    let device = run.device;
    // The batch order depends only on (seed, epoch), so a resumed run sees
    // the same batches as an uninterrupted one.
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
    let resumed = pos.in_epoch.take().filter(|i| i.epoch == epoch);
    let mut sums = Sums::start(resumed.as_ref(), device);
    let first_batch = sums.batches_done;
    progress.inc(first_batch, String::new);
    let mut t_timed: Option<Instant> = None;
    // Host time spent waiting for the device this epoch (ring wraps and
    // loss reads): the share says which side bounds a GPU step.
    let _ = live.stager.take_waited();
    for (bi, idx) in batches
        .iter()
        .take(run.steps_per_epoch as usize)
        .enumerate()
        .skip(first_batch as usize)
    {
        if spec.limits.raise_signal_at_step == Some(pos.global_step) {
            let _ = signal_hook::low_level::raise(signal_hook::consts::SIGUSR1);
        }
        let sig = super::signals::pending();
        if sig != 0 {
            // The step before this one is finished: keep it (if this
            // attempt trained any since the last commit), then stop.
            if pos.global_step > live.committed_step {
                let i = sums.position(epoch, t_epoch);
                let line = commit(spec, run, pos, live, metrics, At::Signal(i))?;
                progress.println(&line);
            }
            progress.finish();
            return Err(interrupted(spec, metrics, live, sig, epoch));
        }
        // Dropout's generator reseeded from (seed, epoch, step) before every
        // step: a resume anywhere draws the same masks as an uninterrupted
        // run with no generator state saved (tch cannot read it out), for
        // the price of seeding a Mersenne twister (BENCHMARKS.md).
        tch::manual_seed(step_seed(p.seed, epoch, pos.global_step));
        let (loss, lr) = step(spec, run, pos.global_step, &mut live.stager, idx)?;
        pos.global_step += 1;
        sums.batches_done += 1;
        if sums.batches_done == metrics::WARMUP_STEPS {
            sync(device);
            t_timed = Some(Instant::now());
        }
        tch::no_grad(|| {
            let l = loss.detach();
            let _ = sums.epoch_loss.g_add_(&l);
            let _ = sums.window_loss.g_add_(&l);
        });
        let batch_no = bi as u64 + 1;
        if batch_no % log_every == 0 {
            let t_read = Instant::now();
            let avg = sums.window_loss.double_value(&[]) / log_every as f64;
            sums.waited += t_read.elapsed();
            let _ = sums.window_loss.zero_();
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
        slow_step();
        if live.checkpoint_due() {
            let i = sums.position(epoch, t_epoch);
            let line = commit(spec, run, pos, live, metrics, At::Timer(i))?;
            progress.println(&line);
            kill_point("step-committed", epoch);
        }
        progress.inc(1, || format!("lr {lr:.2e}"));
    }
    progress.finish();
    let steps_done = sums.batches_done;
    let train_loss = sums.epoch_loss.double_value(&[]) / steps_done.max(1) as f64;
    // Timed from the warmup's end to the epoch's when this attempt saw both
    // (an epoch resumed past its warmup has no steady-state timing).
    let timed_seconds = t_timed.map(|t| t.elapsed().as_secs_f64());
    check_finite(train_loss, pos.global_step, p.learning_rate)?;
    Ok(EpochResult {
        train_loss,
        seconds: sums.seconds_before + t_epoch.elapsed().as_secs_f64(),
        steps: steps_done,
        timed_seconds,
        waited: sums.waited,
    })
}

/// The seed of dropout's generator for the step after `global_step` of
/// `epoch`: a splitmix64 mix of the three, so neighbouring steps and seeds
/// get unrelated streams. Non-negative (torch takes an i64 seed).
fn step_seed(seed: u64, epoch: u32, global_step: u64) -> i64 {
    let mut r = Rng::new(seed ^ u64::from(epoch).rotate_left(32), global_step);
    (r.next_u64() >> 1) as i64
}

/// An epoch's running sums, carried by a step checkpoint ([`InEpoch`]).
/// The losses stay on the device: reading a value forces a sync, so they
/// are read only when logging (and when a checkpoint is taken).
struct Sums {
    batches_done: u64,
    epoch_loss: Tensor,
    window_loss: Tensor,
    /// Training seconds of earlier attempts in this epoch.
    seconds_before: f64,
    waited: Duration,
}

impl Sums {
    /// Zero at the start of an epoch, or the sums a step checkpoint kept.
    fn start(resumed: Option<&InEpoch>, device: tch::Device) -> Sums {
        let scalar = |v: f64| Tensor::from(v as f32).to_device(device);
        match resumed {
            None => Sums {
                batches_done: 0,
                epoch_loss: Tensor::zeros([], (Kind::Float, device)),
                window_loss: Tensor::zeros([], (Kind::Float, device)),
                seconds_before: 0.0,
                waited: Duration::ZERO,
            },
            Some(i) => Sums {
                batches_done: i.batches_done,
                epoch_loss: scalar(i.loss_sum),
                window_loss: scalar(i.window_loss_sum),
                seconds_before: i.seconds,
                waited: Duration::from_secs_f64(i.waited_seconds.max(0.0)),
            },
        }
    }

    /// The position and sums a step checkpoint records.
    fn position(&self, epoch: u32, t_epoch: Instant) -> InEpoch {
        InEpoch {
            epoch,
            batches_done: self.batches_done,
            loss_sum: self.epoch_loss.double_value(&[]),
            window_loss_sum: self.window_loss.double_value(&[]),
            seconds: self.seconds_before + t_epoch.elapsed().as_secs_f64(),
            waited_seconds: self.waited.as_secs_f64(),
        }
    }
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

/// Test hook ([`crate::util::env_vars::HECJOB_TEST_STEP_DELAY_MS`]): sleep
/// after each step, so a tiny model's run takes wall time as a real one does.
fn slow_step() {
    static DELAY: std::sync::OnceLock<Option<Duration>> = std::sync::OnceLock::new();
    let delay = DELAY.get_or_init(|| {
        crate::util::env_vars::get(crate::util::env_vars::HECJOB_TEST_STEP_DELAY_MS)
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_millis)
    });
    if let Some(d) = delay {
        std::thread::sleep(*d);
    }
}

#[cfg(test)]
mod tests {
    use super::step_seed;

    #[test]
    fn step_seeds_differ_by_step_epoch_and_seed_and_are_never_negative() {
        let a = step_seed(42, 2, 27);
        assert_eq!(a, step_seed(42, 2, 27), "a function of its inputs only");
        for other in [
            step_seed(42, 2, 28),
            step_seed(42, 3, 27),
            step_seed(43, 2, 27),
        ] {
            assert_ne!(a, other);
        }
        assert!((0..10_000).all(|s| step_seed(u64::MAX, u32::MAX, s) >= 0));
    }

    /// The per-step reseed costs microseconds (BENCHMARKS.md "Step
    /// checkpoints"): a step of the smallest model takes milliseconds.
    #[test]
    fn reseeding_before_every_step_costs_microseconds() {
        let n = 20_000;
        let t = std::time::Instant::now();
        for s in 0..n {
            tch::manual_seed(step_seed(42, 1, s));
        }
        let each = t.elapsed().as_secs_f64() / n as f64;
        println!("tch::manual_seed: {:.2} µs", each * 1e6);
        assert!(each < 100e-6, "{each} s a reseed");
    }
}
