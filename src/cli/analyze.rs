//! `hecjob analyze [DIR | CONFIG]`: label statistics per split for any
//! dataset (GoEmotions' directory, an experiment config's `data:`, or files
//! given with --train/--dev/--test and the data flags), then the data's warnings.

use super::data_flags::DataFlags;
use crate::data::analysis::{analyze, render_csv, render_json, render_text, Format};
use crate::data::checks;
use crate::data::load::{load, Loaded, Sources};
use crate::data::spec::DataSpec;
use crate::experiment::config;
use crate::util::error::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// A directory holding GoEmotions' train.tsv, dev.tsv, test.tsv and
    /// emotions.txt, or an experiment config (.yaml) whose data: it reads.
    #[arg(conflicts_with = "train")]
    pub path: Option<PathBuf>,
    /// Your own train file (CSV, TSV or JSONL; the data flags say how to read it).
    #[arg(long, value_name = "FILE")]
    pub train: Option<PathBuf>,
    /// Your own dev file (without it, --dev-fraction of train is held out).
    #[arg(long, value_name = "FILE", requires = "train")]
    pub dev: Option<PathBuf>,
    /// Your own test file.
    #[arg(long, value_name = "FILE", requires = "train")]
    pub test: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataFlags,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &AnalyzeArgs) -> Result<()> {
    let (spec, sources) = data_of(args)?;
    let loaded = load(&spec, &sources)?;
    let mut stats = analyze(&loaded.dataset);
    stats.retain(|s| s.split != "test" || loaded.has_test);
    let out = match args.format {
        Format::Text => format!("{}{}", render_text(&stats), summary(&loaded)),
        Format::Csv => render_csv(&stats),
        Format::Json => render_json(&stats),
    };
    print!("{out}");
    for w in warnings(&loaded) {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// The spec and files the arguments name.
fn data_of(args: &AnalyzeArgs) -> Result<(DataSpec, Sources)> {
    if let Some(train) = &args.train {
        return args
            .data
            .sources(train, args.dev.as_deref(), args.test.as_deref());
    }
    let path = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if is_config(&path) {
        let loaded = config::load(Some(&path))?;
        let spec = args.data.overlay(loaded.config.data.clone());
        let mut c = loaded.config;
        c.data = spec.clone();
        return Ok((spec, c.data_sources()?));
    }
    if !path.is_dir() {
        return Err(Error::Usage(format!(
            "{}: not a directory or a .yaml config; give GoEmotions' data directory, an experiment config, or --train FILE",
            path.display()
        )));
    }
    let mut src = Sources::goemotions(&path);
    if let Some(f) = &args.data.labels_file {
        src.labels_file = Some(f.clone());
    }
    Ok((args.data.overlay(DataSpec::default()), src))
}

fn is_config(path: &Path) -> bool {
    path.is_file()
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        )
}

/// Where the labels came from, the held-out dev and the rejects, for people.
pub fn summary(l: &Loaded) -> String {
    let mut s = format!(
        "\nLabels: {} ({}{})\n",
        l.dataset.labels.len(),
        l.label_source,
        if l.source_labels.len() != l.dataset.labels.len() {
            format!(", merged from {} by the label map", l.source_labels.len())
        } else {
            String::new()
        }
    );
    if let Some(ids) = &l.held_out {
        s.push_str(&format!(
            "Dev: {} rows held out of train (stratified; no dev file given)\n",
            ids.len()
        ));
    }
    if !l.has_test {
        s.push_str("Test: none (no test file given; nothing will be tested)\n");
    }
    if !l.rejects.is_empty() {
        s.push_str(&format!(
            "Rejected rows: {} (data.bad_rows: skip)\n",
            l.rejects.len()
        ));
        for r in l.rejects.iter().take(5) {
            s.push_str(&format!("  {}:{}: {}\n", r.file, r.line, r.reason));
        }
    }
    s
}

/// The dataset's warnings (duplicates, leakage, label coverage).
pub fn warnings(l: &Loaded) -> Vec<String> {
    let names: HashMap<&str, String> = l
        .files
        .iter()
        .map(|f| (f.split, f.path.display().to_string()))
        .collect();
    checks::warnings(&l.dataset, &names)
}
