//! Map YAML key paths (`train.learning_rate`) to line numbers in the source text,
//! so semantic errors can say `file:line` as well as the key path.
//!
//! A light indentation scan, not a YAML parser: block mappings (the only style
//! the shipped configs and README use) are located exactly; anything it cannot
//! place simply gets no line number.

use std::collections::HashMap;

pub struct KeyLines {
    lines: HashMap<String, usize>,
}

impl KeyLines {
    pub fn scan(text: &str) -> Self {
        let mut lines = HashMap::new();
        // (indent, key) of the enclosing mappings.
        let mut stack: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            let Some(colon) = trimmed.find(':') else {
                continue;
            };
            let key = trimmed[..colon]
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            if key.is_empty() || key.contains(' ') {
                continue;
            }
            while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
                stack.pop();
            }
            let mut path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
            path.push(key);
            lines.entry(path.join(".")).or_insert(i + 1);
            stack.push((indent, key.to_string()));
        }
        KeyLines { lines }
    }

    /// The line of `path`, or of its nearest located ancestor
    /// (`sweep.batch_size[1]` → the line of `sweep.batch_size`).
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path.split('[').next().unwrap_or(path).to_string();
        loop {
            if let Some(l) = self.lines.get(&p) {
                return Some(*l);
            }
            match p.rfind('.') {
                Some(i) => p.truncate(i),
                None => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys() {
        let k = KeyLines::scan("a:\n  b: 1\n  c:\n    d: 2\n# x\ne: [1]\n");
        assert_eq!(k.line_of("a.b"), Some(2));
        assert_eq!(k.line_of("a.c.d"), Some(4));
        assert_eq!(k.line_of("e[0]"), Some(6));
        assert_eq!(k.line_of("a.c.zz"), Some(3));
        assert_eq!(k.line_of("nope"), None);
    }
}
