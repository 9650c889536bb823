//! The predict stage's merge (`hecjob predict-merge`, what merge.com runs) on
//! hand-made shards: concatenated in input order when each shard holds one
//! output row per input row, refused with the shard named when one is
//! missing a row, holds one twice, or never finished — and then nothing is
//! written.

use crate::support::Hecjob;
use hecjob::jobdir::predict::{PredictPlan, ShardSummary, PREDICT_PLAN_FILE};
use std::path::Path;

/// A job directory whose plan has 5 rows in shards of 2 (3 shards), and
/// shard K's output `rows[K-1]` (JSONL lines), each with its summary.
fn job_dir(rows: [&[&str]; 3], format: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let plan = PredictPlan {
        model: "best".into(),
        inputs: vec![],
        rows: 5,
        shard_size: 2,
        shards: 3,
        format: format.into(),
        probabilities: false,
        threshold: None,
        batch_size: Some(64),
        text_column: vec!["text".into()],
        text_join: " ".into(),
        id_column: None,
        precision: "auto".into(),
        quantize: None,
    };
    std::fs::write(dir.path().join(PREDICT_PLAN_FILE), plan.to_json()).unwrap();
    std::fs::create_dir(dir.path().join("predict")).unwrap();
    for (k, lines) in (1..).zip(rows) {
        let mut text: String = if format == "csv" {
            "id,labels\n".into()
        } else {
            String::new()
        };
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(plan.shard_output(dir.path(), k), text).unwrap();
        ShardSummary {
            shard: k,
            rows: lines.len() as u64,
            predicted: lines.len() as u64,
            seconds: 1.0,
            model: "m".into(),
        }
        .write(dir.path())
        .unwrap();
    }
    dir
}

fn merge(dir: &Path) -> crate::support::cmd::Run {
    Hecjob::new()
        .args(["predict-merge", "--dir"])
        .arg(dir)
        .run()
}

#[test]
fn merge_concatenates_the_shards_in_input_order() {
    let d = job_dir(
        [
            &["{\"id\":1}", "{\"id\":2}"],
            &["{\"id\":3}", "{\"id\":4}"],
            &["{\"id\":5}"],
        ],
        "jsonl",
    );
    let merged = d.path().join("predict/predictions.jsonl");
    merge(d.path()).success().stdout_eq(&format!(
        "merged 5 rows from 3 shard(s) → {}\n",
        merged.display()
    ));
    assert_eq!(
        std::fs::read_to_string(&merged).unwrap(),
        "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n{\"id\":4}\n{\"id\":5}\n"
    );
}

#[test]
fn merge_keeps_one_csv_header() {
    let d = job_dir([&["1,a", "2,b"], &["3,", "4,c"], &["5,d"]], "csv");
    merge(d.path()).success();
    assert_eq!(
        std::fs::read_to_string(d.path().join("predict/predictions.csv")).unwrap(),
        "id,labels\n1,a\n2,b\n3,\n4,c\n5,d\n"
    );
}

#[test]
fn merge_names_the_shard_missing_a_row_and_writes_nothing() {
    let d = job_dir(
        [
            &["{\"id\":1}", "{\"id\":2}"],
            &["{\"id\":3}"],
            &["{\"id\":5}"],
        ],
        "jsonl",
    );
    let shard = d.path().join("predict/shard-2.jsonl");
    merge(d.path()).code(3).stderr_eq(&format!(
        "error: shard 2: {} holds 1 output rows for its 2 input rows (2..4): rows are missing; \
         remove it (and its .progress and .summary.json) and run it again \
         (hecjob submit --only predict resumes the shards that did not finish)\n",
        shard.display()
    ));
    assert!(!d.path().join("predict/predictions.jsonl").exists());
}

#[test]
fn merge_names_the_shard_with_a_duplicated_row() {
    let d = job_dir(
        [
            &["{\"id\":1}", "{\"id\":2}"],
            &["{\"id\":3}", "{\"id\":4}"],
            &["{\"id\":5}", "{\"id\":5}"],
        ],
        "jsonl",
    );
    let shard = d.path().join("predict/shard-3.jsonl");
    merge(d.path()).code(3).stderr_eq(&format!(
        "error: shard 3: {} holds 2 output rows for its 1 input rows (4..5): rows are duplicated; \
         remove it (and its .progress and .summary.json) and run it again \
         (hecjob submit --only predict resumes the shards that did not finish)\n",
        shard.display()
    ));
    assert!(!d.path().join("predict/predictions.jsonl").exists());
}

