//! The `predict:` section made concrete at render time: its inputs resolved
//! (globs expanded, relative paths taken from the config's folder) and their
//! rows counted, streaming, so that the predict array's size — one task per
//! `shard_size` rows — is known when the job is submitted. The result is
//! `predict.json` (jobdir::predict::PredictPlan), which the shards and the
//! merge read; the files are not read again until a shard runs, so a file
//! that changes between render and run makes the merge's row check fail
//! rather than silently label a different corpus.
//!
//! While counting, the byte offset and line where each shard after the first
//! begins are noted (`PlanInput::starts`), so a shard seeks to its first row
//! instead of reading its first file from the start.
//!
//! Globs: `*` and `?` in the file name only (the folders are literal), the
//! matches in name order; no crate for so little.

use crate::data::spec::Format;
use crate::data::table;
use crate::experiment::config::{LoadedConfig, Predict};
use crate::jobdir::predict::{PlanInput, PredictPlan, RowStart};
use crate::util::error::{Error, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// The plan for `loaded`'s `predict:` section, if it has one.
pub fn plan(loaded: &LoadedConfig) -> Result<Option<PredictPlan>> {
    let Some(pr) = &loaded.config.predict else {
        return Ok(None);
    };
    let base = config_folder(&loaded.source);
    let mut inputs = Vec::new();
    let mut rows = 0u64;
    for (i, pattern) in pr.inputs.iter().enumerate() {
        for path in resolve(&base, pattern, i)? {
            let format = input_format(pr, &path, i)?;
            let shards = Shards {
                first: rows,
                size: pr.shard_size.max(1),
            };
            let (count, starts) = count_rows_and_starts(&path, &format, shards)?;
            let bytes = std::fs::metadata(&path)
                .map_err(|e| Error::io("reading", &path, e))?
                .len();
            rows += count;
            inputs.push(PlanInput {
                path,
                format,
                rows: count,
                bytes,
                starts,
            });
        }
    }
    let data = &loaded.config.data;
    Ok(Some(PredictPlan {
        model: model(pr, &base),
        inputs,
        rows,
        shard_size: pr.shard_size,
        shards: PredictPlan::shards_for(rows, pr.shard_size),
        format: pr.format.name().to_string(),
        probabilities: pr.probabilities,
        threshold: pr.threshold,
        batch_size: pr.batch_size,
        text_column: match &pr.text_column {
            Some(c) => crate::data::spec::DataSpec {
                text_column: c.clone(),
                ..Default::default()
            }
            .text_columns()
            .into_iter()
            .map(str::to_string)
            .collect(),
            None => data
                .text_columns()
                .into_iter()
                .map(str::to_string)
                .collect(),
        },
        text_join: pr
            .text_join
            .clone()
            .unwrap_or_else(|| data.text_join.clone()),
        id_column: pr.id_column.clone().or_else(|| data.id_column.clone()),
        precision: pr.precision.name().to_string(),
        quantize: pr.quantize.map(|_| "int8".to_string()),
    }))
}

/// `best`, or the model directory made absolute.
fn model(pr: &Predict, base: &Path) -> String {
    if pr.model == "best" {
        return pr.model.clone();
    }
    base.join(&pr.model).display().to_string()
}

/// The folder relative inputs are read from: the config's (the current
/// directory for the embedded config).
fn config_folder(source: &str) -> PathBuf {
    let p = Path::new(source);
    let folder = match p.parent() {
        Some(d) if p.is_file() && !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::path::absolute(&folder).unwrap_or(folder)
}

/// The files `pattern` names, in name order; an error naming the key when it
/// names none.
fn resolve(base: &Path, pattern: &str, i: usize) -> Result<Vec<PathBuf>> {
    let full = base.join(pattern);
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let key = format!("predict.inputs[{i}]");
    if !name.contains(['*', '?']) {
        return if full.is_file() {
            Ok(vec![full])
        } else {
            Err(Error::Usage(format!(
                "{key}: {}: no such file (relative inputs are read from the config's folder, {})",
                full.display(),
                base.display()
            )))
        };
    }
    let no_match = || {
        Error::Usage(format!(
            "{key}: {} matches no file (relative inputs are read from the config's folder, {})",
            full.display(),
            base.display()
        ))
    };
    let dir = full.parent().unwrap_or(Path::new("."));
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(no_match()),
        Err(e) => return Err(Error::io("reading folder", dir, e)),
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(|n| matches(&name, n)))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(no_match());
    }
    Ok(found)
}

