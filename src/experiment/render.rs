//! Render an experiment's job scripts with tera: `install.com`, `download.com`,
//! `train.com` (and with `predict:`, `predict.com`, `merge.com` and the shard
//! plan `predict.json`), plus the task manifest (`tasks.tsv`, `tasks.json`) and the
//! resolved config (`config.yaml`) the array tasks read.
//!
//! Templates are embedded; a user's templates directory overrides any of them.
//! Output is byte-for-byte deterministic for the same config and templates.

use crate::experiment::config::{self, LoadedConfig, SchedulerKind};
use crate::experiment::plan::{JobKind, Plan};
use crate::jobdir::written::WrittenRecord;
use crate::jobdir::{self, TaskEntry, TasksFile, TemplatesRecord, LOG_DIR, TEMPLATES_FILE};
use crate::scheduler::exit_code;
use crate::scheduler::submission::{self, StageJob};
use crate::scheduler::{CommandLine, JobId};
use crate::util::error::{Error, Result};
use crate::util::shell;
use std::path::{Path, PathBuf};

/// Templates a `--templates DIR` may override from DIR itself under every
/// scheduler; the others are looked up in the folder of DIR the scheduler's
/// dialect names first (Slurm: DIR/slurm/), so a Grid Engine header is never
/// used for a Slurm script. The embedded sets are the dialects' own.
const SHARED_TEMPLATES: &[&str] = &["install.com.tera", "download.com.tera", "retry.com.tera"];

/// One rendered file: its name inside the job directory and its content.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedFile {
    pub name: String,
    pub content: String,
    pub executable: bool,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub plan: Plan,
    /// The job directory the files belong in.
    pub dir: PathBuf,
    pub files: Vec<RenderedFile>,
}

pub fn default_out_dir(loaded: &LoadedConfig) -> PathBuf {
    Path::new("jobs").join(&loaded.config.experiment.name)
}

fn scheduler_of(loaded: &LoadedConfig) -> SchedulerKind {
    loaded.config.cluster.scheduler
}

/// Where a `--templates DIR` override of template `name` is, if there is one.
fn override_path(dir: &Path, scheduler: SchedulerKind, name: &str) -> Option<PathBuf> {
    let subdir = scheduler.dialect().templates_subdir();
    let own = match subdir {
        None => dir.join(name),
        Some(sub) => dir.join(sub).join(name),
    };
    if own.exists() {
        return Some(own);
    }
    let shared = dir.join(name);
    (subdir.is_some() && SHARED_TEMPLATES.contains(&name) && shared.exists()).then_some(shared)
}

fn engine(scheduler: SchedulerKind, templates: Option<&Path>) -> Result<tera::Tera> {
    let mut t = tera::Tera::default();
    t.autoescape_on(vec![]);
    let mut sources: Vec<(String, String)> = scheduler
        .dialect()
        .templates()
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    if let Some(dir) = templates {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "--templates {}: not a directory",
                dir.display()
            )));
        }
        let mut overridden = 0;
        for (name, text) in sources.iter_mut() {
            if let Some(p) = override_path(dir, scheduler, name) {
                *text = crate::util::fsutil::read_regular_to_string(&p, "reading template")?;
                overridden += 1;
            }
        }
        // A directory that overrides nothing is a mistake (a wrong path, a
        // misspelt name), not a request for the built-in templates.
        if overridden == 0 {
            let names: Vec<&str> = scheduler
                .dialect()
                .templates()
                .iter()
                .map(|(n, _)| *n)
                .collect();
            return Err(Error::Usage(format!(
                "--templates {}: holds none of {}; name a file as one of these to override it",
                dir.display(),
                names.join(", ")
            )));
        }
    }
    check_includes(&sources, templates)?;
    t.add_raw_templates(sources)?;
    t.register_filter(
        "shq",
        |v: &tera::Value, _: &std::collections::HashMap<String, tera::Value>| {
            let s = match v {
                tera::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Ok(tera::Value::String(shell::quote(&s)))
        },
    );
    Ok(t)
}

/// How deep templates may include one another; the embedded ones go one deep.
const MAX_INCLUDE_DEPTH: usize = 8;

