//! Debian control files (`mllt_data::deb822::{parse, parse_release, sha256_entries}`, `mllt_data::debtags::{parse_packages,
//! parse_translations}`).
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mllt_data::{deb822, debtags};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("Packages");
    let _ = deb822::parse(text, path);
    for paragraph in deb822::parse_release(text, path).unwrap_or_default() {
        let _ = deb822::sha256_entries(&paragraph, path);
    }
    let _ = debtags::parse_packages(text, path);
    let _ = debtags::parse_translations(text, path);
});
