//! What `hecjob status` adds to the scheduler's view, read from the task
//! directories: each running train task's live progress (`progress.json`,
//! which the worker replaces atomically at every log step) and, once train
//! tasks have finished, their efficiency (requests against use, and what to
//! ask for next time). [`text`] writes it below the table; [`json()`] adds it to
//! `status --json`.
//!
//! It never fails the status command: a job directory that is not a rendered
//! jobs directory, or tasks whose output cannot be resolved here, are skipped
//! with a line that says why (in JSON: a null figure beside its reason).
//!
//! `status --json` contract (stable field names; README "status --json"). The
//! answer is the array of jobs it always was; on the train job:
//! * each **running** task has `progress` (progress.json's fields, plus
//!   `age_seconds` since the worker wrote it and `summary`, the text view's
//!   line) and `progress_missing` (why there is none: no progress yet, output
//!   directory unknown, file unreadable); exactly one of them is null;
//! * each **finished** (done or failed) task has `efficiency` (the report's
//!   per-task efficiency: requests, scheduler and worker peaks, shares, GPU
//!   figures, and `missing`, the reasons for its null figures) and
//!   `efficiency_missing`; exactly one of them is null;
//! * the job, once any task finished, has `efficiency` (`requests`,
//!   `accounting`, `totals`, `suggestion`) and `efficiency_missing`.
//!
//! Tasks in other states, and other jobs, have none of these keys.

use super::efficiency::{Efficiency, TaskEfficiency};
use super::efficiency_format;
use crate::jobdir::progress::LiveProgress;
use crate::scheduler::status::{JobStatus, TaskState};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

const NO_PROGRESS_YET: &str =
    "started; no progress yet (loading data and model, or before its first log step)";

/// A running task's position as `status --json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LiveView {
    #[serde(flatten)]
    pub progress: LiveProgress,
    /// Seconds since the worker wrote it (a large value: the task may be stuck).
    pub age_seconds: f64,
    /// The text view's line (`epoch 1/2, step 30/100, …`).
    pub summary: String,
}

/// What the text and JSON views are made of, for the train job.
struct TrainView {
    /// Each running task's progress, or why there is none.
    running: Vec<(u32, Result<LiveProgress, String>)>,
    /// The efficiency of the finished tasks (only those are kept in its
    /// `tasks`), or why it was not computed; `None` while none has finished.
    efficiency: Option<Result<Efficiency, String>>,
}

fn task_id(t: &crate::scheduler::status::TaskStatus) -> u32 {
    t.task.unwrap_or(1)
}

/// The train job's running and finished tasks, read from `job_dir`. `Err`:
/// the directory is not a rendered jobs directory (the text view then says
/// nothing; the JSON gives the reason beside each null figure).
fn gather(
    job_dir: &Path,
    train: &JobStatus,
) -> std::result::Result<TrainView, crate::util::error::Error> {
    let found = super::discover::discover(job_dir)?;
    let running = train
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Running)
        .map(|t| {
            let id = task_id(t);
            let task = found.tasks.iter().find(|t| t.id == id);
            let progress = match task.and_then(|t| t.dir.as_deref()) {
                None => Err(match task.and_then(|t| t.problem.as_deref()) {
                    Some(p) => format!("output directory unknown here: {p}"),
                    None => "not in tasks.json".into(),
                }),
                Some(dir) => match crate::jobdir::progress::read(dir) {
                    None => Err(NO_PROGRESS_YET.into()),
                    Some(Ok(p)) => Ok(p),
                    Some(Err(e)) => Err(format!("progress unreadable: {e}")),
                },
            };
            (id, progress)
        })
        .collect();
    let done: Vec<u32> = train
        .tasks
        .iter()
        .filter(|t| t.state.is_finished())
        .map(task_id)
        .collect();
    let efficiency = (!done.is_empty()).then(|| {
        super::build(job_dir, &super::ReportOptions::default())
            .map(|report| {
                let mut eff = super::efficiency_of(&report);
                eff.tasks.retain(|t| done.contains(&t.task));
                eff
            })
            .map_err(|e| e.to_string())
    });
    Ok(TrainView {
        running,
        efficiency,
    })
}