#[test]
fn merge_names_a_shard_that_did_not_finish() {
    let d = job_dir(
        [
            &["{\"id\":1}", "{\"id\":2}"],
            &["{\"id\":3}", "{\"id\":4}"],
            &["{\"id\":5}"],
        ],
        "jsonl",
    );
    std::fs::remove_file(ShardSummary::path(d.path(), 2)).unwrap();
    let shard = d.path().join("predict/shard-2.jsonl");
    merge(d.path()).code(3).stderr_eq(&format!(
        "error: shard 2 (input rows 2..4) did not finish: has no summary beside {}; \
         see its log in logs/ and run it again \
         (hecjob submit --only predict resumes the shards that did not finish)\n",
        shard.display()
    ));
}

/// `report` shows each shard's rows and rows/s, and whether the merge ran.
#[test]
fn report_shows_rows_per_second_per_shard() {
    let d = job_dir(
        [
            &["{\"id\":1}", "{\"id\":2}"],
            &["{\"id\":3}", "{\"id\":4}"],
            &["{\"id\":5}"],
        ],
        "jsonl",
    );
    std::fs::remove_file(ShardSummary::path(d.path(), 3)).unwrap();
    let facts = hecjob::report::predict::facts(d.path()).unwrap().unwrap();
    assert_eq!(
        hecjob::report::predict::text(&facts),
        [
            "Predict: 5 input rows in 3 shard(s) of 2",
            " shard       rows  predicted   seconds     rows/s",
            "     1          2          2       1.0        2.0",
            "     2          2          2       1.0        2.0",
            "     3          1   not done",
            "merged: not yet (the merge job writes predict/predictions.*)",
            "",
        ]
        .join("\n")
    );
}

/// `--only predict` before any task has finished: refused at once, naming
/// why, instead of queueing shards that would all fail; and a config without
/// `predict:` has nothing to submit.
#[test]
fn only_predict_needs_a_finished_model_and_a_predict_section() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.txt"), "one\ntwo\n").unwrap();
    let cfg = tmp.path().join("c.yaml");
    let base = "experiment:\n  name: label\ncluster:\n  storage_root: /tmp/hecjob-none\n";
    std::fs::write(
        &cfg,
        format!("{base}predict:\n  model: best\n  inputs: [a.txt]\n"),
    )
    .unwrap();
    let jobs = tmp.path().join("jobs");
    let run = |cfg: &Path| {
        Hecjob::new()
            .args(["run", "--local", "--only", "predict", "--out"])
            .arg(&jobs)
            .arg(cfg)
            .run()
    };
    // An earlier submission's choice of the best task is forgotten: this
    // submission chooses again (and finds none yet).
    let earlier = tmp.path().join("earlier-best");
    std::fs::create_dir_all(&earlier).unwrap();
    std::fs::write(earlier.join("model.safetensors"), b"").unwrap();
    std::fs::create_dir_all(jobs.join("predict")).unwrap();
    std::fs::write(
        jobs.join("predict/best.json"),
        format!(
            "{{\"task\": 1, \"dir\": {:?}}}",
            earlier.display().to_string()
        ),
    )
    .unwrap();
    run(&cfg).code(2).stderr_eq(&format!(
        "error: --only predict: predict.model is `best`, but no task of {} has a dev score yet: \
         wait for the train array to finish, or set predict.model to a model directory\n",
        jobs.display()
    ));
    assert!(!jobs.join("predict/best.json").exists());
    std::fs::write(
        &cfg,
        format!("{base}predict:\n  model: nowhere\n  inputs: [a.txt]\n"),
    )
    .unwrap();
    run(&cfg).code(2).stderr_eq(&format!(
        "error: --only predict: predict.model: {} holds no model.safetensors; \
         give a model directory saved by `hecjob train` (or `best`)\n",
        tmp.path().join("nowhere").display()
    ));
    let bare = tmp.path().join("bare.yaml");
    std::fs::write(&bare, base).unwrap();
    run(&bare).code(2).stderr_eq(
        "error: --only predict: the config has no `predict:` section; add one \
         (predict: {model: best, inputs: [corpus.txt]}) to label a corpus\n",
    );
}

