//! The whole pipeline, on the live Grid Engine (scripts/sge-local.sh up) and
//! with the local executor. On Grid Engine: a
//! rendered 2×2 sweep of a tiny BERT runs install → download → train, with the
//! data and the model served from 127.0.0.1 in the hub's URL layout; status
//! reports every task finished with accounting figures; the report reads the
//! real run directories. Skipped (visibly) without qsub or the data.

use crate::support;
use crate::support::Hecjob;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::pipeline::Setup;

/// qacct's `Thu Nov 26 06:02:41 2026` as seconds since the year 2000 (enough to order).
fn qacct_time(s: &str) -> i64 {
    let f: Vec<&str> = s.split_whitespace().collect();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == f[1])
    .unwrap() as i64;
    let day: i64 = f[2].parse().unwrap();
    let hms: Vec<i64> = f[3].split(':').map(|x| x.parse().unwrap()).collect();
    let year: i64 = f[4].parse().unwrap();
    (((year - 2000) * 12 + month) * 31 + day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
}

fn setup() -> Option<Setup> {
    setup_with(|c| c)
}

/// As `setup`, with the sweep config edited by `edit`.
fn setup_with(edit: impl Fn(String) -> String) -> Option<Setup> {
    support::pipeline::setup_with(sweep_config, edit)
}

/// A 2×2 sweep of the tiny BERT fixture, data and model from `base`.
fn sweep_config(storage: &Path, base: &str) -> String {
    format!(
        r#"experiment:
  name: e2e-sweep
cluster:
  cpu_queue: serial
  gpu_queue: short
  storage_root: {storage}
  setup:
    - export HF_ENDPOINT={base}
  jobs:
    install:  {{ h_vmem: 4G, h_rt: "00:10:00" }}
    download: {{ h_vmem: 4G, h_rt: "00:10:00" }}
    train:    {{ h_vmem: 16G, h_rt: "00:10:00", ncpus: 1, ngpus: 1 }}
install:
  from: binary
  binary: {bin}
data:
  base_url: {base}/data
model:
  name: acme/tiny-bert
train:
  epochs: 1
  max_length: 32
  max_train_examples: 160
  warmup_ratio: 0.0
  device: cpu
  log_every: 5
  tune_thresholds: true
sweep:
  learning_rate: [0.001, 0.003]
  batch_size: [16, 32]
"#,
        storage = storage.display(),
        base = base,
        bin = support::cmd::BIN,
    )
}

