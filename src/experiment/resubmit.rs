//! What `hecjob resubmit` does with the train tasks that did not finish: which
//! to run again, and with which requests. Pure: `cli::resubmit` gathers the
//! facts (the scheduler's record, the worker's progress) and acts on the plan.
//!
//! The rules, by why the task stopped ([`StopCause`]):
//! * preempted, node failure, requeued and never run again: run again as it was
//!   (its checkpoint carries it on);
//! * out of memory: ask for 1.5 × the larger of the peak and the request, in
//!   whole GiB; time limit: for the steps left at the measured seconds per
//!   step, × 1.25 + 10 minutes, never less than before (unknown progress:
//!   twice the request, at least 10 minutes) — both within `cluster.limits`;
//! * a failure of the run itself, a GPU out of memory, a cancellation: not
//!   run again (the same run would fail the same way; a person decides);
//! * a task that stopped the same way twice in a row with the same requests
//!   is not run again either: nothing changed, so it would stop again (a
//!   time limit with progress recorded is exempt: each run resumes further
//!   on; so are preemption and requeues, which are not the task's doing).
//!   This is what ends `submit --retries` early.
//!
//! One array job asks for one set of requests: the largest any of its tasks needs.

use crate::scheduler::backend::StopCause;

/// One unfinished train task, as the scheduler and the worker recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFacts {
    pub task: u32,
    /// Each run, oldest first (the last is the one that matters).
    pub attempts: Vec<Attempt>,
    /// The scheduler's peak memory of the last run, bytes.
    pub peak_memory: Option<u64>,
    /// Seconds the worker still needs at its measured pace (progress.json).
    pub seconds_left: Option<f64>,
}

/// One run of a task: why it ended, and what its job asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt {
    pub cause: Option<StopCause>,
    pub requests: Requests,
}

/// A train job's memory (bytes) and wall-clock (seconds) requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requests {
    pub memory: Option<u64>,
    pub time: Option<u64>,
}

/// What to resubmit, with what, and why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub tasks: Vec<u32>,
    pub requests: Requests,
    /// One line per changed request: old → new, and why.
    pub changes: Vec<String>,
    /// Tasks left alone, each with the reason.
    pub skipped: Vec<(u32, String)>,
}

const GIB: u64 = 1 << 30;

fn whole_gib(bytes: f64) -> u64 {
    ((bytes / GIB as f64).ceil() as u64).max(1) * GIB
}

/// Whole minutes, rounded up.
fn whole_minutes(secs: f64) -> u64 {
    ((secs / 60.0).ceil() as u64).max(1) * 60
}

fn gib_text(bytes: u64) -> String {
    crate::util::units::bytes(bytes)
}

