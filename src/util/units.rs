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

/// Seconds as `h:mm:ss` (hours may exceed 24).
pub fn duration(s: f64) -> String {
    let s = s.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn binary_units() {
        assert_eq!(super::bytes(3 * 1024 * 1024 * 1024 / 2), "1.50 GiB");
        assert_eq!(super::bytes(5 * 1024 * 1024), "5 MiB");
        assert_eq!(super::bytes(0), "0 MiB");
    }
}
