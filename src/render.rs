//! Render an experiment's job scripts with tera: `install.com`, `download.com`,
//! `train.com`, plus the task manifest (`tasks.tsv`, `tasks.json`) and the
//! resolved config (`config.yaml`) the array tasks read.
//!
//! Templates are embedded; a user's templates directory overrides any of them.
//! Output is byte-for-byte deterministic for the same config and templates.

use crate::config::{self, LoadedConfig};
use crate::error::{Error, Result};
use crate::plan::{JobKind, Plan, LOG_DIR};
use crate::shell;
use std::path::{Path, PathBuf};

const EMBEDDED: &[(&str, &str)] = &[
    ("_header.tera", include_str!("../templates/_header.tera")),
    (
        "install.com.tera",
        include_str!("../templates/install.com.tera"),
    ),
    (
        "download.com.tera",
        include_str!("../templates/download.com.tera"),
    ),
    (
        "train.com.tera",
        include_str!("../templates/train.com.tera"),
    ),
];

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Experiment config (YAML). Without it, the embedded configs/goemotions.yaml.
    pub config: Option<PathBuf>,
    /// Where to write (default: jobs/<experiment>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the scripts and the qsub chain; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A directory whose *.tera files replace the embedded templates of the same name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

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

fn engine(templates: Option<&Path>) -> Result<tera::Tera> {
    let mut t = tera::Tera::default();
    t.autoescape_on(vec![]);
    let mut sources: Vec<(String, String)> = EMBEDDED
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
            let p = dir.join(&*name);
            if p.exists() {
                *text = crate::fsutil::read_to_string(&p, "reading template")?;
                overridden += 1;
            }
        }
        // A directory that overrides nothing is a mistake (a wrong path, a
        // misspelt name), not a request for the built-in templates.
        if overridden == 0 {
            let names: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
            return Err(Error::Usage(format!(
                "--templates {}: holds none of {}; name a file as one of these to override it",
                dir.display(),
                names.join(", ")
            )));
        }
    }
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
        // An explicit exit 100 (not `${VAR:?}`, which exits 1 past the ERR
        // trap) keeps the chained jobs held when the variable is missing.
        // The value is known only on the node, so the rule validation applies
        // to a literal root (shell::is_tool_safe_path) is checked here.
        Some(var) => format!(
            "if [ -z \"${{{var}:-}}\" ]; then\n    echo \"hecjob: \\${var} is not set: set it or change cluster.storage_root in the config\" >&2\n    exit 100\nfi\nSTORAGE=\"${var}\"\ncase \"$STORAGE\" in\n    {pat})\n        echo \"hecjob: \\${var} is '$STORAGE': python's venv and pip write it into scripts they run, so it may hold only {chars}\" >&2\n        exit 100 ;;\nesac",
            pat = shell::TOOL_UNSAFE_PATTERN,
            chars = shell::TOOL_SAFE_PATH_CHARS,
        ),
        None => format!("STORAGE={}", shell::quote(root)),
    }
}

/// Control characters never reach a comment line (a newline there would start a
/// new command).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub fn render(loaded: &LoadedConfig, out_dir: &Path, templates: Option<&Path>) -> Result<Rendered> {
    let plan = Plan::new(loaded);
    let c = &loaded.config;
    let tera = engine(templates)?;
    let yaml = loaded.to_yaml();
    // What every script shares; each job adds its own name and directives.
    let mut common = tera::Context::new();
    common.insert("version", env!("CARGO_PKG_VERSION"));
    common.insert("source", &one_line(&loaded.source));
    common.insert("modules", &c.cluster.modules);
    common.insert("setup", &c.cluster.setup);
    common.insert("storage_line", &storage_line(&c.cluster.storage_root));
    common.insert("install", &c.install);
    common.insert("model", &c.model);
    common.insert(
        "model_is_hub",
        &!config::validate::is_local_model(&c.model.name),
    );
    common.insert("data_dir", &path_expr(&c.paths.data_dir));
    common.insert("model_cache", &path_expr(&c.paths.model_cache));
    common.insert("output_dir", &path_expr(&c.paths.output_dir));
    common.insert("data_base_url", &c.data.base_url);
    common.insert("task_count", &plan.tasks.len());
    common.insert("config_sha256", &config::body_sha256(&yaml));
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
        name: "config.yaml".into(),
        content: format!(
            "# Resolved by hecjob {} from {}: every default spelled out.\n# The train job reads its task's parameters from here by $SGE_TASK_ID.\n{}",
            env!("CARGO_PKG_VERSION"),
            one_line(&loaded.source),
            yaml
        ),
        executable: false,
    });
    files.push(RenderedFile {
        name: "tasks.tsv".into(),
        content: tasks_tsv(loaded),
        executable: false,
    });
    files.push(RenderedFile {
        name: "tasks.json".into(),
        content: tasks_json(loaded),
        executable: false,
    });
    Ok(Rendered {
        plan,
        dir: out_dir.to_path_buf(),
        files,
    })
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
    format!("{base}/{}/task-{task}", c.experiment.name)
}

