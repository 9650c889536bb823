//! A labelled dataset in memory: the label names and three splits of
//! examples, whatever file layout they were read from.

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    /// Label ids (indexes into the label names), each at most once.
    pub labels: Vec<usize>,
    /// The row's id: its id column (GoEmotions: the Reddit comment id), or
    /// its line number in the file.
    pub id: String,
    /// The line of its file the row starts on (1-based), for messages.
    pub line: usize,
}

/// The label names and the three splits.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub labels: Vec<String>,
    pub train: Vec<Example>,
    pub dev: Vec<Example>,
    pub test: Vec<Example>,
}

/// The split names, in the order the tutorial lists them.
pub const SPLITS: [&str; 3] = ["train", "dev", "test"];

impl Dataset {
    /// The split called `name` ("train", "dev" or "test").
    pub fn split(&self, name: &str) -> Option<&[Example]> {
        match name {
            "train" => Some(&self.train),
            "dev" => Some(&self.dev),
            "test" => Some(&self.test),
            _ => None,
        }
    }
}