/// `*` (any run of characters) and `?` (one) against a whole file name.
fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn input_format(pr: &Predict, path: &Path, i: usize) -> Result<String> {
    if let Some(f) = pr.data_format {
        return Ok(f.name().to_string());
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if matches!(ext.as_deref(), Some("txt" | "text")) {
        return Ok("text".into());
    }
    match Format::from_extension(&path.display().to_string()) {
        Some(Format::Csv) => Ok("csv".into()),
        Some(Format::Tsv) => Ok("tsv".into()),
        Some(Format::Jsonl) => Ok("jsonl".into()),
        _ => Err(Error::Usage(format!(
            "predict.inputs[{i}]: {}: cannot tell the format from the extension; set predict.data_format to text, csv, tsv or jsonl",
            path.display()
        ))),
    }
}

/// Rows as `hecjob predict` reads them: a text file's lines (the last one
/// without its newline too), a table's data rows.
pub fn count_rows(path: &Path, format: &str) -> Result<u64> {
    let none = Shards {
        first: 0,
        size: u64::MAX,
    };
    Ok(count_rows_and_starts(path, format, none)?.0)
}

/// Where a file's rows fall among the shards: its first row's number over
/// all inputs, and the shard size.
#[derive(Debug, Clone, Copy)]
pub struct Shards {
    pub first: u64,
    pub size: u64,
}

impl Shards {
    /// Whether the file's row `row` (0-based) is a shard's first, after the
    /// file's own first row.
    fn starts_at(self, row: u64) -> bool {
        row > 0 && (self.first + row) % self.size == 0
    }
}

/// [`count_rows`], and where in the file each shard that begins inside it
/// (after its first row) begins.
pub fn count_rows_and_starts(
    path: &Path,
    format: &str,
    shards: Shards,
) -> Result<(u64, Vec<RowStart>)> {
    let table_format = match format {
        "csv" => Format::Csv,
        "tsv" => Format::Tsv,
        "jsonl" => Format::Jsonl,
        _ => return count_lines(path, shards),
    };
    let mut rows = 0u64;
    let mut starts = Vec::new();
    table::for_each_row(path, table_format, |_, row| {
        if shards.starts_at(rows) {
            starts.push(RowStart {
                row: rows,
                byte: row.byte,
                line: row.line as u64,
            });
        }
        rows += 1;
        Ok(())
    })?;
    Ok((rows, starts))
}

fn count_lines(path: &Path, shards: Shards) -> Result<(u64, Vec<RowStart>)> {
    let f = crate::util::fsutil::open_regular(path).map_err(|e| Error::io("reading", path, e))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, f);
    let mut rows = 0u64;
    let mut offset = 0u64;
    let mut starts = Vec::new();
    loop {
        let buf = reader
            .fill_buf()
            .map_err(|e| Error::io("reading", path, e))?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        for (i, _) in buf.iter().enumerate().filter(|(_, b)| **b == b'\n') {
            rows += 1;
            // Row `rows` begins after this newline (if the file goes on).
            if shards.starts_at(rows) {
                starts.push(RowStart {
                    row: rows,
                    byte: offset + i as u64 + 1,
                    line: rows + 1,
                });
            }
        }
        let ends_line = buf[n - 1] == b'\n';
        reader.consume(n);
        offset += n as u64;
        if !ends_line
            && reader
                .fill_buf()
                .map_err(|e| Error::io("reading", path, e))?
                .is_empty()
        {
            rows += 1;
            break;
        }
    }
    starts.retain(|s| s.row < rows);
    Ok((rows, starts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        assert!(matches("*.txt", "a.txt"));
        assert!(matches("part-?.csv", "part-1.csv"));
        assert!(!matches("part-?.csv", "part-12.csv"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("*.txt", "a.txt.gz"));
        assert!(matches("*", ""));
    }

    #[test]
    fn lines_are_counted_as_predict_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        for (text, rows) in [
            ("", 0),
            ("a", 1),
            ("a\n", 1),
            ("a\n\nb", 3),
            ("a\r\nb\r\n", 2),
        ] {
            let p = dir.path().join("t.txt");
            std::fs::write(&p, text).unwrap();
            assert_eq!(count_rows(&p, "text").unwrap(), rows, "{text:?}");
        }
    }

    /// Each shard's first row inside a file is noted with its byte and line
    /// (counted over all inputs: this file's rows begin at row 3), and a
    /// table read from there gives the rows a whole read gives from it on,
    /// a quoted field over lines and CRLF included.
    #[test]
    fn shard_starts_are_noted_where_their_rows_begin() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        std::fs::write(&p, "a\r\nb\n\nc\nd\n").unwrap();
        let shards = Shards { first: 3, size: 2 };
        let (rows, starts) = count_rows_and_starts(&p, "text", shards).unwrap();
        let start = |row, byte, line| RowStart { row, byte, line };
        assert_eq!((rows, starts), (5, vec![start(1, 3, 2), start(3, 6, 4)]));
        for (name, bytes) in [
            (
                "t.csv",
                &b"id,text\n1,\"x\ny\"\n2,b\n3,\"c\n\nd\"\n4,e\n"[..],
            ),
            ("t.csv", b"id,text\r\n1,\"x\r\ny\"\r\n2,b\r\n3,c\r\n4,e"),
            (
                "t.jsonl",
                b"{\"a\": 1}\n\n{\"a\": 2}\r\n{\"a\": 3}\n\n{\"a\": 4}\n",
            ),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let format = Format::from_extension(name).unwrap();
            let read = |from: Option<(u64, usize)>| {
                let mut out = Vec::new();
                table::for_each_row_from(&p, format, from, |h, r| {
                    let cells: Vec<String> = h
                        .columns
                        .iter()
                        .map(|c| format!("{:?}", r.cell(h, c)))
                        .collect();
                    out.push((r.line, cells));
                    Ok(())
                })
                .unwrap();
                out
            };
            let whole = read(None);
            let shards = Shards { first: 0, size: 1 };
            let (rows, starts) =
                count_rows_and_starts(&p, &format!("{format:?}").to_lowercase(), shards).unwrap();
            assert_eq!((rows, starts.len()), (4, 3), "{name}");
            for s in starts {
                let from = read(Some((s.byte, s.line as usize)));
                assert_eq!(from, whole[s.row as usize..], "{name}: {s:?}");
                assert_eq!(from[0].0 as u64, s.line, "{name}: {s:?}");
            }
        }
    }

    /// A table read from a row names a bad row's line as a whole read does.
    #[test]
    fn a_read_from_a_row_names_the_lines_a_whole_read_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "id,text\n1,a\n2,\"b\nb\"\n3,c,d\n").unwrap();
        let err = |from| {
            table::for_each_row_from(&p, Format::Csv, from, |_, _| Ok(()))
                .unwrap_err()
                .to_string()
        };
        let whole = err(None);
        assert!(
            whole.ends_with(
                ":5: 3 fields where the header has 2; expected one field per column \
                 (a field holding the delimiter or a newline must be quoted: \"like, this\")"
            ),
            "{whole}"
        );
        assert_eq!(err(Some((12, 3))), whole);
    }
}