/// A Slurm experiment with two train tasks, `cluster.retries: 2` and a
/// `predict:` section, rendered into `jobs/` under `tmp`; stand-ins for
/// `sbatch` (each call logged to `sbatch.calls`, ids from 200 up), `squeue`
/// (no job queued) and `sacct` (`acct`: the train tasks' records).
fn retried_experiment(tmp: &Path, acct: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    std::fs::write(tmp.join("a.txt"), "one\ntwo\n").unwrap();
    let cfg = tmp.join("c.yaml");
    std::fs::write(
        &cfg,
        "experiment:\n  name: label\ncluster:\n  scheduler: slurm\n  gpu_queue: gpu-short\n  \
         storage_root: /tmp/hecjob-none\n  retries: 2\n  jobs:\n    train: {h_vmem: 4G}\n\
         sweep: {learning_rate: [1e-5, 2e-5]}\n\
         predict:\n  model: best\n  inputs: [a.txt]\n",
    )
    .unwrap();
    let jobs = tmp.join("jobs");
    Hecjob::new()
        .args(["render", "--out"])
        .arg(&jobs)
        .arg(&cfg)
        .run()
        .success();
    let bin = tmp.join("bin");
    let calls = tmp.join("sbatch.calls");
    crate::support::stand_in(
        &bin,
        "sbatch",
        &format!(
            "#!/bin/bash\necho \"$*\" >> {calls}\necho $((199 + $(wc -l < {calls})))\n",
            calls = calls.display()
        ),
    );
    crate::support::stand_in(&bin, "squeue", "#!/bin/bash\nexit 0\n");
    let sacct = if acct == "down" {
        "#!/bin/bash\necho 'sacct: error: slurmdbd is down' >&2\nexit 1\n".to_string()
    } else {
        format!("#!/bin/bash\nprintf 'JobID|State|ExitCode\\n{acct}'\n")
    };
    crate::support::stand_in(&bin, "sacct", &sacct);
    (jobs, bin)
}

/// The record of a `submit --retries 2` that left the predict stage to the
/// retry job: the train array (job 100, tasks 1-2) and round 1 (job 101).
fn record_train_and_retry(jobs: &Path) {
    use hecjob::jobdir::job_id::{JobId, TaskRange};
    use hecjob::jobdir::submission::{CommandLine, SubmittedJob};
    let job = |stage: &str, id: JobId| SubmittedJob {
        stage: stage.into(),
        name: format!("label-{stage}"),
        script: format!("{stage}.com").into(),
        sha256: String::new(),
        id,
        hold: vec![],
        command: CommandLine::anywhere(vec!["sbatch".into()]),
        requests: None,
    };
    let train = JobId {
        number: 100,
        tasks: Some(TaskRange::new(1, 2, 1).unwrap()),
    };
    hecjob::jobdir::SubmissionRecord::new(
        "slurm",
        None,
        jobs,
        vec![job("train", train), job("retry", JobId::single(101))],
    )
    .write(jobs)
    .unwrap();
}

/// `hecjob resubmit --retry-round K --retries 2 --then-predict`, as retry.com runs it.
fn retry_round(jobs: &Path, bin: &Path, round: &str) -> crate::support::cmd::Run {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    Hecjob::new()
        .env("PATH", path)
        .arg("resubmit")
        .arg(jobs)
        .args(["--retry-round", round, "--retries", "2", "--then-predict"])
        .run()
}

/// (stage, id, hold) of each job in the record.
fn recorded(jobs: &Path) -> Vec<(String, u64, Vec<u64>)> {
    hecjob::jobdir::SubmissionRecord::load(jobs)
        .unwrap()
        .jobs
        .into_iter()
        .map(|j| (j.stage, j.id.number, j.hold))
        .collect()
}

/// `submit --retries` with a `predict:` section: predict is not held on the
/// first train array (it would pin `best` before the rounds end); the retry
/// job carries `--then-predict`, and the dry run says who queues predict.
#[test]
fn with_retries_submit_leaves_predict_to_the_retry_job() {
    let tmp = tempfile::tempdir().unwrap();
    let (jobs, _) = retried_experiment(tmp.path(), "");
    let out = Hecjob::new()
        .args(["submit", "--dry-run", "--out"])
        .arg(&jobs)
        .arg(tmp.path().join("c.yaml"))
        .run()
        .success()
        .stdout();
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(".com")).collect();
    assert_eq!(
        lines,
        [
            "sbatch --parsable install.com    # install → job 1",
            "sbatch --parsable --dependency=afterok:1 --kill-on-invalid-dep=yes download.com    # download → job 2",
            "sbatch --parsable --dependency=afterok:2 --kill-on-invalid-dep=yes train.com    # train → job 3",
            "sbatch --parsable --dependency=afterany:3 retry.com 1 --then-predict    # retry → job 4",
        ],
        "{out}"
    );
    assert!(
        out.ends_with(
            "# predict and merge are not queued after train: the retry job queues them once \
             the retries stop, after the last round's jobs (cluster.retries).\n"
        ),
        "{out}"
    );
}

