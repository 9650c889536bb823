//! Atomic file writes: a temp file in the same directory, fsync, then rename,
//! so an interrupted write never leaves a partial file under the final name.

use crate::util::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Temp files start with this; a training run removes any it finds in its
/// output directory when it takes the lock (run_lock.rs).
pub const TEMP_PREFIX: &str = ".hecjob-tmp-";

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_atomic(path, "", |tmp| {
        tmp.write_all(bytes)
            .map_err(|e| Error::io("writing", path, e))
    })
}

/// Create or replace `path` with what `fill` writes into a temp file beside it
/// (named `.hecjob-tmp-*<suffix>`), synced to disk before the rename.
pub fn replace_atomic(
    path: &Path,
    suffix: &str,
    fill: impl FnOnce(&mut tempfile::NamedTempFile) -> Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(suffix)
        .tempfile_in(dir)
        .map_err(|e| Error::io("creating temp file", dir, e))?;
    fill(&mut tmp)?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("writing", path, e))?;
    make_shareable(tmp.as_file(), path)?;
    tmp.persist(path)
        .map_err(|e| Error::io("renaming temp file onto", path, e.error))?;
    Ok(())
}

/// Temp files are created 0600; results on shared cluster storage (metrics,
/// models, the HF cache, scripts) must be readable by the group, as a plain
/// write would leave them.
fn make_shareable(file: &std::fs::File, path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io("setting permissions", path, e))?;
    }
    let _ = (file, path);
    Ok(())
}

/// Create or replace `dst` with the contents of `src`, atomically: a hard link
/// under a temp name renamed onto `dst` (no copy; safe because every writer
/// replaces files by rename, never in place), or a copy where the file system
/// has no hard links.
pub fn link_or_copy_atomic(src: &Path, dst: &Path) -> Result<()> {
    let dir = match dst.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}link-{}-{}",
        std::process::id(),
        dst.file_name()
            .map_or("file".into(), |n| n.to_string_lossy())
    ));
    if same_file(src, dst) {
        return Ok(());
    }
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(src, &tmp).is_ok() {
        let renamed = std::fs::rename(&tmp, dst);
        // rename(2) of a link onto another link of the same file succeeds and
        // does nothing, leaving the temp name behind: remove it either way.
        let _ = std::fs::remove_file(&tmp);
        return renamed.map_err(|e| Error::io("renaming temp file onto", dst, e));
    }
    replace_atomic(dst, "", |tmp| {
        let mut from = std::fs::File::open(src).map_err(|e| Error::io("reading", src, e))?;
        std::io::copy(&mut from, tmp).map_err(|e| Error::io("copying to", dst, e))?;
        Ok(())
    })
}

/// Whether two paths name one file (device and inode): already linked.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Like [`write_atomic`] but keeps the executable bit (job scripts).
pub fn write_atomic_executable(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io("setting permissions", path, e))?;
    }
    Ok(())
}

pub fn read_to_string(path: &Path, context: &'static str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(context, path, e))
}

/// Open `path` for reading only if it is a regular file (after symbolic links).
/// The open itself cannot block: it is made non-blocking, so a FIFO put where
/// a file of hecjob's belongs (a lock, a template, a downloaded file) is an
/// error instead of a wait for a writer that never comes; the type is then
/// checked on the open file, so nothing can be swapped in between. For files
/// hecjob finds by name, not for the user's own arguments (`<(…)` is a pipe).
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let f = open_nonblocking(path)?;
    let kind = f.metadata()?.file_type();
    if !kind.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file but {}", file_kind(kind)),
        ));
    }
    Ok(f)
}

/// Open `path` for reading without blocking on a FIFO or a device
/// (O_NONBLOCK); the caller checks the type of what was opened.
pub fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// What a file type is, for messages: "a directory", "a FIFO", ….
pub fn file_kind(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "a regular file"
    }
}

/// The bytes of a regular file ([`open_regular`]: a FIFO is an error, not a wait).
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_regular(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// [`read_to_string`] through [`open_regular`]: for files hecjob finds by name.
pub fn read_regular_to_string(path: &Path, context: &'static str) -> Result<String> {
    use std::io::Read;
    let mut text = String::new();
    open_regular(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| Error::io(context, path, e))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FIFO where a file is expected is an error at once, not a wait for a
    /// writer (issue 22: templates, locks and data files were opened blind).
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("train.com.tera");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = read_regular_to_string(&fifo, "reading template").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "reading template: {}: not a regular file but a FIFO (named pipe)",
                fifo.display()
            )
        );
        let e = read_regular_to_string(dir.path(), "reading template").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("not a regular file but a directory"),
            "{e}"
        );
        std::fs::write(dir.path().join("f"), "text").unwrap();
        assert_eq!(
            read_regular_to_string(&dir.path().join("f"), "x").unwrap(),
            "text"
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/file.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644, "readable by the group, like a plain write");
        }
    }

    #[test]
    fn a_linked_file_keeps_its_contents_when_the_source_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("a"), dir.path().join("sub-b"));
        write_atomic(&src, b"epoch 1").unwrap();
        write_atomic(&dst, b"old").unwrap();
        link_or_copy_atomic(&src, &dst).unwrap();
        assert_eq!(std::fs::read(&dst).unwrap(), b"epoch 1");
        // Writers replace by rename: the link still holds what it was given.
        write_atomic(&src, b"epoch 2").unwrap();
        assert_eq!(std::fs::read(&dst).unwrap(), b"epoch 1");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n.starts_with(TEMP_PREFIX)),
            "{names:?}"
        );
    }

    /// Linking a file onto a name that already is that file (a resume puts
    /// back the best weights the checkpoint shares with the output folder):
    /// nothing changes and no temp name is left behind. rename(2) of one link
    /// onto another of the same file succeeds without removing the source.
    #[test]
    fn linking_onto_the_same_file_leaves_no_temp_name() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("best"), dir.path().join("model"));
        write_atomic(&src, b"weights").unwrap();
        link_or_copy_atomic(&src, &dst).unwrap();
        link_or_copy_atomic(&src, &dst).unwrap();
        link_or_copy_atomic(&dst, &src).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["best", "model"]);
        assert_eq!(std::fs::read(&dst).unwrap(), b"weights");
    }
}
