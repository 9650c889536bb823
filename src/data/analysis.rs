//! `hecjob analyze` (placeholder: being written).
use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Directory holding train.tsv, dev.tsv, test.tsv and emotions.txt.
    pub dir: PathBuf,
}

pub fn run(_args: &AnalyzeArgs) -> Result<()> {
    Err(Error::Internal("analyze is not implemented yet".into()))
}
