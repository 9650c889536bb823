//! The predict stage's two job commands, run in the job directory by the
//! rendered scripts: `hecjob predict-shard K` (predict.com, one per array
//! task) labels shard K of the inputs `predict.json` lists into
//! `predict/shard-K.*`, resuming an earlier run of the same shard, and writes
//! its summary; `hecjob predict-merge` (merge.com) checks that every shard
//! finished with exactly one output row per input row and concatenates them,
//! in input order, into `predict/predictions.*` (atomically: all or nothing).
//!
//! `predict.model: best` is chosen when a shard runs, from the task
//! directories, by the report's rule (report::build: the best dev macro-F1
//! among finished tasks), so predict can be held on the train array.

use crate::data::spec::Format;
use crate::jobdir::predict::{BestChoice, PredictPlan, ShardSummary};
use crate::util::error::{Error, Result};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct PredictShardArgs {
    /// The shard (the array task id, from 1).
    pub shard: u32,
    /// The job directory holding predict.json.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct PredictMergeArgs {
    /// The job directory holding predict.json.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// The model directory `plan.model` names: `best` resolved from the sweep's
/// task directories, a path checked to hold a model.
pub fn model_dir(plan_model: &str, job_dir: &Path) -> Result<PathBuf> {
    let dir = if plan_model == "best" {
        best_task_dir(job_dir)?
    } else {
        PathBuf::from(plan_model)
    };
    if !dir.join("model.safetensors").is_file() {
        return Err(Error::Usage(format!(
            "predict.model: {} holds no model.safetensors; {}",
            dir.display(),
            if plan_model == "best" {
                "the best task has not saved its model yet: wait for the train array to finish"
            } else {
                "give a model directory saved by `hecjob train` (or `best`)"
            }
        )));
    }
    Ok(dir)
}

/// The best task's directory: as this submission's first shard chose it
/// (`predict/best.json`), or chosen now by the report's rule and recorded.
fn best_task_dir(job_dir: &Path) -> Result<PathBuf> {
    let folder = job_dir.join(crate::jobdir::predict::PREDICT_DIR);
    std::fs::create_dir_all(&folder).map_err(|e| Error::io("creating", &folder, e))?;
    let _lock = crate::util::run_lock::FileLock::wait(
        &BestChoice::lock_path(job_dir),
        "another predict shard choosing the best task",
    )?;
    if let Some(chosen) = BestChoice::read(job_dir)? {
        return Ok(chosen.dir);
    }
    let (task, dir) = choose_best(job_dir)?;
    println!("predict.model: best is task {task} ({})", dir.display());
    BestChoice {
        task,
        dir: dir.clone(),
    }
    .write(job_dir)?;
    Ok(dir)
}

/// The best task and its directory, by the report's rule.
fn choose_best(job_dir: &Path) -> Result<(u32, PathBuf)> {
    let opts = crate::report::ReportOptions {
        qacct: None,
        ..Default::default()
    };
    let report = crate::report::build(job_dir, &opts)?;
    let none = || {
        Error::Usage(format!(
            "predict.model is `best`, but no task of {} has a dev score yet: \
             wait for the train array to finish, or set predict.model to a model directory",
            job_dir.display()
        ))
    };
    let best = report.best.ok_or_else(none)?;
    let found = crate::report::discover::discover(job_dir)?;
    let task = found
        .tasks
        .into_iter()
        .find(|t| t.id == best)
        .ok_or_else(none)?;
    let dir = task.dir.ok_or_else(|| {
        Error::Usage(format!(
            "predict.model is `best` (task {best}), but its directory is unknown: {}",
            task.problem.unwrap_or_default()
        ))
    })?;
    Ok((best, dir))
}

/// The model, set up as `hecjob predict` sets it up: threads from the task's
/// grant, precision and quantization as `predict:` says ([`shard_precision`]).
#[cfg(feature = "torch")]
fn load_model(
    model: &std::path::Path,
    dev: tch::Device,
    plan: &PredictPlan,
    shard: u32,
    output: &Path,
) -> Result<(
    crate::worker::model::saved::LoadedModel,
    crate::worker::predict::precision::SetUp,
)> {
    use crate::worker::predict::precision::Precision;
    let mut lm = crate::worker::model::saved::LoadedModel::trained(model, dev)?;
    let (precision, quantize, note) = shard_precision(plan, output)?;
    let set_up = crate::worker::predict::precision::set_up(&mut lm, precision, quantize, dev)
        .map_err(|e| match (note.is_some(), precision, e) {
            // Began in bf16 on a node with native bf16; this one has none.
            (true, Precision::Bf16, Error::Usage(m)) => Error::Usage(format!(
                "shard {shard} began in bf16 (predict.precision: auto, on a node whose CPU has \
                     it natively) and resumes on one without: {m}. Run it where the first run \
                     ran, or set predict.precision: fp32 and remove {}* to start the shard over",
                output.display()
            )),
            (_, _, e) => e,
        })?;
    let mut set_up = set_up;
    set_up.log.extend(note);
    Ok((lm, set_up))
}

/// What shard `output` computes in: `predict.precision` and `.quantize`;
/// with `auto`, a shard resumed from an earlier run keeps what that run
/// chose (its sidecar says), so one shard's rows come from one precision
/// even when its requeue lands on a node of another CPU kind.
#[cfg(feature = "torch")]
fn shard_precision(
    plan: &PredictPlan,
    output: &Path,
) -> Result<(
    crate::worker::predict::precision::Precision,
    Option<crate::worker::predict::precision::Quantize>,
    Option<String>,
)> {
    use crate::worker::predict::precision::{Precision, Quantize};
    let quantize = plan.quantize.as_ref().map(|_| Quantize::Int8);
    let asked = match plan.precision.as_str() {
        "fp32" => Precision::Fp32,
        "bf16" => Precision::Bf16,
        "fp16" => Precision::Fp16,
        _ => Precision::Auto,
    };
    if asked != Precision::Auto || quantize.is_some() {
        return Ok((asked, quantize, None));
    }
    let began = crate::worker::predict::resume::Record::load(output)?.and_then(|r| {
        r.run
            .options
            .into_iter()
            .find(|(flag, _)| flag == "--precision")
            .map(|(_, v)| v)
    });
    Ok(match began.as_deref() {
        Some("bf16") => (Precision::Bf16, None, Some(resumed_in("bf16"))),
        Some("fp16") => (Precision::Fp16, None, Some(resumed_in("fp16"))),
        Some("fp32") => (Precision::Fp32, None, Some(resumed_in("fp32"))),
        _ => (Precision::Auto, None, None),
    })
}

#[cfg(feature = "torch")]
fn resumed_in(precision: &str) -> String {
    format!("hecjob: resuming in {precision}, as this shard's first run chose (predict.precision: auto)")
}

/// Rows a shard reads, predicts and appends at a time (`hecjob predict
/// --window`'s default).
#[cfg(feature = "torch")]
const WINDOW: usize = 16384;

/// `hecjob predict-shard K`.
#[cfg(feature = "torch")]
pub fn run_shard(a: &PredictShardArgs) -> Result<()> {
    use crate::worker::predict::gpu_batches::BatchSize;
    use crate::worker::predict::reader::Columns;
    use crate::worker::predict::writer::OutputFormat;
    let plan = PredictPlan::read(&a.dir)?;
    if a.shard == 0 || a.shard > plan.shards {
        return Err(Error::Usage(format!(
            "shard {}: predict.json has shards 1 to {}",
            a.shard, plan.shards
        )));
    }
    let ShardInputs { inputs, rows, from } = shard_inputs(&plan, a.shard);
    for i in &inputs {
        unchanged(i)?;
    }
    let inputs = reader_inputs(&inputs, from);
    let model = model_dir(&plan.model, &a.dir)?;
    println!(
        "shard {}: rows {}..{} with {}",
        a.shard,
        rows.start,
        rows.end,
        model.display()
    );
    let dev = super::train::device(tch::Cuda::is_available())?;
    let output = plan.shard_output(&a.dir, a.shard);
    let (lm, set_up) = load_model(&model, dev, &plan, a.shard, &output)?;
    let size = plan.batch_size.map_or(BatchSize::Auto, BatchSize::Rows);
    let (batching, sized) = size.decide(set_up.gpu, WINDOW);
    let (compute, mut log) = (set_up.compute, set_up.log);
    log.extend(sized.map(|l| format!("hecjob: {l}")));
    let job = crate::worker::predict::Job {
        inputs,
        columns: Columns {
            text: plan.text_column.clone(),
            join: plan.text_join.clone(),
            id: plan.id_column.clone(),
        },
        output,
        format: if plan.format == "csv" {
            OutputFormat::Csv
        } else {
            OutputFormat::Jsonl
        },
        probabilities: plan.probabilities,
        threshold: plan.threshold,
        top_k: None,
        batching,
        window: WINDOW,
        resume: true,
        rows: Some(rows.clone()),
        compute,
        log,
    };
    let started = std::time::Instant::now();
    let done = crate::worker::predict::run(&job, &lm, &model, dev)?;
    let seconds = started.elapsed().as_secs_f64();
    // A shard found complete keeps the summary of the run that labelled it.
    if done.rows == 0 && ShardSummary::read(&a.dir, a.shard)?.is_some() {
        return Ok(());
    }
    ShardSummary {
        shard: a.shard,
        rows: rows.end - rows.start,
        predicted: done.rows,
        seconds,
        model: model.display().to_string(),
    }
    .write(&a.dir)
}

/// The plan's inputs as the reader takes them, the first from `from` (the
/// shard's first row).
#[cfg(feature = "torch")]
fn reader_inputs(
    inputs: &[&crate::jobdir::predict::PlanInput],
    from: Option<crate::jobdir::predict::RowStart>,
) -> Vec<crate::worker::predict::reader::Input> {
    use crate::worker::predict::reader::{Input, InputFormat};
    inputs
        .iter()
        .enumerate()
        .map(|(n, i)| Input {
            path: i.path.clone(),
            format: match i.format.as_str() {
                "csv" => InputFormat::Csv,
                "tsv" => InputFormat::Tsv,
                "jsonl" => InputFormat::Jsonl,
                _ => InputFormat::Text,
            },
            from: from.filter(|_| n == 0),
        })
        .collect()
}

/// A file the plan counted is the same size still: the shard's rows are
/// those rows only if it is.
pub fn unchanged(i: &crate::jobdir::predict::PlanInput) -> Result<()> {
    let now = std::fs::metadata(&i.path).map_err(|e| Error::io("reading", &i.path, e))?;
    if now.len() != i.bytes {
        return Err(Error::Data(format!(
            "{}: {} bytes, but {} when the job directory was rendered ({} rows counted); \
             the shards would not cover it: render and submit the predict stage again \
             (hecjob submit --only predict)",
            i.path.display(),
            now.len(),
            i.bytes,
            i.rows
        )));
    }
    Ok(())
}

/// The inputs shard `shard` reads (those its rows fall in), its rows counted
/// from the first of them, so a shard skips whole files before its own, and
/// where in the first its first row begins when the plan recorded it (a plan
/// written before `starts` were: None, read from the file's start).
pub fn shard_inputs(plan: &PredictPlan, shard: u32) -> ShardInputs<'_> {
    let want = plan.shard_rows(shard);
    let mut offset = 0u64;
    let mut first: Option<u64> = None;
    let mut inputs = Vec::new();
    for input in &plan.inputs {
        let (start, end) = (offset, offset + input.rows);
        offset = end;
        if input.rows == 0 || end <= want.start || start >= want.end {
            continue;
        }
        first.get_or_insert(start);
        inputs.push(input);
    }
    let base = first.unwrap_or(want.start);
    let rows = want.start - base..want.end - base;
    let from = inputs
        .first()
        .and_then(|i| i.starts.iter().find(|s| s.row == rows.start).copied());
    ShardInputs { inputs, rows, from }
}

