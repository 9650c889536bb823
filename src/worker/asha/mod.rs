//! Early stopping by asynchronous successive halving (ASHA: Li et al., "A System
//! for Massively Parallel Hyperparameter Tuning", MLSys 2020), as a stopping rule
//! each array task applies to itself at an epoch boundary, coordinated only
//! through files ([`store`]): no server, no locks, no task ever waits for another.
//!
//! The rule ([`decide`]): rungs sit at epochs r, rη, rη², … below `train.epochs`.
//! At a rung, a task that has recorded its metric compares it with every result
//! recorded at that rung so far (its own included) and goes on only if its rank is
//! within the top ⌊n/η⌋ — or is the best, while fewer than η results exist (the
//! first task at a rung always goes on: stopping it would stop on no evidence).
//! This is the rule of Optuna's `SuccessiveHalvingPruner`; the paper's promotion
//! step becomes "continue or stop", because an array task cannot be paused.
//!
//! Ranks are a total order every task agrees on: higher metric first, a metric
//! that is not a number last, and ties go to the lower task id.

pub mod store;

/// The rung epochs: `min_epochs · η^k` for k = 0, 1, … while below `epochs`
/// (at the last epoch a task is done anyway).
pub fn rungs(min_epochs: u32, reduction_factor: u32, epochs: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if min_epochs == 0 || reduction_factor < 2 {
        return out;
    }
    let mut e = u64::from(min_epochs);
    while e < u64::from(epochs) {
        out.push(e as u32);
        e *= u64::from(reduction_factor);
    }
    out
}

/// One task's metric at one rung.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RungResult {
    pub task: u32,
    pub value: f64,
}

/// What a task learned at a rung: a record of metrics.json (the contract).
pub use crate::jobdir::rungs::Decision;

/// Whether `a` ranks before `b`.
fn better(a: &RungResult, b: &RungResult) -> bool {
    match (a.value.is_nan(), b.value.is_nan()) {
        (false, true) => true,
        (true, false) => false,
        (true, true) => a.task < b.task,
        (false, false) => a.value > b.value || (a.value == b.value && a.task < b.task),
    }
}

/// Apply the rule for `own` against everything `recorded` at the rung. `own` is
/// counted once whether or not `recorded` already holds it (its own record, or
/// one it made before a requeue); a record of the same task with another value
/// is ignored in favour of `own`.
pub fn decide(
    own: RungResult,
    recorded: &[RungResult],
    reduction_factor: u32,
    rung: u32,
    epoch: u32,
    metric: &str,
) -> Decision {
    let others = recorded.iter().filter(|r| r.task != own.task);
    let mut compared = 1usize;
    let mut ahead = 0usize;
    for r in others {
        compared += 1;
        if better(r, &own) {
            ahead += 1;
        }
    }
    let rank = ahead + 1;
    let kept = (compared / reduction_factor.max(1) as usize).max(1);
    Decision {
        rung,
        epoch,
        metric: metric.to_string(),
        value: own.value,
        rank,
        compared,
        kept,
        continues: rank <= kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_below_the_last_epoch() {
        assert_eq!(rungs(1, 3, 4), [1, 3]);
        assert_eq!(rungs(1, 3, 3), [1]);
        assert_eq!(rungs(1, 2, 10), [1, 2, 4, 8]);
        assert_eq!(rungs(2, 2, 2), Vec::<u32>::new());
        assert_eq!(rungs(1, 3, 1), Vec::<u32>::new());
        assert_eq!(rungs(3, 3, u32::MAX).len(), 20, "no overflow near u32::MAX");
    }

    fn r(task: u32, value: f64) -> RungResult {
        RungResult { task, value }
    }

    #[test]
    fn top_third_goes_on() {
        let all = [
            r(1, 0.5),
            r(2, 0.4),
            r(3, 0.3),
            r(4, 0.2),
            r(5, 0.1),
            r(6, 0.05),
        ];
        let d = |t: usize| decide(all[t], &all, 3, 1, 1, "m");
        assert!(d(0).continues && d(1).continues);
        assert_eq!((d(2).rank, d(2).kept, d(2).compared), (3, 2, 6));
        assert!(!d(2).continues);
    }

    #[test]
    fn nan_ranks_last() {
        let all = [r(1, f64::NAN), r(2, 0.0)];
        assert_eq!(decide(all[0], &all, 2, 1, 1, "m").rank, 2);
        assert_eq!(decide(all[1], &all, 2, 1, 1, "m").rank, 1);
    }
}
