//! The pipeline tests' shared setup (tests/it/pipeline_sge.rs, tests/it/pipeline_slurm.rs):
//! the real GoEmotions data and the tiny BERT fixture served from 127.0.0.1 in
//! the hub's URL layout, a scratch folder, and a sweep config written into it.
//! Each scheduler's test keeps its own config text; only the plumbing is here.

use super::server::{Route, TestServer};
use std::path::{Path, PathBuf};

/// Serve the data files under `/data/` and the tiny BERT as `acme/tiny-bert`.
pub fn serve(srv: &TestServer, data: &Path) {
    for f in ["train.tsv", "dev.tsv", "test.tsv", "emotions.txt"] {
        srv.route(
            &format!("/data/{f}"),
            Route::ok(std::fs::read(data.join(f)).unwrap()),
        );
    }
    let model = super::fixture("golden/tiny-bert");
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        srv.route(
            &format!("/acme/tiny-bert/resolve/main/{f}"),
            Route::ok(std::fs::read(model.join(f)).unwrap()),
        );
    }
}

/// A served model and data, a scratch folder and the sweep config in it.
pub struct Setup {
    pub srv: TestServer,
    pub tmp: tempfile::TempDir,
    pub storage: PathBuf,
    pub cfg_path: PathBuf,
    pub data: PathBuf,
}

/// Serve, make the scratch folder, and write `config(storage, base_url)` as
/// edited by `edit` to `e2e.yaml` in it. None (skipped visibly) without the data.
pub fn setup_with(
    config: impl Fn(&Path, &str) -> String,
    edit: impl Fn(String) -> String,
) -> Option<Setup> {
    let data = super::goemotions_dir()?;
    let srv = TestServer::start();
    serve(&srv, &data);
    let tmp = tempfile::tempdir().unwrap();
    let storage = tmp.path().join("storage");
    let cfg_path = tmp.path().join("e2e.yaml");
    std::fs::write(&cfg_path, edit(config(&storage, &srv.base()))).unwrap();
    Some(Setup {
        srv,
        tmp,
        storage,
        cfg_path,
        data,
    })
}

/// The requeue tests' config (Grid Engine's and Slurm's alike): the sweep's
/// first point only, two epochs long enough to signal the worker in the
/// second, logging every 50 steps.
pub fn requeue_config(c: String) -> String {
    let mut c = super::config::parse(&c);
    assert_eq!(c.experiment.name, "e2e-sweep");
    c.experiment.name = "e2e-requeue".into();
    c.sweep.clear();
    c.train.epochs = 2;
    c.train.max_train_examples = Some(4000);
    c.train.tune_thresholds = false;
    c.train.log_every = 50;
    super::config::yaml(&c)
}

/// The own-data runs' config (Grid Engine's, Slurm's, local): the first 600
/// train and 200 test rows of GoEmotions written under the storage root as a
/// CSV with one 0/1 column per label, no dev file (held out of train), the
/// Ekman map, one task. Writes the files; returns the config text.
pub fn own_data_config(c: String, storage: &Path) -> String {
    let slice = storage.join("go-slice");
    std::fs::create_dir_all(&slice).unwrap();
    super::small_goemotions(&slice, 600, 10, 200).unwrap();
    let mut spec = super::owndata::write(
        &slice,
        &storage.join("data/own"),
        super::owndata::Layout::CsvIndicators,
    );
    spec.train = Some("data/own/train.csv".into());
    spec.dev = None;
    spec.test = Some("data/own/test.csv".into());
    spec.label_map = Some(hecjob::data::spec::LabelMapSpec::Ekman);
    let mut c = super::config::parse(&c);
    c.experiment.name = "e2e-own".into();
    c.sweep.clear();
    c.data = hecjob::experiment::config::Data {
        base_url: c.data.base_url.clone(),
        ..spec
    };
    c.train.max_train_examples = None;
    c.train.tune_thresholds = false;
    super::config::yaml(&c)
}

