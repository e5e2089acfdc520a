//! Image preprocessing for feature extraction: decode (PNG, JPEG), then one of two ways to a square
//! `S × S` network input ([`Resize`]):
//!
//! * [`Resize::Crop`]: composite transparency on white, resize the shorter side to `S` (antialiased
//!   bilinear), centre-crop `S × S` (an image that is already `S × S` is used as it is), and scale each
//!   channel the way the backbone was trained: `(v − 127) / 128` on 0–255 values for EfficientNet-Lite0 (the
//!   TensorFlow reference), ImageNet mean / std in RGB order for ResNet-50 (torchvision);
//! * [`Resize::Stretch`]: the reference's test pipeline, exactly as `mllt train --backbone` evaluates
//!   ([`mllt_data::augment::test_transform`]: OpenCV half-pixel bilinear resize to `S × S`, ImageNet
//!   normalisation, RGB); the backbone maps it to its own scale ([`crate::model::Backbone::features`]).

use std::path::Path;
use std::str::FromStr;

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageReader, RgbImage};
use mllt_data::augment::{self, test_transform};

use super::{BackboneError, Result};
use crate::model::BackboneKind;

/// Default side of the square network input, in pixels (the reference's `img_scale`).
pub const DEFAULT_INPUT_SIZE: usize = augment::DEFAULT_SIZE;
/// Per-channel mean subtracted from 0–255 values for EfficientNet-Lite0 (TF EfficientNet-Lite `MEAN_RGB`).
pub const LITE0_MEAN: f32 = 127.0;
/// Per-channel divisor applied after the mean for EfficientNet-Lite0 (TF EfficientNet-Lite `STDDEV_RGB`).
pub const LITE0_STD: f32 = 128.0;

/// How an image becomes a square network input (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    /// Shorter side to `S`, centre `S × S` crop, the backbone's own scale.
    Crop,
    /// The reference's test pipeline: stretched to `S × S`, ImageNet-normalised.
    Stretch,
}

impl Resize {
    /// Every variant, in the order of the command-line help.
    pub const ALL: [Resize; 2] = [Resize::Crop, Resize::Stretch];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Resize::Crop => "crop",
            Resize::Stretch => "stretch",
        }
    }

    /// The default of `backbone`: `crop` for EfficientNet-Lite0 (the shipped features), `stretch` for
    /// ResNet-50 (the reference's test pipeline).
    pub fn default_for(backbone: BackboneKind) -> Resize {
        match backbone {
            BackboneKind::EfficientnetLite0 => Resize::Crop,
            BackboneKind::Resnet50 => Resize::Stretch,
        }
    }
}

impl FromStr for Resize {
    type Err = BackboneError;

    fn from_str(name: &str) -> Result<Resize> {
        Resize::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                BackboneError::Invalid(format!("unknown resize `{name}`: crop or stretch"))
            })
    }
}

/// Decodes the image at `path` (by its content). A missing file or an undecodable one is an error that
/// names the file.
pub fn decode(path: &Path) -> Result<DynamicImage> {
    ImageReader::open(path)
        .map_err(|e| BackboneError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| BackboneError::io(path, e))?
        .decode()
        .map_err(|e| BackboneError::Image {
            path: path.into(),
            message: e.to_string(),
        })
}

/// Turns a decoded image into a network input for `backbone`: `[3, size, size]` f32 values, channel-major
/// (CHW), RGB. With [`Resize::Crop`] in the backbone's own scale, with [`Resize::Stretch`] ImageNet-normalised.
pub fn to_input(
    image: &DynamicImage,
    resize: Resize,
    size: usize,
    backbone: BackboneKind,
) -> Vec<f32> {
    match resize {
        Resize::Crop => {
            let square = center_square(&on_white(image), size);
            let plane = size * size;
            let mut input = vec![0.0; 3 * plane];
            for (k, pixel) in square.pixels().enumerate() {
                for (c, &v) in pixel.0.iter().enumerate() {
                    input[c * plane + k] = own_scale(backbone, c, f32::from(v));
                }
            }
            input
        }
        Resize::Stretch => test_transform(image, size),
    }
}

/// The 0–255 value `v` of RGB channel `c` in the scale `backbone` was trained on.
fn own_scale(backbone: BackboneKind, c: usize, v: f32) -> f32 {
    match backbone {
        BackboneKind::EfficientnetLite0 => (v - LITE0_MEAN) / LITE0_STD,
        BackboneKind::Resnet50 => (v - augment::MEAN[c]) / augment::STD[c],
    }
}

