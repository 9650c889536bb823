//! Your own data through real tch training on the CPU (the tiny BERT
//! fixture): every layout of the same GoEmotions rows trains to the same loss
//! at every logged step, bit for bit; the download job's token cache gives the
//! same run as tokenizing in the task; a task refuses data changed since the
//! data check.

use crate::support::{self, config, owndata, Hecjob};
use hecjob::experiment::config::{DeviceChoice, Train};
use hecjob::worker::train::trainer::{self, DataFiles, RunLimits, RunSpec};
use std::path::{Path, PathBuf};

fn spec(data: DataFiles, save: &Path) -> RunSpec {
    RunSpec {
        data,
        save_dir: save.to_path_buf(),
        model: support::fixture("golden/tiny-bert").display().to_string(),
        revision: None,
        params: Train {
            learning_rate: 3e-3,
            batch_size: 16,
            epochs: 1,
            max_length: 32,
            warmup_ratio: 0.0,
            device: DeviceChoice::Cpu,
            log_every: 1,
            ..Train::default()
        },
        resume: false,
        scheduler_restart: false,
        experiment: None,
        task: None,
        swept: Default::default(),
        limits: RunLimits {
            max_steps_per_epoch: Some(12),
            ..RunLimits::full()
        },
        print_table: None,
        early_stop: None,
    }
}

/// The loss at every logged step, as bits.
fn loss_bits(m: &hecjob::jobdir::metrics::RunMetrics) -> Vec<(u64, u64)> {
    m.loss_log
        .iter()
        .map(|p| (p.step, p.loss.to_bits()))
        .collect()
}

#[test]
fn every_layout_trains_to_the_same_loss_bit_for_bit() {
    let _one = support::one_training_run_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("go");
    std::fs::create_dir_all(&go).unwrap();
    if support::small_goemotions(&go, 200, 60, 60).is_none() {
        return;
    }
    let tsv = trainer::run(&spec(DataFiles::in_dir(&go), &tmp.path().join("run-tsv"))).unwrap();
    let want = loss_bits(&tsv);
    assert_eq!(want.len(), 12);
    for layout in owndata::LAYOUTS {
        let data_spec = owndata::write(&go, &tmp.path().join(format!("{layout:?}")), layout);
        let sources = owndata::sources(&data_spec);
        let files = DataFiles {
            spec: data_spec,
            sources,
            record_dir: None,
        };
        let m = trainer::run(&spec(files, &tmp.path().join(format!("run-{layout:?}")))).unwrap();
        assert_eq!(loss_bits(&m), want, "{layout:?}");
        assert_eq!(
            m.test.as_ref().unwrap().macro_avg,
            tsv.test.as_ref().unwrap().macro_avg,
            "{layout:?}"
        );
    }
}

/// A config at `storage/jobs/own/config.yaml` training the tiny BERT on a
/// JSONL copy of a GoEmotions slice (dev held out of train).
fn job(storage: &Path) -> Option<PathBuf> {
    let go = storage.join("go");
    std::fs::create_dir_all(&go).unwrap();
    support::small_goemotions(&go, 240, 10, 60)?;
    let mut spec = owndata::write(&go, &storage.join("data"), owndata::Layout::JsonlNames);
    spec.dev = None;
    let mut c = config::named("own");
    c.cluster.storage_root = storage.display().to_string();
    c.cluster.jobs.train.ngpus = Some(0);
    c.data = spec;
    c.model.name = support::fixture("golden/tiny-bert").display().to_string();
    c.train = Train {
        epochs: 1,
        max_length: 32,
        batch_size: 16,
        warmup_ratio: 0.0,
        device: DeviceChoice::Cpu,
        log_every: 2,
        ..Train::default()
    };
    let dir = storage.join("jobs/own");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.yaml");
    config::write(&c, &path);
    Some(path)
}

fn train_task(cfg: &Path) -> support::cmd::Run {
    Hecjob::new()
        .args(["train", "--config", "config.yaml", "--task", "1"])
        .current_dir(cfg.parent().unwrap())
        .run()
}

