//! `hecjob download-data DIR`: the four GoEmotions files, checked.

use crate::fetch::dataset::{download_files, goemotions_files, DEFAULT_BASE_URL};
use crate::fetch::http::Http;
use crate::util::env_vars;
use crate::util::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct DownloadDataArgs {
    /// Directory to write train.tsv, dev.tsv, test.tsv and emotions.txt into.
    pub dir: PathBuf,
    /// Base URL of a mirror serving <URL>/train.tsv etc. (default: the pinned
    /// google-research GitHub commit).
    #[arg(long, value_name = "URL", env = env_vars::HECJOB_DATA_URL)]
    pub base_url: Option<String>,
}

pub fn run(args: &DownloadDataArgs) -> Result<()> {
    let base = match &args.base_url {
        // An empty value is a mistake (an unset variable in a script), not a
        // request for the default: say so rather than fetch from elsewhere.
        Some(u) if u.trim().is_empty() => {
            return Err(Error::Usage(format!(
                "--base-url / {} is empty; give a mirror URL, or leave both out for the pinned GitHub commit",
                env_vars::HECJOB_DATA_URL
            )))
        }
        Some(u) => u.clone(),
        None => DEFAULT_BASE_URL.to_string(),
    };
    let http = Http::from_env()?;
    download_files(&http, &args.dir, &base, &goemotions_files())?;
    println!("GoEmotions data ready in {}", args.dir.display());
    Ok(())
}
