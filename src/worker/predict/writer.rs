//! The output side of `hecjob predict --input`: which labels a row gets, each
//! row as a JSONL or CSV line, and the output file appended to whole windows
//! at a time.
//!
//! Guarantees: a row's labels are the model's own rule (above each label's
//! threshold; a single-label model's most probable class; `--top-k`'s K most
//! probable), listed most probable first, as the text interface shows them;
//! every append is one `write` of whole lines followed by an fsync, so the
//! bytes recorded after it (predict::resume) are on disk and a kill leaves at
//! most a tail past them, which a resume cuts off.

use crate::data::spec::Task;
use crate::util::error::{Error, Result};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// How the output is written.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// `{"id": …, "labels": […], "probabilities": {label: p, …}}` per line.
    Jsonl,
    /// `id,labels` (labels joined by `|`), then one column per label with --probabilities.
    Csv,
}

/// Which labels a row's probabilities give.
#[derive(Debug, Clone)]
pub struct Decision {
    pub task: Task,
    /// One per label (multi-label models).
    pub thresholds: Vec<f64>,
    /// The K most probable labels instead of the threshold rule.
    pub top_k: Option<usize>,
}

impl Decision {
    /// The chosen labels and their probabilities, most probable first (ties
    /// in label order).
    pub fn choose(&self, probs: &[f32]) -> Vec<(usize, f32)> {
        let mut ranked: Vec<(usize, f32)> = probs.iter().copied().enumerate().collect();
        ranked.sort_by(|x, y| y.1.total_cmp(&x.1));
        match (self.top_k, self.task) {
            (Some(k), _) => ranked.into_iter().take(k).collect(),
            // One class per text: the most probable (softmax probabilities).
            (None, Task::SingleLabel) => ranked.into_iter().take(1).collect(),
            (None, Task::MultiLabel) => ranked
                .into_iter()
                .filter(|(j, p)| f64::from(*p) > self.thresholds[*j])
                .collect(),
        }
    }
}

/// Rows as bytes of the output format.
pub struct Formatter {
    pub format: OutputFormat,
    pub labels: Vec<String>,
    pub decision: Decision,
    pub probabilities: bool,
}

impl Formatter {
    /// What starts the file: CSV's header row; nothing for JSONL.
    pub fn header(&self) -> Vec<u8> {
        match self.format {
            OutputFormat::Jsonl => Vec::new(),
            OutputFormat::Csv => {
                let mut cells = vec!["id", "labels"];
                if self.probabilities {
                    cells.extend(self.labels.iter().map(String::as_str));
                }
                csv_line(&cells)
            }
        }
    }

    /// One line per row, in the order given.
    pub fn rows(&self, ids: &[String], probs: &[Vec<f32>]) -> Vec<u8> {
        let mut out = Vec::with_capacity(ids.len() * 64);
        for (id, p) in ids.iter().zip(probs) {
            let chosen: Vec<&str> = self
                .decision
                .choose(p)
                .into_iter()
                .map(|(j, _)| self.labels[j].as_str())
                .collect();
            match self.format {
                OutputFormat::Jsonl => {
                    // By hand rather than through a serde_json::Value, which
                    // holds numbers as f64: an f32 is written as its shortest
                    // form (0.6, not 0.6000000238418579).
                    let json = |s: &str| serde_json::to_string(s).expect("a string");
                    out.extend_from_slice(b"{\"id\":");
                    out.extend_from_slice(json(id).as_bytes());
                    out.extend_from_slice(b",\"labels\":[");
                    out.extend_from_slice(
                        chosen
                            .iter()
                            .map(|l| json(l))
                            .collect::<Vec<_>>()
                            .join(",")
                            .as_bytes(),
                    );
                    out.push(b']');
                    if self.probabilities {
                        out.extend_from_slice(b",\"probabilities\":{");
                        let ps: Vec<String> = self
                            .labels
                            .iter()
                            .zip(p)
                            .map(|(l, x)| {
                                format!(
                                    "{}:{}",
                                    json(l),
                                    serde_json::to_string(x).expect("a number")
                                )
                            })
                            .collect();
                        out.extend_from_slice(ps.join(",").as_bytes());
                        out.push(b'}');
                    }
                    out.extend_from_slice(b"}\n");
                }
                OutputFormat::Csv => {
                    let labels = chosen.join("|");
                    let mut cells: Vec<String> = vec![id.clone(), labels];
                    if self.probabilities {
                        cells.extend(p.iter().map(|x| x.to_string()));
                    }
                    out.extend(csv_line(&cells));
                }
            }
        }
        out
    }
}