fn metrics(storage: &Path) -> serde_json::Value {
    let p = storage.join("models/go-emotions/own/task-1/metrics.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn the_token_cache_gives_the_same_run_and_changed_data_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(cfg) = job(tmp.path()) else {
        return;
    };
    let prep = Hecjob::new().arg("prepare-data").arg(&cfg).run().success();
    assert!(
        prep.stdout().contains("token cache: max_length 32 in "),
        "{}",
        prep.stdout()
    );
    let tokens = cfg.parent().unwrap().join("tokens");
    let files: Vec<String> = std::fs::read_dir(&tokens)
        .unwrap()
        .flatten()
        .map(|e| {
            e.file_name()
                .to_string_lossy()
                .split('-')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(files.len(), 3, "train, dev (held out) and test: {files:?}");
    // The share of texts the truncation cuts, counted here with the tokenizer.
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cfg.parent().unwrap().join("data.json")).unwrap(),
    )
    .unwrap();
    let tok = tokenizers::Tokenizer::from_file(support::fixture("golden/tiny-bert/tokenizer.json"))
        .unwrap();
    // As it is in the file, the tokenizer may pad or cut: it must do neither here.
    let mut tok = tok;
    tok.with_padding(None);
    tok.with_truncation(None).unwrap();
    let train_rows = record["splits"][0]["examples"].as_u64().unwrap() as usize;
    let texts: Vec<String> = std::fs::read_to_string(tmp.path().join("data/train.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let held: std::collections::HashSet<String> =
        std::fs::read_to_string(cfg.parent().unwrap().join("heldout-dev.txt"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
    let ids: Vec<String> = std::fs::read_to_string(tmp.path().join("data/train.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let cut = texts
        .iter()
        .zip(&ids)
        .filter(|(_, id)| !held.contains(*id))
        .filter(|(t, _)| tok.encode(t.as_str(), true).unwrap().get_ids().len() > 32)
        .count();
    assert!(cut > 0);
    let want = format!(
        "{cut} of {train_rows} train texts ({:.1}%) are longer than max_length 32 tokens and are cut",
        cut as f64 * 100.0 / train_rows as f64
    );
    assert!(
        record["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == &serde_json::json!(want)),
        "{want}\n{}",
        record["warnings"]
    );
    let cached = train_task(&cfg).success();
    assert!(
        cached
            .stdout()
            .contains("token ids from the job's token cache (216 / 24 / 60 texts"),
        "{}",
        cached.stdout()
    );
    let with_cache = metrics(tmp.path());
    // Without the cache the task tokenizes, and trains the same, bit for bit.
    std::fs::remove_dir_all(&tokens).unwrap();
    std::fs::remove_dir_all(tmp.path().join("models")).unwrap();
    let plain = train_task(&cfg).success();
    assert!(
        plain.stdout().contains("tokenized 216 / 24 / 60 texts in "),
        "{}",
        plain.stdout()
    );
    let without = metrics(tmp.path());
    assert_eq!(with_cache["loss_log"], without["loss_log"]);
    assert_eq!(with_cache["test"], without["test"]);
    // A train file changed after the check is refused before any training.
    let train = tmp.path().join("data/train.jsonl");
    let text = std::fs::read_to_string(&train).unwrap();
    std::fs::write(
        &train,
        text.replacen("\"text\":\"", "\"text\":\"edited ", 1),
    )
    .unwrap();
    assert_ne!(
        std::fs::read_to_string(&train).unwrap(),
        text,
        "the edit took"
    );
    std::fs::remove_dir_all(tmp.path().join("models")).unwrap();
    let refused = train_task(&cfg).code(3);
    assert!(
        refused.stderr().contains(&format!(
            "{}: changed since the data was checked (sha256 ",
            train.display()
        )),
        "{}",
        refused.stderr()
    );
}

/// The tutorial form with the data flags trains a single-label model on a
/// CSV; `predict` gives each text its one most probable class and `evaluate`
/// reads the same CSV with the same flags (accuracy and a confusion matrix),
/// refusing a file whose labels the model does not have.
#[test]
fn single_label_from_the_command_line_predicts_and_evaluates() {
    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("go");
    std::fs::create_dir_all(&go).unwrap();
    if support::small_goemotions(&go, 300, 80, 80).is_none() {
        return;
    }
    let spec = owndata::write_single_label(&go, &tmp.path().join("single"));
    let (train, dev, test) = (
        spec.train.clone().unwrap(),
        spec.dev.clone().unwrap(),
        spec.test.clone().unwrap(),
    );
    let model = tmp.path().join("model");
    let tiny = support::fixture("golden/tiny-bert");
    Hecjob::new()
        .args(["train", &train, &dev, &test, "-"])
        .arg(&model)
        .args([
            "--label-column",
            "label",
            "--data-task",
            "single_label",
            "--epochs",
            "1",
        ])
        .args([
            "--max-steps",
            "4",
            "--max-length",
            "32",
            "--transformer-model",
        ])
        .arg(&tiny)
        .run()
        .success();
    let p = Hecjob::new()
        .arg("predict")
        .arg(&model)
        .args(["so happy for you", "this is awful", "--json"])
        .run()
        .success();
    let p: serde_json::Value = serde_json::from_str(&p.stdout()).unwrap();
    for row in p.as_array().unwrap() {
        assert_eq!(row["labels"].as_array().unwrap().len(), 1, "{row}");
    }
    let e = Hecjob::new()
        .arg("evaluate")
        .arg(&model)
        .args([&test, "--label-column", "label", "--json"])
        .run()
        .success();
    let e: serde_json::Value = serde_json::from_str(&e.stdout()).unwrap();
    let rows = std::fs::read_to_string(&test).unwrap().lines().count() as u64 - 1;
    assert_eq!(e["examples"], rows);
    assert!(e["accuracy"].as_f64().is_some(), "{e}");
    let confusion: u64 = e["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|c| c.as_u64().unwrap()))
        .sum();
    assert_eq!(confusion, rows);
    let other = tmp.path().join("other.csv");
    std::fs::write(&other, "text,label\nhello,curiosity\n").unwrap();
    let refused = Hecjob::new()
        .arg("evaluate")
        .arg(&model)
        .arg(&other)
        .args(["--label-column", "label"])
        .run()
        .code(3);
    assert!(
        refused.stderr().contains(&format!(
            "{}: the label \"curiosity\" is not one of the model's 7 labels (",
            other.display()
        )),
        "{}",
        refused.stderr()
    );
}

/// A sweep over encoders: the download job's `prepare-data` writes the token
/// cache for each model's tokenizer (once for two models that share one), and
/// each task trains its own model from the cache of its own tokenizer.
#[test]
fn each_swept_model_trains_from_its_own_tokenizers_cache() {
    let _one = support::one_training_run_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let Some(cfg) = job(tmp.path()) else {
        return;
    };
    let models: Vec<String> = ["tiny-bert", "tiny-roberta", "tiny-electra"]
        .iter()
        .map(|m| {
            support::fixture(&format!("golden/{m}"))
                .display()
                .to_string()
        })
        .collect();
    let mut c = config::read(&cfg);
    let list = models.iter().map(|m| m.as_str().into()).collect();
    c.sweep
        .insert("model.name".into(), serde_yaml_ng::Value::Sequence(list));
    config::write(&c, &cfg);
    let prep = Hecjob::new().arg("prepare-data").arg(&cfg).run().success();
    let out = prep.stdout();
    for m in &models[..2] {
        assert!(
            out.contains(&format!("token cache: {m}, max_length 32 in ")),
            "{out}"
        );
    }
    // tiny-electra has tiny-bert's tokenizer.json: one key for both.
    assert!(
        out.contains(&format!(
            "token cache: {}, max_length 32: the same tokenizer as a model above",
            models[2]
        )),
        "{out}"
    );
    let tokens = cfg.parent().unwrap().join("tokens");
    assert_eq!(
        std::fs::read_dir(&tokens).unwrap().count(),
        6,
        "2 keys × 3 splits"
    );
    for (task, model) in [(2, &models[1]), (3, &models[2])] {
        let run = Hecjob::new()
            .args([
                "train",
                "--config",
                "config.yaml",
                "--task",
                &task.to_string(),
            ])
            .current_dir(cfg.parent().unwrap())
            .run()
            .success();
        assert!(
            run.stdout()
                .contains("token ids from the job's token cache ("),
            "task {task}: {}",
            run.stdout()
        );
        let p = tmp
            .path()
            .join(format!("models/go-emotions/own/task-{task}/metrics.json"));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(m["model"], serde_json::json!(model), "task {task}");
        assert_eq!(
            m["swept"]["model.name"],
            serde_json::json!(model),
            "task {task}"
        );
    }
}
