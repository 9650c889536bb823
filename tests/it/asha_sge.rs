//! Early stopping on the live Grid Engine (scripts/sge-local.sh up) with the real
//! worker: a two-point sweep whose second learning rate is clearly bad (0.9: the
//! model learns to predict no label) runs one task at a time; at its first rung
//! the bad task ranks below the good one's record, stops, keeps its best epoch,
//! exits 0, and the report says where and why. The same sweep through
//! `hecjob run --local` ends the same way. Skipped (visibly) without qsub or the
//! data.

use crate::support;
use crate::support::Hecjob;

use std::path::Path;
use std::time::{Duration, Instant};

fn config(storage: &Path, data: &Path) -> String {
    format!(
        r#"experiment:
  name: asha-live
cluster:
  storage_root: {storage}
  max_concurrent_tasks: 1
  jobs:
    train: {{ h_vmem: 8G, h_rt: "00:10:00", ncpus: 1, ngpus: 0 }}
paths:
  data_dir: {data}
model:
  name: {model}
train:
  epochs: 3
  max_length: 32
  max_train_examples: 160
  warmup_ratio: 0.0
  device: cpu
  log_every: 5
sweep:
  learning_rate: [0.003, 0.9]
  early_stop: {{rule: asha, metric: dev_macro_f1, min_epochs: 1, reduction_factor: 2}}
"#,
        storage = storage.display(),
        data = data.display(),
        model = support::fixture("golden/tiny-bert").display(),
    )
}

fn metrics(storage: &Path, task: u32) -> serde_json::Value {
    let p = storage.join(format!(
        "models/go-emotions/asha-live/task-{task}/metrics.json"
    ));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

#[test]
fn a_bad_learning_rate_stops_at_its_first_rung_on_grid_engine() {
    if !support::have_qsub() {
        return;
    }
    let Some(data) = support::goemotions_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let storage = tmp.path().join("storage");
    // What the install job leaves: hecjob in the bin/ of this config's
    // install home (from source: one per torch build).
    let bin = storage
        .join(hecjob::experiment::config::Install::default().home())
        .join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(support::cmd::BIN, bin.join("hecjob")).unwrap();
    let cfg = tmp.path().join("asha.yaml");
    std::fs::write(&cfg, config(&storage, &data)).unwrap();
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .args([
            "submit",
            cfg.to_str().unwrap(),
            "--only",
            "train",
            "--out",
            jobs.to_str().unwrap(),
        ])
        .output();
    assert!(
        out.status.success(),
        "submit failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Follow with `hecjob status --json` until both tasks have ended.
    let deadline = Instant::now() + Duration::from_secs(600);
    let tasks = loop {
        let out = Hecjob::new()
            .args(["status", jobs.to_str().unwrap(), "--json"])
            .output();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let tasks = st[0]["tasks"].as_array().unwrap().clone();
        if tasks.len() == 2
            && tasks
                .iter()
                .all(|t| matches!(t["state"].as_str(), Some("done" | "failed" | "error")))
        {
            break tasks;
        }
        assert!(
            Instant::now() < deadline,
            "the sweep did not end in time: {st:#}"
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    let log = |t: u32| {
        std::fs::read_dir(jobs.join("logs"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(&format!(".{t}")))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect::<String>()
    };
    // Both ended with exit status 0: stopping early is a success.
    for t in &tasks {
        assert_eq!(
            t["state"],
            "done",
            "{t:#}\n{}",
            log(t["task"].as_u64().unwrap() as u32)
        );
        assert_eq!(t["last_run"]["exit_status"], 0, "{t:#}");
    }

    let good = metrics(&storage, 1);
    let bad = metrics(&storage, 2);
    assert_eq!(good["status"], "finished", "{}", log(1));
    assert_eq!(good["epochs"].as_array().unwrap().len(), 3);
    let dev_f1 = |m: &serde_json::Value| m["epochs"][0]["dev"]["macro_avg"]["f1"].as_f64().unwrap();
    // Stopped on the metric, not on the tie rule.
    assert!(
        dev_f1(&good) > dev_f1(&bad),
        "{} vs {}",
        dev_f1(&good),
        dev_f1(&bad)
    );
    assert_eq!(bad["status"], "stopped_early", "{}", log(2));
    let s = &bad["stopped_early"];
    assert_eq!(
        (
            &s["rung"],
            &s["epoch"],
            &s["rank"],
            &s["compared"],
            &s["kept"],
            &s["continues"]
        ),
        (
            &1.into(),
            &1.into(),
            &2.into(),
            &2.into(),
            &1.into(),
            &false.into()
        ),
        "{s:#}"
    );
    assert_eq!(
        bad["epochs"].as_array().unwrap().len(),
        1,
        "trained past its rung"
    );
    // Its best epoch was kept and evaluated like a finished run's.
    let bad_dir = storage.join("models/go-emotions/asha-live/task-2");
    assert!(bad_dir.join("model.safetensors").is_file());
    assert_eq!(bad["test"]["examples"], 5427);
    assert!(!bad_dir.join("checkpoint").exists());
    assert!(log(2).contains("stopping early"), "{}", log(2));
    // The rung records the tasks left: task 1 at both rungs, task 2 at the first.
    let mut recs: Vec<String> = std::fs::read_dir(jobs.join("rungs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    recs.sort();
    assert_eq!(
        recs,
        [
            "rung-1.task-1.json",
            "rung-1.task-2.json",
            "rung-2.task-1.json"
        ]
    );

    // The report says which task stopped, where and why, and still picks the best.
    let out = Hecjob::new()
        .args(["report", jobs.to_str().unwrap(), "--no-plots", "--no-html"])
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "task 2: stopped_early (stopped at rung 1 (epoch 1): dev_macro_f1 ",
        " ranked 2 of 2 recorded there, the top 1 went on)",
        "* best: task 1 by best dev macro-F1",
        "early stopping (ASHA): 1 task stopped early; 4 epochs trained of 6 for the same points without stopping (67 %)",
        "rung 1 (epoch 1): 2 reached, 1 went on, 1 stopped",
        "rung 2 (epoch 2): 1 reached, 1 went on, 0 stopped",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// The same sweep with no scheduler: `run --local --jobs 2` (capped at one task
/// at a time by the config's max_concurrent_tasks, so the order is the same)
/// leaves the same decisions as Grid Engine did.
#[test]
fn the_same_sweep_stops_the_same_way_locally() {
    let Some(data) = support::goemotions_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let storage = tmp.path().join("storage");
    let bin = storage
        .join(hecjob::experiment::config::Install::default().home())
        .join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(support::cmd::BIN, bin.join("hecjob")).unwrap();
    let cfg = tmp.path().join("asha.yaml");
    std::fs::write(&cfg, config(&storage, &data)).unwrap();
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .args([
            "run",
            "--local",
            cfg.to_str().unwrap(),
            "--only",
            "train",
            "--jobs",
            "2",
            "--out",
            jobs.to_str().unwrap(),
        ])
        .output();
    assert!(
        out.status.success(),
        "run --local failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let good = metrics(&storage, 1);
    let bad = metrics(&storage, 2);
    assert_eq!(good["status"], "finished");
    assert_eq!(good["rungs"].as_array().unwrap().len(), 2);
    assert_eq!(bad["status"], "stopped_early");
    let s = &bad["stopped_early"];
    assert_eq!(
        (&s["rung"], &s["rank"], &s["compared"], &s["continues"]),
        (&1.into(), &2.into(), &2.into(), &false.into()),
        "{s:#}"
    );
}
