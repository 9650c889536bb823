//! Live tests against a real Grid Engine (scripts/sge-local.sh up; CI starts it).
//! Each test is skipped, with a message on stderr, when `qsub` does not answer
//! (and fails instead under CI, where the cluster must be up).
//! No test assumes job ids or asserts timings: the deadlines below only stop a
//! stuck test from hanging forever.

use crate::support;

use hecjob::cli::status as cli;
use hecjob::jobdir::SubmissionRecord;
use hecjob::scheduler::sge::GridEngine;
use hecjob::scheduler::status::{JobStatus, TaskState, TrackedJob};
use hecjob::scheduler::submission::{submit_chain, StageJob};
use hecjob::scheduler::{sge::qstat::QstatSnapshot, JobId, JobRequest, RunOutcome, Scheduler};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A name no other test run shares (holds by name and qstat lookups stay ours).
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn script(dir: &Path, file: &str, name: &str, extra: &str, body: &str) -> PathBuf {
    let p = dir.join(file);
    let text = format!("#!/bin/bash\n#$ -S /bin/bash\n#$ -N {name}\n#$ -cwd\n#$ -o logs/ -e logs/\n{extra}\n{body}\n");
    std::fs::write(&p, text).unwrap();
    p
}

fn workdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("logs")).unwrap();
    d
}

