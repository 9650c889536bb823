//! GoEmotions data: the TSV reader, emotions.txt and analysis (the download is fetch::dataset).
pub mod analysis;
pub mod tsv;