/// What [`shard_inputs`] found.
#[derive(Debug, PartialEq)]
pub struct ShardInputs<'a> {
    pub inputs: Vec<&'a crate::jobdir::predict::PlanInput>,
    /// The shard's rows, 0-based from the first input's first row.
    pub rows: std::ops::Range<u64>,
    /// Where in the first input the shard's first row begins.
    pub from: Option<crate::jobdir::predict::RowStart>,
}

/// `hecjob predict-merge`.
pub fn run_merge(a: &PredictMergeArgs) -> Result<()> {
    let plan = PredictPlan::read(&a.dir)?;
    check_shards(&plan, &a.dir)?;
    let merged = plan.merged_output(&a.dir);
    crate::util::fsutil::replace_atomic(&merged, &format!(".{}", plan.format), |tmp| {
        let mut out = std::io::BufWriter::new(tmp.as_file_mut());
        for k in 1..=plan.shards {
            let path = plan.shard_output(&a.dir, k);
            let f = crate::util::fsutil::open_regular(&path)
                .map_err(|e| Error::io("reading", &path, e))?;
            let mut r = std::io::BufReader::new(f);
            // A CSV shard starts with the header: the merged file has it once.
            if plan.format == "csv" && k > 1 {
                let mut header = Vec::new();
                r.read_until(b'\n', &mut header)
                    .map_err(|e| Error::io("reading", &path, e))?;
            }
            std::io::copy(&mut r, &mut out).map_err(|e| Error::io("writing", &merged, e))?;
        }
        out.flush().map_err(|e| Error::io("writing", &merged, e))
    })?;
    println!(
        "merged {} rows from {} shard(s) → {}",
        plan.rows,
        plan.shards,
        merged.display()
    );
    Ok(())
}

