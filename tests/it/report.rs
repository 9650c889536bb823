//! `hecjob report` on sweep directories built from realistic `RunMetrics`:
//! table/csv/json/markdown snapshots, incomplete sweeps, Grid Engine accounting,
//! and the plots (valid SVG with one line per task, decodable PNG with text).

use crate::support::Hecjob;
use hecjob::jobdir::data_record::{DataRecord, FileRecord};
use hecjob::jobdir::metrics::{
    EpochRecord, Evaluation, LabelScore, LossPoint, MemoryRecord, MemorySample, Prf, RunMetrics,
    METRICS_SCHEMA_VERSION,
};
use hecjob::report::table4::PAPER_TABLE4;
use hecjob::report::{self, format, plots, Layout, ReportOptions, SortKey, Status};
use serde_json::{json, Map, Value};
use std::path::Path;

use crate::support;

/// GoEmotions test-set gold counts per label (emotions.txt order).
const TEST_SUPPORT: [u64; 28] = [
    504, 264, 198, 320, 351, 135, 153, 284, 83, 151, 267, 123, 37, 103, 78, 352, 6, 161, 238, 23,
    186, 16, 145, 11, 56, 156, 141, 1787,
];
const TRAIN_EXAMPLES: u64 = 43_410;
const GIB: u64 = 1 << 30;

/// A realistic training run: what `hecjob train` writes for one sweep task.
struct RunBuilder {
    task: u32,
    learning_rate: f64,
    batch_size: u64,
    epochs_planned: u32,
    epochs_done: u32,
    status: &'static str,
    /// Shifts every per-emotion score: the run's quality relative to the paper.
    offset: f64,
    message: Option<String>,
    /// A run on its own data (issue 19): its labels, data record and, for a
    /// single-label run, the confusion matrix its scores come from.
    own: Option<OwnData>,
}

/// What a run on "your own data" read and how it scored.
#[derive(Clone)]
struct OwnData {
    labels: Vec<String>,
    record: DataRecord,
    /// Single-label runs: test counts[gold][predicted].
    confusion: Option<Vec<Vec<u64>>>,
}

impl RunBuilder {
    fn new(task: u32, learning_rate: f64, batch_size: u64) -> Self {
        RunBuilder {
            task,
            learning_rate,
            batch_size,
            epochs_planned: 4,
            epochs_done: 4,
            status: "finished",
            offset: 0.0,
            message: None,
            own: None,
        }
    }

    fn own_data(mut self, own: OwnData) -> Self {
        self.own = Some(own);
        self
    }

    fn offset(mut self, o: f64) -> Self {
        self.offset = o;
        self
    }

    fn running(mut self, done: u32) -> Self {
        self.status = "running";
        self.epochs_done = done;
        self
    }

    fn failed(mut self, done: u32, msg: &str) -> Self {
        self.status = "failed";
        self.epochs_done = done;
        self.message = Some(msg.into());
        self
    }

    /// Per-emotion scores: the paper's P/R moved by `shift`, F1 from P and R,
    /// the macro row as the column mean (as `metrics::evaluate` computes them).
    fn evaluation(&self, shift: f64, examples: u64) -> Evaluation {
        if let Some(own) = &self.own {
            return own_evaluation(own, shift);
        }
        let per_label: Vec<LabelScore> = PAPER_TABLE4
            .iter()
            .zip(TEST_SUPPORT)
            .enumerate()
            .map(|(i, (&(label, p, r, _), support))| {
                // Rare labels move less than frequent ones, as in real runs.
                let s = if support < 40 { shift / 3.0 } else { shift };
                let wiggle = ((i as f64 * 1.7).sin()) * 0.01;
                let precision = (p + s + wiggle).clamp(0.0, 1.0);
                let recall = (r + s / 2.0 - wiggle).clamp(0.0, 1.0);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                LabelScore {
                    label: label.to_string(),
                    precision: round4(precision),
                    recall: round4(recall),
                    f1: round4(f1),
                    support,
                    threshold: 0.3,
                }
            })
            .collect();
        let n = per_label.len() as f64;
        let macro_avg = Prf {
            precision: round4(per_label.iter().map(|l| l.precision).sum::<f64>() / n),
            recall: round4(per_label.iter().map(|l| l.recall).sum::<f64>() / n),
            f1: round4(per_label.iter().map(|l| l.f1).sum::<f64>() / n),
        };
        Evaluation {
            per_label,
            macro_avg,
            examples,
            micro_avg: None,
            accuracy: None,
            confusion: None,
        }
    }

    fn build(&self) -> RunMetrics {
        let steps_per_epoch = TRAIN_EXAMPLES.div_ceil(self.batch_size);
        let log_every = 200;
        let seconds_per_epoch = 180.0 + 4000.0 / self.batch_size as f64 + f64::from(self.task);
        let epochs: Vec<EpochRecord> = (1..=self.epochs_done)
            .map(|e| {
                // Dev F1 climbs, then flattens; the last epoch is slightly worse.
                let climb = [-0.08, -0.03, 0.0, -0.01][(e as usize - 1).min(3)];
                EpochRecord {
                    epoch: e,
                    train_loss: round4(0.16 / f64::from(e) + 0.05),
                    seconds: seconds_per_epoch + f64::from(e),
                    steps: steps_per_epoch,
                    steps_per_second: round4(steps_per_epoch as f64 / seconds_per_epoch),
                    timed_seconds: None,
                    gpu_wait_seconds: None,
                    dev: Some(self.evaluation(self.offset + climb, 5426)),
                }
            })
            .collect();
        let total_steps = steps_per_epoch * u64::from(self.epochs_done)
            + if self.status == "running" {
                steps_per_epoch / 2
            } else {
                0
            };
        let loss_log: Vec<LossPoint> = (1..=total_steps / log_every)
            .map(|i| {
                let step = i * log_every;
                let x = step as f64 / (800.0 * (self.learning_rate / 5e-5));
                LossPoint {
                    step,
                    epoch: (step / steps_per_epoch + 1) as u32,
                    loss: round4(0.62 * (-x).exp() + 0.07 + 0.01 * (step as f64 / 300.0).sin()),
                }
            })
            .collect();
        let total_seconds = seconds_per_epoch * f64::from(self.epochs_done) + 40.0;
        let gpu_peak = 3 * GIB + self.batch_size * 180 * (1 << 20);
        let samples: Vec<MemorySample> = (0..=(total_seconds / 30.0) as u64)
            .map(|i| {
                let t = i as f64 * 30.0;
                // Model load, then the first batches allocate the working set.
                let ramp = (t / 90.0).min(1.0);
                let process = (gpu_peak as f64 * (0.35 + 0.65 * ramp)) as u64;
                MemorySample {
                    t,
                    gpu_device_used_bytes: Some(process + 420 * (1 << 20)),
                    gpu_process_used_bytes: Some(process),
                    rss_bytes: Some((2.4 * GIB as f64 + 0.3 * GIB as f64 * ramp) as u64),
                    gpu_utilization_percent: Some((40.0 + 50.0 * ramp) as u32),
                }
            })
            .collect();
        let best_epoch = epochs
            .iter()
            .max_by(|a, b| {
                let f = |e: &EpochRecord| e.dev.as_ref().unwrap().macro_avg.f1;
                f(a).total_cmp(&f(b)).then(b.epoch.cmp(&a.epoch))
            })
            .map(|e| e.epoch);
        let mut swept = Map::new();
        swept.insert("learning_rate".into(), json!(self.learning_rate));
        swept.insert("batch_size".into(), json!(self.batch_size));
        let params = json!({
            "model": "bert-base-cased",
            "epochs": self.epochs_planned,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "max_seq_length": 128,
            "threshold": 0.3,
            "log_every": log_every,
            "seed": 42,
        });
        RunMetrics {
            schema_version: METRICS_SCHEMA_VERSION,
            hecjob_version: "0.1.0".into(),
            status: serde_json::from_value(serde_json::json!(self.status)).unwrap(),
            experiment: Some("lr-bs-sweep".into()),
            task: Some(self.task),
            swept,
            params: params.as_object().unwrap().clone(),
            model: "bert-base-cased".into(),
            device: "cuda:0".into(),
            labels: match &self.own {
                Some(o) => o.labels.clone(),
                None => PAPER_TABLE4.iter().map(|r| r.0.to_string()).collect(),
            },
            data: self.own.as_ref().map(|o| o.record.clone()),
            epochs,
            best_epoch: if self.status == "finished" {
                best_epoch
            } else {
                None
            },
            test: (self.status == "finished"
                && self.own.as_ref().is_none_or(|o| o.record.has_test))
            .then(|| self.evaluation(self.offset, 5427)),
            test_tuned: None,
            loss_log,
            memory: MemoryRecord {
                gpu_available: true,
                gpu_unavailable_reason: None,
                gpu_name: Some("NVIDIA A100-SXM4-40GB".into()),
                peak_gpu_device_used_bytes: Some(gpu_peak + 420 * (1 << 20)),
                peak_gpu_process_used_bytes: Some(gpu_peak),
                peak_rss_bytes: Some(2 * GIB + 700 * (1 << 20)),
                gpu_total_bytes: Some(42_505_273_344),
                gpu_utilization_avg_percent: Some(81.5),
                gpu_energy_joules: Some(210.0 * total_seconds),
                gpu_energy_unavailable_reason: None,
                samples,
            },
            total_seconds,
            save_seconds: (self.status == "finished").then_some(3.5),
            message: self.message.clone(),
            rungs: Vec::new(),
            stopped_early: None,
        }
    }
}

