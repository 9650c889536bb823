//! Early stopping at a rung (`sweep.early_stop`): record this task's dev
//! macro-F1 in the job directory's rung folder, compare, decide (asha).

use super::trainer::RunSpec;
use crate::util::error::Result;

/// At the end of an epoch that is a rung of `sweep.early_stop`: record this
/// task's dev macro-F1 there (once, even across a requeue), compare it with the
/// results recorded so far, and say whether to go on (asha module).
pub(super) fn rung_check(
    spec: &RunSpec,
    epoch: u32,
    dev_f1: f64,
) -> Result<Option<crate::worker::asha::Decision>> {
    let (Some(es), Some(task)) = (&spec.early_stop, spec.task) else {
        return Ok(None);
    };
    let r = &es.rule;
    let rungs = crate::worker::asha::rungs(r.min_epochs, r.reduction_factor, spec.params.epochs);
    let Some(k) = rungs.iter().position(|&e| e == epoch) else {
        return Ok(None);
    };
    let store = crate::worker::asha::store::RungStore::new(
        &es.job_dir,
        &es.config_sha256,
        es.tasks.iter().copied(),
    );
    let d = crate::worker::asha::store::check(
        &store,
        task,
        k as u32 + 1,
        epoch,
        r.metric.as_str(),
        dev_f1,
        r.reduction_factor,
    )?;
    println!(
        "rung {} (epoch {epoch}): {} {:.4} ranks {} of {} recorded so far; the top {} go on: {}",
        d.rung,
        d.metric,
        d.value,
        d.rank,
        d.compared,
        d.kept,
        if d.continues {
            "continuing"
        } else {
            "stopping early (the best epoch's model is kept)"
        }
    );
    Ok(Some(d))
}
