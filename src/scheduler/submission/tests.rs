//! The chain and every rollback branch, against the scripted [`Fake`] and, for
//! the timeout, Grid Engine's back end with stand-in clients.

use super::*;
use crate::scheduler::dry_run::DryRun;
use crate::scheduler::fake::{Fake, Reply};
use crate::scheduler::sge::{GridEngine, Programs};
use std::time::Duration;

/// Three stage scripts in a temporary job directory, as `render` writes them.
fn stages(dir: &Path) -> Vec<StageJob> {
    [
        ("install", "#$ -N conda-install\n"),
        ("download", "#$ -N download-model-data\n"),
        ("train", "#$ -N run-transformer-model\n#$ -t 1-4\n"),
    ]
    .iter()
    .map(|(stage, body)| {
        let p = dir.join(format!("{stage}.com"));
        std::fs::write(&p, body).unwrap();
        StageJob {
            stage: stage.to_string(),
            script: p,
            verify: false,
            options: vec![],
            after_any: false,
        }
    })
    .collect()
}

#[test]
fn dry_run_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut ex = DryRun::new(crate::scheduler::SchedulerKind::Sge.dialect());
    let jobs = submit_chain(&mut ex, dir.path(), &stages(dir.path())).unwrap();
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[0].hold, Vec::<u64>::new());
    assert_eq!(jobs[2].hold, vec![jobs[1].id.number]);
    assert_eq!(jobs[2].name, "run-transformer-model");
    assert_eq!(jobs[2].id.tasks.unwrap().last, 4);
    assert_eq!(
        jobs[1].command.shell(),
        format!("qsub -terse -hold_jid {} download.com", jobs[0].id)
    );
    assert_eq!(jobs[0].sha256.len(), 64);
}

/// The record holds the command each submission returned, not a guess.
#[test]
fn accepted_chain_records_each_returned_command() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fake::new();
    let jobs = submit_chain(&mut f, dir.path(), &stages(dir.path())).unwrap();
    let shells: Vec<String> = jobs.iter().map(|j| j.command.shell()).collect();
    assert_eq!(
        shells,
        [
            "fake-submit install.com",
            "fake-submit --after 1 download.com",
            "fake-submit --after 2 train.com"
        ]
    );
    assert!(f.cancelled.is_empty());
}

#[test]
fn first_refused_cancels_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fake::new().replies([Reply::Refuse("no such queue".into())]);
    let e = submit_chain(&mut f, dir.path(), &stages(dir.path())).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("fake refused: no such queue"), "{msg}");
    assert!(
        msg.contains("submitting install: no earlier job of this submission was queued"),
        "{msg}"
    );
    assert!(
        f.cancelled.is_empty(),
        "nothing to cancel: {:?}",
        f.cancelled
    );
    assert_eq!(f.submitted.len(), 1, "the chain stops at the refusal");
    assert_eq!(e.exit_code(), 6);
}

/// "qsub failed after two jobs were queued": both are cancelled, in one call.
#[test]
fn third_refused_cancels_the_two_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fake::new().replies([
        Reply::Accept,
        Reply::Accept,
        Reply::Refuse("h_vmem too large".into()),
    ]);
    let e = submit_chain(&mut f, dir.path(), &stages(dir.path())).unwrap_err();
    let msg = e.to_string();
    assert_eq!(f.cancelled, vec![vec![JobId::single(1), JobId::single(2)]]);
    assert!(msg.contains("fake refused: h_vmem too large"), "{msg}");
    assert!(
        msg.contains(
            "submitting train: removed the jobs this submission had already queued: \
             install (job 1), download (job 2)"
        ),
        "{msg}"
    );
}

/// "qdel failed during rollback": the error names the jobs left queued and the
/// command that removes them.
#[test]
fn cancel_failing_during_rollback_says_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fake::new()
        .replies([Reply::Accept, Reply::Refuse("quota".into())])
        .failing_cancel("qmaster unreachable");
    let e = submit_chain(&mut f, dir.path(), &stages(dir.path())).unwrap_err();
    let msg = e.to_string();
    assert_eq!(f.cancelled, vec![vec![JobId::single(1)]]);
    assert!(
        msg.contains(
            "submitting download: could not remove the jobs already queued (install (job 1)): \
             fake cancel failed: qmaster unreachable; remove them with `fake-cancel 1`"
        ),
        "{msg}"
    );
}

