//! Rows of a CSV, TSV or JSONL file, streamed, with the line each starts on.
//!
//! CSV and TSV are read as RFC 4180 by the `csv` crate (quoted fields with
//! embedded newlines and `""`; a UTF-8 byte-order mark is dropped) and need a
//! header row; JSONL is one JSON object per line. A cell is looked up by column
//! name, so the three formats are one thing to the label layouts.
//!
//! Each row also carries the byte offset it starts at, so that a reader can
//! begin there later ([`for_each_row_from`]: a predict shard opening its first
//! file at its first row) and give every row the line it gives in a whole read.

use super::spec::Format;
use crate::util::error::{Error, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

/// The column names: a CSV/TSV header row, or the keys of a JSONL file's first object.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub columns: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    fn new(columns: Vec<String>) -> Header {
        let index = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        Header { columns, index }
    }

    pub fn position(&self, column: &str) -> Option<usize> {
        self.index.get(column).copied()
    }

    /// `a, b, c` for messages.
    pub fn listing(&self) -> String {
        self.columns.join(", ")
    }
}

/// One cell: CSV/TSV text, or a JSON value.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Text(&'a str),
    Json(&'a Value),
}

impl Cell<'_> {
    /// The cell as text: CSV text, a JSON string or number; null is empty.
    /// Otherwise the kind of JSON value it holds (`list`, `object`, …).
    pub fn text(self) -> std::result::Result<String, &'static str> {
        match self {
            Cell::Text(t) => Ok(t.to_string()),
            Cell::Json(Value::String(s)) => Ok(s.clone()),
            Cell::Json(Value::Number(n)) => Ok(n.to_string()),
            Cell::Json(Value::Null) => Ok(String::new()),
            Cell::Json(v) => Err(json_kind(v)),
        }
    }
}

/// One row and the line of the file it starts on (1-based).
#[derive(Debug)]
pub struct Row {
    pub line: usize,
    /// Where [`for_each_row_from`] can begin to read this row again: the
    /// csv reader's position of the record (on a CRLF file, the `\n` before
    /// it), a JSONL line's first byte.
    pub byte: u64,
    fields: Fields,
}

#[derive(Debug)]
enum Fields {
    Delimited(csv::StringRecord),
    Object(serde_json::Map<String, Value>),
}

impl Row {
    /// The cell of `column`; `None` when this row has no such key (JSONL).
    pub fn cell<'a>(&'a self, header: &Header, column: &str) -> Option<Cell<'a>> {
        match &self.fields {
            Fields::Delimited(r) => header
                .position(column)
                .and_then(|i| r.get(i))
                .map(Cell::Text),
            Fields::Object(o) => o.get(column).map(Cell::Json),
        }
    }
}

/// A file that cannot be read as its format at all (not one bad row).
fn file_error(file: &str, line: Option<u64>, what: impl std::fmt::Display) -> Error {
    match line {
        Some(l) => Error::Data(format!("{file}:{l}: {what}")),
        None => Error::Data(format!("{file}: {what}")),
    }
}

/// Open `path`, naming what to do when it is missing.
fn open(path: &Path) -> Result<std::fs::File> {
    crate::util::fsutil::open_regular(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Data(format!(
                "{}: no such file; check the data: keys (paths are relative to cluster.storage_root, or absolute)",
                path.display()
            ))
        } else {
            Error::io("reading", path, e)
        }
    })
}

/// Read every row of `path` in order, calling `each` with the header and the
/// row; the header is returned. `format` is csv, tsv or jsonl.
pub fn for_each_row(
    path: &Path,
    format: Format,
    mut each: impl FnMut(&Header, Row) -> Result<()>,
) -> Result<Header> {
    let file = path.display().to_string();
    match format {
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            read_delimited(open(path)?, &file, delimiter, None, &mut each)
        }
        Format::Jsonl => read_jsonl(open(path)?, &file, None, &mut each),
        Format::Goemotions => Err(Error::Data(format!(
            "{file}: GoEmotions' TSV is read by data::tsv, not as a table"
        ))),
    }
}