/// The templates a template's `{% include %}`, `{% extends %}` and `{% import %}`
/// tags name (comments skipped; an include inside an `if` counts, as it may run).
fn included_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{%").or_else(|| rest.find("{#")) {
        let tail = &rest[open..];
        if tail.starts_with("{#") {
            rest = tail.find("#}").map_or("", |end| &tail[end + 2..]);
            continue;
        }
        let Some(end) = tail.find("%}") else { break };
        let tag = tail[2..end].trim_matches(|c: char| c == '-' || c.is_whitespace());
        rest = &tail[end + 2..];
        let Some(keyword) = tag.split_whitespace().next() else {
            continue;
        };
        if !matches!(keyword, "include" | "extends" | "import") {
            continue;
        }
        let args = &tag[keyword.len()..];
        let args = args.split(" as ").next().unwrap_or(args);
        let mut quoted = args.split(['"', '\'']).skip(1).step_by(2);
        names.extend(quoted.by_ref().map(str::to_string));
    }
    names
}

/// Refuse templates that include one another in a cycle (tera would recurse
/// until the stack overflows) or deeper than [`MAX_INCLUDE_DEPTH`].
fn check_includes(sources: &[(String, String)], dir: Option<&Path>) -> Result<()> {
    let includes: std::collections::HashMap<&str, Vec<String>> = sources
        .iter()
        .map(|(n, t)| (n.as_str(), included_names(t)))
        .collect();
    fn walk<'a>(
        name: &'a str,
        includes: &'a std::collections::HashMap<&str, Vec<String>>,
        chain: &mut Vec<&'a str>,
    ) -> std::result::Result<(), String> {
        let looped = chain.contains(&name);
        chain.push(name);
        if looped {
            return Err(format!("{} includes itself", chain.join(" → ")));
        }
        if chain.len() > MAX_INCLUDE_DEPTH + 1 {
            return Err(format!(
                "{} goes more than {MAX_INCLUDE_DEPTH} includes deep",
                chain.join(" → ")
            ));
        }
        for next in includes.get(name).into_iter().flatten() {
            walk(next, includes, chain)?;
        }
        chain.pop();
        Ok(())
    }
    for (name, _) in sources {
        walk(name, &includes, &mut Vec::new()).map_err(|why| {
            Error::Usage(format!(
                "--templates {}: {why}; a template may include others only without a loop",
                dir.map_or_else(|| "(embedded)".into(), |d| d.display().to_string())
            ))
        })?;
    }
    Ok(())
}

/// A config path as a shell expression: absolute → quoted literal,
/// relative → `"$STORAGE"/rel` (STORAGE is set by the script's prelude).
fn path_expr(path: &str) -> String {
    match config::storage_relative(path) {
        Some(rel) => format!("\"$STORAGE\"/{}", shell::quote(rel)),
        None => shell::quote(path),
    }
}

fn storage_line(root: &str) -> String {
    match shell::var_reference(root) {
        // An explicit exit HOLD_CHAIN (100) (not `${VAR:?}`, which exits 1 past the ERR
        // trap) keeps the chained jobs held when the variable is missing.
        // The value is known only on the node, so the rule validation applies
        // to a literal root (shell::is_tool_safe_path) is checked here.
        Some(var) => format!(
            "if [ -z \"${{{var}:-}}\" ]; then\n    echo \"hecjob: \\${var} is not set: set it or change cluster.storage_root in the config\" >&2\n    exit {hold}\nfi\nSTORAGE=\"${var}\"\ncase \"$STORAGE\" in\n    {pat})\n        echo \"hecjob: \\${var} is '$STORAGE': python's venv and pip write it into scripts they run, so it may hold only {chars}\" >&2\n        exit {hold} ;;\nesac",
            pat = shell::TOOL_UNSAFE_PATTERN,
            chars = shell::TOOL_SAFE_PATH_CHARS,
            hold = exit_code::HOLD_CHAIN,
        ),
        None => format!("STORAGE={}", shell::quote(root)),
    }
}

