//! The augmentation stages against OpenCV and numpy on three real photos (scikit-image's `chelsea`, `coffee`
//! and `astronaut`, as 48 × 32 thumbnails in `tests/fixtures/photos/`).
//!
//! `tests/golden/augment_opencv.py` ran the reference's calls (`cv2.resize` with `INTER_LINEAR`,
//! `cv2.cvtColor` BGR ↔ HSV on float32, mmdet's `PhotoMetricDistortion` for fixed draws, numpy slicing,
//! mmcv's `imnormalize` and `imflip`) on the same PNGs and stored the outputs in `tests/golden/augment_opencv.bin`,
//! described by `augment_opencv.json`.
//!
//! Tolerances: the float stages must agree within 1/255 of the 0..=255 range, i.e. 1.0 a value (H: 1/255 of a
//! turn, 360/255°, measured around the circle; S: 1/255); crop, flip and normalisation must agree bit for bit,
//! and so must the resize with OpenCV's own implementation (`cv2.ipp.setUseIPP(False)`); the pip wheels' default
//! resize goes through Intel IPP, a few ulps away. Each comparison also has a tight bound just above what was
//! measured, so that a change of scheme that stays within 1/255 still fails.

use std::path::Path;
use std::sync::LazyLock;

use image::DynamicImage;
use mllt_data::augment::*;
use serde_json::Value;

/// 1/255 of the full range on the 0..=255 scale.
const TOLERANCE: f32 = 1.0;

static GOLDEN: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(include_str!("golden/augment_opencv.json")).unwrap());
const BLOB: &[u8] = include_bytes!("golden/augment_opencv.bin");
const PHOTOS: [&str; 3] = ["chelsea", "coffee", "astronaut"];

fn entry(name: &str) -> &'static Value {
    &GOLDEN["images"][name]
}

fn photo(name: &str) -> DynamicImage {
    let file = entry(name)["file"].as_str().unwrap();
    image::open(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(file),
    )
    .unwrap()
}

/// The shape and values of an array described by `spec` (`dtype`, `shape`, byte `offset` into the blob).
fn array(spec: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape: Vec<usize> = spec["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let n = shape.iter().product::<usize>();
    let offset = spec["offset"].as_u64().unwrap() as usize;
    let values = match spec["dtype"].as_str().unwrap() {
        "f32" => BLOB[offset..offset + 4 * n]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        "u8" => BLOB[offset..offset + n]
            .iter()
            .map(|&b| f32::from(b))
            .collect(),
        other => panic!("dtype {other}"),
    };
    (shape, values)
}

/// A stored HWC BGR array as a [`BgrImage`].
fn golden_image(spec: &Value) -> BgrImage {
    let (shape, data) = array(spec);
    assert_eq!(shape.len(), 3);
    assert_eq!(shape[2], 3);
    BgrImage {
        width: shape[1],
        height: shape[0],
        data,
    }
}

fn golden(name: &str, what: &str) -> BgrImage {
    golden_image(&entry(name)["arrays"][what])
}

/// The largest `|a − b|`, with `a` and `b` of the same length.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn photometric(draw: &str) -> PhotometricParams {
    let p = &GOLDEN["photometric"][draw];
    let value = |key: &str| p[key].as_f64().map(|v| v as f32);
    PhotometricParams {
        brightness: value("brightness"),
        contrast_first: p["contrast_first"].as_bool().unwrap(),
        contrast: value("contrast"),
        saturation: value("saturation"),
        hue: value("hue"),
        channel_order: p["channel_order"]
            .as_array()
            .map(|order| std::array::from_fn(|i| order[i].as_u64().unwrap() as usize)),
    }
}

fn crop_box(spec: &Value) -> CropBox {
    let c = |i: usize| spec[i].as_u64().unwrap() as usize;
    CropBox {
        left: c(0),
        top: c(1),
        right: c(2),
        bottom: c(3),
    }
}

/// Asserts that `got` and `expected` are the same f32 values bit for bit, naming the first that differs.
fn assert_bits_eq(got: &[f32], expected: &[f32], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths");
    let differ = got
        .iter()
        .zip(expected)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != expected[i].to_bits()) {
        panic!(
            "{what}: {differ} values differ, first at {i}: {} vs {}",
            got[i], expected[i]
        );
    }
}

/// Asserts `max ≤ tight ≤ limit` (`limit`: 1/255 of the range of the values compared) and prints the
/// measurement.
fn check(what: &str, max: f32, tight: f32, limit: f32) {
    println!("{what}: max |mllt − OpenCV| = {max:e}");
    assert!(tight <= limit);
    assert!(max <= tight, "{what}: {max} > {tight}");
}

