//! Real tch training on the CPU: a tiny random BERT (tests/fixtures/golden/tiny-bert,
//! MiniLM's vocabulary) on a few hundred real GoEmotions examples.

use crate::support;
use crate::support::config::edit;
use crate::support::Hecjob;

use hecjob::experiment::config::{DeviceChoice, Train};
use hecjob::worker::model::saved::LoadedModel;
use hecjob::worker::train::trainer::{self, DataFiles, RunLimits, RunSpec};
use std::path::Path;
use tch::{Device, Tensor};

/// One in-process run at a time ([`support::one_training_run_at_a_time`]).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    support::one_training_run_at_a_time()
}

/// A small copy of the data: 320 train, 120 dev, 120 test lines.
fn small_data(dir: &Path) -> Option<DataFiles> {
    support::small_goemotions(dir, 320, 120, 120)?;
    Some(DataFiles::in_dir(dir))
}

fn spec(data: &DataFiles, save: &Path, epochs: u32) -> RunSpec {
    RunSpec {
        data: data.clone(),
        save_dir: save.to_path_buf(),
        model: support::fixture("golden/tiny-bert").display().to_string(),
        revision: None,
        params: Train {
            learning_rate: 3e-3,
            batch_size: 16,
            epochs,
            max_length: 32,
            warmup_ratio: 0.0,
            device: DeviceChoice::Cpu,
            log_every: 5,
            ..Train::default()
        },
        resume: true,
        scheduler_restart: false,
        experiment: None,
        task: None,
        swept: Default::default(),
        limits: RunLimits::full(),
        print_table: None,
        early_stop: None,
    }
}

fn weights(dir: &Path) -> Vec<(String, Tensor)> {
    let mut v = Tensor::read_safetensors(dir.join("model.safetensors")).unwrap();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn loss_falls_and_the_saved_model_reloads_exactly() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    let m = trainer::run(&spec(&data, &save, 3)).unwrap();
    assert_eq!(m.status, hecjob::jobdir::RunStatus::Finished);
    assert_eq!(m.epochs.len(), 3);
    let first = m.epochs[0].train_loss;
    let last = m.epochs[2].train_loss;
    assert!(last < first * 0.8, "loss did not fall: {first} → {last}");
    assert!(
        m.loss_log.len() >= 3 * 4,
        "loss logged every 5 batches: {}",
        m.loss_log.len()
    );
    let test = m.test.as_ref().expect("test evaluation");
    assert_eq!(test.per_label.len(), 28);
    assert_eq!(test.examples, 120);
    // Reloading the saved model gives the same test evaluation, number for number.
    let again = trainer::evaluate_saved(
        &save,
        data.sources.test.as_ref().unwrap(),
        None,
        Device::Cpu,
    )
    .unwrap();
    assert_eq!(&again, test);
    // And a second reload gives bit-identical logits.
    let a = LoadedModel::trained(&save, Device::Cpu).unwrap();
    let b = LoadedModel::trained(&save, Device::Cpu).unwrap();
    let ids = Tensor::from_slice(&[101i64, 2023, 2003, 2307, 102]).view([1, 5]);
    let mask = ids.ones_like();
    let la = tch::no_grad(|| a.model.forward_t(&ids, &mask, false));
    let lb = tch::no_grad(|| b.model.forward_t(&ids, &mask, false));
    assert!(la.equal(&lb));
    for f in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "labels.txt",
        "hecjob.json",
        "metrics.json",
    ] {
        assert!(save.join(f).is_file(), "{f} missing");
    }
    assert!(
        !save.join("checkpoint").exists(),
        "checkpoint is removed after a finished run"
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["id2label"]["27"], "neutral");
}

