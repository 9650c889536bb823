//! hecjob's resource values in neutral units, as the config gives them: memory
//! in bytes (`4G`, `512M`, `1.5G`; binary multiples, as Grid Engine and Slurm
//! count them) and time limits in seconds. Each [`Dialect`](super::Dialect)
//! writes them in its own syntax; nothing here knows a scheduler.

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
    fn sizes_past_u64_are_refused_not_saturated() {
        assert_eq!(parse_memory("99999999999999999999T"), None);
        assert_eq!(parse_memory("16777216T"), None, "2^64 bytes exactly");
        assert_eq!(parse_memory("16777215T"), Some(16777215 << 40));
    }
}
