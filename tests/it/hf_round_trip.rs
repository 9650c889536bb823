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
use hecjob::worker::train::trainer::{self, DataFiles, RunLimits, RunSpec};
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
    let spec = RunSpec {
        data: data.clone(),
        save_dir: save.to_path_buf(),
        model: model.display().to_string(),
        revision: None,
        params: Train {
            learning_rate: 3e-3,
            batch_size: 16,
            epochs: 1,
            max_length: 32,
            warmup_ratio: 0.0,
            device: DeviceChoice::Cpu,
            log_every: 5,
            ..Train::default()
        },
        resume: false,
        scheduler_restart: false,
        experiment: None,
        task: None,
        swept: Default::default(),
        limits: RunLimits::full(),
        print_table: None,
        early_stop: None,
    };
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