#[test]
fn tiny_deberta_v3_fine_tunes_and_reloads_with_identical_logits() {
    // The same worker path on DeBERTa-v3's disentangled attention: the loss
    // falls, and the saved model (DebertaV2ForSequenceClassification names)
    // reloads to the same test evaluation and the same logits.
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    let mut spec = spec(&data, &save, 2);
    spec.model = support::fixture("golden/tiny-deberta-v3")
        .display()
        .to_string();
    let m = trainer::run(&spec).unwrap();
    assert_eq!(m.status, hecjob::jobdir::RunStatus::Finished);
    let (first, last) = (m.epochs[0].train_loss, m.epochs[1].train_loss);
    assert!(last < first, "loss did not fall: {first} → {last}");
    let test = m.test.as_ref().expect("test evaluation");
    let again = trainer::evaluate_saved(
        &save,
        data.sources.test.as_ref().unwrap(),
        None,
        Device::Cpu,
    )
    .unwrap();
    assert_eq!(&again, test);
    let a = LoadedModel::trained(&save, Device::Cpu).unwrap();
    let b = LoadedModel::trained(&save, Device::Cpu).unwrap();
    // [CLS] … [SEP] and a padded row: the 2-D mask and the buckets both matter.
    let ids = Tensor::from_slice(&[1i64, 40, 41, 42, 43, 2, 1, 50, 2, 0, 0, 0]).view([2, 6]);
    let mask = ids.ne(0).to_kind(tch::Kind::Int64);
    let la = tch::no_grad(|| a.model.forward_t(&ids, &mask, false));
    let lb = tch::no_grad(|| b.model.forward_t(&ids, &mask, false));
    assert!(la.equal(&lb));
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        cfg["architectures"],
        serde_json::json!(["DebertaV2ForSequenceClassification"])
    );
    assert_eq!(cfg["position_buckets"], 8);
}

#[test]
fn modernbert_fine_tunes_and_its_saved_model_reloads_exactly() {
    // tiny-modernbert (alternating global/local attention, window 8, inputs
    // up to 32 tokens, mean pooling) through the same worker as tiny-bert.
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    let mut spec = spec(&data, &save, 2);
    spec.model = support::fixture("golden/tiny-modernbert")
        .display()
        .to_string();
    let m = trainer::run(&spec).unwrap();
    assert_eq!(m.status, hecjob::jobdir::RunStatus::Finished);
    let (first, last) = (m.epochs[0].train_loss, m.epochs[1].train_loss);
    assert!(last < first, "loss did not fall: {first} → {last}");
    let test = m.test.as_ref().expect("test evaluation");
    let again = trainer::evaluate_saved(
        &save,
        data.sources.test.as_ref().unwrap(),
        None,
        Device::Cpu,
    )
    .unwrap();
    assert_eq!(&again, test);
    let a = LoadedModel::trained(&save, Device::Cpu).unwrap();
    let b = LoadedModel::trained(&save, Device::Cpu).unwrap();
    let ids = a
        .encoder
        .encode_all(&["The old librarian quietly watched the rainy afternoon, and then the tiny green frog finally found the blue bicycle."])
        .unwrap();
    let ids = Tensor::from_slice(&ids[0]).unsqueeze(0);
    assert!(ids.size()[1] > 16, "longer than the local window");
    let mask = ids.ones_like();
    let la = tch::no_grad(|| a.model.forward_t(&ids, &mask, false));
    let lb = tch::no_grad(|| b.model.forward_t(&ids, &mask, false));
    assert!(la.equal(&lb));
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        cfg["architectures"],
        serde_json::json!(["ModernBertForSequenceClassification"])
    );
    assert_eq!(cfg["model_type"], "modernbert");
    assert_eq!(cfg["local_attention"], 8);
    assert_eq!(cfg["id2label"]["27"], "neutral");
    // hf_round_trip.rs reads a trained ModernBERT back in transformers.
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let straight = tmp.path().join("straight");
    let a = trainer::run(&spec(&data, &straight, 2)).unwrap();

    let resumed = tmp.path().join("resumed");
    let mut s = spec(&data, &resumed, 2);
    // 320 examples / 16 = 20 steps per epoch: interrupt in the middle of epoch 2.
    s.limits.raise_signal_at_step = Some(27);
    let err = trainer::run(&s).unwrap_err();
    assert_eq!(err.exit_code(), 99, "{err}");
    assert!(err.to_string().contains("SIGUSR1"), "{err}");
    let partial: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(resumed.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(partial["status"], "interrupted");
    assert_eq!(
        partial["epochs"].as_array().unwrap().len(),
        1,
        "epoch 1 is kept"
    );
    assert!(resumed.join("checkpoint/latest").is_file());
    assert!(resumed.join("checkpoint/epoch-1/state.json").is_file());

    // A user's own `--resume` stopped again before it commits a new step (the
    // signal before its first one) is a plain stop (exit 99, resumable), not
    // "raise h_rt": no scheduler restarted it.
    s.limits.raise_signal_at_step = Some(27);
    let err = trainer::run(&s).unwrap_err();
    assert_eq!(err.exit_code(), 99, "{err}");
    assert!(err.to_string().contains("Run again with --resume"), "{err}");
    let stopped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(resumed.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(stopped["status"], "interrupted");
    assert!(resumed.join("checkpoint/epoch-1/state.json").is_file());

    // The scheduler's rerun (RESTARTED=1, SLURM_RESTART_COUNT>0) interrupted again
    // before committing any step must fail (exit 7), not ask for yet another requeue.
    s.scheduler_restart = true;
    let err = trainer::run(&s).unwrap_err();
    assert_eq!(err.exit_code(), 7, "{err}");
    assert!(err.to_string().contains("Raise h_rt"), "{err}");
    let failed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(resumed.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(failed["status"], "failed");

    s.limits.raise_signal_at_step = None;
    let b = trainer::run(&s).unwrap();
    assert_eq!(b.epochs.len(), 2);
    assert_eq!(
        a.epochs[1].train_loss, b.epochs[1].train_loss,
        "epoch 2 loss"
    );
    assert_eq!(a.test, b.test, "test evaluation");
    let (straight_w, resumed_w) = (weights(&straight), weights(&resumed));
    assert_eq!(straight_w.len(), resumed_w.len());
    for ((na, ta), (nb, tb)) in straight_w.iter().zip(resumed_w.iter()) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na} differs after resume");
    }
}