/// How long an install job waits for another on the same storage root (the
/// lock in install.com), in seconds: half its own time limit, so that it still
/// has the other half to install; 30 minutes when the limit is unknown.
fn install_lock_wait(c: &config::Config) -> u64 {
    c.cluster
        .jobs
        .install
        .h_rt
        .as_ref()
        .map_or(1800, |limit| (limit.secs() / 2).max(60))
}

/// Control characters never reach a comment line (a newline there would start a
/// new command).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// What every script shares; each job adds its own name and directives.
fn common_context(loaded: &LoadedConfig, plan: &Plan, yaml: &str) -> tera::Context {
    let c = &loaded.config;
    let mut common = tera::Context::new();
    common.insert("version", env!("CARGO_PKG_VERSION"));
    common.insert("source", &one_line(&loaded.source));
    common.insert("modules", &c.cluster.modules);
    common.insert("setup", &c.cluster.setup);
    common.insert("storage_line", &storage_line(&c.cluster.storage_root));
    common.insert("install", &c.install);
    common.insert("install_home", &c.install.home());
    common.insert("install_lock_wait", &install_lock_wait(c));
    // `model` and `model_is_hub`: the config's `model:`, as templates written
    // before `sweep.model.name` read it; `models`: every task's, each once.
    common.insert("model", &c.model);
    common.insert(
        "model_is_hub",
        &!crate::fetch::model_ref::is_path(&c.model.name),
    );
    common.insert("models", &models_context(loaded));
    common.insert("exit_requeue", &exit_code::REQUEUE);
    common.insert("exit_hold_chain", &exit_code::HOLD_CHAIN);
    common.insert("data_dir", &path_expr(&c.paths.data_dir));
    common.insert("model_cache", &path_expr(&c.paths.model_cache));
    common.insert("output_dir", &path_expr(&c.paths.output_dir));
    common.insert("data_base_url", &c.data.base_url);
    common.insert("data_is_goemotions", &c.data.train.is_none());
    common.insert("task_count", &plan.tasks.len());
    common.insert("experiment", &c.experiment.name);
    common.insert("notify", &c.cluster.notify);
    common.insert("retries", &c.cluster.retries);
    common.insert("config_sha256", &config::body_sha256(yaml));
    // Resolved at load (config/every.rs): the config's value or one from h_rt.
    common.insert(
        "checkpoint_every",
        &c.train
            .checkpoint_every
            .as_ref()
            .map_or_else(|| "off".to_string(), ToString::to_string),
    );
    common
}

pub fn render(loaded: &LoadedConfig, out_dir: &Path, templates: Option<&Path>) -> Result<Rendered> {
    let predict_plan = crate::experiment::predict::plan(loaded)?;
    let plan = Plan::new(loaded, predict_plan.as_ref().map(|p| p.shards));
    let c = &loaded.config;
    let tera = engine(scheduler_of(loaded), templates)?;
    let yaml = loaded.to_yaml();
    let mut common = common_context(loaded, &plan, &yaml);
    if let Some(p) = &predict_plan {
        common.insert(
            "predict",
            &serde_json::json!({"shards": p.shards, "rows": p.rows, "shard_size": p.shard_size}),
        );
    }
    let mut files = Vec::new();
    for job in &plan.jobs {
        let mut ctx = common.clone();
        ctx.insert("job", job);
        ctx.insert("directives", &job.directives());
        let content = tera.render(&format!("{}.tera", job.script), &ctx)?;
        files.push(RenderedFile {
            name: job.script.clone(),
            content,
            executable: true,
        });
    }
    files.push(RenderedFile {
        name: jobdir::CONFIG_FILE.into(),
        content: format!(
            "# Resolved by hecjob {} from {}: every default spelled out.\n# The train job reads its task's parameters from here by ${}.\n{}",
            env!("CARGO_PKG_VERSION"),
            one_line(&loaded.source),
            c.cluster.scheduler.dialect().task_id_var(),
            yaml
        ),
        executable: false,
    });
    if let Some(p) = &predict_plan {
        files.push(RenderedFile {
            name: jobdir::predict::PREDICT_PLAN_FILE.into(),
            content: p.to_json(),
            executable: false,
        });
    }
    files.push(RenderedFile {
        name: jobdir::TASKS_TSV.into(),
        content: tasks_tsv(loaded),
        executable: false,
    });
    files.push(RenderedFile {
        name: jobdir::TASKS_FILE.into(),
        content: tasks_file(loaded).to_json(),
        executable: false,
    });
    Ok(Rendered {
        plan,
        dir: out_dir.to_path_buf(),
        files,
    })
}

