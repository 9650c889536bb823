//! GoEmotions TSV reader (placeholder: being written).
