//! hecjob's resource values in neutral units, parsed once where the config is
//! read (serde `try_from`): [`Memory`] in bytes (`4G`, `512M`, `1.5G`; binary
//! multiples, as Grid Engine and Slurm count them) and [`TimeLimit`] in seconds
//! (`HH:MM:SS`, and the other forms Slurm's `--time` takes). Each keeps the
//! text as written, for messages and the resolved config. Each
//! [`Dialect`](super::Dialect) writes them in its own syntax and says which
//! forms it takes (Grid Engine: `HH:MM:SS` only); nothing here knows a scheduler.

use crate::util::error::lit;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A memory size from the config (`h_vmem`): as written, and in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Memory {
    text: String,
    bytes: u64,
}

impl Memory {
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// As written in the config.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl TryFrom<String> for Memory {
    type Error = String;

    /// The whole message for a size hecjob cannot read (the caller names the key).
    fn try_from(s: String) -> Result<Memory, String> {
        let text = s.trim().to_string();
        if !is_memory(&text) {
            return Err(format!(
                "expected memory like 4G or 512M, got `{}`",
                lit(&s)
            ));
        }
        let bytes = parse_memory(&text).ok_or_else(|| {
            format!(
                "`{}` is more memory than can be counted (2^64 bytes, 16777216T): surely a typo",
                lit(&s)
            )
        })?;
        Ok(Memory { text, bytes })
    }
}

impl From<&str> for Memory {
    /// A size hecjob itself writes (defaults); panics on a bad one.
    fn from(s: &str) -> Memory {
        Memory::try_from(s.to_string()).expect("a valid built-in size")
    }
}

impl From<Memory> for String {
    fn from(m: Memory) -> String {
        m.text
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A wall-clock limit from the config (`h_rt`, `s_rt`): as written (trimmed),
/// and in seconds. A limit too large to count holds `u64::MAX` seconds, which
/// the config's check then calls a typo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct TimeLimit {
    text: String,
    secs: u64,
}

impl TimeLimit {
    pub fn secs(&self) -> u64 {
        self.secs
    }

    /// As written in the config (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A limit of `secs`, written as `text` (a dialect's format of it).
    pub fn new(secs: u64, text: String) -> TimeLimit {
        TimeLimit { text, secs }
    }
}

impl TryFrom<String> for TimeLimit {
    type Error = String;