/// `hecjob train` on the tiny model as its own process, with the same
/// parameters as [`spec`], so that a SIGKILL at `kill_at`
/// (HECJOB_TEST_KILL_AT, `POINT:EPOCH`) takes that process, not the tests.
fn train_process(
    data: &DataFiles,
    save: &Path,
    epochs: u32,
    kill_at: Option<&str>,
) -> std::process::Output {
    let mut cmd = Hecjob::new().command();
    cmd.arg("train")
        .args([
            &data.sources.train,
            data.sources.dev.as_ref().unwrap(),
            data.sources.test.as_ref().unwrap(),
            data.sources.labels_file.as_ref().unwrap(),
        ])
        .arg(save)
        .arg("--transformer-model")
        .arg(support::fixture("golden/tiny-bert"))
        .args(["--learning-rate", "3e-3", "--batch-size", "16"])
        .args(["--epochs", &epochs.to_string(), "--max-length", "32"])
        .args(["--warmup-ratio", "0", "--log-every", "5", "--resume"])
        .env_remove("RESTARTED")
        .env_remove("SLURM_RESTART_COUNT");
    match kill_at {
        Some(k) => cmd.env("HECJOB_TEST_KILL_AT", k),
        None => cmd.env_remove("HECJOB_TEST_KILL_AT"),
    };
    cmd.output().unwrap()
}

