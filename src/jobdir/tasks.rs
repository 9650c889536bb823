//! `tasks.json` (the sweep's tasks, written by `render`, read by `status` and
//! `report`) and `templates.json` (the `--templates` directory a job directory
//! was rendered with).

use super::read::{read_bounded, TASKS, TEMPLATES};
use super::TEMPLATES_FILE;
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// `tasks.json`: the sweep's tasks and where each writes its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TasksFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    pub tasks: Vec<TaskEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEntry {
    pub id: u32,
    /// The swept keys and this task's values.
    #[serde(default)]
    pub swept: Map<String, Value>,
    /// As the config writes it: the storage root's variable unexpanded.
    pub output_dir: String,
}

impl TasksFile {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("tasks serialise");
        s.push('\n');
        s
    }

    pub fn read(path: &Path) -> Result<TasksFile> {
        let text = read_bounded(path, TASKS)?
            .ok_or_else(|| Error::io(TASKS.reading, path, std::io::ErrorKind::NotFound.into()))?;
        serde_json::from_str(&text).map_err(|e| Error::Data(format!("{}: {e}", path.display())))
    }
}

/// `templates.json`: the `--templates` directory a job directory was rendered
/// with, so `submit` and `run` render it again the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplatesRecord {
    pub templates: PathBuf,
}

impl TemplatesRecord {
    pub fn read(job_dir: &Path) -> Result<Option<TemplatesRecord>> {
        let path = job_dir.join(TEMPLATES_FILE);
        let Some(text) = read_bounded(&path, TEMPLATES)? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))
    }

    /// Write the record, or remove a stale one when `templates` is `None`.
    pub fn write(job_dir: &Path, templates: Option<&Path>) -> Result<()> {
        let path = job_dir.join(TEMPLATES_FILE);
        match templates {
            Some(t) => {
                let rec = TemplatesRecord {
                    templates: t.to_path_buf(),
                };
                let json = serde_json::to_string_pretty(&rec).expect("record serialises");
                crate::util::fsutil::write_atomic(&path, format!("{json}\n").as_bytes())
            }
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::io("removing", &path, e))
                }
                _ => Ok(()),
            },
        }
    }
}
