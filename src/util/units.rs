//! One way to print a byte count, everywhere (training log, status table,
//! report): binary units as nvidia-smi and the schedulers count them, GiB with
//! two decimals from 1 GiB up, else whole MiB; and one way to print a duration.

/// `12.34 GiB` or `512 MiB`.
pub fn bytes(b: u64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    let b = b as f64;
    if b >= GIB {
        format!("{:.2} GiB", b / GIB)
    } else {
        format!("{:.0} MiB", b / MIB)
    }
}

/// Seconds as `h:mm:ss` (hours may exceed 24): exact, for tables that compare
/// runs (wallclock, time left of a request).
pub fn duration(s: f64) -> String {
    let s = s.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Seconds in words, rounded as a person would say them (`1 h 05 min`,
/// `12 min`, `40 s`): for prose such as "about 12 min left (updated 40 s ago)".
pub fn approx_duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min", (s + 30) / 60)
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn binary_units() {
        assert_eq!(super::bytes(3 * 1024 * 1024 * 1024 / 2), "1.50 GiB");
        assert_eq!(super::bytes(5 * 1024 * 1024), "5 MiB");
        assert_eq!(super::bytes(0), "0 MiB");
    }

    #[test]
    fn durations_exact_and_in_words() {
        assert_eq!(super::duration(3725.4), "1:02:05");
        assert_eq!(super::approx_duration(40.4), "40 s");
        assert_eq!(super::approx_duration(725.0), "12 min");
        assert_eq!(super::approx_duration(3900.0), "1 h 05 min");
    }
}
