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
