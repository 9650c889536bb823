//! `hecjob report` (placeholder: being written).
use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    pub dir: Option<PathBuf>,
}

pub fn run(_a: &ReportArgs) -> Result<()> {
    Err(Error::Internal("report is not implemented yet".into()))
}
