//! A run stopped by a signal: metrics.json and the checkpoint's totals
//! written, and the error that sets the exit status (99 to be requeued, or a
//! failure for a restarted attempt that again finished no epoch).

use super::requeue::Attempt;
use super::signals::signal_name;
use super::state::Live;
use super::trainer::{write_metrics, RunSpec};
use crate::jobdir::metrics::RunMetrics;
use crate::jobdir::RunStatus;
use crate::util::error::Error;

/// The run stopped by signal `sig` during `epoch`: metrics.json and the
/// checkpoint's totals written, and the error that sets the exit status.
pub(super) fn interrupted(
    spec: &RunSpec,
    metrics: &mut RunMetrics,
    live: &mut Live,
    sig: usize,
    epoch: u32,
    attempt: Attempt,
) -> Error {
    let ckpt = &live.ckpt;
    let mut totals = live.totals();
    if let Some(m) = live.monitor.take() {
        (metrics.memory, totals.monitor) = m.finish_with_totals();
    }
    metrics.total_seconds = totals.seconds;
    // The next attempt resumes this checkpoint: it carries this attempt's
    // time after the commit too (a SIGKILL would lose that).
    if live.checkpoint_ours && ckpt.exists() {
        if let Err(e) = ckpt.record_totals(&totals) {
            eprintln!("warning: could not record this attempt's totals in the checkpoint: {e}");
        }
    }
    // A rescheduled attempt that again finished no epoch would be rescheduled
    // forever, each time burning the whole time limit: fail instead. A user's
    // own --resume stopped by hand is a plain stop, resumable again.
    let no_progress = attempt.scheduler_restart && !attempt.finished_an_epoch;
    let msg = if no_progress {
        format!(
            "{} during epoch {epoch}, and this restarted attempt finished no epoch: one epoch takes longer than \
             the time to the soft limit. Raise h_rt (and s_rt) in cluster.jobs.train, or lower max_train_examples.",
            signal_name(sig)
        )
    } else {
        let resume_note = if ckpt.exists() && epoch > 1 {
            format!(
                "the checkpoint after epoch {} is in {}",
                epoch - 1,
                ckpt.dir.display()
            )
        } else {
            "no epoch had finished yet, so the task restarts from the beginning".to_string()
        };
        format!(
            "{} during epoch {epoch}: stopped; {resume_note}. Run again with --resume (a scheduled task is requeued and resumes by itself).",
            signal_name(sig)
        )
    };
    metrics.status = if no_progress {
        RunStatus::Failed
    } else {
        RunStatus::Interrupted
    };
    metrics.message = Some(msg.clone());
    if let Err(e) = write_metrics(&spec.save_dir, metrics) {
        eprintln!("warning: could not write metrics.json: {e}");
    }
    if no_progress {
        Error::Training(msg)
    } else {
        Error::Interrupted(msg)
    }
}