/// [`for_each_row`] from the row a whole read gave as `byte` and `line`
/// (None: from the start): the header is read first, then the file from
/// `byte`; each row gets the line, and each error the message, a whole read
/// gives it.
pub fn for_each_row_from(
    path: &Path,
    format: Format,
    from: Option<(u64, usize)>,
    mut each: impl FnMut(&Header, Row) -> Result<()>,
) -> Result<Header> {
    let Some((byte, line)) = from else {
        return for_each_row(path, format, each);
    };
    let file = path.display().to_string();
    let header = read_header(path, format)?;
    let mut f = open(path)?;
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(byte))
        .map_err(|e| Error::io("reading", path, e))?;
    let mut input = std::io::BufReader::with_capacity(1 << 16, f);
    let at_newline = input
        .fill_buf()
        .map_err(|e| Error::io("reading", path, e))?
        .first()
        == Some(&b'\n');
    let start = Start {
        byte,
        // A whole read counted the newline at `byte` itself into the line.
        newlines_before: line.saturating_sub(1 + usize::from(at_newline)),
        header,
    };
    match format {
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            read_delimited(input, &file, delimiter, Some(start), &mut each)
        }
        _ => read_jsonl(input, &file, Some(start), &mut each),
    }
}

/// Where a read that does not begin at the file's start begins.
struct Start {
    byte: u64,
    /// Newlines before `byte`: the lines a whole read had passed.
    newlines_before: usize,
    /// The header a whole read had read by then.
    header: Header,
}

/// The column names of `path` without reading its rows: the header row, or
/// the keys of the first JSONL object.
pub fn read_header(path: &Path, format: Format) -> Result<Header> {
    let file = path.display().to_string();
    match format {
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .from_reader(std::io::BufReader::new(open(path)?));
            let names: Vec<String> = reader
                .headers()
                .map_err(|e| {
                    let mut line_of = LineOf {
                        newlines: std::rc::Rc::default(),
                        passed: 0,
                    };
                    csv_error(&file, &e, &mut line_of)
                })?
                .iter()
                .map(|c| c.trim_start_matches('\u{feff}').to_string())
                .collect();
            Ok(Header::new(names))
        }
        Format::Jsonl => {
            let mut first: Option<Header> = None;
            // Only the first object is parsed: stop right after it.
            let stop = "first object read";
            let r = read_jsonl(open(path)?, &file, None, &mut |h: &Header, _row: Row| {
                first = Some(h.clone());
                Err(Error::Data(stop.into()))
            });
            match r {
                Err(Error::Data(m)) if m == stop => Ok(first.unwrap_or_default()),
                Err(e) => Err(e),
                Ok(h) => Ok(h),
            }
        }
        Format::Goemotions => Ok(Header::default()),
    }
}

/// The input, with the byte offsets of its newlines queued as the csv reader
/// reads ahead: the reader's own line numbers lag one behind on CRLF files
/// (what Python's csv module and Excel write), its byte offsets do not, so a
/// record's line is counted here from its byte offset.
struct NewlineOffsets<R> {
    inner: R,
    offset: u64,
    newlines: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<u64>>>,
}

impl<R: std::io::Read> std::io::Read for NewlineOffsets<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut q = self.newlines.borrow_mut();
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                q.push_back(self.offset + i as u64);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Line numbers from byte offsets, in order: each call pops the newlines at
/// or before `byte` (offsets only grow, so the queue holds one read-ahead).
/// At, because on a CRLF file the reader places a record at the `\n` that
/// ends the line before it (a record never starts with a newline otherwise).
struct LineOf {
    newlines: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<u64>>>,
    passed: usize,
}

