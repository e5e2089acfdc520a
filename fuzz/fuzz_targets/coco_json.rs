//! COCO instances JSON (`mllt_data::coco::parse_instances`).
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mllt_data::coco::parse_instances(data, Path::new("instances.json"));
});
