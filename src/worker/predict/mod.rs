//! Labels for a whole corpus (`hecjob predict MODEL --input FILE… --output
//! OUT`): the inputs streamed, never held whole.
//!
//! Rows are read in windows of `window` rows (across the input files, in
//! order); each window is tokenized, predicted in batches sorted by token
//! length (train::batches::predict_probs_for) and written back in input
//! order as one append to OUT (writer), after which `OUT.progress` records
//! the rows and bytes done (resume). A thread reads and tokenizes the next
//! window while the model predicts this one (`pipeline`). Memory is a few
//! windows' texts and ids, not the corpus's. Windows always start at multiples of `window` rows, so a
//! resumed run forms the same windows and batches as an uninterrupted one
//! and writes the same bytes.

pub mod gpu_batches;
pub mod precision;
pub mod reader;
pub mod resume;
pub mod writer;

use crate::util::error::{Error, Result};
use crate::worker::model::saved::LoadedModel;
use reader::{Columns, Input};
use resume::{FileKey, Record, RunKey};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tch::Device;
use writer::{Appender, Decision, Formatter, OutputFormat};

/// What to predict and how to write it.
#[derive(Debug, Clone)]
pub struct Job {
    pub inputs: Vec<Input>,
    pub columns: Columns,
    pub output: PathBuf,
    pub format: OutputFormat,
    pub probabilities: bool,
    pub threshold: Option<f64>,
    pub top_k: Option<usize>,
    /// How batches are cut (gpu_batches::BatchSize::decide).
    pub batching: gpu_batches::Batching,
    /// Rows per window (read, predicted and appended together).
    pub window: usize,
    pub resume: bool,
    /// What the model computes in (precision::set_up has applied it).
    pub compute: precision::Compute,
    /// Lines saying how the model was set up (precision::set_up), printed on
    /// stderr once the run begins: an error before that comes alone.
    pub log: Vec<String>,
    /// Only these rows (0-based, over the inputs read in order): a predict
    /// array task's shard. `None`: every row.
    pub rows: Option<std::ops::Range<u64>>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Rows written by this invocation.
    pub rows: u64,
    /// Rows a resumed run found written already.
    pub skipped: u64,
}