/// Scores of a run on its own data. Single-label: from the confusion matrix
/// (P, R, F1 per class; micro-F1 = accuracy), as the worker computes them.
/// Multi-label: made-up per-label scores moved by `shift`, micro a bit above macro.
fn own_evaluation(own: &OwnData, shift: f64) -> Evaluation {
    let prf = |p: f64, r: f64| Prf {
        precision: round4(p),
        recall: round4(r),
        f1: round4(if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }),
    };
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let (per_label, micro, accuracy, examples): (Vec<LabelScore>, Prf, Option<f64>, u64) =
        match &own.confusion {
            Some(cm) => {
                let total: u64 = cm.iter().flatten().sum();
                let right: u64 = (0..cm.len()).map(|k| cm[k][k]).sum();
                let per = own
                    .labels
                    .iter()
                    .enumerate()
                    .map(|(k, label)| {
                        let gold: u64 = cm[k].iter().sum();
                        let said: u64 = cm.iter().map(|row| row[k]).sum();
                        let s = prf(ratio(cm[k][k], said), ratio(cm[k][k], gold));
                        LabelScore {
                            label: label.clone(),
                            precision: s.precision,
                            recall: s.recall,
                            f1: s.f1,
                            support: gold,
                            threshold: 0.5,
                        }
                    })
                    .collect();
                let acc = round4(ratio(right, total));
                (per, prf(acc, acc), Some(acc), total)
            }
            None => {
                let per = own
                    .labels
                    .iter()
                    .enumerate()
                    .map(|(i, label)| {
                        let s = prf(0.45 + shift + 0.04 * i as f64, 0.6 + shift / 2.0);
                        LabelScore {
                            label: label.clone(),
                            precision: s.precision,
                            recall: s.recall,
                            f1: s.f1,
                            support: 100 + 10 * i as u64,
                            threshold: 0.3,
                        }
                    })
                    .collect();
                (per, prf(0.6 + shift, 0.7 + shift), None, 1000)
            }
        };
    let n = per_label.len() as f64;
    let mean = |f: fn(&LabelScore) -> f64| round4(per_label.iter().map(f).sum::<f64>() / n);
    Evaluation {
        macro_avg: Prf {
            precision: mean(|l| l.precision),
            recall: mean(|l| l.recall),
            f1: mean(|l| l.f1),
        },
        per_label,
        examples,
        micro_avg: Some(micro),
        accuracy,
        confusion: own.confusion.clone(),
    }
}

