//! Image files as the batch loader decodes them (`mllt_data::loader::decode`: format from the content, the
//! `image` crate's default allocation limit). The decoder takes a path, so each input goes through a
//! temporary file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("mllt-fuzz-{}.img", std::process::id()));
    std::fs::write(&path, data).expect("write the temporary file");
    let _ = mllt_data::loader::decode(&path);
});
