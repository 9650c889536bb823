//! Live tests against a real Slurm (scripts/slurm-local.sh up; CI starts it), through
//! the hecjob binary: a failing install cancels the chain and status says why; a
//! refused submission rolls back what was queued; `check` relays Slurm's verdict; and
//! status still reports (and says so) when sacct is unavailable. Skipped, with a
//! message, without Slurm; failed instead under CI. No test assumes job ids or
//! asserts timings: deadlines only stop a stuck test from hanging.

use crate::support;
use crate::support::Hecjob;
use hecjob::experiment::config::{InstallFrom, JobResources, Notify, NotifyOn, SchedulerKind};

use std::path::{Path, PathBuf};
use std::process::Command;

use support::text;

/// A Slurm experiment whose install copies `binary`, with `train` as the train job's
/// resources (a YAML flow mapping), written to `dir/<name>.yaml`.
fn config(dir: &Path, name: &str, binary: &str, train: &str) -> PathBuf {
    let mut c = support::config::named(name);
    c.cluster.scheduler = SchedulerKind::Slurm;
    c.cluster.cpu_queue = "serial".into();
    c.cluster.gpu_queue = "gpu-short".into();
    c.cluster.storage_root = dir.join("storage").display().to_string();
    let small = JobResources {
        h_vmem: Some("200M".into()),
        h_rt: Some("00:05:00".into()),
        ..JobResources::default()
    };
    c.cluster.jobs.install = small.clone();
    c.cluster.jobs.download = small;
    c.cluster.jobs.train = serde_yaml_ng::from_str(train).unwrap();
    c.install.from = InstallFrom::Binary;
    c.install.binary = Some(binary.into());
    c.data.base_url = Some("http://127.0.0.1:9/nothing-listens-here".into());
    c.model.name = "acme/tiny-bert".into();
    let p = dir.join(format!("{name}.yaml"));
    support::config::write(&c, &p);
    p
}

fn squeue_state(id: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args(["-h", "-r", "-t", "all", "-j", id, "-o", "%T"])
        .env("SLURM_CONF", support::slurm_conf())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `hecjob status DIR --json` until nothing can move by itself any more.
fn wait_settled(jobs: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    support::wait_ended(jobs, || Hecjob::new().slurm().envs(env.iter().copied()), 1)
}

/// install fails (its binary does not exist) → Slurm cancels download and train
/// (`--kill-on-invalid-dep=yes`), none of them runs, and `status` names the failed
/// stage, its exit status and where its log is.
#[test]
fn a_failing_install_cancels_the_chain_and_status_says_why() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "fail-install",
        "/nonexistent/hecjob",
        "{ h_vmem: 200M, h_rt: \"00:05:00\", ncpus: 1, ngpus: 1 }",
    );
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .slurm()
        .args([
            "submit",
            cfg.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
        ])
        .output();
    assert!(out.status.success(), "{}", text(&out));
    let st = wait_settled(&jobs, &[]);
    let stage = |s: &str| {
        st.as_array()
            .unwrap()
            .iter()
            .find(|j| j["stage"] == s)
            .unwrap()
            .clone()
    };
    let install = &stage("install")["tasks"][0];
    assert_eq!(install["state"], "failed", "{st:#}");
    // The header's ERR trap: exit 100, the chain-stopping code.
    assert_eq!(install["last_run"]["exit_status"], 100, "{st:#}");
    for later in ["download", "train"] {
        for t in stage(later)["tasks"].as_array().unwrap() {
            assert_eq!(t["state"], "failed", "{later}: {st:#}");
            let failure = t["last_run"]["failure"].as_str().unwrap();
            assert!(failure.starts_with("CANCELLED"), "{later}: {failure}");
        }
    }
    // Nothing of download or train ever ran: no log of theirs exists.
    let logs: Vec<String> = std::fs::read_dir(jobs.join("logs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        logs.iter().any(|l| l.starts_with("fail-install-install.")),
        "{logs:?}"
    );
    assert!(
        !logs
            .iter()
            .any(|l| l.contains("-download.") || l.contains("-train.")),
        "{logs:?}"
    );
    let install_id = stage("install")["id"]["number"].as_u64().unwrap();
    let out = Hecjob::new()
        .slurm()
        .args(["status", jobs.to_str().unwrap()])
        .output();
    let table = text(&out);
    assert!(
        table.contains(&format!(
            "install (job {install_id}) failed: FAILED (exit status 100); so download and train never ran"
        )),
        "{table}"
    );
    assert!(table.contains("logs/fail-install-install.*"), "{table}");
}

