//! The input side of `hecjob predict --input`: each file's rows, streamed in
//! order, as `(id, text)`.
//!
//! CSV, TSV and JSONL are read by [`crate::data::table`] (the text column(s)
//! and id column as the `data:` keys name them); plain text is one text per
//! line, every line an input row (an empty line is the empty text), so that
//! every line of a text file has its output row. A row's id is the id
//! column's value where one is named, else `FILE:LINE` (the path as given, the
//! 1-based line the row starts on).
//!
//! An input may begin at a row other than its first ([`Input::from`], a
//! predict shard's first row as `render` found it): the file is opened there
//! (a table's header read first), and each row keeps the line, id and error
//! messages a read from the start gives it. The caller stops the reading
//! when it has its rows ([`ControlFlow::Break`]).

use crate::data::spec::Format;
use crate::data::table::{self, Header, Row};
use crate::jobdir::predict::RowStart;
use crate::util::error::{Error, Result};
use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// How an input file is written: a table format, or one text per line.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// One text per line (`.txt`).
    Text,
    Csv,
    Tsv,
    Jsonl,
}

impl InputFormat {
    /// The format `path`'s extension implies: `.txt`/`.text`, else
    /// [`Format::from_extension`]'s tables.
    pub fn of(path: &Path) -> Option<InputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        if ext == "txt" || ext == "text" {
            return Some(InputFormat::Text);
        }
        match Format::from_extension(&path.display().to_string())? {
            Format::Csv => Some(InputFormat::Csv),
            Format::Tsv => Some(InputFormat::Tsv),
            Format::Jsonl => Some(InputFormat::Jsonl),
            Format::Goemotions => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Text => "text",
            InputFormat::Csv => "csv",
            InputFormat::Tsv => "tsv",
            InputFormat::Jsonl => "jsonl",
        }
    }

    fn table(self) -> Option<Format> {
        match self {
            InputFormat::Text => None,
            InputFormat::Csv => Some(Format::Csv),
            InputFormat::Tsv => Some(Format::Tsv),
            InputFormat::Jsonl => Some(Format::Jsonl),
        }
    }
}

/// One input file and how to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub path: PathBuf,
    pub format: InputFormat,
    /// Begin at this row (None: at the first); its `row` is the number of
    /// rows before it, which the reader does not read.
    pub from: Option<RowStart>,
}

/// Which cells make a row's text and id (the `data:` keys of the same names).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Columns {
    pub text: Vec<String>,
    pub join: String,
    pub id: Option<String>,
}

/// Check before reading any row that a table's header has the columns named
/// (JSONL, whose keys may vary by row, is checked row by row).
pub fn check_columns(input: &Input, cols: &Columns) -> Result<()> {
    let Some(format) = input.format.table() else {
        return Ok(());
    };
    if format == Format::Jsonl {
        return Ok(());
    }
    let header = table::read_header(&input.path, format)?;
    let wanted = cols
        .text
        .iter()
        .map(|c| (c, "--text-column"))
        .chain(cols.id.iter().map(|c| (c, "--id-column")));
    for (col, flag) in wanted {
        if header.position(col).is_none() {
            return Err(Error::Data(format!(
                "{}:1: no column `{col}` ({flag}); the header row's columns are {}; pass {flag} with the column to read",
                input.path.display(),
                header.listing()
            )));
        }
    }
    Ok(())
}

/// Call `each(id, text)` for every row of `input` (from `input.from`), in
/// order, until it breaks.
pub fn for_each_text(
    input: &Input,
    cols: &Columns,
    mut each: impl FnMut(String, String) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let file = input.path.display().to_string();
    match input.format.table() {
        None => for_each_line(&input.path, &file, input.from, each),
        Some(format) => {
            // The table reader takes no break: a stand-in error stops it.
            let mut stopped = false;
            let from = input.from.map(|s| (s.byte, s.line as usize));
            let read = table::for_each_row_from(&input.path, format, from, |header, row| {
                let (id, text) = id_and_text(header, &row, cols, &file)?;
                match each(id, text)? {
                    ControlFlow::Continue(()) => Ok(()),
                    ControlFlow::Break(()) => {
                        stopped = true;
                        Err(Error::Internal(STOP.into()))
                    }
                }
            });
            match read {
                Err(_) if stopped => Ok(()),
                r => r.map(|_| ()),
            }
        }
    }
}

