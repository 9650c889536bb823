//! `hecjob report`: compare the tasks of a sweep, pick the best, stand it beside
//! the paper's Table 4, and plot.
//!
//! [`build`] reads what is on disk (never failing on incomplete sweeps: a
//! missing, running, failed or garbled task is a row state), [`format::render`]
//! prints it, [`plots::write_all`] draws it. `run` is the CLI glue.
//!
//! Modules, one concern each:
//! - reading: `discover` (which directory, where each task's records are),
//!   `accounting` (the scheduler's accounting of the submitted jobs, through
//!   `scheduler::open_accounting`), `rungs` (early stopping's rung records);
//! - judging: `row` (one summary row per task, sorting), `compare`,
//!   `reference` and `table4` (a run's per-label scores, beside the paper's
//!   Table 4 where its labels are GoEmotions' 28), `dataset` (the data the
//!   runs read, their label sets, the data check's rejected rows),
//!   `efficiency` (requests against peaks, the suggestion for next time);
//! - writing: `format` (table, CSV, JSON, markdown), `text` (shared text
//!   cells), `efficiency_format`, `html` (report.html), `plots` (PNG and SVG
//!   through plotters, with `font`), `svg` and `confusion` (hand-drawn inline
//!   SVG for the page: curves, the confusion matrix);
//! - `status_view`: what `hecjob status` shows of each task, text and JSON.

pub mod accounting;
pub mod compare;
pub mod confusion;
pub mod dataset;
pub mod discover;
pub mod efficiency;
pub mod efficiency_format;
pub mod font;
pub mod format;
pub mod html;
pub mod plots;
pub mod predict;
pub mod reference;
pub mod row;
pub mod rungs;
pub mod status_view;
pub mod svg;
pub mod table4;
pub mod text;

pub use compare::Comparison;
pub use discover::Layout;
pub use format::Format;
pub use row::{Row, SortKey, Status};

use crate::jobdir::metrics::RunMetrics;
use crate::scheduler::words::AccountingWords;
use crate::scheduler::SchedulerKind;
use crate::util::error::{Error, Result};
use discover::Loaded;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What [`build`] needs besides the directory.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub sort: SortKey,
    pub top: Option<usize>,
    /// `None`: do not run qacct.
    pub qacct: Option<PathBuf>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            sort: SortKey::DevF1,
            top: None,
            qacct: Some(PathBuf::from("qacct")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub dir: PathBuf,
    pub layout: Layout,
    pub experiment: Option<String>,
    /// Swept parameter names, in the order they first appear.
    pub swept_keys: Vec<String>,
    pub sort: SortKey,
    /// Tasks before `--top`.
    pub total_tasks: usize,
    /// Sorted, cut to `--top`.
    pub rows: Vec<Row>,
    /// Task id of the best run, over all tasks (not only the shown rows).
    pub best: Option<u32>,
    /// The best run's row, even when `--top` cut it from `rows`.
    pub best_row: Option<Row>,
    /// Parsed metrics of the shown rows and of the best run, by task id.
    pub runs: BTreeMap<u32, RunMetrics>,
    /// The best run's test scores beside the paper's Table 4.
    pub comparison: Option<Comparison>,
    /// Whether the scheduler's accounting (qacct or sacct) was found for the train job.
    pub accounting_found: bool,
    /// Rungs and epochs spent, when the sweep stopped tasks early (over every
    /// task, not only the shown rows).
    pub early_stop: Option<rungs::EarlyStopSummary>,
    /// The scheduler's accounting per task (shown rows and the best run).
    pub accounting: BTreeMap<u32, accounting::Accounting>,
    /// Where the accounting came from, or why there is none.
    pub accounting_note: String,
    /// How the scheduler the run was submitted to names its accounting
    /// figures (`qacct maxvmem`, `sacct MaxRSS`); `None` when no scheduler
    /// accounts for it. Column labels come from here.
    pub accounting_words: Option<AccountingWords>,
    /// The data the runs read, their label sets, and the job's data check.
    pub data: dataset::DataFacts,
}

