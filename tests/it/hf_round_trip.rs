//! Both ways with Hugging Face: a model hecjob trained, loaded by
//! `transformers` as a user would load it (`AutoTokenizer` and
//! `AutoModelForSequenceClassification` on the output directory, through
//! tests/golden/hf_probabilities.py), gives hecjob's probabilities on every
//! GoEmotions test text. Every family with a classifier fixture is trained and
//! checked, so a new family is covered once its fixture has its goldens.

use crate::support;

use hecjob::experiment::config::{DeviceChoice, Train};
use hecjob::worker::model::saved::LoadedModel;
use hecjob::worker::train::batches::predict_probs_for;
use hecjob::worker::train::trainer::{self, DataFiles};
use std::path::{Path, PathBuf};
use tch::Device;

const TOL: f64 = 1e-4;

/// Classifier fixtures (those with a training-step golden: a
/// `*ForSequenceClassification` checkpoint and its tokenizer).
fn families() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(support::fixture("golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("train_step.json").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "classifier fixtures: {dirs:?}");
    dirs
}

fn train(model: &Path, data: &DataFiles, save: &Path) {
    let params = Train {
        learning_rate: 3e-3,
        batch_size: 16,
        epochs: 1,
        max_length: 32,
        warmup_ratio: 0.0,
        device: DeviceChoice::Cpu,
        log_every: 5,
        ..Train::default()
    };
    let spec = support::run_spec(data, model, save, params);
    let m = trainer::run(&spec).unwrap();
    assert_eq!(m.status, hecjob::jobdir::RunStatus::Finished);
}

/// transformers' view of the saved directory (hf_probabilities.py's JSON).
fn transformers_view(model: &Path, texts: &[String], scratch: &Path) -> serde_json::Value {
    let texts_file = scratch.join("texts.json");
    let out = scratch.join("hf.json");
    std::fs::write(&texts_file, serde_json::to_string(texts).unwrap()).unwrap();
    let python = support::repo().join(".venv/bin/python");
    let status = std::process::Command::new(&python)
        .arg(support::repo().join("tests/golden/hf_probabilities.py"))
        .args([model, &texts_file, &out])
        .status()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup-libtorch.sh)", python.display()));
    assert!(
        status.success(),
        "hf_probabilities.py failed on {}",
        model.display()
    );
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// The model card as huggingface_hub's `ModelCard` read it: the Hub's
/// metadata and the test results of metrics.json.
fn check_card(name: &str, card: &serde_json::Value, save: &Path) {
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("metrics.json")).unwrap()).unwrap();
    let data = &card["data"];
    assert_eq!(
        data["pipeline_tag"], "text-classification",
        "{name}: {data}"
    );
    assert_eq!(data["library_name"], "transformers", "{name}");
    assert_eq!(
        data["datasets"],
        serde_json::json!(["google-research-datasets/go_emotions"])
    );
    // The base model here is a local directory: no base_model id, and the
    // card says the license must be added.
    assert!(data.get("base_model").is_none(), "{name}: {data}");
    assert!(card["text"].as_str().unwrap().contains("add `license:`"));
    let results = card["eval_results"].as_array().unwrap();
    let macro_f1 = results
        .iter()
        .find(|r| r["metric_name"].as_str().unwrap().starts_with("Macro F1"))
        .unwrap_or_else(|| panic!("{name}: no macro F1 in {results:?}"));
    assert_eq!(
        macro_f1["metric_value"], metrics["test"]["macro_avg"]["f1"],
        "{name}"
    );
    assert_eq!(
        macro_f1["dataset_type"],
        "google-research-datasets/go_emotions"
    );
    assert_eq!(macro_f1["dataset_split"], "test");
    assert_eq!(macro_f1["task_type"], "text-classification");
    // The per-label table has every label.
    let text = card["text"].as_str().unwrap();
    for label in metrics["labels"].as_array().unwrap() {
        let row = format!("| {} |", label.as_str().unwrap());
        assert!(text.contains(&row), "{name}: no row {row} in the card");
    }
}

#[test]
fn every_family_hecjob_trains_loads_in_transformers_with_the_same_probabilities() {
    let _one = support::one_training_run_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let Some(()) = support::small_goemotions(tmp.path(), 320, 120, 120) else {
        return;
    };
    let data = DataFiles::in_dir(tmp.path());
    let full = support::goemotions_dir().unwrap();
    let texts: Vec<String> = hecjob::data::tsv::read_split(&full.join("test.tsv"), 28)
        .unwrap()
        .into_iter()
        .map(|e| e.text)
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for fixture in families() {
        let name = fixture.file_name().unwrap().to_string_lossy().to_string();
        let save = tmp.path().join(&name);
        train(&fixture, &data, &save);

        let lm = LoadedModel::trained(&save, Device::Cpu).unwrap();
        let ids = lm.encoder.encode_all(&refs).unwrap();
        let ours = predict_probs_for(
            lm.task(),
            &lm.model,
            &ids,
            lm.config.pad_token_id,
            64,
            Device::Cpu,
        );
        let hf = transformers_view(&save, &texts, tmp.path());
        assert_eq!(
            hf["model_class"],
            lm.config.model_type.hf_class(),
            "{name}: {hf:?}"
        );
        assert_eq!(hf["problem_type"], "multi_label_classification", "{name}");
        assert_eq!(hf["labels"], serde_json::json!(lm.labels), "{name}");
        assert_eq!(hf["missing_keys"], serde_json::json!([]), "{name}");
        assert_eq!(hf["unexpected_keys"], serde_json::json!([]), "{name}");
        assert_eq!(hf["model_max_length"], 32, "{name}");
        check_card(&name, &hf["card"], &save);
        let theirs = hf["probabilities"].as_array().unwrap();
        assert_eq!(theirs.len(), ours.len(), "{name}");
        let mut worst = 0f64;
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            for (x, y) in a.iter().zip(b.as_array().unwrap()) {
                let d = (f64::from(*x) - y.as_f64().unwrap()).abs();
                assert!(
                    d <= TOL,
                    "{name}: test text {} ({:?}): probability {x} in hecjob, {y} in transformers",
                    i + 1,
                    texts[i]
                );
                worst = worst.max(d);
            }
        }
        eprintln!(
            "{name}: {} test texts, transformers within {worst:e} of hecjob",
            ours.len()
        );
    }
}