#[test]
fn a_sweep_runs_end_to_end_on_grid_engine() {
    if !support::have_qsub() {
        return;
    }
    let Some(Setup {
        srv,
        tmp,
        storage,
        cfg_path,
        data: _,
    }) = setup()
    else {
        return;
    };
    let jobs = submit(&cfg_path, &tmp.path().join("jobs"));

    // Follow with `hecjob status --json` until every task has finished.
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        let out = Hecjob::new()
            .args(["status", jobs.to_str().unwrap(), "--json"])
            .output();
        assert!(
            out.status.success(),
            "status failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let states: Vec<String> = st
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|j| {
                j["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["state"].as_str().unwrap().to_string())
            })
            .collect();
        // Settled: finished, or stuck behind a job in error state (its log is printed below).
        if states
            .iter()
            .all(|s| matches!(s.as_str(), "done" | "failed" | "error" | "held"))
        {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "the sweep did not finish in time: {states:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    let logs = std::fs::read_dir(jobs.join("logs"))
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    format!(
                        "--- {}\n{}",
                        e.path().display(),
                        std::fs::read_to_string(e.path()).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let jobs_st = status.as_array().unwrap();
    assert_eq!(jobs_st.len(), 3, "{status:#}");
    let stage = |name: &str| jobs_st.iter().find(|j| j["stage"] == name).unwrap();
    for j in jobs_st {
        for t in j["tasks"].as_array().unwrap() {
            assert_eq!(
                t["state"], "done",
                "{} task {}: {t:#}\n{logs}",
                j["stage"], t["task"]
            );
            let acct = &t["last_run"];
            assert_eq!(acct["exit_status"], 0, "{acct:#}");
            assert!(acct["wallclock_s"].as_f64().unwrap() >= 0.0);
        }
    }
    let train = stage("train");
    assert_eq!(
        train["tasks"].as_array().unwrap().len(),
        4,
        "one array task per sweep point"
    );
    // The holds: every train task started after the download job ended.
    let download_end = qacct_time(
        stage("download")["tasks"][0]["last_run"]["end_time"]
            .as_str()
            .unwrap(),
    );
    for t in train["tasks"].as_array().unwrap() {
        let start = qacct_time(t["last_run"]["start_time"].as_str().unwrap());
        assert!(
            start >= download_end,
            "task {} started before the download ended",
            t["task"]
        );
        // Present for every task (execd samples it periodically, so a task of a few
        // seconds may read 0).
        assert!(
            t["last_run"]["maxvmem_bytes"].is_u64(),
            "maxvmem recorded: {t:#}"
        );
    }
    // Every task trained with its own swept values and wrote its metrics.
    for task in 1..=4 {
        let dir = storage.join(format!("models/go-emotions/e2e-sweep/task-{task}"));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap())
                .unwrap();
        assert_eq!(m["status"], "finished");
        assert_eq!(m["task"], task);
        let (lr, bs) = [(0.001, 16), (0.001, 32), (0.003, 16), (0.003, 32)][task as usize - 1];
        assert_eq!(m["params"]["learning_rate"], lr);
        assert_eq!(m["params"]["batch_size"], bs);
        assert_eq!(m["test"]["examples"], 5427);
        assert!(dir.join("model.safetensors").is_file());
    }
    // The data was fetched from the server and verified, the model came in hub layout.
    assert!(storage.join("data/go-emotions/train.tsv").is_file());
    assert!(!srv
        .hits("GET", "/acme/tiny-bert/resolve/main/model.safetensors")
        .is_empty());

    // The sweep report reads the real run directories and Grid Engine's accounting.
    let report = hecjob::report::build(&jobs, &hecjob::report::ReportOptions::default()).unwrap();
    assert_eq!(report.rows.len(), 4);
    assert!(report.best.is_some());
    for row in &report.rows {
        assert_eq!(row.epochs_done, 1);
        assert!(row.test_f1.is_some(), "task {} has a test F1", row.task);
        assert!(
            row.scheduler_peak_memory_bytes.is_some(),
            "task {} has qacct maxvmem",
            row.task
        );
    }
    // Efficiency from the live scheduler's accounting and the real runs: the
    // requests of sweep_config against what Grid Engine and the worker measured.
    let eff = hecjob::report::efficiency_of(&report);
    for t in &eff.tasks {
        assert_eq!(t.requested_memory_bytes, Some(16 << 30), "task {}", t.task);
        assert_eq!(t.requested_seconds, Some(600.0));
        assert_eq!((t.requested_cpus, t.requested_gpus), (Some(1), Some(1)));
        assert!(t.scheduler_peak_memory_bytes.unwrap() > 20 << 20, "{t:?}");
        assert!(t.worker_peak_rss_bytes.unwrap() > 20 << 20, "{t:?}");
        assert_eq!(t.elapsed_source, Some("scheduler"));
        let elapsed = t.elapsed_seconds.unwrap();
        assert!(elapsed > 0.0 && elapsed <= 600.0, "{elapsed}");
        assert!(t.cpu_seconds.unwrap() > 0.0, "{t:?}");
        assert!(t.cores_used.unwrap() > 0.0);
        // Trained on the CPU (train.device: cpu) while asking for a GPU: flagged.
        assert!(
            t.warnings
                .iter()
                .any(|w| w.contains("asked for 1 GPU but trained on")),
            "{:?}",
            t.warnings
        );
        assert!(
            t.missing
                .iter()
                .any(|m| m.contains("GPU figures: training on the CPU")),
            "{:?}",
            t.missing
        );
    }
    let s = &eff.suggestion;
    assert!(
        s.memory.is_some() && s.time.is_some() && s.cpus.is_some(),
        "{s:?}"
    );
    assert!(s.yaml.as_deref().unwrap().contains("ngpus: 1"));
    // `status` shows the same for the finished tasks.
    let out = Hecjob::new()
        .args(["status", jobs.to_str().unwrap()])
        .output();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Efficiency") && text.contains("Next time") && text.contains("16.00 GiB"),
        "{text}"
    );

    let out = Hecjob::new()
        .args([
            "report",
            jobs.to_str().unwrap(),
            "--plots-dir",
            tmp.path().join("plots").to_str().unwrap(),
        ])
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("learning_rate") && text.contains("macro-average"),
        "{text}"
    );
    assert!(
        text.contains("Efficiency") && text.contains("Next time") && text.contains("16.00 GiB"),
        "{text}"
    );
    assert!(tmp.path().join("plots/report.html").is_file());
    assert!(
        tmp.path().join("plots/loss.svg").is_file() && tmp.path().join("plots/loss.png").is_file()
    );
}