/// Each model the tasks fine-tune (`name`, `revision`, `is_hub`), for the
/// download job to fetch every one.
fn models_context(loaded: &LoadedConfig) -> Vec<tera::Value> {
    loaded
        .models()
        .into_iter()
        .map(|m| {
            serde_json::json!({
                "name": m.name,
                "revision": m.revision,
                "is_hub": !crate::fetch::model_ref::is_path(&m.name),
            })
        })
        .collect()
}

fn tasks_tsv(loaded: &LoadedConfig) -> String {
    let keys: Vec<&String> = loaded.search.keys.keys().collect();
    let mut s = String::from("task");
    for k in &keys {
        s.push('\t');
        s.push_str(k);
    }
    s.push_str("\toutput_dir\n");
    for t in &loaded.tasks {
        s.push_str(&t.id.to_string());
        for v in t.swept.values() {
            s.push('\t');
            s.push_str(&config::sweep::show(v));
        }
        s.push('\t');
        s.push_str(&task_output_expr(loaded, t.id));
        s.push('\n');
    }
    s
}

/// The task's output directory as the config writes it (storage root unexpanded).
pub fn task_output_expr(loaded: &LoadedConfig, task: u32) -> String {
    let c = &loaded.config;
    let base = match config::storage_relative(&c.paths.output_dir) {
        Some(rel) => format!("{}/{rel}", c.cluster.storage_root),
        None => c.paths.output_dir.clone(),
    };
    format!(
        "{base}/{}/{}",
        c.experiment.name,
        jobdir::task_dir_name(task)
    )
}

fn tasks_file(loaded: &LoadedConfig) -> TasksFile {
    TasksFile {
        experiment: Some(loaded.config.experiment.name.clone()),
        tasks: loaded
            .tasks
            .iter()
            .map(|t| TaskEntry {
                id: t.id,
                swept: t.swept_json(),
                output_dir: task_output_expr(loaded, t.id),
            })
            .collect(),
    }
}

impl Rendered {
    /// Write every file atomically, and the log folder Grid Engine needs to
    /// exist; a file already there is replaced only if hecjob wrote it
    /// ([`WrittenRecord`]), and the record then lists every file written.
    pub fn write(&self) -> Result<()> {
        let record = WrittenRecord::read(&self.dir)?;
        for f in &self.files {
            record.check(&self.dir, &f.name)?;
        }
        for f in &self.files {
            let p = self.dir.join(&f.name);
            if f.executable {
                crate::util::fsutil::write_atomic_executable(&p, f.content.as_bytes())?;
            } else {
                crate::util::fsutil::write_atomic(&p, f.content.as_bytes())?;
            }
        }
        let logs = self.dir.join(LOG_DIR);
        std::fs::create_dir_all(&logs).map_err(|e| Error::io("creating log folder", &logs, e))?;
        record.add_and_write(&self.dir, self.files.iter().map(|f| f.name.as_str()))
    }

    pub fn file(&self, name: &str) -> Option<&RenderedFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The stages to submit, in order (all, or those in `only`), with their
    /// scripts at their place in the job directory.
    pub fn stages(&self, only: &[JobKind], verify: bool) -> Vec<StageJob> {
        self.plan
            .jobs
            .iter()
            // The notify and retry jobs are not chained stages: they follow
            // the train job however that ends (cli::submit queues them).
            .filter(|j| !matches!(j.kind, JobKind::Notify | JobKind::Retry))
            // `--only predict` also merges what it predicts.
            .filter(|j| {
                only.is_empty()
                    || only.contains(&j.kind)
                    || (j.kind == JobKind::Merge && only.contains(&JobKind::Predict))
            })
            .map(|j| StageJob {
                stage: j.kind.as_str().to_string(),
                script: self.dir.join(&j.script),
                // A train task that failed leaves the others' models to label with.
                after_any: j.kind == JobKind::Predict,
                verify,
                options: Vec::new(),
            })
            .collect()
    }
}