impl Job {
    /// The options a resume must find unchanged, as `--flag value`.
    fn options(&self, device: Device) -> Vec<(String, String)> {
        let opt = |f: &str, v: String| (f.to_string(), v);
        vec![
            // As given: a row's id may hold the path (`FILE:LINE`).
            opt(
                "--input",
                self.inputs
                    .iter()
                    .map(|i| i.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            opt(
                "--data-format",
                self.inputs
                    .iter()
                    .map(|i| i.format.name())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            opt("--text-column", self.columns.text.join(",")),
            opt("--text-join", format!("{:?}", self.columns.join)),
            opt(
                "--id-column",
                self.columns.id.clone().unwrap_or_else(|| "(none)".into()),
            ),
            opt("--format", format!("{:?}", self.format).to_lowercase()),
            opt("--probabilities", self.probabilities.to_string()),
            opt(
                "--threshold",
                self.threshold
                    .map_or("(the model's)".into(), |t| t.to_string()),
            ),
            opt(
                "--top-k",
                self.top_k.map_or("(none)".into(), |k| k.to_string()),
            ),
            // A GPU's batches follow its free memory, which may differ when
            // a run resumes: the labels do not depend on the batches.
            opt(
                "--batch-size",
                match self.batching.memory {
                    Some(_) => "auto".into(),
                    None => self.batching.max_rows.to_string(),
                },
            ),
            opt("--window", self.window.to_string()),
            opt("--cuda", (device != Device::Cpu).to_string()),
            // As decided, not as asked: `auto` is bf16 on one CPU, fp32 on another.
            opt(
                "--precision",
                match self.compute {
                    precision::Compute::Int8 => "fp32".into(),
                    c => c.name().into(),
                },
            ),
            opt(
                "--quantize",
                match self.compute {
                    precision::Compute::Int8 => "int8".into(),
                    _ => "(none)".into(),
                },
            ),
            opt(
                "--rows",
                self.rows
                    .as_ref()
                    .map_or("(all)".into(), |r| format!("{}..{}", r.start, r.end)),
            ),
        ]
    }

    fn run_key(&self, model_dir: &std::path::Path, device: Device) -> Result<RunKey> {
        Ok(RunKey {
            inputs: self
                .inputs
                .iter()
                .map(|i| FileKey::of(&i.path))
                .collect::<Result<_>>()?,
            model: FileKey::of(&model_dir.join("model.safetensors"))?,
            options: self.options(device),
        })
    }
}

/// Where a run starts: OUT opened for appending and the rows already in it.
struct Start {
    out: Appender,
    record: Record,
}

/// Open OUT fresh, or (`--resume`) as its sidecar left it; `None` when a
/// resumed run had already finished.
fn start(job: &Job, key: RunKey, header: &[u8]) -> Result<Option<Start>> {
    let out = &job.output;
    if !job.resume && out.exists() {
        return Err(Error::Usage(format!(
            "{} exists; pass --resume to continue the run that wrote it, or remove it (and {}) to start over",
            out.display(),
            resume::sidecar(out).display()
        )));
    }
    // Without --resume a progress file without its output is a stale one.
    let previous = if job.resume { Record::load(out)? } else { None };
    let fresh = Record {
        rows_done: 0,
        bytes: 0,
        done: false,
        run: key,
    };
    let Some(mut record) = previous else {
        if out.exists() {
            return Err(Error::Usage(format!(
                "--resume: {} has no {}, so what it holds is unknown; remove it to start over",
                out.display(),
                resume::sidecar(out).display()
            )));
        }
        // The sidecar first: a kill before the header leaves a resumable run.
        fresh.save(out)?;
        let mut a = Appender::create(out)?;
        return begin(&mut a, fresh, header, out).map(|record| Some(Start { out: a, record }));
    };
    resume::check_same(out, &record.run, &fresh.run)?;
    if record.done {
        return Ok(None);
    }
    record.run = fresh.run;
    if !out.exists() {
        if record.bytes > 0 {
            return Err(Error::Data(format!(
                "{}: missing, though {} records {} bytes written; remove {} to start over",
                out.display(),
                resume::sidecar(out).display(),
                record.bytes,
                resume::sidecar(out).display()
            )));
        }
        let mut a = Appender::create(out)?;
        return begin(&mut a, record, header, out).map(|record| Some(Start { out: a, record }));
    }
    let mut a = Appender::reopen(out, record.bytes)?;
    let record = if record.bytes == 0 {
        begin(&mut a, record, header, out)?
    } else {
        record
    };
    Ok(Some(Start { out: a, record }))
}

/// Write the header of an empty OUT and record it.
fn begin(
    a: &mut Appender,
    mut record: Record,
    header: &[u8],
    out: &std::path::Path,
) -> Result<Record> {
    a.append(header)?;
    record.bytes = a.bytes;
    record.save(out)?;
    Ok(record)
}

/// Predict every row of `job.inputs` with `lm` into `job.output`.
pub fn run(
    job: &Job,
    lm: &LoadedModel,
    model_dir: &std::path::Path,
    device: Device,
) -> Result<Summary> {
    for input in &job.inputs {
        reader::check_columns(input, &job.columns)?;
    }
    let formatter = Formatter {
        format: job.format,
        labels: lm.labels.clone(),
        decision: Decision {
            task: lm.task(),
            thresholds: lm.thresholds(job.threshold),
            top_k: job.top_k,
        },
        probabilities: job.probabilities,
    };
    let key = job.run_key(model_dir, device)?;
    let Some(Start { out, record }) = start(job, key, &formatter.header())? else {
        println!(
            "{}: already complete ({}); nothing to do",
            job.output.display(),
            resume::sidecar(&job.output).display()
        );
        return Ok(Summary {
            rows: 0,
            skipped: 0,
        });
    };
    for line in &job.log {
        eprintln!("{line}");
    }
    let skip = record.rows_done;
    if skip > 0 {
        println!("resuming {} after {skip} rows", job.output.display());
    }
    let mut sink = Sink {
        job,
        lm,
        device,
        formatter,
        out,
        record,
        written: 0,
        counter: RowCounter::new(),
    };
    pipeline(job, lm, skip, |window| sink.write(window))?;
    sink.record.done = true;
    sink.record.save(&job.output)?;
    sink.counter.finish(sink.written, &job.output);
    Ok(Summary {
        rows: sink.written,
        skipped: skip,
    })
}

/// One window of rows, read and tokenized: what the model takes next.
struct Window {
    ids: Vec<String>,
    tokens: Vec<Vec<i64>>,
}

/// Read and tokenize the windows on a thread of their own, one window ahead
/// of `write` (the model and the output, on this thread), so the model does
/// not wait for the reader and the tokenizer between windows: what keeps a
/// GPU busy, and on the CPU overlaps the reading of a window with the last
/// one's prediction. The windows arrive in input order. The first error
/// stops both: a failed write drops the channel, so the reader stops at its
/// next window; a reader's error (a bad row) comes after the whole windows
/// read before it were written, as it did without the thread.
fn pipeline(
    job: &Job,
    lm: &LoadedModel,
    skip: u64,
    mut write: impl FnMut(Window) -> Result<()>,
) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Window>(1);
    std::thread::scope(|s| {
        let encoder = &lm.encoder;
        let reader = s.spawn(move || read_windows(job, encoder, skip, &tx));
        let mut written = Ok(());
        for window in &rx {
            written = write(window);
            if written.is_err() {
                break;
            }
        }
        drop(rx);
        let read = reader.join().expect("the reader thread does not panic");
        // The writer's error first: after it, the reader only saw a closed channel.
        written.and(read)
    })
}

/// The stand-in error a reader returns to stop reading once the writer is gone.
const WRITER_GONE: &str = "the writer stopped";

/// Read the rows this run predicts (those past `skip`; within a shard,
/// `job.rows`), in windows of `job.window`, tokenized, into `tx`. A shard
/// begins where its first input's `from` says (the rows before it unread)
/// and stops reading at the end of its rows.
fn read_windows(
    job: &Job,
    encoder: &crate::worker::model::tokenize::TextEncoder,
    skip: u64,
    tx: &std::sync::mpsc::SyncSender<Window>,
) -> Result<()> {
    use std::ops::ControlFlow;
    let mut seen = 0u64;
    let mut ids = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let send = |ids: &mut Vec<String>, texts: &mut Vec<String>| -> Result<()> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let tokens = encoder.encode_all(&refs)?;
        texts.clear();
        let window = Window {
            ids: std::mem::take(ids),
            tokens,
        };
        tx.send(window)
            .map_err(|_| Error::Usage(WRITER_GONE.into()))
    };
    let end = job.rows.as_ref().map_or(u64::MAX, |r| r.end);
    for input in &job.inputs {
        if seen >= end {
            break;
        }
        // The rows before `from` are not read, but counted.
        seen += input.from.map_or(0, |f| f.row);
        reader::for_each_text(input, &job.columns, |id, text| {
            let row = seen;
            seen += 1;
            // Within a shard (job.rows), count from its first row.
            let nth = match &job.rows {
                Some(r) if !r.contains(&row) => None,
                Some(r) => Some(row - r.start),
                None => Some(row),
            };
            if nth.is_some_and(|n| n >= skip) {
                ids.push(id);
                texts.push(text);
                if ids.len() >= job.window {
                    send(&mut ids, &mut texts)?;
                }
            }
            // Stop on the shard's last row: the next is another shard's.
            Ok(if seen >= end {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })?;
    }
    if !ids.is_empty() {
        send(&mut ids, &mut texts)?;
    }
    Ok(())
}

/// Where the windows go: predicted, appended to OUT, recorded.
struct Sink<'a> {
    job: &'a Job,
    lm: &'a LoadedModel,
    device: Device,
    formatter: Formatter,
    out: Appender,
    record: Record,
    /// Rows written by this invocation.
    written: u64,
    counter: RowCounter,
}

impl Sink<'_> {
    /// Predict the window and append it, then record it.
    fn write(&mut self, w: Window) -> Result<()> {
        use crate::worker::train::batches::{by_length, predict_probs_in};
        let order = by_length(&w.tokens);
        let footprint = gpu_batches::Footprint::of(&self.lm.config, self.job.compute.bytes());
        let batches = self
            .job
            .batching
            .cut(&order, |i| w.tokens[i].len(), footprint);
        let probs = predict_probs_in(
            self.lm.task(),
            &self.lm.model,
            &w.tokens,
            self.lm.config.pad_token_id,
            &batches,
            self.device,
        );
        let chunk = self.formatter.rows(&w.ids, &probs);
        self.out.append(&chunk)?;
        let n = w.ids.len() as u64;
        self.record.rows_done += n;
        self.record.bytes = self.out.bytes;
        self.record.save(&self.job.output)?;
        self.written += n;
        self.counter.add(n);
        Ok(())
    }
}

/// Rows predicted: a spinner on a terminal, else a line now and then
/// (`predicted N rows (R rows/s)`) for a job's log. util::progress::Progress
/// needs a total, which a streamed corpus does not have before it is read.
struct RowCounter {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Instant,
    rows: u64,
}

impl RowCounter {
    const EVERY: Duration = Duration::from_secs(30);

    fn new() -> RowCounter {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] predicted {pos} rows ({per_sec})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let now = Instant::now();
        RowCounter {
            bar,
            started: now,
            last_line: now,
            rows: 0,
        }
    }

    fn rate(&self) -> f64 {
        self.rows as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }

    fn add(&mut self, n: u64) {
        self.rows += n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None if self.last_line.elapsed() >= Self::EVERY => {
                self.last_line = Instant::now();
                println!("predicted {} rows ({:.0} rows/s)", self.rows, self.rate());
            }
            None => {}
        }
    }

    fn finish(&self, rows: u64, out: &std::path::Path) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        println!(
            "predicted {rows} rows in {:.1} s ({:.0} rows/s) → {}",
            self.started.elapsed().as_secs_f64(),
            self.rate(),
            out.display()
        );
    }
}
