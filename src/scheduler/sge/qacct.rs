//! `qacct -j ID`: accounting records of finished jobs, one per task run. A task
//! that exited 99 and was rescheduled has one record per run (the first with
//! `failed 25 : rescheduling`).

use crate::scheduler::backend::{CommandLine, RunOutcome, RunRecord, StopCause};
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// qacct's `failed` code for a run that ended to be rescheduled (the job exited
/// [`REQUEUE`](crate::scheduler::exit_code::REQUEUE), or its host went away).
pub const FAILED_RESCHEDULED: u32 = 25;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AcctRecord {
    pub job: u64,
    /// None for a non-array job (`taskid undefined`).
    pub task: Option<u32>,
    pub name: String,
    pub queue: String,
    pub host: String,
    /// Grid Engine's failure code (0: the job ran; 25: rescheduled; 37: limit enforced…).
    pub failed: u32,
    /// The text after the failure code, e.g. `rescheduling`.
    pub failed_reason: String,
    pub exit_status: i32,
    pub wallclock_s: f64,
    pub cpu_s: f64,
    /// Peak virtual memory in bytes (0 for jobs shorter than about a second).
    pub maxvmem_bytes: u64,
    pub start_time: String,
    pub end_time: String,
    /// The `-l h_vmem=` and `-l h_rt=` the job asked for (qacct's `category`).
    pub h_vmem_bytes: Option<u64>,
    pub h_rt_s: Option<f64>,
}

/// Exit statuses of a job Grid Engine killed: 128 + SIGKILL (h_rt, h_vmem,
/// qdel) and 128 + SIGXCPU (s_cpu, s_vmem).
const KILLED: i32 = 137;
const XCPU: i32 = 152;
/// qacct's `failed` code for a run the qmaster killed at h_rt, h_cpu or h_vmem.
const FAILED_LIMIT: u32 = 37;

impl AcctRecord {
    pub fn succeeded(&self) -> bool {
        self.failed == 0 && self.exit_status == 0
    }

    /// Why the run ended. Grid Engine says "a limit" (failed 37) or only
    /// that a signal killed it (exit 137/152), not which limit: the peak
    /// virtual memory against the h_vmem asked for tells memory from time.
    pub fn stop_cause(&self) -> StopCause {
        if self.succeeded() {
            return StopCause::Finished;
        }
        if self.failed == FAILED_RESCHEDULED {
            return StopCause::Requeued;
        }
        // Within 2 %: maxvmem is sampled, so a kill just above the limit
        // can be recorded just below it.
        let memory_hit = self
            .h_vmem_bytes
            .is_some_and(|limit| self.maxvmem_bytes as f64 >= 0.98 * limit as f64);
        let time_hit = self
            .h_rt_s
            .is_some_and(|limit| self.wallclock_s + 1.0 >= limit);
        let killed = matches!(self.exit_status, KILLED | XCPU);
        match () {
            _ if (self.failed == FAILED_LIMIT || killed) && memory_hit => StopCause::OutOfMemory,
            _ if self.failed == FAILED_LIMIT || (killed && time_hit) => StopCause::TimeLimit,
            // SIGXCPU below the memory limit: the CPU-time limit (s_cpu).
            _ if self.exit_status == XCPU => StopCause::TimeLimit,
            _ if self.exit_status == KILLED => StopCause::Cancelled,
            _ => StopCause::RunFailed,
        }
    }

    /// The scheduler-neutral record `hecjob status` works with.
    pub fn to_neutral(&self) -> RunRecord {
        let outcome = if self.succeeded() {
            RunOutcome::Succeeded
        } else if self.failed == FAILED_RESCHEDULED {
            RunOutcome::Requeued
        } else {
            RunOutcome::Failed
        };
        let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
        RunRecord {
            job: self.job,
            task: self.task,
            name: self.name.clone(),
            outcome,
            exit_status: Some(self.exit_status),
            failure: (self.failed != 0).then(|| format!("{} {}", self.failed, self.failed_reason)),
            wallclock_s: Some(self.wallclock_s),
            cpu_s: Some(self.cpu_s),
            max_rss_bytes: None,
            maxvmem_bytes: Some(self.maxvmem_bytes),
            restarts: None,
            host: text(&self.host),
            queue: text(&self.queue),
            start_time: text(&self.start_time),
            end_time: text(&self.end_time),
            cause: Some(self.stop_cause()),
        }
    }
}

/// Run `qacct -j ID`. A job that accounting does not know (yet) gives no records,
/// not an error: the caller decides it is "unknown".
pub fn query(job: u64) -> Result<Vec<AcctRecord>> {
    let timeout = crate::scheduler::command::timeout_from_env()?;
    query_with(&super::client("qacct")?, job, timeout)
}

