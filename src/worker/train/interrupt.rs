//! A run stopped by a signal: metrics.json and the checkpoint's totals
//! written, and the error that sets the exit status (99 to be requeued, or a
//! failure for a restarted attempt that committed no new step).

use super::requeue::Attempt;
use super::signals::signal_name;
use super::state::Live;
use super::trainer::{write_metrics, RunSpec};
use crate::jobdir::metrics::RunMetrics;
use crate::jobdir::RunStatus;
use crate::util::error::Error;

/// The run stopped by signal `sig` during `epoch` (its step checkpoint, if
/// any, already committed): metrics.json and the checkpoint's totals written,
/// and the error that sets the exit status.
pub(super) fn interrupted(
    spec: &RunSpec,
    metrics: &mut RunMetrics,
    live: &mut Live,
    sig: usize,
    epoch: u32,
) -> Error {
    let attempt = Attempt {
        scheduler_restart: spec.scheduler_restart,
        advanced: live.committed_step > live.first_step,
    };
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
    // A rescheduled attempt that again committed no step would be
    // rescheduled forever, each time burning the whole time limit: fail
    // instead. A user's own --resume stopped by hand is a plain stop,
    // resumable again.
    let no_progress = attempt.scheduler_restart && !attempt.advanced;
    let msg = if no_progress {
        format!(
            "{} during epoch {epoch}, and this restarted attempt committed no step past step {} \
             where it resumed: loading the model and data took the time to the soft limit. Raise \
             h_rt (and s_rt) in cluster.jobs.train, or lower max_train_examples.",
            signal_name(sig),
            live.first_step
        )
    } else {
        let resume_note = if ckpt.exists() && live.committed_step > 0 {
            format!(
                "the checkpoint at step {} is in {}",
                live.committed_step,
                ckpt.dir.display()
            )
        } else {
            "no step had finished yet, so the task restarts from the beginning".to_string()
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
