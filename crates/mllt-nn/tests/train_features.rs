//! Feature folders: round trips in f16 and f32, and one-line errors that name the file for bad input.

use std::collections::HashMap;
use std::path::Path;

use mllt_nn::features::{
    FEATURES_FILE, FeatureDataset, FeatureDtype, SyntheticSpec, TRAIN_FILE, synthetic,
};
use safetensors::tensor::{Dtype, TensorView};

const SPEC: SyntheticSpec = SyntheticSpec {
    classes: 4,
    train: 40,
    test: 10,
    dim: 3,
    tail: 1.0,
    noise: 1.0,
    seed: 2,
};

#[test]
fn round_trips_in_f32_and_f16() {
    let data = synthetic(&SPEC);
    let dir = tempfile::tempdir().unwrap();
    data.write(dir.path(), FeatureDtype::F32).unwrap();
    assert_eq!(FeatureDataset::read(dir.path()).unwrap(), data);
    data.write(dir.path(), FeatureDtype::F16).unwrap();
    let half = FeatureDataset::read(dir.path()).unwrap();
    assert_eq!(half.train.labels, data.train.labels);
    let max_err = half
        .train
        .features
        .iter()
        .zip(&data.train.features)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(max_err < 4e-3, "{max_err}");
}

/// Rewrites `features.safetensors` with the given tensors (f32 unless `dtype` says otherwise).
fn write_tensors(dir: &Path, tensors: &[(&str, Dtype, Vec<usize>)]) {
    let buffers: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, d, s)| vec![0u8; s.iter().product::<usize>() * d.size()])
        .collect();
    let views: HashMap<String, TensorView<'_>> = tensors
        .iter()
        .zip(&buffers)
        .map(|((n, d, s), b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(
        dir.join(FEATURES_FILE),
        safetensors::serialize(views, &None).unwrap(),
    )
    .unwrap();
}

fn error(dir: &Path) -> String {
    let e = FeatureDataset::read(dir).unwrap_err().to_string();
    assert!(!e.contains('\n'), "{e}");
    e
}

#[test]
fn bad_folders_are_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    synthetic(&SPEC)
        .write(dir.path(), FeatureDtype::F32)
        .unwrap();
    let features = dir.path().join(FEATURES_FILE).display().to_string();

    write_tensors(
        dir.path(),
        &[
            ("train", Dtype::F32, vec![39, 3]),
            ("test", Dtype::F32, vec![10, 3]),
        ],
    );
    let e = error(dir.path());
    assert!(
        e.starts_with(&features) && e.contains("39 rows but train.tsv has 40"),
        "{e}"
    );

    write_tensors(dir.path(), &[("train", Dtype::F32, vec![40, 3])]);
    let e = error(dir.path());
    assert!(
        e.starts_with(&features) && e.contains("no tensor `test`"),
        "{e}"
    );

    write_tensors(
        dir.path(),
        &[
            ("train", Dtype::BF16, vec![40, 3]),
            ("test", Dtype::F32, vec![10, 3]),
        ],
    );
    assert!(error(dir.path()).contains("dtype BF16; expected F16 or F32"));

    write_tensors(
        dir.path(),
        &[
            ("train", Dtype::F32, vec![40, 3]),
            ("test", Dtype::F32, vec![10, 4]),
        ],
    );
    assert!(error(dir.path()).contains("3 columns but `test` has 4"));

    write_tensors(
        dir.path(),
        &[
            ("train", Dtype::F32, vec![120]),
            ("test", Dtype::F32, vec![10, 3]),
        ],
    );
    assert!(error(dir.path()).contains("shape [120]"));

    std::fs::write(dir.path().join(FEATURES_FILE), b"not safetensors").unwrap();
    assert!(error(dir.path()).starts_with(&features));

    std::fs::remove_file(dir.path().join(FEATURES_FILE)).unwrap();
    assert!(error(dir.path()).starts_with(&features));

    std::fs::write(dir.path().join(TRAIN_FILE), "id\tlabels\nx\tnope\n").unwrap();
    let e = error(dir.path());
    assert!(e.contains("train.tsv:2: unknown class `nope`"), "{e}");
}