/// The stand-in error that stops a table's reader when `each` breaks.
const STOP: &str = "the caller has its rows";

fn id_and_text(header: &Header, row: &Row, cols: &Columns, file: &str) -> Result<(String, String)> {
    let cell = |col: &str, flag: &str| -> Result<String> {
        match row.cell(header, col) {
            Some(c) => c.text().map_err(|kind| {
                Error::Data(format!(
                    "{file}:{}: `{col}` holds a JSON {kind}; expected text",
                    row.line
                ))
            }),
            None => Err(Error::Data(format!(
                "{file}:{}: no `{col}` key ({flag}); the first row's keys are {}",
                row.line,
                header.listing()
            ))),
        }
    };
    let mut parts = Vec::with_capacity(cols.text.len());
    for c in &cols.text {
        parts.push(cell(c, "--text-column")?);
    }
    let id = match &cols.id {
        Some(c) => cell(c, "--id-column")?,
        None => format!("{file}:{}", row.line),
    };
    Ok((id, parts.join(&cols.join)))
}

/// Plain text: every line (without its `\n` or `\r\n`) is a row; a UTF-8
/// byte-order mark on the first line is dropped.
fn for_each_line(
    path: &Path,
    file: &str,
    from: Option<RowStart>,
    mut each: impl FnMut(String, String) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let mut f = crate::util::fsutil::open_regular(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Data(format!("{file}: no such file"))
        } else {
            Error::io("reading", path, e)
        }
    })?;
    let mut line = 0u64;
    if let Some(s) = from {
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(s.byte))
            .map_err(|e| Error::io("reading", path, e))?;
        line = s.line - 1;
    }
    let mut reader = std::io::BufReader::with_capacity(1 << 16, f);
    let mut buf = String::new();
    loop {
        buf.clear();
        let n = reader.read_line(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                Error::Data(format!(
                    "{file}:{}: invalid UTF-8; expected UTF-8 text (re-save the file as UTF-8)",
                    line + 1
                ))
            } else {
                Error::io("reading", path, e)
            }
        })?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        let mut text = buf.strip_suffix('\n').unwrap_or(&buf);
        text = text.strip_suffix('\r').unwrap_or(text);
        if line == 1 {
            text = text.trim_start_matches('\u{feff}');
        }
        if each(format!("{file}:{line}"), text.to_string())?.is_break() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(name: &str, bytes: &[u8], cols: &Columns) -> Result<Vec<(String, String)>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        crate::util::fsutil::write_atomic(&path, bytes).unwrap();
        let input = Input {
            format: InputFormat::of(&path).unwrap(),
            path: path.clone(),
            from: None,
        };
        check_columns(&input, cols)?;
        let mut out = Vec::new();
        for_each_text(&input, cols, |id, text| {
            out.push((id.replace(&path.display().to_string(), "F"), text));
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    /// Every row `render` records a start for, read from there (as a shard
    /// reads its first file), gives the rows a whole read gives from it on,
    /// ids (FILE:LINE) and texts alike: text (CRLF, an empty line), CSV with
    /// a quoted field over three lines (LF and CRLF) and JSONL with blank
    /// lines. A break stops the reading at once.
    #[test]
    fn a_read_from_a_recorded_start_gives_the_rows_a_whole_read_gives() {
        let files: [(&str, &[u8]); 5] = [
            ("a.txt", b"\xEF\xBB\xBFone\r\n\ntwo\nthree\r\nfour\nfive"),
            (
                "b.csv",
                b"id,text\n1,a\n2,\"multi\nline,\n\"\"field\"\"\"\n3,c\n4,\"d\ne\"\n5,f\n",
            ),
            (
                "c.csv",
                b"id,text\r\n1,a\r\n2,\"multi\r\nline\"\r\n3,c\r\n4,d\r\n",
            ),
            (
                "d.jsonl",
                b"{\"text\": \"a\"}\n\n{\"text\": \"b\"}\r\n{\"text\": \"c\"}\n\n\n{\"text\": \"d\"}",
            ),
            ("e.tsv", b"text\tn\nx\t1\ny\t2\n\"z\nw\"\t3\nv\t4\n"),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let format = InputFormat::of(&path).unwrap();
            let read = |from: Option<RowStart>, stop_after: usize| {
                let mut out = Vec::new();
                let input = Input {
                    path: path.clone(),
                    format,
                    from,
                };
                for_each_text(&input, &cols(&["text"], None), |id, text| {
                    out.push((id, text));
                    Ok(if out.len() == stop_after {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    })
                })
                .unwrap();
                out
            };
            let whole = read(None, usize::MAX);
            let shards = crate::experiment::predict::Shards { first: 0, size: 1 };
            let (rows, starts) =
                crate::experiment::predict::count_rows_and_starts(&path, format.name(), shards)
                    .unwrap();
            assert_eq!(rows as usize, whole.len(), "{name}");
            assert_eq!(starts.len(), whole.len() - 1, "{name}: {starts:?}");
            for s in starts {
                let r = s.row as usize;
                assert_eq!(read(Some(s), usize::MAX), whole[r..], "{name} from {s:?}");
                assert_eq!(read(Some(s), 1), whole[r..=r], "{name} from {s:?}");
            }
        }
    }

    fn cols(text: &[&str], id: Option<&str>) -> Columns {
        Columns {
            text: text.iter().map(|s| s.to_string()).collect(),
            join: " ".into(),
            id: id.map(str::to_string),
        }
    }

    #[test]
    fn text_files_give_every_line_with_its_number() {
        let r = rows("a.txt", b"\xEF\xBB\xBFone\r\n\ntwo", &cols(&["text"], None)).unwrap();
        assert_eq!(
            r,
            [
                ("F:1".to_string(), "one".to_string()),
                ("F:2".into(), "".into()),
                ("F:3".into(), "two".into())
            ]
        );
    }

    #[test]
    fn tables_join_text_columns_and_keep_the_id() {
        let r = rows(
            "a.csv",
            b"id,title,body\nx1,Hi,\"there, you\"\n",
            &cols(&["title", "body"], Some("id")),
        )
        .unwrap();
        assert_eq!(r, [("x1".to_string(), "Hi there, you".to_string())]);
        let r = rows(
            "a.jsonl",
            b"{\"text\": \"a\", \"n\": 7}\n\n{\"text\": null}\n",
            &cols(&["text"], None),
        )
        .unwrap();
        assert_eq!(
            r,
            [
                ("F:1".to_string(), "a".to_string()),
                ("F:3".into(), "".into())
            ]
        );
    }

    #[test]
    fn missing_columns_are_named_with_the_columns_there_are() {
        let e = rows("a.tsv", b"id\tbody\n1\thi\n", &cols(&["text"], None))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(":1: no column `text` (--text-column); the header row's columns are id, body; pass --text-column with the column to read"),
            "{e}"
        );
        let e = rows(
            "a.jsonl",
            b"{\"text\": \"a\"}\n{\"body\": \"b\"}\n",
            &cols(&["text"], None),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.ends_with(":2: no `text` key (--text-column); the first row's keys are text"),
            "{e}"
        );
        let e = rows("a.jsonl", b"{\"text\": [1]}\n", &cols(&["text"], None))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(":1: `text` holds a JSON list; expected text"),
            "{e}"
        );
    }
}
