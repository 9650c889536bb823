//! "Did you mean …?": the nearest of some names to a mistyped one.

/// The candidate closest to `s`, if any is reasonably close (Jaro–Winkler
/// above 0.8, case ignored).
pub fn nearest<'a>(s: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&s.to_lowercase(), &c.to_lowercase()),
                *c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