#[test]
fn a_kill_between_the_best_save_and_the_commit_leaves_the_recorded_best_model() {
    use std::os::unix::process::ExitStatusExt;
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    // The tiny model's dev macro-F1 only falls after epoch 1, so each attempt
    // reads another dev set (dev is not a parameter of the checkpoint), to
    // stand in for scores a rerun on a GPU may give: the real one, then one
    // whose every gold label is `neutral` (the model's one prediction: F1
    // 1/28), then one whose every gold label is `grief` (F1 0).
    let real_dev = std::fs::read_to_string(data.sources.dev.as_ref().unwrap()).unwrap();
    let dev_labelled = |label: &str| -> String {
        real_dev
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                format!("{}\t{label}\t{}\n", f[0], f[2])
            })
            .collect()
    };
    let show = |out: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    // Attempt 1: epoch 1 is committed (the best so far), then SIGKILL.
    let out = train_process(&data, &save, 3, Some("committed:1"));
    assert_eq!(out.status.signal(), Some(9), "{}", show(&out));
    let epoch1 = weights(&save.join("checkpoint/epoch-1"));

    // Attempt 2: epoch 2 beats epoch 1 and is saved as the best model; SIGKILL
    // (h_rt, a node crash) before epoch 2's checkpoint is committed.
    std::fs::write(data.sources.dev.as_ref().unwrap(), dev_labelled("27")).unwrap();
    let out = train_process(&data, &save, 3, Some("best-saved:2"));
    assert_eq!(
        out.status.signal(),
        Some(9),
        "not killed at epoch 2's best save: {}",
        show(&out)
    );
    assert_eq!(
        std::fs::read_to_string(save.join("checkpoint/latest")).unwrap(),
        "epoch-1"
    );
    assert!(
        weights(&save)
            .iter()
            .zip(&epoch1)
            .any(|((_, a), (_, b))| !a.equal(b)),
        "the output folder holds epoch 2's weights"
    );

    // Attempt 3: the reruns of epochs 2 and 3 score below epoch 1.
    std::fs::write(data.sources.dev.as_ref().unwrap(), dev_labelled("16")).unwrap();
    let out = train_process(&data, &save, 3, None);
    assert!(out.status.success(), "{}", show(&out));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "finished");
    assert_eq!(m["best_epoch"], 1, "{}", m["epochs"]);
    // The best model is epoch 1's, tensor for tensor, and says so.
    let kept = weights(&save);
    assert_eq!(kept.len(), epoch1.len());
    for ((na, ta), (nb, tb)) in kept.iter().zip(epoch1.iter()) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na}: the best model is not epoch 1's");
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("hecjob.json")).unwrap()).unwrap();
    assert_eq!(meta["epoch"], 1);
    // And Table 4 in metrics.json is that model's.
    let again = trainer::evaluate_saved(
        &save,
        data.sources.test.as_ref().unwrap(),
        None,
        Device::Cpu,
    )
    .unwrap();
    // Through JSON text as metrics.json went: serde_json (without
    // float_roundtrip) may read a float back one ulp off, the same way for
    // the same text, and equal floats print the same text.
    let again: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&again).unwrap()).unwrap();
    assert_eq!(again, m["test"]);
}

#[test]
fn the_worker_s_totals_cover_every_attempt() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    let mut s = spec(&data, &save, 2);
    // Stopped 15 steps into epoch 2 (20 steps an epoch), as at s_rt.
    s.limits.raise_signal_at_step = Some(35);
    assert_eq!(trainer::run(&s).unwrap_err().exit_code(), 99);
    let first: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("metrics.json")).unwrap()).unwrap();
    let first_seconds = first["total_seconds"].as_f64().unwrap();
    // The checkpoint (the step one the signal committed) carries the
    // attempt's figures, its time after the commit included.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(save.join("checkpoint/step-35/state.json")).unwrap(),
    )
    .unwrap();
    let epoch2_before = state["in_epoch"]["seconds"].as_f64().unwrap();
    let totals = &state["totals"];
    assert_eq!(totals["attempts"], 1, "{state}");
    assert_eq!(totals["seconds"], first["total_seconds"]);
    assert_eq!(
        totals["monitor"]["peak_rss_bytes"],
        first["memory"]["peak_rss_bytes"]
    );

    s.limits.raise_signal_at_step = None;
    let m = trainer::run(&s).unwrap();
    // The resumed attempt trained the rest of epoch 2, after the first attempt's time.
    assert!(
        m.total_seconds >= first_seconds + (m.epochs[1].seconds - epoch2_before),
        "total {} s: not the first attempt's {first_seconds} s and the rest of epoch 2's {} s",
        m.total_seconds,
        m.epochs[1].seconds - epoch2_before
    );
    assert!(m.memory.peak_rss_bytes >= first["memory"]["peak_rss_bytes"].as_u64());
}