impl LineOf {
    fn at(&mut self, byte: u64) -> usize {
        let mut q = self.newlines.borrow_mut();
        while q.front().is_some_and(|&nl| nl <= byte) {
            q.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

/// The rows of a CSV or TSV read from its start, or (`from`) from a row's
/// position with the header given: then the reader takes every record as
/// data and the field count is checked against the header here, as the csv
/// reader checks it against the header row in a whole read.
fn read_delimited(
    input: impl std::io::Read,
    file: &str,
    delimiter: u8,
    from: Option<Start>,
    each: &mut impl FnMut(&Header, Row) -> Result<()>,
) -> Result<Header> {
    let newlines = std::rc::Rc::default();
    let counted = NewlineOffsets {
        inner: input,
        offset: 0,
        newlines: std::rc::Rc::clone(&newlines),
    };
    let mut line_of = LineOf {
        newlines,
        passed: from.as_ref().map_or(0, |s| s.newlines_before),
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(from.is_none())
        .flexible(from.is_some())
        .from_reader(std::io::BufReader::with_capacity(1 << 16, counted));
    let seeked = from.is_some();
    let (header, base) = match from {
        Some(s) => (s.header, s.byte),
        None => (delimited_header(&mut reader, file, &mut line_of)?, 0),
    };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let byte = record.position().map_or(0, |p| p.byte());
                let line = line_of.at(byte);
                if seeked && record.len() != header.columns.len() {
                    return Err(unequal_lengths(
                        file,
                        Some(line as u64),
                        header.columns.len(),
                        record.len(),
                    ));
                }
                let row = Row {
                    line,
                    byte: base + byte,
                    fields: Fields::Delimited(std::mem::take(&mut record)),
                };
                each(&header, row)?;
            }
            Err(e) => return Err(csv_error(file, &e, &mut line_of)),
        }
    }
    Ok(header)
}

/// The header row, read by `reader`.
fn delimited_header<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    file: &str,
    line_of: &mut LineOf,
) -> Result<Header> {
    let names = reader
        .headers()
        .map_err(|e| csv_error(file, &e, line_of))?
        .iter()
        .map(|c| c.trim_start_matches('\u{feff}').to_string())
        .collect::<Vec<_>>();
    if names.iter().all(String::is_empty) {
        return Err(file_error(
            file,
            Some(1),
            "no header row; expected the column names on the first line",
        ));
    }
    Ok(Header::new(names))
}

fn unequal_lengths(file: &str, line: Option<u64>, expected_len: usize, len: usize) -> Error {
    file_error(
        file,
        line,
        format!(
            "{len} fields where the header has {expected_len}; expected one field per column \
             (a field holding the delimiter or a newline must be quoted: \"like, this\")"
        ),
    )
}

/// A csv error as `file:line: what; expected …`.
fn csv_error(file: &str, e: &csv::Error, line_of: &mut LineOf) -> Error {
    let line = e.position().map(|p| line_of.at(p.byte()) as u64);
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => unequal_lengths(file, line, *expected_len as usize, *len as usize),
        csv::ErrorKind::Utf8 { err, .. } => file_error(
            file,
            line,
            format!(
                "invalid UTF-8 in field {}; expected UTF-8 text (re-save the file as UTF-8)",
                err.field() + 1
            ),
        ),
        csv::ErrorKind::Io(io) => Error::Data(format!("{file}: {io}")),
        other => file_error(file, line, format!("{other:?}")),
    }
}

/// The rows of a JSONL file read from its start, or (`from`) from a row's
/// first byte with the header (the first object's keys) given.
fn read_jsonl(
    input: impl std::io::Read,
    file: &str,
    from: Option<Start>,
    each: &mut impl FnMut(&Header, Row) -> Result<()>,
) -> Result<Header> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, input);
    let (mut header, mut line, mut next) = match from {
        Some(s) => (Some(s.header), s.newlines_before, s.byte),
        None => (None, 0usize, 0u64),
    };
    let mut buf = String::new();
    loop {
        let byte = next;
        buf.clear();
        let n = reader.read_line(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                file_error(
                    file,
                    Some(line as u64 + 1),
                    "invalid UTF-8; expected UTF-8 text (re-save the file as UTF-8)",
                )
            } else {
                Error::Data(format!("{file}: {e}"))
            }
        })?;
        if n == 0 {
            break;
        }
        next += n as u64;
        line += 1;
        let text = buf.trim_end_matches(['\n', '\r']);
        let text = if line == 1 {
            text.trim_start_matches('\u{feff}')
        } else {
            text
        };
        if text.trim().is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(o)) => o,
            Ok(other) => {
                return Err(file_error(
                    file,
                    Some(line as u64),
                    format!(
                        "a JSON {}; expected one JSON object per line ({{\"text\": …, \"labels\": […]}})",
                        json_kind(&other)
                    ),
                ))
            }
            Err(e) => {
                return Err(file_error(
                    file,
                    Some(line as u64),
                    format!("not JSON ({e}); expected one JSON object per line"),
                ))
            }
        };
        let h = header.get_or_insert_with(|| Header::new(object.keys().cloned().collect()));
        each(
            h,
            Row {
                line,
                byte,
                fields: Fields::Object(object),
            },
        )?;
    }
    Ok(header.unwrap_or_default())
}

