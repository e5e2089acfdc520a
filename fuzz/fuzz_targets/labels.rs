//! `classes.txt` and the label TSV (`mllt_core::labels`). The input is `classes.txt`, a NUL byte, then the TSV;
//! without a NUL both parsers read the whole input (the TSV against the classes `a`, `b`, `c`).
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mllt_core::labels::{LabelSet, parse_classes};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (classes_text, tsv) = text.split_once('\0').unwrap_or((text, text));
    let classes = parse_classes(classes_text, Path::new("classes.txt"))
        .unwrap_or_else(|_| vec!["a".into(), "b".into(), "c".into()]);
    if let Ok(labels) = LabelSet::parse_tsv(tsv, Path::new("labels.tsv"), classes) {
        let _ = (labels.class_counts(), labels.dense::<u8>(), labels.to_tsv());
    }
});