/// Refine why failed train tasks stopped with the worker's own record: the
/// scheduler sees only an exit status where metrics.json says the GPU ran
/// out of memory. Quietly leaves `st` as it is when the task directories
/// cannot be read here.
pub fn refine_causes(job_dir: &Path, st: &mut [JobStatus]) {
    use crate::scheduler::backend::StopCause;
    let Some(train) = st.iter_mut().find(|j| j.stage == "train") else {
        return;
    };
    let Ok(found) = super::discover::discover(job_dir) else {
        return;
    };
    for t in train.tasks.iter_mut() {
        let Some(run) = t.last_run.as_mut() else {
            continue;
        };
        if !matches!(run.cause, Some(StopCause::RunFailed) | None) {
            continue;
        }
        let id = t.task.unwrap_or(1);
        let Some(dir) = found
            .tasks
            .iter()
            .find(|f| f.id == id)
            .and_then(|f| f.dir.as_deref())
        else {
            continue;
        };
        let message = crate::jobdir::metrics::RunMetrics::read_value(dir)
            .and_then(|v| v["message"].as_str().map(str::to_string));
        if message.is_some_and(|m| m.starts_with(crate::jobdir::metrics::GPU_OUT_OF_MEMORY)) {
            run.cause = Some(StopCause::GpuOutOfMemory);
            if let Some(last) = t.attempts.last_mut() {
                *last = Some(StopCause::GpuOutOfMemory);
            }
        }
    }
}

/// The lines for the train job of `st`, reading task directories from `job_dir`.
pub fn text(job_dir: &Path, st: &[JobStatus], now_unix: f64) -> String {
    let Some(train) = st.iter().find(|j| j.stage == "train") else {
        return String::new();
    };
    let Ok(view) = gather(job_dir, train) else {
        return String::new();
    };
    let mut o = String::new();
    if !view.running.is_empty() {
        let _ = writeln!(o, "\nrunning train tasks:");
    }
    for (id, progress) in &view.running {
        let line = match progress {
            Ok(p) => p.summary(now_unix),
            Err(why) => why.clone(),
        };
        let _ = writeln!(o, "  task {id}: {line}");
    }
    match &view.efficiency {
        Some(Ok(eff)) if !eff.tasks.is_empty() => {
            o.push('\n');
            o.push_str(&efficiency_format::text(eff));
        }
        Some(Err(e)) => {
            let _ = writeln!(o, "\nefficiency: not computed ({e})");
        }
        _ => {}
    }
    o
}

/// `st` as `status --json` prints it: the jobs array, with the train job's
/// progress and efficiency added as the module's contract says.
pub fn json(job_dir: &Path, st: &[JobStatus], now_unix: f64) -> Value {
    let mut out = serde_json::to_value(st).expect("status serializes");
    let Some(index) = st.iter().position(|j| j.stage == "train") else {
        return out;
    };
    let train = &st[index];
    let view = gather(job_dir, train).map_err(|e| {
        format!(
            "the task directories are unknown here ({}: {e})",
            job_dir.display()
        )
    });
    let job = &mut out[index];
    for (i, t) in train.tasks.iter().enumerate() {
        let id = task_id(t);
        let task = &mut job["tasks"][i];
        if t.state == TaskState::Running {
            let (value, missing) = split(task_progress(&view, id).map(|p| LiveView {
                age_seconds: (now_unix - p.updated_unix).max(0.0),
                summary: p.summary(now_unix),
                progress: p,
            }));
            task["progress"] = value;
            task["progress_missing"] = missing;
        }
        if t.state.is_finished() {
            let eff: Result<TaskEfficiency, String> = efficiency(&view).and_then(|e| {
                e.tasks
                    .iter()
                    .find(|x| x.task == id)
                    .cloned()
                    .ok_or_else(|| {
                        format!("task {id} is not among the tasks of {}", job_dir.display())
                    })
            });
            let (value, missing) = split(eff);
            task["efficiency"] = value;
            task["efficiency_missing"] = missing;
        }
    }
    if train.tasks.iter().any(|t| t.state.is_finished()) {
        let summary = efficiency(&view).map(|e| {
            json!({
                "requests": e.requests,
                "accounting": e.accounting,
                "totals": e.totals,
                "suggestion": e.suggestion,
            })
        });
        let (value, missing) = split(summary);
        job["efficiency"] = value;
        job["efficiency_missing"] = missing;
    }
    out
}

