//! Text helpers shared by the report's writers, so none imports another:
//! swept values for tables, legends and headings (`format`, `plots`), and
//! HTML escaping (`html`, `svg`).

use super::row::Row;
use serde_json::Value;

/// A swept value as it would be written in the config: strings unquoted.
/// Small floats (learning rates) in scientific notation, as configs write them.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x != 0.0 && x.abs() < 1e-3 {
                format!("{x:e}")
            } else {
                n.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// `learning_rate=5e-5, batch_size=16`, for legends and headings.
pub fn swept_text(row: &Row) -> String {
    row.swept
        .iter()
        .map(|(k, v)| format!("{k}={}", value_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}