/// Every shard finished, with one output row per input row.
fn check_shards(plan: &PredictPlan, dir: &Path) -> Result<()> {
    for k in 1..=plan.shards {
        let want = plan.shard_rows(k);
        let expected = want.end - want.start;
        let path = plan.shard_output(dir, k);
        let rerun =
            "run it again (hecjob submit --only predict resumes the shards that did not finish)";
        if !path.is_file() || ShardSummary::read(dir, k)?.is_none() {
            return Err(Error::Data(format!(
                "shard {k} (input rows {}..{}) did not finish: {} {}; see its log in logs/ and {rerun}",
                want.start,
                want.end,
                if path.is_file() { "has no summary beside" } else { "no" },
                path.display()
            )));
        }
        let got = output_rows(&path, &plan.format)?;
        if got != expected {
            return Err(Error::Data(format!(
                "shard {k}: {} holds {got} output rows for its {expected} input rows ({}..{}): {}; \
                 remove it (and its .progress and .summary.json) and {rerun}",
                path.display(),
                want.start,
                want.end,
                if got < expected {
                    "rows are missing"
                } else {
                    "rows are duplicated"
                }
            )));
        }
    }
    Ok(())
}

/// Data rows of a shard's output: JSONL lines, CSV records after the header.
fn output_rows(path: &Path, format: &str) -> Result<u64> {
    if format == "csv" {
        let mut rows = 0u64;
        crate::data::table::for_each_row(path, Format::Csv, |_, _| {
            rows += 1;
            Ok(())
        })?;
        return Ok(rows);
    }
    crate::experiment::predict::count_rows(path, "text")
}

