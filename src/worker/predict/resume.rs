//! `OUT.progress`: what a `hecjob predict --input … --output OUT` run has
//! written, so that `--resume` continues it.
//!
//! The contract: after every append to OUT (writer::Appender: one write and an
//! fsync) this file is replaced atomically with the rows and bytes done. A
//! killed run leaves OUT at least that long; `--resume` cuts OUT back to the
//! recorded bytes (dropping any half line), skips the recorded rows and goes
//! on, which gives OUT byte for byte as an uninterrupted run would: the windows
//! start at the same rows, so the batches and their numbers are the same. A
//! resume is refused, naming what differs, when the inputs (path, size,
//! modification time), the model (directory, weights' size and time) or an
//! option that changes the output are not those recorded. A finished run
//! keeps the file with `"done": true` (a merge can check it; a repeated
//! `--resume` is then a no-op).

use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The sidecar's path: `OUT.progress`.
pub fn sidecar(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".progress");
    PathBuf::from(s)
}

/// One file as a resume checks it: its canonical path, size and modification time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileKey {
    pub path: PathBuf,
    pub size: u64,
    /// Nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
}

impl FileKey {
    pub fn of(path: &Path) -> Result<FileKey> {
        let meta = std::fs::metadata(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Data(format!("{}: no such file", path.display()))
            } else {
                Error::io("reading", path, e)
            }
        })?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        Ok(FileKey {
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            size: meta.len(),
            mtime_ns,
        })
    }
}

/// What must be the same for a resume to continue a run: the inputs, the
/// model, and every option that changes the output's bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunKey {
    pub inputs: Vec<FileKey>,
    pub model: FileKey,
    /// Each option as `--flag value`, in a fixed order.
    pub options: Vec<(String, String)>,
}

/// The sidecar's contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Rows of the inputs (all files, in order) whose output is in OUT.
    pub rows_done: u64,
    /// OUT's length after their append.
    pub bytes: u64,
    /// Every row is written.
    pub done: bool,
    pub run: RunKey,
}

impl Record {
    /// Replace the sidecar of `out` atomically.
    pub fn save(&self, out: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).expect("json") + "\n";
        crate::util::fsutil::write_atomic(&sidecar(out), json.as_bytes())
    }

    /// The sidecar of `out`, if there is one.
    pub fn load(out: &Path) -> Result<Option<Record>> {
        let path = sidecar(out);
        if !path.exists() {
            return Ok(None);
        }
        let text = crate::util::fsutil::read_to_string(&path, "reading predict progress")?;
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::Data(format!(
                "{}: not a hecjob predict progress file ({e}); remove it and {} to start over",
                path.display(),
                out.display()
            ))
        })
    }
}

/// Why `now` cannot continue the run recorded as `then`, or `Ok`.
pub fn check_same(out: &Path, then: &RunKey, now: &RunKey) -> Result<()> {
    let start_over = format!(
        "resume with the same inputs, model and options, or remove {} and {} to start over",
        out.display(),
        sidecar(out).display()
    );
    let refuse = |what: String| Err(Error::Usage(format!("--resume: {what}; {start_over}")));
    let paths = |ks: &[FileKey]| {
        ks.iter()
            .map(|k| k.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if then.inputs.len() != now.inputs.len()
        || then
            .inputs
            .iter()
            .zip(&now.inputs)
            .any(|(a, b)| a.path != b.path)
    {
        return refuse(format!(
            "the inputs are {}, but the run began with {}",
            paths(&now.inputs),
            paths(&then.inputs)
        ));
    }
    for (a, b) in then.inputs.iter().zip(&now.inputs) {
        if let Some(how) = changed(a, b) {
            return refuse(format!(
                "{} changed since the run began ({how})",
                b.path.display()
            ));
        }
    }
    if then.model.path != now.model.path {
        return refuse(format!(
            "the model is {}, but the run began with {}",
            now.model.path.display(),
            then.model.path.display()
        ));
    }
    if let Some(how) = changed(&then.model, &now.model) {
        return refuse(format!(
            "the model's weights {} changed since the run began ({how})",
            now.model.path.display()
        ));
    }
    for ((flag, was), (_, is)) in then.options.iter().zip(&now.options) {
        if was != is {
            return refuse(format!("{flag} is {is}, but the run began with {was}"));
        }
    }
    if then.options.len() != now.options.len() {
        return refuse("the options are not those the run began with".into());
    }
    Ok(())
}

/// How a file differs from its record, if it does.
fn changed(then: &FileKey, now: &FileKey) -> Option<String> {
    if then.size != now.size {
        Some(format!("{} bytes now, {} then", now.size, then.size))
    } else if then.mtime_ns != now.mtime_ns {
        Some("the same size, modified since".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(size: u64) -> RunKey {
        RunKey {
            inputs: vec![FileKey {
                path: "/d/a.csv".into(),
                size,
                mtime_ns: 1,
            }],
            model: FileKey {
                path: "/m".into(),
                size: 10,
                mtime_ns: 2,
            },
            options: vec![
                ("--format".into(), "jsonl".into()),
                ("--batch-size".into(), "8".into()),
            ],
        }
    }

    #[test]
    fn a_resume_names_what_changed() {
        let out = Path::new("o.jsonl");
        assert!(check_same(out, &key(5), &key(5)).is_ok());
        let e = check_same(out, &key(5), &key(7)).unwrap_err().to_string();
        assert_eq!(e, "--resume: /d/a.csv changed since the run began (7 bytes now, 5 then); resume with the same inputs, model and options, or remove o.jsonl and o.jsonl.progress to start over");
        let mut other = key(5);
        other.options[1].1 = "16".into();
        let e = check_same(out, &key(5), &other).unwrap_err().to_string();
        assert!(
            e.starts_with("--resume: --batch-size is 16, but the run began with 8; "),
            "{e}"
        );
    }
}
