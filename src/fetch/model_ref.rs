//! Which model a name means, decided once: [`ModelRef::parse`] is the one rule
//! the config check, the download job's script and the worker all use.
//!
//! * a path starts with `/`, `./` or `../` (or is `.` or `..`): a local model
//!   directory, used as it is;
//! * anything else is a hub id, `name` or `org/name`, with an optional revision
//!   (branch, tag or commit) that cannot climb out of the cache (`..` refused).

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    Hub {
        id: String,
        revision: Option<String>,
    },
    Local(PathBuf),
}

impl ModelRef {
    /// Parse a model name and revision; the error says what was expected.
    pub fn parse(name: &str, revision: Option<&str>) -> Result<ModelRef, String> {
        if name.starts_with('~') {
            return Err(format!(
                "`{name}`: `~` is not expanded (the path is used as written); write the absolute path, e.g. /home/…"
            ));
        }
        if is_path(name) {
            return Ok(ModelRef::Local(PathBuf::from(name)));
        }
        check_hub_id(name)?;
        if let Some(r) = revision {
            check_revision(r)?;
        }
        Ok(ModelRef::Hub {
            id: name.to_string(),
            revision: revision.map(str::to_string),
        })
    }

    pub fn is_hub(&self) -> bool {
        matches!(self, ModelRef::Hub { .. })
    }
}

/// A name either rule accepts: a path, or a valid hub id.
pub fn check_name(name: &str) -> Result<(), String> {
    if is_path(name) {
        Ok(())
    } else {
        check_hub_id(name)
    }
}

/// The one test for "this model name is a path".
pub fn is_path(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with("./")
        || name.starts_with("../")
        || name == "."
        || name == ".."
}

/// A hub id: `name` or `org/name`, each part letters, digits, `-`, `_`, `.`,
/// not starting with `.` (so never `.` or `..`).
pub fn check_hub_id(name: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('/').collect();
    let ok = (1..=2).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is neither a hub name (bert-base-uncased, org/name) nor a path (starting with /, ./ or ../)",
            crate::util::error::lit(name)
        ))
    }
}

/// A revision: a branch, tag or commit, `/`-separated parts, none `.` or `..`.
pub fn check_revision(rev: &str) -> Result<(), String> {
    let ok = !rev.is_empty()
        && rev
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
        && rev
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected a branch, tag or commit hash, got `{}`",
            crate::util::error::lit(rev)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_paths_and_hub_ids() {
        assert_eq!(
            ModelRef::parse("./m", None),
            Ok(ModelRef::Local("./m".into()))
        );
        assert!(matches!(
            ModelRef::parse("/abs/m", None),
            Ok(ModelRef::Local(_))
        ));
        assert!(matches!(
            ModelRef::parse("../m", None),
            Ok(ModelRef::Local(_))
        ));
        assert!(ModelRef::parse("roberta-base", None).unwrap().is_hub());
        assert!(
            ModelRef::parse("google-bert/bert-base-uncased", Some("v1.0"))
                .unwrap()
                .is_hub()
        );
        assert!(ModelRef::parse(".hidden", None).is_err());
        assert!(ModelRef::parse("a/b/c", None).is_err());
        assert!(ModelRef::parse("~/m", None)
            .unwrap_err()
            .contains("not expanded"));
    }

    /// The revision rule the config check uses is the hub's: `..` never passes.
    #[test]
    fn revisions_cannot_climb() {
        for bad in ["../x", "..", "a/../b", "", "a b", "a//b"] {
            assert!(ModelRef::parse("bert", Some(bad)).is_err(), "{bad:?}");
        }
        for good in ["main", "v1.0", "refs/pr/1", "0123abc"] {
            assert!(ModelRef::parse("bert", Some(good)).is_ok(), "{good:?}");
        }
    }
}
