//! `hecjob prepare-data CONFIG`: the download job's data check, on a CPU
//! node before any GPU time is spent. Reads every split as the config's
//! `data:` says, stops at the first bad row (file:line) or leaves bad rows out
//! (`bad_rows: skip`), and writes the data record (data.json: each file's
//! sha256, rows, label counts), rejects.tsv and heldout-dev.txt beside the
//! config, in the job directory, where train tasks check them.

use crate::data::load::load;
use crate::data::record::{record, write_all};
use crate::experiment::config;
use crate::jobdir::data_record::{DATA_RECORD_FILE, REJECTS_FILE};
use crate::util::error::Result;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct PrepareDataArgs {
    /// The job directory's config.yaml (the record is written beside it).
    pub config: PathBuf,
}

pub fn run(args: &PrepareDataArgs) -> Result<()> {
    let loaded_config = config::load(Some(&args.config))?;
    let c = &loaded_config.config;
    let sources = c.data_sources()?;
    let loaded = load(&c.data, &sources)?;
    let rec = record(&loaded, &c.data, &sources)?;
    let job_dir = match args.config.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    write_all(&rec, &loaded, &job_dir)?;
    let rows = |s: &str| {
        rec.splits
            .iter()
            .find(|x| x.split == s)
            .map_or(0, |x| x.examples)
    };
    println!(
        "data: {}, {}, {} labels ({}); train {} / dev {}{} / test {}",
        rec.format,
        rec.task,
        rec.labels.len(),
        rec.label_source,
        rows("train"),
        rows("dev"),
        if rec.held_out.is_some() {
            " (held out of train)"
        } else {
            ""
        },
        if rec.has_test {
            rows("test").to_string()
        } else {
            "none".into()
        },
    );
    if rec.rejected > 0 {
        println!(
            "{} bad rows left out (data.bad_rows: skip): see {}",
            rec.rejected,
            job_dir.join(REJECTS_FILE).display()
        );
    }
    for w in &rec.warnings {
        eprintln!("warning: {w}");
    }
    println!("data record: {}", job_dir.join(DATA_RECORD_FILE).display());
    Ok(())
}