fn tasks_json(loaded: &LoadedConfig) -> String {
    let tasks: Vec<serde_json::Value> = loaded
        .tasks
        .iter()
        .map(|t| {
            serde_json::json!({
                "id": t.id,
                "swept": t.swept_json(),
                "output_dir": task_output_expr(loaded, t.id),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "experiment": loaded.config.experiment.name,
        "tasks": tasks,
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("json");
    s.push('\n');
    s
}

impl Rendered {
    /// Write every file atomically, and the log folder Grid Engine needs to exist.
    pub fn write(&self) -> Result<()> {
        for f in &self.files {
            let p = self.dir.join(&f.name);
            if f.executable {
                crate::fsutil::write_atomic_executable(&p, f.content.as_bytes())?;
            } else {
                crate::fsutil::write_atomic(&p, f.content.as_bytes())?;
            }
        }
        let logs = self.dir.join(LOG_DIR);
        std::fs::create_dir_all(&logs).map_err(|e| Error::io("creating log folder", &logs, e))?;
        Ok(())
    }

    pub fn file(&self, name: &str) -> Option<&RenderedFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The shell a person would type to submit the chain by hand.
    pub fn qsub_chain(&self) -> Vec<String> {
        let var = |k: JobKind| k.as_str().to_uppercase() + "_ID";
        let mut lines = vec![
            format!("cd {}", shell::quote(&self.dir.display().to_string())),
            format!("mkdir -p {LOG_DIR}"),
        ];
        for job in &self.plan.jobs {
            let hold = job
                .after
                .map(|a| format!(" -hold_jid \"${}\"", var(a)))
                .unwrap_or_default();
            // Arrays print `ID.1-N:1`; the id is the part before the dot.
            let cut = if job.array.is_some() {
                " | cut -d. -f1"
            } else {
                ""
            };
            lines.push(format!(
                "{}=$(qsub -terse{hold} {}{cut})",
                var(job.kind),
                job.script
            ));
        }
        lines
    }
}

pub fn run(a: &RenderArgs) -> Result<()> {
    let loaded = config::load(a.config.as_deref())?;
    let dir = a.out.clone().unwrap_or_else(|| default_out_dir(&loaded));
    let rendered = render(&loaded, &dir, a.templates.as_deref())?;
    if a.dry_run {
        for f in &rendered.files {
            println!("==> {} <==", dir.join(&f.name).display());
            print!("{}", f.content);
            if !f.content.ends_with('\n') {
                println!();
            }
            println!();
        }
        println!("# dry run: nothing written. The chain `hecjob submit` runs:");
    } else {
        rendered.write()?;
        println!(
            "wrote {} ({} task{}):",
            dir.display(),
            rendered.plan.tasks.len(),
            if rendered.plan.tasks.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        for f in &rendered.files {
            println!("  {}", dir.join(&f.name).display());
        }
        println!(
            "submit with `hecjob submit{}`, or by hand:",
            a.config
                .as_ref()
                .map(|c| format!(" {}", c.display()))
                .unwrap_or_default()
        );
    }
    for line in rendered.qsub_chain() {
        println!("  {line}");
    }
    Ok(())
}