/// A data record as the data check writes it: one file per split.
fn data_record(
    format: &str,
    task: &str,
    label_map: Option<&str>,
    labels: &[&str],
    has_test: bool,
) -> DataRecord {
    let splits: &[&str] = if has_test {
        &["train", "dev", "test"]
    } else {
        &["train", "dev"]
    };
    DataRecord {
        format: format.into(),
        task: task.into(),
        label_map: label_map.map(String::from),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        label_source: "given".into(),
        files: splits
            .iter()
            .map(|split| FileRecord {
                split: split.to_string(),
                path: format!("/data/reviews/{split}.{format}"),
                sha256: support::sha256(split.as_bytes()),
                bytes: 1000,
                rows: 10,
            })
            .collect(),
        splits: Vec::new(),
        held_out: None,
        has_test,
        rejected: 0,
        warnings: Vec::new(),
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn write_metrics(task_dir: &Path, m: &RunMetrics) {
    std::fs::create_dir_all(task_dir).unwrap();
    std::fs::write(
        task_dir.join("metrics.json"),
        serde_json::to_string_pretty(m).unwrap(),
    )
    .unwrap();
}

/// A rendered jobs directory for a 6-task sweep whose outputs live under
/// `$HECJOB_TEST_STORAGE`-style paths (absolute here), in every state a sweep
/// can be in: finished ×3, running, failed, garbage metrics, never started.
struct Sweep {
    _tmp: tempfile::TempDir,
    jobs: std::path::PathBuf,
    outputs: std::path::PathBuf,
}

fn sweep() -> Sweep {
    let tmp = tempfile::tempdir().unwrap();
    let jobs = tmp.path().join("jobs/lr-bs-sweep");
    let outputs = tmp.path().join("storage/models/go-emotions/lr-bs-sweep");
    std::fs::create_dir_all(&jobs).unwrap();
    let grid = [
        (2e-5, 16),
        (5e-5, 16),
        (2e-5, 32),
        (5e-5, 32),
        (3e-5, 16),
        (3e-5, 32),
    ];
    let tasks: Vec<Value> = grid
        .iter()
        .enumerate()
        .map(|(i, (lr, bs))| {
            json!({
                "id": i + 1,
                "swept": {"learning_rate": lr, "batch_size": bs},
                "output_dir": outputs.join(format!("task-{}", i + 1)),
            })
        })
        .collect();
    std::fs::write(
        jobs.join("tasks.json"),
        serde_json::to_string_pretty(&json!({"experiment": "lr-bs-sweep", "tasks": tasks}))
            .unwrap(),
    )
    .unwrap();
    let t = |n: u32| outputs.join(format!("task-{n}"));
    write_metrics(&t(1), &RunBuilder::new(1, 2e-5, 16).offset(0.02).build());
    write_metrics(&t(2), &RunBuilder::new(2, 5e-5, 16).offset(0.05).build());
    write_metrics(&t(3), &RunBuilder::new(3, 2e-5, 32).offset(-0.01).build());
    write_metrics(
        &t(4),
        &RunBuilder::new(4, 5e-5, 32).offset(0.09).running(2).build(),
    );
    write_metrics(
        &t(5),
        &RunBuilder::new(5, 3e-5, 16)
            .failed(1, "CUDA out of memory. Tried to allocate 1.50 GiB")
            .build(),
    );
    // Task 6 was cut off mid-write by a full disk.
    std::fs::create_dir_all(t(6)).unwrap();
    std::fs::write(
        t(6).join("metrics.json"),
        r#"{"schema_version": 1, "status": "runn"#,
    )
    .unwrap();
    Sweep {
        _tmp: tmp,
        jobs,
        outputs,
    }
}

fn no_qacct() -> ReportOptions {
    ReportOptions {
        qacct: None,
        ..ReportOptions::default()
    }
}

/// Replace the temp dir in outputs so snapshots are stable.
fn scrub(s: &str, sw: &Sweep) -> String {
    s.replace(&sw._tmp.path().display().to_string(), "<tmp>")
}

#[test]
fn table_snapshot() {
    let sw = sweep();
    let r = report::build(&sw.jobs, &no_qacct()).unwrap();
    let out = format::render(&r, format::Format::Table, &plots::Plots::default());
    insta::assert_snapshot!(scrub(&out, &sw));
}

#[test]
fn csv_snapshot() {
    let sw = sweep();
    let r = report::build(&sw.jobs, &no_qacct()).unwrap();
    insta::assert_snapshot!(format::render(
        &r,
        format::Format::Csv,
        &plots::Plots::default()
    ));
}

#[test]
fn markdown_snapshot() {
    let sw = sweep();
    let opts = ReportOptions {
        top: Some(3),
        ..no_qacct()
    };
    let r = report::build(&sw.jobs, &opts).unwrap();
    insta::assert_snapshot!(format::render(
        &r,
        format::Format::Markdown,
        &plots::Plots::default()
    ));
}

#[test]
fn json_snapshot_and_shape() {
    let sw = sweep();
    let opts = ReportOptions {
        sort: SortKey::DevF1,
        top: Some(2),
        ..no_qacct()
    };
    let r = report::build(&sw.jobs, &opts).unwrap();
    let out = format::render(&r, format::Format::Json, &plots::Plots::default());
    let v: Value = serde_json::from_str(&out).unwrap();
    // The running task 4 leads on dev but has no test yet: the best is the
    // finished run with the highest dev F1, task 2, with its Table 4.
    assert_eq!(v["best_task"], 2);
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    assert_eq!(v["rows"][0]["task"], 4);
    assert_eq!(v["total_tasks"], 6);
    assert!(!v["table4"].is_null());
    insta::assert_snapshot!(out);
}

#[test]
fn incomplete_sweep_rows_have_their_state() {
    let sw = sweep();
    // A 7th task listed but never started: add it to tasks.json.
    let path = sw.jobs.join("tasks.json");
    let mut tasks: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    tasks["tasks"].as_array_mut().unwrap().push(json!({
        "id": 7, "swept": {"learning_rate": 1e-5, "batch_size": 16},
        "output_dir": sw.outputs.join("task-7"),
    }));
    std::fs::write(&path, tasks.to_string()).unwrap();

    let r = report::build(&sw.jobs, &no_qacct()).unwrap();
    let state = |t: u32| r.row(t).unwrap().status.clone();
    assert_eq!(state(1), Status::Finished);
    assert_eq!(state(4), Status::Running);
    assert_eq!(state(5), Status::Failed);
    assert_eq!(state(6), Status::Unreadable);
    assert_eq!(state(7), Status::Missing);
    let running = r.row(4).unwrap();
    assert_eq!((running.epochs_done, running.epochs_planned), (2, Some(4)));
    assert!(running.test_f1.is_none() && running.best_dev_f1.is_some());
    assert!(r
        .row(5)
        .unwrap()
        .note
        .as_deref()
        .unwrap()
        .contains("out of memory"));
    assert!(r.row(6).unwrap().note.as_deref().unwrap().contains("EOF"));
    // Sorted by dev F1 the running task 4 comes first, but the best run (by dev
    // F1, among finished runs) is task 2.
    assert_eq!(r.best, Some(2));
    assert_eq!(r.rows[0].task, 4);
    assert!(!r.rows[0].best);
    assert!(r.row(2).unwrap().best);
    let c = r.comparison.as_ref().unwrap();
    assert_eq!((c.task, c.rows.len()), (2, 28));
    let admiration = &c.rows[0];
    let d = admiration.delta.as_ref().unwrap();
    assert!((d.f1 - (admiration.ours.f1 - 0.65)).abs() < 1e-12);
}

#[test]
fn sort_by_cost_keeps_best_by_dev_f1() {
    let sw = sweep();
    let opts = ReportOptions {
        sort: SortKey::SecondsPerEpoch,
        ..no_qacct()
    };
    let r = report::build(&sw.jobs, &opts).unwrap();
    let spe: Vec<f64> = r.rows.iter().filter_map(|r| r.seconds_per_epoch).collect();
    assert!(spe.windows(2).all(|w| w[0] <= w[1]), "{spe:?}");
    assert_eq!(r.best, Some(2));
    // Rows without the metric go last.
    assert_eq!(r.rows.last().unwrap().status, Status::Unreadable);

    let by_task = report::build(
        &sw.jobs,
        &ReportOptions {
            sort: SortKey::Task,
            ..no_qacct()
        },
    )
    .unwrap();
    let ids: Vec<u32> = by_task.rows.iter().map(|r| r.task).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
}

#[test]
fn top_zero_is_a_usage_error() {
    let sw = sweep();
    let e = report::build(
        &sw.jobs,
        &ReportOptions {
            top: Some(0),
            ..no_qacct()
        },
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn output_root_and_single_task_dir() {
    let sw = sweep();
    let root = report::build(&sw.outputs, &no_qacct()).unwrap();
    assert_eq!(root.layout, Layout::OutputRoot);
    assert_eq!(root.total_tasks, 6);
    // Swept values come from each run's metrics when there is no tasks.json.
    assert_eq!(root.swept_keys, ["learning_rate", "batch_size"]);
    assert_eq!(root.experiment.as_deref(), Some("lr-bs-sweep"));
    assert_eq!(root.best, Some(2));

    let one = report::build(&sw.outputs.join("task-3"), &no_qacct()).unwrap();
    assert_eq!(one.layout, Layout::TaskDir);
    assert_eq!(one.rows.len(), 1);
    assert_eq!(one.rows[0].task, 3);
    assert_eq!(one.best, Some(3));

    let empty = tempfile::tempdir().unwrap();
    let e = report::build(empty.path(), &no_qacct()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("tasks.json"), "{e}");
}

#[test]
fn output_dir_variables_are_expanded_or_reported() {
    let sw = sweep();
    let storage = sw._tmp.path().join("storage");
    // Both forms. The variable is the report process's own: a test never sets
    // this process's environment (the tests share it under `cargo test`).
    let tasks = json!({"experiment": "lr-bs-sweep", "tasks": [
        {"id": 1, "swept": {"learning_rate": 2e-5}, "output_dir": "$HECJOB_REPORT_TEST_STORAGE/models/go-emotions/lr-bs-sweep/task-1"},
        {"id": 2, "swept": {"learning_rate": 5e-5}, "output_dir": "${HECJOB_REPORT_TEST_STORAGE}/models/go-emotions/lr-bs-sweep/task-2"},
        {"id": 3, "swept": {"learning_rate": 2e-5}, "output_dir": "$HECJOB_REPORT_TEST_UNSET_VAR/task-3"},
    ]});
    std::fs::write(sw.jobs.join("tasks.json"), tasks.to_string()).unwrap();
    let out = Hecjob::new()
        .args([
            "report",
            "--no-qacct",
            "--no-plots",
            "--no-html",
            "--format",
            "json",
        ])
        .arg(&sw.jobs)
        .env("HECJOB_REPORT_TEST_STORAGE", &storage)
        .env_remove("HECJOB_REPORT_TEST_UNSET_VAR")
        .run()
        .success();
    let r: Value = serde_json::from_str(&out.stdout()).unwrap();
    let row = |task: u64| {
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["task"] == task)
            .unwrap_or_else(|| panic!("no task {task} in {r}"))
            .clone()
    };
    assert_eq!(row(1)["status"], "finished");
    assert_eq!(row(2)["status"], "finished");
    let three = row(3);
    assert_eq!(three["status"], "missing");
    assert!(three["note"]
        .as_str()
        .unwrap()
        .contains("$HECJOB_REPORT_TEST_UNSET_VAR"));
}

/// qacct output in Son of Grid Engine 8.1.9's format (captured from a real
/// `qacct -j` of an array job, values changed): task 1 twice (rescheduled after
/// exit 99, then finished), task 2, task 7 (ran, wrote no metrics).
const QACCT_OUTPUT: &str = include_str!("../fixtures/qacct_array.txt");

fn fake_qacct(dir: &Path) -> std::path::PathBuf {
    let fixture = dir.join("qacct.out");
    std::fs::write(&fixture, QACCT_OUTPUT).unwrap();
    let script = dir.join("qacct");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = -j ] && [ \"$2\" = 4242 ] || {{ echo \"error: job id $2 not found\" >&2; exit 1; }}\ncat '{}'\n",
            fixture.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn grid_engine_accounting_from_submission() {
    let sw = sweep();
    // Task 7 ran (accounting has it) and task 8 has not started yet.
    let path = sw.jobs.join("tasks.json");
    let mut tasks: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for id in [7, 8] {
        tasks["tasks"].as_array_mut().unwrap().push(json!({
            "id": id, "swept": {"learning_rate": 1e-5, "batch_size": 64},
            "output_dir": sw.outputs.join(format!("task-{id}")),
        }));
    }
    std::fs::write(&path, tasks.to_string()).unwrap();
    // The record `hecjob submit` writes.
    use hecjob::jobdir::SubmissionRecord;
    use hecjob::scheduler::{submission::SubmittedJob, CommandLine, JobId};
    let job = |stage: &str, number: u64| SubmittedJob {
        stage: stage.into(),
        name: format!("lr-bs-sweep-{stage}"),
        script: format!("{stage}.com").into(),
        sha256: "0".repeat(64),
        id: JobId {
            number,
            tasks: None,
        },
        hold: Vec::new(),
        command: CommandLine {
            argv: vec!["qsub".into()],
            cwd: sw.jobs.clone(),
        },
        requests: None,
    };
    SubmissionRecord::new(
        "sge",
        None,
        &sw.jobs,
        vec![
            job("install", 4240),
            job("download", 4241),
            job("train", 4242),
        ],
    )
    .write(&sw.jobs)
    .unwrap();
    let bin = tempfile::tempdir().unwrap();
    let opts = ReportOptions {
        qacct: Some(fake_qacct(bin.path())),
        ..ReportOptions::default()
    };
    let r = report::build(&sw.jobs, &opts).unwrap();
    assert!(r.accounting_found);
    let one = r.row(1).unwrap();
    // Two attempts: wallclock summed, maxvmem the larger.
    assert_eq!(one.wallclock_seconds, Some(900.0 + 1012.0));
    assert_eq!(
        one.scheduler_peak_memory_bytes,
        Some((12.5 * GIB as f64) as u64)
    );
    assert_eq!(one.exit_status, Some(0));
    assert_eq!(
        r.row(2).unwrap().scheduler_peak_memory_bytes,
        Some(11_811_160_064)
    );
    let seven = r.row(7).unwrap();
    assert_eq!(seven.status, Status::Missing);
    assert!(seven.note.as_deref().unwrap().contains("exit_status 1"));
    assert_eq!(r.row(8).unwrap().status, Status::Pending);
    assert_eq!(r.row(3).unwrap().scheduler_peak_memory_bytes, None);

    efficiency_from_accounting_and_gpu_records(&sw, &opts);

    let table = format::render(&r, format::Format::Table, &plots::Plots::default());
    assert!(table.contains("12.50 GiB"), "{table}");
    assert!(table.contains("0:31:52"), "{table}");
    // The peak column is named after the field it shows: qacct's maxvmem.
    assert!(table.contains("qacct maxvmem"), "{table}");
    let json = format::to_json(&r, &plots::Plots::default());
    assert_eq!(json["scheduler_peak_memory"], "qacct maxvmem");
    assert_eq!(
        json["rows"][0]["scheduler_peak_memory_bytes"].as_u64(),
        r.rows[0].scheduler_peak_memory_bytes
    );
    assert!(
        r.row(7)
            .unwrap()
            .note
            .as_deref()
            .unwrap()
            .contains("Grid Engine: exit_status 1, failed"),
        "{:?}",
        r.row(7).unwrap().note
    );

    // Absent qacct or an unknown job: "-", not an error.
    let opts = ReportOptions {
        qacct: Some("/nonexistent/qacct".into()),
        ..ReportOptions::default()
    };
    let r = report::build(&sw.jobs, &opts).unwrap();
    assert!(!r.accounting_found);
    assert_eq!(r.row(1).unwrap().scheduler_peak_memory_bytes, None);
    assert_eq!(r.row(8).unwrap().status, Status::Pending);
}

/// Issue: a Slurm run's report called its peak memory column "maxvmem" (and
/// its JSON `maxvmem_bytes`) though it holds sacct's MaxRSS. Every format names
/// the column after the scheduler the run was submitted to.
#[test]
fn a_slurm_runs_peak_memory_is_named_maxrss_not_maxvmem() {
    let sw = sweep();
    use hecjob::jobdir::SubmissionRecord;
    use hecjob::scheduler::{submission::SubmittedJob, CommandLine, JobId};
    let train = SubmittedJob {
        stage: "train".into(),
        name: "lr-bs-sweep-train".into(),
        script: "train.com".into(),
        sha256: "0".repeat(64),
        // No cluster knows this job: sacct (if any) gives no record.
        id: JobId::single(987_654_321),
        hold: Vec::new(),
        command: CommandLine {
            argv: vec!["sbatch".into()],
            cwd: sw.jobs.clone(),
        },
        requests: None,
    };
    SubmissionRecord::new("slurm", None, &sw.jobs, vec![train])
        .write(&sw.jobs)
        .unwrap();
    let r = report::build(&sw.jobs, &ReportOptions::default()).unwrap();
    assert_eq!(r.scheduler_peak_label(), "sacct MaxRSS");
    let none = plots::Plots::default();
    for f in [format::Format::Table, format::Format::Markdown] {
        let out = format::render(&r, f, &none);
        assert!(out.contains("sacct MaxRSS"), "{out}");
        assert!(!out.contains("maxvmem"), "{out}");
    }
    let csv = format::render(&r, format::Format::Csv, &none);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains(",scheduler_peak_memory_bytes,"),
        "{csv}"
    );
    assert!(!csv.contains("maxvmem"), "{csv}");
    let json = format::to_json(&r, &none);
    assert_eq!(json["scheduler_peak_memory"], "sacct MaxRSS");
    assert!(json["rows"][0].get("maxvmem_bytes").is_none(), "{json:#}");
    assert!(json["rows"][0].get("scheduler_peak_memory_bytes").is_some());
    let html = report::html::render(&r, &report::html_extras(&r));
    assert!(html.contains(">sacct MaxRSS</th>"), "no MaxRSS header");
    assert!(!html.contains("maxvmem"));
}

/// A `qstat -xml` stand-in listing tasks of job 4242 as running.
fn fake_qstat(dir: &Path, running: &[u32]) -> std::path::PathBuf {
    let entries: String = running
        .iter()
        .map(|t| {
            format!(
                "<job_list state=\"running\"><JB_job_number>4242</JB_job_number>\
                 <JAT_prio>0.5</JAT_prio><JB_name>lr-bs-sweep-train</JB_name>\
                 <JB_owner>u</JB_owner><state>r</state>\
                 <JAT_start_time>2026-11-26T06:00:02</JAT_start_time>\
                 <queue_name>gpu@vm</queue_name><slots>1</slots><tasks>{t}</tasks></job_list>"
            )
        })
        .collect();
    let xml = dir.join("qstat.xml");
    std::fs::write(
        &xml,
        format!("<?xml version='1.0'?>\n<job_info><queue_info>{entries}</queue_info><job_info></job_info></job_info>\n"),
    )
    .unwrap();
    let script = dir.join("qstat");
    std::fs::write(&script, format!("#!/bin/sh\ncat '{}'\n", xml.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Issue: `status --json` lacked what the text view shows. Through the binary,
/// with Grid Engine's clients standing in (qstat lists tasks 4 and 8 running;
/// qacct is the captured accounting of tasks 1, 2 and 7): a running task's
/// progress.json, the efficiency of finished tasks (accounting's peak against
/// the rendered request), and null figures beside their reasons.
#[test]
fn status_json_has_live_progress_and_efficiency() {
    let sw = sweep();
    use hecjob::jobdir::SubmissionRecord;
    use hecjob::scheduler::{submission::SubmittedJob, CommandLine, JobId, TaskRange};
    let path = sw.jobs.join("tasks.json");
    let mut tasks: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for id in [7, 8] {
        tasks["tasks"].as_array_mut().unwrap().push(json!({
            "id": id, "swept": {"learning_rate": 1e-5, "batch_size": 64},
            "output_dir": sw.outputs.join(format!("task-{id}")),
        }));
    }
    std::fs::write(&path, tasks.to_string()).unwrap();
    std::fs::write(
        sw.jobs.join("config.yaml"),
        "experiment:\n  name: lr-bs-sweep\ncluster:\n  jobs:\n    train: { h_vmem: 40G, h_rt: \"02:00:00\", ncpus: 4, ngpus: 1 }\n",
    )
    .unwrap();
    let train = SubmittedJob {
        stage: "train".into(),
        name: "lr-bs-sweep-train".into(),
        script: "train.com".into(),
        sha256: "0".repeat(64),
        id: JobId {
            number: 4242,
            tasks: Some(TaskRange {
                first: 1,
                last: 8,
                step: 1,
            }),
        },
        hold: Vec::new(),
        command: CommandLine {
            argv: vec!["qsub".into()],
            cwd: sw.jobs.clone(),
        },
        requests: None,
    };
    SubmissionRecord::new("sge", None, &sw.jobs, vec![train])
        .write(&sw.jobs)
        .unwrap();
    hecjob::jobdir::progress::write(
        &sw.outputs.join("task-4"),
        &hecjob::jobdir::progress::LiveProgress {
            epoch: 3,
            epochs: 4,
            step: 2100,
            steps_total: 2716,
            last_loss: Some(0.07),
            last_dev_f1: Some(0.5116),
            elapsed_seconds: 900.0,
            eta_seconds: Some(264.0),
            updated_unix: 1_000.0,
            phase: hecjob::jobdir::progress::Phase::Training,
        },
    )
    .unwrap();
    let bin = tempfile::tempdir().unwrap();
    fake_qacct(bin.path());
    fake_qstat(bin.path(), &[4, 8]);
    let path_var = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Hecjob::new()
        .args(["status", "--json"])
        .arg(&sw.jobs)
        .env("PATH", path_var)
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = &v.as_array().unwrap()[0];
    let task = |id: u64| {
        job["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["task"] == id)
            .unwrap()
    };
    // Running: progress.json's figures, or why there are none.
    let four = task(4);
    assert_eq!(four["state"], "running");
    assert_eq!(four["progress"]["step"], 2100);
    assert_eq!(four["progress"]["last_dev_f1"], 0.5116);
    assert!(four["progress"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("epoch 3/4, step 2100/2716"));
    assert!(four["progress_missing"].is_null());
    assert!(four.get("efficiency").is_none());
    let eight = task(8);
    assert!(eight["progress"].is_null());
    assert!(eight["progress_missing"]
        .as_str()
        .unwrap()
        .starts_with("started; no progress yet"));
    // Finished with accounting: two attempts of task 1, peak 12.5 GiB of 40G.
    let one = task(1);
    assert_eq!(one["state"], "done");
    let e = &one["efficiency"];
    assert_eq!(e["scheduler_peak_memory_bytes"], (12.5 * GIB as f64) as u64);
    assert_eq!(e["requested_memory_bytes"], 40 * GIB);
    assert_eq!(e["elapsed_seconds"], 1912.0);
    assert_eq!(e["elapsed_source"], "scheduler");
    assert!(one["efficiency_missing"].is_null());
    // Task 7 ran (accounting: exit 1) but wrote no metrics: its null figures say why.
    let seven = task(7);
    assert_eq!(seven["state"], "failed");
    assert!(seven["efficiency"]["gpu_peak_bytes"].is_null());
    assert!(seven["efficiency"]["missing"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "worker records: no readable metrics.json"));
    // Neither queued nor accounted for: no progress, no efficiency.
    assert_eq!(task(3)["state"], "unknown");
    assert!(task(3).get("efficiency").is_none());
    // The job: what to ask for next time, as in the report.
    assert_eq!(job["efficiency"]["suggestion"]["memory"], "16G");
    assert_eq!(
        job["efficiency"]["accounting"].as_str().unwrap(),
        "`qacct -j 4242`"
    );
    assert!(job["efficiency_missing"].is_null());
}

/// Requests from the rendered config.yaml, Grid Engine's accounting (the
/// captured qacct output) and the worker's GPU records (the A100 fixture runs
/// above): per-task figures, sweep totals, the suggestion, what is missing.
fn efficiency_from_accounting_and_gpu_records(sw: &Sweep, opts: &ReportOptions) {
    std::fs::write(
        sw.jobs.join("config.yaml"),
        "experiment:\n  name: lr-bs-sweep\ncluster:\n  jobs:\n    train: { h_vmem: 40G, h_rt: \"02:00:00\", ncpus: 4, ngpus: 1 }\n",
    )
    .unwrap();
    let r = report::build(&sw.jobs, opts).unwrap();
    let e = report::efficiency_of(&r);
    let t1 = e.tasks.iter().find(|t| t.task == 1).unwrap();
    assert_eq!(t1.requested_memory_bytes, Some(40 * GIB));
    assert_eq!(
        t1.scheduler_peak_memory_bytes,
        Some((12.5 * GIB as f64) as u64)
    );
    assert_eq!(t1.worker_peak_rss_bytes, Some(2 * GIB + 700 * (1 << 20)));
    assert!((t1.memory_used_share.unwrap() - 12.5 / 40.0).abs() < 1e-9);
    // Two attempts of task 1: 900 s + 1012 s, CPU 0.008 s each.
    assert_eq!(
        (t1.elapsed_seconds, t1.elapsed_source),
        (Some(1912.0), Some("scheduler"))
    );
    assert!((t1.time_used_share.unwrap() - 1912.0 / 7200.0).abs() < 1e-9);
    assert_eq!(t1.requested_cpus, Some(4));
    assert!((t1.cpu_seconds.unwrap() - 0.016).abs() < 1e-9);
    assert!(t1.cpu_efficiency.unwrap() < 0.01);
    assert!(
        t1.warnings
            .iter()
            .any(|w| w.contains("CPUs asked for busy")),
        "{:?}",
        t1.warnings
    );
    assert_eq!(t1.gpu_name.as_deref(), Some("NVIDIA A100-SXM4-40GB"));
    assert_eq!(t1.gpu_total_bytes, Some(42_505_273_344));
    assert_eq!(t1.gpu_peak_bytes, Some(3 * GIB + 16 * 180 * (1 << 20)));
    assert_eq!(t1.gpu_utilization_avg_percent, Some(81.5));
    assert!((t1.gpu_hours.unwrap() - 1912.0 / 3600.0).abs() < 1e-9);
    assert!(t1.gpu_energy_joules.unwrap() > 0.0);
    // Task 3 finished but accounting has no record of it: the worker's clock, and why.
    let t3 = e.tasks.iter().find(|t| t.task == 3).unwrap();
    assert_eq!(t3.elapsed_source, Some("worker"));
    assert!(
        t3.missing
            .iter()
            .any(|m| m.contains("qacct") && m.contains("no record of task 3")),
        "{:?}",
        t3.missing
    );
    // The garbled task has no worker records, and says so.
    let t6 = e.tasks.iter().find(|t| t.task == 6).unwrap();
    assert!(t6
        .missing
        .iter()
        .any(|m| m.contains("no readable metrics.json")));

    // Next time: 12.5 GiB peak +20 % → 16G; 1912 s +25 % +10 min → 50 min; a
    // fraction of one core busy → 1 CPU; 8.6 GiB of GPU memory +20 % → a V100.
    let s = &e.suggestion;
    assert_eq!(s.memory.as_deref(), Some("16G"));
    assert_eq!(s.time.as_deref(), Some("00:50:00"));
    assert_eq!(s.cpus, Some(1));
    assert_eq!(s.gpu_type.as_ref().map(|g| g.name.as_str()), Some("V100"));
    assert_eq!(
        s.yaml.as_deref(),
        Some(
            "cluster:\n  jobs:\n    train: { h_vmem: 16G, h_rt: \"00:50:00\", ncpus: 1, ngpus: 1 }"
        )
    );
    let total_gpu_h: f64 = e.tasks.iter().filter_map(|t| t.gpu_hours).sum();
    assert!((e.totals.gpu_hours.unwrap() - total_gpu_h).abs() < 1e-9);
    assert_eq!(e.totals.gpu_utilization_avg_percent, Some(81.5));

    // Without accounting the memory and CPU requests are kept (an RSS-based
    // h_vmem could kill a CUDA job), and the reasons say so.
    let e2 = report::efficiency_of(&report::build(&sw.jobs, &no_qacct()).unwrap());
    assert_eq!(e2.suggestion.memory.as_deref(), Some("40G"));
    assert_eq!(e2.suggestion.cpus, Some(4));
    assert!(e2
        .suggestion
        .reasons
        .iter()
        .any(|r| r.starts_with("memory: kept as asked")));
    assert!(e2.tasks.iter().all(|t| t
        .missing
        .iter()
        .any(|m| m == "scheduler accounting: not asked (--no-accounting)")));

    // The same figures in the text, JSON and HTML outputs.
    let text = report::efficiency_format::text(&e);
    for want in [
        "40.00 GiB",
        "12.50 GiB",
        "31 %",
        "NVIDIA A100-SXM4-40GB",
        "82 %",
        "h_vmem: 16G",
        "--gres=gpu:tesla_v100-pcie-32gb:1",
        "Missing figures:",
    ] {
        assert!(text.contains(want), "{want} not in:\n{text}");
    }
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["suggestion"]["memory"], "16G");
    assert_eq!(json["tasks"][0]["requested_cpus"], 4);
    let html = report::efficiency_format::html(&e);
    assert!(html.contains("id=\"efficiency-table\"") && html.contains("h_vmem: 16G"));

    // A site that lists its own GPU types (cluster.gpu_types) is suggested
    // the smallest of those: 8.6 GiB +20 % fits its 16 GB T4.
    std::fs::write(
        sw.jobs.join("config.yaml"),
        "experiment:\n  name: lr-bs-sweep\ncluster:\n  gpu_types:\n    - { name: A100-40GB, memory: 40G, gres: nvidia_a100_40gb }\n    - { name: T4, memory: 16G, note: \"gpu partition\" }\n  jobs:\n    train: { h_vmem: 40G, h_rt: \"02:00:00\", ncpus: 4, ngpus: 1 }\n",
    )
    .unwrap();
    let site = report::efficiency_of(&report::build(&sw.jobs, opts).unwrap());
    assert_eq!(
        site.suggestion.gpu_type.as_ref().map(|g| g.name.as_str()),
        Some("T4")
    );
    let text = report::efficiency_format::text(&site);
    assert!(
        text.contains("# GPU T4 (cluster.gpu_types) (gpu partition)"),
        "{text}"
    );
    assert!(!text.contains("HEC"), "{text}");
    assert!(report::efficiency_format::html(&site).contains("# GPU T4 (cluster.gpu_types)"));
}

// --- plots ---------------------------------------------------------------------

fn svg_texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default().trim().to_string())
        .collect()
}

fn png_info(path: &Path) -> (u32, u32, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn plots_are_valid_svg_and_png() {
    let sw = sweep();
    let r = report::build(&sw.jobs, &no_qacct()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let p = plots::write_all(&r, out.path()).unwrap();
    let names: Vec<String> = p
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "loss.svg",
            "loss.png",
            "dev_f1.svg",
            "dev_f1.png",
            "emotion_f1.svg",
            "emotion_f1.png",
            "memory.svg",
            "memory.png"
        ]
    );
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);

    // Loss: tasks 1-5 have metrics (4 finished/running/failed with loss logs).
    let loss = std::fs::read_to_string(out.path().join("loss.svg")).unwrap();
    let doc = roxmltree::Document::parse(&loss).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts = svg_texts(&doc);
    let legend: Vec<&String> = texts.iter().filter(|t| t.starts_with("task ")).collect();
    assert_eq!(legend.len(), 5, "{legend:?}");
    assert!(legend
        .iter()
        .any(|t| t.as_str() == "task 2: learning_rate=5e-5, batch_size=16 (best)"));
    assert!(texts.iter().any(|t| t == "Training loss per logged step"));
    assert!(texts.iter().any(|t| t.starts_with("global step")));
    // One data line per task (stroke width 2, in the task's colour), and one
    // legend swatch of the same colour (width 3); axes and ticks are black.
    let strokes = |width: &str| -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .filter(|n| n.attribute("stroke") != Some("#000000"))
            .filter(|n| n.attribute("stroke-width") == Some(width))
            .map(|n| n.attribute("stroke").unwrap().to_string())
            .collect()
    };
    let (lines, swatches) = (strokes("2"), strokes("3"));
    assert_eq!(lines.len(), 5, "{lines:?}");
    let distinct: std::collections::BTreeSet<_> = lines.iter().collect();
    assert_eq!(distinct.len(), 5, "each task has its own colour");
    assert_eq!(
        distinct,
        swatches.iter().collect(),
        "legend swatches match the lines"
    );

    let dev = std::fs::read_to_string(out.path().join("dev_f1.svg")).unwrap();
    let doc = roxmltree::Document::parse(&dev).unwrap();
    let texts = svg_texts(&doc);
    assert!(texts
        .iter()
        .any(|t| t.starts_with("paper, test macro-F1 (0.46)")));
    assert_eq!(texts.iter().filter(|t| t.starts_with("task ")).count(), 5);

    let emo = std::fs::read_to_string(out.path().join("emotion_f1.svg")).unwrap();
    let doc = roxmltree::Document::parse(&emo).unwrap();
    let texts = svg_texts(&doc);
    for (emotion, ..) in PAPER_TABLE4 {
        assert!(
            texts.iter().any(|t| t == emotion),
            "label {emotion} missing"
        );
    }
    // 28 × (ours + paper) bars + 2 legend swatches (+ background rectangles).
    let rects = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    assert!(rects >= 58, "{rects}");

    let mem = std::fs::read_to_string(out.path().join("memory.svg")).unwrap();
    let doc = roxmltree::Document::parse(&mem).unwrap();
    let texts = svg_texts(&doc);
    assert!(texts.iter().any(|t| t == "memory used (GiB)"));
    assert!(texts.iter().any(|t| t == "resident set size (RSS)"));

    for (stem, w, h) in [
        ("loss", 1800, 1050),
        ("dev_f1", 1800, 1050),
        ("memory", 1800, 1050),
        ("emotion_f1", 1650, (160 + 30 * 28) * 3 / 2),
    ] {
        let (pw, ph, pixels) = png_info(&out.path().join(format!("{stem}.png")));
        assert_eq!((pw, ph), (w, h), "{stem}");
        // Text and axes are drawn: a real share of dark pixels, far from all white.
        let dark = pixels
            .chunks(3)
            .filter(|p| p.iter().map(|&c| u32::from(c)).sum::<u32>() < 200)
            .count();
        assert!(dark > 2_000, "{stem}: only {dark} dark pixels");
    }
}

#[test]
fn plots_skip_what_has_no_data() {
    let tmp = tempfile::tempdir().unwrap();
    let task = tmp.path().join("task-1");
    let mut m = RunBuilder::new(1, 5e-5, 16).running(0).build();
    m.loss_log.clear();
    m.memory.samples.clear();
    write_metrics(&task, &m);
    let r = report::build(tmp.path(), &no_qacct()).unwrap();
    let out = tmp.path().join("plots");
    let p = plots::write_all(&r, &out).unwrap();
    assert!(p.files.is_empty(), "{:?}", p.files);
    assert_eq!(p.skipped.len(), 4, "{:?}", p.skipped);
}

#[test]
fn cli_prints_table_and_plot_paths() {
    let sw = sweep();

    let out = Hecjob::new()
        .args(["report", "--no-qacct", "--top", "4"])
        .arg(&sw.jobs)
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("top 4 of 6 tasks"), "{stdout}");
    let png = sw.jobs.join("report/emotion_f1.png");
    assert!(stdout.contains(&png.display().to_string()), "{stdout}");
    assert!(png.is_file());

    let out = Hecjob::new()
        .args([
            "report",
            "--no-plots",
            "--format",
            "csv",
            "--sort",
            "peak_gpu",
        ])
        .arg(&sw.jobs)
        .output();
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(csv.lines().count(), 7);
    assert!(!csv.contains("plots"));

    let missing = sw._tmp.path().join("nope");
    let out = Hecjob::new().arg("report").arg(&missing).output();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}

/// Writes the test sweep to `$HECJOB_REPORT_DEMO_DIR` to look at by hand:
/// `HECJOB_REPORT_DEMO_DIR=/tmp/demo cargo test --test it -- --ignored report::demo`,
/// then `hecjob report /tmp/demo/jobs/lr-bs-sweep`.
#[test]
#[ignore]
fn demo_sweep() {
    let Ok(dest) = std::env::var("HECJOB_REPORT_DEMO_DIR") else {
        return;
    };
    let sw = sweep();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", sw._tmp.path().display()))
        .arg(&dest)
        .status()
        .unwrap();
    assert!(status.success());
    // tasks.json names the temp dir: point it at the copy.
    let tasks = Path::new(&dest).join("jobs/lr-bs-sweep/tasks.json");
    let text = std::fs::read_to_string(&tasks).unwrap();
    std::fs::write(
        &tasks,
        text.replace(&sw._tmp.path().display().to_string(), &dest),
    )
    .unwrap();
}

/// A tiny smoke run (as CI trains): one logged loss, one epoch, a few seconds
/// of CPU-only memory samples. Every plot is still drawn and readable.
#[test]
fn plots_for_a_tiny_cpu_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut m = RunBuilder::new(1, 5e-5, 16).build();
    m.epochs.truncate(1);
    m.best_epoch = Some(1);
    m.loss_log.truncate(1);
    m.memory = MemoryRecord {
        gpu_available: false,
        gpu_unavailable_reason: Some("NVML: driver not loaded".into()),
        peak_rss_bytes: Some(900 << 20),
        samples: (0..4)
            .map(|i| MemorySample {
                t: f64::from(i),
                gpu_device_used_bytes: None,
                gpu_process_used_bytes: None,
                rss_bytes: Some((800 + 30 * i as u64) << 20),
                ..MemorySample::default()
            })
            .collect(),
        ..MemoryRecord::default()
    };
    write_metrics(&tmp.path().join("task-1"), &m);
    let r = report::build(&tmp.path().join("task-1"), &no_qacct()).unwrap();
    assert_eq!(r.rows[0].peak_gpu_bytes, None);
    let out = tmp.path().join("plots");
    let p = plots::write_all(&r, &out).unwrap();
    assert_eq!(p.files.len(), 8, "{:?}", p.skipped);
    let loss = std::fs::read_to_string(out.join("loss.svg")).unwrap();
    let doc = roxmltree::Document::parse(&loss).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count(),
        1,
        "a single loss point is marked"
    );
    let mem = std::fs::read_to_string(out.join("memory.svg")).unwrap();
    let doc = roxmltree::Document::parse(&mem).unwrap();
    let texts = svg_texts(&doc);
    assert!(texts
        .iter()
        .any(|t| t == "time since training started (seconds)"));
    assert!(!texts.iter().any(|t| t.starts_with("GPU memory")));
    let table = format::render(&r, format::Format::Table, &plots::Plots::default());
    assert!(table.contains("900 MiB"), "{table}");
}

