//! What `hecjob status` adds below the scheduler's table, read from the task
//! directories: each running train task's live progress (`progress.json`,
//! which the worker replaces atomically at every log step) and, once train
//! tasks have finished, their efficiency (requests against use, and what to
//! ask for next time).
//!
//! It never fails the status command: a job directory that is not a rendered
//! jobs directory, or tasks whose output cannot be resolved here, are skipped
//! with a line that says why.

use super::efficiency_format;
use crate::scheduler::status::{JobStatus, TaskState};
use std::fmt::Write;
use std::path::Path;

/// The lines for the train job of `st`, reading task directories from `job_dir`.
pub fn text(job_dir: &Path, st: &[JobStatus], now_unix: f64) -> String {
    let Some(train) = st.iter().find(|j| j.stage == "train") else {
        return String::new();
    };
    let Ok(found) = super::discover::discover(job_dir) else {
        return String::new();
    };
    let mut o = String::new();
    let running: Vec<u32> = train
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Running)
        .map(|t| t.task.unwrap_or(1))
        .collect();
    if !running.is_empty() {
        let _ = writeln!(o, "\nrunning train tasks:");
    }
    for id in &running {
        let task = found.tasks.iter().find(|t| t.id == *id);
        let line = match task.and_then(|t| t.dir.as_deref()) {
            None => match task.and_then(|t| t.problem.as_deref()) {
                Some(p) => format!("output directory unknown here: {p}"),
                None => "not in tasks.json".into(),
            },
            Some(dir) => match crate::live::read(dir) {
                None => "started; no progress yet (loading data and model, or before its first log step)".into(),
                Some(Ok(p)) => p.summary(now_unix),
                Some(Err(e)) => format!("progress unreadable: {e}"),
            },
        };
        let _ = writeln!(o, "  task {id}: {line}");
    }
    let finished = train.tasks.iter().filter(|t| t.state.is_finished()).count();
    if finished > 0 {
        match super::build(job_dir, &super::ReportOptions::default()) {
            Ok(report) => {
                let mut eff = super::efficiency_of(&report);
                let done: Vec<u32> = train
                    .tasks
                    .iter()
                    .filter(|t| t.state.is_finished())
                    .map(|t| t.task.unwrap_or(1))
                    .collect();
                eff.tasks.retain(|t| done.contains(&t.task));
                if !eff.tasks.is_empty() {
                    o.push('\n');
                    o.push_str(&efficiency_format::text(&eff));
                }
            }
            Err(e) => {
                let _ = writeln!(o, "\nefficiency: not computed ({e})");
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveProgress;
    use crate::scheduler::job_id::JobId;
    use crate::scheduler::status::TaskStatus;

    fn task(id: u32, state: TaskState) -> TaskStatus {
        TaskStatus {
            task: Some(id),
            state,
            code: None,
            reason: None,
            runs: 0,
            last_run: None,
        }
    }

    #[test]
    fn running_tasks_show_their_progress() {
        let tmp = tempfile::tempdir().unwrap();
        let jobs = tmp.path().join("jobs");
        let out = tmp.path().join("out");
        std::fs::create_dir_all(&jobs).unwrap();
        let tasks = serde_json::json!({"experiment": "x", "tasks": [
            {"id": 1, "swept": {}, "output_dir": out.join("task-1")},
            {"id": 2, "swept": {}, "output_dir": out.join("task-2")},
            {"id": 3, "swept": {}, "output_dir": "$HECJOB_SURELY_UNSET_VAR/task-3"},
        ]});
        std::fs::write(jobs.join("tasks.json"), tasks.to_string()).unwrap();
        std::fs::create_dir_all(out.join("task-1")).unwrap();
        crate::live::write(
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
                phase: crate::live::Phase::Training,
            },
        )
        .unwrap();
        let st = vec![JobStatus {
            stage: "train".into(),
            name: "x-train".into(),
            id: JobId {
                number: 5,
                tasks: None,
            },
            tasks: vec![
                task(1, TaskState::Running),
                task(2, TaskState::Running),
                task(3, TaskState::Running),
                task(4, TaskState::Pending),
            ],
        }];
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
    }
}
