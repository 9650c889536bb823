//! Shell quoting for values that reach job scripts.
//!
//! Everything from a config goes through [`quote`] (POSIX single quotes) or a
//! strict validator before it is written into a script: `$(...)`, backticks,
//! `"` and `;` then stay literal text.

/// Quote `s` for POSIX shells. Bare words made only of safe characters are left
/// as they are so scripts stay readable; everything else is single-quoted with
/// `'` written as `'\''`.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if safe {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// `$NAME` or `${NAME}`: a plain reference to an environment variable, the only
/// form of unquoted expansion we allow (for `storage_root: $global_storage`).
pub fn var_reference(s: &str) -> Option<&str> {
    let name = s
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| s.strip_prefix('$'))?;
    let mut chars = name.chars();
    let first = chars.next()?;
    if (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Some(name)
    } else {
        None
    }
}

/// Characters a storage path may hold. Other tools embed it in files they
/// write and later run: `python3 -m venv` puts it, in double quotes, into the
/// pip launcher's `exec` line (whitespace or a long path selects that form),
/// and `$(…)` there runs when pip does. Quoting in hecjob's own lines cannot
/// protect those, so the path itself must carry nothing a shell reads: no
/// `$`, backtick, quote, backslash, whitespace, and no `:` (it joins PATH).
pub const TOOL_SAFE_PATH_CHARS: &str = "letters, digits and _ . - / + @ , %";

/// True when every character of `s` is in [`TOOL_SAFE_PATH_CHARS`].
pub fn is_tool_safe_path(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-/+@,%".contains(c))
}

/// The same rule as a bash `case` pattern (for a value known only on the node).
pub const TOOL_UNSAFE_PATTERN: &str = "*[!A-Za-z0-9_./+@,%-]*";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("abc/def-1.0"), "abc/def-1.0");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$(id)"), "'$(id)'");
        assert_eq!(quote("`id`"), "'`id`'");
    }

    #[test]
    fn tool_safe_paths() {
        assert!(is_tool_safe_path("/scratch/hpc/me-1/x_y.z+@,%"));
        for bad in [
            "/a b", "/$(id)", "/`id`", "/a\"b", "/a'b", "/a\\b", "/a:b", "/a\tb", "/é",
        ] {
            assert!(!is_tool_safe_path(bad), "{bad}");
        }
    }

    #[test]
    fn var_references() {
        assert_eq!(var_reference("$global_storage"), Some("global_storage"));
        assert_eq!(var_reference("${HOME}"), Some("HOME"));
        assert_eq!(var_reference("$(id)"), None);
        assert_eq!(var_reference("$HOME/x"), None);
        assert_eq!(var_reference("$1abc"), None);
    }
}