/// [`query`] through a given qacct program (`hecjob report --qacct PATH`).
pub fn query_with(qacct: &Path, job: u64, timeout: Duration) -> Result<Vec<AcctRecord>> {
    let cmd = CommandLine::anywhere(vec!["qacct".into(), "-j".into(), job.to_string()]);
    let out = crate::scheduler::command::run_query(qacct, &cmd, timeout)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() {
        return parse(&stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    // "error: job id 7 not found"; a fresh cluster has no accounting file at all yet.
    if stderr.contains("not found") || stderr.contains("No such file") {
        return Ok(Vec::new());
    }
    Err(Error::Scheduler(format!(
        "qacct -j {job} failed ({}): {}",
        crate::scheduler::command::describe_status(&out.status),
        stderr.trim()
    )))
}

pub fn parse(text: &str) -> Result<Vec<AcctRecord>> {
    let mut records = Vec::new();
    let mut cur: Option<AcctRecord> = None;
    // Output that names no accounting field at all is not "no records": it is
    // something else (an error page, a wrapper's message), said as such.
    if !text.trim().is_empty()
        && !text.lines().any(|l| {
            l.starts_with("=====")
                || l.split_whitespace()
                    .next()
                    .is_some_and(|k| ["qname", "jobnumber", "exit_status", "failed"].contains(&k))
        })
    {
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(Error::Scheduler(format!(
            "qacct printed no accounting record, only {:?}{}; expected blocks of `qname …`, `jobnumber …` lines",
            first.trim(),
            if text.trim().lines().count() > 1 { " …" } else { "" }
        )));
    }
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("=====") {
            records.extend(cur.take());
            cur = Some(AcctRecord::default());
            continue;
        }
        let Some((key, value)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let value = value.trim();
        let rec = cur.get_or_insert_with(AcctRecord::default);
        let bad = |what: &str| {
            Error::Scheduler(format!(
                "qacct output line {}: cannot read {what} from {value:?}",
                i + 1
            ))
        };
        match key {
            "qname" => rec.queue = value.into(),
            "hostname" => rec.host = value.into(),
            "jobname" => rec.name = value.into(),
            "jobnumber" => rec.job = value.parse().map_err(|_| bad("jobnumber"))?,
            "taskid" => rec.task = value.parse().ok(),
            "failed" => {
                let (code, reason) = value.split_once(':').unwrap_or((value, ""));
                rec.failed = code.trim().parse().map_err(|_| bad("failed"))?;
                rec.failed_reason = reason.trim().into();
            }
            "exit_status" => {
                let first = value.split_whitespace().next().unwrap_or("");
                rec.exit_status = first.parse().map_err(|_| bad("exit_status"))?;
            }
            "ru_wallclock" => {
                rec.wallclock_s = parse_seconds(value).ok_or_else(|| bad("ru_wallclock"))?
            }
            "cpu" => rec.cpu_s = parse_seconds(value).ok_or_else(|| bad("cpu"))?,
            "maxvmem" => rec.maxvmem_bytes = parse_bytes(value).ok_or_else(|| bad("maxvmem"))?,
            "start_time" => rec.start_time = value.into(),
            "end_time" => rec.end_time = value.into(),
            "category" => (rec.h_vmem_bytes, rec.h_rt_s) = requested_limits(value),
            _ => {}
        }
    }
    records.extend(cur.filter(|r| r.job != 0));
    Ok(records)
}

/// h_vmem and h_rt from a category (`-q gpu -l h_rt=7200,h_vmem=40G,ngpus=1`).
fn requested_limits(category: &str) -> (Option<u64>, Option<f64>) {
    let mut words = category.split_whitespace();
    let (mut vmem, mut rt) = (None, None);
    while let Some(w) = words.next() {
        if w != "-l" {
            continue;
        }
        for kv in words.next().unwrap_or("").split(',') {
            match kv.split_once('=') {
                Some(("h_vmem", v)) => vmem = parse_bytes(v),
                Some(("h_rt", v)) => rt = parse_seconds(v),
                _ => {}
            }
        }
    }
    (vmem, rt)
}

/// `20s`, `0.005s`, `20`, `20.5` or `hh:mm:ss`.
pub fn parse_seconds(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.contains(':') {
        let mut total = 0.0;
        for part in s.split(':') {
            total = total * 60.0 + part.parse::<f64>().ok()?;
        }
        return Some(total);
    }
    s.strip_suffix('s').unwrap_or(s).parse().ok()
}

/// `4.988MB`, `0.000B`, `4.391KB`, `16.5G`, `5231616` → bytes (Grid Engine uses
/// binary multiples: K = 1024).
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_uppercase().trim_end_matches('B') {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((num * mult).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scheduler::captured as data;

    #[test]
    fn garbage_is_not_no_records() {
        let e = parse("<html><body>Service unavailable</body></html>\nretry later\n").unwrap_err();
        assert_eq!(e.exit_code(), 6);
        assert_eq!(
            e.to_string(),
            "qacct printed no accounting record, only \"<html><body>Service unavailable</body></html>\" …; expected blocks of `qname …`, `jobnumber …` lines"
        );
        assert_eq!(parse("").unwrap().len(), 0);
        assert_eq!(parse("\n  \n").unwrap().len(), 0);
    }

    #[test]
    fn array_job_records() {
        let r = parse(&data("qacct_array.txt")).unwrap();
        assert_eq!(r.len(), 6);
        let mut tasks: Vec<_> = r.iter().map(|x| x.task.unwrap()).collect();
        tasks.sort();
        assert_eq!(tasks, vec![1, 2, 3, 4, 5, 6]);
        for x in &r {
            assert_eq!(x.job, 9);
            assert_eq!(x.name, "arr");
            assert!(x.succeeded());
            assert_eq!(x.wallclock_s, 20.0);
            assert!(x.maxvmem_bytes > 4 * 1024 * 1024, "{}", x.maxvmem_bytes);
        }
    }

    #[test]
    fn limit_failure_and_reschedule() {
        let r = parse(&data("qacct_failed.txt")).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].failed, r[0].exit_status), (37, 99));
        assert_eq!(
            r[0].failed_reason,
            "qmaster enforced h_rt, h_cpu, or h_vmem limit"
        );
        assert_eq!(r[0].task, None);
        assert!(!r[0].succeeded());

        let r = parse(&data("qacct_resched.txt")).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].failed, r[0].failed_reason.as_str()),
            (25, "rescheduling")
        );
        assert!(r[1].succeeded());
    }

    #[test]
    fn units() {
        assert_eq!(parse_bytes("4.000KB"), Some(4096));
        assert_eq!(parse_bytes("0.000B"), Some(0));
        assert_eq!(parse_bytes("1.5G"), Some(1610612736));
        assert_eq!(parse_bytes("17728274432"), Some(17728274432));
        assert_eq!(parse_bytes("3 parsecs"), None);
        assert_eq!(parse_seconds("20s"), Some(20.0));
        assert_eq!(parse_seconds("0.005s"), Some(0.005));
        assert_eq!(parse_seconds("01:02:03"), Some(3723.0));
    }
}