#[test]
fn cuda_without_a_gpu_is_a_clear_error() {
    if tch::Cuda::is_available() {
        eprintln!("SKIPPED: this machine has a GPU");
        return;
    }
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let data = DataFiles::in_dir(tmp.path());
    let mut s = spec(&data, tmp.path(), 1);
    s.params.device = DeviceChoice::Cuda;
    let err = trainer::run(&s).unwrap_err();
    assert_eq!(err.exit_code(), 7);
    assert!(err.to_string().contains("no usable GPU"), "{err}");
}

#[test]
fn a_nan_loss_stops_with_the_step_and_a_hint() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    // A checkpoint whose classifier bias is NaN: the very first loss is NaN.
    let model = tmp.path().join("nan-model");
    std::fs::create_dir_all(&model).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(support::fixture("golden/tiny-bert").join(f), model.join(f)).unwrap();
    }
    let tensors: Vec<(String, Tensor)> =
        Tensor::read_safetensors(support::fixture("golden/tiny-bert/model.safetensors"))
            .unwrap()
            .into_iter()
            .map(|(n, t)| {
                if n == "classifier.bias" {
                    (n, t.fill(f64::NAN))
                } else {
                    (n, t)
                }
            })
            .collect();
    Tensor::write_safetensors(&tensors, model.join("model.safetensors")).unwrap();
    let mut s = spec(&data, &tmp.path().join("run"), 1);
    s.model = model.display().to_string();
    let e = trainer::run(&s).unwrap_err();
    assert_eq!(e.exit_code(), 7, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("NaN by step 5"), "{msg}");
    assert!(msg.contains("smaller learning_rate"), "{msg}");
}

#[test]
fn a_task_refuses_a_config_re_rendered_after_it_was_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let loaded =
        hecjob::experiment::config::load(Some(&support::repo().join("configs/sweep.yaml")))
            .unwrap();
    let rendered = hecjob::experiment::render::render(&loaded, tmp.path(), None).unwrap();
    rendered.write().unwrap();
    let script = std::fs::read_to_string(tmp.path().join("train.com")).unwrap();
    let sha = script
        .split("--config-sha256 ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    let cfg = tmp.path().join("config.yaml");
    assert_eq!(
        hecjob::experiment::config::body_sha256(&std::fs::read_to_string(&cfg).unwrap()),
        sha
    );
    // Re-rendered with another learning rate while the tasks wait in the queue.
    let text = edit(
        &std::fs::read_to_string(&cfg).unwrap(),
        "0.00002",
        "0.00001",
    );
    std::fs::write(&cfg, text).unwrap();
    let out = Hecjob::new()
        .args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--task",
            "1",
            "--config-sha256",
            &sha,
        ])
        .run();
    out.code(2)
        .stderr_contains("changed since this job was rendered");
}

#[test]
fn a_checkpoint_from_other_parameters_is_not_resumed() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    let mut s = spec(&data, &save, 2);
    s.limits.raise_signal_at_step = Some(27);
    assert_eq!(trainer::run(&s).unwrap_err().exit_code(), 99);
    let first: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("metrics.json")).unwrap()).unwrap();
    let first_epoch_loss = first["epochs"][0]["train_loss"].as_f64().unwrap();

    // Resubmitted with another learning rate: epoch 1 is trained again, not taken over.
    s.limits.raise_signal_at_step = None;
    s.params.learning_rate = 1e-3;
    let m = trainer::run(&s).unwrap();
    assert_eq!(m.epochs.len(), 2);
    assert_eq!(m.params["learning_rate"], 1e-3);
    assert_ne!(
        m.epochs[0].train_loss, first_epoch_loss,
        "epoch 1 was retrained with the new rate"
    );
}