impl Report {
    pub fn best_metrics(&self) -> Option<&RunMetrics> {
        self.best.and_then(|t| self.runs.get(&t))
    }

    pub fn row(&self, task: u32) -> Option<&Row> {
        self.rows.iter().find(|r| r.task == task)
    }

    /// The label of the scheduler's peak memory column: `qacct maxvmem`,
    /// `sacct MaxRSS`, or `sched peak` when no scheduler is known.
    pub fn scheduler_peak_label(&self) -> String {
        self.accounting_words.as_ref().map_or_else(
            || "sched peak".to_string(),
            AccountingWords::peak_memory_source,
        )
    }
}

/// Read a sweep's state from `dir` (any of the three layouts) into a [`Report`].
/// Errors only when `dir` is not a recognisable directory or its tasks.json /
/// submission.json are malformed; per-task problems become row states.
pub fn build(dir: &Path, opts: &ReportOptions) -> Result<Report> {
    build_many(&[dir.to_path_buf()], opts)
}

/// The directory the report is about: the one given, or the deepest folder
/// holding all of several.
pub fn common_dir(dirs: &[PathBuf]) -> PathBuf {
    let mut it = dirs.iter();
    let Some(first) = it.next() else {
        return PathBuf::from(".");
    };
    if dirs.len() == 1 {
        return first.clone();
    }
    let abs = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let mut common = abs(first);
    for d in it {
        let d = abs(d);
        while !d.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

/// [`build`] over several directories of runs (see `discover::discover_many`).
pub fn build_many(dirs: &[PathBuf], opts: &ReportOptions) -> Result<Report> {
    if opts.top == Some(0) {
        return Err(Error::Usage("--top must be at least 1".into()));
    }
    let dir = common_dir(dirs);
    let found = discover::discover_many(dirs)?;
    let asked = ask_accounting(&dir, &found, opts);
    let (mut rows, mut runs, experiment) = read_tasks(&found, &asked);
    if found.layout == Layout::Runs && rows.iter().all(|r| r.swept.is_empty()) {
        differing_params(&mut rows, &runs);
    }
    let swept_keys = swept_keys(&rows);

    let best = opts.sort.pick_best(&rows);
    for r in &mut rows {
        r.best = Some(r.task) == best;
    }
    let best_row = rows.iter().find(|r| r.best).cloned();
    rows.sort_by(|a, b| opts.sort.compare(a, b));
    let total_tasks = rows.len();
    let early_stop = rungs::summarize(&rows, &runs);
    if let Some(n) = opts.top {
        rows.truncate(n);
    }
    runs.retain(|id, _| Some(*id) == best || rows.iter().any(|r| r.task == *id));
    let accounting_found = asked.by_task.is_some();
    let mut accounting = asked.by_task.unwrap_or_default();
    accounting.retain(|id, _| rows.iter().any(|r| r.task == *id));

    let comparison = best.and_then(|t| {
        let m = runs.get(&t)?;
        let test = m.test.as_ref()?;
        Some(compare::compare(
            t,
            test,
            reference::for_run(m),
            reference::label_set_name(m),
        ))
    });
    let data = dataset::collect(&dir, found.layout, &rows, &runs);

    Ok(Report {
        dir,
        layout: found.layout,
        experiment,
        swept_keys,
        sort: opts.sort,
        total_tasks,
        rows,
        best,
        best_row,
        runs,
        comparison,
        accounting_found,
        early_stop,
        accounting,
        accounting_note: asked.note,
        accounting_words: asked.words,
        data,
    })
}

/// What the scheduler's accounting said of the train job, and how to label it.
struct Asked {
    /// `None`: not asked, or no record.
    by_task: Option<accounting::ByTask>,
    words: Option<AccountingWords>,
    note: String,
    /// Whether the sweep was submitted with `hecjob submit`.
    submitted: bool,
}

/// Ask the accounting of the scheduler the run was submitted to (unless
/// `--no-accounting`) about the sweep's train job.
fn ask_accounting(dir: &Path, found: &discover::Discovered, opts: &ReportOptions) -> Asked {
    // A run submitted to Slurm is asked about through sacct, never qacct (a
    // Grid Engine on the same machine would answer for an unrelated job).
    let submitted_to = discover::submitted_to(dir);
    let kind = submitted_to.as_deref().and_then(SchedulerKind::from_record);
    let words = kind.map(|k| k.dialect().words());
    // A run no scheduler took (or one without a record) is asked of Grid
    // Engine's qacct, as before there were other schedulers.
    let kind = kind.unwrap_or_default();
    let by_task = match (found.train_job_ids.is_empty(), &opts.qacct) {
        (false, Some(program)) => accounting::query(kind, program, &found.train_job_ids),
        _ => None,
    };
    let note = accounting_note(
        &found.train_job_ids,
        opts.qacct.as_deref(),
        by_task.is_some(),
        kind,
    );
    Asked {
        by_task,
        words,
        note,
        submitted: !found.train_job_ids.is_empty(),
    }
}

/// One row per task, the metrics of those that have them by task id, and the
/// experiment's name (from the discovery, else the first metrics naming it).
fn read_tasks(
    found: &discover::Discovered,
    asked: &Asked,
) -> (Vec<Row>, BTreeMap<u32, RunMetrics>, Option<String>) {
    let mut rows = Vec::with_capacity(found.tasks.len());
    let mut runs = BTreeMap::new();
    let mut experiment = found.experiment.clone();
    for t in &found.tasks {
        let loaded = match &t.dir {
            Some(d) => discover::load_metrics(d),
            None => Loaded::Absent,
        };
        let (id, row) = task_row(
            t,
            &loaded,
            found.layout,
            asked.by_task.as_ref(),
            asked.submitted,
            asked.words.as_ref(),
        );
        rows.push(row);
        if let Loaded::Metrics(m) = loaded {
            if experiment.is_none() {
                experiment = m.experiment.clone();
            }
            runs.insert(id, *m);
        }
    }
    (rows, runs, experiment)
}

/// The swept parameter names, in the order they first appear.
fn swept_keys(rows: &[Row]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for r in rows {
        for k in r.swept.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys
}

/// Where the accounting column came from, or why it is empty (the report's footnote).
fn accounting_note(
    train_job_ids: &[u64],
    qacct: Option<&Path>,
    accounting_found: bool,
    kind: SchedulerKind,
) -> String {
    let dialect = kind.dialect();
    // The train job and each resubmission of it, one command each.
    let commands = |p: &Path| {
        train_job_ids
            .iter()
            .map(|id| format!("`{}`", dialect.accounting_command(Some(p), *id)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (train_job_ids.is_empty(), qacct, accounting_found) {
        (true, _, _) => "not submitted with `hecjob submit` (no submission.json), so there is no scheduler job to ask about".to_string(),
        (false, None, _) => "not asked (--no-accounting)".to_string(),
        (false, Some(p), false) => format!(
            "{} gave no record (the job has not finished, or {} accounting is not available from here)",
            commands(p),
            dialect.display_name()
        ),
        (false, Some(p), true) => commands(p),
    }
}

/// One task's row: its id (a lone task directory knows it only from its
/// metrics), its accounting, where a running task is, a tutorial run's name.
fn task_row(
    t: &discover::TaskSource,
    loaded: &Loaded,
    layout: Layout,
    accounting: Option<&accounting::ByTask>,
    submitted: bool,
    words: Option<&AccountingWords>,
) -> (u32, Row) {
    // A lone task directory knows its id only from its metrics.
    let id = match (loaded, layout) {
        (Loaded::Metrics(m), Layout::TaskDir) => m.task.unwrap_or(t.id),
        _ => t.id,
    };
    let acct = accounting.and_then(|a| a.get(&id));
    let mut row = Row::new(
        id,
        t.swept.clone(),
        loaded,
        t.problem.as_deref(),
        submitted,
        acct,
        words,
    );
    row.name = t.name.clone();
    // A running task says where it is (the worker's progress.json).
    if row.status == Status::Running && row.note.is_none() {
        if let Some(Ok(p)) = t.dir.as_deref().and_then(crate::jobdir::progress::read) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            row.note = Some(p.summary(now));
        }
    }
    // A run made with the tutorial interface is no sweep task: its folder names it.
    if let (Loaded::Metrics(m), Layout::TaskDir) = (loaded, layout) {
        if m.task.is_none() {
            row.name = t
                .dir
                .as_deref()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned());
        }
    }
    (id, row)
}

/// The train job's requests from the rendered `config.yaml` beside the tasks;
/// `Err` says why they are unknown.
pub fn requests_of(report: &Report) -> std::result::Result<efficiency::Requests, String> {
    let path = report.dir.join("config.yaml");
    if !path.is_file() {
        return Err(format!(
            "no rendered config.yaml in {} (report a jobs directory to compare with the requests)",
            report.dir.display()
        ));
    }
    let loaded = crate::experiment::config::load(Some(&path)).map_err(|e| e.to_string())?;
    let mut r = efficiency::Requests::from_job(
        &loaded.config.cluster.jobs.train,
        &path.display().to_string(),
    );
    r.site_gpus = efficiency::SiteGpus::from_config(&loaded.config.cluster.gpu_types);
    Ok(r)
}

/// Efficiency of the report's tasks against the rendered requests.
pub fn efficiency_of(report: &Report) -> efficiency::Efficiency {
    match requests_of(report) {
        Ok(r) => efficiency::compute(report, Some(&r)),
        Err(why) => {
            let mut e = efficiency::compute(report, None);
            for t in &mut e.tasks {
                for m in &mut t.missing {
                    if m.starts_with("requests:") {
                        *m = format!("requests: {why}");
                    }
                }
            }
            e
        }
    }
}

/// The config beside the tasks (a jobs directory's rendered `config.yaml`).
pub fn html_extras(report: &Report) -> html::Extras {
    html::Extras {
        config: config_copy(&report.dir),
        efficiency_html: None,
    }
}

/// The job directory's `config.yaml` (its path and text) for the page: read
/// bounded, and left out with a warning when it is too large or not a file.
fn config_copy(dir: &Path) -> Option<(String, String)> {
    let path = dir.join(crate::jobdir::CONFIG_FILE);
    match crate::jobdir::read::read_bounded(&path, crate::jobdir::read::CONFIG_COPY) {
        Ok(text) => text.map(|t| (path.display().to_string(), t)),
        Err(e) => {
            eprintln!("warning: the page leaves out the config: {e}");
            None
        }
    }
}

/// Runs that are not one sweep's tasks differ in whatever their users
/// changed: those parameters become the table's "swept" columns.
fn differing_params(rows: &mut [Row], runs: &BTreeMap<u32, RunMetrics>) {
    let mut keys: Vec<&String> = Vec::new();
    for m in runs.values() {
        for k in m.params.keys() {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| {
            let mut vals = runs.values().map(|m| m.params.get(*k));
            let first = vals.next().flatten();
            runs.len() > 1 && vals.any(|v| v != first)
        })
        .cloned()
        .collect();
    for r in rows.iter_mut() {
        if let Some(m) = runs.get(&r.task) {
            for k in &differ {
                if let Some(v) = m.params.get(k) {
                    r.swept.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_config_copy_over_the_bound_is_left_out_of_the_page() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::config_copy(dir.path()), None);
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "experiment: {name: x}\n").unwrap();
        assert_eq!(
            super::config_copy(dir.path()),
            Some((path.display().to_string(), "experiment: {name: x}\n".into()))
        );
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(crate::jobdir::read::CONFIG_COPY.limit + 1)
            .unwrap();
        assert_eq!(super::config_copy(dir.path()), None);
    }
}
