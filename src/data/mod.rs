//! GoEmotions data: the TSV reader, emotions.txt, download and analysis.
pub mod analysis;
pub mod download;
pub mod tsv;