/// Poll until every task has finished; the deadline is a hang guard, not a timing test.
fn wait_finished(jobs: &[TrackedJob]) -> Vec<JobStatus> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let st = cli::query(jobs).unwrap();
        if st.iter().all(JobStatus::all_finished) {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "jobs did not finish:\n{}",
            cli::table(&st, Some(hecjob::scheduler::SchedulerKind::Sge))
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn tracked(stage: &str, name: &str, id: JobId) -> TrackedJob {
    TrackedJob {
        stage: stage.into(),
        name: name.into(),
        id,
    }
}

#[test]
fn chained_submission_honours_holds_and_status_has_accounting() {
    if !support::have_qsub() {
        return;
    }
    let dir = workdir();
    let (a, b) = (unique("first"), unique("second"));
    // The first job records when it ends, the second when it starts: with the hold,
    // the second can only start after the first has ended.
    let s1 = script(
        dir.path(),
        "first.com",
        &a,
        "",
        "sleep 3\ndate +%s%N > first.end",
    );
    let s2 = script(
        dir.path(),
        "second.com",
        &b,
        "#$ -t 1-2",
        "date +%s%N > second.start.$SGE_TASK_ID\ntest -s first.end",
    );
    let stages = vec![
        StageJob {
            stage: "first".into(),
            script: s1,
            verify: false,
            options: vec![],
            after_any: false,
        },
        StageJob {
            stage: "second".into(),
            script: s2,
            verify: true,
            options: vec![],
            after_any: false,
        },
    ];
    let mut ge = GridEngine::new().unwrap();
    let jobs = submit_chain(&mut ge, dir.path(), &stages).unwrap();
    assert_eq!(jobs[1].hold, vec![jobs[0].id.number]);
    assert_eq!(jobs[1].id.tasks.unwrap().tasks().count(), 2);
    assert!(jobs[1]
        .command
        .argv
        .windows(2)
        .any(|w| w[0] == "-hold_jid" && w[1] == jobs[0].id.to_string()));

    // Right after submission the second job must not have run: it is held or pending.
    let snap = QstatSnapshot::query().unwrap();
    if let Some(e) = snap.find(jobs[1].id.number, Some(1)) {
        assert!(e.code.contains("h") || e.code.contains("qw"), "{e:?}");
    }

    let st = wait_finished(&[
        tracked("first", &a, jobs[0].id),
        tracked("second", &b, jobs[1].id),
    ]);
    eprintln!(
        "{}",
        cli::table(&st, Some(hecjob::scheduler::SchedulerKind::Sge))
    );
    let end: u128 = std::fs::read_to_string(dir.path().join("first.end"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for t in 1..=2 {
        let start: u128 = std::fs::read_to_string(dir.path().join(format!("second.start.{t}")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            start >= end,
            "task {t} started before the job it was held on ended"
        );
    }
    // Finished jobs come from qacct, with accounting figures.
    for job in &st {
        for t in &job.tasks {
            assert_eq!(
                t.state,
                TaskState::Done,
                "{}",
                cli::table(&st, Some(hecjob::scheduler::SchedulerKind::Sge))
            );
            let run = t.last_run.as_ref().expect("accounting record");
            assert_eq!((run.exit_status, run.failure.as_deref()), (Some(0), None));
            assert_eq!(run.name, job.name);
            assert_eq!(run.task, t.task);
            assert!(run.wallclock_s.is_some_and(|s| s >= 0.0));
        }
    }
    // Logs are where Grid Engine names them.
    assert!(dir
        .path()
        .join(format!("logs/{b}.o{}.2", jobs[1].id))
        .exists());
}

#[test]
fn refused_second_submission_leaves_nothing_queued() {
    if !support::have_qsub() {
        return;
    }
    let dir = workdir();
    let (a, b) = (unique("keep"), unique("refused"));
    let s1 = script(dir.path(), "one.com", &a, "", "sleep 60");
    let s2 = script(dir.path(), "two.com", &b, "", "true");
    let stages = vec![
        StageJob {
            stage: "one".into(),
            script: s1,
            verify: false,
            options: vec![],
            after_any: false,
        },
        StageJob {
            stage: "two".into(),
            script: s2,
            verify: false,
            options: vec!["-l".into(), "nosuchresource=1".into()],
            after_any: false,
        },
    ];
    let mut ge = GridEngine::new().unwrap();
    let err = submit_chain(&mut ge, dir.path(), &stages).unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert_eq!(err.exit_code(), 6);
    assert!(msg.contains(&b), "names the refused job: {msg}");
    assert!(
        msg.contains("unknown resource"),
        "quotes the scheduler: {msg}"
    );
    assert!(msg.contains("removed"), "{msg}");
    // The first job was qdel'ed: not queued any more (at most on its way out).
    let snap = QstatSnapshot::query().unwrap();
    for e in snap.entries.iter().filter(|e| e.name == a) {
        assert!(e.code.contains('d'), "still queued: {e:?}");
    }
}

#[test]
fn no_suitable_queue_is_refused_at_submit_with_w_e() {
    if !support::have_qsub() {
        return;
    }
    let dir = workdir();
    let name = unique("toobig");
    let s = script(
        dir.path(),
        "big.com",
        &name,
        "#$ -q short\n#$ -l ngpus=999",
        "true",
    );
    let mut ge = GridEngine::new().unwrap();
    let err = ge
        .submit(&JobRequest::new(s, dir.path()).verified(true))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&name) && err.contains("no suitable queues"),
        "{err}"
    );
}

/// The time-limit recipe (see README / train.com): `-notify` plus a soft limit
/// `s_rt` below `h_rt`. At s_rt Grid Engine sends SIGUSR1; the job checkpoints and
/// exits 99 within the queue's `notify` time; Grid Engine reschedules it
/// (qacct: failed 25 "rescheduling") and the next run sees RESTARTED=1 and the
/// checkpoint.
#[test]
fn checkpoint_and_exit_99_at_soft_limit_is_rescheduled() {
    if !support::have_qsub() {
        return;
    }
    let dir = workdir();
    let name = unique("resume");
    let s = script(
        dir.path(),
        "resume.com",
        &name,
        "#$ -notify\n#$ -l s_rt=0:0:4,h_rt=0:0:60\n#$ -j y",
        r#"state=state.$JOB_ID
if [ -s "$state" ]; then echo "resumed from $(cat "$state") RESTARTED=$RESTARTED"; exit 0; fi
checkpoint() { echo "checkpoint-1" > "$state"; echo "signal: checkpointed"; exit 99; }
trap checkpoint USR1 USR2
for i in $(seq 1 120); do sleep 1; done
echo "never signalled"; exit 1"#,
    );
    let mut ge = GridEngine::new().unwrap();
    let id = ge.submit(&JobRequest::new(s, dir.path())).unwrap().id;
    let st = wait_finished_after_restart(&[tracked("resume", &name, id)]);
    let t = &st[0].tasks[0];
    assert_eq!(
        t.state,
        TaskState::Done,
        "{}",
        cli::table(&st, Some(hecjob::scheduler::SchedulerKind::Sge))
    );
    assert_eq!(
        t.runs,
        2,
        "{}",
        cli::table(&st, Some(hecjob::scheduler::SchedulerKind::Sge))
    );
    let log = std::fs::read_to_string(dir.path().join(format!("logs/{name}.o{id}"))).unwrap();
    assert!(log.contains("signal: checkpointed"), "{log}");
    assert!(
        log.contains("resumed from checkpoint-1 RESTARTED=1"),
        "{log}"
    );
}

/// Why the recipe above needs s_rt: at h_rt Grid Engine also warns (-notify:
/// SIGUSR2, then SIGKILL after the notify time), but a job stopped by its hard
/// limit is marked failed 37 and NOT rescheduled, even if it exits 99.
#[test]
fn exit_99_after_hard_limit_warning_is_not_rescheduled() {
    if !support::have_qsub() {
        return;
    }
    let dir = workdir();
    let name = unique("hardlimit");
    let s = script(
        dir.path(),
        "hard.com",
        &name,
        "#$ -notify\n#$ -l h_rt=0:0:4\n#$ -j y",
        "trap 'echo got USR2; exit 99' USR2\nfor i in $(seq 1 120); do sleep 1; done",
    );
    let mut ge = GridEngine::new().unwrap();
    let id = ge.submit(&JobRequest::new(s, dir.path())).unwrap().id;
    let st = wait_finished(&[tracked("hard", &name, id)]);
    let t = &st[0].tasks[0];
    let run = t.last_run.as_ref().unwrap();
    assert_eq!(
        t.state,
        TaskState::Failed,
        "{}",
        cli::table(&st, Some(hecjob::scheduler::SchedulerKind::Sge))
    );
    assert_eq!(
        (run.outcome, run.exit_status, t.runs),
        (RunOutcome::Failed, Some(99), 1)
    );
    assert!(
        run.failure.as_deref().unwrap_or("").starts_with("37 "),
        "{run:?}"
    );
    let log = std::fs::read_to_string(dir.path().join(format!("logs/{name}.o{id}"))).unwrap();
    assert!(log.contains("got USR2"), "{log}");
}

/// Like wait_finished, but a task between its runs (rescheduled, or done once
/// with a rescheduled run before) is not finished yet.
fn wait_finished_after_restart(jobs: &[TrackedJob]) -> Vec<JobStatus> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let st = cli::query(jobs).unwrap();
        if st
            .iter()
            .all(|j| j.tasks.iter().all(|t| t.state.is_finished() && t.runs >= 2))
            || st
                .iter()
                .any(|j| j.tasks.iter().any(|t| t.state == TaskState::Failed))
        {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            cli::table(&st, Some(hecjob::scheduler::SchedulerKind::Sge))
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn submit_cli_writes_record_and_status_reads_it() {
    if !support::have_qsub() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("jobs/x");
    let o = support::Hecjob::new()
        .args(["submit", "--only", "install,download", "--out"])
        .arg(&out)
        .output();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rec = SubmissionRecord::load(&out).unwrap();
    assert_eq!(rec.executor, "sge");
    assert_eq!(rec.jobs.len(), 2);
    assert_eq!(rec.jobs[1].hold, vec![rec.jobs[0].id.number]);
    assert!(rec.jobs.iter().all(|j| j.sha256.len() == 64));
    assert_eq!(rec.jobs[0].command.argv[..2], ["qsub", "-terse"]);
    let o = support::Hecjob::new()
        .args(["status", "--json"])
        .arg(&out)
        .output();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["stage"], "install");
    // The rendered scripts need the HEC's modules and storage; do not leave them queued.
    let ids: Vec<JobId> = rec.jobs.iter().map(|j| j.id).collect();
    let _ = GridEngine::new().unwrap().cancel(&ids);
}