/// `render` shows the chain `submit` runs: with retries, no predict stage
/// after train, and a line that says who queues it.
#[test]
fn with_retries_render_shows_predict_left_to_the_retry_job() {
    let tmp = tempfile::tempdir().unwrap();
    let (jobs, _) = retried_experiment(tmp.path(), "");
    let out = Hecjob::new()
        .args(["render", "--out"])
        .arg(&jobs)
        .arg(tmp.path().join("c.yaml"))
        .run()
        .success()
        .stdout();
    let chain: Vec<&str> = out.lines().filter(|l| l.contains("sbatch")).collect();
    assert_eq!(chain.len(), 3, "{out}");
    assert!(chain[2].contains("train.com"), "{out}");
    assert!(
        out.ends_with(
            "  # then predict and merge, queued by the retry job once the retries stop \
             (cluster.retries)\n"
        ),
        "{out}"
    );
}

/// The last round queues the predict stage after the jobs it resubmitted
/// (predict afterany on them, merge after predict), and records both.
#[test]
fn the_last_round_queues_predict_after_the_jobs_it_resubmitted() {
    let tmp = tempfile::tempdir().unwrap();
    let (jobs, bin) = retried_experiment(
        tmp.path(),
        "100_1|COMPLETED|0:0\\n100_2|OUT_OF_MEMORY|0:125\\n",
    );
    record_train_and_retry(&jobs);
    let out = retry_round(&jobs, &bin, "2").success().stdout();
    assert!(
        out.contains(
            "hecjob retries: round 2 of 2 (the last): resubmitted as job 200\n\
             hecjob retries: predict queued as job 201 after job 200; merge as job 202 after it\n"
        ),
        "{out}"
    );
    let calls = std::fs::read_to_string(tmp.path().join("sbatch.calls")).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(
        calls[1..],
        [
            "--parsable --dependency=afterany:200 predict.com",
            "--parsable --dependency=afterok:201 --kill-on-invalid-dep=yes merge.com",
        ],
        "{calls:?}"
    );
    assert_eq!(
        recorded(&jobs)[2..],
        [
            ("train".to_string(), 200, vec![]),
            ("predict".to_string(), 201, vec![200]),
            ("merge".to_string(), 202, vec![201]),
        ]
    );
}

/// A round that resubmits nothing (every task finished) stops the retries:
/// predict is queued to start now; the same round run again (a requeued
/// retry job) finds it in the record and queues nothing more.
#[test]
fn a_round_that_stops_the_retries_queues_predict_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (jobs, bin) =
        retried_experiment(tmp.path(), "100_1|COMPLETED|0:0\\n100_2|COMPLETED|0:0\\n");
    record_train_and_retry(&jobs);
    retry_round(&jobs, &bin, "1").success().stdout_eq(
        "nothing to resubmit\n\
         hecjob retries: stopped at round 1 of 2: every task finished (2)\n\
         hecjob retries: predict queued as job 200 to start now; merge as job 201 after it\n",
    );
    retry_round(&jobs, &bin, "1").success().stdout_eq(
        "nothing to resubmit\n\
         hecjob retries: stopped at round 1 of 2: every task finished (2)\n\
         hecjob retries: the predict stage was queued already (job 200)\n",
    );
    let calls = std::fs::read_to_string(tmp.path().join("sbatch.calls")).unwrap();
    assert_eq!(
        calls,
        "--parsable predict.com\n--parsable --dependency=afterok:200 --kill-on-invalid-dep=yes merge.com\n"
    );
    assert_eq!(
        recorded(&jobs),
        [
            ("train".to_string(), 100, vec![]),
            ("retry".to_string(), 101, vec![]),
            ("predict".to_string(), 200, vec![]),
            ("merge".to_string(), 201, vec![200]),
        ]
    );
}

/// A round that cannot learn how the tasks ended (sacct fails) stops the
/// retries with the error, and still queues the predict stage: the jobs the
/// retry job was held on have ended, so it starts now.
#[test]
fn a_round_that_fails_still_queues_predict() {
    let tmp = tempfile::tempdir().unwrap();
    let (jobs, bin) = retried_experiment(tmp.path(), "down");
    record_train_and_retry(&jobs);
    let run = retry_round(&jobs, &bin, "1").code(6);
    assert_eq!(
        run.stdout(),
        "hecjob retries: predict queued as job 200 to start now; merge as job 201 after it\n"
    );
    assert!(
        run.stderr().contains("slurmdbd is down"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        recorded(&jobs)[2..],
        [
            ("predict".to_string(), 200, vec![]),
            ("merge".to_string(), 201, vec![200]),
        ]
    );
}
