//! Reading datasets: the GoEmotions TSV reader, emotions.txt, and analysis.
pub mod analysis;
pub mod tsv;
