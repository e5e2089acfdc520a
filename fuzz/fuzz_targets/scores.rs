//! Score files (`mllt_core::scores`): an npy (by its magic) or a TSV of 3 classes, aligned to 3 labelled items and
//! evaluated as `mllt eval` does.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mllt_core::metrics::{EmptyClassPolicy, Evaluation};
use mllt_core::scores::ScoreFile;
use mllt_core::{LabelSet, npy};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("scores");
    let file = if data.starts_with(npy::MAGIC) {
        ScoreFile::parse_npy(data, path, 3)
    } else if let Ok(text) = std::str::from_utf8(data) {
        ScoreFile::parse_tsv(text, path, 3)
    } else {
        return;
    };
    let labels = LabelSet::new(
        vec!["x".into(), "y".into(), "z".into()],
        vec!["a".into(), "b".into(), "c".into()],
        vec![vec![0], vec![1, 2], vec![]],
    )
    .expect("a valid label set");
    if let Ok(scores) = file.and_then(|f| f.align(&labels, Path::new("labels.tsv"))) {
        let _ = Evaluation::new(&scores, &labels, None, 0.0, EmptyClassPolicy::Skip);
    }
});