/// The order a click on a header gives: rows with a value by it (ascending or
/// descending), rows without one after them in their previous order.
fn sorted_tasks(
    rows: &[report::Row],
    before: &[u32],
    key: fn(&report::Row) -> Option<f64>,
    asc: bool,
) -> Vec<String> {
    let by_task = |t: u32| rows.iter().find(|r| r.task == t).unwrap();
    let mut with: Vec<u32> = before
        .iter()
        .copied()
        .filter(|t| key(by_task(*t)).is_some())
        .collect();
    with.sort_by(|a, b| {
        let o = key(by_task(*a))
            .unwrap()
            .total_cmp(&key(by_task(*b)).unwrap());
        if asc {
            o
        } else {
            o.reverse()
        }
    });
    with.extend(
        before
            .iter()
            .copied()
            .filter(|t| key(by_task(*t)).is_none()),
    );
    with.iter().map(|t| t.to_string()).collect()
}

/// report.html opened as a person would: in a real headless Chromium at a
/// laptop's size, no console errors and nothing fetched, the best run marked,
/// each task's state shown, and a click on "test F1" re-sorting the table
/// (again: the other way). The screenshot and the printed PDF are kept in
/// target/tmp/report-browser/ to look at.
#[test]
fn html_report_in_a_real_browser() {
    let Some(chromium) = support::browser::chromium() else {
        return;
    };
    let sw = sweep();

    let out = Hecjob::new()
        .args(["report", "--no-qacct", "--no-plots"])
        .arg(&sw.jobs)
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = sw.jobs.join("report/report.html");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&page.display().to_string()));
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no external script, style, image or link.
    for bad in ["<link", " src=", "href=\"http", "@import", "url("] {
        assert!(!html.contains(bad), "report.html has {bad}");
    }
    // The running task's live position (no progress.json in the fixture: no note).
    assert!(!html.contains("task 4 (running)"));
    let sweep_table = html.split("id=\"curves\"").next().unwrap();
    assert_eq!(sweep_table.matches("<tr data-task=").count(), 6);
    assert!(html.contains("id=\"efficiency-table\""));
    assert_eq!(
        html.matches("<tr data-task=\"2\" class=\"best\">").count(),
        1
    );
    for state in ["finished", "running", "failed", "unreadable"] {
        assert!(
            html.contains(&format!("\">{state}</span>")),
            "state {state} not shown"
        );
    }
    assert!(html.contains("CUDA out of memory"));

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    let r = support::browser::open_and_click(&chromium, &page, &shots, "sweep-table", "test F1");
    assert_eq!(r["errors"], json!([]), "console errors: {r}");
    assert_eq!(r["external_requests"], json!([]), "{r}");
    assert_eq!(r["title"], "hecjob report: lr-bs-sweep");

    let rep = report::build(&sw.jobs, &no_qacct()).unwrap();
    let before: Vec<u32> = rep.rows.iter().map(|r| r.task).collect();
    let shown: Vec<String> = before.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        r["order_before"],
        json!(shown),
        "the page starts in the report's order"
    );
    let asc = sorted_tasks(&rep.rows, &before, |r| r.test_f1, true);
    assert_eq!(r["order_after_click_1"], json!(asc));
    assert_eq!(r["aria_sort_after_click_1"], "ascending");
    let after1: Vec<u32> = asc.iter().map(|t| t.parse().unwrap()).collect();
    let desc = sorted_tasks(&rep.rows, &after1, |r| r.test_f1, false);
    assert_eq!(r["order_after_click_2"], json!(desc));
    assert_ne!(
        r["order_after_click_1"], r["order_before"],
        "the click must change the order"
    );

    let (w, h, _) = png_info(&shots.join("report.png"));
    assert_eq!(w, 1366);
    assert!(h > 768, "the full page, not only the first screen: {h}");
    assert!(std::fs::read(shots.join("report.pdf"))
        .unwrap()
        .starts_with(b"%PDF"));
}

