//! Image preprocessing for EfficientNet-Lite: decode (PNG, JPEG), composite transparency on white, resize
//! the shorter side to 224 (antialiased bilinear), centre-crop 224 × 224 and scale each channel as the
//! TensorFlow EfficientNet-Lite reference does, `(v − 127) / 128` on 0–255 values. An image that is already
//! 224 × 224 is used as it is.

use std::path::Path;

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageReader, RgbImage};

use super::{BackboneError, Result};

/// Side of the square network input, in pixels.
pub const INPUT_SIZE: usize = 224;
/// Per-channel mean subtracted from 0–255 values (TF EfficientNet-Lite `MEAN_RGB`).
pub const MEAN: f32 = 127.0;
/// Per-channel divisor applied after the mean (TF EfficientNet-Lite `STDDEV_RGB`).
pub const STD: f32 = 128.0;

/// Decodes the image at `path` into a network input: `[3, 224, 224]` f32 values, channel-major (CHW).
/// A missing file or an undecodable one is an error that names the file.
pub fn load(path: &Path) -> Result<Vec<f32>> {
    let decoded = ImageReader::open(path)
        .map_err(|e| BackboneError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| BackboneError::io(path, e))?
        .decode()
        .map_err(|e| BackboneError::Image {
            path: path.into(),
            message: e.to_string(),
        })?;
    Ok(to_input(&decoded))
}

/// Turns a decoded image into a network input: `[3, 224, 224]` f32 values, channel-major (CHW).
pub fn to_input(image: &DynamicImage) -> Vec<f32> {
    let square = center_square(&on_white(image));
    let plane = INPUT_SIZE * INPUT_SIZE;
    let mut input = vec![0.0; 3 * plane];
    for (k, pixel) in square.pixels().enumerate() {
        for (c, &v) in pixel.0.iter().enumerate() {
            input[c * plane + k] = (f32::from(v) - MEAN) / STD;
        }
    }
    input
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

/// The shorter side resized to [`INPUT_SIZE`], then the centred `INPUT_SIZE`² crop.
fn center_square(rgb: &RgbImage) -> RgbImage {
    let size = INPUT_SIZE as u32;
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

    #[test]
    fn transparent_pixels_become_white_and_opaque_ones_stay() {
        let mut img = RgbaImage::new(224, 224);
        img.put_pixel(0, 0, Rgba([10, 20, 30, 255]));
        img.put_pixel(1, 0, Rgba([0, 0, 0, 128]));
        let input = to_input(&DynamicImage::ImageRgba8(img));
        let plane = INPUT_SIZE * INPUT_SIZE;
        let at = |c: usize, k: usize| input[c * plane + k] * STD + MEAN;
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
        let input = to_input(&DynamicImage::ImageRgba8(img));
        let plane = INPUT_SIZE * INPUT_SIZE;
        let green = input[plane..2 * plane]
            .iter()
            .all(|&v| v * STD + MEAN == 255.0);
        assert!(green);
    }

    #[test]
    fn missing_and_corrupt_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.png");
        let err = load(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.png"), "{err}");
        let corrupt = dir.path().join("corrupt.jpg");
        std::fs::write(&corrupt, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
        let err = load(&corrupt).unwrap_err().to_string();
        assert!(
            err.contains("corrupt.jpg") && err.lines().count() == 1,
            "{err}"
        );
    }
}