/// "string", "number", … for messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Lines = Vec<(usize, Vec<String>)>;

    fn rows(bytes: &[u8], format: Format) -> Result<(Header, Lines)> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, bytes).unwrap();
        let mut out = Vec::new();
        let h = for_each_row(&p, format, |h, r| {
            let cells = h
                .columns
                .iter()
                .map(|c| match r.cell(h, c) {
                    Some(Cell::Text(t)) => t.to_string(),
                    Some(Cell::Json(v)) => v.to_string(),
                    None => "-".into(),
                })
                .collect();
            out.push((r.line, cells));
            Ok(())
        })?;
        Ok((h, out))
    }

    #[test]
    fn csv_is_rfc4180_with_bom_and_embedded_newlines() {
        let (h, r) = rows(
            b"\xEF\xBB\xBFtext,labels\n\"a, \"\"quoted\"\"\nline\",joy\nplain,\"x|y\"\n",
            Format::Csv,
        )
        .unwrap();
        assert_eq!(h.columns, ["text", "labels"]);
        assert_eq!(r[0], (2, vec!["a, \"quoted\"\nline".into(), "joy".into()]));
        // The second record starts on line 4: the first took two lines.
        assert_eq!(r[1], (4, vec!["plain".into(), "x|y".into()]));
    }

    #[test]
    fn crlf_files_count_lines_as_lf_files_do() {
        let lf = rows(b"text,labels\na,x\n\"two\nlines\",y\nb,z\n", Format::Csv)
            .unwrap()
            .1;
        let crlf = rows(
            b"text,labels\r\na,x\r\n\"two\r\nlines\",y\r\nb,z\r\n",
            Format::Csv,
        )
        .unwrap()
        .1;
        let lines = |r: &Lines| r.iter().map(|(l, _)| *l).collect::<Vec<_>>();
        assert_eq!(lines(&lf), [2, 3, 5]);
        assert_eq!(lines(&crlf), [2, 3, 5]);
        let e = rows(b"text,label\r\na,1\r\nb,1,2\r\n", Format::Csv)
            .unwrap_err()
            .to_string();
        assert!(e.contains(":3: 3 fields where the header has 2"), "{e}");
    }

    #[test]
    fn tsv_and_jsonl() {
        let (_, r) = rows(b"text\tlabel\nhi\t1\n", Format::Tsv).unwrap();
        assert_eq!(r, [(2, vec!["hi".to_string(), "1".to_string()])]);
        let (h, r) = rows(
            b"{\"text\": \"a\", \"labels\": [\"x\"]}\n\n{\"labels\": [1], \"text\": \"b\"}\n",
            Format::Jsonl,
        )
        .unwrap();
        assert_eq!(h.columns, ["text", "labels"]);
        assert_eq!(r[1], (3, vec!["\"b\"".to_string(), "[1]".to_string()]));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = rows(b"text,label\na,1\nb,1,2\n", Format::Csv)
            .unwrap_err()
            .to_string();
        assert!(e.ends_with(":3: 3 fields where the header has 2; expected one field per column (a field holding the delimiter or a newline must be quoted: \"like, this\")"), "{e}");
        let e = rows(b"{\"text\": 1}\n[1]\n", Format::Jsonl)
            .unwrap_err()
            .to_string();
        assert!(e.ends_with(":2: a JSON list; expected one JSON object per line ({\"text\": …, \"labels\": […]})"), "{e}");
        let e = rows(b"{\"text\": 1}\n{oops\n", Format::Jsonl)
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2: not JSON ("), "{e}");
        let e = rows(b"text,label\n\xff,1\n", Format::Csv)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(
                ":2: invalid UTF-8 in field 1; expected UTF-8 text (re-save the file as UTF-8)"
            ),
            "{e}"
        );
    }
}