/// The browser harness itself: a page that logs an error, throws and asks
/// for an image from elsewhere must be reported on all three counts.
#[test]
fn browser_harness_sees_errors_and_requests() {
    let Some(chromium) = support::browser::chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><title>bad</title></head><body>\
         <table id=\"t\"><thead><tr><th>x</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>\
         <img src=\"http://127.0.0.1:9/pixel.png\">\
         <script>console.error('broken on purpose'); undefinedFunction();</script></body></html>",
    )
    .unwrap();
    let r = support::browser::open_and_click(&chromium, &page, tmp.path(), "t", "x");
    let errors = r["errors"].to_string();
    assert!(errors.contains("broken on purpose"), "{r}");
    assert!(errors.contains("undefinedFunction"), "{r}");
    assert!(
        r["external_requests"].to_string().contains("127.0.0.1:9"),
        "{r}"
    );
}

/// Runs made with the tutorial interface (`hecjob train … models/run-a`):
/// no tasks.json, no task ids, any folder names. `report models/` and
/// `report models/run-a models/run-b` compare them, named by folder, with
/// the parameters that differ as columns.
#[test]
fn any_folders_of_runs_are_compared_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    for (name, lr, offset) in [
        ("run-a", 5e-5, 0.01),
        ("run-b", 2e-5, 0.04),
        ("baseline", 3e-5, -0.02),
    ] {
        let mut m = RunBuilder::new(1, lr, 16).offset(offset).build();
        m.task = None;
        m.experiment = None;
        m.swept = Map::new();
        write_metrics(&models.join(name), &m);
    }
    // Not a run: no metrics.json.
    std::fs::create_dir_all(models.join("notes")).unwrap();

    let r = report::build(&models, &no_qacct()).unwrap();
    assert_eq!(r.layout, Layout::Runs);
    let names: Vec<&str> = r.rows.iter().map(|r| r.name.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        ["run-b", "run-a", "baseline"],
        "by dev F1, best first"
    );
    assert_eq!(r.best_row.as_ref().unwrap().name.as_deref(), Some("run-b"));
    assert_eq!(r.swept_keys, ["learning_rate"], "only what differs");

    let out = Hecjob::new()
        .args(["report", "--no-qacct", "--no-plots"])
        .arg(models.join("run-a"))
        .arg(models.join("baseline"))
        .output();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("* best: run-a by best dev macro-F1"),
        "{text}"
    );
    assert!(text.contains("Best run, run-a (learning_rate="), "{text}");
    assert!(!text.contains("run-b"), "{text}");
    // Written beside the runs (their common folder).
    let html = std::fs::read_to_string(models.join("report/report.html")).unwrap();
    assert!(
        html.contains("<th tabindex=\"0\" aria-sort=\"descending\">best dev F1</th>")
            || html.contains(">run</th>"),
        "{html}"
    );
    assert!(html.contains("best run: <b>run-a</b>"));

    // A tutorial run on its own is named by its folder too.
    let one = report::build(&models.join("baseline"), &no_qacct()).unwrap();
    assert_eq!(one.rows[0].name.as_deref(), Some("baseline"));

    // A folder with no runs says what it looked for.
    let e = report::build(&models.join("notes"), &no_qacct()).unwrap_err();
    assert!(e.to_string().contains("folder of runs"), "{e}");
}

