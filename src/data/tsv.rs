//! GoEmotions TSV reader (interim minimal version; the full reader with
//! per-row diagnostics lands from the data branch).
use crate::error::{Error, Result};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub labels: Vec<usize>,
    pub id: String,
}

pub struct Dataset {
    pub labels: Vec<String>,
    pub train: Vec<Example>,
    pub dev: Vec<Example>,
    pub test: Vec<Example>,
}

pub fn read_emotions(path: &Path) -> Result<Vec<String>> {
    Ok(crate::fsutil::read_to_string(path, "reading emotions")?
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

pub fn read_split(path: &Path, n_labels: usize) -> Result<Vec<Example>> {
    let text = crate::fsutil::read_to_string(path, "reading split")?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 3 {
            return Err(Error::Data(format!("{}:{}: expected 3 fields", path.display(), i + 1)));
        }
        let mut t = f[0].to_string();
        if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
            t = t[1..t.len() - 1].replace("\"\"", "\"");
        }
        let labels = f[1]
            .split(',')
            .map(|x| x.parse::<usize>().ok().filter(|&v| v < n_labels))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::Data(format!("{}:{}: bad label", path.display(), i + 1)))?;
        out.push(Example { text: t, labels, id: f[2].to_string() });
    }
    Ok(out)
}

impl Dataset {
    pub fn load(dir: &Path) -> Result<Dataset> {
        let labels = read_emotions(&dir.join("emotions.txt"))?;
        let n = labels.len();
        Ok(Dataset {
            train: read_split(&dir.join("train.tsv"), n)?,
            dev: read_split(&dir.join("dev.tsv"), n)?,
            test: read_split(&dir.join("test.tsv"), n)?,
            labels,
        })
    }
}