/// `submit`/`run` without the train job: the model must be there already.
pub fn check_model_ready(job_dir: &Path) -> Result<()> {
    let plan = PredictPlan::read(job_dir)?;
    model_dir(&plan.model, job_dir).map(|_| ())
}

/// Before `submit`/`run` queues the predict stage: forget the best task an
/// earlier submission chose (predict/best.json), so this one chooses afresh.
/// With `--only …` naming it: the config must have a `predict:` section, and
/// without the train job in the same chain the model must exist already (for
/// `best`: a finished task, then chosen for this submission's shards).
pub fn check_only(
    only: &[crate::jobdir::JobKind],
    rendered: &crate::experiment::render::Rendered,
    job_dir: &Path,
) -> Result<()> {
    use crate::jobdir::JobKind;
    let named = |k: JobKind| only.contains(&k);
    if rendered.plan.job(JobKind::Predict).is_some() && (only.is_empty() || named(JobKind::Predict))
    {
        BestChoice::clear(job_dir)?;
    }
    if !named(JobKind::Predict) && !named(JobKind::Merge) {
        return Ok(());
    }
    if !rendered
        .plan
        .jobs
        .iter()
        .any(|j| j.kind == JobKind::Predict)
    {
        return Err(Error::Usage(
            "--only predict: the config has no `predict:` section; add one \
             (predict: {model: best, inputs: [corpus.txt]}) to label a corpus"
                .into(),
        ));
    }
    if named(JobKind::Predict) && !named(JobKind::Train) {
        check_model_ready(job_dir).map_err(|e| match e {
            Error::Usage(m) => Error::Usage(format!("--only predict: {m}")),
            other => other,
        })?;
    }
    Ok(())
}