/// A running task's row says where it is, from the worker's progress.json.
#[test]
fn a_running_task_shows_its_live_progress() {
    let sw = sweep();
    let p = hecjob::jobdir::progress::LiveProgress {
        epoch: 3,
        epochs: 4,
        step: 6000,
        steps_total: 10856,
        last_loss: Some(0.0712),
        last_dev_f1: Some(0.5116),
        elapsed_seconds: 1300.0,
        eta_seconds: Some(1050.0),
        updated_unix: 0.0,
        phase: hecjob::jobdir::progress::Phase::Training,
    };
    hecjob::jobdir::progress::write(&sw.outputs.join("task-4"), &p).unwrap();
    let r = report::build(&sw.jobs, &no_qacct()).unwrap();
    let note = r.row(4).unwrap().note.clone().unwrap();
    assert!(
        note.starts_with(
            "epoch 3/4, step 6000/10856, loss 0.0712, dev macro-F1 0.5116, about 18 min left"
        ),
        "{note}"
    );
    // Finished tasks keep their own notes (none here), whatever files they hold.
    assert!(r.row(2).unwrap().note.is_none());
    let text = format::render(&r, format::Format::Table, &plots::Plots::default());
    assert!(text.contains("task 4: running (epoch 3/4"), "{text}");
}

