//! The texts TSV of a text dataset (`mllt_data::textset::parse_texts`).
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mllt_data::textset::parse_texts(text, Path::new("texts.tsv"));
    }
});