/// The plan for `tasks` of a train job that asked for `current`, within the
/// limits `max` (None: no limit known).
pub fn plan(tasks: &[TaskFacts], current: Requests, max: Requests) -> Plan {
    let mut p = Plan {
        requests: current,
        ..Plan::default()
    };
    let mut memory_needed: Option<(u64, u32)> = None;
    let mut time_needed: Option<(u64, u32, bool)> = None;
    for t in tasks {
        let last = t.attempts.last().and_then(|a| a.cause);
        if let Some(why) = unchanged_repeat(t) {
            p.skipped.push((t.task, why));
            continue;
        }
        match last {
            None => p.skipped.push((t.task, "the scheduler has no record of why it stopped".into())),
            Some(StopCause::Finished) => {}
            Some(StopCause::Preempted | StopCause::NodeFailure | StopCause::Requeued) => p.tasks.push(t.task),
            Some(StopCause::OutOfMemory) => {
                let base = t.peak_memory.unwrap_or(0).max(current.memory.unwrap_or(0));
                let want = whole_gib(base as f64 * 1.5);
                p.tasks.push(t.task);
                if let Some(m) = capped(want, max.memory).filter(|&m| Some(m) > current.memory) {
                    memory_needed = Some(memory_needed.map_or((m, t.task), |(o, ot)| if m > o { (m, t.task) } else { (o, ot) }));
                }
            }
            Some(StopCause::TimeLimit) => {
                let old = current.time.unwrap_or(0);
                let want = match t.seconds_left {
                    Some(left) => whole_minutes(left * 1.25 + 600.0).max(old),
                    None => old.saturating_mul(2).max(600),
                };
                let got = capped(want, max.time).unwrap_or(want);
                p.tasks.push(t.task);
                if got > old && time_needed.is_none_or(|(o, _, _)| got > o) {
                    time_needed = Some((got, t.task, t.seconds_left.is_some()));
                }
            }
            Some(StopCause::RunFailed) => p.skipped.push((t.task, "the run failed by itself (see its log and metrics.json); fix the cause, then submit again".into())),
            Some(StopCause::GpuOutOfMemory) => p.skipped.push((t.task, "GPU out of memory: lower train.batch_size or train.max_length, use precision: bf16, or ask for a larger GPU (cluster.jobs.train.gpu_type)".into())),
            Some(StopCause::Cancelled) => p.skipped.push((t.task, "cancelled by a user: submit it again yourself if that was not meant".into())),
        }
    }
    if let Some((m, task)) = memory_needed {
        p.changes.push(format!(
            "memory {} → {}: task {task} ran out of memory (1.5 × its peak or request)",
            current.memory.map_or("unset".into(), gib_text),
            gib_text(m)
        ));
        p.requests.memory = Some(m);
    }
    if let Some((secs, task, paced)) = time_needed {
        let how = if paced {
            "the steps left at its measured pace, + 25 % + 10 min"
        } else {
            "no progress recorded to measure a pace from: twice the request, at least 10 min"
        };
        p.changes.push(format!(
            "time {} → {}: task {task} reached its time limit ({how})",
            current
                .time
                .map_or("unset".into(), |t| crate::util::units::duration(t as f64)),
            crate::util::units::duration(secs as f64)
        ));
        p.requests.time = Some(secs);
    }
    p
}

/// Why `t` is not run again when its last two runs stopped the same way
/// with the same requests (see the module's rules), naming the limit that
/// could not be raised when one was reached.
fn unchanged_repeat(t: &TaskFacts) -> Option<String> {
    let [.., before, last] = t.attempts.as_slice() else {
        return None;
    };
    let cause = last.cause?;
    if before.cause != Some(cause) || before.requests != last.requests {
        return None;
    }
    let what = match cause {
        StopCause::Preempted | StopCause::Requeued => return None,
        StopCause::TimeLimit if t.seconds_left.is_some() => return None,
        StopCause::OutOfMemory => format!(
            "out of memory twice with {} (cluster.limits.max_memory allows no more)",
            last.requests.memory.map_or("the same request".into(), gib_text)
        ),
        StopCause::TimeLimit => format!(
            "time limit twice with {} and no progress recorded (cluster.limits.max_time allows no more)",
            last.requests
                .time
                .map_or("the same request".into(), |t| crate::util::units::duration(t as f64))
        ),
        other => format!("{} twice with the same requests", other.describe()),
    };
    Some(format!("{what}: nothing changed, so it is not tried again"))
}

