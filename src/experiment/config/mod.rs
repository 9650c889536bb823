//! The experiment config: parse YAML (with line:column errors and "did you mean"
//! for unknown keys), apply defaults, validate, expand the sweep.
//!
//! Entry point: [`load`]. What comes out is a [`LoadedConfig`]: valid by
//! construction, with its sweep tasks.

pub mod data_keys;
pub mod every;
mod locate;
pub mod prng;
pub mod schema;
pub mod search;
pub mod sweep;
pub mod text;
pub mod validate;

pub use data_keys::check_data;
pub use schema::*;
pub use sweep::Task;

use crate::util::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The default experiment (`configs/goemotions.yaml`), embedded so
/// `hecjob render` works with no file.
pub const DEFAULT_CONFIG: &str = include_str!("../../../configs/goemotions.yaml");
pub const DEFAULT_CONFIG_NAME: &str = "configs/goemotions.yaml (embedded)";

#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    pub tasks: Vec<Task>,
    /// The parsed `sweep:` section (method, keys, early stopping).
    pub search: search::SearchSpace,
    /// Where it came from, for messages and the rendered scripts' headers.
    pub source: String,
    /// What is allowed but likely wrong ([`validate::warnings`]), each as
    /// `file:line: key.path: message`; the commands print them on stderr.
    pub warnings: Vec<String>,
}

/// Load `path`, or the embedded default when `None`.
pub fn load(path: Option<&Path>) -> Result<LoadedConfig> {
    match path {
        None => load_str(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME),
        Some(p) => load_str(&text::read(p)?, &p.display().to_string()),
    }
}

pub fn load_str(text: &str, source: &str) -> Result<LoadedConfig> {
    // A byte-order mark is not content (serde_yaml_ng would read it as the
    // start of a second document).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text::check_limits(text, source)?;
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(Error::Config(format!(
            "{source}: the file is empty; expected at least\n  experiment:\n    name: my-experiment"
        )));
    }
    let mut config: Config =
        serde_yaml_ng::from_str(text).map_err(|e| Error::Config(parse_error(&e, source, text)))?;
    config.cluster.jobs.fill_defaults(config.cluster.scheduler);
    if config.train.checkpoint_every.is_none() {
        let h_rt = config.cluster.jobs.train.h_rt.as_ref().map(|t| t.secs());
        config.train.checkpoint_every = Some(every::CheckpointEvery::for_limit(h_rt));
    }
    let lines = locate::KeyLines::scan(text);
    let mut problems = validate::check(&config);
    let (search, tasks) = search::tasks(&config.train, &config.model, &config.sweep, &mut problems);
    if !problems.0.is_empty() {
        let mut msg = format!(
            "{source}: {} problem{} in the config:",
            problems.0.len(),
            if problems.0.len() == 1 { "" } else { "s" }
        );
        for pr in &problems.0 {
            let at = lines
                .line_of(&pr.path)
                .map(|l| format!("{source}:{l}: "))
                .unwrap_or_default();
            msg.push_str(&format!("\n  {at}{}: {}", pr.path, pr.message));
        }
        return Err(Error::Config(msg));
    }
    let warnings = validate::warnings(&config)
        .0
        .iter()
        .map(|pr| {
            let at = lines
                .line_of(&pr.path)
                .map(|l| format!("{source}:{l}: "))
                .unwrap_or_else(|| format!("{source}: "));
            format!("{at}{}: {}", pr.path, pr.message)
        })
        .collect();
    Ok(LoadedConfig {
        config,
        tasks,
        search,
        source: source.to_string(),
        warnings,
    })
}

/// `file:line:column: message`, plus the nearest valid key for unknown ones.
fn parse_error(e: &serde_yaml_ng::Error, source: &str, text: &str) -> String {
    let raw = e.to_string();
    // serde_yaml_ng appends " at line L column C" (the position, which we put
    // first); a YAML syntax error may go on with ", while parsing X at line L
    // column C" — where the construct began, worth keeping.
    let msg = match e.location() {
        Some(l) => raw.replacen(
            &format!(" at line {} column {}", l.line(), l.column()),
            "",
            1,
        ),
        None => raw.clone(),
    };
    let msg = humanize_types(&msg);
    let at = match e.location() {
        Some(l) => format!("{source}:{}:{}", l.line(), l.column()),
        None => source.to_string(),
    };
    let mut hint = unknown_key_hint(&msg).unwrap_or_default();
    let tab_line = e
        .location()
        .and_then(|l| text.lines().nth(l.line().saturating_sub(1)))
        .is_some_and(|line| line.contains('\t'));
    if tab_line && msg.contains("cannot start any token") {
        hint.push_str(" (a tab: YAML indents with spaces only)");
    }
    format!("{at}: {msg}{hint}")
}

