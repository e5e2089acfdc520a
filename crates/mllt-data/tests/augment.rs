//! The reference pipeline's transforms stage by stage, and the batch loader, on images the tests make.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use mllt_data::augment::*;
use mllt_data::loader::{BatchLoader, LoaderConfig, LoaderError, load_batch};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A deterministic colourful `w × h` RGB image.
fn pattern(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        Rgb([
            (x * 7 + y) as u8,
            (y * 5 + 3 * x) as u8,
            ((x ^ y) * 11) as u8,
        ])
    }))
}

fn constant(w: u32, h: u32, rgb: [u8; 3]) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb(rgb)))
}

/// Channel `c` of the CHW output, as a slice of `size²` values.
fn plane(chw: &[f32], size: usize, c: usize) -> &[f32] {
    &chw[c * size * size..(c + 1) * size * size]
}

#[test]
fn outputs_have_the_right_length_and_are_finite() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (w, h) in [(1, 1), (2, 7), (50, 40), (300, 20), (33, 90)] {
        let img = pattern(w, h);
        for size in [1, 16, 32] {
            for out in [
                train_transform(&img, size, &mut rng),
                test_transform(&img, size),
            ] {
                assert_eq!(out.len(), 3 * size * size, "{w}x{h} -> {size}");
                assert!(out.iter().all(|v| v.is_finite()), "{w}x{h} -> {size}");
            }
        }
    }
}

#[test]
fn test_transform_of_a_constant_image_is_the_normalised_colour_in_rgb_order() {
    let rgb = [200u8, 30, 90];
    let out = test_transform(&constant(40, 25, rgb), 32);
    // By hand: (c - mean) / std per RGB channel, in f32 like the reference's float32 arrays.
    let expected = [
        (200.0f32 - 123.675) / 58.395,
        (30.0f32 - 116.28) / 57.12,
        (90.0f32 - 103.53) / 57.375,
    ];
    for (c, &e) in expected.iter().enumerate() {
        assert!(plane(&out, 32, c).iter().all(|&v| v == e), "channel {c}");
    }
}

#[test]
fn pure_red_lands_in_the_first_output_channel() {
    let out = test_transform(&constant(8, 8, [255, 0, 0]), 4);
    assert_eq!(plane(&out, 4, 0)[0], (255.0 - MEAN[0]) / STD[0]);
    assert_eq!(plane(&out, 4, 1)[0], -MEAN[1] / STD[1]);
    assert_eq!(plane(&out, 4, 2)[0], -MEAN[2] / STD[2]);
    let bgr = BgrImage::from_image(&constant(1, 1, [255, 0, 0]));
    assert_eq!(
        bgr.data,
        [0.0, 0.0, 255.0],
        "BgrImage keeps OpenCV's BGR order"
    );
}

#[test]
fn alpha_is_composited_on_white_and_grey_gives_three_channels() {
    let rgba = RgbaImage::from_fn(2, 1, |x, _| {
        if x == 0 {
            Rgba([10, 20, 30, 0])
        } else {
            Rgba([10, 20, 30, 255])
        }
    });
    let bgr = BgrImage::from_image(&DynamicImage::ImageRgba8(rgba));
    assert_eq!(bgr.data, [255.0, 255.0, 255.0, 30.0, 20.0, 10.0]);
    let half = BgrImage::from_image(&DynamicImage::ImageRgba8(RgbaImage::from_pixel(
        1,
        1,
        Rgba([0, 0, 0, 51]),
    )));
    assert_eq!(half.data, [204.0; 3]);
    let grey = BgrImage::from_image(&DynamicImage::ImageLuma8(GrayImage::from_pixel(
        3,
        2,
        Luma([77]),
    )));
    assert_eq!(grey.data, [77.0; 18]);
    let wide = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
        1,
        1,
        Rgb([65535u16, 0, 65535]),
    ));
    assert_eq!(BgrImage::from_image(&wide).data, [255.0, 0.0, 255.0]);
}

