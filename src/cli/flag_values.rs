//! Value parsers for command-line flags whose type admits values that make no
//! sense (clap then reports them as `error: invalid value … for '--flag'`,
//! exit 2, before any work starts):
//! - a threshold is a probability strictly between 0 and 1 (`nan`, `2` and `0`
//!   would select every label or none);
//! - a count of steps or labels is at least 1 (`--max-steps 0` "finished" an
//!   untrained model; `--top-k 0` shows nothing).

/// A decision threshold: finite, strictly between 0 and 1.
pub fn threshold(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(t) if t > 0.0 && t < 1.0 => Ok(t),
        Ok(t) => Err(format!(
            "{t} is not a probability strictly between 0 and 1 (Table 4 uses 0.3)"
        )),
        Err(_) => Err("expected a number strictly between 0 and 1, e.g. 0.3".into()),
    }
}

/// A whole number of at least 1.
pub fn at_least_one<T: std::str::FromStr + PartialOrd + From<u8>>(s: &str) -> Result<T, String> {
    match s.trim().parse::<T>() {
        Ok(n) if n >= T::from(1) => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(_) => Err("expected a whole number of at least 1".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_and_counts() {
        assert_eq!(threshold("0.3"), Ok(0.3));
        for bad in ["nan", "NaN", "2", "0", "1", "-0.1", "inf"] {
            assert!(threshold(bad).is_err(), "{bad}");
        }
        assert_eq!(at_least_one::<u64>("5"), Ok(5));
        assert_eq!(
            at_least_one::<usize>("0"),
            Err("must be at least 1".to_string())
        );
        assert!(at_least_one::<u64>("-1").is_err());
    }
}
