//! What every back end needs from the machine and from a script's path, kept
//! apart from any one scheduler: finding a client program on PATH as a shell
//! would, and a script's file name (the job name schedulers fall back to).

use std::path::{Path, PathBuf};

/// Search PATH for an executable, as a shell would.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = crate::util::env_vars::get(crate::util::env_vars::PATH)?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A script's file name, as a scheduler names a job that names itself nothing.
pub fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}