#[test]
fn a_second_run_into_a_held_directory_stops_at_once_and_leaves_it_alone() {
    // Issue 15: two runs into one directory (a task submitted twice) mixed
    // their results; run A printed run B's Table 4 as its own.
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    // Run B holds the directory (it is this process, alive) and has written.
    let held = hecjob::util::run_lock::OutputLock::acquire(&save).unwrap();
    std::fs::write(save.join("metrics.json"), "{\"run\": \"B\"}").unwrap();
    let e = trainer::run(&spec(&data, &save, 1)).unwrap_err();
    assert_eq!(e.exit_code(), 4, "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "output directory in use: {}: hecjob train on host ",
            save.display()
        )),
        "{e}"
    );
    assert!(e
        .to_string()
        .contains(&format!("(pid {})", std::process::id())));
    assert_eq!(
        std::fs::read_to_string(save.join("metrics.json")).unwrap(),
        "{\"run\": \"B\"}",
        "the refused run touched B's results"
    );
    assert!(!save.join("checkpoint").exists());
    // Released, the directory trains (and the lock is gone afterwards).
    drop(held);
    trainer::run(&spec(&data, &save, 1)).unwrap();
    assert!(!save.join(".hecjob-lock").exists());
}

#[test]
fn logging_flags_keep_a_checkpoint_and_damaged_checkpoints_are_refused() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    let mut s = spec(&data, &save, 2);
    // Stopped before epoch 2's first step: nothing new since epoch 1's
    // commit, so the latest checkpoint is epoch 1's.
    s.limits.raise_signal_at_step = Some(20);
    assert_eq!(trainer::run(&s).unwrap_err().exit_code(), 99);
    let first: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(save.join("metrics.json")).unwrap()).unwrap();
    let epoch1_loss = first["epochs"][0]["train_loss"].as_f64().unwrap();
    s.limits.raise_signal_at_step = None;
    let ckpt = save.join("checkpoint/epoch-1");

    // state.json with epochs_done out of range: refused, not resumed.
    let state_path = ckpt.join("state.json");
    let state = std::fs::read_to_string(&state_path).unwrap();
    let mut bad: serde_json::Value = serde_json::from_str(&state).unwrap();
    bad["epochs_done"] = 5.into();
    std::fs::write(&state_path, bad.to_string()).unwrap();
    let e = trainer::run(&s).unwrap_err();
    assert_eq!(e.exit_code(), 7, "{e}");
    assert!(
        e.to_string()
            .contains("epochs_done 5 does not fit the checkpoint (1 epoch record, 2 planned)"),
        "{e}"
    );
    // Put back as an older hecjob wrote it (no totals, no sums of its
    // files): it still resumes.
    let mut older: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert!(older.as_object_mut().unwrap().remove("totals").is_some());
    assert!(older.as_object_mut().unwrap().remove("sha256").is_some());
    std::fs::write(&state_path, older.to_string()).unwrap();

    // An optimizer file without tensors: refused, not resumed with fresh moments.
    let opt = ckpt.join("optimizer.safetensors");
    let saved = std::fs::read(&opt).unwrap();
    let mut empty = 2u64.to_le_bytes().to_vec();
    empty.extend_from_slice(b"{}");
    std::fs::write(&opt, empty).unwrap();
    let e = trainer::run(&s).unwrap_err();
    assert_eq!(e.exit_code(), 7, "{e}");
    assert!(
        e.to_string()
            .contains("optimizer state without exp_avg, exp_avg_sq, step"),
        "{e}"
    );
    std::fs::write(&opt, saved).unwrap();

    // Only --log-every changed: the checkpoint is resumed (epoch 1 not retrained).
    s.params.log_every = 7;
    let m = trainer::run(&s).unwrap();
    assert_eq!(m.epochs.len(), 2);
    assert_eq!(m.epochs[0].train_loss, epoch1_loss, "epoch 1 was retrained");
}

