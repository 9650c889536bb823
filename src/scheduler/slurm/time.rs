//! Slurm's durations and timestamps, as `sbatch --time` takes them and `squeue`/`sacct`
//! print them.
//!
//! Durations (`%l`, `%M`, `Elapsed`, `TotalCPU`; a config's `--time` is read by
//! [`resources::parse_time_limit`](crate::scheduler::resources::parse_time_limit)): `minutes`, `minutes:seconds`,
//! `hours:minutes:seconds`, `days-hours`, `days-hours:minutes`, `days-hours:minutes:seconds`,
//! with an optional fraction on the seconds (`TotalCPU` prints `00:00.140`). `UNLIMITED`
//! and `INFINITE` are no limit. Note the asymmetry Slurm has and this module keeps: a
//! bare number is MINUTES and `MM:SS` is minutes and seconds, unlike Grid Engine's `h_rt`
//! where a bare number is seconds.
//!
//! Timestamps (`Start`, `End`, `Submit`): `YYYY-MM-DDTHH:MM:SS` in the cluster's local
//! time, or `Unknown`/`None` for "not yet".

use std::fmt;

/// A Slurm duration in whole seconds (Slurm's limits are whole minutes; elapsed times
/// whole seconds; `TotalCPU` keeps milliseconds, which [`parse_duration_secs`] returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Limit {
    Seconds(u64),
    Unlimited,
}

/// Parse a duration into seconds (fractional for `TotalCPU`). None for text that is not
/// a duration; `UNLIMITED`/`INFINITE` are [`parse_limit`]'s business.
pub fn parse_duration_secs(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (number(d)?, Some(r)),
        None => (0.0, None),
    };
    let secs = match rest {
        // days-hours[:minutes[:seconds]]
        Some(r) => {
            let parts: Vec<&str> = r.split(':').collect();
            match parts.as_slice() {
                [h] => number(h)? * 3600.0,
                [h, m] => number(h)? * 3600.0 + number(m)? * 60.0,
                [h, m, sec] => number(h)? * 3600.0 + number(m)? * 60.0 + seconds(sec)?,
                _ => return None,
            }
        }
        None => {
            let parts: Vec<&str> = s.split(':').collect();
            match parts.as_slice() {
                [m] => number(m)? * 60.0,
                [m, sec] => number(m)? * 60.0 + seconds(sec)?,
                [h, m, sec] => number(h)? * 3600.0 + number(m)? * 60.0 + seconds(sec)?,
                _ => return None,
            }
        }
    };
    Some(days * 86400.0 + secs)
}

/// A whole, unsigned field (`07`, `2`); signs, exponents and fractions are refused.
fn number(s: &str) -> Option<f64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse::<u64>().ok().map(|n| n as f64))
        .flatten()
}

/// Seconds may carry a fraction (`00.140`).
fn seconds(s: &str) -> Option<f64> {
    match s.split_once('.') {
        Some((whole, frac)) if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) => {
            Some(number(whole)? + format!("0.{frac}").parse::<f64>().ok()?)
        }
        Some(_) => None,
        None => number(s),
    }
}

/// A time limit: a duration, or no limit (`UNLIMITED`, `INFINITE`, `Partition_Limit`
/// would be the partition's: treated as unlimited here).
pub fn parse_limit(s: &str) -> Option<Limit> {
    match s.trim() {
        "UNLIMITED" | "INFINITE" | "Partition_Limit" => Some(Limit::Unlimited),
        other => parse_duration_secs(other).map(|x| Limit::Seconds(x.round() as u64)),
    }
}

/// Seconds as `--time` takes them, in the form the HEC's documentation writes:
/// `HH:MM:SS` below a day, `D-HH:MM:SS` from a day on.
pub fn format_duration(secs: u64) -> String {
    let (d, rest) = (secs / 86400, secs % 86400);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Seconds(s) => f.write_str(&format_duration(*s)),
            Limit::Unlimited => f.write_str("UNLIMITED"),
        }
    }
}

/// A timestamp as Slurm prints it (`2026-11-29T07:12:41`); None for `Unknown`, `None`,
/// empty, or anything that is not that shape. Kept as text: it is compared and shown,
/// never converted (it is in the cluster's local time zone).
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let b = s.as_bytes();
    let shape_ok = b.len() == 19
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        });
    shape_ok.then(|| Timestamp(s.to_string()))
}

/// `YYYY-MM-DDTHH:MM:SS`; its text order is its time order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Timestamp(pub String);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_duration_form_slurm_documents() {
        let cases = [
            ("90", 5400.0),       // minutes
            ("5:30", 330.0),      // minutes:seconds
            ("01:02:03", 3723.0), // hours:minutes:seconds
            ("2-0", 172800.0),    // days-hours
            ("1-02", 93600.0),    // days-hours
            ("1-02:30", 95400.0), // days-hours:minutes
            ("7-00:00:00", 604800.0),
            ("00:00:04", 4.0),
            ("00:00.140", 0.14), // TotalCPU: minutes:seconds.millis
            ("1:02:03.5", 3723.5),
            ("0", 0.0),
        ];
        for (text, want) in cases {
            let got = parse_duration_secs(text).unwrap_or_else(|| panic!("{text}"));
            assert!((got - want).abs() < 1e-9, "{text}: {got} != {want}");
        }
    }

    #[test]
    fn not_durations() {
        for bad in [
            "",
            "-1",
            "1:2:3:4",
            "1-2:3:4:5",
            "a",
            "1h",
            "1.5",
            "1:",
            ":5",
            "1-",
            "01:02:0x",
            "1e3",
            "+5",
        ] {
            assert_eq!(parse_duration_secs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit("UNLIMITED"), Some(Limit::Unlimited));
        assert_eq!(parse_limit("12:00:00"), Some(Limit::Seconds(43200)));
        assert_eq!(parse_limit("5:00"), Some(Limit::Seconds(300)));
        assert_eq!(parse_limit("N/A"), None);
    }

    #[test]
    fn format_round_trips() {
        for secs in [0, 59, 3600, 43200, 86399, 86400, 93784, 604800] {
            let text = format_duration(secs);
            assert_eq!(parse_duration_secs(&text), Some(secs as f64), "{text}");
        }
        assert_eq!(format_duration(7200), "02:00:00");
        assert_eq!(format_duration(93784), "1-02:03:04");
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2026-11-29T07:12:41").unwrap();
        assert_eq!(t.to_string(), "2026-11-29T07:12:41");
        assert!(t < parse_timestamp("2026-11-29T07:12:45").unwrap());
        for none in [
            "Unknown",
            "None",
            "",
            "2026-11-29 07:12:41",
            "2026-11-29T07:12",
        ] {
            assert_eq!(parse_timestamp(none), None, "{none:?}");
        }
    }
}
