//! Sweep expansion: the cartesian product of `sweep:` lists, first key
//! outermost, values in the order written, task ids 1..=N as `$SGE_TASK_ID`
//! numbers them, and each task's `train` carrying its swept values.

use hecjob::experiment::config::{self, load_str, LoadedConfig, Optimizer, Train};
use serde_yaml_ng::Value;
use std::path::Path;

fn load(yaml: &str) -> LoadedConfig {
    load_str(yaml, "sweep-test.yaml").unwrap_or_else(|e| panic!("config should load: {e}"))
}

/// `(id, [swept values as YAML text])` for every task.
fn swept(l: &LoadedConfig) -> Vec<(u32, Vec<String>)> {
    l.tasks
        .iter()
        .map(|t| {
            (
                t.id,
                t.swept
                    .values()
                    .map(config::sweep::show)
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

#[test]
fn shipped_sweep_is_2_encoders_by_3_learning_rates_in_order() {
    let l = config::load(Some(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/sweep.yaml"),
    ))
    .unwrap();
    assert_eq!(l.tasks.len(), 6);
    let got: Vec<(u32, &str, f64)> = l
        .tasks
        .iter()
        .map(|t| (t.id, t.model.name.as_str(), t.train.learning_rate))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "bert-base-uncased", 5e-5),
            (2, "bert-base-uncased", 3e-5),
            (3, "bert-base-uncased", 2e-5),
            (4, "roberta-base", 5e-5),
            (5, "roberta-base", 3e-5),
            (6, "roberta-base", 2e-5),
        ]
    );
    // The swept map has the keys in the order written, with the task's values.
    for t in &l.tasks {
        let keys: Vec<&str> = t.swept.keys().map(String::as_str).collect();
        assert_eq!(keys, ["model.name", "learning_rate"]);
        assert_eq!(t.swept["model.name"].as_str(), Some(t.model.name.as_str()));
        assert_eq!(
            t.swept["learning_rate"].as_f64(),
            Some(t.train.learning_rate)
        );
        // Unswept keys keep the config's values.
        assert_eq!(t.train.epochs, 4);
        assert_eq!(t.train.max_length, 50);
        assert_eq!(t.train.seed, 42);
        assert_eq!(t.model.revision, None);
    }
}

/// The example: `model.name` is one more axis, and each task fine-tunes
/// its own encoder (in `tasks.json` through its swept values).
#[test]
fn model_name_is_an_axis_like_any_train_key() {
    let l = load(
        "experiment: {name: s}
\
         model: {name: ./unused-when-swept}
\
         sweep:
  model.name: [bert-base-uncased, roberta-base, microsoft/deberta-v3-base, answerdotai/ModernBERT-base]
  learning_rate: [3.0e-5, 2.0e-5]
",
    );
    assert_eq!(l.tasks.len(), 8);
    let got: Vec<(u32, &str, f64)> = l
        .tasks
        .iter()
        .map(|t| (t.id, t.model.name.as_str(), t.train.learning_rate))
        .collect();
    assert_eq!(
        got,
        [
            (1, "bert-base-uncased", 3e-5),
            (2, "bert-base-uncased", 2e-5),
            (3, "roberta-base", 3e-5),
            (4, "roberta-base", 2e-5),
            (5, "microsoft/deberta-v3-base", 3e-5),
            (6, "microsoft/deberta-v3-base", 2e-5),
            (7, "answerdotai/ModernBERT-base", 3e-5),
            (8, "answerdotai/ModernBERT-base", 2e-5),
        ]
    );
    assert_eq!(
        l.tasks[4].swept_json()["model.name"],
        serde_json::json!("microsoft/deberta-v3-base")
    );
    // Every model once, in task order; `model:` itself is not among them.
    let models: Vec<&str> = l.models().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        models,
        [
            "bert-base-uncased",
            "roberta-base",
            "microsoft/deberta-v3-base",
            "answerdotai/ModernBERT-base"
        ]
    );
    // The lead's lookup by $SGE_TASK_ID gives the task's model.
    assert_eq!(l.task(6).unwrap().model.name, "microsoft/deberta-v3-base");
    // Without a model axis every task has `model:`.
    let one = load("experiment: {name: s}\nmodel: {name: roberta-base}\nsweep:\n  seed: [1, 2]\n");
    assert!(one.tasks.iter().all(|t| t.model == one.config.model));
    assert_eq!(one.models(), [&one.config.model]);
}

#[test]
fn three_keys_first_outermost_values_as_written() {
    let l = load(
        "experiment: {name: s}\n\
         train: {epochs: 2}\n\
         sweep:\n  seed: [3, 1, 2]\n  optimizer: [adamw, adam]\n  dropout: [0.2, 0.0]\n",
    );
    assert_eq!(l.tasks.len(), 12);
    let mut expected = Vec::new();
    let mut id = 1;
    for seed in ["3", "1", "2"] {
        for opt in ["adamw", "adam"] {
            for d in ["0.2", "0.0"] {
                expected.push((id, vec![seed.to_string(), opt.to_string(), d.to_string()]));
                id += 1;
            }
        }
    }
    assert_eq!(swept(&l), expected);
    // The typed values reached each task's Train.
    let t7 = &l.tasks[6];
    assert_eq!(
        (t7.id, t7.train.seed, t7.train.optimizer, t7.train.dropout),
        (7, 1, Optimizer::Adam, 0.2)
    );
    let t9 = &l.tasks[8];
    assert_eq!(
        (t9.id, t9.train.seed, t9.train.optimizer, t9.train.dropout),
        (9, 2, Optimizer::Adamw, 0.2)
    );
    let t4 = &l.tasks[3];
    assert_eq!(
        (t4.train.seed, t4.train.optimizer, t4.train.dropout),
        (3, Optimizer::Adam, 0.0)
    );
    assert!(l.tasks.iter().all(|t| t.train.epochs == 2));
}