/// The submission commands of a chain as `submit` runs them, each built by the
/// scheduler's own builder, with placeholder job ids 1, 2, 3…
pub fn chain_commands(
    dir: &Path,
    stages: &[StageJob],
    build: impl Fn(&crate::scheduler::JobRequest) -> CommandLine,
) -> Vec<(String, CommandLine, JobId)> {
    let ids: Vec<JobId> = (1..=stages.len() as u64).map(JobId::single).collect();
    submission::requests(dir, stages, &ids)
        .iter()
        .zip(stages)
        .zip(&ids)
        .map(|((req, stage), id)| (stage.stage.clone(), build(req), *id))
        .collect()
}

/// The lines `render` and `submit --dry-run` print for a chain.
pub fn chain_lines(dir: &Path, jobs: &[(String, CommandLine, JobId)]) -> Vec<String> {
    let mut lines = vec![format!("cd {}", shell::quote(&dir.display().to_string()))];
    for (stage, cmd, id) in jobs {
        lines.push(format!("{}    # {stage} → job {id}", cmd.shell()));
    }
    lines
}

/// Refuse to write any rendered file over `config` itself (`render --out .`
/// beside a `config.yaml`): compared by canonical path, so `./config.yaml`, an
/// absolute path and a symbolic link to it are all the same file.
fn not_over_the_source(config: Option<&Path>, rendered: &Rendered) -> Result<()> {
    let Some(source) = config.and_then(|c| std::fs::canonicalize(c).ok()) else {
        return Ok(());
    };
    for f in &rendered.files {
        let target = rendered.dir.join(&f.name);
        if std::fs::canonicalize(&target).is_ok_and(|t| t == source) {
            return Err(Error::Usage(format!(
                "{}: this is the config being rendered, and the {} would be written over it. \
                 Render elsewhere (--out jobs/<experiment>, the default without --out)",
                target.display(),
                if f.name == jobdir::CONFIG_FILE {
                    "resolved config"
                } else {
                    "job script"
                }
            )));
        }
    }
    Ok(())
}

