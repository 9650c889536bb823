//! The ASHA stopping rule on real rung files: records other tasks left in the
//! rung folder (written here by hand, as those tasks would), the first task at a
//! rung, ties, a task that reaches a rung again after a requeue, files that are
//! not records; and two processes reaching a rung at the same moment.

use hecjob::worker::asha::store::{check, file_name, RungStore, RUNGS_DIR};
use hecjob::worker::asha::Decision;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const SHA: &str = "c0ffee";
const METRIC: &str = "dev_macro_f1";
/// The array's tasks in these tests.
const TASKS: std::ops::RangeInclusive<u32> = 1..=9;

/// A record as task `task` would have written it.
fn hand_made(job_dir: &Path, epoch: u32, task: u32, value: Option<f64>, sha: &str) {
    let dir = job_dir.join(RUNGS_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    let json = serde_json::json!({
        "task": task, "epoch": epoch, "metric": METRIC, "value": value,
        "config_sha256": sha, "pid": 1, "recorded_unix": 0,
    });
    std::fs::write(dir.join(file_name(epoch, task)), json.to_string()).unwrap();
}

/// (rank, compared, kept, continues)
fn summary(d: &Decision) -> (usize, usize, usize, bool) {
    (d.rank, d.compared, d.kept, d.continues)
}

#[test]
fn first_task_at_a_rung_goes_on_and_leaves_its_record() {
    let job = tempfile::tempdir().unwrap();
    let store = RungStore::new(job.path(), SHA, TASKS);
    let d = check(&store, 5, 1, 1, METRIC, 0.01, 3).unwrap();
    assert_eq!(summary(&d), (1, 1, 1, true));
    assert_eq!((d.rung, d.epoch, d.value), (1, 1, 0.01));
    let recs = store.read(1).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!((recs[0].task, recs[0].value), (5, Some(0.01)));
    // Only the record itself is left in the folder (no temp file).
    let names: Vec<String> = std::fs::read_dir(&store.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [file_name(1, 5)]);
}

#[test]
fn only_the_top_third_of_the_results_so_far_goes_on() {
    let job = tempfile::tempdir().unwrap();
    for (task, v) in [(1, 0.40), (2, 0.10), (3, 0.30), (4, 0.20), (5, 0.05)] {
        hand_made(job.path(), 1, task, Some(v), SHA);
    }
    let store = RungStore::new(job.path(), SHA, TASKS);
    // Six results with this one: ⌊6/3⌋ = 2 go on. 0.35 is second.
    let d = check(&store, 6, 1, 1, METRIC, 0.35, 3).unwrap();
    assert_eq!(summary(&d), (2, 6, 2, true));
    // Seven now: still 2 go on, and 0.25 is fourth.
    let d = check(&store, 7, 1, 1, METRIC, 0.25, 3).unwrap();
    assert_eq!(summary(&d), (4, 7, 2, false));
    // Another rung's records are not compared.
    hand_made(job.path(), 3, 1, Some(0.9), SHA);
    let d = check(&store, 8, 2, 3, METRIC, 0.5, 3).unwrap();
    assert_eq!(summary(&d), (2, 2, 1, false));
}

#[test]
fn with_fewer_than_eta_results_only_the_best_goes_on() {
    let job = tempfile::tempdir().unwrap();
    hand_made(job.path(), 1, 1, Some(0.2), SHA);
    let store = RungStore::new(job.path(), SHA, TASKS);
    assert_eq!(
        summary(&check(&store, 2, 1, 1, METRIC, 0.1, 3).unwrap()),
        (2, 2, 1, false)
    );
    assert_eq!(
        summary(&check(&store, 3, 1, 1, METRIC, 0.3, 3).unwrap()),
        (1, 3, 1, true)
    );
}

#[test]
fn ties_go_to_the_lower_task_id() {
    let job = tempfile::tempdir().unwrap();
    hand_made(job.path(), 1, 2, Some(0.5), SHA);
    hand_made(job.path(), 1, 9, Some(0.5), SHA);
    let store = RungStore::new(job.path(), SHA, TASKS);
    // Three equal results, one goes on: task 2, the lowest id. Task 4 is second.
    assert_eq!(
        summary(&check(&store, 4, 1, 1, METRIC, 0.5, 3).unwrap()),
        (2, 3, 1, false)
    );
    // Task 1 with the same value ranks first among the four.
    assert_eq!(
        summary(&check(&store, 1, 1, 1, METRIC, 0.5, 3).unwrap()),
        (1, 4, 1, true)
    );
}

#[test]
fn a_requeued_task_keeps_its_first_record() {
    let job = tempfile::tempdir().unwrap();
    // Before the requeue, task 3 recorded 0.30 at epoch 1, then was stopped by
    // the scheduler before its checkpoint; two more tasks recorded since.
    hand_made(job.path(), 1, 3, Some(0.30), SHA);
    hand_made(job.path(), 1, 1, Some(0.50), SHA);
    hand_made(job.path(), 1, 2, Some(0.10), SHA);
    let own = job.path().join(RUNGS_DIR).join(file_name(1, 3));
    let before = std::fs::read(&own).unwrap();
    let store = RungStore::new(job.path(), SHA, TASKS);
    // The resumed attempt reaches epoch 1 again (with a slightly other value,
    // as a GPU may give): nothing is written, the first value stands, and the
    // task is counted once among three.
    let d = check(&store, 3, 1, 1, METRIC, 0.99, 3).unwrap();
    assert_eq!(
        std::fs::read(&own).unwrap(),
        before,
        "the record was rewritten"
    );
    assert_eq!(d.value, 0.30);
    assert_eq!(summary(&d), (2, 3, 1, false));
    let (rec, fresh) = store.record(3, 1, METRIC, 0.99).unwrap();
    assert!(!fresh);
    assert_eq!(rec.value, Some(0.30));
}

#[test]
fn other_configs_temp_files_and_unreadable_records_are_not_compared() {
    let job = tempfile::tempdir().unwrap();
    // From an earlier render of the experiment: another config.
    hand_made(job.path(), 1, 1, Some(0.9), "an-older-config");
    let dir = job.path().join(RUNGS_DIR);
    // Another task's write in progress, a stray file, a torn record.
    std::fs::write(dir.join(".hecjob-tmp-Ab12Cd.json"), "{\"task\": 2, \"val").unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    std::fs::write(dir.join(file_name(1, 7)), "{not json").unwrap();
    // A metric that was not a number ranks last.
    hand_made(job.path(), 1, 8, None, SHA);
    let store = RungStore::new(job.path(), SHA, TASKS);
    let d = check(&store, 4, 1, 1, METRIC, 0.01, 2).unwrap();
    assert_eq!(summary(&d), (1, 2, 1, true));
    // Task 1's slot from the older config is its own to replace.
    let (rec, fresh) = store.record(1, 1, METRIC, 0.2).unwrap();
    assert!(fresh);
    assert_eq!(rec.config_sha256, SHA);
}

#[test]
fn records_of_tasks_outside_the_array_or_under_alias_names_are_ignored() {
    let job = tempfile::tempdir().unwrap();
    let dir = job.path().join(RUNGS_DIR);
    // Forged or stray records that would outrank every real task: ids outside
    // the array (1..=9) and task 1's record again under an alias name.
    for task in [10, 11, 999] {
        hand_made(job.path(), 1, task, Some(1.0), SHA);
    }
    hand_made(job.path(), 1, 1, Some(0.2), SHA);
    std::fs::copy(dir.join(file_name(1, 1)), dir.join("rung-1.task-01.json")).unwrap();
    std::fs::copy(dir.join(file_name(1, 1)), dir.join("rung-01.task-1.json")).unwrap();
    let store = RungStore::new(job.path(), SHA, TASKS);
    // Task 2 is compared with task 1 alone (once): ⌊2/2⌋ = 1 goes on, and 0.3 is best.
    let d = check(&store, 2, 1, 1, METRIC, 0.3, 2).unwrap();
    assert_eq!(summary(&d), (1, 2, 1, true));
    let got: Vec<u32> = store.read(1).unwrap().iter().map(|r| r.task).collect();
    assert_eq!(got, [1, 2]);
}

#[test]
fn the_warnings_name_the_ignored_files_and_why() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &in_this_binary("ignored_records_child"),
            "--nocapture",
        ])
        .env("ASHA_IGNORED_CHILD", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning")).collect();
    assert!(out.status.success(), "{err}");
    let dir = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("DIR ").map(str::to_string))
        .unwrap();
    let mut warnings: Vec<String> = warnings.iter().map(|w| w.replace(&dir, "DIR")).collect();
    warnings.sort();
    assert_eq!(
        warnings,
        [
            "warning: ignoring DIR/rung-1.task-01.json: not a rung record's own name (task 1's \
             record at epoch 1 is rung-1.task-1.json)",
            "warning: ignoring DIR/rung-1.task-12.json: task 12 is not one of the array's tasks \
             (1-9), so its record is not compared",
            "warning: skipping a rung record: DIR/rung-1.task-3.json: is not a regular file (a \
             FIFO), so it is not a rung record hecjob wrote: remove it",
            "warning: skipping a rung record: DIR/rung-1.task-4.json: 65537 bytes is larger than \
             a rung record may be (65536 bytes), so it is not one hecjob wrote: remove it",
        ]
    );
}

