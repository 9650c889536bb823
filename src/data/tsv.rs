//! The GoEmotions files: `emotions.txt` (one label name per line, id = line
//! index) and the splits (`text<TAB>label ids<TAB>comment id`, no header).
//!
//! The text column is read the way the tutorial read it, with Python's
//! `csv.reader(f, delimiter='\t')`: a field that *starts* with `"` is quoted,
//! `""` inside it is one `"`, and the closing quote ends it. About 1,097 / 137 /
//! 149 lines (train/dev/test) depend on this; a plain tab split would keep the
//! quotes. Anything malformed is an [`Error::Data`] naming `file:line`.

use crate::util::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

pub use super::dataset::{Dataset, Example, SPLITS};

/// Read `dir/emotions.txt`, `dir/train.tsv`, `dir/dev.tsv`, `dir/test.tsv`.
pub fn load_dir(dir: &Path) -> Result<Dataset> {
    let labels = read_emotions(&dir.join("emotions.txt"))?;
    let n = labels.len();
    Ok(Dataset {
        train: read_split(&dir.join("train.tsv"), n)?,
        dev: read_split(&dir.join("dev.tsv"), n)?,
        test: read_split(&dir.join("test.tsv"), n)?,
        labels,
    })
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Data(format!(
                "{}: no such file; run `hecjob download-data {}` first",
                path.display(),
                path.parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| ".".into())
            ))
        } else {
            Error::io("reading", path, e)
        }
    })
}

/// Read emotions.txt: one non-empty, distinct name per line.
pub fn read_emotions(path: &Path) -> Result<Vec<String>> {
    parse_emotions(&read_bytes(path)?, &path.display().to_string())
}

/// [`read_emotions`] over bytes; `file` names the source in messages.
pub fn parse_emotions(bytes: &[u8], file: &str) -> Result<Vec<String>> {
    // A byte-order mark (an editor's) is not part of the first name.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut names: Vec<String> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in lines(bytes) {
        let lineno = i + 1;
        let line = check_line(line, file, lineno)?;
        let name = line.trim();
        if name.is_empty() {
            return Err(Error::Data(format!(
                "{file}:{lineno}: empty line; expected one emotion name per line (id = line index)"
            )));
        }
        if let Some(c) = name.chars().find(|c| c.is_control() || *c == '\u{feff}') {
            return Err(Error::Data(format!(
                "{file}:{lineno}: the name {name:?} holds {}; expected one plain name per line",
                match c {
                    '\t' => "a tab (is this a TSV, not emotions.txt?)".to_string(),
                    '\u{feff}' => "a byte-order mark".to_string(),
                    c => format!("the control character {:?}", c),
                }
            )));
        }
        if let Some(prev) = seen.insert(name.to_string(), lineno) {
            return Err(Error::Data(format!(
                "{file}:{lineno}: emotion {name:?} already named on line {prev}; expected distinct names"
            )));
        }
        names.push(name.to_string());
    }
    if names.is_empty() {
        return Err(Error::Data(format!(
            "{file}: no emotion names; expected one per line (GoEmotions has 28)"
        )));
    }
    Ok(names)
}

/// Read a split file; label ids must be below `n_labels` (the emotions.txt length).
pub fn read_split(path: &Path, n_labels: usize) -> Result<Vec<Example>> {
    parse_split(&read_bytes(path)?, &path.display().to_string(), n_labels)
}

/// Lines of `bytes` split on `\n` with their 0-based index; a final newline
/// does not start another line.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n')
        .enumerate()
        .filter(move |_| !empty)
}