#[test]
fn region_conversion_equals_the_crop_of_the_whole_image() {
    let img = pattern(23, 17);
    let whole = BgrImage::from_image(&img);
    let region = BgrImage::from_image_region(
        &img,
        CropBox {
            left: 3,
            top: 5,
            right: 20,
            bottom: 16,
        },
    );
    assert_eq!((region.width, region.height), (17, 11));
    for y in 0..11 {
        for x in 0..17 {
            let (i, j) = ((y * 17 + x) * 3, ((y + 5) * 23 + x + 3) * 3);
            assert_eq!(region.data[i..i + 3], whole.data[j..j + 3]);
        }
    }
    let outside = BgrImage::from_image_region(
        &img,
        CropBox {
            left: 20,
            top: 0,
            right: 99,
            bottom: 99,
        },
    );
    assert_eq!(
        (outside.width, outside.height),
        (3, 17),
        "a box past the image is cut to it"
    );
}

#[test]
fn flip_mirrors_a_left_half_black_image() {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(8, 4, |x, _| {
        if x < 4 { Rgb([0; 3]) } else { Rgb([255; 3]) }
    }));
    let mut out = normalise(&BgrImage::from_image(&img));
    let (black, white) = ((0.0 - MEAN[0]) / STD[0], (255.0 - MEAN[0]) / STD[0]);
    hflip_chw(&mut out, 8);
    for (c, channel) in out.chunks(8 * 4).enumerate() {
        for row in channel.chunks(8) {
            let (b, w) = ((0.0 - MEAN[c]) / STD[c], (255.0 - MEAN[c]) / STD[c]);
            assert!(
                row[..4].iter().all(|&v| v == w) && row[4..].iter().all(|&v| v == b),
                "{row:?}"
            );
        }
    }
    assert_eq!((out[0], out[7]), (white, black));
}

#[test]
fn crop_boxes_stay_inside_keep_80_percent_and_the_aspect_range() {
    for seed in 0..2000u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let w = rng.random_range(1..600usize);
        let h = rng.random_range(1..600usize);
        let b = random_crop_box(w, h, MIN_CROP_SIZE, &mut rng);
        assert!(
            b.left < b.right && b.right <= w && b.top < b.bottom && b.bottom <= h,
            "{w}x{h}: {b:?}"
        );
        assert!(
            b.width() as f64 >= (0.8 * w as f64).floor() - 1.0,
            "{w}x{h}: {b:?}"
        );
        assert!(
            b.height() as f64 >= (0.8 * h as f64).floor() - 1.0,
            "{w}x{h}: {b:?}"
        );
        let aspect = h as f64 / w as f64;
        if (0.5..=2.0).contains(&aspect) {
            // A crop was found; the float h'/w' was in [0.5, 2], the int box is off by at most a pixel a side.
            let lo = (b.height() as f64) / (b.width() as f64 + 1.0);
            let hi = (b.height() as f64 + 1.0) / (b.width() as f64);
            assert!(lo <= 2.0 && hi >= 0.5, "{w}x{h}: {b:?}");
        }
    }
    // No crop of a 10:1 image has h'/w' in [0.5, 2]: the whole image is kept.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert_eq!(
        random_crop_box(1000, 100, MIN_CROP_SIZE, &mut rng),
        CropBox::full(1000, 100)
    );
    assert_eq!(
        random_crop_box(0, 0, MIN_CROP_SIZE, &mut rng),
        CropBox::full(0, 0)
    );
}

#[test]
fn crops_vary_across_draws() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let boxes: Vec<CropBox> = (0..50)
        .map(|_| random_crop_box(500, 375, MIN_CROP_SIZE, &mut rng))
        .collect();
    assert!(boxes.iter().any(|b| *b != boxes[0]));
    assert!(boxes.iter().any(|b| b.left > 0) && boxes.iter().any(|b| b.width() < 500));
}

