//! Requeue detection: whether this process is the scheduler's rerun of a task,
//! and what this attempt achieved, so an attempt that commits no new step
//! fails instead of being requeued forever (interrupt.rs).

/// Whether the scheduler is running this task again: Grid Engine sets
/// RESTARTED=1 on a rescheduled task; Slurm sets SLURM_RESTART_COUNT (absent or
/// 0 on the first run) on a requeued one. A user's `hecjob train --resume` has neither.
pub fn scheduler_restart_from_env() -> bool {
    scheduler_restart(crate::util::env_vars::get)
}

fn scheduler_restart(get: impl Fn(&str) -> Option<String>) -> bool {
    get(crate::util::env_vars::RESTARTED).is_some_and(|v| v.trim() == "1")
        || get(crate::util::env_vars::SLURM_RESTART_COUNT)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

/// What this attempt (one process) achieved, for the requeue decision.
#[derive(Clone, Copy)]
pub(super) struct Attempt {
    /// The scheduler's rerun of the task ([`RunSpec::scheduler_restart`]).
    pub(super) scheduler_restart: bool,
    /// It committed a checkpoint past the step it started at (a step or an
    /// epoch checkpoint; the one a stop signal commits counts).
    pub(super) advanced: bool,
}

#[cfg(test)]
mod tests {
    use super::scheduler_restart;

    #[test]
    fn only_the_schedulers_rerun_is_a_restart() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(
            !scheduler_restart(env(&[])),
            "a first run or a manual --resume"
        );
        assert!(scheduler_restart(env(&[("RESTARTED", "1")])), "Grid Engine");
        assert!(!scheduler_restart(env(&[("RESTARTED", "0")])));
        assert!(
            scheduler_restart(env(&[("SLURM_RESTART_COUNT", "2")])),
            "Slurm"
        );
        assert!(!scheduler_restart(env(&[("SLURM_RESTART_COUNT", "0")])));
        assert!(!scheduler_restart(env(&[("SLURM_RESTART_COUNT", "x")])));
    }
}
