//! `hecjob report`: compare the tasks of a sweep, pick the best, plot, and
//! write report.html.

use crate::report::{
    build_many, common_dir, efficiency_format, efficiency_of, format, html, html_extras, plots,
    Format, ReportOptions, SortKey,
};
use crate::util::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A rendered jobs directory (with tasks.json), an output root (with
    /// task-<N>/ directories), a run directory (metrics.json), or a folder of
    /// runs (`models/` holding `hecjob train` outputs). Several directories are
    /// compared side by side, each run named by its folder. Default: the
    /// current directory.
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Order rows by this metric (scores high first, costs low first); a score
    /// also picks the best run. Default: dev macro-F1, so the run set beside the
    /// paper is chosen without looking at the test set.
    #[arg(long, value_enum, default_value = "dev_f1")]
    pub sort: SortKey,
    /// Show only the first N rows after sorting.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// table and markdown for people (the best run marked `*`, then its Table 4
    /// comparison); csv (one line per task, raw bytes/seconds) and json
    /// (everything, incl. Table 4 and plot paths) for programs.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Where to write the plots (default: DIR/report).
    #[arg(long, value_name = "DIR")]
    pub plots_dir: Option<PathBuf>,
    /// Do not draw plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Do not write report.html (by default written beside the plots).
    #[arg(long)]
    pub no_html: bool,
    /// The qacct program for Grid Engine's maxvmem and wallclock of submitted runs.
    #[arg(long, value_name = "PROGRAM", default_value = "qacct")]
    pub qacct: PathBuf,
    /// Do not ask the scheduler's accounting (qacct or sacct): peak memory and
    /// wallclock then come from the worker's own records only.
    #[arg(long, alias = "no-qacct")]
    pub no_accounting: bool,
}

pub fn run(a: &ReportArgs) -> Result<()> {
    let dirs = if a.dirs.is_empty() {
        vec![std::env::current_dir().map_err(|e| Error::io("reading", ".", e))?]
    } else {
        a.dirs.clone()
    };
    let dir = common_dir(&dirs);
    let opts = ReportOptions {
        sort: a.sort,
        top: a.top,
        qacct: (!a.no_accounting).then(|| a.qacct.clone()),
    };
    let report = build_many(&dirs, &opts)?;
    let plots_dir = a.plots_dir.clone().unwrap_or_else(|| dir.join("report"));
    let mut plots = if a.no_plots {
        plots::Plots::default()
    } else {
        plots::write_all(&report, &plots_dir)?
    };
    let eff = efficiency_of(&report);
    let predict = crate::report::predict::facts(&dir)?;
    let predict_text = predict
        .as_ref()
        .map(|p| format!("\n{}", crate::report::predict::text(p)))
        .unwrap_or_default();
    if !a.no_html {
        let path = plots_dir.join("report.html");
        let mut extras = html_extras(&report);
        extras.efficiency_html = Some(efficiency_format::html(&eff));
        html::write(&report, &extras, &path)?;
        plots.files.push(path);
    }
    let out = match a.format {
        Format::Json => {
            let mut v = format::to_json(&report, &plots);
            v["efficiency"] = serde_json::to_value(&eff).expect("efficiency serializes");
            if let Some(p) = &predict {
                v["predict"] = serde_json::to_value(p).expect("predict facts serialize");
            }
            let mut s = serde_json::to_string_pretty(&v).expect("report JSON serializes");
            s.push('\n');
            s
        }
        Format::Table => format!(
            "{}\n{}{predict_text}",
            format::render(&report, a.format, &plots),
            efficiency_format::text(&eff)
        ),
        Format::Markdown => format!(
            "{}\n### Efficiency\n\n```text\n{}{predict_text}```\n",
            format::render(&report, a.format, &plots),
            efficiency_format::text(&eff)
        ),
        Format::Csv => format::render(&report, a.format, &plots),
    };
    use std::io::Write;
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| Error::io("writing", "<stdout>", e))?;
    Ok(())
}