#[test]
fn item_randomness_depends_on_seed_epoch_and_position_only() {
    let img = pattern(60, 45);
    let config = AugmentConfig::train(32, 7);
    let a = config.apply(&img, 2, 5);
    assert_eq!(a, config.apply(&img, 2, 5));
    assert_eq!(a, train_transform(&img, 32, &mut item_rng(7, 2, 5)));
    assert_ne!(a, config.apply(&img, 2, 6));
    assert_ne!(a, config.apply(&img, 3, 5));
    assert_ne!(a, AugmentConfig::train(32, 8).apply(&img, 2, 5));
    assert_eq!(
        AugmentConfig::test(32).apply(&img, 2, 5),
        test_transform(&img, 32)
    );
}

#[test]
fn hsv_round_trip_is_the_identity() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..100_000 {
        let bgr: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..255.0f32));
        let back = hsv_to_bgr(bgr_to_hsv(bgr));
        for c in 0..3 {
            assert!((back[c] - bgr[c]).abs() < 1e-3, "{bgr:?} -> {back:?}");
        }
    }
    for grey in [[0.0; 3], [17.0; 3], [255.0; 3]] {
        assert_eq!(hsv_to_bgr(bgr_to_hsv(grey)), grey);
    }
}

#[test]
fn hsv_follows_opencv_conventions() {
    // Pure colours (BGR): red H = 0, green 120, blue 240; S = 1, V = max channel.
    assert_eq!(bgr_to_hsv([0.0, 0.0, 200.0]), [0.0, 1.0, 200.0]);
    let [h, s, v] = bgr_to_hsv([0.0, 100.0, 0.0]);
    assert!((h - 120.0).abs() < 1e-3 && (s - 1.0).abs() < 1e-6 && v == 100.0);
    let [h, ..] = bgr_to_hsv([50.0, 0.0, 0.0]);
    assert!((h - 240.0).abs() < 1e-3);
    // A hue shift of 120° turns red into green; H outside [0, 360) wraps.
    let green = hsv_to_bgr([120.0, 1.0, 200.0]);
    assert!((green[1] - 200.0).abs() < 1e-3 && green[0].abs() < 1e-3 && green[2].abs() < 1e-3);
    let wrapped = hsv_to_bgr([480.0, 1.0, 200.0]);
    assert!(
        wrapped
            .iter()
            .zip(&green)
            .all(|(a, b)| (a - b).abs() < 1e-3)
    );
}

#[test]
fn brightness_alone_shifts_the_mean_by_delta() {
    let mut pixels = BgrImage::from_image(&pattern(40, 30)).data;
    let before: f64 = pixels.iter().map(|&v| f64::from(v)).sum::<f64>() / pixels.len() as f64;
    let params = PhotometricParams {
        brightness: Some(12.5),
        ..Default::default()
    };
    params.apply(&mut pixels);
    let after: f64 = pixels.iter().map(|&v| f64::from(v)).sum::<f64>() / pixels.len() as f64;
    assert!((after - before - 12.5).abs() < 1e-3, "{before} -> {after}");
}

#[test]
fn contrast_and_channel_swap_act_per_pixel() {
    let mut px = vec![10.0f32, 20.0, 30.0];
    let params = PhotometricParams {
        contrast: Some(2.0),
        channel_order: Some([2, 0, 1]),
        ..Default::default()
    };
    params.apply(&mut px);
    for (got, want) in px.iter().zip([60.0, 20.0, 40.0]) {
        assert!((got - want).abs() < 1e-3, "{px:?}");
    }
    // Halving S of a pure colour keeps V and lifts the other channels to V/2.
    let mut red = vec![0.0f32, 0.0, 200.0];
    PhotometricParams {
        saturation: Some(0.5),
        ..Default::default()
    }
    .apply(&mut red);
    assert!(
        red.iter()
            .zip([100.0, 100.0, 200.0])
            .all(|(a, b)| (a - b).abs() < 1e-3),
        "{red:?}"
    );
}

