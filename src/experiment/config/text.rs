//! A config file's bytes → text the YAML parser may be given.
//!
//! Guarantees, each a clear config error (exit 2) naming the file:
//! - at most [`MAX_BYTES`] are read (a config is a page of YAML);
//! - the text is UTF-8: UTF-16 is named as such, any other invalid byte is
//!   reported with its byte offset, line and column; a UTF-8 byte-order mark is
//!   dropped (it is not content, and would otherwise read as a second document);
//! - flow collections (`[`, `{`) nest at most [`MAX_DEPTH`] deep. The YAML
//!   loader takes time quadratic in that depth (40,000 levels: many seconds);
//!   block nesting is already capped by serde_yaml_ng's recursion limit.
//!
//! With both limits the parse of any input is bounded by its size, which is
//! what `tests/it/config_proptest.rs` relies on (it asserts no panic, not times).

use crate::util::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// 1 MiB: the default config is about 2 KB.
pub const MAX_BYTES: u64 = 1 << 20;
/// Flow-collection nesting; a hecjob config needs 2 (`sweep: {k: [v]}`).
pub const MAX_DEPTH: usize = 64;

/// Read `path` (at most [`MAX_BYTES`]) and decode it as UTF-8.
pub fn read(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Config(format!(
            "{}: no such config file (run `hecjob render` with no file for the embedded default, or see configs/)",
            path.display()
        )),
        _ => Error::io("reading config", path, e),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("reading config", path, e))?;
    let source = path.display().to_string();
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Error::Config(format!(
            "{source}: larger than {} KiB; an experiment config is a page of YAML: is this the right file?",
            MAX_BYTES / 1024
        )));
    }
    decode(&bytes, &source)
}

/// UTF-8 text of `bytes`, without a leading byte-order mark.
pub fn decode(bytes: &[u8], source: &str) -> Result<String> {
    let utf16 = bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || (bytes.len() >= 2 && (bytes[0] == 0 || bytes[1] == 0));
    if utf16 {
        return Err(Error::Config(format!(
            "{source}: the file is UTF-16 (a byte-order mark or NUL bytes at the start); save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)"
        )));
    }
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let bytes = &bytes[bom..];
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let at = e.valid_up_to();
            let before = &bytes[..at];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count()
                + 1;
            Err(Error::Config(format!(
                "{source}:{line}:{column}: byte {} (0x{:02X}) is not UTF-8; save the file as UTF-8 (a Latin-1 file: `iconv -f LATIN1 -t UTF-8`)",
                bom + at,
                bytes[at]
            )))
        }
    }
}

/// Refuse text past the size and depth limits, before any parsing.
pub fn check_limits(text: &str, source: &str) -> Result<()> {
    if text.len() as u64 > MAX_BYTES {
        return Err(Error::Config(format!(
            "{source}: larger than {} KiB; an experiment config is a page of YAML: is this the right file?",
            MAX_BYTES / 1024
        )));
    }
    // Every `[`/`{` counts, quoted or not: an over-count only refuses a file
    // with more than MAX_DEPTH unclosed brackets, which no config has.
    let mut depth = 0usize;
    for (i, line) in text.lines().enumerate() {
        for b in line.bytes() {
            match b {
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Error::Config(format!(
                            "{source}:{}: `[`/`{{` nested more than {MAX_DEPTH} deep; a hecjob config needs two levels (`sweep: {{key: [values]}}`)",
                            i + 1
                        )));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_reports_the_first_bad_byte() {
        let e = decode(b"experiment:\n  name: caf\xE9\n", "c.yaml").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "c.yaml:2:12: byte 23 (0xE9) is not UTF-8; save the file as UTF-8 (a Latin-1 file: `iconv -f LATIN1 -t UTF-8`)"
        );
        assert_eq!(decode(b"\xEF\xBB\xBFa: 1\n", "c").unwrap(), "a: 1\n");
        for utf16 in [&b"\xFF\xFEa\0"[..], b"\xFE\xFF\0a", b"a\0:\0"] {
            assert!(decode(utf16, "c")
                .unwrap_err()
                .to_string()
                .starts_with("c: the file is UTF-16"));
        }
    }

    #[test]
    fn depth_is_limited_before_parsing() {
        let ok = format!("a: {}{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        check_limits(&ok, "c").unwrap();
        let deep = format!("a: 1\nb: {}\n", "[{".repeat(MAX_DEPTH));
        assert_eq!(
            check_limits(&deep, "c").unwrap_err().to_string(),
            "c:2: `[`/`{` nested more than 64 deep; a hecjob config needs two levels (`sweep: {key: [values]}`)"
        );
    }
}
