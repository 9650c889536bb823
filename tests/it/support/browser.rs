//! A real headless Chromium (Debian's `chromium` package) driven over the
//! DevTools pipe by tests/browser/cdp.py: load a page, click a table header,
//! screenshot, print, and report console errors and off-page requests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `$HECJOB_CHROMIUM`, else `chromium` / `chromium-browser` on PATH. Under CI
/// its absence fails (.ci/run installs it).
pub fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("HECJOB_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["chromium", "chromium-browser"].iter().find_map(|name| {
                std::env::var_os("PATH").and_then(|paths| {
                    std::env::split_paths(&paths)
                        .map(|d| d.join(name))
                        .find(|p| p.is_file())
                })
            })
        });
    if found.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "chromium not found under CI: .ci/run installs Debian's chromium package"
        );
        eprintln!(
            "SKIPPED: no chromium on PATH (apt-get install chromium, or set HECJOB_CHROMIUM)"
        );
    }
    found
}

/// Open `page` and click the header `header` of table `#table_id` twice.
/// Screenshot and PDF land in `out`. Returns cdp.py's JSON.
pub fn open_and_click(
    chromium: &Path,
    page: &Path,
    out: &Path,
    table_id: &str,
    header: &str,
) -> serde_json::Value {
    std::fs::create_dir_all(out).unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let result = Command::new("timeout")
        .arg("120")
        .arg("python3")
        .arg(super::repo().join("tests/browser/cdp.py"))
        .arg(chromium)
        .arg(&url)
        .arg(out)
        .arg(table_id)
        .arg(header)
        .output()
        .expect("running python3 tests/browser/cdp.py");
    assert!(
        result.status.success(),
        "cdp.py failed ({}): {}\nchromium log: {}",
        result.status,
        String::from_utf8_lossy(&result.stderr),
        std::fs::read_to_string(out.join("chromium.log")).unwrap_or_default()
    );
    serde_json::from_slice(&result.stdout).unwrap_or_else(|e| {
        panic!(
            "cdp.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&result.stdout)
        )
    })
}