/// The image as RGB, its alpha (if any) composited on a white background.
fn on_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let alpha = u32::from(a);
        // Rounded c·α + 255·(1 − α), in 0–255 integer arithmetic.
        let blend = |c: u8| ((u32::from(c) * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

/// The shorter side resized to `size`, then the centred `size`² crop.
fn center_square(rgb: &RgbImage, size: usize) -> RgbImage {
    let size = size as u32;
    let (w, h) = rgb.dimensions();
    if (w, h) == (size, size) {
        return rgb.clone();
    }
    let scale = f64::from(size) / f64::from(w.min(h));
    let scaled = |side: u32| ((f64::from(side) * scale).round() as u32).max(size);
    let (sw, sh) = (scaled(w), scaled(h));
    let resized = imageops::resize(rgb, sw, sh, FilterType::Triangle);
    imageops::crop_imm(&resized, (sw - size) / 2, (sh - size) / 2, size, size).to_image()
}

#[cfg(test)]
mod tests {
    use image::{Rgba, RgbaImage};

    use super::*;

    const LITE0: BackboneKind = BackboneKind::EfficientnetLite0;

    /// Lite0's crop input of `img` at 224 × 224, back on the 0–255 scale.
    fn lite0_pixels(img: RgbaImage) -> Vec<f32> {
        to_input(&DynamicImage::ImageRgba8(img), Resize::Crop, 224, LITE0)
            .iter()
            .map(|v| v * LITE0_STD + LITE0_MEAN)
            .collect()
    }

    #[test]
    fn transparent_pixels_become_white_and_opaque_ones_stay() {
        let mut img = RgbaImage::new(224, 224);
        img.put_pixel(0, 0, Rgba([10, 20, 30, 255]));
        img.put_pixel(1, 0, Rgba([0, 0, 0, 128]));
        let input = lite0_pixels(img);
        let plane = 224 * 224;
        let at = |c: usize, k: usize| input[c * plane + k];
        assert_eq!([at(0, 0), at(1, 0), at(2, 0)], [10.0, 20.0, 30.0]);
        // Half-transparent black over white: 255 · 127/255 = 127.
        assert_eq!(at(0, 1), 127.0);
        // Fully transparent (black) pixels become white.
        assert_eq!(at(2, 2), 255.0);
        assert_eq!(input.len(), 3 * plane);
    }

    #[test]
    fn landscape_images_are_cropped_to_the_centre() {
        // Left third red, middle third green, right third blue; 672 × 224 keeps its height.
        let img = RgbaImage::from_fn(672, 224, |x, _| match x / 224 {
            0 => Rgba([255, 0, 0, 255]),
            1 => Rgba([0, 255, 0, 255]),
            _ => Rgba([0, 0, 255, 255]),
        });
        let input = lite0_pixels(img);
        let plane = 224 * 224;
        assert!(input[plane..2 * plane].iter().all(|&v| v == 255.0));
    }

    /// The crop's size is the asked one, and ResNet-50 gets ImageNet mean / std per RGB channel:
    /// (10 − 123.675) / 58.395, (20 − 116.28) / 57.12, (30 − 103.53) / 57.375.
    #[test]
    fn crop_size_and_resnet_normalisation() {
        let img = DynamicImage::ImageRgba8(RgbaImage::from_pixel(50, 30, Rgba([10, 20, 30, 255])));
        let input = to_input(&img, Resize::Crop, 16, BackboneKind::Resnet50);
        assert_eq!(input.len(), 3 * 16 * 16);
        let expected = [-1.946_656_4_f32, -1.685_574_4, -1.281_568_6];
        for (c, want) in expected.into_iter().enumerate() {
            let plane = &input[c * 256..(c + 1) * 256];
            assert!(
                plane.iter().all(|&v| (v - want).abs() < 1e-6),
                "{c}: {}",
                plane[0]
            );
        }
        let lite0 = to_input(&img, Resize::Crop, 16, LITE0);
        assert_eq!(lite0[0], (10.0 - 127.0) / 128.0);
    }

    /// `stretch` is the augmentation's test transform, whatever the backbone (each maps it to its own
    /// scale in the network); a 50 × 30 image becomes 8 × 8 without cropping.
    #[test]
    fn stretch_is_the_test_transform() {
        let img = DynamicImage::ImageRgba8(RgbaImage::from_fn(50, 30, |x, y| {
            Rgba([(5 * x) as u8, (7 * y) as u8, 100, 255])
        }));
        for backbone in [LITE0, BackboneKind::Resnet50] {
            let input = to_input(&img, Resize::Stretch, 8, backbone);
            assert_eq!(input, test_transform(&img, 8));
        }
        // Half-pixel centres: output column j samples x = (j + 0.5) · 50 / 8 − 0.5, where red is 5x; the
        // first and last columns are 2.625 and 46.375, red 13.125 and 231.875 (no crop).
        let red = test_transform(&img, 8);
        for (j, x) in [(0, 2.625), (7, 46.375)] {
            let want = (5.0 * x - augment::MEAN[0]) / augment::STD[0];
            assert!((red[j] - want).abs() < 1e-5, "{j}: {} vs {want}", red[j]);
        }
    }

    #[test]
    fn resize_names_and_defaults() {
        for resize in Resize::ALL {
            assert_eq!(resize.name().parse::<Resize>().unwrap(), resize);
        }
        let err = "fit".parse::<Resize>().unwrap_err().to_string();
        assert!(
            err.contains("`fit`") && err.contains("crop or stretch"),
            "{err}"
        );
        assert_eq!(Resize::default_for(LITE0), Resize::Crop);
        assert_eq!(Resize::default_for(BackboneKind::Resnet50), Resize::Stretch);
    }

    #[test]
    fn missing_and_corrupt_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.png");
        let err = decode(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.png"), "{err}");
        let corrupt = dir.path().join("corrupt.jpg");
        std::fs::write(&corrupt, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
        let err = decode(&corrupt).unwrap_err().to_string();
        assert!(
            err.contains("corrupt.jpg") && err.lines().count() == 1,
            "{err}"
        );
    }
}
