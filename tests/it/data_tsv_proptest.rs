//! The TSV reader never panics on arbitrary input, and rows written the way
//! Python's csv writer quotes them read back unchanged.
use hecjob::data::tsv::{parse_emotions, parse_split, Example};
use proptest::prelude::*;
use std::collections::HashSet;

/// Bytes biased towards what matters to the parser: each random byte picks a
/// special byte half the time (one cheap strategy per byte keeps debug builds fast).
fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
    const SPECIAL: &[u8] = b"\"\t\n\r,0123456789abc\xff\xc3";
    proptest::collection::vec(any::<u16>(), 0..400).prop_map(|v| {
        v.into_iter()
            .map(|x| {
                let [hi, lo] = x.to_be_bytes();
                if hi & 1 == 0 {
                    SPECIAL[lo as usize % SPECIAL.len()]
                } else {
                    lo
                }
            })
            .collect()
    })
}

/// Text quoted as Python's csv writer (QUOTE_MINIMAL, delimiter '\t') would.
fn quote(text: &str) -> String {
    if text.contains(['"', '\t', '\n']) || text.starts_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn invariants(rows: &[Example], n_labels: usize) {
    let mut ids = HashSet::new();
    for r in rows {
        assert!(!r.labels.is_empty());
        assert!(r.labels.iter().all(|&l| l < n_labels));
        assert!(ids.insert(r.id.clone()), "duplicate id accepted");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in tricky_bytes(), n in 0usize..40) {
        match parse_split(&bytes, "r.tsv", n) {
            Ok(rows) => invariants(&rows, n),
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("r.tsv:"), "{}", msg);
                prop_assert_eq!(e.exit_code(), 3);
            }
        }
        let _ = parse_emotions(&bytes, "e.txt");
    }

    #[test]
    fn random_lines_never_panic(lines in proptest::collection::vec("[\"\t,0-9a-c\r ]{0,20}", 0..20)) {
        let text = lines.join("\n");
        if let Ok(rows) = parse_split(text.as_bytes(), "r.tsv", 28) {
            invariants(&rows, 28);
        }
    }

    #[test]
    fn csv_quoted_rows_round_trip(
        rows in proptest::collection::vec(
            ("[a-z \"\t]{0,12}", proptest::collection::btree_set(0usize..28, 1..4)),
            1..20,
        )
    ) {
        let mut file = String::new();
        let mut want = Vec::new();
        for (i, (text, labels)) in rows.iter().enumerate() {
            let labels: Vec<usize> = labels.iter().copied().collect();
            let ids: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
            file.push_str(&format!("{}\t{}\tid{i}\n", quote(text), ids.join(",")));
            want.push(Example { text: text.clone(), labels, id: format!("id{i}"), line: i + 1 });
        }
        let got = parse_split(file.as_bytes(), "r.tsv", 28).unwrap();
        prop_assert_eq!(got, want);
    }
}
