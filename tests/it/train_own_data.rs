//! Real tch training on the CPU on data laid out as the `data:` keys say:
//! single-label classes (softmax, argmax, accuracy and a confusion matrix),
//! `pos_weight: auto`, a dataset without a test split, and the data record
//! each run's metrics.json carries.

use crate::support;

use hecjob::data::load::{load, Sources};
use hecjob::data::spec::{DataSpec, Format, LabelMapSpec, PosWeight, Task};
use hecjob::experiment::config::{DeviceChoice, Train};
use hecjob::worker::train::trainer::{self, DataFiles, RunLimits, RunSpec};
use std::path::Path;

/// One in-process run at a time ([`support::one_training_run_at_a_time`]).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    support::one_training_run_at_a_time()
}

fn spec(data: DataFiles, model: &Path, save: &Path, params: Train) -> RunSpec {
    RunSpec {
        data,
        save_dir: save.to_path_buf(),
        model: model.display().to_string(),
        revision: None,
        params,
        resume: false,
        scheduler_restart: false,
        experiment: None,
        task: None,
        swept: Default::default(),
        limits: RunLimits::full(),
        print_table: None,
        early_stop: None,
    }
}

/// The tiny random BERT's parameters of train_cpu.rs.
fn tiny_params(epochs: u32) -> Train {
    Train {
        learning_rate: 3e-3,
        batch_size: 16,
        epochs,
        max_length: 32,
        warmup_ratio: 0.0,
        device: DeviceChoice::Cpu,
        log_every: 5,
        ..Train::default()
    }
}

fn metrics_json(save: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(save.join("metrics.json")).unwrap()).unwrap()
}

/// metrics.json's `data.files` names each file given with its sha256.
fn assert_files_named(m: &serde_json::Value, files: &[(&str, &Path)]) {
    let recorded = m["data"]["files"].as_array().expect("data.files");
    assert_eq!(recorded.len(), files.len(), "{recorded:?}");
    for (split, path) in files {
        let f = recorded
            .iter()
            .find(|f| f["split"] == *split)
            .unwrap_or_else(|| panic!("no {split} in {recorded:?}"));
        assert_eq!(f["path"], path.display().to_string());
        assert_eq!(
            f["sha256"],
            support::sha256(&std::fs::read(path).unwrap()),
            "{split}"
        );
    }
}

/// A CSV field, quoted.
fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `text,label` rows of the GoEmotions `split` whose Ekman group is one
/// label, the first `n` of them.
fn ekman_single_label_csv(
    loaded: &hecjob::data::load::Loaded,
    split: &str,
    n: usize,
    path: &Path,
) -> Vec<usize> {
    let ds = &loaded.dataset;
    let rows: Vec<_> = ds
        .split(split)
        .unwrap()
        .iter()
        .filter(|e| e.labels.len() == 1)
        .take(n)
        .collect();
    assert_eq!(rows.len(), n, "{split}: too few single-label rows");
    let mut text = String::from("text,label\n");
    for e in &rows {
        text.push_str(&format!(
            "{},{}\n",
            csv_field(&e.text),
            ds.labels[e.labels[0]]
        ));
    }
    std::fs::write(path, text).unwrap();
    rows.iter().map(|e| e.labels[0]).collect()
}