/// The same rendered scripts without a scheduler: `hecjob run --local` runs
/// install, download and the four array tasks with bash, as Grid Engine would;
/// then `predict` uses a trained task's model.
#[test]
fn the_same_sweep_runs_locally_without_a_scheduler() {
    // `srv: _srv` keeps the server alive (a field left to `..` would be dropped here).
    let Some(Setup {
        srv: _srv,
        tmp,
        storage,
        cfg_path,
        data,
    }) = setup()
    else {
        return;
    };
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .args([
            "run",
            "--local",
            cfg_path.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
        ])
        .output();
    let logs: Vec<String> = std::fs::read_dir(jobs.join("logs"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        out.status.success(),
        "run --local failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Logs are named as Grid Engine names them: <name>.o<job>[.<task>].
    assert!(
        logs.iter().any(|l| l.starts_with("e2e-sweep-download.o")),
        "{logs:?}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.starts_with("e2e-sweep-train.o"))
            .count(),
        4,
        "{logs:?}"
    );
    for task in 1..=4 {
        let m = storage.join(format!(
            "models/go-emotions/e2e-sweep/task-{task}/metrics.json"
        ));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(m).unwrap()).unwrap();
        assert_eq!(m["status"], "finished", "task {task}");
        assert_eq!(
            m["test_tuned"]["per_label"].as_array().unwrap().len(),
            28,
            "task {task}"
        );
    }
    let model = storage.join("models/go-emotions/e2e-sweep/task-1");
    let out = Hecjob::new()
        .args([
            "predict",
            model.to_str().unwrap(),
            "I love this so much!",
            "what?",
            "--top-k",
            "3",
            "--json",
        ])
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p.as_array().unwrap().len(), 2);
    let labels = p[0]["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 3);
    let probs: Vec<f64> = labels
        .iter()
        .map(|l| l["probability"].as_f64().unwrap())
        .collect();
    assert!(
        probs.windows(2).all(|w| w[0] >= w[1]) && probs.iter().all(|&x| (0.0..=1.0).contains(&x)),
        "{probs:?}"
    );
    let out = Hecjob::new()
        .args([
            "evaluate",
            model.to_str().unwrap(),
            data.join("dev.tsv").to_str().unwrap(),
        ])
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("macro-average"));
}

/// `hecjob submit CONFIG --out JOBS`, which must succeed; returns JOBS.
fn submit(cfg_path: &Path, jobs: &Path) -> std::path::PathBuf {
    let out = Hecjob::new()
        .args([
            "submit",
            cfg_path.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
        ])
        .output();
    assert!(
        out.status.success(),
        "submit failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    jobs.to_path_buf()
}

/// The pid of the worker training in `job_dir` (its working directory), if running.
fn worker_pid(job_dir: &Path) -> Option<String> {
    let job_dir = job_dir.canonicalize().ok()?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_string_lossy().into_owned();
        pid.parse::<u32>().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        let is_worker = cmd.contains("train\0--config\0config.yaml");
        let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
        (is_worker && cwd == job_dir).then_some(pid)
    })
}