/// Running task `id`'s progress in `view`, or why there is none.
fn task_progress(view: &Result<TrainView, String>, id: u32) -> Result<LiveProgress, String> {
    match view {
        Ok(v) => v
            .running
            .iter()
            .find(|(r, _)| *r == id)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| Err("not found among the running tasks".into())),
        Err(why) => Err(why.clone()),
    }
}

/// The finished tasks' efficiency in `view`, or why it was not computed.
fn efficiency(view: &Result<TrainView, String>) -> Result<&Efficiency, String> {
    match view {
        Ok(TrainView {
            efficiency: Some(Ok(e)),
            ..
        }) => Ok(e),
        Ok(TrainView {
            efficiency: Some(Err(e)),
            ..
        }) => Err(format!("not computed ({e})")),
        Ok(_) => Err("not computed".into()),
        Err(why) => Err(why.clone()),
    }
}

/// A figure and the reason it is missing, as a JSON pair (one of them null).
fn split<T: Serialize>(r: Result<T, String>) -> (Value, Value) {
    match r {
        Ok(v) => (
            serde_json::to_value(v).expect("status figures serialize"),
            Value::Null,
        ),
        Err(why) => (Value::Null, Value::String(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobdir::job_id::JobId;
    use crate::jobdir::progress::LiveProgress;
    use crate::scheduler::status::TaskStatus;

    fn task(id: u32, state: TaskState) -> TaskStatus {
        TaskStatus {
            task: Some(id),
            state,
            code: None,
            reason: None,
            runs: 0,
            last_run: None,
            attempts: Vec::new(),
        }
    }

    /// A train job (number 5) with these tasks.
    fn train_job(tasks: Vec<TaskStatus>) -> Vec<JobStatus> {
        vec![JobStatus {
            stage: "train".into(),
            name: "x-train".into(),
            id: JobId {
                number: 5,
                tasks: None,
            },
            tasks,
        }]
    }

    /// A jobs directory under `tmp` whose task 1 wrote progress (epoch 1/2,
    /// step 30/100 at t = 100 s), task 2 none yet, and task 3's output
    /// directory names an unset variable.
    fn jobs_dir_with_three_tasks(tmp: &Path) -> std::path::PathBuf {
        let jobs = tmp.join("jobs");
        let out = tmp.join("out");
        std::fs::create_dir_all(&jobs).unwrap();
        let tasks = serde_json::json!({"experiment": "x", "tasks": [
            {"id": 1, "swept": {}, "output_dir": out.join("task-1")},
            {"id": 2, "swept": {}, "output_dir": out.join("task-2")},
            {"id": 3, "swept": {}, "output_dir": "$HECJOB_SURELY_UNSET_VAR/task-3"},
        ]});
        std::fs::write(jobs.join("tasks.json"), tasks.to_string()).unwrap();
        std::fs::create_dir_all(out.join("task-1")).unwrap();
        crate::jobdir::progress::write(
            &out.join("task-1"),
            &LiveProgress {
                epoch: 1,
                epochs: 2,
                step: 30,
                steps_total: 100,
                last_loss: Some(0.25),
                last_dev_f1: None,
                elapsed_seconds: 30.0,
                eta_seconds: Some(70.0),
                updated_unix: 100.0,
                phase: crate::jobdir::progress::Phase::Training,
            },
        )
        .unwrap();
        jobs
    }

    #[test]
    fn a_failed_task_whose_worker_ran_out_of_gpu_memory_says_so() {
        use crate::scheduler::backend::{RunOutcome, RunRecord, StopCause};
        let tmp = tempfile::tempdir().unwrap();
        let jobs = jobs_dir_with_three_tasks(tmp.path());
        let out = tmp.path().join("out");
        std::fs::create_dir_all(out.join("task-2")).unwrap();
        std::fs::write(
            out.join("task-2/metrics.json"),
            r#"{"status": "failed", "message": "GPU out of memory: CUDA out of memory. Tried to allocate 2 GiB"}"#,
        )
        .unwrap();
        std::fs::write(
            out.join("task-1/metrics.json"),
            r#"{"status": "failed", "message": "data error"}"#,
        )
        .unwrap();
        let failed = |id| {
            let mut t = task(id, TaskState::Failed);
            let run: RunRecord = serde_json::from_value(serde_json::json!({
                "job": 5, "task": id, "name": "x-train", "outcome": "failed",
                "exit_status": 7, "failure": null, "wallclock_s": 3.0, "cpu_s": null,
                "max_rss_bytes": null, "maxvmem_bytes": null, "restarts": null, "host": null,
                "queue": null, "start_time": null, "end_time": null, "cause": "run_failed"
            }))
            .unwrap();
            assert_eq!(run.outcome, RunOutcome::Failed);
            t.attempts = vec![Some(StopCause::Requeued), run.cause];
            t.last_run = Some(run);
            t
        };
        let mut st = train_job(vec![failed(1), failed(2)]);
        refine_causes(&jobs, &mut st);
        let causes: Vec<_> = st[0]
            .tasks
            .iter()
            .map(|t| t.last_run.as_ref().unwrap().cause)
            .collect();
        assert_eq!(
            causes,
            [Some(StopCause::RunFailed), Some(StopCause::GpuOutOfMemory)]
        );
        assert_eq!(
            st[0].tasks[1].attempts,
            [Some(StopCause::Requeued), Some(StopCause::GpuOutOfMemory)]
        );
    }

    #[test]
    fn running_tasks_show_their_progress() {
        let tmp = tempfile::tempdir().unwrap();
        let jobs = jobs_dir_with_three_tasks(tmp.path());
        let st = train_job(vec![
            task(1, TaskState::Running),
            task(2, TaskState::Running),
            task(3, TaskState::Running),
            task(4, TaskState::Pending),
        ]);
        let t = text(&jobs, &st, 110.0);
        assert!(
            t.contains(
                "task 1: epoch 1/2, step 30/100, loss 0.2500, about 1 min left (updated 10 s ago)"
            ),
            "{t}"
        );
        assert!(t.contains("task 2: started; no progress yet"), "{t}");
        assert!(t.contains("task 3: output directory unknown here"), "{t}");
        assert!(!t.contains("task 4"), "{t}");
        assert!(!t.contains("Efficiency"), "{t}");

        // Issue: `status --json` lacked the progress the text view shows.
        let j = json(&jobs, &st, 110.0);
        let tasks = &j[0]["tasks"];
        let p = &tasks[0]["progress"];
        assert_eq!(p["step"], 30);
        assert_eq!(p["steps_total"], 100);
        assert_eq!(p["eta_seconds"], 70.0);
        assert_eq!(p["phase"], "training");
        assert_eq!(p["age_seconds"], 10.0);
        assert_eq!(
            p["summary"],
            "epoch 1/2, step 30/100, loss 0.2500, about 1 min left (updated 10 s ago)"
        );
        assert!(tasks[0]["progress_missing"].is_null());
        assert!(tasks[1]["progress"].is_null());
        assert!(tasks[1]["progress_missing"]
            .as_str()
            .unwrap()
            .starts_with("started; no progress yet"));
        assert!(tasks[2]["progress_missing"]
            .as_str()
            .unwrap()
            .starts_with("output directory unknown here"));
        // A pending task has no progress keys; no task finished: no efficiency.
        assert!(tasks[3].get("progress").is_none(), "{j:#}");
        assert!(j[0].get("efficiency").is_none(), "{j:#}");
    }

    /// Outside a rendered jobs directory nothing can be read: every figure
    /// is null beside the reason, and the job's state stays as it was.
    #[test]
    fn json_says_why_figures_are_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("not-a-jobs-dir");
        let st = train_job(vec![task(1, TaskState::Running), task(2, TaskState::Done)]);
        let j = json(&missing, &st, 0.0);
        let t = &j[0]["tasks"];
        assert_eq!(t[0]["state"], "running");
        assert!(t[0]["progress"].is_null());
        assert!(
            t[0]["progress_missing"]
                .as_str()
                .unwrap()
                .contains("the task directories are unknown here"),
            "{j:#}"
        );
        assert!(t[1]["efficiency"].is_null());
        assert!(t[1]["efficiency_missing"]
            .as_str()
            .unwrap()
            .contains("not-a-jobs-dir"));
        assert!(j[0]["efficiency"].is_null());
        assert!(j[0]["efficiency_missing"].is_string());
    }
}