#[test]
fn a_single_label_run_beats_the_majority_class_and_records_accuracy_and_confusion() {
    let _one = serial();
    let (Some(goemotions), Some(minilm)) = (support::goemotions_dir(), support::minilm_dir())
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ekman = DataSpec {
        label_map: Some(LabelMapSpec::Ekman),
        ..DataSpec::default()
    };
    let loaded = load(&ekman, &Sources::goemotions(&goemotions)).unwrap();
    let labels = loaded.dataset.labels.clone();
    assert_eq!(labels.len(), 7, "{labels:?}");
    let (train, dev, test) = (
        tmp.path().join("train.csv"),
        tmp.path().join("dev.csv"),
        tmp.path().join("test.csv"),
    );
    ekman_single_label_csv(&loaded, "train", 3000, &train);
    let dev_gold = ekman_single_label_csv(&loaded, "dev", 500, &dev);
    ekman_single_label_csv(&loaded, "test", 500, &test);
    let data = DataFiles {
        spec: DataSpec {
            train: Some(train.display().to_string()),
            dev: Some(dev.display().to_string()),
            test: Some(test.display().to_string()),
            label_column: Some("label".into()),
            labels: Some(labels.clone()),
            task: Task::SingleLabel,
            ..DataSpec::default()
        },
        sources: Sources {
            format: Format::Csv,
            train: train.clone(),
            dev: Some(dev.clone()),
            test: Some(test.clone()),
            labels_file: None,
        },
        record_dir: None,
    };
    let save = tmp.path().join("run");
    // One epoch of 120 steps of 16 texts (of 3000 / 16 = 188): about a
    // minute of MiniLM on two cores, and well above the majority class.
    let params = Train {
        learning_rate: 1e-4,
        batch_size: 16,
        epochs: 1,
        max_length: 32,
        warmup_ratio: 0.1,
        device: DeviceChoice::Cpu,
        log_every: 10,
        // Does not apply to single-label data: skipped with a note.
        tune_thresholds: true,
        ..Train::default()
    };
    let mut run = spec(data, &minilm, &save, params);
    run.limits.max_steps_per_epoch = Some(120);
    let m = trainer::run(&run).unwrap();
    assert_eq!(m.status, hecjob::jobdir::RunStatus::Finished);
    assert!(
        m.test_tuned.is_none(),
        "no tuned thresholds for single-label"
    );

    // The majority class's share of dev: what always guessing it scores.
    let mut counts = vec![0usize; labels.len()];
    for &g in &dev_gold {
        counts[g] += 1;
    }
    let majority = *counts.iter().max().unwrap() as f64 / dev_gold.len() as f64;
    let best = m.best_epoch.unwrap() as usize;
    let best_dev = m.epochs[best - 1].dev.as_ref().unwrap();
    let accuracy = best_dev.accuracy.expect("dev accuracy");
    assert!(
        accuracy > majority,
        "dev accuracy {accuracy:.4} does not beat the majority class's share {majority:.4}"
    );
    assert_eq!(best_dev.micro_avg.unwrap().f1, accuracy);

    let json = metrics_json(&save);
    for (split, n) in [("dev", 500u64), ("test", 500)] {
        let e = if split == "test" {
            &json["test"]
        } else {
            &json["epochs"][best - 1]["dev"]
        };
        assert!(e["accuracy"].is_f64(), "{split}: {e}");
        let confusion: Vec<Vec<u64>> = serde_json::from_value(e["confusion"].clone()).unwrap();
        assert_eq!(confusion.len(), labels.len(), "{split}");
        // Rows are the gold classes: each sums to its support, all to the split.
        let per_label = e["per_label"].as_array().unwrap();
        assert_eq!(per_label.len(), labels.len());
        for (row, score) in confusion.iter().zip(per_label) {
            assert_eq!(row.len(), labels.len());
            assert_eq!(row.iter().sum::<u64>(), score["support"].as_u64().unwrap());
            for k in ["precision", "recall", "f1"] {
                assert!(score[k].is_f64(), "{split}: {score}");
            }
        }
        let total: u64 = confusion.iter().flatten().sum();
        assert_eq!(total, n, "{split}");
        let diagonal: u64 = (0..labels.len()).map(|i| confusion[i][i]).sum();
        assert_eq!(diagonal as f64 / n as f64, e["accuracy"].as_f64().unwrap());
    }
    // The saved model reads its logits as single-label: softmax rows.
    let lm = hecjob::worker::model::saved::LoadedModel::trained(&save, tch::Device::Cpu).unwrap();
    assert_eq!(lm.task(), Task::SingleLabel);
    // And transformers reads it so too (it was saved as multi-label before 0.5).
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["problem_type"], "single_label_classification");
    let ids = lm.encoder.encode_all(&["I love this so much!"]).unwrap();
    let probs = hecjob::worker::train::batches::predict_probs_for(
        lm.task(),
        &lm.model,
        &ids,
        lm.config.pad_token_id,
        8,
        tch::Device::Cpu,
    );
    assert!(
        (probs[0].iter().sum::<f32>() - 1.0).abs() < 1e-5,
        "{probs:?}"
    );
    assert_eq!(json["data"]["task"], "single_label");
    assert_eq!(json["data"]["format"], "csv");
    assert_eq!(json["data"]["labels"], serde_json::json!(labels));
    assert_files_named(&json, &[("train", &train), ("dev", &dev), ("test", &test)]);

    // The report of this real run: report.html, opened in headless Chromium,
    // draws the test confusion matrix (one cell per gold × predicted class).
    let out = crate::support::Hecjob::new()
        .args(["report", "--no-accounting", "--no-plots", "--plots-dir"])
        .arg(save.parent().unwrap().join("report"))
        .arg(&save)
        .run()
        .success();
    let page = save.parent().unwrap().join("report/report.html");
    let html = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{e}\n{}", out.stdout()));
    let n = labels.len();
    assert_eq!(html.matches("<g class=\"cell\"").count(), n * n);
    if let Some(chromium) = crate::support::browser::chromium() {
        let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("single-label-report");
        let r =
            crate::support::browser::open_and_click(&chromium, &page, &shots, "labels-table", "F1");
        assert_eq!(r["errors"], serde_json::json!([]), "console errors: {r}");
        assert!(shots.join("section-confusion.png").is_file(), "{r}");
    }
}