/// `Train::default()` as a loaded config has it: checkpoint_every derived
/// from the train job's default h_rt (02:00:00 → a tenth, 12m).
fn derived_train() -> Train {
    Train {
        checkpoint_every: Some("12m".parse().unwrap()),
        ..Train::default()
    }
}

#[test]
fn ids_are_one_to_n_and_tasks_differ_only_in_swept_keys() {
    let l =
        load("experiment: {name: s}\nsweep:\n  batch_size: [8, 16, 32, 64]\n  epochs: [1, 2, 3]\n");
    let ids: Vec<u32> = l.tasks.iter().map(|t| t.id).collect();
    assert_eq!(ids, (1..=12).collect::<Vec<_>>());
    for t in &l.tasks {
        let expected = Train {
            batch_size: [8, 16, 32, 64][(t.id as usize - 1) / 3],
            epochs: [1, 2, 3][(t.id as usize - 1) % 3],
            ..derived_train()
        };
        assert_eq!(t.train, expected, "task {}", t.id);
    }
    // The lead's lookup by $SGE_TASK_ID.
    assert_eq!(l.task(12).unwrap().train.batch_size, 64);
    let err = l.task(13).unwrap_err().to_string();
    assert_eq!(
        err,
        "task 13 does not exist: sweep-test.yaml has tasks 1..=12"
    );
}

#[test]
fn single_key_sweep() {
    let l = load("experiment: {name: s}\ntrain: {learning_rate: 1.0e-4}\nsweep:\n  threshold: [0.1, 0.3, 0.5]\n");
    assert_eq!(
        swept(&l),
        vec![
            (1, vec!["0.1".to_string()]),
            (2, vec!["0.3".to_string()]),
            (3, vec!["0.5".to_string()]),
        ]
    );
    let th: Vec<f64> = l.tasks.iter().map(|t| t.train.threshold).collect();
    assert_eq!(th, [0.1, 0.3, 0.5]);
    assert!(l.tasks.iter().all(|t| t.train.learning_rate == 1e-4));
}

#[test]
fn no_sweep_is_one_task_with_the_config_train() {
    let l = load("experiment: {name: s}\ntrain: {batch_size: 24, seed: 7}\n");
    assert_eq!(l.tasks.len(), 1);
    let t = &l.tasks[0];
    assert_eq!(t.id, 1);
    assert!(t.swept.is_empty());
    assert_eq!(t.train, l.config.train);
    assert_eq!((t.train.batch_size, t.train.seed), (24, 7));
    // An explicitly empty sweep mapping is the same as none.
    let l = load("experiment: {name: s}\nsweep: {}\n");
    assert_eq!(l.tasks.len(), 1);
    assert_eq!(l.tasks[0].train, derived_train());
}

#[test]
fn single_value_lists_multiply_by_one() {
    let l =
        load("experiment: {name: s}\nsweep:\n  seed: [1]\n  batch_size: [8, 16]\n  epochs: [3]\n");
    assert_eq!(
        swept(&l),
        vec![
            (1, vec!["1".into(), "8".into(), "3".into()]),
            (2, vec!["1".into(), "16".into(), "3".into()]),
        ]
    );
}

#[test]
fn expand_directly_matches_load() {
    // The public expand() on its own, without a file: same order as load_str.
    let mut sweep = indexmap::IndexMap::new();
    sweep.insert(
        "epochs".to_string(),
        vec![Value::from(1u64), Value::from(2u64)],
    );
    sweep.insert(
        "log_every".to_string(),
        vec![Value::from(10u64), Value::from(20u64), Value::from(30u64)],
    );
    let mut problems = config::validate::Problems::default();
    let tasks = config::sweep::expand(
        &Train::default(),
        &config::Model::default(),
        &sweep,
        &mut problems,
    );
    assert!(problems.0.is_empty());
    let got: Vec<(u32, u32, u32)> = tasks
        .iter()
        .map(|t| (t.id, t.train.epochs, t.train.log_every))
        .collect();
    assert_eq!(
        got,
        [
            (1, 1, 10),
            (2, 1, 20),
            (3, 1, 30),
            (4, 2, 10),
            (5, 2, 20),
            (6, 2, 30)
        ]
    );
}

#[test]
fn too_many_tasks_is_refused() {
    // 101 × 100 = 10,100 > MAX_TASKS.
    let a: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    let b: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    let yaml = format!(
        "experiment: {{name: s}}\nsweep:\n  seed: [{}]\n  log_every: [{}]\n",
        a.join(", "),
        b.join(", ")
    );
    let err = load_str(&yaml, "big.yaml").unwrap_err().to_string();
    assert_eq!(
        err,
        "big.yaml: 1 problem in the config:\n  big.yaml:2: sweep: 10100 tasks is more than 10000; is a list too long?"
    );
    // Exactly at the cap (100 × 100 = MAX_TASKS) is fine.
    let b: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    let a: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    let yaml = format!(
        "experiment: {{name: s}}\nsweep:\n  seed: [{}]\n  log_every: [{}]\n",
        a.join(", "),
        b.join(", ")
    );
    assert_eq!(load_str(&yaml, "ok.yaml").unwrap().tasks.len(), 10_000);
}