#[test]
fn a_checkpoint_file_changed_since_its_commit_is_refused_naming_it() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    let mut s = spec(&data, &save, 2);
    // Stopped before epoch 2's first step: the latest checkpoint is epoch 1's.
    s.limits.raise_signal_at_step = Some(20);
    assert_eq!(trainer::run(&s).unwrap_err().exit_code(), 99);
    s.limits.raise_signal_at_step = None;
    let ckpt = save.join("checkpoint/epoch-1");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("state.json")).unwrap()).unwrap();
    let recorded = |name: &str| state["sha256"][name].as_str().unwrap().to_string();
    // Each file of the checkpoint with one byte flipped near its end (in the
    // tensors, past the header): refused, naming the file and what to do.
    for name in [
        "model.safetensors",
        "optimizer.safetensors",
        "best.safetensors",
    ] {
        let path = ckpt.join(name);
        let good = std::fs::read(&path).unwrap();
        let mut bad = good.clone();
        let at = bad.len() - 3;
        bad[at] ^= 0x40;
        std::fs::write(&path, &bad).unwrap();
        let e = trainer::run(&s).unwrap_err();
        assert_eq!(e.exit_code(), 7, "{name}: {e}");
        let got = hecjob::util::digest::sha256_file(&path).unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: its sha256 is {got}, not {} as recorded when the checkpoint was written: \
                 the file was damaged or changed since. Delete {} to start the run over, or \
                 resume from an older checkpoint if you kept one.",
                path.display(),
                recorded(name),
                save.join("checkpoint").display()
            ),
            "{name}"
        );
        std::fs::write(&path, &good).unwrap();
    }
    // Put back whole, it resumes after epoch 1.
    let m = trainer::run(&s).unwrap();
    assert_eq!(m.epochs.len(), 2);
}

#[test]
fn an_empty_dev_or_test_split_is_an_error_not_f1_zero() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    for (split, role) in [
        ("dev", "dev picks the best epoch"),
        ("test", "test gives the final scores"),
    ] {
        let dir = tmp.path().join(format!("empty-{split}"));
        std::fs::create_dir(&dir).unwrap();
        for f in ["train.tsv", "dev.tsv", "test.tsv", "emotions.txt"] {
            std::fs::copy(tmp.path().join(f), dir.join(f)).unwrap();
        }
        std::fs::write(dir.join(format!("{split}.tsv")), "").unwrap();
        let files = DataFiles::in_dir(&dir);
        let e = trainer::run(&spec(&files, &dir.join("run"), 1)).unwrap_err();
        assert_eq!(e.exit_code(), 3, "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "{}: no examples; {role}, so it needs at least one (or pass --no-eval)",
                dir.join(format!("{split}.tsv")).display()
            )
        );
    }
    let _ = data;
}

#[test]
fn bf16_on_a_cpu_without_it_and_a_seed_past_i64_are_refused() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let mut s = spec(&data, &tmp.path().join("run"), 1);
    s.params.precision = hecjob::experiment::config::Precision::Bf16;
    // A CPU without native bf16 (Skylake's flags), whatever this one has.
    std::env::set_var("HECJOB_TEST_CPU_FLAGS", "fpu sse4_2 avx2 avx512f avx512bw");
    let e = trainer::run(&s).unwrap_err();
    std::env::remove_var("HECJOB_TEST_CPU_FLAGS");
    assert_eq!(e.exit_code(), 2, "{e}");
    assert_eq!(
        e.to_string(),
        "precision bf16 on the CPU needs native bf16, and this CPU has neither amx_bf16 nor avx512_bf16 \
         in /proc/cpuinfo's flags, so bf16 would be emulated (slower than fp32): use fp32 or auto on this CPU, \
         or --cuda / device: cuda"
    );
    // `seed as i64 + epoch` overflowed (a panic) for this seed.
    let d = tmp.path();
    let out = Hecjob::new()
        .args(["train"])
        .args(["train.tsv", "dev.tsv", "test.tsv", "emotions.txt", "out"].map(|f| d.join(f)))
        .args(["--seed", "9223372036854775807"])
        .run();
    out.code(2).stderr_eq(
        "error: --seed: must be at most 9007199254740991 (2^53 - 1), got 9223372036854775807\n",
    );
}