    fn try_from(s: String) -> Result<TimeLimit, String> {
        let text = s.trim().to_string();
        match parse_time_limit(&text) {
            Some(secs) => Ok(TimeLimit { text, secs }),
            None => Err(format!(
                "expected a time limit like 00:25:00 (HH:MM:SS; on Slurm also D-HH:MM:SS, \
                 e.g. 1-12:00:00), got `{}`",
                lit(&s)
            )),
        }
    }
}

impl From<&str> for TimeLimit {
    /// A limit hecjob itself writes (defaults); panics on a bad one.
    fn from(s: &str) -> TimeLimit {
        TimeLimit::try_from(s.to_string()).expect("a valid built-in time limit")
    }
}

impl From<TimeLimit> for String {
    fn from(t: TimeLimit) -> String {
        t.text
    }
}

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Read from a string through [`TryFrom`], with the error raised inside the
/// value's own deserializer: serde's `try_from = "String"` raises it after, where
/// the message would name the enclosing key (`cluster.jobs.train`) instead of
/// the value's (`cluster.jobs.train.h_rt`).
struct FromText<T>(std::marker::PhantomData<T>);

impl<T: TryFrom<String, Error = String>> serde::de::Visitor<'_> for FromText<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        T::try_from(v.to_string()).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Memory {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Memory, D::Error> {
        d.deserialize_string(FromText(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for TimeLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TimeLimit, D::Error> {
        d.deserialize_string(FromText(std::marker::PhantomData))
    }
}

/// Digits (one `.` allowed, a digit first) and at most one unit letter.
fn is_memory(s: &str) -> bool {
    let digits = s.trim_end_matches(['K', 'k', 'M', 'm', 'G', 'g', 'T', 't']);
    (s.len() - digits.len()) <= 1
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1
        && digits.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Seconds in a time limit written as Grid Engine or Slurm take one:
/// `minutes`, `minutes:seconds`, `hours:minutes:seconds`, `days-hours`,
/// `days-hours:minutes`, `days-hours:minutes:seconds` (a bare number is
/// MINUTES, Slurm's reading; Grid Engine's dialect takes only `HH:MM:SS`).
/// Whole fields only, each in range after a larger unit (minutes and seconds
/// below 60, hours below 24 after days), so `00:61:00` is refused rather than
/// read as 61 minutes. A value past u64 is `u64::MAX` (a typo, said later).
pub fn parse_time_limit(s: &str) -> Option<u64> {
    let field = |f: &str| -> Option<u128> {
        (!f.is_empty() && f.len() <= 30 && f.bytes().all(|b| b.is_ascii_digit()))
            .then(|| f.parse().ok())
            .flatten()
    };
    let below = |f: &str, max: u128| field(f).filter(|&x| x < max);
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (Some(field(d)?), r),
        None => (None, s),
    };
    let fields: Vec<&str> = rest.split(':').collect();
    let secs: u128 = match (days, fields.as_slice()) {
        (Some(d), [h]) => d * 86400 + below(h, 24)? * 3600,
        (Some(d), [h, m]) => d * 86400 + below(h, 24)? * 3600 + below(m, 60)? * 60,
        (Some(d), [h, m, sec]) => {
            d * 86400 + below(h, 24)? * 3600 + below(m, 60)? * 60 + below(sec, 60)?
        }
        (None, [m]) => field(m)? * 60,
        (None, [m, sec]) => field(m)? * 60 + below(sec, 60)?,
        (None, [h, m, sec]) => field(h)? * 3600 + below(m, 60)? * 60 + below(sec, 60)?,
        _ => return None,
    };
    Some(u64::try_from(secs).unwrap_or(u64::MAX))
}

/// Bytes in a memory size: digits (one `.` allowed) and at most one unit
/// `K`, `M`, `G` or `T` (either case, binary: K = 1024); a bare number is
/// bytes. `None` for another shape, and for a size past 2^64 bytes (rather
/// than a silently saturated one).
pub fn parse_memory(s: &str) -> Option<u64> {
    let digits = s.trim_end_matches(['K', 'k', 'M', 'm', 'G', 'g', 'T', 't']);
    let unit = &s[digits.len()..];
    if unit.len() > 1 || digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mult: u128 = match unit.to_ascii_uppercase().as_str() {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => 1 << 40,
    };
    // Exact arithmetic: (whole.frac × mult), rounded to the byte.
    let whole = whole.trim_start_matches('0');
    if whole.len() > 24 || frac.len() > 12 {
        return None;
    }
    let scale = 10u128.pow(frac.len() as u32);
    let number: u128 = format!("{whole}{frac}").parse().unwrap_or(0);
    let bytes = (number * mult + scale / 2) / scale;
    u64::try_from(bytes).ok()
}

/// Seconds in `HH:MM:SS`; `None` for another shape or past u64 (checked:
/// `5124095576030432:00:00` hours overflow when multiplied by 3600).
pub fn parse_hms(s: &str) -> Option<u64> {
    let p: Vec<u64> = s
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    match p.as_slice() {
        [h, m, s] => h
            .checked_mul(3600)?
            .checked_add(m.checked_mul(60)?)?
            .checked_add(*s),
        _ => None,
    }
}

/// `HH:MM:SS` (hours past 24 as they are).
pub fn format_hms(secs: u64) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `HH:MM:SS` with minutes and seconds below 60 (hours may exceed 24).
pub fn is_hms(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts[1] < "60"
        && parts[2] < "60"
}

/// How long before the hard limit `h_rt` the soft limit (`s_rt`, Slurm's
/// `--signal`) warns a train task: a tenth of it, at least 1 and at most 10
/// minutes (time to finish a step and commit a checkpoint).
pub fn soft_margin(h_rt_secs: u64) -> u64 {
    (h_rt_secs / 10).clamp(60, 600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(parse_memory("4G"), Some(4 << 30));
        assert_eq!(parse_memory("512m"), Some(512 << 20));
        assert_eq!(parse_memory("1.5G"), Some(1536 << 20));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("0G"), Some(0));
        for bad in ["", "G", ".5G", "4GB", "4 G", "lots", "1.2.3G", "-1G"] {
            assert_eq!(parse_memory(bad), None, "{bad}");
        }
    }

    #[test]
    fn time_limits_in_every_form() {
        for (t, secs) in [
            ("01:30:00", 5400),
            ("90", 5400),
            ("90:30", 5430),
            ("2-0", 172800),
            ("1-12:00", 129600),
            ("1-12:00:01", 129601),
            ("36:00:00", 129600), // hours may exceed 24 without days
            ("30:00", 1800),
            ("0", 0),
            ("5124095576030432:00:00", u64::MAX),
        ] {
            assert_eq!(parse_time_limit(t), Some(secs), "{t}");
        }
        for bad in [
            "",
            "2h",
            "00:61:00",
            "1-24:00:00",
            "1.5",
            "-1",
            "1:2:3:4",
            " 1:00:00",
        ] {
            assert_eq!(parse_time_limit(bad), None, "{bad}");
        }
        let t = TimeLimit::try_from(" 01:00:00 ".to_string()).unwrap();
        assert_eq!((t.as_str(), t.secs()), ("01:00:00", 3600));
    }

    #[test]
    fn sizes_past_u64_are_refused_not_saturated() {
        assert_eq!(parse_memory("99999999999999999999T"), None);
        assert_eq!(parse_memory("16777216T"), None, "2^64 bytes exactly");
        assert_eq!(parse_memory("16777215T"), Some(16777215 << 40));
    }
}