/// The tiny model's run on `dir`'s small GoEmotions copy, 2 epochs of 20
/// steps, with `pos_weight`.
fn tiny_run(dir: &Path, save: &Path, pos_weight: PosWeight) -> hecjob::jobdir::metrics::RunMetrics {
    let mut data = DataFiles::in_dir(dir);
    data.spec.pos_weight = pos_weight;
    let model = support::fixture("golden/tiny-bert");
    trainer::run(&spec(data, &model, save, tiny_params(2))).unwrap()
}

#[test]
fn pos_weight_auto_changes_the_loss_and_none_repeats_itself() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    if support::small_goemotions(tmp.path(), 320, 120, 120).is_none() {
        return;
    }
    let none = tiny_run(tmp.path(), &tmp.path().join("none"), PosWeight::None);
    let again = tiny_run(tmp.path(), &tmp.path().join("again"), PosWeight::None);
    let auto = tiny_run(tmp.path(), &tmp.path().join("auto"), PosWeight::Auto);
    let losses = |m: &hecjob::jobdir::metrics::RunMetrics| -> Vec<f64> {
        m.loss_log.iter().map(|p| p.loss).collect()
    };
    assert_eq!(losses(&none), losses(&again), "same seed, same losses");
    assert_eq!(none.test, again.test);
    // The same first batch, weighted: rare labels' positives weigh up to 100
    // times more, so the first logged loss is larger.
    let (n0, a0) = (losses(&none)[0], losses(&auto)[0]);
    assert!(
        a0 > n0 * 1.5,
        "pos_weight auto: first loss {a0} vs {n0} without"
    );
    assert_ne!(none.test, auto.test);
}

#[test]
fn a_run_without_a_test_split_trains_on_dev_and_tests_nothing() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    if support::small_goemotions(tmp.path(), 360, 0, 0).is_none() {
        return;
    }
    let mut data = DataFiles::in_dir(tmp.path());
    // Only train.tsv: dev is held out of it, and there is no test split.
    data.sources.dev = None;
    data.sources.test = None;
    data.spec.dev_fraction = 0.2;
    let save = tmp.path().join("run");
    let model = support::fixture("golden/tiny-bert");
    let m = trainer::run(&spec(data.clone(), &model, &save, tiny_params(2))).unwrap();
    assert_eq!(m.status, hecjob::jobdir::RunStatus::Finished);
    assert!(m.best_epoch.is_some());
    assert!(
        m.epochs.iter().all(|e| e.dev.is_some()),
        "dev picks the best epoch"
    );
    let json = metrics_json(&save);
    assert_eq!(json["status"], "finished");
    assert!(json["test"].is_null(), "{}", json["test"]);
    assert!(json["test_tuned"].is_null());
    assert_eq!(json["data"]["has_test"], false);
    assert!(json["data"]["held_out"].is_object(), "{}", json["data"]);
    let splits: Vec<&str> = json["data"]["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["split"].as_str().unwrap())
        .collect();
    assert_eq!(splits, ["train", "dev"]);
    let examples = |i: usize| json["data"]["splits"][i]["examples"].as_u64().unwrap();
    assert_eq!(examples(0) + examples(1), 360, "dev is held out of train");
    assert_eq!(m.epochs[0].dev.as_ref().unwrap().examples, examples(1));
    assert_files_named(&json, &[("train", &data.sources.train)]);
    // The held-out ids are kept beside the run, one per line.
    let held = std::fs::read_to_string(save.join("heldout-dev.txt")).unwrap();
    assert_eq!(held.lines().count() as u64, examples(1));
}