/// Requeue on the live cluster with the real worker: SIGUSR1 (what Grid Engine
/// sends at s_rt) during epoch 2 → the worker exits 99 → Grid Engine reschedules
/// the task → the new run resumes from the epoch-1 checkpoint and finishes.
#[test]
fn a_signalled_task_is_rescheduled_and_resumes_on_grid_engine() {
    if !support::have_qsub() {
        return;
    }
    let Some(Setup {
        srv: _srv,
        tmp,
        storage,
        cfg_path,
        data: _,
    }) = setup_with(support::pipeline::requeue_config)
    else {
        return;
    };
    let jobs = submit(&cfg_path, &tmp.path().join("jobs"));
    let task = storage.join("models/go-emotions/e2e-requeue/task-1");

    // Wait for the epoch-1 checkpoint, then signal the worker during epoch 2.
    let deadline = Instant::now() + Duration::from_secs(600);
    let pid = loop {
        if task.join("checkpoint/latest").is_file() {
            if let Some(pid) = worker_pid(&jobs) {
                break pid;
            }
        }
        assert!(Instant::now() < deadline, "no epoch-1 checkpoint in time");
        std::thread::sleep(Duration::from_millis(100));
    };
    // While it trains, `status` shows where it is, from the worker's progress.json
    // (epoch 1 has finished, so its dev macro-F1 is there; the pace gives an estimate).
    // The worker is paused (SIGSTOP) for that call, so under load epoch 2 cannot end
    // before the USR1 below arrives; the USR1 waits pending until SIGCONT.
    let signal = |sig: &str| Command::new("kill").args([sig, &pid]).status().unwrap();
    assert!(signal("-STOP").success());
    let out = Hecjob::new()
        .args(["status", jobs.to_str().unwrap()])
        .output();
    let live = String::from_utf8_lossy(&out.stdout).into_owned();
    let kill = signal("-USR1");
    assert!(signal("-CONT").success());
    assert!(
        live.contains("running train tasks:") && live.contains("task 1: epoch "),
        "{live}"
    );
    assert!(
        live.contains("dev macro-F1") && live.contains("left (updated"),
        "{live}"
    );
    assert!(kill.success());

    let status = loop {
        let out = Hecjob::new()
            .args(["status", jobs.to_str().unwrap(), "--json"])
            .output();
        let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let train = st
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["stage"] == "train")
            .unwrap()
            .clone();
        let state = train["tasks"][0]["state"].as_str().unwrap().to_string();
        if matches!(state.as_str(), "done" | "failed" | "error") {
            break train;
        }
        assert!(
            Instant::now() < deadline,
            "the requeued task did not finish: {state}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let log: String = std::fs::read_dir(jobs.join("logs"))
        .unwrap()
        .flatten()
        // Both streams: the interruption is reported on stderr (.e file).
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("e2e-requeue-train.")
        })
        .map(|e| {
            format!(
                "--- {}\n{}",
                e.file_name().to_string_lossy(),
                std::fs::read_to_string(e.path()).unwrap_or_default()
            )
        })
        .collect();
    let t = &status["tasks"][0];
    assert_eq!(t["state"], "done", "{t:#}\n{log}");
    assert_eq!(
        t["runs"], 2,
        "one interrupted run and one resumed run: {t:#}\n{log}"
    );
    assert!(log.contains("SIGUSR1"), "{log}");
    assert!(log.contains("resuming from"), "{log}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(task.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "finished");
    assert_eq!(m["epochs"].as_array().unwrap().len(), 2);
    assert!(!task.join("checkpoint").exists());
}

/// Your own data end to end without a scheduler: a CSV with 0/1 columns, dev
/// held out of train, the Ekman map; the download job checks it and writes
/// the data record, the task trains on the 7 labels.
#[test]
fn own_data_runs_locally() {
    let Some(Setup {
        srv: _srv,
        tmp,
        storage,
        cfg_path,
        ..
    }) = support::pipeline::setup_with(sweep_config, |c| c)
    else {
        return;
    };
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(
        &cfg_path,
        support::pipeline::own_data_config(text, &storage),
    )
    .unwrap();
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .args([
            "run",
            "--local",
            cfg_path.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
        ])
        .output();
    assert!(
        out.status.success(),
        "run --local failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        support::pipeline::logs(&jobs)
    );
    support::pipeline::check_own_data_run(&jobs, &storage);
}