#[test]
fn photometric_draws_cover_every_branch_within_their_ranges() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let draws: Vec<PhotometricParams> = (0..400)
        .map(|_| PhotometricParams::sample(&mut rng))
        .collect();
    assert!(
        draws
            .iter()
            .all(|p| p.brightness.is_none_or(|d| (-32.0..32.0).contains(&d)))
    );
    assert!(
        draws
            .iter()
            .all(|p| p.contrast.is_none_or(|a| (0.5..1.5).contains(&a)))
    );
    assert!(
        draws
            .iter()
            .all(|p| p.saturation.is_none_or(|a| (0.5..1.5).contains(&a)))
    );
    assert!(
        draws
            .iter()
            .all(|p| p.hue.is_none_or(|d| (-18.0..18.0).contains(&d)))
    );
    for order in draws.iter().filter_map(|p| p.channel_order) {
        let mut sorted = order;
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2]);
    }
    let share = |f: &dyn Fn(&PhotometricParams) -> bool| draws.iter().filter(|p| f(p)).count();
    for count in [
        share(&|p| p.brightness.is_some()),
        share(&|p| p.contrast_first),
        share(&|p| p.contrast.is_some()),
        share(&|p| p.saturation.is_some()),
        share(&|p| p.hue.is_some()),
        share(&|p| p.channel_order.is_some()),
    ] {
        assert!((150..250).contains(&count), "{count} of 400");
    }
}

#[test]
fn resize_matches_opencv_half_pixel_bilinear() {
    let row = |data: &[f32]| BgrImage {
        width: data.len(),
        height: 1,
        data: data.iter().flat_map(|&v| [v; 3]).collect(),
    };
    let first = |img: BgrImage| img.data.iter().step_by(3).copied().collect::<Vec<f32>>();
    // cv2.resize(np.float32([[0, 100]]), (4, 1)) == [[0, 25, 75, 100]]
    assert_eq!(
        first(resize_bilinear(&row(&[0.0, 100.0]), 4, 1)),
        [0.0, 25.0, 75.0, 100.0]
    );
    // Shrinking by two averages pairs.
    assert_eq!(
        first(resize_bilinear(&row(&[0.0, 10.0, 20.0, 30.0]), 2, 1)),
        [5.0, 25.0]
    );
    // Same size is the identity; an empty source gives black.
    let img = BgrImage::from_image(&pattern(9, 5));
    assert_eq!(resize_bilinear(&img, 9, 5), img);
    let empty = BgrImage {
        width: 0,
        height: 0,
        data: vec![],
    };
    assert_eq!(resize_bilinear(&empty, 2, 2).data, [0.0; 12]);
    // Vertical and horizontal are the same scheme.
    let col = BgrImage {
        width: 1,
        height: 2,
        data: vec![0.0, 0.0, 0.0, 100.0, 100.0, 100.0],
    };
    assert_eq!(first(resize_bilinear(&col, 1, 4)), [0.0, 25.0, 75.0, 100.0]);
}

/// Writes `n` images (PNG and JPEG, colour and grey, varied sizes) under `dir`.
fn write_images(dir: &std::path::Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let w = 20 + 7 * i as u32;
            let h = 15 + 5 * (i as u32 % 4);
            let (img, ext) = match i % 3 {
                0 => (pattern(w, h), "png"),
                1 => (pattern(w, h), "jpg"),
                _ => (DynamicImage::ImageLuma8(pattern(w, h).to_luma8()), "jpg"),
            };
            let path = dir.join(format!("img{i}.{ext}"));
            img.save(&path).unwrap();
            path
        })
        .collect()
}

fn config(augment: AugmentConfig, threads: usize) -> LoaderConfig {
    LoaderConfig {
        augment,
        epoch: 3,
        first_position: 0,
        prefetch: 2,
        threads,
    }
}

