//! `hecjob predict`: labels for texts with a trained model (those above the
//! threshold; a single-label model's most probable class): texts on the
//! command line, printed; or whole files (`--input … --output OUT`),
//! streamed through worker::predict, which writes JSONL or CSV and resumes.

use super::train::device;
use crate::cli::data_flags::DataFlags;
use crate::data::spec::DataSpec;
use crate::util::error::{Error, Result};
use crate::worker::model::saved::{resolve, LoadedModel};
use crate::worker::predict::gpu_batches::BatchSize;
use crate::worker::predict::precision::{set_up, Precision, Quantize};
use crate::worker::predict::reader::{Columns, Input, InputFormat};
use crate::worker::predict::writer::{Decision, OutputFormat};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// A model directory saved by `hecjob train`, or any transformers
    /// `*ForSequenceClassification` directory or Hub id (labels from its
    /// `id2label`; a Hub id is read from the Hugging Face cache, where
    /// `hecjob download-model ID` puts it).
    pub model: String,
    /// The Hub revision (branch, tag or commit) of a Hub id.
    #[arg(long)]
    pub revision: Option<String>,
    /// Texts to classify (or --input files).
    #[arg(required_unless_present = "input", conflicts_with = "input")]
    pub texts: Vec<String>,
    /// Probability above which a label is predicted (default: the model's
    /// per-label thresholds tuned on dev if it has them, else its training
    /// threshold). A single-label model predicts its most probable class.
    #[arg(long, value_parser = crate::cli::flag_values::threshold)]
    pub threshold: Option<f64>,
    /// Show the K most probable labels instead of those above the threshold.
    #[arg(long, value_parser = crate::cli::flag_values::at_least_one::<usize>)]
    pub top_k: Option<usize>,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with = "input")]
    pub json: bool,
    /// Run the model on the GPU (an error if none is usable).
    #[arg(long)]
    pub cuda: bool,
    /// What the model computes in: `auto` is bf16 where the CPU has native
    /// bf16 (AMX-BF16 or AVX512-BF16; the log says which), else fp32; on a
    /// GPU bf16 from compute capability 8.0, fp16 on 7.x. `bf16` on a CPU
    /// without it, and `fp16` on a CPU, are errors.
    #[arg(long, value_enum, default_value = "auto")]
    pub precision: Precision,
    /// `int8`: the encoder's linear layers in dynamic int8 (CPU only),
    /// fastest on CPUs with VNNI; labels agree with fp32 for
    /// nearly every text (BENCHMARKS.md).
    #[arg(long, value_enum, value_name = "KIND")]
    pub quantize: Option<Quantize>,
    #[command(flatten)]
    pub files: FileArgs,
}

/// Whole files in, one output file out.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Files (label a corpus)")]
pub struct FileArgs {
    /// A file to label: plain text (one text per line, `.txt`), CSV, TSV or
    /// JSONL; repeat for several, read in the order given. Each output row's
    /// id is the --id-column's value, else `FILE:LINE` (the path as given,
    /// the line the row starts on).
    #[arg(long, value_name = "FILE", requires = "output")]
    pub input: Vec<PathBuf>,
    /// Where to write one row per input row, in input order. An existing file
    /// is an error unless --resume; `OUT.progress` beside it records what is done.
    #[arg(long, value_name = "OUT", requires = "input")]
    pub output: Option<PathBuf>,
    /// How OUT is written (labels most probable first).
    #[arg(long, value_enum, default_value = "jsonl", requires = "input")]
    pub format: OutputFormat,
    /// Also write every label's probability.
    #[arg(long, requires = "input")]
    pub probabilities: bool,
    /// Texts per forward pass (batches are formed by token length); `auto`
    /// is 64 on the CPU, and with --cuda as many as the GPU's free memory
    /// allows (read through NVML once the model is on it; at most --window).
    #[arg(
        long,
        value_name = "N|auto",
        default_value = "auto",
        requires = "input"
    )]
    pub batch_size: BatchSize,
    /// Rows read, predicted and appended to OUT at a time (memory grows with
    /// it; a --resume must give the same).
    #[arg(long, value_name = "ROWS", default_value = "16384", requires = "input",
          value_parser = crate::cli::flag_values::at_least_one::<usize>)]
    pub window: usize,
    /// Continue the run that wrote OUT where it stopped (same inputs, model and
    /// options); starts one if there is no OUT, and does nothing if it finished.
    #[arg(long, requires = "input")]
    pub resume: bool,
    /// How the input files are written (default: from the extension; `text`
    /// is one text per line).
    #[arg(
        long = "data-format",
        value_enum,
        value_name = "FORMAT",
        requires = "input"
    )]
    pub data_format: Option<InputFormat>,
    /// The column holding the text; repeat (or comma-separate) to join several.
    #[arg(long, value_name = "COLUMN", value_delimiter = ',', requires = "input")]
    pub text_column: Vec<String>,
    /// What joins several text columns (default: a space).
    #[arg(long, value_name = "TEXT", requires = "input")]
    pub text_join: Option<String>,
    /// A column naming each row (default: `FILE:LINE`).
    #[arg(long, value_name = "COLUMN", requires = "input")]
    pub id_column: Option<String>,
}

