//! `hecjob analyze DIR`: label statistics per split.

use crate::data::analysis::{analyze, render_csv, render_json, render_text, Format};
use crate::data::tsv::load_dir;
use crate::util::error::Result;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Directory holding train.tsv, dev.tsv, test.tsv and emotions.txt.
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &AnalyzeArgs) -> Result<()> {
    let ds = load_dir(&args.dir)?;
    let stats = analyze(&ds);
    let out = match args.format {
        Format::Text => render_text(&stats),
        Format::Csv => render_csv(&stats),
        Format::Json => render_json(&stats),
    };
    print!("{out}");
    Ok(())
}