/// UTF-8 and no carriage returns, or a `file:line` error.
fn check_line<'a>(line: &'a [u8], file: &str, lineno: usize) -> Result<&'a str> {
    // A NUL never occurs in text: a binary or compressed file, whatever else
    // (a stray \r) the line holds, so say that first.
    if let Some(pos) = line.iter().position(|&b| b == 0) {
        return Err(Error::Data(format!(
            "{file}:{lineno}: a NUL byte at byte {} of the line: this is not a text file \
             (a compressed or binary file saved under this name?); download it again",
            pos + 1
        )));
    }
    // Invalid UTF-8 before any \r: a damaged file, not one with CRLF endings.
    if let Err(e) = std::str::from_utf8(line) {
        if !line[..e.valid_up_to()].contains(&b'\r') {
            return Err(Error::Data(format!(
                "{file}:{lineno}: invalid UTF-8 at byte {} of the line; expected UTF-8 text \
                 (the file is damaged: download it again)",
                e.valid_up_to() + 1
            )));
        }
    }
    if let Some(pos) = line.iter().position(|&b| b == b'\r') {
        let what = if pos + 1 == line.len() {
            "line ends with CRLF (\\r\\n)"
        } else {
            "carriage return (\\r) inside the line"
        };
        return Err(Error::Data(format!(
            "{file}:{lineno}: {what}; expected Unix (LF) line endings: convert the file \
             with `dos2unix` or download it again"
        )));
    }
    std::str::from_utf8(line).map_err(|e| {
        Error::Data(format!(
            "{file}:{lineno}: invalid UTF-8 at byte {} of the line; expected UTF-8 text \
             (the file is damaged: download it again)",
            e.valid_up_to() + 1
        ))
    })
}

/// Parse a split from bytes; `file` names the source in messages. Warnings
/// (see [`parse_split_warnings`]) go to stderr.
pub fn parse_split(bytes: &[u8], file: &str, n_labels: usize) -> Result<Vec<Example>> {
    let (rows, warnings) = parse_split_warnings(bytes, file, n_labels)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(rows)
}

/// Whether `path` reads as GoEmotions' header-less TSV: its first line is a
/// record (`text<TAB>label ids<TAB>comment id`), not a header row. A file that
/// cannot be read is not (the reader that follows says why).
pub fn looks_like_goemotions(path: &Path) -> bool {
    use std::io::BufRead;
    let Ok(file) = crate::util::fsutil::open_regular(path) else {
        return false;
    };
    let mut first = String::new();
    // One line, at most 64 KiB of it.
    let mut reader = std::io::Read::take(std::io::BufReader::new(file), 64 << 10);
    if reader.read_line(&mut first).is_err() {
        return false;
    }
    looks_like_record(
        first
            .trim_end_matches(['\n', '\r'])
            .trim_start_matches('\u{feff}'),
    )
}