/// The third sbatch is refused (no node has that GPU type): submit fails with Slurm's
/// words, exit 6, and scancels the two jobs it had queued.
#[test]
fn a_refused_submission_cancels_what_was_queued() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "refused",
        support::cmd::BIN,
        "{ h_vmem: 200M, h_rt: \"00:05:00\", ncpus: 1, ngpus: 1, gpu_type: nvidia_l40 }",
    );
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .slurm()
        .args([
            "submit",
            cfg.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
        ])
        .output();
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(6), "{msg}");
    assert!(
        msg.contains("refused-train"),
        "names the refused job: {msg}"
    );
    assert!(
        msg.contains("Requested node configuration is not available"),
        "quotes Slurm: {msg}"
    );
    assert!(
        !jobs.join("submission.json").exists(),
        "no record of a failed chain"
    );
    assert!(
        msg.contains("removed the jobs this submission had already queued"),
        "{msg}"
    );
    // The message lists the two queued jobs as `install (job N), download (job M)`;
    // each is cancelled (or, had it started, ended), none pending or running on.
    let ids: Vec<String> = msg
        .split("(job ")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 2, "{msg}");
    let mut checked = 0;
    for id in &ids {
        let states = squeue_state(id);
        if states.is_empty() {
            continue;
        }
        checked += 1;
        for s in states {
            assert!(
                matches!(
                    s.as_str(),
                    "CANCELLED" | "COMPLETED" | "FAILED" | "COMPLETING"
                ),
                "job {id} still {s}: {msg}"
            );
        }
    }
    assert!(checked >= 1, "squeue knows neither {ids:?}: {msg}");
}

/// `submit --no-verify` on Slurm: there is no check to drop (it was silently
/// ignored), so submit says it changes nothing, and Slurm refuses the job it
/// can never run at sbatch time all the same.
#[test]
fn no_verify_is_named_as_changing_nothing_on_slurm() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        "noverify",
        support::cmd::BIN,
        "{ h_vmem: 200M, h_rt: \"00:05:00\", ncpus: 1, ngpus: 1, gpu_type: nvidia_l40 }",
    );
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .slurm()
        .args([
            "submit",
            cfg.to_str().unwrap(),
            "--no-verify",
            "--out",
            jobs.to_str().unwrap(),
        ])
        .output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: --no-verify changes nothing on Slurm"),
        "{}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        stderr.contains("Requested node configuration is not available"),
        "Slurm still refused it: {stderr}"
    );
    assert!(
        stderr.contains("removed the jobs this submission had already queued"),
        "{stderr}"
    );
}

/// `hecjob check`: Slurm's `--test-only` verdict per job, nothing submitted;
/// exit 6 with Slurm's reason when a request can never run.
#[test]
fn check_relays_slurms_verdict() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ok = config(
        tmp.path(),
        "check-ok",
        support::cmd::BIN,
        "{ h_vmem: 1G, h_rt: \"01:00:00\", ncpus: 1, ngpus: 1, gpu_type: nvidia_h200_nvl }",
    );
    let out = Hecjob::new()
        .slurm()
        .args(["check", ok.to_str().unwrap()])
        .output();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for stage in ["install", "download", "train"] {
        assert!(
            t.lines()
                .any(|l| l.starts_with(stage) && l.contains("ok") && l.contains("would start")),
            "{stage}: {t}"
        );
    }
    assert!(t.contains("in partition gpu-short"), "{t}");
    assert!(t.contains("nothing was submitted"), "{t}");

    for (train, reason) in [
        (
            "{ h_vmem: 1G, h_rt: \"01:00:00\", ngpus: 1, gpu_type: nvidia_l40 }",
            "Requested node configuration is not available",
        ),
        (
            "{ h_vmem: 1G, h_rt: \"13:00:00\", ngpus: 1 }",
            "Requested time limit is invalid (missing or exceeds some limit)",
        ),
        (
            "{ h_vmem: 1G, h_rt: \"01:00:00\", ncpus: 512, ngpus: 1 }",
            "More processors requested than permitted",
        ),
    ] {
        let bad = config(tmp.path(), "check-bad", support::cmd::BIN, train);
        let out = Hecjob::new()
            .slurm()
            .args(["check", bad.to_str().unwrap()])
            .output();
        let t = text(&out);
        assert_eq!(out.status.code(), Some(6), "{train}: {t}");
        let line = t.lines().find(|l| l.starts_with("train")).unwrap_or("");
        assert!(
            line.contains("FAIL") && line.contains(&format!("Slurm refuses it: {reason}")),
            "{train}: {t}"
        );
        assert!(
            t.contains("Slurm would never run train as configured"),
            "{t}"
        );
        assert!(
            !tmp.path().join("jobs").exists(),
            "check wrote a job directory"
        );
    }
}