#[cfg(test)]
mod stop_cause_tests {
    use super::*;

    fn run(failed: u32, exit: i32, wall: f64, maxvmem_gb: f64) -> AcctRecord {
        let text = format!(
            "==============================================================\n\
             jobnumber    7\ntaskid       2\nfailed       {failed}  : x\nexit_status  {exit}\n\
             ru_wallclock {wall}s\nmaxvmem      {maxvmem_gb}GB\n\
             category     -q gpu -l h_rt=600,h_vmem=4G,ngpus=1\n"
        );
        parse(&text).unwrap().remove(0)
    }

    #[test]
    fn the_peak_against_h_vmem_tells_memory_from_time() {
        let r = run(0, 0, 100.0, 1.0);
        assert_eq!((r.h_vmem_bytes, r.h_rt_s), (Some(4 << 30), Some(600.0)));
        assert_eq!(r.stop_cause(), StopCause::Finished);
        assert_eq!(run(25, 99, 100.0, 1.0).stop_cause(), StopCause::Requeued);
        // failed 37 "qmaster enforced h_rt, h_cpu, or h_vmem limit".
        assert_eq!(run(37, 137, 600.0, 1.0).stop_cause(), StopCause::TimeLimit);
        assert_eq!(run(37, 137, 50.0, 4.0).stop_cause(), StopCause::OutOfMemory);
        // execd's kill at h_vmem shows only as exit 137 (failed 100).
        assert_eq!(
            run(100, 137, 50.0, 3.99).stop_cause(),
            StopCause::OutOfMemory
        );
        assert_eq!(run(100, 137, 600.0, 1.0).stop_cause(), StopCause::TimeLimit);
        // SIGKILL with neither limit reached: qdel.
        assert_eq!(run(100, 137, 50.0, 1.0).stop_cause(), StopCause::Cancelled);
        assert_eq!(run(0, 152, 50.0, 1.0).stop_cause(), StopCause::TimeLimit);
        assert_eq!(run(0, 3, 50.0, 1.0).stop_cause(), StopCause::RunFailed);
        assert_eq!(
            run(0, 3, 50.0, 1.0).to_neutral().cause,
            Some(StopCause::RunFailed)
        );
    }
}