#[test]
fn flags_that_make_no_sense_are_refused_by_the_command_line() {
    // Issue 15: --threshold nan|2 chose every label or none, --top-k 0 showed
    // nothing, --max-steps 0 "finished" an untrained model; all exit 0.
    let run = |args: &[&str]| {
        let out = Hecjob::new().args(args).output();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (args, expected) in [
        (
            &["predict", "m", "text", "--threshold", "nan"][..],
            "error: invalid value 'nan' for '--threshold <THRESHOLD>': NaN is not a probability strictly between 0 and 1 (Table 4 uses 0.3)",
        ),
        (
            &["predict", "m", "--input", "a.txt", "--output", "o.jsonl", "--batch-size", "0"][..],
            "error: invalid value '0' for '--batch-size <N|auto>': expected `auto` or a whole number of rows, at least 1; got `0`",
        ),
        (
            &["evaluate", "m", "t.tsv", "--threshold", "2"][..],
            "error: invalid value '2' for '--threshold <THRESHOLD>': 2 is not a probability strictly between 0 and 1 (Table 4 uses 0.3)",
        ),
        (
            &["predict", "m", "text", "--top-k", "0"][..],
            "error: invalid value '0' for '--top-k <TOP_K>': must be at least 1",
        ),
        (
            &["train", "a", "b", "c", "d", "e", "--max-steps", "0"][..],
            "error: invalid value '0' for '--max-steps <MAX_STEPS>': must be at least 1",
        ),
    ] {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.starts_with(expected), "{args:?}: {err}");
    }
}

/// On a CPU with native bf16 (stood in for by its /proc/cpuinfo flags),
/// `--precision auto` trains in bf16 autocast with fp32 master weights and
/// says so; the saved model records it, and `evaluate` then scores as the
/// run did: the run's test macro-F1 exactly. On a CPU without bf16 it scores
/// in fp32 and says its numbers may differ.
#[test]
fn auto_trains_in_bf16_on_a_cpu_that_has_it_and_evaluate_scores_as_trained() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    const BF16_CPU: &str = "fpu avx2 avx512f avx512_bf16";
    let test_tsv = data.sources.test.clone().unwrap();
    let out = Hecjob::new()
        .env("HECJOB_TEST_CPU_FLAGS", BF16_CPU)
        .env_remove("NSLOTS")
        .env("SLURM_CPUS_PER_TASK", "1")
        .arg("train")
        .args([
            &data.sources.train,
            data.sources.dev.as_ref().unwrap(),
            &test_tsv,
            data.sources.labels_file.as_ref().unwrap(),
        ])
        .arg(tmp.path().join("run"))
        .arg("--transformer-model")
        .arg(support::fixture("golden/tiny-bert"))
        .args([
            "--device",
            "cpu",
            "--max-steps",
            "6",
            "--learning-rate",
            "3e-3",
        ])
        .args(["--epochs", "1", "--max-length", "32", "--batch-size", "16"])
        .run()
        .success();
    out.stdout_contains("hecjob train: 1 CPU thread (SLURM_CPUS_PER_TASK=1)\n")
        .stdout_contains("on Cpu (bf16 autocast on the CPU's avx512_bf16, fp32 master weights)");
    let run = tmp.path().join("run");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("hecjob.json")).unwrap()).unwrap();
    assert_eq!(meta["precision"], "bf16", "{meta}");
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let run_f1 = metrics["test"]["macro_avg"]["f1"].as_f64().unwrap();
    let evaluate = |flags: &str| {
        let out = Hecjob::new()
            .env("HECJOB_TEST_CPU_FLAGS", flags)
            .args(["evaluate", "--json"])
            .arg(&run)
            .arg(&test_tsv)
            .run()
            .success();
        let eval: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
        (eval["macro_avg"]["f1"].as_f64().unwrap(), out.stderr())
    };
    let (as_trained, quiet) = evaluate(BF16_CPU);
    assert_eq!(
        as_trained, run_f1,
        "evaluate in bf16 gives the run's test macro-F1"
    );
    assert!(!quiet.contains("trained in bf16"), "{quiet}");
    let (_, note) = evaluate("fpu avx2");
    assert!(
        note.contains(
            "hecjob: the model was trained in bf16, and this CPU has neither amx_bf16 nor \
             avx512_bf16 in /proc/cpuinfo's flags, so bf16 would be emulated (slower than fp32): \
             scoring in fp32, so the scores may differ a little from the run's"
        ),
        "{note}"
    );
}