/// `submit --only predict` (and/or merge) after the sweep: the record keeps
/// the jobs submitted before (install, download, train…) ahead of the new
/// ones, so `status` and `report` still find the train array. Any other
/// submission starts a fresh record, as before.
pub fn keep_earlier_jobs(
    only: &[crate::jobdir::JobKind],
    job_dir: &Path,
    jobs: Vec<crate::jobdir::submission::SubmittedJob>,
) -> Result<Vec<crate::jobdir::submission::SubmittedJob>> {
    use crate::jobdir::{JobKind, SubmissionRecord, SUBMISSION_FILE};
    let predict_only = !only.is_empty()
        && only
            .iter()
            .all(|k| matches!(k, JobKind::Predict | JobKind::Merge));
    if !predict_only || !job_dir.join(SUBMISSION_FILE).is_file() {
        return Ok(jobs);
    }
    let earlier = SubmissionRecord::load(job_dir)?;
    let predict_stages = [JobKind::Predict.as_str(), JobKind::Merge.as_str()];
    Ok(earlier
        .jobs
        .into_iter()
        .filter(|j| !predict_stages.contains(&j.stage.as_str()))
        .chain(jobs)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobdir::predict::PlanInput;

    fn plan(rows: &[u64], shard_size: u64) -> PredictPlan {
        let inputs = rows
            .iter()
            .enumerate()
            .map(|(i, r)| PlanInput {
                path: format!("f{i}").into(),
                format: "text".into(),
                rows: *r,
                bytes: 0,
                starts: vec![],
            })
            .collect();
        PredictPlan::for_tests(inputs, rows.iter().sum(), shard_size)
    }

    /// A shard reads only the files its rows fall in, its rows counted from
    /// the first of them; an empty file between others is skipped.
    #[test]
    fn a_shard_reads_only_the_files_its_rows_fall_in() {
        let p = plan(&[5, 0, 3, 4], 3);
        let got: Vec<(Vec<String>, std::ops::Range<u64>)> = (1..=p.shards)
            .map(|k| {
                let s = shard_inputs(&p, k);
                let names = s
                    .inputs
                    .iter()
                    .map(|f| f.path.display().to_string())
                    .collect();
                (names, s.rows)
            })
            .collect();
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            [
                (names(&["f0"]), 0..3),
                (names(&["f0", "f2"]), 3..6),
                (names(&["f2", "f3"]), 1..4),
                (names(&["f3"]), 1..4),
            ]
        );
    }

    /// A shard whose first row the plan located begins there in its first
    /// file; one that begins at a file's first row, or in a plan without
    /// starts, reads from the start.
    #[test]
    fn a_shard_begins_where_the_plan_located_its_first_row() {
        use crate::jobdir::predict::RowStart;
        let mut p = plan(&[5, 0, 3, 4], 3);
        let at = |row, byte| RowStart {
            row,
            byte,
            line: row + 1,
        };
        p.inputs[0].starts = vec![at(3, 30)];
        p.inputs[2].starts = vec![at(1, 10)];
        p.inputs[3].starts = vec![at(1, 7)];
        let from: Vec<_> = (1..=p.shards).map(|k| shard_inputs(&p, k).from).collect();
        assert_eq!(
            from,
            [None, Some(at(3, 30)), Some(at(1, 10)), Some(at(1, 7))]
        );
        p.inputs.iter_mut().for_each(|i| i.starts.clear());
        assert!((1..=p.shards).all(|k| shard_inputs(&p, k).from.is_none()));
    }

    /// Submitting the predict stage again after the sweep keeps the train
    /// job in the record and replaces an earlier predict and merge.
    #[test]
    fn only_predict_keeps_the_earlier_jobs_in_the_record() {
        use crate::jobdir::job_id::JobId;
        use crate::jobdir::submission::SubmittedJob;
        use crate::jobdir::{JobKind, SubmissionRecord};
        let dir = tempfile::tempdir().unwrap();
        let job = |stage: &str, n: u64| SubmittedJob {
            stage: stage.into(),
            name: format!("e-{stage}"),
            script: format!("{stage}.com").into(),
            sha256: String::new(),
            id: JobId::single(n),
            hold: vec![],
            command: crate::jobdir::submission::CommandLine::anywhere(vec!["qsub".into()]),
            requests: None,
        };
        let stages = |jobs: &[SubmittedJob]| -> Vec<(String, u64)> {
            jobs.iter()
                .map(|j| (j.stage.clone(), j.id.number))
                .collect()
        };
        let earlier = vec![job("train", 3), job("predict", 4), job("merge", 5)];
        SubmissionRecord::new("sge", None, dir.path(), earlier)
            .write(dir.path())
            .unwrap();
        let new = vec![job("predict", 7), job("merge", 8)];
        let kept = keep_earlier_jobs(&[JobKind::Predict], dir.path(), new.clone()).unwrap();
        assert_eq!(
            stages(&kept),
            [
                ("train".into(), 3),
                ("predict".into(), 7),
                ("merge".into(), 8)
            ]
        );
        let fresh = keep_earlier_jobs(&[], dir.path(), new.clone()).unwrap();
        assert_eq!(stages(&fresh), stages(&new));
    }

    #[test]
    fn a_file_changed_since_render_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "one\ntwo\nthree\n").unwrap();
        let input = PlanInput {
            path: path.clone(),
            format: "text".into(),
            rows: 2,
            bytes: 8,
            starts: vec![],
        };
        assert_eq!(
            unchanged(&input).unwrap_err().to_string(),
            format!(
                "{}: 14 bytes, but 8 when the job directory was rendered (2 rows counted); \
                 the shards would not cover it: render and submit the predict stage again \
                 (hecjob submit --only predict)",
                path.display()
            )
        );
    }

    /// `predict.precision: auto` lets each node choose, except for a shard
    /// resumed from an earlier run: it keeps the precision that run chose, so
    /// one shard's rows come from one precision; a precision the config names
    /// is used as named.
    #[cfg(feature = "torch")]
    #[test]
    fn a_resumed_shard_keeps_the_precision_it_began_with() {
        use crate::worker::predict::precision::{Precision, Quantize};
        use crate::worker::predict::resume::{FileKey, Record, RunKey};
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("shard-1.jsonl");
        let mut p = plan(&[4], 4);
        let chosen = |p: &PredictPlan| {
            let (precision, quantize, note) = shard_precision(p, &out).unwrap();
            (precision, quantize, note.is_some())
        };
        assert_eq!(chosen(&p), (Precision::Auto, None, false));
        let key = FileKey {
            path: "m".into(),
            size: 0,
            mtime_ns: 0,
        };
        Record {
            rows_done: 2,
            bytes: 10,
            done: false,
            run: RunKey {
                inputs: vec![],
                model: key,
                options: vec![("--precision".into(), "bf16".into())],
            },
        }
        .save(&out)
        .unwrap();
        assert_eq!(chosen(&p), (Precision::Bf16, None, true));
        p.precision = "fp32".into();
        assert_eq!(chosen(&p), (Precision::Fp32, None, false));
        p.precision = "auto".into();
        p.quantize = Some("int8".into());
        assert_eq!(chosen(&p), (Precision::Auto, Some(Quantize::Int8), false));
    }
}
