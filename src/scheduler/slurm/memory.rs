//! Slurm's memory sizes: what `sbatch --mem` takes and what `sacct` prints for MaxRSS.
//!
//! Slurm's multiples are binary (K = 1024) and its `--mem` takes whole numbers only, with
//! an optional K, M, G or T suffix; a bare `--mem` number is MEGABYTES. `sacct` prints
//! MaxRSS already scaled (`77992K`, `6.50M`), blank for steps too short to be sampled.

const UNITS: [(char, u64); 5] = [
    ('K', 1 << 10),
    ('M', 1 << 20),
    ('G', 1 << 30),
    ('T', 1 << 40),
    ('P', 1 << 50),
];

fn multiple(unit: &str) -> Option<u64> {
    let mut chars = unit.chars();
    let c = chars.next()?.to_ascii_uppercase();
    // `K`, `KB` and `KiB` all appear in the wild; Slurm means 1024 by each.
    let rest = chars.as_str();
    if !matches!(rest, "" | "B" | "b" | "iB") {
        return None;
    }
    UNITS.iter().find(|(u, _)| *u == c).map(|(_, m)| *m)
}

fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    s.split_at(end)
}

/// MaxRSS (and other sacct sizes) in bytes: `77992K`, `6.50M`, `1.2G`, `0`. A bare
/// number is bytes. None for blank (not sampled) and for text that is not a size.
pub fn parse_rss(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = split_number(s);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let mult = if unit.is_empty() { 1 } else { multiple(unit)? };
    Some((value * mult as f64).round() as u64)
}

/// An `sbatch --mem` value in bytes: `10G`, `500M`, `4000` (MiB), `2T`. None when Slurm
/// would refuse it (a fraction, a unit it does not know, zero is allowed: "all of the node").
pub fn parse_mem_request(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = split_number(s);
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = num.parse().ok()?;
    let mult = if unit.is_empty() {
        1 << 20
    } else if unit.len() == 1 {
        multiple(unit).filter(|&m| m <= 1 << 40)?
    } else {
        return None;
    };
    value.checked_mul(mult)
}

/// Bytes as `--mem` takes them: the largest of T, G, M that divides exactly, else whole
/// megabytes rounded up (Slurm has no unit below K and a job needs what it asked for).
pub fn format_mem_request(bytes: u64) -> String {
    for (unit, mult) in [('T', 1u64 << 40), ('G', 1 << 30), ('M', 1 << 20)] {
        if bytes >= mult && bytes % mult == 0 {
            return format!("{}{unit}", bytes / mult);
        }
    }
    format!("{}M", bytes.div_ceil(1 << 20).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_as_sacct_prints_it() {
        assert_eq!(parse_rss("77992K"), Some(77992 * 1024));
        assert_eq!(parse_rss("6.50M"), Some(6815744));
        assert_eq!(parse_rss("1.5G"), Some(1610612736));
        assert_eq!(parse_rss("0"), Some(0));
        assert_eq!(parse_rss("3168K"), Some(3168 * 1024));
        for bad in ["", "K", "12Q", ".5M", "5.M", "-3K", "1.2.3K"] {
            assert_eq!(parse_rss(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn mem_requests() {
        assert_eq!(parse_mem_request("10G"), Some(10 << 30));
        assert_eq!(parse_mem_request("500M"), Some(500 << 20));
        assert_eq!(
            parse_mem_request("4000"),
            Some(4000 << 20),
            "bare numbers are MiB"
        );
        assert_eq!(parse_mem_request("2T"), Some(2 << 40));
        assert_eq!(parse_mem_request("64k"), Some(64 << 10));
        for bad in ["1.5G", "10GB", "", "G", "10P", "ten"] {
            assert_eq!(parse_mem_request(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn format_is_what_sbatch_takes_back() {
        for (bytes, text) in [
            (40u64 << 30, "40G"),
            (1536 << 20, "1536M"),
            (2 << 40, "2T"),
            ((1 << 20) + 1, "2M"),
            (1, "1M"),
        ] {
            assert_eq!(format_mem_request(bytes), text);
            assert!(parse_mem_request(text).unwrap() >= bytes);
        }
    }
}
