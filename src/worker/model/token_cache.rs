//! Tokenize once, on the CPU node: every split's token ids in a compact file
//! in the job directory (`tokens/<split>-<key>.bin`), written by the download
//! job's `prepare-data` and read by every task of the sweep, so no GPU task
//! spends its time tokenizing.
//!
//! The key is the sha256 of what decides the ids: the data files' sha256 (from
//! the data record), the `data:` keys that decide which rows are read and in
//! what order, the tokenizer.json's (and tokenizer_config.json's) sha256, the
//! tokenizer rules' version and `max_length`. A file is written
//! to a temporary name and renamed (two download jobs writing one key write the
//! same bytes); a reader checks its magic, its length and its row count, and
//! tokenizes afresh, saying why, when anything is off.
//!
//! Layout (little-endian): `HJTOKEN1`, `u64 rows`, `u64 offsets[rows + 1]`
//! (into the ids), `u32 ids[offsets[rows]]`.

use crate::data::spec::DataSpec;
use crate::jobdir::data_record::DataRecord;
use crate::util::digest::{sha256_file, sha256_hex};
use crate::util::error::{Error, Result};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"HJTOKEN1";
/// The folder in the job directory.
pub const TOKENS_DIR: &str = "tokens";

/// What the ids of one dataset and tokenizer at one max_length are keyed by.
pub fn key(
    record: &DataRecord,
    spec: &DataSpec,
    tokenizer_dir: &Path,
    max_length: u32,
) -> Result<String> {
    let mut text = String::from("hecjob-tokens-v1\n");
    for f in &record.files {
        text.push_str(&format!("{} {}\n", f.split, f.sha256));
    }
    // Every key that decides rows and their order (base_url decides nothing).
    let spec = DataSpec {
        base_url: None,
        ..spec.clone()
    };
    text.push_str(&serde_json::to_string(&spec).map_err(|e| Error::Internal(e.to_string()))?);
    text.push_str(&format!(
        "\n{}\n{max_length}\n",
        sha256_file(&tokenizer_dir.join("tokenizer.json"))?
    ));
    // The class in tokenizer_config.json and hecjob's rule for it decide the
    // pipeline too (super::tokenizer_class).
    let class_file = tokenizer_dir.join("tokenizer_config.json");
    if class_file.is_file() {
        text.push_str(&format!("{}\n", sha256_file(&class_file)?));
    }
    text.push_str(&format!(
        "rules {}\n",
        super::tokenizer_class::RULES_VERSION
    ));
    Ok(sha256_hex(text.as_bytes())[..24].to_string())
}

/// The cache file of `split` under `key` in `job_dir`.
pub fn path(job_dir: &Path, split: &str, key: &str) -> PathBuf {
    job_dir.join(TOKENS_DIR).join(format!("{split}-{key}.bin"))
}

/// Encode `ids` in the layout above.
pub fn encode(ids: &[Vec<i64>]) -> Vec<u8> {
    let total: usize = ids.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(16 + 8 * (ids.len() + 1) + 4 * total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(ids.len() as u64).to_le_bytes());
    let mut offset = 0u64;
    out.extend_from_slice(&offset.to_le_bytes());
    for row in ids {
        offset += row.len() as u64;
        out.extend_from_slice(&offset.to_le_bytes());
    }
    for row in ids {
        for &id in row {
            // Vocabularies are far below 2^32; ids are u32 in the tokenizer.
            out.extend_from_slice(&(id as u32).to_le_bytes());
        }
    }
    out
}

/// Decode a cache file's bytes, or say what is wrong with them.
pub fn decode(bytes: &[u8]) -> std::result::Result<Vec<Vec<i64>>, String> {
    let u64_at = |at: usize| -> std::result::Result<u64, String> {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .ok_or_else(|| "truncated".to_string())
    };
    if bytes.get(..8) != Some(MAGIC.as_slice()) {
        return Err("not a hecjob token cache (bad magic)".into());
    }
    let rows = usize::try_from(u64_at(8)?).map_err(|_| "row count too large")?;
    let offsets_at = 16usize;
    let ids_at = rows
        .checked_add(1)
        .and_then(|n| n.checked_mul(8))
        .and_then(|n| n.checked_add(offsets_at))
        .ok_or("row count too large")?;
    let total = usize::try_from(u64_at(offsets_at + 8 * rows)?).map_err(|_| "too large")?;
    if bytes.len() != ids_at + 4 * total {
        return Err(format!(
            "{} bytes where the header promises {}",
            bytes.len(),
            ids_at + 4 * total
        ));
    }
    let mut out = Vec::with_capacity(rows);
    let mut start = u64_at(offsets_at)? as usize;
    for r in 0..rows {
        let end = u64_at(offsets_at + 8 * (r + 1))? as usize;
        if end < start || end > total {
            return Err(format!("offset of row {r} out of order"));
        }
        out.push(
            bytes[ids_at + 4 * start..ids_at + 4 * end]
                .chunks_exact(4)
                .map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        );
        start = end;
    }
    Ok(out)
}

/// Write `ids` as the cache of `split` under `key` (atomically).
pub fn write(job_dir: &Path, split: &str, key: &str, ids: &[Vec<i64>]) -> Result<PathBuf> {
    let p = path(job_dir, split, key);
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    crate::util::fsutil::write_atomic(&p, &encode(ids))?;
    Ok(p)
}

/// The cached ids of `split`, if a cache of `rows` rows is there and whole;
/// `Err` carries why a cache that is there cannot be used.
pub fn read(
    job_dir: &Path,
    split: &str,
    key: &str,
    rows: usize,
) -> std::result::Result<Option<Vec<Vec<i64>>>, String> {
    let p = path(job_dir, split, key);
    let bytes = match crate::util::fsutil::read_regular(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", p.display())),
    };
    let ids = decode(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    if ids.len() != rows {
        return Err(format!(
            "{}: {} rows cached, {rows} read",
            p.display(),
            ids.len()
        ));
    }
    Ok(Some(ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let ids = vec![vec![101, 7, 102], vec![], vec![0, 4_000_000_000]];
        let bytes = encode(&ids);
        assert_eq!(decode(&bytes).unwrap(), ids);
        assert_eq!(
            decode(&bytes[..bytes.len() - 1]).unwrap_err(),
            format!(
                "{} bytes where the header promises {}",
                bytes.len() - 1,
                bytes.len()
            )
        );
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(
            decode(&bad).unwrap_err(),
            "not a hecjob token cache (bad magic)"
        );
        assert_eq!(decode(b"HJTOKEN1").unwrap_err(), "truncated");
    }

    #[test]
    fn read_checks_the_row_count() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), "train", "k", 2), Ok(None));
        write(dir.path(), "train", "k", &[vec![1], vec![2, 3]]).unwrap();
        assert_eq!(
            read(dir.path(), "train", "k", 2).unwrap().unwrap()[1],
            [2, 3]
        );
        assert!(read(dir.path(), "train", "k", 3)
            .unwrap_err()
            .ends_with("train-k.bin: 2 rows cached, 3 read"));
    }
}