/// A submission that timed out may or may not have queued its job: the
/// earlier ones are still removed and the message says the last is uncertain.
#[test]
fn timed_out_submission_still_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fake::new().replies([Reply::Accept, Reply::Accept, Reply::TimeOut]);
    let e = submit_chain(&mut f, dir.path(), &stages(dir.path())).unwrap_err();
    let msg = e.to_string();
    assert_eq!(f.cancelled, vec![vec![JobId::single(1), JobId::single(2)]]);
    assert!(
        msg.contains("`fake-submit --after 2 train.com` did not finish within 120 s"),
        "{msg}"
    );
    assert!(msg.contains("may or may not have acted on it"), "{msg}");
    assert!(msg.contains("removed the jobs"), "{msg}");
}

/// A runner that runs jobs inside `submit` (the local one) has nothing queued
/// to undo: it stops and says the later jobs did not run.
#[test]
fn runner_failure_stops_without_cancelling() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fake::new()
        .replies([Reply::Accept, Reply::Refuse("exit 3".into())])
        .running_in_submit();
    let e = submit_chain(&mut f, dir.path(), &stages(dir.path())).unwrap_err();
    assert!(f.cancelled.is_empty());
    assert!(
        e.to_string()
            .contains("stopped at download: the jobs after it were not run"),
        "{e}"
    );
}

/// An error that is not the scheduler's (an unreadable script) after jobs were
/// queued still cancels them and says so.
#[test]
fn unreadable_script_after_queued_jobs_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut st = stages(dir.path());
    st[2].script = dir.path().join("missing.com");
    let mut f = Fake::new();
    let e = submit_chain(&mut f, dir.path(), &st).unwrap_err();
    // The script's digest is taken before submitting: nothing of train was sent.
    assert_eq!(f.submitted.len(), 2);
    assert!(e.to_string().contains("missing.com"), "{e}");
    assert!(e.to_string().contains("removed the jobs"), "{e}");
    assert_eq!(f.cancelled, vec![vec![JobId::single(1), JobId::single(2)]]);
}

fn stand_in(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// A stand-in whose `body` sees `$n`, the number of this call (1, 2, …).
fn counting_stand_in(dir: &Path, name: &str, body: &str) -> PathBuf {
    let count = dir.join(format!("{name}.count"));
    stand_in(
        dir,
        name,
        &format!(
            "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}\n{body}",
            c = count.display()
        ),
    )
}

/// A stand-in that appends its arguments, one call a line, to `<name>.log`:
/// (the program, the log).
fn recording_stand_in(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let log = dir.join(format!("{name}.log"));
    let p = stand_in(dir, name, &format!("echo \"$@\" >> {}", log.display()));
    (p, log)
}

/// Grid Engine's back end end to end with stand-in clients: the third `qsub`
/// hangs, is killed by the timeout and named, and the two queued jobs are
/// removed with one real `qdel` call.
#[test]
fn hanging_qsub_is_named_and_rolled_back_with_qdel() {
    let dir = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let qsub = counting_stand_in(
        bin.path(),
        "qsub",
        "if [ $n -ge 3 ]; then sleep 600; fi\necho $((40+n))",
    );
    let (qdel, qdel_log) = recording_stand_in(bin.path(), "qdel");
    let mut ge = GridEngine::with_programs(
        Programs {
            qsub: Some(qsub),
            qdel: Some(qdel),
            ..Programs::default()
        },
        // Room for the stand-ins that answer on a loaded 2-core CI machine;
        // the hanging one sleeps far past it.
        Duration::from_secs(5),
    );
    let e = submit_chain(&mut ge, dir.path(), &stages(dir.path())).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("`qsub -terse -hold_jid 42 train.com` did not finish within 5 s"),
        "{msg}"
    );
    assert!(
        msg.contains("removed the jobs this submission had already queued: install (job 41), download (job 42)"),
        "{msg}"
    );
    assert_eq!(std::fs::read_to_string(&qdel_log).unwrap(), "41 42\n");
}

