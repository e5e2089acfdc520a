//! Inputs that once crashed or hung a parser (found by fuzzing, see `fuzz/README.md`), kept under
//! `tests/fuzz_regressions/<target>/`: every one must now give a one-line error naming the file.

use std::path::Path;

use mllt_core::npy::{NpyMatrix, read_matrix};
use mllt_core::scores::ScoreFile;

/// Every file of `tests/fuzz_regressions/<target>/`, with its bytes.
fn inputs(target: &str) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn npy_inputs_are_one_line_errors() {
    let found = inputs("npy");
    assert!(!found.is_empty());
    for (path, bytes) in found {
        let result: mllt_core::Result<NpyMatrix> = read_matrix(&bytes, &path);
        let message = result.unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("{}: npy header: ", path.display()))
                && !message.contains('\n'),
            "{message}"
        );
        // The score reader goes through the same code.
        assert!(ScoreFile::parse_npy(&bytes, &path, 2).is_err());
    }
}

#[test]
fn the_nested_header_names_the_limit() {
    let (path, bytes) = inputs("npy")
        .into_iter()
        .find(|(p, _)| p.ends_with("nested_parens_hang.npy"))
        .expect("the regression input");
    let message = read_matrix::<f32>(&bytes, &path).unwrap_err().to_string();
    assert!(
        message.ends_with("brackets nest more than 4 deep; a float matrix's header nests 2"),
        "{message}"
    );
}