/// Whether a line inside a quoted text looks like a record of its own:
/// `text<TAB>label ids<TAB>comment id`.
fn looks_like_record(line: &str) -> bool {
    let f: Vec<&str> = line.split('\t').collect();
    f.len() == 3
        && !f[1].is_empty()
        && f[1].bytes().all(|b| b.is_ascii_digit() || b == b',')
        && !f[2].is_empty()
        && f[2].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// [`parse_split`], with its warnings returned: a quoted text that runs on
/// over lines that look like records (a stray `"` at the start of a line
/// swallows the records after it, as Python's csv would: kept, but said).
pub fn parse_split_warnings(
    bytes: &[u8],
    file: &str,
    n_labels: usize,
) -> Result<(Vec<Example>, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut out = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut it = lines(bytes);
    while let Some((i, first)) = it.next() {
        let lineno = i + 1;
        let first = check_line(first, file, lineno)?;
        if first.is_empty() {
            return Err(Error::Data(format!(
                "{file}:{lineno}: empty line; expected text<TAB>label ids<TAB>comment id"
            )));
        }
        let rec = read_record(&mut it, first, file, lineno)?;
        let at = if rec.last == lineno {
            format!("{file}:{lineno}")
        } else {
            format!("{file}:{lineno}-{}", rec.last)
        };
        if let Some(w) = run_on_warning(&at, lineno, &rec.swallowed) {
            warnings.push(w);
        }
        let example = to_example(rec.fields, n_labels, &at, lineno)?;
        if let Some(prev) = ids.insert(example.id.clone(), lineno) {
            return Err(Error::Data(format!(
                "{at}: comment id {:?} already used on line {prev}; expected each id once",
                example.id
            )));
        }
        out.push(example);
    }
    Ok((out, warnings))
}

/// One record's fields, the last line it took, and the lines wholly inside
/// its text that look like records of their own.
struct ReadRecord {
    fields: Vec<String>,
    last: usize,
    swallowed: Vec<usize>,
}

/// The record that starts with `first` (line `lineno`): a quoted field may,
/// as in Python's csv module, run on over the newline; the record then
/// continues on the following lines of `it`.
fn read_record<'b>(
    it: &mut impl Iterator<Item = (usize, &'b [u8])>,
    first: &str,
    file: &str,
    lineno: usize,
) -> Result<ReadRecord> {
    let mut rec = Record::default();
    let mut last = lineno;
    rec.feed(first);
    let mut swallowed: Vec<usize> = Vec::new();
    while rec.in_quotes() {
        match it.next() {
            Some((j, more)) => {
                last = j + 1;
                let more = check_line(more, file, last)?;
                rec.feed_newline();
                rec.feed(more);
                // Lines wholly inside the text (the closing line holds the
                // rest of this record, so it looks like one by right).
                if rec.in_quotes() && looks_like_record(more) {
                    swallowed.push(last);
                }
            }
            None => {
                return Err(Error::Data(format!(
                    "{file}:{lineno}: the quoted text that starts this line is never \
                     closed (no ending `\"` before the end of the file); expected `\"` \
                     at the end of the text, with quotes inside it doubled (`\"\"`)"
                )))
            }
        }
    }
    Ok(ReadRecord {
        fields: rec.finish(),
        last,
        swallowed,
    })
}

/// The warning for a text that swallowed lines looking like records.
fn run_on_warning(at: &str, lineno: usize, swallowed: &[usize]) -> Option<String> {
    let first_swallowed = swallowed.first()?;
    Some(format!(
        "{at}: the quoted text that starts line {lineno} runs on over {} line{} that look like records of their own (the first: line {first_swallowed}); read as one text, as Python's csv does. A stray `\"` at the start of line {lineno}? Double it (`\"\"`) or remove it",
        swallowed.len(),
        if swallowed.len() == 1 { "" } else { "s" }
    ))
}

/// The three fields as an example: text, label ids, a non-empty comment id.
fn to_example(fields: Vec<String>, n_labels: usize, at: &str, line: usize) -> Result<Example> {
    if fields.len() != 3 {
        return Err(Error::Data(format!(
            "{at}: {} tab-separated field{}; expected 3: text<TAB>label ids<TAB>comment id",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        )));
    }
    let mut fields = fields.into_iter();
    let (text, label_field, id) = (
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
    );
    let labels = parse_labels(&label_field, n_labels, at)?;
    if id.is_empty() {
        return Err(Error::Data(format!(
            "{at}: empty comment id; expected an id such as eebbqej in the third field"
        )));
    }
    Ok(Example {
        text,
        labels,
        id,
        line,
    })
}

fn parse_labels(field: &str, n_labels: usize, at: &str) -> Result<Vec<usize>> {
    let expected = format!(
        "expected comma-separated label ids from 0 to {} (emotions.txt has {n_labels} names), e.g. 3,27",
        n_labels.saturating_sub(1)
    );
    if field.is_empty() {
        return Err(Error::Data(format!("{at}: empty label field; {expected}")));
    }
    let mut labels = Vec::new();
    for part in field.split(',') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Data(format!(
                "{at}: label {part:?} in {field:?} is not a number; {expected}"
            )));
        }
        let id: usize = match part.parse() {
            Ok(id) if id < n_labels => id,
            _ => {
                return Err(Error::Data(format!(
                    "{at}: label id {part} is beyond emotions.txt; {expected}"
                )))
            }
        };
        if labels.contains(&id) {
            return Err(Error::Data(format!(
                "{at}: label id {id} listed twice in {field:?}; {expected}, each once"
            )));
        }
        labels.push(id);
    }
    Ok(labels)
}

/// Python csv reader state (delimiter `\t`, quotechar `"`, doublequote,
/// strict=False), fed one line at a time.
#[derive(Default)]
struct Record {
    fields: Vec<String>,
    field: String,
    state: State,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum State {
    #[default]
    StartField,
    InField,
    InQuoted,
    /// Just saw a `"` inside a quoted field: `""`, the end, or (non-strict) text.
    QuoteInQuoted,
}

impl Record {
    fn in_quotes(&self) -> bool {
        self.state == State::InQuoted
    }

