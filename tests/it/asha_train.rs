//! Early stopping inside the real worker (tiny BERT, CPU): a task that is
//! requeued keeps the rung record its earlier attempt made (and judges with its
//! value), and a run interrupted between rungs resumes with its rung decisions
//! and records each rung once.

use crate::support;

use hecjob::experiment::config::search::EarlyStop;
use hecjob::experiment::config::{DeviceChoice, Train};
use hecjob::worker::asha::store::{file_name, RUNGS_DIR};
use hecjob::worker::train::trainer::{self, DataFiles, EarlyStopSpec, RunLimits, RunSpec};
use std::path::Path;

const SHA: &str = "cafe";

/// 320 train, 120 dev, 120 test lines.
fn small_data(dir: &Path) -> Option<DataFiles> {
    support::small_goemotions(dir, 320, 120, 120)?;
    Some(DataFiles::in_dir(dir))
}

/// Task 5 of a sweep whose job directory is `job`, η = 2 from epoch 1.
fn spec(data: &DataFiles, save: &Path, job: &Path, epochs: u32) -> RunSpec {
    RunSpec {
        data: data.clone(),
        save_dir: save.to_path_buf(),
        model: support::fixture("golden/tiny-bert").display().to_string(),
        revision: None,
        params: Train {
            learning_rate: 3e-3,
            batch_size: 16,
            epochs,
            max_length: 32,
            warmup_ratio: 0.0,
            device: DeviceChoice::Cpu,
            log_every: 5,
            ..Train::default()
        },
        resume: true,
        scheduler_restart: false,
        experiment: Some("e".into()),
        task: Some(5),
        swept: Default::default(),
        limits: RunLimits::full(),
        print_table: None,
        early_stop: Some(EarlyStopSpec {
            job_dir: job.to_path_buf(),
            config_sha256: SHA.into(),
            tasks: (1..=8).collect(),
            rule: EarlyStop {
                rule: Default::default(),
                metric: Default::default(),
                min_epochs: 1,
                reduction_factor: 2,
            },
        }),
    }
}

fn record(job: &Path, epoch: u32, task: u32, value: f64) {
    let dir = job.join(RUNGS_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    let json = serde_json::json!({
        "task": task, "epoch": epoch, "metric": "dev_macro_f1", "value": value,
        "config_sha256": SHA, "pid": 1, "recorded_unix": 0,
    });
    std::fs::write(dir.join(file_name(epoch, task)), json.to_string()).unwrap();
}

fn records(job: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(job.join(RUNGS_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn requeued_and_resumed_tasks_record_each_rung_once() {
    let _one = support::one_training_run_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };

    // 1. An earlier attempt of task 5 recorded 0.5 at epoch 1, then died before
    // its checkpoint. Task 1 recorded 0.4. The new attempt trains epoch 1 again
    // (its own dev macro-F1 is far below 0.4 with this tiny model): the first
    // record stands, so task 5 ranks first of two and goes on to the end.
    let job = tmp.path().join("job-a");
    record(&job, 1, 5, 0.5);
    record(&job, 1, 1, 0.4);
    let own = job.join(RUNGS_DIR).join(file_name(1, 5));
    let before = std::fs::read(&own).unwrap();
    let m = trainer::run(&spec(&data, &tmp.path().join("a"), &job, 2)).unwrap();
    assert!(m.epochs[0].dev.as_ref().unwrap().macro_avg.f1 < 0.4);
    assert_eq!(
        std::fs::read(&own).unwrap(),
        before,
        "the record was rewritten"
    );
    assert_eq!(m.rungs.len(), 1);
    assert_eq!(
        (
            m.rungs[0].value,
            m.rungs[0].rank,
            m.rungs[0].compared,
            m.rungs[0].continues
        ),
        (0.5, 1, 2, true)
    );
    assert_eq!(m.status, hecjob::jobdir::RunStatus::Finished);
    assert_eq!(records(&job), [file_name(1, 1), file_name(1, 5)]);

    // 2. Interrupted in epoch 2 (after rung 1, before rung 2), then resumed from
    // the step-27 checkpoint: rung 1's decision comes back from the checkpoint,
    // rung 2 is recorded once, and the run finishes.
    let job = tmp.path().join("job-b");
    let save = tmp.path().join("b");
    let mut s = spec(&data, &save, &job, 3);
    s.limits.raise_signal_at_step = Some(27); // 20 steps an epoch
    let err = trainer::run(&s).unwrap_err();
    assert_eq!(err.exit_code(), 99, "{err}");
    assert_eq!(records(&job), [file_name(1, 5)]);
    s.limits.raise_signal_at_step = None;
    let m = trainer::run(&s).unwrap();
    let got: Vec<(u32, u32, bool)> = m
        .rungs
        .iter()
        .map(|d| (d.rung, d.epoch, d.continues))
        .collect();
    assert_eq!(
        got,
        [(1, 1, true), (2, 2, true)],
        "alone at each rung, it goes on"
    );
    assert_eq!(records(&job), [file_name(1, 5), file_name(2, 5)]);
    assert_eq!(m.epochs.len(), 3);
}
