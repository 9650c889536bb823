//! sha256 digests as lowercase hex: of bytes, and of a file streamed from disk.
//! Used for pinned downloads, the rendered config's fingerprint and the
//! submission record.

use crate::util::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Hex sha256 of bytes in memory.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// sha256 of a regular file on disk, streamed (a FIFO is an error, not a wait).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f =
        crate::util::fsutil::open_regular(path).map_err(|e| Error::io("reading", path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io("reading", path, e))?;
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_digests() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(sha256_hex(b""), empty);
        let f = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(sha256_file(f.path()).unwrap(), empty);
    }
}
