//! The one way a record of the contract is read: whole, but only from a
//! regular file and only up to a size bound.
//!
//! Records live on shared storage that other users and other tasks can write
//! into. A FIFO where a record should be would block the reader forever (every
//! task of an array reads the rung folder), and a huge file would be read into
//! every reader's memory; both are refused with an error naming the file. The
//! type is checked on the opened file, not only on the name, and the file is
//! opened without blocking, so a FIFO swapped in between cannot hang the read.

use crate::util::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The bound for the JSON records of the contract: far above what hecjob
/// writes (a metrics.json of a long run with its memory samples is a few MiB),
/// far below what would hurt a reader.
pub const MAX_RECORD_BYTES: u64 = 16 << 20;

/// One kind of file of the contract, as its reader names and bounds it.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    /// How messages name it (`a rung record`).
    pub name: &'static str,
    /// The context of an I/O error (`reading rung record`).
    pub reading: &'static str,
    /// The largest file accepted, bytes.
    pub limit: u64,
}

pub const SUBMISSION: Record = Record {
    name: "submission record",
    reading: "reading submission record",
    limit: MAX_RECORD_BYTES,
};
pub const TASKS: Record = Record {
    name: "tasks list",
    reading: "reading tasks list",
    limit: MAX_RECORD_BYTES,
};
pub const TEMPLATES: Record = Record {
    name: "templates record",
    reading: "reading templates record",
    limit: 1 << 20,
};
pub const METRICS: Record = Record {
    name: "metrics.json",
    reading: "reading metrics.json",
    limit: MAX_RECORD_BYTES,
};
pub const PROGRESS: Record = Record {
    name: "progress.json",
    reading: "reading progress.json",
    limit: 1 << 20,
};
/// Rung records are read by every task of an array at every rung: a small bound.
pub const RUNG: Record = Record {
    name: "rung record",
    reading: "reading rung record",
    limit: 64 << 10,
};
pub const CHECKPOINT_STATE: Record = Record {
    name: "checkpoint state",
    reading: "reading checkpoint state",
    limit: MAX_RECORD_BYTES,
};
/// `checkpoint/latest`: the name of the latest complete checkpoint folder
/// (`epoch-N` or `step-S`).
pub const CHECKPOINT_LATEST: Record = Record {
    name: "checkpoint pointer",
    reading: "reading checkpoint pointer",
    limit: 4 << 10,
};
/// The resolved config copied into a job directory (config.yaml).
pub const CONFIG_COPY: Record = Record {
    name: "config",
    reading: "reading config",
    limit: 4 << 20,
};

/// Read `path` as text. `Ok(None)` when it does not exist; an error when it is
/// not a regular file, is larger than the record's bound, or cannot be read.
pub fn read_bounded(path: &Path, rec: Record) -> Result<Option<String>> {
    let (what, limit) = (rec.name, rec.limit);
    let file = match crate::util::fsutil::open_nonblocking(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(rec.reading, path, e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::io(rec.reading, path, e))?;
    if !meta.is_file() {
        return Err(Error::Data(format!(
            "{}: is not a regular file ({}), so it is not a {what} hecjob wrote: remove it",
            path.display(),
            kind_name(&meta.file_type())
        )));
    }
    let too_big = |size_now: u64| {
        Error::Data(format!(
            "{}: {size_now} bytes is larger than a {what} may be ({}), so it is not one hecjob \
             wrote: remove it",
            path.display(),
            size(limit)
        ))
    };
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    // The file may grow after the check: read at most one byte past the bound.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(rec.reading, path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map(Some).map_err(|_| {
        Error::Data(format!(
            "{}: a {what} is UTF-8 text; this is not",
            path.display()
        ))
    })
}

fn kind_name(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a plain file"
    }
}

/// A bound: whole MiB and up as `units::bytes` prints them; below, the exact count.
fn size(b: u64) -> String {
    if b >= 1 << 20 {
        crate::util::units::bytes(b)
    } else {
        format!("{b} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_none_and_a_small_one_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        assert!(read_bounded(&p, RUNG).unwrap().is_none());
        std::fs::write(&p, "{}").unwrap();
        assert_eq!(read_bounded(&p, RUNG).unwrap().unwrap(), "{}");
    }

    #[test]
    fn a_file_over_the_bound_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.json");
        std::fs::write(&p, vec![b' '; 65537]).unwrap();
        let e = read_bounded(&p, RUNG).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: 65537 bytes is larger than a rung record may be (65536 bytes), so it is \
                 not one hecjob wrote: remove it",
                p.display()
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo.json");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = read_bounded(&p, METRICS).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: is not a regular file (a FIFO), so it is not a metrics.json hecjob wrote: \
                 remove it",
                p.display()
            )
        );
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_bounded(dir.path(), PROGRESS).unwrap_err().to_string();
        assert!(e.contains("is not a regular file (a directory)"), "{e}");
    }
}
