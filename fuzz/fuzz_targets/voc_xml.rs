//! Pascal VOC annotation XML (`mllt_data::voc::parse_annotation`).
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mllt_data::voc::parse_annotation(text, Path::new("Annotations/x.xml"));
    }
});