/// serde names Rust types ("expected u32", "expected struct Train"); say what
/// to write in YAML instead.
pub fn humanize_types(msg: &str) -> String {
    let mut m = msg.to_string();
    for (rust, yaml) in [
        ("expected u32", "expected a whole number >= 0"),
        ("expected u64", "expected a whole number >= 0"),
        ("expected f64", "expected a number"),
    ] {
        m = m.replace(rust, yaml);
    }
    if let Some(i) = m.find("expected struct ") {
        let end = m[i + 16..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(m.len(), |j| i + 16 + j);
        m.replace_range(i..end, "expected a mapping of keys");
    }
    m
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown
/// variant"), suggest the nearest expected name.
pub(crate) fn unknown_key_hint(msg: &str) -> Option<String> {
    let rest = msg
        .split("unknown field `")
        .nth(1)
        .or_else(|| msg.split("unknown variant `").nth(1))?;
    let (bad, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    nearest(bad, &candidates).map(|s| format!("; did you mean `{s}`?"))
}

pub use crate::util::suggest::nearest;

impl LoadedConfig {
    /// Print the config's warnings on stderr (`warning: …`): validate, render,
    /// submit, run and check call it once they have loaded the config.
    pub fn print_warnings(&self) {
        for w in &self.warnings {
            eprintln!("warning: {w}");
        }
    }

    /// Every model the tasks fine-tune, each once, in task order: `model:`
    /// alone unless `sweep.model.name` lists several.
    pub fn models(&self) -> Vec<&Model> {
        let mut models: Vec<&Model> = Vec::new();
        for t in &self.tasks {
            if !models.contains(&&t.model) {
                models.push(&t.model);
            }
        }
        models
    }

    pub fn task(&self, id: u32) -> Result<&Task> {
        self.tasks.iter().find(|t| t.id == id).ok_or_else(|| {
            Error::Usage(format!(
                "task {id} does not exist: {} has tasks 1..={}",
                self.source,
                self.tasks.len()
            ))
        })
    }

    /// The resolved config as YAML: every default spelled out.
    pub fn to_yaml(&self) -> String {
        quote_sexagesimal(&serde_yaml_ng::to_string(&self.config).expect("config serialises"))
    }
}

/// Double-quotes plain scalars such as `10:00:00` or `1:30`: strings in YAML
/// 1.2 (what hecjob reads), but base-60 numbers (36000, 90) to YAML 1.1 readers
/// such as PyYAML, which a user may point at the rendered config.yaml.
fn quote_sexagesimal(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len() + 16);
    // Inside a block scalar (`|`, `>`), lines are string content: left alone.
    let mut block_parent_indent: Option<usize> = None;
    for line in yaml.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(parent) = block_parent_indent {
            if line.trim().is_empty() || indent > parent {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            block_parent_indent = None;
        }
        let value_at = if let Some(rest) = line.trim_start().strip_prefix("- ") {
            line.len() - rest.len()
        } else {
            line.find(": ").map_or(line.len(), |i| i + 2)
        };
        let (head, value) = line.split_at(value_at);
        if value.starts_with('|') || value.starts_with('>') {
            block_parent_indent = Some(indent);
        }
        if is_sexagesimal(value) {
            out.push_str(&format!("{head}\"{value}\""));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// YAML 1.1's base-60 numbers: an optional sign, digits (and `_`), one or more
/// `:` groups of one or two digits, and for floats a `.` fraction. A leading
/// zero (`01:00:00`) is a string to PyYAML but quoted anyway: harmless.
fn is_sexagesimal(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (whole, fraction) = match unsigned.rsplit_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let mut groups = whole.split(':');
    let head_ok = groups
        .next()
        .is_some_and(|p| digits(&p.replace('_', "")) && !p.starts_with('_'));
    let rest: Vec<&str> = groups.collect();
    head_ok
        && !rest.is_empty()
        && rest.iter().all(|p| p.len() <= 2 && digits(p))
        && fraction.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
}

/// sha256 of a rendered config.yaml's body (its leading comment lines, which
/// name the hecjob version, excluded). train.com carries the value it was
/// rendered with, so a task never trains a config re-rendered after it was queued.
pub fn body_sha256(text: &str) -> String {
    let body: String = text
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .flat_map(|l| [l, "\n"])
        .collect();
    crate::util::digest::sha256_hex(body.as_bytes())
}

/// A config path (absolute, or relative to `storage_root`) as the scripts write
/// it: storage-relative paths become `$STORAGE/...` in the shell.
pub fn storage_relative(path: &str) -> Option<&str> {
    if path.starts_with('/') {
        None
    } else {
        Some(path)
    }
}

/// Resolve a config path on this machine, expanding the storage root's
/// environment variable (on a compute node: `$global_storage`).
pub fn resolve_path(storage_root: &str, path: &str) -> Result<PathBuf> {
    resolve_path_with(storage_root, path, crate::util::env_vars::get)
}

/// [`resolve_path`] with the environment given as a lookup. The rule, the same
/// as the scripts' prelude (`[ -z "${VAR:-}" ]`, see `render`): a variable
/// that is empty counts as unset.
pub fn resolve_path_with(
    storage_root: &str,
    path: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<PathBuf> {
    if path.starts_with('/') {
        return Ok(PathBuf::from(path));
    }
    let root = match crate::util::shell::var_reference(storage_root) {
        Some(var) => lookup(var).filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::Config(format!(
                "cluster.storage_root is `{storage_root}` but ${var} is not set here (or empty); \
                 set it (export {var}=/path) or use an absolute storage_root"
            ))
        })?,
        None => storage_root.to_string(),
    };
    Ok(Path::new(&root).join(path))
}

impl Config {
    pub fn data_dir(&self) -> Result<PathBuf> {
        resolve_path(&self.cluster.storage_root, &self.paths.data_dir)
    }

    /// Where the data's split files are on this machine: `data.train`/`dev`/
    /// `test` resolved like other paths, or GoEmotions' files in `paths.data_dir`.
    pub fn data_sources(&self) -> Result<crate::data::load::Sources> {
        use crate::data::load::Sources;
        let d = &self.data;
        let root = &self.cluster.storage_root;
        let resolve = |p: &Option<String>| p.as_deref().map(|p| resolve_path(root, p)).transpose();
        let labels_file = resolve(&d.labels_file)?;
        let Some(train) = &d.train else {
            let mut src = Sources::goemotions(&self.data_dir()?);
            if labels_file.is_some() {
                src.labels_file = labels_file;
            }
            return Ok(src);
        };
        let train_path = resolve_path(root, train)?;
        let format = d.format_of(&train_path).ok_or_else(|| {
            Error::Config(format!(
                "data.train: cannot tell the format of `{train}` from its extension; set data.format: csv, tsv, jsonl or goemotions"
            ))
        })?;
        // GoEmotions' files name their labels in emotions.txt beside them.
        let labels_file = labels_file.or_else(|| {
            (format == crate::data::spec::Format::Goemotions)
                .then(|| train_path.with_file_name("emotions.txt"))
        });
        Ok(Sources {
            format,
            train: train_path,
            dev: resolve(&d.dev)?,
            test: resolve(&d.test)?,
            labels_file,
        })
    }
    /// `<output_dir>/<experiment>/task-<id>` on this machine.
    pub fn task_output_dir(&self, task: u32) -> Result<PathBuf> {
        Ok(
            resolve_path(&self.cluster.storage_root, &self.paths.output_dir)?
                .join(&self.experiment.name)
                .join(crate::jobdir::task_dir_name(task)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_60_lookalikes_are_quoted_and_nothing_else_is() {
        let yaml = "a:\n  h_rt: 01:00:00\n  s_rt: null\n  name: bert\n  url: http://x:80/y\nl:\n- 12:30\n- 1e-5\n";
        let quoted = quote_sexagesimal(yaml);
        assert_eq!(
            quoted,
            "a:\n  h_rt: \"01:00:00\"\n  s_rt: null\n  name: bert\n  url: http://x:80/y\nl:\n- \"12:30\"\n- 1e-5\n"
        );
        // Block scalar content is string content, whatever it looks like.
        let block = "setup: |-\n  a: 01:00\n\n  12:30\nafter: 02:00\n";
        assert_eq!(
            quote_sexagesimal(block),
            "setup: |-\n  a: 01:00\n\n  12:30\nafter: \"02:00\"\n"
        );
        for number in ["-1:30", "+1:30", "1:30.5", "1_0:30", "190:20:30"] {
            assert!(is_sexagesimal(number), "{number}");
        }
        assert!(!is_sexagesimal("1:2:"));
        assert!(!is_sexagesimal("1.5"));
        assert!(!is_sexagesimal("a:30"));
        assert!(!is_sexagesimal("12:345"));
        assert!(!is_sexagesimal(":30"));
    }

    /// An empty storage variable is unset here as in the scripts (it was "set",
    /// to "", here, so paths resolved relative to the current directory).
    #[test]
    fn empty_storage_variable_is_unset() {
        let empty = |_: &str| Some(String::new());
        let e = resolve_path_with("$global_storage", "models", empty).unwrap_err();
        assert!(
            e.to_string().contains("$global_storage is not set here"),
            "{e}"
        );
        let set = |_: &str| Some("/scratch/me".to_string());
        assert_eq!(
            resolve_path_with("$global_storage", "models", set).unwrap(),
            PathBuf::from("/scratch/me/models")
        );
        assert_eq!(
            resolve_path_with("$global_storage", "/abs", empty).unwrap(),
            PathBuf::from("/abs")
        );
    }

    /// The rendered config.yaml reads back as the same config, base-60
    /// lookalikes in lists and inside longer strings included.
    #[test]
    fn resolved_yaml_round_trips() {
        let mut loaded = load_str(DEFAULT_CONFIG, "default").unwrap();
        loaded.config.cluster.setup = vec!["12:30".into(), "echo a: 01:00:00".into()];
        let yaml = loaded.to_yaml();
        assert!(
            yaml.contains("h_rt: \"") && yaml.contains("- \"12:30\""),
            "{yaml}"
        );
        let back = load_str(&yaml, "rendered").unwrap();
        assert_eq!(back.config, loaded.config);
    }
}