/// A cluster without accounting: `sacct` fails as it does without slurmdbd. Status
/// still reports the finished install (from squeue, which lists ended jobs for
/// MinJobAge) and says that accounting is missing.
#[test]
fn status_without_sacct_says_so_and_still_reports() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    support::stand_in(
        &bin,
        "sacct",
        "#!/bin/sh\necho 'sacct: error: Slurm accounting storage is disabled' >&2\nexit 1\n",
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cfg = config(
        tmp.path(),
        "no-sacct",
        support::cmd::BIN,
        "{ h_vmem: 200M, h_rt: \"00:05:00\", ngpus: 0 }",
    );
    let jobs = tmp.path().join("jobs");
    let out = Hecjob::new()
        .slurm()
        .args([
            "submit",
            cfg.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
            "--only",
            "install",
        ])
        .output();
    assert!(out.status.success(), "{}", text(&out));
    let env = [("PATH", path.as_str())];
    let st = wait_settled(&jobs, &env);
    let t = &st[0]["tasks"][0];
    assert_eq!(t["state"], "done", "{st:#}");
    assert!(
        t["last_run"]["exit_status"].is_null(),
        "squeue has no exit code: {t:#}"
    );
    let out = Hecjob::new()
        .slurm()
        .args(["status", jobs.to_str().unwrap()])
        .envs(env)
        .output();
    let table = text(&out);
    assert!(out.status.success(), "{table}");
    assert!(
        table.contains("note: Slurm accounting is not available here (sacct: error: Slurm accounting storage is disabled)"),
        "{table}"
    );
}

/// `cluster.notify` on Slurm: one small job after the train array
/// (`--dependency=afterany`) mails a one-line summary, also when the tasks did not
/// complete. Here download fails (nothing listens at its URL), so train is cancelled;
/// the notify job still runs and mails what became of the tasks. `mail` is a
/// stand-in on the PATH the jobs inherit, recording its arguments and text.
#[test]
fn notify_job_mails_a_summary_after_the_array() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let mail_log = tmp.path().join("mail.log");
    support::stand_in(
        &bin,
        "mail",
        &format!(
            "#!/bin/sh\nprintf 'argv:' >> {log}\nprintf ' [%s]' \"$@\" >> {log}\nprintf '\\n' >> {log}\ncat >> {log}\n",
            log = mail_log.display()
        ),
    );
    let cfg = config(
        tmp.path(),
        "notified",
        support::cmd::BIN,
        "{ h_vmem: 200M, h_rt: \"00:05:00\", ngpus: 0 }",
    );
    // cluster.setup runs in every job after /etc/profile (which resets PATH).
    let mut typed = support::config::read(&cfg);
    typed.cluster.notify = Some(Notify {
        address: "me@lancaster.ac.uk".into(),
        on: vec![NotifyOn::End, NotifyOn::Fail],
    });
    typed.cluster.setup = vec![format!("export PATH={}:$PATH", bin.display())];
    support::config::write(&typed, &cfg);
    let jobs = tmp.path().join("jobs");
    let env = [("HECJOB_HTTP_RETRIES", "0")];
    let out = Hecjob::new()
        .slurm()
        .args([
            "submit",
            cfg.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
        ])
        .envs(env)
        .output();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("submitted notify"), "{t}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(jobs.join("submission.json")).unwrap())
            .unwrap();
    let job = |stage: &str| {
        record["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["stage"] == stage)
            .unwrap()
            .clone()
    };
    let train_id = job("train")["id"]["number"].as_u64().unwrap();
    let argv: Vec<String> = job("notify")["command"]["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(
        argv.contains(&format!("--dependency=afterany:{train_id}")),
        "{argv:?}"
    );
    assert_eq!(argv.last().unwrap(), &train_id.to_string(), "{argv:?}");

    let st = wait_settled(&jobs, &env);
    let notify = st
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == "notify")
        .unwrap();
    assert_eq!(notify["tasks"][0]["state"], "done", "{st:#}");
    let mail = std::fs::read_to_string(&mail_log).unwrap_or_default();
    let summary = format!("hecjob: notified: 1 train task(s), job {train_id}: 1 cancelled");
    assert!(
        mail.contains(&format!("argv: [-s] [{summary}] [--] [me@lancaster.ac.uk]")),
        "{mail}"
    );
    assert!(mail.contains(&summary), "{mail}");
}

