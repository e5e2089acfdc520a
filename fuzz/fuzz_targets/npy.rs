//! `.npy` matrices (`mllt_core::npy::read_matrix`), into f32 and f64.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mllt_core::npy::{NpyMatrix, read_matrix};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("x.npy");
    if let Ok(m) = read_matrix::<f32>(data, path) {
        assert_eq!(m.values.len(), m.rows * m.cols);
    }
    let _: Option<NpyMatrix<f64>> = read_matrix(data, path).ok();
});
