//! Grid Engine accounting for the train array job: `qacct -j ID`, parsed per task.
//!
//! qacct prints one `key value` block per finished task attempt, separated by a
//! line of `=`. A task that was interrupted and rescheduled (exit 99) has several
//! blocks: its wallclock is the sum over attempts, its maxvmem the maximum, and its
//! exit status that of the last attempt.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Accounting {
    pub maxvmem_bytes: Option<u64>,
    pub wallclock_seconds: Option<f64>,
    pub exit_status: Option<i64>,
    /// `failed` as qacct prints it: `0`, or `25  : rescheduling`.
    pub failed: Option<String>,
    /// How many accounting records (attempts) the task has.
    pub attempts: u32,
}

/// Per-task accounting keyed by task id. A non-array job (`taskid undefined`)
/// is filed under task 1.
pub type ByTask = BTreeMap<u32, Accounting>;

/// Run `program -j job_id` and parse it. `None` when qacct is not installed,
/// fails (e.g. "job id N not found"), or prints nothing usable: the report then
/// shows "-" for these columns rather than failing.
pub fn query(program: &Path, job_id: &str) -> Option<ByTask> {
    let out = Command::new(program).arg("-j").arg(job_id).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let parsed = parse(&String::from_utf8_lossy(&out.stdout));
    (!parsed.is_empty()).then_some(parsed)
}

pub fn parse(text: &str) -> ByTask {
    let mut by_task = ByTask::new();
    for block in text.split("\n=").map(|b| b.trim_start_matches('=')) {
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for line in block.lines() {
            let line = line.trim_end();
            if let Some((k, v)) = line.split_once(char::is_whitespace) {
                fields.insert(k, v.trim());
            }
        }
        if !fields.contains_key("jobnumber") && !fields.contains_key("taskid") {
            continue;
        }
        let task = match fields.get("taskid").copied() {
            None | Some("undefined") => 1,
            Some(t) => match t.parse() {
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        let acc = by_task.entry(task).or_default();
        acc.attempts += 1;
        if let Some(v) = fields.get("maxvmem").and_then(|v| parse_bytes(v)) {
            acc.maxvmem_bytes = Some(acc.maxvmem_bytes.map_or(v, |m| m.max(v)));
        }
        if let Some(v) = fields.get("ru_wallclock").and_then(|v| parse_seconds(v)) {
            acc.wallclock_seconds = Some(acc.wallclock_seconds.unwrap_or(0.0) + v);
        }
        if let Some(v) = fields.get("exit_status").and_then(|v| v.parse().ok()) {
            acc.exit_status = Some(v);
        }
        if let Some(v) = fields.get("failed") {
            acc.failed = Some(v.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    by_task
}

/// qacct memory values: `4.949MB`, `0.000B`, `1.234G`, `567.000M`, `123456`.
/// Grid Engine's K/M/G are powers of 1024.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_uppercase().trim_end_matches('B') {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0f64.powi(4),
        _ => return None,
    };
    Some((n * mult).round() as u64)
}

/// `30s` (Son of Grid Engine) or `30` / `30.5` (older releases).
pub fn parse_seconds(s: &str) -> Option<f64> {
    s.trim().trim_end_matches('s').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_bytes("0.000B"), Some(0));
        assert_eq!(parse_bytes("4.949MB"), Some(5_189_403));
        assert_eq!(parse_bytes("1.5G"), Some(1_610_612_736));
        assert_eq!(parse_bytes("567.000M"), Some(594_542_592));
        assert_eq!(parse_bytes("2.000KB"), Some(2048));
        assert_eq!(parse_bytes("123456"), Some(123_456));
        assert_eq!(parse_bytes("lots"), None);
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("30s"), Some(30.0));
        assert_eq!(parse_seconds("12.5"), Some(12.5));
        assert_eq!(parse_seconds("undefined"), None);
    }

    #[test]
    fn missing_program_is_none() {
        assert!(query(Path::new("/nonexistent/qacct"), "1").is_none());
    }
}