#[test]
fn loader_yields_the_batches_in_order_equal_to_load_batch_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Arc<[PathBuf]> = write_images(dir.path(), 9).into();
    let batches = vec![vec![4, 0, 7], vec![1], vec![8, 2, 2, 5], vec![3, 6]];
    for augment in [AugmentConfig::train(16, 42), AugmentConfig::test(16)] {
        let mut expected = Vec::new();
        let mut position = 0;
        for items in &batches {
            expected.push(load_batch(&paths, items, position, &augment, 3).unwrap());
            position += items.len() as u64;
        }
        for batch in &expected {
            assert_eq!(batch.pixels.len(), batch.items.len() * 3 * 16 * 16);
        }
        for threads in [0, 1, 2, 3] {
            let got: Vec<_> =
                BatchLoader::new(paths.clone(), batches.clone(), config(augment, threads))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
            assert_eq!(got, expected, "threads {threads}");
        }
        // An epoch resumed after its first two batches (4 items) continues with the same batches.
        let resumed = LoaderConfig {
            first_position: 4,
            ..config(augment, 2)
        };
        let tail: Vec<_> = BatchLoader::new(paths.clone(), batches[2..].to_vec(), resumed)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(tail, expected[2..]);
        if augment.train {
            // The repeated item 2 at two positions is augmented twice, differently.
            let b = &expected[2].pixels;
            let n = 3 * 16 * 16;
            assert_ne!(b[n..2 * n], b[2 * n..3 * n]);
        }
    }
}

#[test]
fn loader_errors_name_the_file_and_end_the_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = write_images(dir.path(), 3);
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"not a png at all").unwrap();
    paths.push(broken.clone());
    paths.push(dir.path().join("missing.jpg"));
    let paths: Arc<[PathBuf]> = paths.into();
    let batches = vec![vec![0, 1], vec![2, 3], vec![0], vec![4]];
    let got: Vec<_> = BatchLoader::new(paths.clone(), batches, config(AugmentConfig::test(8), 2))
        .unwrap()
        .collect();
    assert_eq!(got.len(), 2, "the epoch stops at the first error");
    assert!(got[0].is_ok());
    let message = got[1].as_ref().unwrap_err().to_string();
    assert!(message.contains(&broken.display().to_string()), "{message}");
    assert!(!message.contains('\n'), "{message}");

    let missing = load_batch(&paths, &[0, 4], 0, &AugmentConfig::test(8), 0).unwrap_err();
    assert!(missing.to_string().contains("missing.jpg"), "{missing}");
    let out_of_range = load_batch(&paths, &[9], 0, &AugmentConfig::test(8), 0).unwrap_err();
    assert!(
        matches!(
            out_of_range,
            LoaderError::ItemOutOfRange { item: 9, len: 5 }
        ),
        "{out_of_range}"
    );
}

#[test]
fn dropping_the_loader_early_stops_its_thread() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Arc<[PathBuf]> = write_images(dir.path(), 4).into();
    let batches = vec![vec![0, 1, 2, 3]; 10_000];
    let start = Instant::now();
    let mut loader = BatchLoader::new(
        paths.clone(),
        batches.clone(),
        config(AugmentConfig::train(8, 1), 2),
    )
    .unwrap();
    assert!(loader.next().unwrap().is_ok());
    drop(loader);
    // Dropped before consuming anything, and with prefetch 0.
    let unused = LoaderConfig {
        prefetch: 0,
        ..config(AugmentConfig::test(8), 1)
    };
    drop(BatchLoader::new(paths, batches, unused).unwrap());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn an_empty_epoch_yields_nothing() {
    let loader = BatchLoader::new(
        Arc::from(Vec::new()),
        Vec::new(),
        config(AugmentConfig::test(8), 0),
    )
    .unwrap();
    assert_eq!(loader.count(), 0);
}
