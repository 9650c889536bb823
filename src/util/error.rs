//! One error type for the whole tool, and the exit code each kind maps to.
//!
//! Exit codes (documented in the README, "Exit codes"):
//! | code | meaning |
//! |---|---|
//! | 0  | success |
//! | 1  | internal error (a bug: please report) |
//! | 2  | bad command line or bad experiment config |
//! | 3  | bad input data or model files (file:line says where) |
//! | 4  | I/O error on a local file |
//! | 5  | network / download failure |
//! | 6  | the scheduler (qsub/qstat/qacct) failed or refused |
//! | 7  | training failed (NaN loss, no usable GPU, …) |
//! | 8  | a scheduler check gave no verdict (`hecjob check`: its client was killed, said nothing, or said something unreadable) |
//! | 99 | stopped by a signal: resumes from the last end-of-epoch checkpoint, if any (Grid Engine reschedules the task) |

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
    /// Stopped by SIGINT/SIGTERM/SIGUSR1/SIGUSR2; the task resumes from its last
    /// end-of-epoch checkpoint (if an epoch had finished).
    #[error("{0}")]
    Interrupted(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Internal(_) => 1,
            Error::Usage(_) | Error::Config(_) => 2,
            Error::Data(_) => 3,
            Error::Io { .. } => 4,
            Error::Network(_) => 5,
            Error::Scheduler(_) => 6,
            Error::Training(_) => 7,
            Error::NoVerdict(_) => 8,
            Error::Interrupted(_) => crate::util::exit_code::REQUEUE,
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

/// `e` as an [`Error::Io`] (exit 4) when local I/O is what failed: an
/// `io::Error` anywhere in its source chain, or libtorch's C++ message for a
/// full disk or quota. A full disk while saving is neither bad data (3) nor a
/// failed training (7).
pub fn local_io(e: &(dyn std::error::Error + 'static), path: PathBuf) -> Option<Error> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(Error::io(
                "writing",
                path,
                std::io::Error::new(io.kind(), io.to_string()),
            ));
        }
        src = s.source();
    }
    let msg = e.to_string();
    let full = ["No space left on device", "Disk quota exceeded"]
        .into_iter()
        .find(|m| msg.contains(m))?;
    Some(Error::io(
        "writing",
        path,
        std::io::Error::new(std::io::ErrorKind::StorageFull, full),
    ))
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
