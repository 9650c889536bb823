//! One error type for the whole tool, and the exit code each kind maps to.
//!
//! The codes are named in [`crate::util::exit_code`] (and tabled in the
//! README, "Exit codes").

use crate::util::exit_code;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Command-line misuse not caught by clap.
    #[error("{0}")]
    Usage(String),
    /// The experiment config: syntax, unknown keys, types or semantics.
    /// The message already carries file:line:column or the YAML key path.
    #[error("{0}")]
    Config(String),
    /// Input files: TSV rows, emotions.txt, model files. Message carries file:line.
    #[error("{0}")]
    Data(String),
    #[error("{context}: {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Network(String),
    #[error("{0}")]
    Scheduler(String),
    #[error("{0}")]
    Training(String),
    /// A question to the scheduler got no answer hecjob can read (`hecjob
    /// check`): unlike [`Error::Scheduler`], nothing is known either way.
    #[error("{0}")]
    NoVerdict(String),
    /// Stopped by SIGINT/SIGTERM/SIGUSR1/SIGUSR2; the task resumes from the
    /// step checkpoint committed on the signal (if a step had finished).
    #[error("{0}")]
    Interrupted(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Internal(_) => exit_code::INTERNAL,
            Error::Usage(_) | Error::Config(_) => exit_code::USAGE,
            Error::Data(_) => exit_code::BAD_INPUT,
            Error::Io { .. } => exit_code::LOCAL_IO,
            Error::Network(_) => exit_code::NETWORK,
            Error::Scheduler(_) => exit_code::SCHEDULER,
            Error::Training(_) => exit_code::TRAINING,
            Error::NoVerdict(_) => exit_code::NO_VERDICT,
            Error::Interrupted(_) => exit_code::REQUEUE,
        }
    }

    /// Wrap an I/O error with what we were doing and on which path.
    pub fn io(context: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            context,
            path: path.into(),
            source,
        }
    }
}

/// `s` for a message: control characters escaped (`\n`), so a bad value with a
/// newline does not break the message's own lines.
pub fn lit(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `s` for the terminal, keeping its lines: every control character but a
/// newline and a tab is escaped (`\u{1b}`), so text from outside (a scheduler's
/// answer, a folder name) cannot move the cursor, retitle the window or clear
/// the screen. The one helper for anything external that is printed whole.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(feature = "torch")]
impl From<tch::TchError> for Error {
    fn from(e: tch::TchError) -> Self {
        tch_local_io(&e, PathBuf::new())
            .unwrap_or_else(|| Error::Training(format!("libtorch: {e}")))
    }
}

/// [`local_io`] for libtorch's errors, whose I/O causes are not all in the
/// source chain (`TchError::Io` is transparent; the safetensors path is a field).
#[cfg(feature = "torch")]
pub fn tch_local_io(e: &tch::TchError, path: PathBuf) -> Option<Error> {
    match e {
        tch::TchError::Io(io) => Some(Error::io(
            "writing",
            path,
            std::io::Error::new(io.kind(), io.to_string()),
        )),
        tch::TchError::SafeTensorError { path: p, err } => {
            local_io(err, PathBuf::from(p)).or_else(|| local_io(e, PathBuf::from(p)))
        }
        _ => local_io(e, path),
    }
}

/// Whether the system refused a write for lack of room: a full disk (ENOSPC), a
/// quota (EDQUOT) or a file-size limit (EFBIG, `ulimit -f`). By kind, then by
/// raw errno (an `io::Error` rebuilt from a message keeps only its kind).
pub fn is_storage_refusal(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::StorageFull | K::FileTooLarge | K::QuotaExceeded
    ) || matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG)
    )
}

/// The C library's words for a refused write, as libtorch's C++ messages carry
/// them (no errno reaches Rust), and the kind each stands for.
const REFUSED_WRITE_WORDS: [(&str, std::io::ErrorKind); 3] = [
    ("No space left on device", std::io::ErrorKind::StorageFull),
    ("Disk quota exceeded", std::io::ErrorKind::QuotaExceeded),
    ("File too large", std::io::ErrorKind::FileTooLarge),
];