/// Leaves an alias, an out-of-array record, a FIFO and a huge file in a rung
/// folder and reads it (the FIFO would block the read forever unless refused).
#[test]
fn ignored_records_child() {
    if std::env::var("ASHA_IGNORED_CHILD").is_err() {
        return;
    }
    let job = tempfile::tempdir().unwrap();
    let dir = job.path().join(RUNGS_DIR);
    hand_made(job.path(), 1, 1, Some(0.2), SHA);
    hand_made(job.path(), 1, 12, Some(0.9), SHA);
    std::fs::copy(dir.join(file_name(1, 1)), dir.join("rung-1.task-01.json")).unwrap();
    let fifo = std::ffi::CString::new(dir.join(file_name(1, 3)).to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let big = std::fs::File::create(dir.join(file_name(1, 4))).unwrap();
    big.set_len(64 * 1024 + 1).unwrap();
    println!("DIR {}", dir.display());
    let got: Vec<u32> = RungStore::new(job.path(), SHA, TASKS)
        .read(1)
        .unwrap()
        .iter()
        .map(|r| r.task)
        .collect();
    assert_eq!(got, [1]);
}

/// What a racing child does: wait for the start signal, then the whole rung step.
/// A test of this module by its full name in the test binary
/// (`asha_rungs::race_child`), for a child started with `--exact`.
fn in_this_binary(test: &str) -> String {
    format!("{}::{test}", module_path!().split_once("::").unwrap().1)
}

/// Runs only when the parent test starts this binary with ASHA_RACE_CHILD set.
#[test]
fn race_child() {
    let Ok(spec) = std::env::var("ASHA_RACE_CHILD") else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let (job, task, value, go) = (
        Path::new(parts[0]),
        parts[1].parse::<u32>().unwrap(),
        parts[2].parse::<f64>().unwrap(),
        Path::new(parts[3]),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !go.exists() {
        assert!(Instant::now() < deadline, "no start signal");
        std::thread::yield_now();
    }
    let d = check(
        &RungStore::new(job, SHA, TASKS),
        task,
        1,
        1,
        METRIC,
        value,
        2,
    )
    .unwrap();
    println!("DECISION {}", serde_json::to_string(&d).unwrap());
}

fn decision_of(out: &std::process::Output) -> Decision {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("DECISION ").map(|(_, d)| d))
        .unwrap_or_else(|| {
            panic!(
                "child printed no decision:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    serde_json::from_str(line).unwrap()
}

/// Two processes reach the first rung together, many times over, on real files.
/// Each writes its record before it reads, so at least one of the two always
/// sees both results; neither ever reads a torn record (a warning would say so);
/// and each decision follows the rule for what that process saw.
#[test]
fn two_processes_racing_at_a_rung() {
    let exe = std::env::current_exe().unwrap();
    let child_test = in_this_binary("race_child");
    for round in 0..12 {
        let job = tempfile::tempdir().unwrap();
        let go = job.path().join("go");
        let spawn = |task: u32, value: f64| {
            Command::new(&exe)
                .args(["--exact", &child_test, "--nocapture", "--test-threads", "1"])
                .env(
                    "ASHA_RACE_CHILD",
                    format!("{}|{task}|{value}|{}", job.path().display(), go.display()),
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        // Task 1 is better; η = 2.
        let a = spawn(1, 0.9);
        let b = spawn(2, 0.1);
        std::fs::write(&go, "").unwrap();
        let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(oa.status.success() && ob.status.success(), "round {round}");
        for o in [&oa, &ob] {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!err.contains("warning"), "round {round}: {err}");
        }
        let (da, db) = (decision_of(&oa), decision_of(&ob));
        assert!(
            da.compared == 2 || db.compared == 2,
            "round {round}: neither process saw the other's record: {da:?} {db:?}"
        );
        // What each saw decides: alone, it goes on; together, only task 1 does.
        assert_eq!(summary(&da), (1, da.compared, 1, true), "round {round}");
        let expect_b = if db.compared == 2 {
            (2, 2, 1, false)
        } else {
            (1, 1, 1, true)
        };
        assert_eq!(summary(&db), expect_b, "round {round}");
        // Exactly the two records are left, both whole.
        let store = RungStore::new(job.path(), SHA, TASKS);
        let recs = store.read(1).unwrap();
        let got: Vec<(u32, Option<f64>)> = recs.iter().map(|r| (r.task, r.value)).collect();
        assert_eq!(got, [(1, Some(0.9)), (2, Some(0.1))], "round {round}");
        let mut names: Vec<String> = std::fs::read_dir(&store.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [file_name(1, 1), file_name(1, 2)], "round {round}");
    }
}
