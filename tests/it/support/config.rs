//! Experiment configs for tests, built and edited as the crate's own types
//! (`hecjob::experiment::config::Config`) and written with serde_yaml_ng, so
//! an edit names a field the compiler checks instead of a piece of YAML text
//! that may drift.
//!
//! Tests about the YAML itself (bad syntax, comments, unknown keys, messages
//! that quote a line) keep literal text; where such text must change, [`edit`]
//! panics when the text to change is absent instead of silently doing
//! nothing, as `str::replace` would.

use hecjob::experiment::config::{
    Cluster, Config, Data, Experiment, Install, Model, Paths, SchedulerKind, Train,
};
use std::path::Path;

/// A config named `name`, every other key at its default.
pub fn named(name: &str) -> Config {
    Config {
        experiment: Experiment {
            name: name.into(),
            description: None,
        },
        cluster: Cluster::default(),
        install: Install::default(),
        paths: Paths::default(),
        data: Data::default(),
        model: Model::default(),
        train: Train::default(),
        sweep: Default::default(),
        predict: None,
    }
}

/// The config as YAML text, as `hecjob` reads it.
pub fn yaml(config: &Config) -> String {
    serde_yaml_ng::to_string(config).unwrap()
}

/// YAML text as the typed config, to edit and write back with [`yaml`] (no
/// defaults filled in beyond serde's, no validation: `config::load_str` does
/// those when hecjob reads the result).
#[track_caller]
pub fn parse(text: &str) -> Config {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("not a config: {e}\n{text}"))
}

/// The config file at `path`, typed.
#[track_caller]
pub fn read(path: &Path) -> Config {
    parse(&std::fs::read_to_string(path).unwrap())
}

/// Write `config` to `path` as YAML.
pub fn write(config: &Config, path: &Path) {
    std::fs::write(path, yaml(config)).unwrap();
}

/// `text` with every `from` replaced by `to`; panics when `text` has no
/// `from` (an edit that would silently do nothing).
#[track_caller]
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "edit: the text has no {from:?} to replace with {to:?}:\n{text}"
    );
    text.replace(from, to)
}

#[test]
fn a_typed_config_written_as_yaml_loads_back_unchanged() {
    let mut c = named("typed");
    c.train.epochs = 2;
    c.train.max_train_examples = Some(40);
    c.cluster.scheduler = SchedulerKind::Slurm;
    c.cluster.jobs.train.gpu_type = Some("nvidia_h200_nvl".into());
    c.sweep
        .insert("learning_rate".into(), vec![1e-5, 2e-5].into());
    let loaded = hecjob::experiment::config::load_str(&yaml(&c), "typed.yaml").unwrap();
    let mut expected = c.clone();
    let scheduler = expected.cluster.scheduler;
    expected.cluster.jobs.fill_defaults(scheduler);
    // Loading resolves the checkpoint interval from the train job's h_rt.
    let h_rt = expected.cluster.jobs.train.h_rt.as_ref().map(|t| t.secs());
    expected.train.checkpoint_every =
        Some(hecjob::experiment::config::every::CheckpointEvery::for_limit(h_rt));
    assert_eq!(loaded.config, expected);
    assert_eq!(loaded.tasks.len(), 2);
}

#[test]
fn an_edit_of_text_that_is_not_there_panics() {
    assert_eq!(edit("epochs: 1\n", "epochs: 1", "epochs: 2"), "epochs: 2\n");
    let err =
        std::panic::catch_unwind(|| edit("epochs: 1\n", "epochs: 3", "epochs: 2")).unwrap_err();
    assert_eq!(
        err.downcast_ref::<String>().unwrap(),
        "edit: the text has no \"epochs: 3\" to replace with \"epochs: 2\":\nepochs: 1\n"
    );
}