/// `e` as an [`Error::Io`] (exit 4) when local I/O is what failed: an
/// `io::Error` anywhere in its source chain, or libtorch's C++ message for a
/// full disk, a quota or a file-size limit. A refused write while saving is
/// neither bad data (3) nor a failed training (7).
pub fn local_io(e: &(dyn std::error::Error + 'static), path: PathBuf) -> Option<Error> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(Error::io("writing", path, copy_io(io)));
        }
        if let Some(Error::Io { source, .. }) = s.downcast_ref::<Error>() {
            return Some(Error::io("writing", path, copy_io(source)));
        }
        src = s.source();
    }
    let msg = e.to_string();
    let (words, kind) = REFUSED_WRITE_WORDS
        .into_iter()
        .find(|(m, _)| msg.contains(m))?;
    Some(Error::io("writing", path, std::io::Error::new(kind, words)))
}

/// An owned copy of `io` that keeps its errno when it has one.
fn copy_io(io: &std::io::Error) -> std::io::Error {
    match io.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(io.kind(), io.to_string()),
    }
}

impl From<tera::Error> for Error {
    fn from(e: tera::Error) -> Self {
        // tera hides the useful part in the source chain.
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Error::Config(format!("template error: {msg}"))
    }
}

#[cfg(test)]
mod refusal_tests {
    use super::*;

    #[derive(Debug)]
    struct CppError(&'static str);
    impl std::fmt::Display for CppError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for CppError {}

    /// `ulimit -f` (EFBIG) is a refused write like a full disk: exit 4, not 7,
    /// whether it arrives as an errno, a kind or libtorch's words.
    #[test]
    fn a_file_size_limit_is_local_io_like_a_full_disk() {
        let efbig = std::io::Error::from_raw_os_error(libc::EFBIG);
        assert!(is_storage_refusal(&efbig));
        assert!(is_storage_refusal(&std::io::Error::from(
            std::io::ErrorKind::QuotaExceeded
        )));
        assert!(!is_storage_refusal(&std::io::Error::from(
            std::io::ErrorKind::NotFound
        )));
        let cpp = CppError("PytorchStreamWriter failed writing file data: File too large");
        let e = local_io(&cpp, PathBuf::from("/o/model.safetensors")).unwrap();
        assert_eq!(e.exit_code(), 4);
        assert_eq!(
            e.to_string(),
            "writing: /o/model.safetensors: File too large"
        );
        let e = local_io(&efbig, PathBuf::from("/o/m")).unwrap();
        assert!(
            matches!(&e, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EFBIG))
        );
        // Our own Io error, wrapped by another layer, keeps its exit code too.
        let inner = Error::io(
            "writing",
            "/o/x",
            std::io::Error::from_raw_os_error(libc::EFBIG),
        );
        assert_eq!(
            local_io(&inner, PathBuf::from("/o/x")).unwrap().exit_code(),
            4
        );
    }
}

#[cfg(all(test, feature = "torch"))]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_in_libtorch_is_local_io() {
        // /dev/full answers every write with ENOSPC: a real full disk.
        let t = tch::Tensor::zeros([1024], (tch::Kind::Float, tch::Device::Cpu));
        let e = Error::from(tch::Tensor::write_safetensors(&[("w", &t)], "/dev/full").unwrap_err());
        assert_eq!(e.exit_code(), 4, "{e}");
        assert!(e.to_string().contains("No space left on device"), "{e}");
        let cpp = tch::TchError::Torch(
            "PytorchStreamWriter failed writing file data: No space left on device".into(),
        );
        assert_eq!(Error::from(cpp).exit_code(), 4);
        let other = tch::TchError::Torch("shape mismatch".into());
        assert_eq!(Error::from(other).exit_code(), 7);
    }
}