pub fn run_predict(a: &PredictArgs) -> Result<()> {
    if !a.files.input.is_empty() {
        return run_files(a);
    }
    let dev = device(a.cuda)?;
    let model_dir = resolve(&a.model, a.revision.as_deref())?;
    let mut lm = LoadedModel::trained(&model_dir, dev)?;
    let log = set_up(&mut lm, a.precision, a.quantize, dev)?.log;
    for line in log {
        eprintln!("{line}");
    }
    let texts: Vec<&str> = a.texts.iter().map(String::as_str).collect();
    let ids = lm.encoder.encode_all(&texts)?;
    let task = lm.task();
    let probs = crate::worker::train::batches::predict_probs_for(
        task,
        &lm.model,
        &ids,
        lm.config.pad_token_id,
        crate::worker::predict::gpu_batches::CPU_ROWS,
        dev,
    );
    let decision = Decision {
        task,
        thresholds: lm.thresholds(a.threshold),
        top_k: a.top_k,
    };
    let mut out = Vec::new();
    for (text, p) in a.texts.iter().zip(&probs) {
        let chosen = decision.choose(p);
        let labels: Vec<serde_json::Value> = chosen
            .iter()
            .map(|(j, pr)| serde_json::json!({"label": lm.labels[*j], "probability": pr}))
            .collect();
        if a.json {
            out.push(serde_json::json!({"text": text, "labels": labels}));
        } else {
            let shown: Vec<String> = chosen
                .iter()
                .map(|(j, pr)| format!("{} {:.3}", lm.labels[*j], pr))
                .collect();
            println!(
                "{text}\n  → {}",
                if shown.is_empty() {
                    "(no label above the threshold)".into()
                } else {
                    shown.join(", ")
                }
            );
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    }
    Ok(())
}

/// `--input … --output OUT`: the files streamed through worker::predict.
fn run_files(a: &PredictArgs) -> Result<()> {
    let f = &a.files;
    let output = f.output.clone().expect("clap: --input requires --output");
    let inputs = f
        .input
        .iter()
        .map(|path| {
            let format = f.data_format.or_else(|| InputFormat::of(path)).ok_or_else(|| {
                Error::Usage(format!(
                    "{}: cannot tell the format from the extension; pass --data-format text, csv, tsv or jsonl",
                    path.display()
                ))
            })?;
            Ok(Input {
                path: path.clone(),
                format,
                from: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let columns = columns(f, &inputs)?;
    let dev = device(a.cuda)?;
    let model_dir = resolve(&a.model, a.revision.as_deref())?;
    let mut lm = LoadedModel::trained(&model_dir, dev)?;
    let set_up = set_up(&mut lm, a.precision, a.quantize, dev)?;
    let (batching, sized) = f.batch_size.decide(set_up.gpu, f.window);
    let mut log = set_up.log;
    log.extend(sized.map(|l| format!("hecjob: {l}")));
    let job = crate::worker::predict::Job {
        inputs,
        columns,
        output,
        format: f.format,
        probabilities: f.probabilities,
        threshold: a.threshold,
        top_k: a.top_k,
        batching,
        window: f.window,
        resume: f.resume,
        compute: set_up.compute,
        log,
        rows: None,
    };
    crate::worker::predict::run(&job, &lm, &model_dir, dev)?;
    Ok(())
}

/// The text and id columns, read as the `data:` keys of the same names are
/// (DataFlags' rules); plain text has no columns to name.
fn columns(f: &FileArgs, inputs: &[Input]) -> Result<Columns> {
    let flags = DataFlags {
        text_column: f.text_column.clone(),
        text_join: f.text_join.clone(),
        id_column: f.id_column.clone(),
        ..DataFlags::default()
    };
    let spec = flags.overlay(DataSpec::default());
    if let Some(text) = inputs.iter().find(|i| i.format == InputFormat::Text) {
        let named = [
            ("--text-column", !f.text_column.is_empty()),
            ("--id-column", f.id_column.is_some()),
        ];
        if let Some((flag, _)) = named.iter().find(|(_, given)| *given) {
            return Err(Error::Usage(format!(
                "{flag}: {} is plain text (one text per line), which has no columns; \
                 leave {flag} out, or pass --data-format csv, tsv or jsonl if it is a table",
                text.path.display()
            )));
        }
    }
    Ok(Columns {
        text: spec
            .text_columns()
            .into_iter()
            .map(str::to_string)
            .collect(),
        join: spec.text_join.clone(),
        id: spec.id_column.clone(),
    })
}