/// One CSV record (quoted where RFC 4180 needs it), ending in `\n`.
fn csv_line<S: AsRef<[u8]>>(cells: &[S]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(cells).expect("writing to memory");
    w.into_inner().expect("writing to memory")
}

/// The output file, appended to whole windows at a time.
pub struct Appender {
    file: std::fs::File,
    path: PathBuf,
    /// Its length: every byte written and synced so far.
    pub bytes: u64,
}

impl Appender {
    /// A new file at `path` (an error if one is there: the caller has checked).
    pub fn create(path: &Path) -> Result<Appender> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("creating", path, e))?;
        Ok(Appender {
            file,
            path: path.to_path_buf(),
            bytes: 0,
        })
    }

    /// The file at `path` cut back to its first `bytes` (dropping whatever a
    /// killed run wrote past its last recorded append).
    pub fn reopen(path: &Path, bytes: u64) -> Result<Appender> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io("opening", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("reading", path, e))?
            .len();
        if len < bytes {
            return Err(Error::Data(format!(
                "{}: {len} bytes, shorter than the {bytes} its .progress file records as written; \
                 it was changed outside hecjob: remove it and its .progress file to start over",
                path.display()
            )));
        }
        file.set_len(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| file.seek(std::io::SeekFrom::Start(bytes)).map(|_| ()))
            .map_err(|e| Error::io("truncating", path, e))?;
        Ok(Appender {
            file,
            path: path.to_path_buf(),
            bytes,
        })
    }

    /// Append `chunk` in one write, and fsync.
    pub fn append(&mut self, chunk: &[u8]) -> Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(chunk)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| Error::io("writing", &self.path, e))?;
        self.bytes += chunk.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatter(format: OutputFormat, task: Task, probabilities: bool) -> Formatter {
        Formatter {
            format,
            labels: vec!["joy".into(), "anger, hot".into(), "fear".into()],
            decision: Decision {
                task,
                thresholds: vec![0.5, 0.5, 0.2],
                top_k: None,
            },
            probabilities,
        }
    }

    #[test]
    fn jsonl_rows_list_labels_most_probable_first() {
        let f = formatter(OutputFormat::Jsonl, Task::MultiLabel, true);
        let out = f.rows(
            &["a:1".into(), "b".into()],
            &[vec![0.6, 0.9, 0.1], vec![0.1, 0.2, 0.3]],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"id\":\"a:1\",\"labels\":[\"anger, hot\",\"joy\"],\"probabilities\":{\"joy\":0.6,\"anger, hot\":0.9,\"fear\":0.1}}\n\
             {\"id\":\"b\",\"labels\":[\"fear\"],\"probabilities\":{\"joy\":0.1,\"anger, hot\":0.2,\"fear\":0.3}}\n"
        );
        let f = formatter(OutputFormat::Jsonl, Task::SingleLabel, false);
        let out = f.rows(&["x".into()], &[vec![0.2, 0.3, 0.5]]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"id\":\"x\",\"labels\":[\"fear\"]}\n"
        );
    }

    #[test]
    fn csv_rows_quote_where_needed_and_join_labels_with_a_bar() {
        let f = formatter(OutputFormat::Csv, Task::MultiLabel, true);
        let mut out = f.header();
        out.extend(f.rows(&["q\"1".into()], &[vec![0.6, 0.9, 0.1]]));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id,labels,joy,\"anger, hot\",fear\n\"q\"\"1\",\"anger, hot|joy\",0.6,0.9,0.1\n"
        );
        let f = formatter(OutputFormat::Csv, Task::MultiLabel, false);
        let mut out = f.header();
        out.extend(f.rows(&["n".into()], &[vec![0.1, 0.1, 0.1]]));
        assert_eq!(String::from_utf8(out).unwrap(), "id,labels\nn,\n");
    }

    #[test]
    fn a_reopened_file_loses_its_unrecorded_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        let mut a = Appender::create(&p).unwrap();
        a.append(b"one\n").unwrap();
        a.append(b"two\nhal").unwrap();
        let mut b = Appender::reopen(&p, 8).unwrap();
        b.append(b"three\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one\ntwo\nthree\n");
        let e = Appender::reopen(&p, 100).err().unwrap().to_string();
        assert!(e.ends_with("out.jsonl: 14 bytes, shorter than the 100 its .progress file records as written; it was changed outside hecjob: remove it and its .progress file to start over"), "{e}");
    }
}
