//! Step checkpoints (issue 21, items 1–2) on the real worker and the tiny
//! BERT (tests/fixtures/golden/tiny-bert, dropout on): a run stopped by
//! SIGUSR1 in the middle of epoch 2, or SIGKILLed after a time-based
//! checkpoint, resumes at that step and ends bit for bit as a run that was
//! never stopped; a restarted attempt that commits no step fails.

use crate::support;
use crate::support::Hecjob;

use hecjob::experiment::config::{DeviceChoice, Train};
use hecjob::worker::train::trainer::{self, DataFiles, RunSpec};
use std::path::Path;

/// 320 training examples in batches of 16: 20 steps an epoch, so global
/// step 27 is batch 7 of epoch 2.
fn small_data(dir: &Path) -> Option<DataFiles> {
    support::small_goemotions(dir, 320, 120, 120)?;
    Some(DataFiles::in_dir(dir))
}

fn spec(data: &DataFiles, save: &Path) -> RunSpec {
    let params = Train {
        learning_rate: 3e-3,
        batch_size: 16,
        epochs: 2,
        max_length: 32,
        warmup_ratio: 0.1,
        // Dropout on: on the pooled output here, and in every layer of
        // the tiny model (its config's hidden and attention dropout 0.1).
        dropout: 0.1,
        device: DeviceChoice::Cpu,
        log_every: 3,
        ..Train::default()
    };
    RunSpec {
        resume: true,
        ..support::run_spec(data, &support::fixture("golden/tiny-bert"), save, params)
    }
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn latest(save: &Path) -> String {
    std::fs::read_to_string(save.join("checkpoint/latest")).unwrap()
}

/// Every logged loss, the epochs' losses and the test scores of two runs are
/// the same numbers, and their saved weights the same bytes.
fn assert_same_run(a: &Path, b: &Path) {
    let (ma, mb) = (json(&a.join("metrics.json")), json(&b.join("metrics.json")));
    assert_eq!(mb["status"], "finished");
    assert!(
        ma["loss_log"].as_array().unwrap().len() >= 12,
        "{}",
        ma["loss_log"]
    );
    assert_eq!(
        ma["loss_log"], mb["loss_log"],
        "the loss at every logged step"
    );
    let losses = |m: &serde_json::Value| -> Vec<serde_json::Value> {
        m["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["train_loss"].clone())
            .collect()
    };
    assert_eq!(losses(&ma), losses(&mb), "each epoch's average loss");
    assert_eq!(ma["test"], mb["test"], "the test evaluation");
    let bytes = |d: &Path| std::fs::read(d.join("model.safetensors")).unwrap();
    assert!(
        bytes(a) == bytes(b),
        "model.safetensors differs between {} and {}",
        a.display(),
        b.display()
    );
}

#[test]
fn sigusr1_mid_epoch_commits_that_step_and_the_resume_equals_an_unstopped_run() {
    let _one = support::one_training_run_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let straight = tmp.path().join("straight");
    trainer::run(&spec(&data, &straight)).unwrap();

    let resumed = tmp.path().join("resumed");
    let mut s = spec(&data, &resumed);
    // Raised by the worker itself before global step 27 (after batch 7 of
    // epoch 2) and caught by the real handler, as s_rt's SIGUSR1 would be.
    s.limits.raise_signal_at_step = Some(27);
    let err = trainer::run(&s).unwrap_err();
    assert_eq!(err.exit_code(), 99, "{err}");
    assert!(
        err.to_string().contains("the checkpoint at step 27 is in"),
        "{err}"
    );
    assert_eq!(latest(&resumed), "step-27");
    let state = json(&resumed.join("checkpoint/step-27/state.json"));
    assert_eq!(state["global_step"], 27);
    assert_eq!(state["epochs_done"], 1);
    assert_eq!(state["in_epoch"]["epoch"], 2);
    assert_eq!(state["in_epoch"]["batches_done"], 7);
    // The last epoch's checkpoint is kept beside the step's.
    assert!(resumed.join("checkpoint/epoch-1/state.json").is_file());

    s.limits.raise_signal_at_step = None;
    let m = trainer::run(&s).unwrap();
    assert_eq!(m.epochs.len(), 2);
    assert_eq!(m.epochs[1].steps, 20, "epoch 2 counts all its batches");
    assert_same_run(&straight, &resumed);
}

#[test]
fn a_restarted_attempt_that_commits_no_new_step_fails_instead_of_looping() {
    let _one = support::one_training_run_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let save = tmp.path().join("run");
    let mut s = spec(&data, &save);
    s.limits.raise_signal_at_step = Some(27);
    assert_eq!(trainer::run(&s).unwrap_err().exit_code(), 99);

    // The scheduler's rerun, stopped again before its first step: nothing
    // was committed, so another requeue would only loop. It fails (exit 7).
    s.scheduler_restart = true;
    let err = trainer::run(&s).unwrap_err();
    assert_eq!(err.exit_code(), 7, "{err}");
    assert_eq!(
        err.to_string(),
        "SIGUSR1 (the scheduler's warning before the time limit: Grid Engine's \
         s_rt, Slurm's --signal) during epoch 2, and this restarted attempt committed no step \
         past step 27 where it resumed: loading the model and data took the time to the soft \
         limit. Raise h_rt (and s_rt) in cluster.jobs.train, or lower max_train_examples."
    );
    assert_eq!(json(&save.join("metrics.json"))["status"], "failed");
    assert_eq!(latest(&save), "step-27", "the checkpoint stands");

    // A rerun that trains one step before the signal has advanced: exit 99,
    // requeued again, from the step it committed.
    s.limits.raise_signal_at_step = Some(28);
    let err = trainer::run(&s).unwrap_err();
    assert_eq!(err.exit_code(), 99, "{err}");
    assert_eq!(latest(&save), "step-28");
    assert!(
        !save.join("checkpoint/step-27").exists(),
        "older step checkpoints are pruned"
    );
}

/// `hecjob train` (tutorial form) as its own process with [`spec`]'s
/// parameters, so a SIGKILL takes that process, not the tests.
fn train_process(
    data: &DataFiles,
    save: &Path,
    env: &[(&str, &str)],
    extra: &[&str],
) -> std::process::Output {
    Hecjob::new()
        .arg("train")
        .args([
            &data.sources.train,
            data.sources.dev.as_ref().unwrap(),
            data.sources.test.as_ref().unwrap(),
            data.sources.labels_file.as_ref().unwrap(),
        ])
        .arg(save)
        .arg("--transformer-model")
        .arg(support::fixture("golden/tiny-bert"))
        .args([
            "--learning-rate",
            "3e-3",
            "--batch-size",
            "16",
            "--epochs",
            "2",
        ])
        .args([
            "--max-length",
            "32",
            "--warmup-ratio",
            "0.1",
            "--dropout",
            "0.1",
        ])
        .args(["--log-every", "3", "--resume"])
        .args(extra)
        .env_remove("RESTARTED")
        .env_remove("SLURM_RESTART_COUNT")
        .env_remove("HECJOB_TEST_KILL_AT")
        .env_remove("HECJOB_TEST_STEP_DELAY_MS")
        .envs(env.iter().copied())
        .output()
}

fn show(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_sigkill_after_a_timed_checkpoint_loses_only_the_steps_after_it() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = small_data(tmp.path()) else {
        return;
    };
    let straight = tmp.path().join("straight");
    let out = train_process(&data, &straight, &[], &[]);
    assert!(out.status.success(), "{}", show(&out));

    // 100 ms a step and a checkpoint every second: about every tenth step
    // commits one; the first commit in epoch 2 is followed by a SIGKILL, as
    // a node failure or h_rt would strike, with no warning.
    let save = tmp.path().join("killed");
    let out = train_process(
        &data,
        &save,
        &[
            ("HECJOB_TEST_STEP_DELAY_MS", "100"),
            ("HECJOB_TEST_KILL_AT", "step-committed:2"),
        ],
        &["--checkpoint-every", "1s"],
    );
    assert_eq!(out.status.signal(), Some(9), "{}", show(&out));
    let name = latest(&save);
    let step: u64 = name
        .strip_prefix("step-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("latest names {name}"));
    assert!(
        (21..40).contains(&step),
        "step {step} is not inside epoch 2"
    );
    let log = show(&out);
    assert!(
        log.contains(&format!(
            "checkpoint at step {step} (epoch 2, batch {}/20, train.checkpoint_every passed): ",
            step - 20
        )),
        "the commit and its cost are logged:\n{log}"
    );

    let out = train_process(&data, &save, &[], &[]);
    assert!(out.status.success(), "{}", show(&out));
    let log = show(&out);
    assert!(
        log.contains(&format!(
            "{} at step {step} (epoch 2, after batch {})",
            save.join("checkpoint").join(&name).display(),
            step - 20
        )),
        "the resumed run says where it starts:\n{log}"
    );
    assert_same_run(&straight, &save);
}

#[test]
fn a_bad_checkpoint_interval_on_the_command_line_says_the_form() {
    let out = Hecjob::new()
        .args([
            "train",
            "a",
            "b",
            "c",
            "d",
            "e",
            "--checkpoint-every",
            "soon",
        ])
        .output();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "invalid value 'soon' for '--checkpoint-every <DURATION>': expected a duration like \
             30m, 90s or 2h (whole seconds, minutes or hours), or `off`, got `soon`"
        ),
        "{err}"
    );
}
