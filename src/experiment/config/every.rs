//! `train.checkpoint_every`: how much wall time may pass between two step
//! checkpoints (`30m`, `90s`, `2h`) or `off`, so a kill without warning (a
//! node failure, h_rt's SIGKILL) loses at most that interval of training.
//!
//! Read once into seconds where the YAML (or `--checkpoint-every`) is read; a
//! bad value is refused there, at its line and column. Left out of the config,
//! it is derived from the train job's time limit ([`CheckpointEvery::for_limit`]).

use crate::util::error::lit;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A checkpoint interval as written, and its seconds (`None`: off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct CheckpointEvery {
    text: String,
    secs: Option<u64>,
}

/// The shortest interval a derived default takes: a checkpoint of BERT-base
/// costs seconds (BENCHMARKS.md), so more often than this is mostly waste.
pub const MIN_DERIVED_SECS: u64 = 600;

impl CheckpointEvery {
    pub fn off() -> CheckpointEvery {
        CheckpointEvery {
            text: "off".into(),
            secs: None,
        }
    }

    /// The interval in seconds, `None` when off.
    pub fn secs(&self) -> Option<u64> {
        self.secs
    }

    /// The default for a job with time limit `h_rt` seconds: a tenth of it,
    /// at least [`MIN_DERIVED_SECS`]; off without a limit.
    pub fn for_limit(h_rt: Option<u64>) -> CheckpointEvery {
        match h_rt {
            Some(h) if h < u64::MAX => {
                let s = (h / 10).max(MIN_DERIVED_SECS);
                CheckpointEvery {
                    text: format_secs(s),
                    secs: Some(s),
                }
            }
            _ => CheckpointEvery::off(),
        }
    }
}

/// The shortest of `2h`, `30m`, `90s` that says `s` exactly.
fn format_secs(s: u64) -> String {
    if s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

impl std::str::FromStr for CheckpointEvery {
    type Err = String;

    fn from_str(s: &str) -> Result<CheckpointEvery, String> {
        let text = s.trim();
        if text == "off" {
            return Ok(CheckpointEvery::off());
        }
        let bad = || {
            format!(
                "expected a duration like 30m, 90s or 2h (whole seconds, minutes or hours), \
                 or `off`, got `{}`",
                lit(s)
            )
        };
        let (digits, unit) = text.split_at(text.len().saturating_sub(1));
        let per = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(bad()),
        };
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(format!(
                "must be more than 0 (or `off` for no time-based checkpoints), got `{}`",
                lit(s)
            ));
        }
        Ok(CheckpointEvery {
            text: text.to_string(),
            secs: Some(n * per),
        })
    }
}

impl From<CheckpointEvery> for String {
    fn from(c: CheckpointEvery) -> String {
        c.text
    }
}

impl fmt::Display for CheckpointEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for CheckpointEvery {
    // The error is raised inside the value's own deserializer, so the message
    // names `train.checkpoint_every` and its line and column.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CheckpointEvery, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = CheckpointEvery;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration like 30m, 90s or 2h, or `off`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CheckpointEvery, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_string(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds_and_bad_ones_say_the_form() {
        let secs = |s: &str| s.parse::<CheckpointEvery>().map(|c| c.secs());
        assert_eq!(secs("30m"), Ok(Some(1800)));
        assert_eq!(secs("90s"), Ok(Some(90)));
        assert_eq!(secs("2h"), Ok(Some(7200)));
        assert_eq!(secs("off"), Ok(None));
        for bad in ["soon", "", "m", "1.5h", "-3m", "10", "3d"] {
            assert!(
                secs(bad).unwrap_err().starts_with("expected a duration"),
                "{bad}"
            );
        }
        assert!(secs("0s").unwrap_err().starts_with("must be more than 0"));
    }

    #[test]
    fn the_default_is_a_tenth_of_the_limit_and_at_least_ten_minutes() {
        let text = |h: Option<u64>| CheckpointEvery::for_limit(h).to_string();
        assert_eq!(text(Some(4 * 3600)), "24m");
        assert_eq!(text(Some(20 * 3600)), "2h");
        assert_eq!(text(Some(3600)), "10m");
        assert_eq!(text(Some(12345)), "1234s");
        assert_eq!(text(None), "off");
    }
}