/// How `prepare_job_dir` chooses templates.
#[derive(Debug, Clone, Copy)]
pub enum TemplateChoice<'a> {
    /// `render`: these (or the embedded ones), recorded in the job directory.
    Given(Option<&'a Path>),
    /// `submit` and `run`: these if given, else those the job directory was
    /// rendered with (templates.json), else the embedded ones.
    GivenOrRecorded(Option<&'a Path>),
}

/// A job directory rendered, and written unless `write` is false.
pub struct Prepared {
    pub loaded: LoadedConfig,
    pub rendered: Rendered,
    /// The job directory: absolute once written (submission records and the
    /// scheduler's working directory must not depend on where hecjob ran),
    /// else as given.
    pub dir: PathBuf,
    /// The templates directory used (None: embedded).
    pub templates: Option<PathBuf>,
}

/// The one pipeline `render`, `submit` and `run` share: load the config,
/// choose the templates, render into the job directory (default
/// `jobs/<experiment>`), and write it (scripts, config.yaml, tasks, logs/,
/// templates.json).
pub fn prepare_job_dir(
    config: Option<&Path>,
    out: Option<&Path>,
    templates: TemplateChoice,
    write: bool,
) -> Result<Prepared> {
    prepare_job_dir_with(config, out, templates, write, |_| {})
}

/// [`prepare_job_dir`] with the loaded config adjusted first, by a command's
/// flag that overrides a key (`submit --retries N`: `cluster.retries`), so the
/// scripts and the resolved config.yaml both say what was submitted.
pub fn prepare_job_dir_with(
    config: Option<&Path>,
    out: Option<&Path>,
    templates: TemplateChoice,
    write: bool,
    adjust: impl FnOnce(&mut LoadedConfig),
) -> Result<Prepared> {
    let mut loaded = config::load(config)?;
    adjust(&mut loaded);
    let dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_out_dir(&loaded));
    let templates = match templates {
        TemplateChoice::Given(t) | TemplateChoice::GivenOrRecorded(t @ Some(_)) => {
            t.map(Path::to_path_buf)
        }
        TemplateChoice::GivenOrRecorded(None) => TemplatesRecord::read(&dir)?.map(|r| r.templates),
    };
    let templates = match templates {
        // Absolute, so the record holds wherever hecjob is run from next.
        Some(t) if t.is_dir() => {
            Some(std::fs::canonicalize(&t).map_err(|e| Error::io("resolving", &t, e))?)
        }
        other => other,
    };
    let rendered = render(&loaded, &dir, templates.as_deref())?;
    let dir = if write {
        not_over_the_source(config, &rendered)?;
        if templates.is_some() {
            WrittenRecord::read(&dir)?.check(&dir, TEMPLATES_FILE)?;
        }
        rendered.write()?;
        TemplatesRecord::write(&dir, templates.as_deref())?;
        if templates.is_some() {
            WrittenRecord::read(&dir)?.add_and_write(&dir, [TEMPLATES_FILE])?;
        }
        std::fs::canonicalize(&dir).map_err(|e| Error::io("resolving", &dir, e))?
    } else {
        dir
    };
    Ok(Prepared {
        loaded,
        rendered,
        dir,
        templates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each torch build has a home of its own under the storage root (so one
    /// experiment's install never replaces another's venv), and each is a path
    /// the storage rule allows (python's venv writes it into pip's launcher).
    #[test]
    fn each_torch_build_installs_into_a_folder_of_its_own() {
        use config::{Install, InstallFrom, TorchCuda};
        let homes: Vec<String> = [
            None,
            Some(TorchCuda::Cu130),
            Some(TorchCuda::Cu128),
            Some(TorchCuda::Cu126),
        ]
        .into_iter()
        .map(|torch_cuda| {
            Install {
                torch_cuda,
                ..Install::default()
            }
            .home()
        })
        .collect();
        assert_eq!(
            homes,
            [
                "hecjob/torch-2.11.0",
                "hecjob/torch-2.11.0+cu130",
                "hecjob/torch-2.11.0+cu128",
                "hecjob/torch-2.11.0+cu126"
            ]
        );
        assert!(homes.iter().all(|h| shell::is_tool_safe_path(h)));
        let binary = Install {
            from: InstallFrom::Binary,
            ..Install::default()
        };
        assert_eq!(binary.home(), "hecjob");
    }

    /// An install job waits for another at most half its own time limit.
    #[test]
    fn the_install_lock_wait_is_half_the_install_time_limit() {
        let mut c = config::load_str("experiment:\n  name: x\n", "x.yaml")
            .unwrap()
            .config;
        for (h_rt, wait) in [
            (Some("01:00:00"), 1800),
            (Some("00:01:00"), 60),
            (None, 1800),
        ] {
            c.cluster.jobs.install.h_rt = h_rt.map(Into::into);
            assert_eq!(install_lock_wait(&c), wait, "{h_rt:?}");
        }
    }

    /// The scripts' rule for the storage variable is the Rust one
    /// (config::resolve_path_with): empty is unset, and the job stops with
    /// HOLD_CHAIN so the jobs after it stay held.
    #[test]
    fn empty_storage_variable_stops_the_script_with_hold_chain() {
        let script = format!(
            "{}\necho \"root=$STORAGE\"\n",
            storage_line("$hecjob_test_root")
        );
        let run = |value: &str| {
            std::process::Command::new("bash")
                .args(["-c", &script])
                .env("hecjob_test_root", value)
                .output()
                .unwrap()
        };
        let empty = run("");
        assert_eq!(empty.status.code(), Some(exit_code::HOLD_CHAIN));
        assert!(String::from_utf8_lossy(&empty.stderr).contains("$hecjob_test_root is not set"));
        let set = run("/scratch/me");
        assert_eq!(String::from_utf8_lossy(&set.stdout), "root=/scratch/me\n");
    }
}
