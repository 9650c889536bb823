//! Live tests of work the cluster stopped, on a real Grid Engine and a real
//! Slurm (the project's scripts start them; CI does): `hecjob resubmit` after
//! an h_vmem kill, `submit --retries N` running rounds of it by itself on both
//! schedulers (the predict stage queued by the round that stops them), and a
//! preempted Slurm task (`scontrol requeue`, as preemption
//! requeues) run exactly once more. The worker is a stand-in `hecjob train`
//! (every other subcommand is the real binary) that fails as a test needs;
//! each run of a task appends a line to `runs-N`. Skipped, with a message,
//! without the scheduler; failed instead under CI. Deadlines only stop a
//! stuck test from hanging.

use crate::support;
use crate::support::Hecjob;
use hecjob::experiment::config::{InstallFrom, Notify, NotifyOn, SchedulerKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::text;

/// An experiment under `dir` for `kind` whose train job asks for `train` (a
/// YAML flow mapping) and whose `hecjob train` is the stand-in running
/// `policy` (bash, with `$TASK` and `$RUN`: this task's run, from 1); the
/// other subcommands run the real hecjob. Returns the config's path.
fn experiment(dir: &Path, kind: SchedulerKind, tasks: u32, train: &str, policy: &str) -> PathBuf {
    let bin = dir.join("bin");
    support::stand_in(
        &bin,
        "hecjob",
        &format!(
            "#!/bin/bash\nif [ \"$1\" != train ]; then exec {real} \"$@\"; fi\n\
             TASK=$(printf '%s\\n' \"$@\" | grep -A1 -x -- --task | tail -n 1)\n\
             echo run >> {runs}/runs-$TASK\nRUN=$(wc -l < {runs}/runs-$TASK)\n{policy}\n",
            real = support::cmd::BIN,
            runs = dir.display()
        ),
    );
    let mut c = support::config::named(&format!("retry-{}", kind.as_str()));
    c.cluster.scheduler = kind;
    c.cluster.cpu_queue = "serial".into();
    c.cluster.gpu_queue = match kind {
        SchedulerKind::Slurm => "gpu-short".into(),
        _ => "short".into(),
    };
    c.cluster.storage_root = dir.join("storage").display().to_string();
    c.cluster.jobs.train = serde_yaml_ng::from_str(train).unwrap();
    // cluster.setup runs in every job after /etc/profile (which resets PATH).
    c.cluster.setup = vec![format!("export PATH={}:$PATH", bin.display())];
    c.install.from = InstallFrom::Binary;
    c.install.binary = Some(support::cmd::BIN.into());
    c.model.name = "acme/tiny-bert".into();
    let lrs: Vec<String> = (1..=tasks).map(|i| format!("{i}e-5")).collect();
    c.sweep =
        serde_yaml_ng::from_str(&format!("{{ learning_rate: [{}] }}", lrs.join(", "))).unwrap();
    let p = dir.join("experiment.yaml");
    support::config::write(&c, &p);
    p
}

/// Bash for the stand-in: allocate a MiB at a time until h_vmem (a ulimit)
/// refuses, hold the peak long enough for Grid Engine to sample it, fail.
const EAT_MEMORY: &str = "python3 -c 'import time\nl = []\ntry:\n    while True: l.append(bytearray(1 << 20))\nexcept MemoryError:\n    time.sleep(4)\n    raise SystemExit(1)'";

fn hecjob(kind: SchedulerKind) -> Hecjob {
    match kind {
        SchedulerKind::Slurm => Hecjob::new().slurm(),
        _ => Hecjob::new(),
    }
}

fn submit(kind: SchedulerKind, cfg: &Path, jobs: &Path, extra: &[&str]) -> Output {
    hecjob(kind)
        .args([
            "submit",
            cfg.to_str().unwrap(),
            "--out",
            jobs.to_str().unwrap(),
            "--only",
            "train",
        ])
        .args(extra.iter().copied())
        .output()
}

/// `status --json` until every job of the record has ended and the record
/// has at least `jobs` jobs (a retry job appends the next round's).
fn wait_settled(kind: SchedulerKind, dir: &Path, jobs: usize) -> serde_json::Value {
    support::wait_ended(dir, || hecjob(kind), jobs)
}

fn runs(dir: &Path, task: u32) -> usize {
    std::fs::read_to_string(dir.join(format!("runs-{task}")))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn stages(st: &serde_json::Value) -> Vec<String> {
    st.as_array()
        .unwrap()
        .iter()
        .map(|j| j["stage"].as_str().unwrap().to_string())
        .collect()
}

/// The retry jobs' standard output, oldest first, as one text.
fn retry_logs(jobs: &Path) -> String {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(jobs.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            // Grid Engine's NAME-retry.oID, Slurm's NAME-retry.ID.out.
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.contains("-retry.o") || (name.contains("-retry.") && name.ends_with(".out"))
        })
        .collect();
    logs.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    logs.iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<Vec<_>>()
        .join("")
}

/// Grid Engine kills a task at its h_vmem; `hecjob resubmit` reads why from
/// qacct (the peak at the limit), asks for 1.5 × the peak in whole GiB, and
/// the task finishes; `status` shows both attempts and the first one's reason.
#[test]
fn grid_engine_task_out_of_memory_is_resubmitted_with_more_memory() {
    if !support::have_qsub() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = experiment(
        dir,
        SchedulerKind::Sge,
        1,
        "{ h_vmem: 300M, h_rt: \"00:05:00\", ngpus: 0 }",
        &format!("if [ \"$RUN\" = 1 ]; then {EAT_MEMORY}; fi"),
    );
    let jobs = dir.join("jobs");
    let out = submit(SchedulerKind::Sge, &cfg, &jobs, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let st = wait_settled(SchedulerKind::Sge, &jobs, 1);
    assert_eq!(
        st[0]["tasks"][0]["last_run"]["cause"], "out_of_memory",
        "{st:#}"
    );

    let dry = hecjob(SchedulerKind::Sge)
        .args(["resubmit", jobs.to_str().unwrap(), "--dry-run"])
        .output();
    let said = text(&dry);
    assert!(dry.status.success(), "{said}");
    assert!(said.contains("resubmitting tasks 1\n"), "{said}");
    assert!(
        said.contains("memory 300 MiB → 1.00 GiB: task 1 ran out of memory"),
        "{said}"
    );
    let out = hecjob(SchedulerKind::Sge)
        .args(["resubmit", jobs.to_str().unwrap()])
        .output();
    assert!(out.status.success(), "{}", text(&out));
    let script = std::fs::read_to_string(jobs.join("train.resubmit-1.com")).unwrap();
    assert!(script.contains("\n#$ -l h_vmem=1G\n"), "{script}");
    let st = wait_settled(SchedulerKind::Sge, &jobs, 2);
    let states: Vec<&serde_json::Value> = st
        .as_array()
        .unwrap()
        .iter()
        .map(|j| &j["tasks"][0]["state"])
        .collect();
    assert_eq!(states, ["failed", "done"], "{st:#}");
    assert_eq!(runs(dir, 1), 2);
    let table = hecjob(SchedulerKind::Sge)
        .args(["status", jobs.to_str().unwrap()])
        .output();
    let table = text(&table);
    assert!(table.contains("out of memory"), "{table}");
}

/// `submit --retries 3` on Grid Engine, two tasks: task 1 runs out of memory
/// once, is resubmitted with more by the retry job and finishes; task 2 runs
/// out of memory whatever it gets, is raised to `cluster.limits.max_memory`,
/// runs out again at the limit, and the third round stops there (same way,
/// same requests), saying so. Nobody runs `hecjob resubmit` by hand.
#[test]
fn grid_engine_retries_run_by_themselves_until_nothing_changes() {
    if !support::have_qsub() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = experiment(
        dir,
        SchedulerKind::Sge,
        2,
        "{ h_vmem: 300M, h_rt: \"00:05:00\", ngpus: 0 }",
        &format!("if [ \"$TASK\" = 2 ] || [ \"$RUN\" = 1 ]; then {EAT_MEMORY}; fi"),
    );
    let mut c = support::config::read(&cfg);
    c.cluster.limits.max_memory = Some("1G".into());
    support::config::write(&c, &cfg);
    let jobs = dir.join("jobs");
    let out = submit(SchedulerKind::Sge, &cfg, &jobs, &["--retries", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("submitted retry"), "{}", text(&out));
    // train, retry 1, train (both tasks, 1G), retry 2, train (task 2, 1G), retry 3.
    let st = wait_settled(SchedulerKind::Sge, &jobs, 6);
    assert_eq!(
        stages(&st),
        ["train", "retry", "train", "retry", "train", "retry"],
        "{st:#}"
    );
    let logs = retry_logs(&jobs);
    assert!(
        logs.contains("hecjob retries: stopped at round 3 of 3: 1 task(s) finished; task 2 not retried: out of memory twice with 1.00 GiB"),
        "{logs}"
    );
    assert_eq!((runs(dir, 1), runs(dir, 2)), (2, 3));
    // Nothing is left that a fourth round could change.
    let again = hecjob(SchedulerKind::Sge)
        .args(["resubmit", jobs.to_str().unwrap(), "--dry-run"])
        .output();
    assert!(
        text(&again).contains("nothing to resubmit"),
        "{}",
        text(&again)
    );
}

/// `submit --retries 2` on Slurm: a task past its one-minute `--time` is
/// resubmitted with more time by the retry job and finishes; round 2 finds
/// nothing left, stops, and the notify mail (cluster.notify) says so.
#[test]
fn slurm_retries_a_task_past_its_time_limit_and_mails_when_they_stop() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = experiment(
        dir,
        SchedulerKind::Slurm,
        1,
        "{ h_vmem: 200M, h_rt: \"00:01:00\", s_rt: \"00:00:30\", ngpus: 0 }",
        "trap '' USR1\nif [ \"$RUN\" = 1 ]; then sleep 600; fi",
    );
    let mail_log = dir.join("mail.log");
    support::stand_in(
        &dir.join("bin"),
        "mail",
        &format!(
            "#!/bin/bash\n{{ echo \"subject: $2\"; cat; }} >> {}\n",
            mail_log.display()
        ),
    );
    let mut c = support::config::read(&cfg);
    c.cluster.notify = Some(Notify {
        address: "someone@example.org".into(),
        on: vec![NotifyOn::End],
    });
    support::config::write(&c, &cfg);
    let jobs = dir.join("jobs");
    let out = submit(SchedulerKind::Slurm, &cfg, &jobs, &["--retries", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    // The notify job follows the rounds, not the first array.
    assert!(!text(&out).contains("submitted notify"), "{}", text(&out));
    let st = wait_settled(SchedulerKind::Slurm, &jobs, 4);
    assert_eq!(stages(&st), ["train", "retry", "train", "retry"], "{st:#}");
    assert_eq!(
        st[0]["tasks"][0]["last_run"]["cause"], "time_limit",
        "{st:#}"
    );
    assert_eq!(st[2]["tasks"][0]["state"], "done", "{st:#}");
    let script = std::fs::read_to_string(jobs.join("train.resubmit-1.com")).unwrap();
    assert!(script.contains("\n#SBATCH --time=00:10:00\n"), "{script}");
    // The last retry job mails once its line is written.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !mail_log.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
    }
    let mail = std::fs::read_to_string(&mail_log).unwrap_or_default();
    assert!(
        mail.starts_with(
            "subject: hecjob: retry-slurm: retries: stopped at round 2 of 2: every task finished (1)\n"
        ),
        "{mail}"
    );
    assert_eq!(runs(dir, 1), 2);
}

/// A running task that Slurm requeues (`scontrol requeue`, as preemption
/// requeues a `--requeue` job) runs exactly once more: the scheduler requeues
/// it, the job script does not requeue it again, and `hecjob resubmit`
/// finds nothing to do.
#[test]
fn slurm_requeued_task_runs_exactly_once_more() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = experiment(
        dir,
        SchedulerKind::Slurm,
        1,
        "{ h_vmem: 200M, h_rt: \"00:05:00\", ngpus: 0 }",
        "if [ \"$RUN\" = 1 ]; then sleep 600; fi",
    );
    let jobs = dir.join("jobs");
    let out = submit(SchedulerKind::Slurm, &cfg, &jobs, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let record = hecjob::jobdir::SubmissionRecord::load(&jobs).unwrap();
    let task = format!("{}_1", record.jobs[0].id.number);
    let deadline = Instant::now() + Duration::from_secs(120);
    while runs(dir, 1) == 0 {
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::sleep(Duration::from_millis(500));
    }
    let requeue = Command::new("scontrol")
        .args(["requeue", &task])
        .env("SLURM_CONF", support::slurm_conf())
        .output()
        .unwrap();
    assert!(requeue.status.success(), "{}", text(&requeue));
    let st = wait_settled(SchedulerKind::Slurm, &jobs, 1);
    let t = &st[0]["tasks"][0];
    assert_eq!(t["state"], "done", "{st:#}");
    assert_eq!(runs(dir, 1), 2, "{st:#}");
    let again = hecjob(SchedulerKind::Slurm)
        .args(["resubmit", jobs.to_str().unwrap()])
        .output();
    assert!(
        text(&again).contains("nothing to resubmit"),
        "{}",
        text(&again)
    );
}

/// `submit --retries 1 --only train,predict` on Slurm: the predict stage is
/// not queued after the train array; the retry job, finding every task
/// finished, stops the retries and queues predict (to start at once) and
/// merge after it. (The stand-in train saves no model, so predict fails on
/// `best` and merge is cancelled: the record and the log are what count.)
#[test]
fn slurm_retries_queue_predict_when_they_stop() {
    if !support::have_slurm() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = experiment(
        dir,
        SchedulerKind::Slurm,
        1,
        "{ h_vmem: 200M, h_rt: \"00:05:00\", ngpus: 0 }",
        "true",
    );
    std::fs::write(dir.join("a.txt"), "one\ntwo\n").unwrap();
    let mut c = support::config::read(&cfg);
    c.predict = Some(serde_yaml_ng::from_str("{ model: best, inputs: [a.txt] }").unwrap());
    c.cluster.jobs.predict =
        serde_yaml_ng::from_str("{ h_vmem: 1G, h_rt: \"00:05:00\", ngpus: 0 }").unwrap();
    support::config::write(&c, &cfg);
    let jobs = dir.join("jobs");
    let out = submit(
        SchedulerKind::Slurm,
        &cfg,
        &jobs,
        &["--only", "predict", "--retries", "1"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("submitted predict"), "{}", text(&out));
    let st = wait_settled(SchedulerKind::Slurm, &jobs, 4);
    assert_eq!(
        stages(&st),
        ["train", "retry", "predict", "merge"],
        "{st:#}"
    );
    let logs = retry_logs(&jobs);
    assert!(
        logs.contains("hecjob retries: stopped at round 1 of 1: every task finished (1)\n")
            && logs.contains("hecjob retries: predict queued as job "),
        "{logs}"
    );
    let record = hecjob::jobdir::SubmissionRecord::load(&jobs).unwrap();
    assert_eq!(record.jobs[2].hold, Vec::<u64>::new(), "{st:#}");
}
