//! TensorBoard event files: scalars only, written so `tensorboard --logdir DIR`
//! (and its Python `EventFileLoader`) read them.
//!
//! The format is TFRecord framing around protobuf `Event` messages:
//! `u64 len (LE) | u32 masked_crc32c(len) | data | u32 masked_crc32c(data)`.
//! The first record carries `file_version: "brain.Event:2"`; each later one a
//! `wall_time`, a `step` and a `Summary` of `(tag, simple_value)` pairs.
//!
//! Why no crate: on crates.io `tensorboard-rs` pulls `protobuf` 2 and `image`
//! 0.23 (both long superseded), `tboard` pulls `prost`, `anyhow` with backtraces
//! and `hostname` for the same few bytes; the three messages used here are
//! encoded by hand below (about 60 lines) and checked by TensorBoard's own reader
//! in `tests/it/tensorboard.rs`.
//!
//! Each writer owns its file (named with the host, the process id and a
//! per-process counter, as TensorBoard's writers do), so concurrent runs in one
//! directory never share a file. Every record is flushed at once: an event file
//! is append-only, and a record cut short by a kill is skipped by the reader.

use crate::util::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct EventWriter {
    file: File,
    path: PathBuf,
}

static SERIAL: AtomicU32 = AtomicU32::new(0);

impl EventWriter {
    /// Create `DIR/events.out.tfevents.<secs>.<host>.<pid>.<n>` and write its
    /// version record.
    pub fn create(dir: &Path) -> Result<EventWriter> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        let now = wall_time();
        let host = hostname();
        let name = format!(
            "events.out.tfevents.{}.{host}.{}.{}",
            now as u64,
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("creating TensorBoard event file", &path, e))?;
        let mut w = EventWriter { file, path };
        let mut event = Vec::new();
        put_double(&mut event, 1, now);
        put_bytes(&mut event, 3, b"brain.Event:2");
        w.write_record(&event)?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One event at `step` holding every `(tag, value)` pair. Values are
    /// stored as f32 (TensorBoard's `simple_value`).
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) -> Result<()> {
        let mut summary = Vec::new();
        for (tag, v) in values {
            let mut value = Vec::new();
            put_bytes(&mut value, 1, tag.as_bytes());
            put_float(&mut value, 2, *v as f32);
            put_bytes(&mut summary, 1, &value);
        }
        let mut event = Vec::new();
        put_double(&mut event, 1, wall_time());
        put_key(&mut event, 2, 0);
        put_varint(&mut event, step);
        put_bytes(&mut event, 5, &summary);
        self.write_record(&event)
    }

    fn write_record(&mut self, data: &[u8]) -> Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut rec = Vec::with_capacity(data.len() + 16);
        rec.extend_from_slice(&len);
        rec.extend_from_slice(&masked_crc(&len).to_le_bytes());
        rec.extend_from_slice(data);
        rec.extend_from_slice(&masked_crc(data).to_le_bytes());
        // One write per record keeps a record whole unless the process dies
        // inside the write itself.
        self.file
            .write_all(&rec)
            .and_then(|_| self.file.flush())
            .map_err(|e| Error::io("writing", &self.path, e))
    }
}

fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The node's name for the file name (TensorBoard's convention); only
/// characters safe in a file name are kept.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

// --- protobuf wire format (only what Event/Summary need) ---------------------

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Field key: field number and wire type (0 varint, 1 64-bit, 2 bytes, 5 32-bit).
fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn put_double(out: &mut Vec<u8>, field: u32, v: f64) {
    put_key(out, field, 1);
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_float(out: &mut Vec<u8>, field: u32, v: f32) {
    put_key(out, field, 5);
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    put_key(out, field, 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

// --- CRC32C (Castagnoli), masked as TFRecord does ----------------------------

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0x82F6_3B78 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C (RFC 3720 B.4 lists the same polynomial).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn varints() {
        let mut v = Vec::new();
        put_varint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        v.clear();
        put_varint(&mut v, 0);
        assert_eq!(v, [0]);
    }

    #[test]
    fn records_are_framed_and_checksummed() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        w.scalars(7, &[("train/loss", 0.5)]).unwrap();
        let bytes = std::fs::read(w.path()).unwrap();
        let mut off = 0;
        let mut n = 0;
        while off < bytes.len() {
            let len = u64::from_le_bytes(bytes[off..off + 8].try_into().unwrap()) as usize;
            let lcrc = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap());
            assert_eq!(lcrc, masked_crc(&bytes[off..off + 8]));
            let data = &bytes[off + 12..off + 12 + len];
            let dcrc =
                u32::from_le_bytes(bytes[off + 12 + len..off + 16 + len].try_into().unwrap());
            assert_eq!(dcrc, masked_crc(data));
            off += 16 + len;
            n += 1;
        }
        assert_eq!(n, 2);
        assert!(w
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("events.out.tfevents."));
    }
}