/// Issue 15: a task range for a job without `-t` was accepted (and tracked as
/// an array); a qsub killed by a signal read "exit status -1:".
#[test]
fn an_id_that_contradicts_the_job_and_a_killed_qsub_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let qsub = stand_in(bin.path(), "qsub", "echo 41.1-3:1");
    let (qdel, qdel_log) = recording_stand_in(bin.path(), "qdel");
    let programs = |qsub: PathBuf| Programs {
        qsub: Some(qsub),
        qdel: Some(qdel.clone()),
        ..Programs::default()
    };
    let mut ge = GridEngine::with_programs(programs(qsub), Duration::from_secs(20));
    let msg = submit_chain(&mut ge, dir.path(), &stages(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("qsub answered \"41.1-3:1\" for job \"conda-install\" (install.com), which asks for no tasks (no `-t`) but got a task range; removed job 41 (qdel)"),
        "{msg}"
    );
    assert_eq!(std::fs::read_to_string(&qdel_log).unwrap(), "41\n");

    let killed = stand_in(bin.path(), "qsub-killed", "kill -9 $$");
    let mut ge = GridEngine::with_programs(programs(killed), Duration::from_secs(20));
    let msg = submit_chain(&mut ge, dir.path(), &stages(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("killed by signal 9"), "{msg}");
    assert!(!msg.contains("exit status -1"), "{msg}");
}

/// Issue: "removed job N (qdel)" was printed whatever qdel did. A qdel that
/// fails is reported as failed, with the command to run by hand.
#[test]
fn a_failed_qdel_of_a_contradicting_id_is_said_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let qsub = stand_in(bin.path(), "qsub", "echo 41.1-3:1");
    let qdel = stand_in(
        bin.path(),
        "qdel",
        "echo 'denied: job \"41\" does not exist' >&2; exit 1",
    );
    let mut ge = GridEngine::with_programs(
        Programs {
            qsub: Some(qsub),
            qdel: Some(qdel),
            ..Programs::default()
        },
        Duration::from_secs(20),
    );
    let msg = submit_chain(&mut ge, dir.path(), &stages(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(!msg.contains("removed job 41"), "{msg}");
    assert!(
        msg.contains("job 41 is left queued but not tracked, and removing it failed"),
        "{msg}"
    );
    assert!(msg.contains("does not exist"), "qdel's own words: {msg}");
    assert!(msg.contains("remove it by hand with `qdel 41`"), "{msg}");
}

/// Issue: qsub exiting 0 without an id it printed said only that no id was
/// found; the job may be queued all the same, and the message says how to look.
#[test]
fn qsub_without_a_readable_id_may_have_queued_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    // The first job gets an id; the second qsub says something else.
    let qsub = counting_stand_in(
        bin.path(),
        "qsub",
        "if [ $n -ge 2 ]; then echo 'Your job has been submitted'; else echo 41; fi",
    );
    let (qdel, qdel_log) = recording_stand_in(bin.path(), "qdel");
    let mut ge = GridEngine::with_programs(
        Programs {
            qsub: Some(qsub),
            qdel: Some(qdel),
            ..Programs::default()
        },
        Duration::from_secs(20),
    );
    let msg = submit_chain(&mut ge, dir.path(), &stages(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("could not find a job id"), "{msg}");
    assert!(
        msg.contains(
            "the job \"download-model-data\" (download.com) may nevertheless be queued: \
             look for it with `qstat -u $USER` and, if it is there, remove it with `qdel ID`"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("removed the jobs this submission had already queued: install (job 41)"),
        "{msg}"
    );
    assert_eq!(std::fs::read_to_string(&qdel_log).unwrap(), "41\n");
}

/// Issue: a notify job whose submission failed after the chain was queued
/// rolled back without naming what it removed, nor that the notify job itself
/// may be queued (a timeout).
#[test]
fn a_timed_out_notify_job_rolls_back_the_chain_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let st = stages(dir.path());
    let mut f = Fake::new().replies([Reply::Accept, Reply::Accept, Reply::Accept, Reply::TimeOut]);
    let chain = submit_chain(&mut f, dir.path(), &st).unwrap();
    std::fs::write(dir.path().join("notify.com"), "#!/bin/bash\n").unwrap();
    let req = JobRequest::new("notify.com", dir.path());
    let msg = submit_after_chain(&mut f, "notify", &req, &chain)
        .unwrap_err()
        .to_string();
    assert_eq!(
        f.cancelled,
        vec![vec![JobId::single(1), JobId::single(2), JobId::single(3)]]
    );
    assert!(
        msg.contains("the job \"notify.com\" (notify.com) may nevertheless be queued"),
        "{msg}"
    );
    assert!(
        msg.contains(
            "submitting notify: removed the jobs this submission had already queued: \
             install (job 1), download (job 2), train (job 3)"
        ),
        "{msg}"
    );
}

/// The same on Slurm's back end with stand-in clients: the notify job's
/// sbatch hangs after the chain was queued; it is named with `squeue -u
/// $USER`, and the chain is cancelled with one real `scancel` call.
#[test]
fn a_hanging_notify_sbatch_is_named_and_the_chain_cancelled() {
    use crate::scheduler::slurm::client::{Programs as SlurmPrograms, Slurm};
    let dir = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let sbatch = counting_stand_in(
        bin.path(),
        "sbatch",
        "if [ $n -ge 4 ]; then sleep 600; fi\necho $((50+n))",
    );
    let (scancel, scancel_log) = recording_stand_in(bin.path(), "scancel");
    let mut slurm = Slurm::with_programs(
        SlurmPrograms {
            sbatch: Some(sbatch),
            scancel: Some(scancel),
            ..SlurmPrograms::default()
        },
        // Room for the stand-ins that answer on a loaded 2-core CI machine;
        // the hanging one sleeps far past it.
        Duration::from_secs(5),
    );
    let chain = submit_chain(&mut slurm, dir.path(), &stages(dir.path())).unwrap();
    std::fs::write(
        dir.path().join("notify.com"),
        "#!/bin/bash\n#SBATCH -J notify-me\n",
    )
    .unwrap();
    let mut req = JobRequest::new("notify.com", dir.path());
    req.options = vec!["--dependency=afterany:53".into()];
    let msg = submit_after_chain(&mut slurm, "notify", &req, &chain)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("did not finish within 5 s"), "{msg}");
    assert!(
        msg.contains(
            "the job \"notify-me\" (notify.com) may nevertheless be queued: look for it with \
             `squeue -u $USER` and, if it is there, remove it with `scancel ID`"
        ),
        "{msg}"
    );
    assert!(
        msg.contains(
            "submitting notify: removed the jobs this submission had already queued: \
             install (job 51), download (job 52), train (job 53)"
        ),
        "{msg}"
    );
    assert_eq!(
        std::fs::read_to_string(&scancel_log).unwrap(),
        "-v 51 52 53\n"
    );
}

/// Issue 22: a qsub that answers the same id for every job was accepted, and
/// download was held on itself. The repeated id is refused and the chain
/// removed (one qdel of the id, which is also the job just queued).
#[test]
fn a_job_id_answered_twice_in_a_chain_is_refused_and_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let qsub = stand_in(bin.path(), "qsub", "echo 1003");
    let (qdel, qdel_log) = recording_stand_in(bin.path(), "qdel");
    let mut ge = GridEngine::with_programs(
        Programs {
            qsub: Some(qsub),
            qdel: Some(qdel),
            ..Programs::default()
        },
        Duration::from_secs(20),
    );
    let e = submit_chain(&mut ge, dir.path(), &stages(dir.path())).unwrap_err();
    assert_eq!(e.exit_code(), 6);
    assert_eq!(
        e.to_string(),
        "the scheduler answered job id 1003 for download, the id it gave install already: a \
         chain's jobs each need their own id (is `qsub` a wrapper that prints a fixed id?)\n\
         submitting download: removed the jobs this submission had already queued: install (job 1003)"
    );
    assert_eq!(std::fs::read_to_string(&qdel_log).unwrap(), "1003\n");
}