/// `predict` and `evaluate` take a Hub id as well as a directory: a published
/// GoEmotions classifier (here a transformers-saved RoBERTa classifier with
/// GoEmotions' labels as id2label) is read from the Hugging Face cache, and
/// scores exactly as its directory does.
#[test]
fn predict_and_evaluate_take_a_hub_id_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(()) = support::small_goemotions(tmp.path(), 10, 10, 60) else {
        return;
    };
    let emotions: Vec<String> = std::fs::read_to_string(tmp.path().join("emotions.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // The HF cache layout: models--ORG--NAME/{refs/main, snapshots/COMMIT/…}.
    let cache = tmp.path().join("hub");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let repo = cache.join("models--acme--goemotions-roberta");
    let snapshot = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    let src = support::fixture("golden/tiny-roberta-cls");
    for f in [
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ] {
        std::fs::copy(src.join(f), snapshot.join(f)).unwrap();
    }
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    config["id2label"] = emotions
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), serde_json::json!(l)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    config["label2id"] = emotions
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), serde_json::json!(i)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    std::fs::write(snapshot.join("config.json"), config.to_string()).unwrap();

    let hecjob = || {
        support::Hecjob::new()
            .env_remove("HF_HOME")
            .env_remove("HF_HUB_OFFLINE")
            .env("HF_HUB_CACHE", &cache)
    };
    let test = tmp.path().join("test.tsv");
    let by_id = hecjob()
        .args(["evaluate", "acme/goemotions-roberta"])
        .arg(&test)
        .arg("--json")
        .run()
        .success()
        .stdout();
    let by_dir = hecjob()
        .arg("evaluate")
        .arg(&snapshot)
        .arg(&test)
        .arg("--json")
        .run()
        .success()
        .stdout();
    let eval: serde_json::Value = serde_json::from_str(&by_id).unwrap();
    assert_eq!(eval["examples"], 60);
    assert_eq!(eval["per_label"][0]["label"], emotions[0]);
    // The source named in the output differs by nothing but the model.
    assert_eq!(by_id, by_dir);

    let predicted = hecjob()
        .args([
            "predict",
            "acme/goemotions-roberta",
            "I love it",
            "--top-k",
            "3",
            "--json",
        ])
        .run()
        .success()
        .stdout();
    let p: serde_json::Value = serde_json::from_str(&predicted).unwrap();
    let label = p[0]["labels"][0]["label"].as_str().unwrap();
    assert!(emotions.iter().any(|e| e == label), "{predicted}");

    // A Hub id not in the cache says how to get it.
    let missing = hecjob()
        .args(["predict", "acme/not-downloaded", "text"])
        .run();
    assert_ne!(missing.exit_code(), Some(0));
    assert!(
        missing
            .stderr()
            .contains("hecjob download-model acme/not-downloaded"),
        "{}",
        missing.stderr()
    );
}

/// A person's check of every family: one config sweeping `model.name` over the
/// tiny model of each family (local directories), run by `hecjob run --local`
/// through the rendered scripts (download checks each directory, prepare-data
/// tokenizes for each tokenizer, each task fine-tunes its own encoder on the
/// CPU), ending in a report that has every family's test scores.
#[test]
fn every_family_fine_tunes_through_run_local_and_reports() {
    let models: Vec<String> = families().iter().map(|d| d.display().to_string()).collect();
    let list = models
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = |storage: &Path, base: &str| {
        format!(
            r#"experiment:
  name: families
cluster:
  storage_root: {storage}
  setup:
    - export HF_ENDPOINT={base}
install:
  from: binary
  binary: {bin}
data:
  base_url: {base}/data
model:
  name: {first}
train:
  epochs: 1
  max_length: 32
  max_train_examples: 96
  warmup_ratio: 0.0
  learning_rate: 0.003
  device: cpu
  log_every: 2
sweep:
  model.name: [{list}]
"#,
            storage = storage.display(),
            bin = support::cmd::BIN,
            first = models[0],
        )
    };
    let Some(s) = support::pipeline::setup_with(config, |c| c) else {
        return;
    };
    let jobs = s.tmp.path().join("jobs");
    let run = support::Hecjob::new()
        .args(["run", "--local"])
        .arg(&s.cfg_path)
        .arg("--out")
        .arg(&jobs)
        .args(["--jobs", "2"])
        .output();
    assert!(
        run.status.success(),
        "run --local failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        support::pipeline::logs(&jobs)
    );
    let report = support::Hecjob::new()
        .args(["report", "--format", "json", "--no-plots", "--no-html"])
        .arg(&jobs)
        .run()
        .success();
    let report: serde_json::Value = serde_json::from_str(&report.stdout()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), models.len(), "{report:#}");
    let mut seen: Vec<String> = Vec::new();
    for row in rows {
        assert_eq!(row["status"], "finished", "{row:#}");
        assert!(row["test_f1"].as_f64().is_some(), "{row:#}");
        seen.push(row["swept"]["model.name"].as_str().unwrap().to_string());
    }
    seen.sort();
    let mut want = models.clone();
    want.sort();
    assert_eq!(seen, want);
}