/// What an own-data run left: the job directory's data record says how the
/// data was read, and the task trained on the 7 Ekman labels.
pub fn check_own_data_run(job_dir: &Path, storage: &Path) {
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(job_dir.join("data.json")).unwrap()).unwrap();
    assert_eq!(record["format"], "csv");
    assert_eq!(record["label_map"], "ekman");
    assert_eq!(record["labels"].as_array().unwrap().len(), 7);
    // A tenth of the 600 train rows.
    assert_eq!(record["held_out"]["rows"], 60, "{record}");
    assert!(job_dir.join("heldout-dev.txt").is_file());
    let m = storage.join("models/go-emotions/e2e-own/task-1/metrics.json");
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(m).unwrap()).unwrap();
    assert_eq!(m["status"], "finished");
    assert_eq!(m["labels"], record["labels"]);
    assert_eq!(m["test"]["per_label"].as_array().unwrap().len(), 7);
    assert_eq!(m["test"]["examples"], 200);
}

/// Follow `hecjob status JOBS --json` (with `cmd` adding the scheduler's
/// environment) until every task is done or one has failed;
/// returns the last status. Panics after `limit`.
pub fn wait_settled(
    jobs: &Path,
    cmd: impl Fn() -> super::Hecjob,
    limit: std::time::Duration,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let out = cmd()
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
            .flat_map(|j| j["tasks"].as_array().unwrap().iter())
            .map(|t| t["state"].as_str().unwrap().to_string())
            .collect();
        // Settled: all done, or one failed (those after it may wait on it forever,
        // held behind Grid Engine's error state). Pending on a dependency is not
        // settled: Slurm shows the next job so for a moment after one ends.
        if states.iter().all(|s| s == "done")
            || states
                .iter()
                .any(|s| matches!(s.as_str(), "failed" | "error"))
        {
            return st;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not settled in time: {states:?}"
        );
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
}

/// Every log in `jobs/logs`, for a failure message.
pub fn logs(jobs: &Path) -> String {
    std::fs::read_dir(jobs.join("logs"))
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
        .unwrap_or_default()
}

/// The sweep config with a `predict:` section over two input files written
/// beside it (`corpus/a.txt`, 5 lines; `corpus/b.jsonl`, 3 rows) in shards of
/// 3 rows, so shard 2 spans both files; the best task's model labels them.
pub fn predict_config(c: String, folder: &Path) -> String {
    let corpus = folder.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(
        corpus.join("a.txt"),
        "I love this so much\nthis is awful\n\nwhat a surprise!\nthanks a lot\n",
    )
    .unwrap();
    std::fs::write(
        corpus.join("b.jsonl"),
        "{\"text\": \"so sad today\", \"id\": \"b1\"}\n{\"text\": \"ok\", \"id\": \"b2\"}\n{\"text\": \"I am so angry\", \"id\": \"b3\"}\n",
    )
    .unwrap();
    format!(
        "{c}predict:\n  model: best\n  inputs: [corpus/a.txt, \"corpus/*.jsonl\"]\n  shard_size: 3\n  probabilities: true\n"
    )
}

/// What a predict stage left in `job_dir`: three shards, each with its
/// summary, merged in input order — every input row has its output row.
pub fn check_predictions(job_dir: &Path, folder: &Path) {
    let merged = std::fs::read_to_string(job_dir.join("predict/predictions.jsonl"))
        .unwrap_or_else(|e| panic!("predict/predictions.jsonl: {e}\n{}", logs(job_dir)));
    let ids: Vec<String> = merged
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["labels"].is_array(), "{l}");
            v["id"].as_str().unwrap().to_string()
        })
        .collect();
    let a = folder.join("corpus/a.txt").display().to_string();
    let b = folder.join("corpus/b.jsonl").display().to_string();
    let expected: Vec<String> = (1..=5)
        .map(|n| format!("{a}:{n}"))
        .chain((1..=3).map(|n| format!("{b}:{n}")))
        .collect();
    assert_eq!(ids, expected);
    for k in 1..=3 {
        let s = hecjob::jobdir::predict::ShardSummary::read(job_dir, k)
            .unwrap()
            .unwrap_or_else(|| panic!("shard {k} wrote no summary"));
        assert_eq!(s.rows, if k == 3 { 2 } else { 3 }, "shard {k}");
    }
}
