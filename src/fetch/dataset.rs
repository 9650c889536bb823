//! `hecjob download-data DIR`: fetch the four GoEmotions files, pinned to the
//! commit the tutorial used, and check each one's sha256 and row count.
//!
//! Files already present and valid are skipped; a present file that fails the
//! check is fetched again. A download that fails the check is discarded
//! before it reaches its final name.

use crate::data::tsv;
use crate::fetch::http::{DownloadRequest, Http};
use crate::util::env_vars;
use crate::util::error::{Error, Result};
use std::path::Path;

/// The tutorial's download_data.py source, pinned to a commit.
pub const DEFAULT_BASE_URL: &str = "https://github.com/google-research/google-research/raw/e56477f83f3389390bfb888602bdb71515699378/goemotions/data";

/// One expected file: name, sha256, size and row count (names, for emotions.txt).
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub name: String,
    pub sha256: String,
    /// Exact size in bytes: a server sending more is cut off there.
    pub bytes: u64,
    pub rows: usize,
}

/// The GoEmotions files at the pinned commit (sha256 as in SHA256SUMS).
pub fn goemotions_files() -> Vec<FileSpec> {
    [
        (
            "train.tsv",
            "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5",
            3_519_053,
            43_410,
        ),
        (
            "dev.tsv",
            "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62",
            439_059,
            5_426,
        ),
        (
            "test.tsv",
            "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4",
            436_706,
            5_427,
        ),
        (
            "emotions.txt",
            "45c3ef86782d2a4d7fedcd6d8c111aa0d0e94720689bd164fac94fefb4495a89",
            248,
            28,
        ),
    ]
    .into_iter()
    .map(|(name, sha256, bytes, rows)| FileSpec {
        name: name.into(),
        sha256: sha256.into(),
        bytes,
        rows,
    })
    .collect()
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Present and valid: not downloaded.
    Skipped,
    Downloaded,
    /// Present but invalid (the problem), then downloaded again.
    Replaced(String),
}

/// Make `dir` hold every file in `specs`, valid, fetching from `base_url/<name>`.
pub fn download_files(
    http: &Http,
    dir: &Path,
    base_url: &str,
    specs: &[FileSpec],
) -> Result<Vec<Outcome>> {
    let base = base_url.trim().trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Error::Usage(format!(
            "--base-url / {}: {base_url:?} is not an http(s) URL; expected e.g. \
             https://mirror.example.org/goemotions (to use local copies, put the files in {} instead)",
            env_vars::HECJOB_DATA_URL,
            dir.display()
        )));
    }
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let n_labels = specs
        .iter()
        .find(|s| s.name == "emotions.txt")
        .map(|s| s.rows)
        .unwrap_or(28);
    let mut outcomes = Vec::new();
    for spec in specs {
        let path = dir.join(&spec.name);
        let mut previous = None;
        if path.exists() {
            match check(&path, spec, n_labels) {
                Ok(()) => {
                    println!(
                        "{}: present, sha256 and {} {} ok; skipped",
                        spec.name,
                        thousands(spec.rows),
                        unit(spec)
                    );
                    outcomes.push(Outcome::Skipped);
                    continue;
                }
                Err(problem) => {
                    println!("{}: present but {problem}; downloading it again", spec.name);
                    previous = Some(problem);
                }
            }
        }
        let url = format!("{base}/{}", spec.name);
        let verify = |p: &Path| check(p, spec, n_labels);
        let req = DownloadRequest {
            verify: Some(&verify),
            max_bytes: Some(spec.bytes),
            ..DownloadRequest::new(&url, &path, &spec.name)
        };
        let got = http.download(&req).map_err(|e| {
            let hint = format!(
                "fetch {} on a machine with internet access and copy them into {} \
                 (this command then checks them and skips them), or point --base-url / {} \
                 at a mirror serving <URL>/{}",
                names.join(", "),
                dir.display(),
                env_vars::HECJOB_DATA_URL,
                spec.name
            );
            e.into_error(&hint)
        })?;
        println!(
            "{}: downloaded {} {} ({} bytes), sha256 ok",
            spec.name,
            thousands(spec.rows),
            unit(spec),
            got.bytes
        );
        outcomes.push(match previous {
            Some(p) => Outcome::Replaced(p),
            None => Outcome::Downloaded,
        });
    }
    Ok(outcomes)
}

/// `Ok` when the file has the expected sha256 and row count; otherwise every
/// difference found, expected vs got.
pub fn check(path: &Path, spec: &FileSpec, n_labels: usize) -> Result<(), String> {
    let bytes = crate::util::fsutil::read_regular(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let sha = crate::util::digest::sha256_hex(&bytes);
    let rows = if spec.name.ends_with(".txt") {
        tsv::parse_emotions(&bytes, &spec.name).map(|n| n.len())
    } else {
        tsv::parse_split(&bytes, &spec.name, n_labels).map(|r| r.len())
    };
    let mut problems = Vec::new();
    if sha != spec.sha256 {
        problems.push(format!("sha256 is {sha}, expected {}", spec.sha256));
    }
    let unit = unit(spec);
    match rows {
        Ok(n) if n == spec.rows => {}
        Ok(n) => problems.push(format!(
            "{} {unit}, expected {}",
            thousands(n),
            thousands(spec.rows)
        )),
        Err(e) => problems.push(format!("not a valid file ({e})")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn unit(spec: &FileSpec) -> &'static str {
    if spec.name.ends_with(".txt") {
        "names"
    } else {
        "rows"
    }
}

/// 43410 → "43,410".
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(5426), "5,426");
        assert_eq!(thousands(43410), "43,410");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    /// Issue 22: a FIFO where a data file belongs hung `download-data` (the
    /// check opened it and waited for a writer); it is a file to fetch again.
    #[test]
    fn a_fifo_in_place_of_a_data_file_does_not_hang_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("train.tsv");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let spec = FileSpec {
            name: "train.tsv".into(),
            sha256: "00".repeat(32),
            bytes: 14,
            rows: 2,
        };
        assert_eq!(
            check(&p, &spec, 28).unwrap_err(),
            format!(
                "cannot read {}: not a regular file but a FIFO (named pipe)",
                p.display()
            )
        );
    }

    #[test]
    fn check_reports_sha_and_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("train.tsv");
        std::fs::write(&p, "a\t1\tx\nb\t2\ty\n").unwrap();
        let sha = crate::util::digest::sha256_file(&p).unwrap();
        let ok = FileSpec {
            name: "train.tsv".into(),
            sha256: sha.clone(),
            bytes: 14,
            rows: 2,
        };
        assert_eq!(check(&p, &ok, 28), Ok(()));
        let bad = FileSpec {
            name: "train.tsv".into(),
            sha256: "00".repeat(32),
            bytes: 14,
            rows: 3,
        };
        let e = check(&p, &bad, 28).unwrap_err();
        assert_eq!(
            e,
            format!(
                "sha256 is {sha}, expected {}; 2 rows, expected 3",
                "00".repeat(32)
            )
        );
    }
}
