//! `.safetensors` feature files (`mllt_nn::features`): the container, then every tensor read as a feature
//! matrix, as `FeatureDataset::read` reads `train` and `test`.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mllt_nn::features::{parse_safetensors, read_matrix};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("features.safetensors");
    if let Ok(st) = parse_safetensors(data, path) {
        for name in st.names() {
            let _ = read_matrix(&st, path, name);
        }
    }
});