#[test]
fn resize_matches_cv2_resize_inter_linear_down_and_up() {
    for name in PHOTOS {
        let img = BgrImage::from_image(&photo(name));
        for what in ["resize_down", "resize_up"] {
            // OpenCV's own implementation: bit for bit.
            let exact = golden(name, &format!("{what}_no_ipp"));
            let (width, height) = (exact.width, exact.height);
            assert_eq!(
                (width < img.width && height < img.height),
                what == "resize_down",
                "{name} {what} {width}x{height}"
            );
            let got = resize_bilinear(&img, width, height);
            let label = format!("{name} {what} {width}x{height}");
            assert_bits_eq(&got.data, &exact.data, &format!("{label} without IPP"));
            // What `cv2.resize` gives by default in the pip wheels: Intel IPP's resize, a few ulps away.
            check(
                &format!("{label} (IPP)"),
                max_diff(&got.data, &golden(name, what).data),
                5e-4,
                TOLERANCE,
            );
        }
    }
}

#[test]
fn hsv_conversions_match_cv2_cvtcolor() {
    for name in PHOTOS {
        let img = BgrImage::from_image(&photo(name));
        let expected = golden(name, "hsv");
        let (mut h, mut s, mut v) = (0.0f32, 0.0f32, 0.0f32);
        for (px, want) in img.data.chunks_exact(3).zip(expected.data.chunks_exact(3)) {
            let got = bgr_to_hsv([px[0], px[1], px[2]]);
            let dh = (got[0] - want[0]).abs();
            h = h.max(dh.min(360.0 - dh));
            s = s.max((got[1] - want[1]).abs());
            v = v.max((got[2] - want[2]).abs());
        }
        // H in degrees: 1/255 of a turn; S in 0..=1: 1/255; V on the 0..=255 scale.
        check(&format!("{name} H (degrees)"), h, 1e-4, 360.0 / 255.0);
        check(&format!("{name} S"), s, 1e-6, 1.0 / 255.0);
        check(&format!("{name} V"), v, 0.0, TOLERANCE);

        // HSV → BGR of OpenCV's own HSV.
        let back = golden(name, "hsv_to_bgr");
        let got: Vec<f32> = expected
            .data
            .chunks_exact(3)
            .flat_map(|hsv| hsv_to_bgr([hsv[0], hsv[1], hsv[2]]))
            .collect();
        check(
            &format!("{name} HSV → BGR"),
            max_diff(&got, &back.data),
            1e-4,
            TOLERANCE,
        );
    }
}

#[test]
fn photometric_distortion_matches_mmdet_for_given_draws() {
    for name in PHOTOS {
        for draw in ["a", "b"] {
            let mut pixels = BgrImage::from_image(&photo(name)).data;
            photometric(draw).apply(&mut pixels);
            let expected = golden(name, &format!("distort_{draw}"));
            check(
                &format!("{name} distortion {draw}"),
                max_diff(&pixels, &expected.data),
                1e-4,
                TOLERANCE,
            );
        }
    }
}

#[test]
fn crop_equals_numpy_slicing() {
    for name in PHOTOS {
        let got = BgrImage::from_image_region(&photo(name), crop_box(&entry(name)["crop"]));
        let expected = golden(name, "crop");
        assert_eq!(
            (got.width, got.height),
            (expected.width, expected.height),
            "{name}"
        );
        assert_bits_eq(&got.data, &expected.data, &format!("{name} crop"));
    }
}

#[test]
fn normalise_and_flip_equal_mmcv_bit_for_bit() {
    for name in PHOTOS {
        let input = golden(name, "resize_down");
        let (shape, normalised) = array(&entry(name)["arrays"]["normalised"]);
        assert_eq!(shape, [3, input.height, input.width]);
        let mut got = normalise(&input);
        assert_bits_eq(&got, &normalised, &format!("{name} normalised"));
        hflip_chw(&mut got, input.width);
        let (_, flipped) = array(&entry(name)["arrays"]["flipped"]);
        assert_bits_eq(&got, &flipped, &format!("{name} flipped"));
    }
}

/// `max |a − b| · std` per channel of CHW outputs: the difference on the 0..=255 scale before normalisation.
fn max_diff_unnormalised(a: &[f32], b: &[f32]) -> f32 {
    let plane = a.len() / 3;
    (0..3)
        .map(|c| {
            max_diff(
                &a[c * plane..(c + 1) * plane],
                &b[c * plane..(c + 1) * plane],
            ) * STD[c]
        })
        .fold(0.0, f32::max)
}

#[test]
fn pipelines_match_the_reference_for_given_draws() {
    let size = GOLDEN["pipeline_size"].as_u64().unwrap() as usize;
    for name in PHOTOS {
        let img = photo(name);
        let (_, expected) = array(&entry(name)["arrays"]["test_pipeline"]);
        check(
            &format!("{name} test pipeline"),
            max_diff_unnormalised(&test_transform(&img, size), &expected),
            5e-4,
            TOLERANCE,
        );
        for pipe in entry(name)["train_pipelines"].as_array().unwrap() {
            let draws = TrainDraws {
                photometric: photometric(pipe["photometric"].as_str().unwrap()),
                crop: crop_box(&pipe["crop"]),
                flip: pipe["flip"].as_bool().unwrap(),
            };
            let (_, expected) = array(&pipe["output"]);
            check(
                &format!("{name} train pipeline, draw {}", pipe["photometric"]),
                max_diff_unnormalised(&draws.apply(&img, size), &expected),
                5e-4,
                TOLERANCE,
            );
        }
    }
}
