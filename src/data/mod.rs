//! Reading datasets: the `data:` keys (spec), GoEmotions' TSV and
//! emotions.txt (tsv), CSV/TSV/JSONL rows (table), label layouts, sets and
//! maps (labels), the whole dataset as the keys describe it (load), a
//! stratified dev hold-out (stratify), and label statistics (analysis).
pub mod analysis;
pub mod checks;
pub mod dataset;
pub mod labels;
pub mod load;
pub mod record;
pub mod spec;
pub mod stratify;
pub mod table;
pub mod tsv;
