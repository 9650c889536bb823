//! The whole pipeline on the live Slurm (scripts/slurm-local.sh up), as
//! tests/it/pipeline_sge.rs does it on Grid Engine: a rendered 2×2 sweep of a tiny BERT
//! runs install → download → train with the data and the model served from
//! 127.0.0.1; status reports every task done with sacct's accounting; a task
//! signalled in epoch 2 is requeued and resumes; the report reads the real run.
//! And the same Slurm-rendered scripts under `hecjob run --local`, with the SLURM_*
//! variables a task sees. Skipped (visibly) without Slurm or the data; under CI a
//! missing Slurm fails.

use crate::support;
use crate::support::Hecjob;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::pipeline::Setup;

/// A served model and data, a scratch folder and the sweep config (edited by `edit`).
fn setup_with(edit: impl Fn(String) -> String) -> Option<Setup> {
    support::pipeline::setup_with(sweep_config, edit)
}

/// A 2×2 sweep of the tiny BERT fixture on Slurm, data and model from `base`. The
/// train tasks ask for a typed GPU (the local Slurm has two fake H200s), so at most
/// two run at once; training itself runs on the CPU.
fn sweep_config(storage: &Path, base: &str) -> String {
    format!(
        r#"experiment:
  name: e2e-sweep
cluster:
  scheduler: slurm
  cpu_queue: serial
  gpu_queue: gpu-short
  storage_root: {storage}
  setup:
    - export HF_ENDPOINT={base}
  jobs:
    install:  {{ h_vmem: 1G, h_rt: "00:10:00" }}
    download: {{ h_vmem: 1G, h_rt: "00:10:00" }}
    train:    {{ h_vmem: 3G, h_rt: "00:10:00", ncpus: 1, ngpus: 1, gpu_type: nvidia_h200_nvl }}
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

fn submit(cfg_path: &Path, jobs: &Path) -> PathBuf {
    let out = Hecjob::new()
        .slurm()
        .args([
            "submit",
            cfg_path.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
        ])
        .output();
    assert!(
        out.status.success(),
        "submit failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("submitted train"), "{text}");
    jobs.to_path_buf()
}

fn status_json(jobs: &Path) -> serde_json::Value {
    let out = Hecjob::new()
        .slurm()
        .args(["status", jobs.to_str().unwrap(), "--json"])
        .output();
    assert!(
        out.status.success(),
        "status failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn states(st: &serde_json::Value) -> Vec<String> {
    st.as_array()
        .unwrap()
        .iter()
        .flat_map(|j| {
            j["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["state"].as_str().unwrap().to_string())
        })
        .collect()
}

fn logs(jobs: &Path, prefix: &str) -> String {
    let mut entries: Vec<_> = std::fs::read_dir(jobs.join("logs"))
        .map(|rd| rd.flatten().collect())
        .unwrap_or_default();
    entries.sort_by_key(|e| e.file_name());
    entries
        .iter()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| {
            format!(
                "--- {}\n{}",
                e.file_name().to_string_lossy(),
                std::fs::read_to_string(e.path()).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sacct(args: &[&str]) -> String {
    let out = Command::new("sacct")
        .args(args)
        .env("SLURM_CONF", support::slurm_conf())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_sweep_runs_end_to_end_on_slurm() {
    if !support::have_slurm() {
        return;
    }
    let Some(Setup {
        srv,
        tmp,
        storage,
        cfg_path,
        data: _,
    }) = setup_with(|c| c)
    else {
        return;
    };
    let jobs = submit(&cfg_path, &tmp.path().join("jobs"));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(jobs.join("submission.json")).unwrap())
            .unwrap();
    assert_eq!(record["executor"], "slurm", "{record:#}");

    let deadline = Instant::now() + Duration::from_secs(900);
    let status = loop {
        let st = status_json(&jobs);
        let s = states(&st);
        if s.iter()
            .all(|x| matches!(x.as_str(), "done" | "failed" | "error"))
        {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "the sweep did not finish in time: {s:?}\n{}",
            logs(&jobs, "")
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    let all_logs = logs(&jobs, "");
    let jobs_st = status.as_array().unwrap();
    assert_eq!(jobs_st.len(), 3, "{status:#}");
    let stage = |name: &str| jobs_st.iter().find(|j| j["stage"] == name).unwrap();
    for j in jobs_st {
        for t in j["tasks"].as_array().unwrap() {
            assert_eq!(
                t["state"], "done",
                "{} task {}: {t:#}\n{all_logs}",
                j["stage"], t["task"]
            );
            // Accounting from sacct: exit status, run time, the run's start and end.
            let acct = &t["last_run"];
            assert_eq!(acct["exit_status"], 0, "{acct:#}");
            assert_eq!(acct["outcome"], "succeeded", "{acct:#}");
            assert!(acct["wallclock_s"].as_f64().unwrap() >= 0.0, "{acct:#}");
            assert_eq!(
                acct["queue"],
                if j["stage"] == "train" {
                    "gpu-short"
                } else {
                    "serial"
                }
            );
        }
    }
    let train = stage("train");
    assert_eq!(
        train["tasks"].as_array().unwrap().len(),
        4,
        "one array task per sweep point"
    );
    // The dependency chain: every train task started after the download ended
    // (sacct's times, `YYYY-MM-DDTHH:MM:SS`, order as text).
    let download_end = stage("download")["tasks"][0]["last_run"]["end_time"]
        .as_str()
        .unwrap()
        .to_string();
    let install_end = stage("install")["tasks"][0]["last_run"]["end_time"]
        .as_str()
        .unwrap()
        .to_string();
    let download_start = stage("download")["tasks"][0]["last_run"]["start_time"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        download_start >= install_end,
        "download started before install ended"
    );
    let mut max_rss_seen = false;
    for t in train["tasks"].as_array().unwrap() {
        let start = t["last_run"]["start_time"].as_str().unwrap();
        assert!(
            start >= download_end.as_str(),
            "task {} started at {start}, before the download ended at {download_end}",
            t["task"]
        );
        // sacct's MaxRSS of the batch step (sampled every 2 s: a task of a few
        // seconds may have none, so at least one of the four must).
        max_rss_seen |= t["last_run"]["max_rss_bytes"]
            .as_u64()
            .is_some_and(|b| b > 0);
        assert_eq!(t["last_run"]["restarts"], 0, "{t:#}");
    }
    assert!(max_rss_seen, "no train task has a MaxRSS: {train:#}");
    // Each task ran on a typed GPU of its own: Slurm set CUDA_VISIBLE_DEVICES.
    for task in 1..=4 {
        let dir = storage.join(format!("models/go-emotions/e2e-sweep/task-{task}"));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap())
                .unwrap();
        assert_eq!(m["status"], "finished", "task {task}");
        assert_eq!(m["task"], task);
        let (lr, bs) = [(0.001, 16), (0.001, 32), (0.003, 16), (0.003, 32)][task as usize - 1];
        assert_eq!(m["params"]["learning_rate"], lr, "task {task}");
        assert_eq!(m["params"]["batch_size"], bs, "task {task}");
        assert!(dir.join("model.safetensors").is_file());
    }
    // The logs are where the directives put them, named as the HEC names them.
    let names: Vec<String> = std::fs::read_dir(jobs.join("logs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let train_id = train["id"]["number"].as_u64().unwrap();
    for t in 1..=4 {
        let want = format!("e2e-sweep-train.{train_id}_{t}.out");
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    // sacct's own record of the GRES each task got.
    let tres = sacct(&[
        "-X",
        "-n",
        "-P",
        "-j",
        &train_id.to_string(),
        "--format=AllocTRES",
    ]);
    assert_eq!(
        tres.lines().filter(|l| l.contains("gres/gpu=1")).count(),
        4,
        "{tres}"
    );
    assert!(!srv
        .hits("GET", "/acme/tiny-bert/resolve/main/model.safetensors")
        .is_empty());

    // The report reads the real run directories. It runs as its own process,
    // whose sacct call gets SLURM_CONF from the builder: a test never sets this
    // process's environment (the tests share it under `cargo test`).
    let report = Hecjob::new()
        .slurm()
        .args(["report", "--format", "json", "--no-plots", "--no-html"])
        .arg(&jobs)
        .run()
        .success();
    let report: serde_json::Value = serde_json::from_str(&report.stdout()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(!report["best_task"].is_null());
    // Accounting comes from sacct (never qacct: a Grid Engine here would answer
    // for an unrelated job with the same number).
    assert_eq!(
        report["efficiency"]["accounting"],
        format!("`sacct -j {train_id}`")
    );
    assert!(
        rows.iter().any(|r| r["scheduler_peak_memory_bytes"]
            .as_u64()
            .is_some_and(|b| b > 0)),
        "sacct's MaxRSS reaches the report"
    );
    for row in rows {
        assert_eq!(row["epochs_done"], 1);
        assert!(
            !row["test_f1"].is_null(),
            "task {} has a test F1",
            row["task"]
        );
    }
    let out = Hecjob::new()
        .slurm()
        .args(["report", jobs.to_str().unwrap()])
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("macro-average"));

    // The human table shows sacct's figures too.
    let out = Hecjob::new()
        .slurm()
        .args(["status", jobs.to_str().unwrap()])
        .output();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("done"), "{table}");
    assert!(
        !table.contains("note:"),
        "sacct is available here:\n{table}"
    );
}

/// Requeue with the real worker: USR1 to the batch shell during epoch 2 (what
/// `--signal=B:USR1@…` does before the time limit) → the script forwards it → the
/// worker checkpoints nothing new and exits 99 → the script requeues only this
/// array task → the next run (SLURM_RESTART_COUNT=1) resumes from the epoch-1
/// checkpoint and finishes. sacct keeps both runs, the first as REQUEUED.
#[test]
fn a_signalled_task_is_requeued_and_resumes_on_slurm() {
    if !support::have_slurm() {
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
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(jobs.join("submission.json")).unwrap())
            .unwrap();
    let train_id = record["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == "train")
        .unwrap()["id"]["number"]
        .as_u64()
        .unwrap();
    let this_task = format!("{train_id}_1");

    // Wait for the epoch-1 checkpoint, then signal the batch shell (not the worker).
    let deadline = Instant::now() + Duration::from_secs(900);
    while !task.join("checkpoint/latest").is_file() {
        assert!(
            Instant::now() < deadline,
            "no epoch-1 checkpoint in time\n{}",
            logs(&jobs, "")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = Command::new("scancel")
        .args(["--signal=USR1", "--batch", &this_task])
        .env("SLURM_CONF", support::slurm_conf())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let train = loop {
        let st = status_json(&jobs);
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
            "the requeued task did not finish: {state}\n{}",
            logs(&jobs, "e2e-requeue-train")
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let log = logs(&jobs, "e2e-requeue-train");
    let t = &train["tasks"][0];
    assert_eq!(t["state"], "done", "{t:#}\n{log}");
    assert_eq!(
        t["runs"], 2,
        "one requeued run and one resumed run: {t:#}\n{log}"
    );
    assert_eq!(t["last_run"]["restarts"], 1, "{t:#}");
    // The worker saw the signal, the script requeued only this task, the next run resumed.
    assert!(log.contains("SIGUSR1"), "{log}");
    assert!(log.contains(&format!("requeued {this_task}")), "{log}");
    assert!(log.contains("(run 2)"), "{log}");
    assert!(log.contains("resuming from"), "{log}");
    // sacct: the first run REQUEUED, the second COMPLETED.
    let runs = sacct(&["-D", "-X", "-n", "-P", "-j", &this_task, "--format=State"]);
    assert_eq!(
        runs.lines().collect::<Vec<_>>(),
        ["REQUEUED", "COMPLETED"],
        "{runs}"
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(task.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "finished");
    assert_eq!(m["epochs"].as_array().unwrap().len(), 2);
    assert!(!task.join("checkpoint").exists());
}

/// The Slurm-rendered scripts without a scheduler: `hecjob run --local` runs
/// install, download and the four array tasks with bash, giving each the SLURM_*
/// variables and the log names sbatch would.
#[test]
fn the_slurm_sweep_runs_locally_without_a_scheduler() {
    let Some(Setup {
        srv: _srv,
        tmp,
        storage,
        cfg_path,
        data: _,
    }) = setup_with(|c| c)
    else {
        return;
    };
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .slurm()
        .args([
            "run",
            "--local",
            cfg_path.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
            "--jobs",
            "2",
        ])
        .output();
    assert!(
        out.status.success(),
        "run --local failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        logs(&jobs, "")
    );
    let names: Vec<String> = std::fs::read_dir(jobs.join("logs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // As sbatch names them from -o logs/%x.%j.out and logs/%x.%A_%a.out.
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("e2e-sweep-install.") && n.ends_with(".out")),
        "{names:?}"
    );
    let train_logs: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("e2e-sweep-train.") && n.ends_with(".out"))
        .collect();
    assert_eq!(train_logs.len(), 4, "{names:?}");
    let log = logs(&jobs, "e2e-sweep-train");
    for t in 1..=4 {
        assert!(
            log.contains(&format!("hecjob: task {t} of 4 (run 1)")),
            "{log}"
        );
        let m = storage.join(format!(
            "models/go-emotions/e2e-sweep/task-{t}/metrics.json"
        ));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(m).unwrap()).unwrap();
        assert_eq!(m["status"], "finished", "task {t}");
    }
}

/// Your own data on the live Slurm: a CSV with 0/1 columns, dev held out of
/// train, the Ekman map; the download job writes the data record and the task
/// trains on the 7 labels.
#[test]
fn own_data_runs_on_slurm() {
    if !support::have_slurm() {
        return;
    }
    let Some(Setup {
        srv: _srv,
        tmp,
        storage,
        cfg_path,
        ..
    }) = setup_with(|c| c)
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
    let st =
        support::pipeline::wait_settled(&jobs, || Hecjob::new().slurm(), Duration::from_secs(600));
    assert!(
        states(&st).iter().all(|s| s == "done"),
        "{st}\n{}",
        logs(&jobs, "")
    );
    support::pipeline::check_own_data_run(&jobs, &storage);
}

/// `predict: {model: best, …}` after the sweep on the live Slurm: the predict
/// array (afterok on the train array) labels three shards of two files, the
/// merge (afterok on the predict array) joins them in input order.
#[test]
fn predict_best_runs_on_slurm() {
    if !support::have_slurm() {
        return;
    }
    let Some(Setup {
        srv: _srv,
        tmp,
        cfg_path,
        ..
    }) = setup_with(|c| c)
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
    let st =
        support::pipeline::wait_settled(&jobs, || Hecjob::new().slurm(), Duration::from_secs(900));
    assert!(
        states(&st).iter().all(|s| s == "done"),
        "{st}\n{}",
        logs(&jobs, "")
    );
    support::pipeline::check_predictions(&jobs, tmp.path());
}