fn capped(want: u64, max: Option<u64>) -> Option<u64> {
    Some(max.map_or(want, |m| want.min(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task whose every run asked for [`CURRENT`].
    fn facts(task: u32, causes: &[StopCause], peak: Option<u64>, left: Option<f64>) -> TaskFacts {
        facts_with(task, causes, CURRENT, peak, left)
    }

    fn facts_with(
        task: u32,
        causes: &[StopCause],
        requests: Requests,
        peak: Option<u64>,
        left: Option<f64>,
    ) -> TaskFacts {
        TaskFacts {
            task,
            attempts: causes
                .iter()
                .map(|&c| Attempt {
                    cause: Some(c),
                    requests,
                })
                .collect(),
            peak_memory: peak,
            seconds_left: left,
        }
    }

    const CURRENT: Requests = Requests {
        memory: Some(4 * GIB),
        time: Some(3600),
    };

    #[test]
    fn each_cause_gets_its_own_treatment() {
        let p = plan(
            &[
                facts(1, &[StopCause::Finished], None, None),
                facts(2, &[StopCause::OutOfMemory], Some(4 * GIB), None),
                facts(3, &[StopCause::TimeLimit], None, Some(7200.0)),
                facts(4, &[StopCause::Preempted], None, None),
                facts(5, &[StopCause::RunFailed], None, None),
                facts(6, &[StopCause::GpuOutOfMemory], None, None),
                facts(7, &[StopCause::Cancelled], None, None),
            ],
            CURRENT,
            Requests {
                memory: None,
                time: Some(12 * 3600),
            },
        );
        assert_eq!(p.tasks, [2, 3, 4]);
        assert_eq!(p.requests.memory, Some(6 * GIB));
        // 7200 s left × 1.25 + 600 = 9600 s = 2 h 40 min.
        assert_eq!(p.requests.time, Some(9600));
        assert_eq!(p.skipped.iter().map(|s| s.0).collect::<Vec<_>>(), [5, 6, 7]);
        assert!(
            p.changes[0].starts_with("memory 4.00 GiB → 6.00 GiB: task 2 ran out of memory"),
            "{:?}",
            p.changes
        );
        assert!(
            p.changes[1].starts_with("time 1:00:00 → 2:40:00: task 3"),
            "{:?}",
            p.changes
        );
    }

    #[test]
    fn requests_stop_at_the_limits_and_a_repeat_at_the_limit_is_not_retried() {
        let max = Requests {
            memory: Some(5 * GIB),
            time: Some(3600),
        };
        let p = plan(
            &[facts(2, &[StopCause::OutOfMemory], Some(4 * GIB), None)],
            CURRENT,
            max,
        );
        assert_eq!(
            (p.tasks.clone(), p.requests.memory),
            (vec![2], Some(5 * GIB))
        );
        let at_limit = Requests {
            memory: Some(5 * GIB),
            ..CURRENT
        };
        let p = plan(
            &[facts_with(
                2,
                &[StopCause::OutOfMemory, StopCause::OutOfMemory],
                at_limit,
                Some(5 * GIB),
                None,
            )],
            at_limit,
            max,
        );
        assert!(p.tasks.is_empty(), "{p:?}");
        assert_eq!(
            p.skipped[0].1,
            "out of memory twice with 5.00 GiB (cluster.limits.max_memory allows no more): \
             nothing changed, so it is not tried again"
        );
        // A time limit with progress at the ceiling still goes on from its checkpoint.
        let p = plan(
            &[facts(
                3,
                &[StopCause::TimeLimit, StopCause::TimeLimit],
                None,
                Some(9000.0),
            )],
            CURRENT,
            max,
        );
        assert_eq!(
            (p.tasks, p.requests.time, p.changes.len()),
            (vec![3], Some(3600), 0)
        );
    }

    /// `submit --retries` stops on a task that stopped the same way twice with
    /// the same requests; raised requests, progress against a time limit and
    /// preemption are each something that changed.
    #[test]
    fn the_same_stop_twice_with_the_same_requests_is_not_retried() {
        let raised = Requests {
            memory: Some(6 * GIB),
            ..CURRENT
        };
        let oom_then_raised = TaskFacts {
            attempts: vec![
                Attempt {
                    cause: Some(StopCause::OutOfMemory),
                    requests: CURRENT,
                },
                Attempt {
                    cause: Some(StopCause::OutOfMemory),
                    requests: raised,
                },
            ],
            ..facts(1, &[], Some(6 * GIB), None)
        };
        let p = plan(&[oom_then_raised], raised, Requests::default());
        assert_eq!((p.tasks, p.requests.memory), (vec![1], Some(9 * GIB)));

        let twice = |cause| facts(2, &[cause, cause], None, None);
        let p = plan(
            &[
                twice(StopCause::NodeFailure),
                twice(StopCause::Preempted),
                facts(
                    3,
                    &[StopCause::TimeLimit, StopCause::TimeLimit],
                    None,
                    Some(60.0),
                ),
            ],
            CURRENT,
            Requests::default(),
        );
        assert_eq!(p.tasks, [2, 3], "{p:?}");
        assert_eq!(
            p.skipped,
            [(
                2,
                "node failure twice with the same requests: nothing changed, so it is not tried again"
                    .to_string()
            )]
        );
    }
}