/// A train task killed at its time limit (a stand-in worker that outlives a
/// one-minute `--time`): `status` says `time limit`, `hecjob resubmit --dry-run`
/// says what it would change, and `hecjob resubmit` submits exactly that task
/// again with more time (no progress was recorded to measure a pace from:
/// twice the request, at least 10 minutes); the second attempt finishes, and
/// `status` shows both jobs.
#[test]
fn a_task_past_its_time_limit_is_resubmitted_with_more_time() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let mark = tmp.path().join("second-attempt");
    // The worker: the first run ignores the warning signal and outlives the
    // limit; the second (the resubmitted one) finishes at once.
    support::stand_in(
        &bin,
        "hecjob",
        &format!(
            "#!/bin/bash\ntrap '' USR1\nif [ -e {m} ]; then exit 0; fi\ntouch {m}\nsleep 600\n",
            m = mark.display()
        ),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cfg = config(
        tmp.path(),
        "past-time",
        support::cmd::BIN,
        "{ h_vmem: 200M, h_rt: \"00:01:00\", s_rt: \"00:00:30\", ngpus: 0 }",
    );
    // cluster.setup runs in every job after /etc/profile (which resets PATH).
    let mut typed = support::config::read(&cfg);
    typed.cluster.setup = vec![format!("export PATH={}:$PATH", bin.display())];
    support::config::write(&typed, &cfg);
    let jobs = tmp.path().join("jobs");
    let env = [("PATH", path.as_str())];
    let out = Hecjob::new()
        .slurm()
        .args([
            "submit",
            cfg.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
            "--only",
            "train",
        ])
        .envs(env)
        .output();
    assert!(out.status.success(), "{}", text(&out));
    let st = wait_settled(&jobs, &env);
    let t = &st[0]["tasks"][0];
    assert_eq!(t["state"], "failed", "{st:#}");
    assert_eq!(t["last_run"]["cause"], "time_limit", "{st:#}");

    let dry = Hecjob::new()
        .slurm()
        .args(["resubmit", jobs.to_str().unwrap(), "--dry-run"])
        .envs(env)
        .output();
    let said = text(&dry);
    assert!(dry.status.success(), "{said}");
    assert!(said.contains("resubmitting tasks 1\n"), "{said}");
    assert!(
        said.contains(
            "time 0:01:00 → 0:10:00: task 1 reached its time limit (no progress recorded"
        ),
        "{said}"
    );
    assert!(
        said.contains("#SBATCH --time=00:10:00; #SBATCH --array=1\n"),
        "{said}"
    );
    assert!(
        !jobs.join("train.resubmit-1.com").exists(),
        "a dry run writes nothing"
    );

    let out = Hecjob::new()
        .slurm()
        .args(["resubmit", jobs.to_str().unwrap()])
        .envs(env)
        .output();
    assert!(out.status.success(), "{}", text(&out));
    let script = std::fs::read_to_string(jobs.join("train.resubmit-1.com")).unwrap();
    assert!(script.contains("\n#SBATCH --time=00:10:00\n"), "{script}");
    let st = wait_settled(&jobs, &env);
    let states: Vec<&str> = st
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["tasks"][0]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["failed", "done"], "{st:#}");
    let table = Hecjob::new()
        .slurm()
        .args(["status", jobs.to_str().unwrap()])
        .envs(env)
        .output();
    let table = text(&table);
    assert!(table.contains("time limit"), "{table}");
    // The report asks sacct about both jobs: the task's attempts are one row,
    // its wall time both runs', and it finished (no "stopped: time limit").
    let report = Hecjob::new()
        .slurm()
        .args(["report", "--format", "json", "--no-plots", "--no-html"])
        .arg(&jobs)
        .envs(env)
        .output();
    assert!(report.status.success(), "{}", text(&report));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let row = &report["rows"][0];
    assert!(
        row["wallclock_seconds"].as_f64().unwrap() >= 55.0,
        "the first run's minute counts: {row:#}"
    );
    assert!(
        !row["note"].as_str().unwrap_or("").contains("stopped"),
        "{row:#}"
    );
    let ids: Vec<u64> = st
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"]["number"].as_u64().unwrap())
        .collect();
    assert_eq!(
        report["efficiency"]["accounting"],
        format!("`sacct -j {}`, `sacct -j {}`", ids[0], ids[1]),
        "{report:#}"
    );
    // Nothing is left to resubmit.
    let again = Hecjob::new()
        .slurm()
        .args(["resubmit", jobs.to_str().unwrap()])
        .envs(env)
        .output();
    assert!(
        text(&again).contains("nothing to resubmit"),
        "{}",
        text(&again)
    );
}
