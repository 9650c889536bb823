//! Content checks of downloaded model files, run on the complete temp file
//! before it gets its final name (http.rs `DownloadRequest::verify`), so a
//! captive portal's HTML page answered with 200 is never stored as
//! `config.json` or `model.safetensors` and later called "already in the cache".
//!
//! - `*.json`: parses as JSON;
//! - `*.safetensors`: the header is a JSON object of the announced length that
//!   fits in the file, and every tensor's byte range lies inside the data;
//! - other text (`vocab.txt`, `merges.txt`): UTF-8 and not an HTML page;
//! - with a 40-hex ETag (the hub's ETag of a file stored in git, not LFS): the
//!   git blob sha1 matches it.

use sha1::{Digest, Sha1};
use std::io::Read;
use std::path::Path;

/// Check the file at `path` as what `name` (its final file name) should hold.
pub fn check(path: &Path, name: &str) -> Result<(), String> {
    if name.ends_with(".safetensors") {
        return safetensors_header(path);
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it back: {e}"))?;
    if looks_like_html(&bytes) {
        return Err(format!(
            "an HTML page, not {name} (a login or captive portal page answered in its place?)"
        ));
    }
    if name.ends_with(".json") {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .map(|_| ())
            .map_err(|e| format!("{name} is not valid JSON ({e})"))
    } else {
        std::str::from_utf8(&bytes)
            .map(|_| ())
            .map_err(|e| format!("{name} is not UTF-8 text (byte {})", e.valid_up_to()))
    }
}

/// The git blob id of a file: sha1 of `blob <len>\0<bytes>`.
pub fn git_blob_sha1(path: &Path) -> Result<String, String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot read it back: {e}"))?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    let mut h = Sha1::new();
    h.update(format!("blob {len}\0").as_bytes());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::util::digest::hex(&h.finalize()))
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let start: Vec<u8> = bytes
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    start.starts_with(b"<!doctype html") || start.starts_with(b"<html")
}

/// safetensors: 8 bytes little-endian header length N, N bytes of JSON, data.
fn safetensors_header(path: &Path) -> Result<(), String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot read it back: {e}"))?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| format!("not a safetensors file ({size} bytes, too short for a header)"))?;
    let n = u64::from_le_bytes(len);
    // The format caps the header at 100 MB.
    if n > 100_000_000 || n > size - 8 {
        return Err(format!(
            "not a safetensors file (header length {n} in a file of {size} bytes)"
        ));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| format!("not a safetensors file (its header is not JSON: {e})"))?;
    let tensors = v
        .as_object()
        .ok_or("not a safetensors file (its header is not a JSON object)")?;
    let data = size - 8 - n;
    for (name, t) in tensors.iter().filter(|(k, _)| *k != "__metadata__") {
        let end = t["data_offsets"][1].as_u64();
        if end.is_none_or(|e| e > data) {
            return Err(format!(
                "a damaged safetensors file: tensor {name} ends past the file's {data} data bytes"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, bytes).unwrap();
        f
    }

    #[test]
    fn html_and_broken_files_are_refused() {
        let portal = b"<!DOCTYPE html><html><body>Log in to the Wi-Fi</body></html>";
        for name in [
            "config.json",
            "tokenizer.json",
            "vocab.txt",
            "model.safetensors",
        ] {
            let f = file(portal);
            assert!(check(f.path(), name).is_err(), "{name}");
        }
        assert!(check(file(b"{\"a\": 1}").path(), "config.json").is_ok());
        assert!(check(file(b"{\"a\": ").path(), "config.json")
            .unwrap_err()
            .starts_with("config.json is not valid JSON"));
        assert!(check(file(b"[PAD]\nhello\n").path(), "vocab.txt").is_ok());
    }

    #[test]
    fn safetensors_headers() {
        let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut ok = (header.len() as u64).to_le_bytes().to_vec();
        ok.extend_from_slice(header);
        ok.extend_from_slice(&[0u8; 8]);
        assert_eq!(check(file(&ok).path(), "model.safetensors"), Ok(()));
        let cut = &ok[..ok.len() - 4];
        assert!(check(file(cut).path(), "model.safetensors")
            .unwrap_err()
            .contains("tensor w ends past"));
        assert!(check(
            file(b"\xff\xff\xff\xff\xff\xff\xff\x7fxx").path(),
            "model.safetensors"
        )
        .is_err());
    }

    #[test]
    fn git_blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha1(file(b"hello\n").path()).unwrap(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
