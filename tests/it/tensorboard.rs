//! TensorBoard event files from a real CPU training run (a tiny random BERT on
//! real GoEmotions lines), read back by TensorBoard's own Python reader
//! (tests/tensorboard/read_events.py, the `tensorboard` package that
//! scripts/setup-libtorch.sh installs into .venv): the loss at every log step,
//! the learning rate, dev macro-F1 per epoch and memory must be the values the
//! run recorded in metrics.json; and progress.json must say the run finished.

use crate::support;

use hecjob::experiment::config::{DeviceChoice, Train};
use hecjob::worker::train::trainer::{self, DataFiles, RunLimits, RunSpec};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// .venv's python when it has `tensorboard`; under CI its absence fails.
fn tensorboard_python() -> Option<PathBuf> {
    let py = support::repo().join(".venv/bin/python");
    let ok = Command::new("timeout")
        .arg("60")
        .arg(&py)
        .args(["-c", "import tensorboard"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "tensorboard not importable from .venv under CI: scripts/setup-libtorch.sh installs it"
        );
        eprintln!(
            "SKIPPED: .venv/bin/python cannot import tensorboard (run scripts/setup-libtorch.sh)"
        );
        return None;
    }
    Some(py)
}

fn small_data(dir: &Path) -> Option<DataFiles> {
    support::small_goemotions(dir, 160, 60, 60)?;
    Some(DataFiles::in_dir(dir))
}

fn series(run: &Value, tag: &str) -> Vec<(u64, f64)> {
    run[tag]
        .as_array()
        .unwrap_or_else(|| panic!("no scalar {tag} in {run}"))
        .iter()
        .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

#[test]
fn tensorboard_reads_what_the_run_recorded() {
    let _one = support::one_training_run_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let Some(py) = tensorboard_python() else {
        return;
    };
    let logdir = tmp.path().join("out");
    let save = logdir.join("task-1");
    let spec = RunSpec {
        data,
        save_dir: save.clone(),
        model: support::fixture("golden/tiny-bert").display().to_string(),
        revision: None,
        params: Train {
            learning_rate: 3e-3,
            batch_size: 16,
            epochs: 2,
            max_length: 32,
            warmup_ratio: 0.2,
            device: DeviceChoice::Cpu,
            log_every: 2,
            ..Train::default()
        },
        resume: false,
        scheduler_restart: false,
        experiment: None,
        task: Some(1),
        swept: Default::default(),
        limits: RunLimits::full(),
        print_table: None,
        early_stop: None,
    };
    let m = trainer::run(&spec).unwrap();

    let out = Command::new("timeout")
        .arg("120")
        .arg(&py)
        .arg(support::repo().join("tests/tensorboard/read_events.py"))
        .arg(&logdir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reader failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["versions"], serde_json::json!(["brain.Event:2"]));
    let runs = read["runs"].as_object().unwrap();
    assert_eq!(
        runs.keys().collect::<Vec<_>>(),
        ["task-1"],
        "one run per task directory"
    );
    let run = &runs["task-1"];

    // Loss: every log step, the value metrics.json logged (stored as f32).
    let loss = series(run, "train/loss");
    assert_eq!(loss.len(), m.loss_log.len());
    assert!(
        loss.len() >= 8,
        "160 examples / 16 per batch / log every 2, 2 epochs"
    );
    for (got, want) in loss.iter().zip(&m.loss_log) {
        assert_eq!(got.0, want.step);
        assert!(
            (got.1 - want.loss).abs() <= 1e-6 * want.loss.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
    // Learning rate: linear warmup over 20 % of the 20 steps, then linear decay.
    let lr = series(run, "train/learning_rate");
    assert_eq!(
        lr.iter().map(|p| p.0).collect::<Vec<_>>(),
        loss.iter().map(|p| p.0).collect::<Vec<_>>()
    );
    let peak = lr.iter().map(|p| p.1).fold(0.0, f64::max);
    assert!((peak - 3e-3).abs() < 1e-3, "peak lr {peak}");
    assert!(
        lr.first().unwrap().1 < peak && lr.last().unwrap().1 < peak,
        "{lr:?}"
    );

    // Dev macro-F1: one point per epoch at the epoch's last step.
    let dev = series(run, "dev/macro_f1");
    assert_eq!(dev.len(), 2);
    for (i, (step, f1)) in dev.iter().enumerate() {
        let e = &m.epochs[i];
        assert_eq!(*step, 10 * (i as u64 + 1));
        let want = e.dev.as_ref().unwrap().macro_avg.f1;
        assert!(
            (f1 - want).abs() < 1e-6,
            "epoch {}: {f1} vs {want}",
            e.epoch
        );
    }
    // Host memory beside the loss (no GPU here, so no GPU series).
    let rss = series(run, "memory/host_rss_gib");
    assert!(!rss.is_empty());
    let peak_gib = m.memory.peak_rss_bytes.unwrap() as f64 / (1u64 << 30) as f64;
    assert!(
        rss.iter().all(|p| p.1 > 0.05 && p.1 <= peak_gib + 1e-6),
        "{rss:?} vs peak {peak_gib}"
    );
    assert!(run.get("memory/gpu_process_gib").is_none());

    // The live progress file ends at the last step.
    let p = hecjob::jobdir::progress::read(&save).unwrap().unwrap();
    assert_eq!((p.epoch, p.epochs, p.step, p.steps_total), (2, 2, 20, 20));
    assert_eq!(p.phase, hecjob::jobdir::progress::Phase::Finished);
    assert_eq!(
        p.last_dev_f1,
        Some(m.epochs[1].dev.as_ref().unwrap().macro_avg.f1)
    );
}
