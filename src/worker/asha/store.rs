//! The rung step of early stopping: record this task's result in the rung
//! folder (`jobdir::rungs`, the on-disk contract), read everyone's, apply the
//! rule ([`super::decide`]).

use super::{decide, Decision, RungResult};
use crate::util::error::Result;

pub use crate::jobdir::rungs::{file_name, RungRecord, RungStore};
/// The folder of the job directory that holds the rung records.
pub use crate::jobdir::RUNGS_DIR;

/// A record as the rule compares it: a metric that was not a number ranks last.
pub fn result(r: &RungRecord) -> RungResult {
    RungResult {
        task: r.task,
        value: r.value.unwrap_or(f64::NAN),
    }
}

/// The whole step at a rung: record (once), read, apply the rule.
pub fn check(
    store: &RungStore,
    task: u32,
    rung: u32,
    epoch: u32,
    metric: &str,
    value: f64,
    reduction_factor: u32,
) -> Result<Decision> {
    let (mine, _) = store.record(task, epoch, metric, value)?;
    let all: Vec<RungResult> = store.read(epoch)?.iter().map(result).collect();
    Ok(decide(
        result(&mine),
        &all,
        reduction_factor,
        rung,
        epoch,
        metric,
    ))
}
