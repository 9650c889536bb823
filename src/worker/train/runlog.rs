//! What the worker logs beside metrics.json while it trains: TensorBoard
//! scalars (loss and learning rate at every log step, dev macro-F1 per epoch,
//! GPU and host memory) and the live `progress.json` that `status` reads.
//!
//! Both are side channels: a failure to write them is reported once on stderr
//! and that channel is switched off; training goes on (metrics.json, written by
//! the trainer, is the record that must not be lost).

use crate::jobdir::metrics::MemorySample;
use crate::jobdir::progress::{self, LiveProgress, Phase};
use crate::worker::tensorboard::EventWriter;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

pub struct RunLog {
    tb: Option<EventWriter>,
    dir: PathBuf,
    progress_ok: bool,
    epochs: u32,
    steps_total: u64,
    attempt_start: Instant,
    first_step: u64,
    last_loss: Option<f64>,
    last_dev_f1: Option<f64>,
}

impl RunLog {
    /// `step`: global steps already done and `dev_f1` the last epoch's score
    /// (both set when resuming).
    pub fn start(
        dir: &Path,
        epochs: u32,
        steps_total: u64,
        step: u64,
        dev_f1: Option<f64>,
    ) -> RunLog {
        let tb = EventWriter::create(dir)
            .map_err(|e| eprintln!("warning: no TensorBoard log for this run: {e}"))
            .ok();
        RunLog {
            tb,
            dir: dir.to_path_buf(),
            progress_ok: true,
            epochs,
            steps_total,
            attempt_start: Instant::now(),
            first_step: step,
            last_loss: None,
            last_dev_f1: dev_f1,
        }
    }

    /// A log step: the window's mean loss, the learning rate just used, memory.
    pub fn step(&mut self, step: u64, epoch: u32, loss: f64, lr: f64, mem: Option<MemorySample>) {
        self.last_loss = Some(loss);
        let mut values = vec![("train/loss", loss), ("train/learning_rate", lr)];
        push_memory(&mut values, mem.as_ref());
        self.scalars(step, &values);
        self.progress(step, epoch, Phase::Training);
    }

    /// The end of an epoch's training steps, before its dev evaluation.
    pub fn evaluating(&mut self, step: u64, epoch: u32) {
        self.progress(step, epoch, Phase::Evaluating);
    }

    /// An epoch's results.
    pub fn epoch(&mut self, step: u64, epoch: u32, train_loss: f64, dev_f1: Option<f64>) {
        let mut values = vec![("train/epoch_loss", train_loss)];
        if let Some(f) = dev_f1 {
            self.last_dev_f1 = Some(f);
            values.push(("dev/macro_f1", f));
        }
        self.scalars(step, &values);
        let phase = if epoch == self.epochs {
            Phase::Finished
        } else {
            Phase::Training
        };
        self.progress(step, epoch, phase);
    }

    /// The task stopped at a rung of `sweep.early_stop`: nothing is left to train.
    pub fn stopped_early(&mut self, step: u64, epoch: u32) {
        self.progress(step, epoch, Phase::StoppedEarly);
    }

    fn scalars(&mut self, step: u64, values: &[(&str, f64)]) {
        if let Some(tb) = &mut self.tb {
            if let Err(e) = tb.scalars(step, values) {
                eprintln!("warning: TensorBoard log stopped: {e}");
                self.tb = None;
            }
        }
    }

    fn progress(&mut self, step: u64, epoch: u32, phase: Phase) {
        if !self.progress_ok {
            return;
        }
        let elapsed = self.attempt_start.elapsed().as_secs_f64();
        let left = self.steps_total.saturating_sub(step);
        let p = LiveProgress {
            epoch,
            epochs: self.epochs,
            step,
            steps_total: self.steps_total,
            last_loss: self.last_loss,
            last_dev_f1: self.last_dev_f1,
            elapsed_seconds: elapsed,
            eta_seconds: if matches!(phase, Phase::Finished | Phase::StoppedEarly) {
                Some(0.0)
            } else {
                progress::eta(step.saturating_sub(self.first_step), elapsed, left)
            },
            updated_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            phase,
        };
        if let Err(e) = progress::write(&self.dir, &p) {
            eprintln!("warning: live progress for `hecjob status` stopped: {e}");
            self.progress_ok = false;
        }
    }
}

fn push_memory(values: &mut Vec<(&'static str, f64)>, mem: Option<&MemorySample>) {
    let Some(m) = mem else { return };
    let gib = |b: u64| b as f64 / GIB;
    if let Some(b) = m.rss_bytes {
        values.push(("memory/host_rss_gib", gib(b)));
    }
    if let Some(b) = m.gpu_process_used_bytes {
        values.push(("memory/gpu_process_gib", gib(b)));
    }
    if let Some(b) = m.gpu_device_used_bytes {
        values.push(("memory/gpu_device_gib", gib(b)));
    }
    if let Some(u) = m.gpu_utilization_percent {
        values.push(("gpu/utilization_percent", f64::from(u)));
    }
}
