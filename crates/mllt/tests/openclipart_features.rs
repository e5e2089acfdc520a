//! The shipped OpenClipart-MLT features are what `mllt features` computes: a few shipped sample renders are
//! re-extracted with EfficientNet-Lite0 and compared with their rows in `data/openclipart-mlt`.

use std::path::Path;
use std::process::Command;

use mllt_nn::backbone::efficientnet_lite::WEIGHTS;
use mllt_nn::features::{FeatureDataset, FeatureSplit};

fn shipped() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/openclipart-mlt")
}

/// The feature row of item `id` in `split`.
fn row_of<'a>(split: &'a FeatureSplit, id: &str) -> Option<&'a [f32]> {
    split
        .labels
        .ids()
        .iter()
        .position(|i| i == id)
        .map(|k| split.row(k))
}

#[test]
fn shipped_features_match_a_fresh_extraction() {
    let data = shipped();
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(data.join("samples")).unwrap() {
        let path = entry.unwrap().path();
        let id = path.file_name().unwrap().to_string_lossy().to_string();
        std::fs::copy(&path, images.join(&id)).unwrap();
        lines.push(id);
    }
    lines.sort();
    assert!(lines.len() >= 3, "samples: {lines:?}");
    std::fs::copy(data.join("classes.txt"), dir.path().join("classes.txt")).unwrap();
    // Keep each sample's labels from the shipped split it belongs to; every sample goes to both new splits.
    let mut rows = String::from("id\tlabels\n");
    for file in ["train.tsv", "test.tsv"] {
        for line in std::fs::read_to_string(data.join(file))
            .unwrap()
            .lines()
            .skip(1)
        {
            if lines.iter().any(|id| line.starts_with(&format!("{id}\t"))) {
                rows.push_str(line);
                rows.push('\n');
            }
        }
    }
    std::fs::write(dir.path().join("train.tsv"), &rows).unwrap();
    std::fs::write(dir.path().join("test.tsv"), &rows).unwrap();
    let weights = WEIGHTS
        .fetch()
        .unwrap_or_else(|e| panic!("cannot fetch the EfficientNet-Lite0 weights: {e}"));
    let out = dir.path().join("features");
    let output = Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args([
            "features",
            "--data",
            dir.path().to_str().unwrap(),
            "--backbone",
            "efficientnet-lite0",
        ])
        .args([
            "--weights",
            weights.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fresh = FeatureDataset::read(&out).unwrap();
    let reference = FeatureDataset::read(&data).unwrap();
    for id in &lines {
        let new = row_of(&fresh.train, id).unwrap();
        let old = row_of(&reference.train, id)
            .or_else(|| row_of(&reference.test, id))
            .unwrap_or_else(|| panic!("{id} is not in the shipped dataset"));
        assert_eq!(new.len(), old.len());
        let worst = new
            .iter()
            .zip(old)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
            .fold(0.0, f32::max);
        assert!(worst <= 2e-3, "{id}: features differ by {worst}");
        assert!(old.iter().any(|&v| v != 0.0), "{id}: all-zero features");
    }
}