/// `predict: {model: best, …}` after a 2×2 sweep, without a scheduler and two
/// array tasks at a time: the predict array labels its three shards of two
/// input files with the best task's model, the merge joins them, every
/// input row has its output row in order, and `report` shows each shard.
#[test]
fn predict_best_runs_locally_in_shards() {
    let Some(Setup {
        srv: _srv,
        tmp,
        cfg_path,
        ..
    }) = support::pipeline::setup_with(sweep_config, |c| c)
    else {
        return;
    };
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(
        &cfg_path,
        support::pipeline::predict_config(text, tmp.path()),
    )
    .unwrap();
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .args([
            "run",
            "--local",
            "--jobs",
            "2",
            cfg_path.to_str().unwrap(),
            "--out",
        ])
        .arg(&jobs)
        .output();
    assert!(
        out.status.success(),
        "run --local failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        support::pipeline::logs(&jobs)
    );
    support::pipeline::check_predictions(&jobs, tmp.path());
    let best = hecjob::report::build(
        &jobs,
        &hecjob::report::ReportOptions {
            qacct: None,
            ..Default::default()
        },
    )
    .unwrap()
    .best
    .unwrap();
    // Every shard labelled with the one model the first shard chose.
    for shard in 1..=3 {
        let used = hecjob::jobdir::predict::ShardSummary::read(&jobs, shard)
            .unwrap()
            .unwrap()
            .model;
        assert!(
            used.ends_with(&format!("/task-{best}")),
            "shard {shard}: {used} is not task {best}"
        );
    }
    let chosen = hecjob::jobdir::predict::BestChoice::read(&jobs)
        .unwrap()
        .unwrap();
    assert_eq!(chosen.task, best);
    Hecjob::new()
        .args(["report", "--no-plots", "--no-html", "--no-qacct"])
        .arg(&jobs)
        .run()
        .success()
        .stdout_contains("Predict: 8 input rows in 3 shard(s) of 3");
}

/// The same predict stage after a sweep on the live Grid Engine: the predict
/// array is held on the train array, the merge on the predict array.
#[test]
fn predict_best_runs_on_grid_engine() {
    if !support::have_qsub() {
        return;
    }
    let Some(Setup {
        srv: _srv,
        tmp,
        cfg_path,
        ..
    }) = support::pipeline::setup_with(sweep_config, |c| c)
    else {
        return;
    };
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(
        &cfg_path,
        support::pipeline::predict_config(text, tmp.path()),
    )
    .unwrap();
    let jobs = submit(&cfg_path, &tmp.path().join("jobs"));
    let st = support::pipeline::wait_settled(&jobs, Hecjob::new, Duration::from_secs(900));
    let stages: Vec<&str> = st
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["install", "download", "train", "predict", "merge"],
        "{st}"
    );
    support::pipeline::check_predictions(&jobs, tmp.path());
}

/// The same own-data experiment submitted to the live Grid Engine.
#[test]
fn own_data_runs_on_grid_engine() {
    if !support::have_qsub() {
        return;
    }
    let Some(Setup {
        srv: _srv,
        tmp,
        storage,
        cfg_path,
        ..
    }) = support::pipeline::setup_with(sweep_config, |c| c)
    else {
        return;
    };
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(
        &cfg_path,
        support::pipeline::own_data_config(text, &storage),
    )
    .unwrap();
    let jobs = submit(&cfg_path, &tmp.path().join("jobs"));
    let st = support::pipeline::wait_settled(&jobs, Hecjob::new, Duration::from_secs(600));
    let states: Vec<&str> = st
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|j| j["tasks"].as_array().unwrap().iter())
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert!(
        states.iter().all(|s| *s == "done"),
        "{states:?}\n{}",
        support::pipeline::logs(&jobs)
    );
    support::pipeline::check_own_data_run(&jobs, &storage);
}