    fn feed(&mut self, line: &str) {
        for c in line.chars() {
            match (self.state, c) {
                (State::StartField, '"') => self.state = State::InQuoted,
                (State::StartField | State::InField | State::QuoteInQuoted, '\t') => {
                    self.fields.push(std::mem::take(&mut self.field));
                    self.state = State::StartField;
                }
                (State::StartField | State::InField, c) => {
                    self.field.push(c);
                    self.state = State::InField;
                }
                (State::InQuoted, '"') => self.state = State::QuoteInQuoted,
                (State::InQuoted, c) => self.field.push(c),
                (State::QuoteInQuoted, '"') => {
                    self.field.push('"');
                    self.state = State::InQuoted;
                }
                // Python (strict=False) keeps text after a closing quote: `"a"b` → `ab`.
                (State::QuoteInQuoted, c) => {
                    self.field.push(c);
                    self.state = State::InField;
                }
            }
        }
    }

    /// The line ended inside a quoted field: Python keeps the newline in the text.
    fn feed_newline(&mut self) {
        self.field.push('\n');
    }

    fn finish(mut self) -> Vec<String> {
        self.fields.push(self.field);
        self.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<Example>> {
        parse_split(s.as_bytes(), "t.tsv", 28)
    }

    fn err(s: &[u8]) -> String {
        parse_split(s, "t.tsv", 28).unwrap_err().to_string()
    }

    #[test]
    fn a_stray_quote_swallowing_records_is_warned_about_with_the_line() {
        // Issue 15: a `"` at the start of line 2 read lines 3..=5 into its text.
        let tsv = "a\t1\tid1\n\"oops stray\t2\tid2\nb\t3\tid3\nc\t4\tid4\nend\"\t5\tid5\n";
        let (rows, warnings) = parse_split_warnings(tsv.as_bytes(), "t.tsv", 28).unwrap();
        assert_eq!(rows.len(), 2, "read as Python's csv reads it");
        assert_eq!(
            warnings,
            ["t.tsv:2-5: the quoted text that starts line 2 runs on over 2 lines that look like records of their own (the first: line 3); read as one text, as Python's csv does. A stray `\"` at the start of line 2? Double it (`\"\"`) or remove it"]
        );
        // A text that really spans lines (no record-like lines): no warning.
        let ok = "\"two\nlines\"\t1\tid1\n";
        assert_eq!(
            parse_split_warnings(ok.as_bytes(), "t.tsv", 28).unwrap().1,
            Vec::<String>::new()
        );
    }

    #[test]
    fn plain_rows() {
        let ex = parse("hello there\t27\tid1\nbye\t2,3\tid2\n").unwrap();
        assert_eq!(
            ex,
            vec![
                Example {
                    text: "hello there".into(),
                    labels: vec![27],
                    id: "id1".into(),
                    line: 1,
                },
                Example {
                    text: "bye".into(),
                    labels: vec![2, 3],
                    id: "id2".into(),
                    line: 2,
                },
            ]
        );
        // No final newline is fine too.
        assert_eq!(parse("a\t1\tx").unwrap().len(), 1);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn quoting_as_python_csv() {
        // Values checked against Python 3: list(csv.reader(io.StringIO(s), delimiter='\t')).
        let cases = [
            (
                "\"Three words, \"\"Dude.\"\" \"\t1\ta",
                "Three words, \"Dude.\" ",
            ),
            (
                "\"\"\"We need more.\"\" \"\"OK.\"\"\"\t1\ta",
                "\"We need more.\" \"OK.\"",
            ),
            ("say \"hi\" now\t1\ta", "say \"hi\" now"),
            ("\"a\"b c\t1\ta", "ab c"),
            ("\"tab\tinside\"\t1\ta", "tab\tinside"),
            ("\"\"\t1\ta", ""),
        ];
        for (line, text) in cases {
            let ex = parse(line).unwrap();
            assert_eq!(ex[0].text, text, "{line:?}");
            assert_eq!(ex[0].labels, vec![1]);
        }
    }

    #[test]
    fn quoted_field_over_two_lines() {
        let ex = parse("\"first\nsecond\"\t4\tq1\nnext\t5\tq2\n").unwrap();
        assert_eq!(ex[0].text, "first\nsecond");
        assert_eq!(ex[1].id, "q2");
        let e = err(b"ok\t1\ta\n\"never closed\t1\tb\nmore\t2\tc\n");
        assert!(e.starts_with("t.tsv:2: the quoted text"), "{e}");
    }

    #[test]
    fn bad_rows_name_file_line_and_expectation() {
        let cases: [(&[u8], &str); 11] = [
            (b"ok\t1\ta\nonly two\t1\n", "t.tsv:2: 2 tab-separated fields; expected 3"),
            (b"a\t1\tb\textra\n", "t.tsv:1: 4 tab-separated fields; expected 3"),
            (b"a\t\tb\n", "t.tsv:1: empty label field; expected comma-separated label ids from 0 to 27"),
            (b"a\t1,x\tb\n", "t.tsv:1: label \"x\" in \"1,x\" is not a number"),
            (b"a\t1,\tb\n", "t.tsv:1: label \"\" in \"1,\" is not a number"),
            (b"a\t28\tb\n", "t.tsv:1: label id 28 is beyond emotions.txt; expected comma-separated label ids from 0 to 27 (emotions.txt has 28 names)"),
            (b"a\t1\tb\nc\t2\tb\n", "t.tsv:2: comment id \"b\" already used on line 1"),
            (b"a\t1\tb\n\xff\xfe\t1\tc\n", "t.tsv:2: invalid UTF-8 at byte 1 of the line"),
            (b"a\t1\tb\r\n", "t.tsv:1: line ends with CRLF"),
            (b"a\t1\tb\n\nc\t1\td\n", "t.tsv:2: empty line"),
            (b"a\t1,1\tb\n", "t.tsv:1: label id 1 listed twice"),
        ];
        for (input, want) in cases {
            let e = err(input);
            assert!(
                e.starts_with(want),
                "input {input:?}\n got: {e}\nwant: {want}"
            );
        }
    }

    #[test]
    fn binary_files_and_odd_label_names_say_what_they_are() {
        // Issue 15: a gzip'd TSV was told to "convert with dos2unix".
        let gz = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\r\x8a\x00a\tb\n";
        assert_eq!(
            err(gz),
            "t.tsv:1: a NUL byte at byte 4 of the line: this is not a text file (a compressed or binary file saved under this name?); download it again"
        );
        assert!(err(b"caf\xe9\r\t1\tx\n").starts_with("t.tsv:1: invalid UTF-8 at byte 4"));
        // emotions.txt: a BOM is dropped, a tab or BOM inside a name refused.
        assert_eq!(
            parse_emotions(b"\xEF\xBB\xBFjoy\nanger\n", "e.txt").unwrap(),
            ["joy", "anger"]
        );
        assert_eq!(
            parse_emotions(b"joy\tx\nanger\n", "e.txt").unwrap_err().to_string(),
            "e.txt:1: the name \"joy\\tx\" holds a tab (is this a TSV, not emotions.txt?); expected one plain name per line"
        );
        assert!(parse_emotions("joy\nan\u{feff}ger\n".as_bytes(), "e.txt")
            .unwrap_err()
            .to_string()
            .contains("holds a byte-order mark"));
    }

    #[test]
    fn emotions_file() {
        let names = parse_emotions(b"admiration\namusement\nneutral", "e.txt").unwrap();
        assert_eq!(names, ["admiration", "amusement", "neutral"]);
        assert_eq!(parse_emotions(b"a\nb\n", "e.txt").unwrap().len(), 2);
        let e = parse_emotions(b"a\na", "e.txt").unwrap_err().to_string();
        assert!(
            e.starts_with("e.txt:2: emotion \"a\" already named on line 1"),
            "{e}"
        );
        let e = parse_emotions(b"a\r\nb", "e.txt").unwrap_err().to_string();
        assert!(e.starts_with("e.txt:1: line ends with CRLF"), "{e}");
        assert!(parse_emotions(b"", "e.txt").is_err());
    }

    #[test]
    fn missing_file_says_what_to_run() {
        let e = read_split(Path::new("/nonexistent-dir/train.tsv"), 28).unwrap_err();
        assert!(
            e.to_string()
                .contains("hecjob download-data /nonexistent-dir"),
            "{e}"
        );
    }
}