/// A decision as the worker records it at a rung.
fn rung(
    rung: u32,
    epoch: u32,
    value: f64,
    rank: usize,
    compared: usize,
) -> hecjob::worker::asha::Decision {
    hecjob::worker::asha::Decision {
        rung,
        epoch,
        metric: "dev_macro_f1".into(),
        value,
        rank,
        compared,
        kept: 1,
        continues: rank == 1,
    }
}

/// Early stopping in the report: stopped tasks show their rung and rank, the
/// rung table counts who went on, the epochs trained are set against the same
/// points without stopping, and the best run is chosen among finished and
/// stopped tasks alike (here a stopped one has the best dev macro-F1).
#[test]
fn stopped_tasks_rungs_and_epochs_spent() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    let dev1 = |m: &RunMetrics| m.epochs[0].dev.as_ref().unwrap().macro_avg.f1;
    let mut finished = RunBuilder::new(1, 2e-5, 16).build();
    let f1 = dev1(&finished);
    finished.rungs = vec![rung(1, 1, f1, 1, 1), rung(2, 3, 0.5, 1, 1)];
    let stopped = |task: u32, offset: f64, rank: usize| {
        let mut m = RunBuilder::new(task, 5e-5, 16).offset(offset).build();
        m.status = hecjob::jobdir::RunStatus::StoppedEarly;
        m.epochs.truncate(1);
        m.best_epoch = Some(1);
        let d = rung(1, 1, dev1(&m), rank, rank);
        m.rungs = vec![d.clone()];
        m.stopped_early = Some(d);
        m
    };
    write_metrics(&out.join("task-1"), &finished);
    write_metrics(&out.join("task-2"), &stopped(2, 0.2, 2));
    write_metrics(&out.join("task-3"), &stopped(3, -0.1, 3));

    let r = report::build(&out, &no_qacct()).unwrap();
    assert_eq!(r.best, Some(2), "a stopped task can be the best");
    let two = r.row(2).unwrap();
    assert_eq!(two.status, Status::StoppedEarly);
    assert_eq!(two.epochs_done, 1);
    assert!(
        two.note
            .as_deref()
            .unwrap()
            .starts_with("stopped at rung 1 (epoch 1): dev_macro_f1 "),
        "{:?}",
        two.note
    );
    let es = r.early_stop.as_ref().expect("a rung summary");
    assert_eq!(
        (es.stopped_tasks, es.epochs_trained, es.epochs_full),
        (2, 6, 12)
    );
    let table: Vec<(u32, u32, usize, usize, usize)> = es
        .rungs
        .iter()
        .map(|g| (g.rung, g.epoch, g.reached, g.continued, g.stopped))
        .collect();
    assert_eq!(table, [(1, 1, 3, 1, 2), (2, 3, 1, 1, 0)]);
    assert_eq!(es.lowest_continued_at(1), Some(f1));

    let text = format::render(&r, format::Format::Table, &plots::Plots::default());
    for want in [
        "task 3: stopped_early (stopped at rung 1 (epoch 1): dev_macro_f1 ",
        "ranked 3 of 3 recorded there, the top 1 went on)",
        "* best: task 2 by best dev macro-F1",
        "early stopping (ASHA): 2 tasks stopped early; 6 epochs trained of 12 for the same points without stopping (50 %)",
        "  rung 1 (epoch 1): 3 reached, 1 went on, 2 stopped;",
        "  rung 2 (epoch 3): 1 reached, 1 went on, 0 stopped;",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let json = format::to_json(&r, &plots::Plots::default());
    assert_eq!(json["early_stop"]["epochs_trained"], 6);
    assert_eq!(
        json["rows"][0]["stopped_early"]["rank"], 2,
        "{:#}",
        json["rows"][0]
    );

    let csv = format::render(&r, format::Format::Csv, &plots::Plots::default());
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",stopped_at_rung,stopped_at_epoch,stopped_rank,stopped_compared"),
        "{csv}"
    );
    // Task 2 (the best, first row) ranked 2 of 2 at rung 1; task 1 finished.
    let row = |task: &str| {
        lines[1..]
            .iter()
            .find(|l| l.split(',').nth(1) == Some(task))
            .unwrap()
            .to_string()
    };
    assert!(row("2").ends_with(",1,1,2,2"), "{csv}");
    assert!(row("3").ends_with(",1,1,3,3"), "{csv}");
    assert!(row("1").ends_with(",,,,"), "{csv}");

    // Without early stopping there is no summary (and no key in the JSON).
    let plain = report::build(&sweep().jobs, &no_qacct()).unwrap();
    assert!(plain.early_stop.is_none());
}

// --- your own data (issue 19) -------------------------------------------------

/// A jobs directory (tasks.json, task-N/metrics.json) of runs on their own
/// data, with the data check's data.json (and rejects.tsv) when given.
fn own_data_jobs(runs: &[RunMetrics], checked: Option<&DataRecord>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let jobs = tmp.path().join("jobs");
    let tasks: Vec<Value> = runs
        .iter()
        .map(|m| {
            let id = m.task.unwrap();
            let dir = jobs.join(format!("task-{id}"));
            write_metrics(&dir, m);
            json!({"id": id, "swept": m.swept, "output_dir": dir})
        })
        .collect();
    std::fs::write(
        jobs.join("tasks.json"),
        json!({"experiment": "reviews", "tasks": tasks}).to_string(),
    )
    .unwrap();
    if let Some(d) = checked {
        d.write(&jobs).unwrap();
        std::fs::write(jobs.join("rejects.tsv"), "line\treason\n").unwrap();
    }
    tmp
}

const SENTIMENTS: [&str; 3] = ["negative", "neutral", "positive"];

fn single_label_data(confusion: Vec<Vec<u64>>) -> OwnData {
    OwnData {
        labels: SENTIMENTS.map(String::from).to_vec(),
        record: data_record("csv", "single_label", None, &SENTIMENTS, true),
        confusion: Some(confusion),
    }
}

/// A single-label run on a CSV of its own: the per-label table has no
/// paper columns, the summary has accuracy, macro- and micro-F1, the data
/// line names the files by sha256, and the job's rejected rows are counted.
#[test]
fn a_single_label_run_on_its_own_data_shows_accuracy_and_its_labels() {
    let a = RunBuilder::new(1, 2e-5, 16)
        .own_data(single_label_data(vec![
            vec![40, 8, 2],
            vec![6, 30, 4],
            vec![1, 5, 54],
        ]))
        .build();
    let b = RunBuilder::new(2, 5e-5, 16)
        .own_data(single_label_data(vec![
            vec![30, 15, 5],
            vec![10, 25, 5],
            vec![5, 10, 45],
        ]))
        .build();
    let mut checked = a.data.clone().unwrap();
    checked.rejected = 3;
    let tmp = own_data_jobs(&[a, b], Some(&checked));
    let jobs = tmp.path().join("jobs");
    let r = report::build(&jobs, &no_qacct()).unwrap();
    let scrub = |s: &str| s.replace(&tmp.path().display().to_string(), "<tmp>");
    let text = format::render(&r, format::Format::Table, &plots::Plots::default());
    insta::assert_snapshot!("own_data_single_label_table", scrub(&text));
    let md = format::render(&r, format::Format::Markdown, &plots::Plots::default());
    insta::assert_snapshot!("own_data_single_label_markdown", scrub(&md));

    let v = format::to_json(&r, &plots::Plots::default());
    assert_eq!(v["table4"]["reference"], json!({"kind": "none"}));
    assert_eq!(v["table4"]["accuracy"], json!(0.8267));
    assert_eq!(v["table4"]["confusion"][2], json!([1, 5, 54]));
    assert_eq!(v["table4"]["rows"][0]["paper"], Value::Null);
    assert_eq!(v["data"]["job"]["rejected"], 3);
    assert_eq!(v["rows"][0]["test_accuracy"], json!(0.8267));

    let csv = format::render(&r, format::Format::Csv, &plots::Plots::default());
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].contains(",test_f1,test_micro_f1,test_accuracy,"),
        "{csv}"
    );
    assert!(lines[1].contains(",0.8267,0.8267,"), "{csv}");
}

/// GoEmotions grouped by the ekman or sentiment map is compared with the
/// published reproduction's macro-F1, never with Table 4's rows that share
/// a name (the Ekman grouping's `anger` is not GoEmotions' `anger`).
#[test]
fn a_grouped_goemotions_run_is_compared_with_the_reproduction_not_table4() {
    let ekman = [
        "anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral",
    ];
    let sentiment = ["positive", "negative", "ambiguous", "neutral"];
    for (map, labels, published) in [
        ("ekman", &ekman[..], "0.624"),
        ("sentiment", &sentiment[..], "0.701"),
    ] {
        let own = OwnData {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            record: data_record("goemotions", "multi_label", Some(map), labels, true),
            confusion: None,
        };
        let m = RunBuilder::new(1, 5e-5, 16).own_data(own).build();
        let macro_f1 = m.test.as_ref().unwrap().macro_avg.f1;
        let tmp = own_data_jobs(std::slice::from_ref(&m), None);
        let r = report::build(&tmp.path().join("jobs"), &no_qacct()).unwrap();
        let text = format::render(&r, format::Format::Table, &plots::Plots::default());
        let want = format!(
            "Published reproduction, monologg/GoEmotions-pytorch (bert-base-cased, threshold 0.3, \
             10 epochs): {map} test macro-F1 {published} (this run {macro_f1:.4}, "
        );
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
        assert!(
            text.contains(&format!(
                "Best run, task 1 (learning_rate=5e-5, batch_size=16): test set (1000 examples), \
                 per label; GoEmotions grouped by the {map} map, {} labels ({}",
                labels.len(),
                labels[0]
            )),
            "{text}"
        );
        assert!(!text.contains("paper P"), "{text}");
        assert!(!text.contains("Table 4"), "{text}");
        // The training log's table leaves the paper's columns empty too.
        let log = report::table4::format(m.test.as_ref().unwrap(), "t");
        let first = log.lines().nth(2).unwrap();
        assert!(first.starts_with(labels[0]), "{log}");
        assert!(first.ends_with("     -      -      -       -"), "{log}");
        let html = hecjob::report::html::render(&r, &Default::default());
        assert!(
            html.contains("<h2>Per-label test scores: best run</h2>"),
            "{html}"
        );
        assert!(
            html.contains(&format!("reproduction, {map}: macro-F1 {published}")),
            "{html}"
        );
    }
}

/// Runs on different label sets in one report: said, and the per-label
/// table is the best run's alone; no paper line on the dev chart.
#[test]
fn runs_on_different_label_sets_are_said_not_mixed() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let mut plain = RunBuilder::new(1, 5e-5, 16).offset(0.02).build();
    let mut own = RunBuilder::new(1, 5e-5, 16)
        .own_data(single_label_data(vec![
            vec![9, 1, 0],
            vec![1, 8, 1],
            vec![0, 2, 8],
        ]))
        .build();
    for m in [&mut plain, &mut own] {
        m.task = None;
        m.swept = Map::new();
    }
    write_metrics(&models.join("goemotions"), &plain);
    write_metrics(&models.join("reviews"), &own);
    let r = report::build(&models, &no_qacct()).unwrap();
    let text = format::render(&r, format::Format::Table, &plots::Plots::default());
    let want = "label sets differ: csv data, 3 labels (negative, neutral, positive) (reviews); \
                GoEmotions, 28 labels (goemotions). Scores on different label sets are not \
                comparable; the per-label table is the best run's alone.";
    assert!(text.contains(want), "missing {want:?} in:\n{text}");
    let html = hecjob::report::html::render(&r, &Default::default());
    assert!(!html.contains("paper macro-F1"), "{html}");
    assert!(
        html.contains(&format!("<li>{}</li>", hecjob::report::text::esc(want))),
        "{html}"
    );
}

/// Data with no test split: said, and the missing comparison says why.
#[test]
fn data_without_a_test_split_is_said() {
    let own = OwnData {
        labels: SENTIMENTS.map(String::from).to_vec(),
        record: data_record("jsonl", "single_label", Some("custom"), &SENTIMENTS, false),
        confusion: Some(vec![vec![5, 0, 0], vec![0, 5, 0], vec![0, 0, 5]]),
    };
    let m = RunBuilder::new(1, 5e-5, 16).own_data(own).build();
    assert!(m.test.is_none());
    let tmp = own_data_jobs(&[m], None);
    let r = report::build(&tmp.path().join("jobs"), &no_qacct()).unwrap();
    let text = format::render(&r, format::Format::Table, &plots::Plots::default());
    for want in [
        "\ndata: jsonl, single_label, 3 labels, label map custom; sha256 train 116f54c41d04, \
         dev ef260e9aa3c6\n",
        "\nno test split: the runs have no test evaluation; their scores are dev's\n",
        "\nPer-label test scores: task 1's data has no test split, so there is no test evaluation\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// The pixels of `png` (RGB or RGBA) as (width, height, rgb at (x, y)).
fn pixels(png: &Path) -> (u32, u32, impl Fn(u32, u32) -> (u8, u8, u8)) {
    let (w, h, buf) = png_info(png);
    let channels = buf.len() / (w as usize * h as usize);
    let at = move |x: u32, y: u32| {
        let i = (y as usize * w as usize + x as usize) * channels;
        (buf[i], buf[i + 1], buf[i + 2])
    };
    (w, h, at)
}

/// report.html of single-label runs with 3 and with 30 classes, opened in a
/// real headless Chromium: the confusion matrix is drawn (the one class
/// always right has the darkest cell, found by its colour in the section's
/// screenshot), the gold label is drawn to its left and the predicted label
/// above it, and the per-label table sorts. Screenshots are kept in
/// target/tmp/report-confusion-N/ to look at.
#[test]
fn a_confusion_matrix_renders_in_a_real_browser() {
    let Some(chromium) = support::browser::chromium() else {
        return;
    };
    for n in [3usize, 30] {
        let labels: Vec<String> = (0..n)
            .map(|i| match i {
                0 => "always-right".to_string(),
                1 => "a-label-name-longer-than-the-axis-shows".to_string(),
                _ => format!("class {i:02}"),
            })
            .collect();
        // Class 0 is always right; the others mostly, with some confusion.
        let confusion: Vec<Vec<u64>> = (0..n)
            .map(|g| {
                (0..n)
                    .map(|p| match (g, p) {
                        (0, 0) => 25,
                        (0, _) => 0,
                        _ if g == p => 20 + g as u64 % 7,
                        _ if p == (g + 1) % n => 6,
                        _ if p == 0 => 1,
                        _ => 0,
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let own = OwnData {
            labels: labels.clone(),
            record: data_record("tsv", "single_label", None, &refs, true),
            confusion: Some(confusion),
        };
        let m = RunBuilder::new(1, 5e-5, 16).own_data(own).build();
        let m_accuracy = m.test.as_ref().unwrap().accuracy.unwrap();
        let test_f1: Vec<(String, f64)> = m
            .test
            .as_ref()
            .unwrap()
            .per_label
            .iter()
            .map(|l| (l.label.clone(), l.f1))
            .collect();
        let tmp = own_data_jobs(&[m], None);
        let jobs = tmp.path().join("jobs");
        let out = Hecjob::new()
            .args(["report", "--no-qacct", "--no-plots"])
            .arg(&jobs)
            .output();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let page = jobs.join("report/report.html");
        let html = std::fs::read_to_string(&page).unwrap();
        assert_eq!(html.matches("<g class=\"cell\"").count(), n * n);
        let acc = m_accuracy;
        assert!(
            html.contains("<th tabindex=\"0\">test micro-F1</th><th tabindex=\"0\">test acc</th>")
                && html.contains(&format!("<td class=\"num\" data-v=\"{acc}\">{acc:.4}</td>")),
            "the sweep table has micro-F1 and accuracy"
        );
        assert!(html.contains("<a href=\"#confusion\">Confusion</a>"));
        assert!(
            html.contains(">a-label-name-long…</text>"),
            "shortened on the axes"
        );

        let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-confusion-{n}"));
        let r = support::browser::open_and_click(&chromium, &page, &shots, "labels-table", "F1");
        assert_eq!(r["errors"], json!([]), "console errors: {r}");
        assert_eq!(r["external_requests"], json!([]), "{r}");
        assert_eq!(r["aria_sort_after_click_1"], "ascending");
        assert_eq!(r["order_before"], json!(labels));
        let mut by_f1: Vec<(String, f64)> = test_f1.iter().map(|(l, f)| (l.clone(), *f)).collect();
        by_f1.sort_by(|a, b| a.1.total_cmp(&b.1));
        let asc: Vec<&String> = by_f1.iter().map(|(l, _)| l).collect();
        assert_eq!(r["order_after_click_1"], json!(asc), "{r}");

        let (w, h, at) = pixels(&shots.join("section-confusion.png"));
        let darkest = (0x1f, 0x49, 0x7d);
        let hits: Vec<(u32, u32)> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| at(x, y) == darkest)
            .collect();
        assert!(
            hits.len() > 150,
            "{n} classes: the full cell is not drawn ({} pixels)",
            hits.len()
        );
        let (x0, y0) = (
            hits.iter().map(|p| p.0).min().unwrap(),
            hits.iter().map(|p| p.1).min().unwrap(),
        );
        let (x1, y1) = (
            hits.iter().map(|p| p.0).max().unwrap(),
            hits.iter().map(|p| p.1).max().unwrap(),
        );
        let dark = |xs: std::ops::Range<u32>, ys: std::ops::Range<u32>| {
            ys.flat_map(|y| xs.clone().map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let (r, g, b) = at(x, y);
                    r < 110 && g < 110 && b < 110
                })
                .count()
        };
        let gold = dark(x0.saturating_sub(120)..x0.saturating_sub(2), y0..y1 + 1);
        let predicted = dark(x0..x1 + 1, y0.saturating_sub(120)..y0.saturating_sub(2));
        assert!(
            gold > 40,
            "{n} classes: no gold label left of the first row ({gold} dark pixels)"
        );
        assert!(
            predicted > 40,
            "{n} classes: no predicted label above the first column ({predicted})"
        );
    }
}

/// A sweep over encoders: `model.name` is a swept key like any other, a column
/// of the comparison (text and CSV) with each task's model, and in the best
/// run's line.
#[test]
fn a_swept_model_name_is_a_column_of_the_comparison() {
    let runs: Vec<RunMetrics> = [(1, "bert-base-uncased", 0.01), (2, "roberta-base", 0.04)]
        .into_iter()
        .map(|(task, model, offset)| {
            let mut m = RunBuilder::new(task, 3e-5, 16).offset(offset).build();
            m.model = model.into();
            m.swept = serde_json::Map::from_iter([
                ("model.name".to_string(), json!(model)),
                ("learning_rate".to_string(), json!(3e-5)),
            ]);
            m
        })
        .collect();
    let tmp = own_data_jobs(&runs, None);
    let r = report::build(&tmp.path().join("jobs"), &no_qacct()).unwrap();
    assert_eq!(r.swept_keys, ["model.name", "learning_rate"]);
    let text = format::render(&r, format::Format::Table, &plots::Plots::default());
    assert!(
        text.contains("Best run, task 2 (model.name=roberta-base, learning_rate=3e-5)"),
        "{text}"
    );
    let csv = format::render(&r, format::Format::Csv, &plots::Plots::default());
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("best,task,model.name,learning_rate,status,"),
        "{csv}"
    );
    assert!(
        lines[1].starts_with("1,2,roberta-base,3e-5,finished,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("0,1,bert-base-uncased,3e-5,finished,"),
        "{csv}"
    );
}
