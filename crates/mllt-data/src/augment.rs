//! The image transforms of the paper's reference pipeline, on f32 pixels.
//!
//! The official Distribution-Balanced Loss code (`wutong16/DistributionBalancedLoss`, built on mmdet 1.x and
//! mmcv) reads each image with `mmcv.imread` (8-bit BGR) and, for training, runs
//! (`mllt/datasets/custom.py`, `CustomDataset.prepare_train_img`):
//!
//! 1. `ExtraAugmentation` (`mllt/datasets/extra_aug.py`): the image becomes float32, then
//!    `PhotoMetricDistortion(brightness_delta=32, contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
//!    hue_delta=18)` ([`PhotometricParams`]) and `RandomCrop(min_crop_size=0.8)` ([`random_crop_box`]);
//! 2. `ImageTransform` (`mllt/datasets/transforms.py`) with `keep_ratio=False`: `mmcv.imresize` to the fixed
//!    scale, bilinear ([`resize_bilinear`]); `mmcv.imnormalize` with the ImageNet [`MEAN`] and [`STD`] after
//!    BGR → RGB ([`normalise`]); `mmcv.imflip` when `np.random.rand() < flip_ratio = 0.5` ([`hflip_chw`]);
//!    transpose to CHW.
//!
//! The test pipeline is the resize and the normalisation only ([`test_transform`]).
//!
//! Pixels live in a [`BgrImage`]: interleaved HWC, BGR, f32 in 0..=255 as decoded (the photometric step may
//! leave that range: the reference does not clip). The output of both transforms is CHW, RGB, normalised,
//! `3 · size · size` values.
//!
//! Randomness: every random draw of one training item comes from one RNG passed in; [`item_rng`] gives the
//! ChaCha8 stream of an item from `(seed, epoch, position in the epoch)`, so an augmented batch does not depend
//! on thread scheduling. The draws follow the reference's order but not numpy's generator, so the values differ
//! from a Python run; the distributions are the same.

use image::DynamicImage;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Per-channel mean of `img_norm_cfg`, RGB order (ImageNet statistics on the 0..=255 scale).
pub const MEAN: [f32; 3] = [123.675, 116.28, 103.53];
/// Per-channel standard deviation of `img_norm_cfg`, RGB order.
pub const STD: [f32; 3] = [58.395, 57.12, 57.375];
/// The reference's `img_scale=(224, 224)`.
pub const DEFAULT_SIZE: usize = 224;

/// `PhotoMetricDistortion.brightness_delta`: the brightness shift is uniform in `[-32, 32)`.
pub const BRIGHTNESS_DELTA: f64 = 32.0;
/// `PhotoMetricDistortion.contrast_range`: the contrast factor is uniform in `[0.5, 1.5)`.
pub const CONTRAST_RANGE: (f64, f64) = (0.5, 1.5);
/// `PhotoMetricDistortion.saturation_range`: the saturation factor is uniform in `[0.5, 1.5)`.
pub const SATURATION_RANGE: (f64, f64) = (0.5, 1.5);
/// `PhotoMetricDistortion.hue_delta`: the hue shift, in degrees, is uniform in `[-18, 18)`.
pub const HUE_DELTA: f64 = 18.0;
/// `RandomCrop.min_crop_size` of the reference configs: each side keeps at least 80 %.
pub const MIN_CROP_SIZE: f64 = 0.8;
/// `RandomCrop` gives up after this many rejected crops and keeps the whole image.
pub const CROP_TRIES: usize = 50;
/// `flip_ratio` of the reference configs.
pub const FLIP_RATIO: f64 = 0.5;

/// Which pipeline an item goes through, at what output size, and the seed of the training randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AugmentConfig {
    /// The output is `size × size` pixels.
    pub size: usize,
    /// The training pipeline ([`train_transform`]) or the test pipeline ([`test_transform`]).
    pub train: bool,
    /// The seed of [`item_rng`]; unused by the test pipeline.
    pub seed: u64,
}

impl AugmentConfig {
    /// The training pipeline at `size` with the randomness of `seed`.
    pub fn train(size: usize, seed: u64) -> Self {
        Self {
            size,
            train: true,
            seed,
        }
    }

    /// The deterministic test pipeline at `size`.
    pub fn test(size: usize) -> Self {
        Self {
            size,
            train: false,
            seed: 0,
        }
    }

    /// The transformed item at `position` of `epoch`: CHW, RGB, normalised, `3 · size · size` values.
    pub fn apply(&self, img: &DynamicImage, epoch: u64, position: u64) -> Vec<f32> {
        if self.train {
            train_transform(img, self.size, &mut item_rng(self.seed, epoch, position))
        } else {
            test_transform(img, self.size)
        }
    }
}

/// The random stream of the item at `position` (0-based, in the order the epoch visits items) of `epoch`.
///
/// ChaCha8 keyed by the 32 bytes `seed.to_le_bytes() ‖ epoch.to_le_bytes() ‖ 0…0`, on stream `position`:
/// each `(seed, epoch)` is its own key and each position its own 2⁶⁴-block stream, with no truncation or
/// hashing of either number. The augmentation of an item therefore depends only on these three numbers, not on
/// which thread transforms it or when.
pub fn item_rng(seed: u64, epoch: u64, position: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&epoch.to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(position);
    rng
}

/// The training pipeline of the reference: photometric distortion, random crop, resize to `size × size`,
/// normalisation, horizontal flip with probability [`FLIP_RATIO`]. CHW, RGB, `3 · size · size` values.
/// [`TrainDraws::sample`] then [`TrainDraws::apply`].
pub fn train_transform(img: &DynamicImage, size: usize, rng: &mut impl Rng) -> Vec<f32> {
    TrainDraws::sample(img.width() as usize, img.height() as usize, rng).apply(img, size)
}

/// Every random choice of the training pipeline for one item: given these, [`TrainDraws::apply`] is
/// deterministic, which is how the pipeline is compared with the reference's OpenCV/numpy code for fixed draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainDraws {
    pub photometric: PhotometricParams,
    /// The box `RandomCrop` keeps, inside the image.
    pub crop: CropBox,
    /// Whether the output is mirrored left–right.
    pub flip: bool,
}

impl TrainDraws {
    /// The draws for a `width × height` image in the reference's order: photometric parameters, crop box,
    /// flip coin (`u < FLIP_RATIO`, `u` uniform in `[0, 1)`).
    pub fn sample(width: usize, height: usize, rng: &mut impl Rng) -> Self {
        let photometric = PhotometricParams::sample(rng);
        let crop = random_crop_box(width, height, MIN_CROP_SIZE, rng);
        let flip = rng.random::<f64>() < FLIP_RATIO;
        Self {
            photometric,
            crop,
            flip,
        }
    }

    /// Distortion, crop, resize to `size × size`, normalisation and flip with these draws. CHW, RGB,
    /// `3 · size · size` values.
    ///
    /// The photometric distortion is per pixel, so it is applied to the cropped region only (the same pixels as
    /// distorting the whole image and cropping after, as the reference does).
    pub fn apply(&self, img: &DynamicImage, size: usize) -> Vec<f32> {
        let mut region = BgrImage::from_image_region(img, self.crop);
        self.photometric.apply(&mut region.data);
        let mut out = normalise(&resize_bilinear(&region, size, size));
        if self.flip {
            hflip_chw(&mut out, size);
        }
        out
    }
}

/// The test pipeline of the reference: resize to `size × size` and normalise. CHW, RGB, `3 · size · size`
/// values.
pub fn test_transform(img: &DynamicImage, size: usize) -> Vec<f32> {
    normalise(&resize_bilinear(&BgrImage::from_image(img), size, size))
}

/// An image as interleaved f32 BGR pixels (HWC, the layout of an OpenCV/mmcv image), 0..=255 as decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct BgrImage {
    pub width: usize,
    pub height: usize,
    /// `height · width · 3` values, row by row, each pixel `[b, g, r]`.
    pub data: Vec<f32>,
}

impl BgrImage {
    /// The whole decoded image; see [`BgrImage::from_image_region`].
    pub fn from_image(img: &DynamicImage) -> Self {
        let (width, height) = (img.width() as usize, img.height() as usize);
        Self::from_image_region(img, CropBox::full(width, height))
    }

    /// The pixels of `region` (clamped to the image) as BGR f32 on the 0..=255 scale.
    ///
    /// A grey image gives three equal channels; an image with alpha is composited on white
    /// (`c · a + 255 · (1 − a)`), so transparent backgrounds (rendered clipart) become white rather than the
    /// black that dropping the alpha channel would give. 16-bit and float images are scaled to 0..=255.
    pub fn from_image_region(img: &DynamicImage, region: CropBox) -> Self {
        let (width, height) = (img.width() as usize, img.height() as usize);
        let region = region.clamped(width, height);
        match img {
            DynamicImage::ImageRgb8(rgb) => Self::from_raw(rgb.as_raw(), 3, width, region, |p| {
                [f32::from(p[2]), f32::from(p[1]), f32::from(p[0])]
            }),
            DynamicImage::ImageLuma8(grey) => {
                Self::from_raw(grey.as_raw(), 1, width, region, |p| [f32::from(p[0]); 3])
            }
            DynamicImage::ImageRgba8(rgba) => {
                Self::from_raw(rgba.as_raw(), 4, width, region, |p| {
                    let a = f32::from(p[3]);
                    let white = 255.0 * (255.0 - a);
                    let on_white = |c: u8| (f32::from(c) * a + white) / 255.0;
                    [on_white(p[2]), on_white(p[1]), on_white(p[0])]
                })
            }
            _ if img.color().bytes_per_pixel() == img.color().channel_count() => {
                Self::from_image_region(&DynamicImage::ImageRgba8(img.to_rgba8()), region)
            }
            _ => Self::from_raw(img.to_rgba32f().as_raw(), 4, width, region, |p| {
                let on_white = |c: f32| (c * p[3] + 1.0 - p[3]) * 255.0;
                [on_white(p[2]), on_white(p[1]), on_white(p[0])]
            }),
        }
    }

    /// The `region` of a row-major buffer of `channels`-sample pixels, `width` pixels a row.
    fn from_raw<T>(
        raw: &[T],
        channels: usize,
        width: usize,
        region: CropBox,
        to_bgr: impl Fn(&[T]) -> [f32; 3],
    ) -> Self {
        let (w, h) = (region.width(), region.height());
        let mut data = vec![0.0f32; w * h * 3];
        if w > 0 {
            for (y, out) in (region.top..region.bottom).zip(data.chunks_exact_mut(w * 3)) {
                let row = &raw
                    [(y * width + region.left) * channels..(y * width + region.right) * channels];
                for (p, o) in row.chunks_exact(channels).zip(out.chunks_exact_mut(3)) {
                    o.copy_from_slice(&to_bgr(p));
                }
            }
        }
        Self {
            width: w,
            height: h,
            data,
        }
    }
}

/// The random draws of one `PhotoMetricDistortion` call; `None` where the reference's coin said "skip".
///
/// `Default` is the identity draw (all steps skipped), which still goes BGR → HSV → BGR like the reference.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PhotometricParams {
    /// Added to every channel (`img += delta`).
    pub brightness: Option<f32>,
    /// The reference's `mode == 1`: contrast before the HSV round trip, otherwise after it.
    pub contrast_first: bool,
    /// Every channel is multiplied by it (`img *= alpha`).
    pub contrast: Option<f32>,
    /// S is multiplied by it.
    pub saturation: Option<f32>,
    /// Added to H in degrees, which is then wrapped back by ±360.
    pub hue: Option<f32>,
    /// A permutation of `0..3`: output channel `i` is input channel `order[i]` (`img[..., order]`).
    pub channel_order: Option<[usize; 3]>,
}

impl PhotometricParams {
    /// Draws the parameters in the reference's order: brightness coin (and delta), mode, contrast when
    /// `mode == 1`, saturation, hue, contrast when `mode == 0`, channel-swap coin (and permutation).
    pub fn sample(rng: &mut impl Rng) -> Self {
        let brightness = maybe_uniform(rng, -BRIGHTNESS_DELTA, BRIGHTNESS_DELTA);
        let contrast_first = rng.random_bool(0.5);
        let early_contrast = if contrast_first {
            maybe_uniform(rng, CONTRAST_RANGE.0, CONTRAST_RANGE.1)
        } else {
            None
        };
        let saturation = maybe_uniform(rng, SATURATION_RANGE.0, SATURATION_RANGE.1);
        let hue = maybe_uniform(rng, -HUE_DELTA, HUE_DELTA);
        let contrast = if contrast_first {
            early_contrast
        } else {
            maybe_uniform(rng, CONTRAST_RANGE.0, CONTRAST_RANGE.1)
        };
        let channel_order = rng.random_bool(0.5).then(|| {
            let mut order = [0, 1, 2];
            order.shuffle(rng);
            order
        });
        Self {
            brightness,
            contrast_first,
            contrast,
            saturation,
            hue,
            channel_order,
        }
    }

    /// Distorts interleaved BGR pixels in place, without clipping, as `PhotoMetricDistortion.__call__`.
    ///
    /// A skipped step is run as its neutral value (`+ 0`, `· 1`, identity order), which leaves every finite
    /// value unchanged; the loop body then has no branches, so the compiler can vectorise it.
    pub fn apply(&self, bgr: &mut [f32]) {
        let delta = self.brightness.unwrap_or(0.0);
        let alpha = self.contrast.unwrap_or(1.0);
        let (before, after) = if self.contrast_first {
            (alpha, 1.0)
        } else {
            (1.0, alpha)
        };
        let saturation = self.saturation.unwrap_or(1.0);
        let hue = self.hue.unwrap_or(0.0);
        let order = self.channel_order.unwrap_or([0, 1, 2]).map(|i| i as i32);
        for px in bgr.chunks_exact_mut(3) {
            let [h, s, v] = bgr_to_hsv([px[0], px[1], px[2]].map(|c| (c + delta) * before));
            let mut h = h + hue;
            if h > 360.0 {
                h -= 360.0;
            }
            if h < 0.0 {
                h += 360.0;
            }
            // `h` is in [0, 360] here: no `fmod` needed.
            let out = sector_to_bgr(h * (6.0 / 360.0), s * saturation, v).map(|c| c * after);
            px.copy_from_slice(&order.map(|i| select(&out, i)));
        }
    }
}

/// numpy's `uniform(low, high)`: `low + (high − low) · u`, `u` uniform in `[0, 1)`; also right when
/// `high < low`, which `RandomCrop` relies on.
fn uniform(rng: &mut impl Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// `if random.randint(2): uniform(low, high)`.
fn maybe_uniform(rng: &mut impl Rng, low: f64, high: f64) -> Option<f32> {
    rng.random_bool(0.5).then(|| uniform(rng, low, high) as f32)
}

/// OpenCV's float `COLOR_BGR2HSV` (what `mmcv.bgr2hsv` calls on float32): H in degrees `[0, 360]`, S in
/// `[0, 1]` for non-negative input, V the largest channel; `FLT_EPSILON` guards the divisions, all in f32, as
/// in OpenCV's `RGB2HSV_f` (its SIMD branch; the scalar one takes `60 / (diff + ε)` in double).
///
/// OpenCV's AVX2 build of that branch fuses `h · k + offset` into one rounding; here the product is rounded
/// first (FMA is not in x86-64's baseline, and `mul_add` without it is a slow library call), so H can differ by
/// an ulp: at most 3e-5° on the photos of `tests/augment_opencv.rs`. S and V are bit for bit OpenCV's.
#[inline(always)]
pub fn bgr_to_hsv([b, g, r]: [f32; 3]) -> [f32; 3] {
    // OpenCV's comparisons, which compile to plain `max`/`min` instructions.
    let v = if r < g { g } else { r };
    let v = if v < b { b } else { v };
    let vmin = if r > g { g } else { r };
    let vmin = if vmin > b { b } else { vmin };
    let diff = v - vmin;
    let s = diff / (v.abs() + f32::EPSILON);
    let k = 60.0 / (diff + f32::EPSILON);
    let h = if v == r {
        (g - b) * k
    } else if v == g {
        (b - r) * k + 120.0
    } else {
        (r - g) * k + 240.0
    };
    [if h < 0.0 { h + 360.0 } else { h }, s, v]
}

/// OpenCV's float `COLOR_HSV2BGR` (`mmcv.hsv2bgr`, `HSV2RGB_f`): H in degrees, any value, taken modulo 360.
///
/// OpenCV's AVX2 build fuses `1 − s · h` into one rounding; here the product is rounded first (see
/// [`bgr_to_hsv`]), so a channel can differ from OpenCV's by an ulp: at most 2.3e-5 on the 0..=255 scale on the
/// photos of `tests/augment_opencv.rs`.
pub fn hsv_to_bgr([h, s, v]: [f32; 3]) -> [f32; 3] {
    let mut h = h * (6.0 / 360.0);
    if !(0.0..6.0).contains(&h) {
        h %= 6.0;
        if h < 0.0 {
            h += 6.0;
        }
    }
    sector_to_bgr(h, s, v)
}

/// The body of OpenCV's `HSV2RGB_native` for `h` in sixths of a turn, in `[0, 12)`, where the reduction modulo
/// 6 is exact without `fmod`. Branch-free (selects instead of OpenCV's table look-up by sector) so that
/// [`PhotometricParams::apply`] vectorises.
#[inline(always)]
fn sector_to_bgr(h: f32, s: f32, v: f32) -> [f32; 3] {
    /// OpenCV's `sector_data`: for each 60° sector, which of `tab` is b, g and r.
    const SECTORS: [[i32; 3]; 6] = [
        [1, 3, 0],
        [1, 0, 2],
        [3, 0, 1],
        [0, 2, 1],
        [0, 1, 3],
        [2, 1, 0],
    ];
    let h = if h >= 6.0 { h - 6.0 } else { h };
    // `h ≥ 0`, so truncation is OpenCV's `cvFloor`. (`i32`, not `usize`: 32-bit lanes vectorise.)
    let sector = (h as i32).clamp(0, 5);
    let h = h - sector as f32;
    let tab = [
        v,
        v * (1.0 - s),
        v * (1.0 - s * h),
        v * (1.0 - s * (1.0 - h)),
    ];
    let bgr = SECTORS.iter().zip(0..).fold(
        SECTORS[0],
        |picked, (&row, i)| if sector == i { row } else { picked },
    );
    if s == 0.0 {
        [v; 3]
    } else {
        bgr.map(|i| select(&tab, i))
    }
}

/// `values[i]` as a chain of selects: indexing a small array of computed values by a runtime index goes
/// through the stack (a store-forwarding stall per pixel), selects stay in registers. `values[0]` when `i` is
/// out of range.
#[inline(always)]
fn select(values: &[f32], i: i32) -> f32 {
    values
        .iter()
        .zip(0..)
        .fold(values[0], |picked, (&x, j)| if i == j { x } else { picked })
}

/// A pixel rectangle `[left, right) × [top, bottom)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    pub left: usize,
    pub top: usize,
    pub right: usize,
    pub bottom: usize,
}

impl CropBox {
    /// The whole `width × height` image.
    pub fn full(width: usize, height: usize) -> Self {
        Self {
            left: 0,
            top: 0,
            right: width,
            bottom: height,
        }
    }

    pub fn width(&self) -> usize {
        self.right - self.left
    }

    pub fn height(&self) -> usize {
        self.bottom - self.top
    }

    /// The box cut to `width × height` (as numpy slicing does), keeping `left ≤ right` and `top ≤ bottom`.
    pub fn clamped(self, width: usize, height: usize) -> Self {
        let (right, bottom) = (self.right.min(width), self.bottom.min(height));
        Self {
            left: self.left.min(right),
            top: self.top.min(bottom),
            right,
            bottom,
        }
    }
}

/// `RandomCrop(min_crop_size)` of the reference on a `width × height` image.
///
/// Up to [`CROP_TRIES`] times: `w' ~ U(min · w, w)`, `h' ~ U(min · h, h)`; rejected unless `h'/w' ∈ [0.5, 2]`;
/// then `left = uniform(w − w')` and `top = uniform(h − h')`, numpy's one-argument `uniform(low)` whose `high`
/// is 1.0 (a value between `w − w'` and 1), and the box `[int(left), int(top), int(left + w'), int(top + h')]`.
/// When every try is rejected the whole image is kept. The box is cut to the image as numpy slicing does, and
/// kept at least one pixel wide and high on a non-empty image (the reference's slice could come out empty on a
/// 1-pixel side).
pub fn random_crop_box(
    width: usize,
    height: usize,
    min_crop_size: f64,
    rng: &mut impl Rng,
) -> CropBox {
    let (w, h) = (width as f64, height as f64);
    for _ in 0..CROP_TRIES {
        let new_w = uniform(rng, min_crop_size * w, w);
        let new_h = uniform(rng, min_crop_size * h, h);
        let aspect = new_h / new_w;
        if !(0.5..=2.0).contains(&aspect) {
            continue;
        }
        let left = uniform(rng, w - new_w, 1.0);
        let top = uniform(rng, h - new_h, 1.0);
        let span = |start: f64, extent: f64, limit: usize| {
            let first = (start as usize).min(limit.saturating_sub(1));
            (
                first,
                ((start + extent) as usize).clamp(first + 1, limit.max(1)),
            )
        };
        let (left, right) = span(left, new_w, width);
        let (top, bottom) = span(top, new_h, height);
        return CropBox {
            left,
            top,
            right,
            bottom,
        }
        .clamped(width, height);
    }
    CropBox::full(width, height)
}

/// `cv2.resize(img, (width, height), interpolation=INTER_LINEAR)` on f32 BGR (what `mmcv.imresize` calls):
/// separable bilinear with half-pixel centres, source coordinate `(d + 0.5) · src/dst − 0.5`, clamped to the
/// edge pixels, horizontal pass then vertical pass, each output `a · (1 − f) + b · f` in f32, no anti-aliasing
/// when shrinking. Bit for bit OpenCV's own implementation (`resizeGeneric_`, checked against OpenCV 4.10 and
/// 5.0 in `tests/augment_opencv.rs`). OpenCV builds with Intel IPP (the pip wheels) hand float resizes of more
/// than one row to IPP instead, which computes the weights in double and interpolates as `a + (b − a) · f`: its
/// results differ from these by at most 3e-3 on the 0..=255 scale (scikit-image's photos to 224 × 224). Only the
/// source rows the vertical pass reads are resized horizontally. An empty source gives a black (all-zero) image.
pub fn resize_bilinear(img: &BgrImage, width: usize, height: usize) -> BgrImage {
    let mut data = vec![0.0f32; width * height * 3];
    if img.width == 0 || img.height == 0 || width == 0 || height == 0 {
        return BgrImage {
            width,
            height,
            data,
        };
    }
    let xs = linear_taps(img.width, width, true);
    let ys = linear_taps(img.height, height, false);
    let row_len = width * 3;
    // The source rows the vertical pass reads, each resized horizontally once into its slot of `rows`.
    let mut slot = vec![usize::MAX; img.height];
    let mut used = 0;
    for &(y0, y1, _) in &ys {
        for y in [y0, y1] {
            if slot[y] == usize::MAX {
                slot[y] = used;
                used += 1;
            }
        }
    }
    let mut rows = vec![0.0f32; used * row_len];
    for (y, &s) in slot.iter().enumerate().filter(|&(_, &s)| s != usize::MAX) {
        let src = &img.data[y * img.width * 3..(y + 1) * img.width * 3];
        let out = &mut rows[s * row_len..(s + 1) * row_len];
        for (o, &(x0, x1, f)) in out.chunks_exact_mut(3).zip(&xs) {
            let (a, b) = (&src[x0 * 3..x0 * 3 + 3], &src[x1 * 3..x1 * 3 + 3]);
            for c in 0..3 {
                o[c] = a[c] * (1.0 - f) + b[c] * f;
            }
        }
    }
    for (out, &(y0, y1, f)) in data.chunks_exact_mut(row_len).zip(&ys) {
        let a = &rows[slot[y0] * row_len..(slot[y0] + 1) * row_len];
        let b = &rows[slot[y1] * row_len..(slot[y1] + 1) * row_len];
        for ((o, &p), &q) in out.iter_mut().zip(a).zip(b) {
            *o = p * (1.0 - f) + q * f;
        }
    }
    BgrImage {
        width,
        height,
        data,
    }
}

/// For each of `dst` output positions: the two source indices and the weight of the second, as OpenCV's
/// `resize` computes them. `x = (d + 0.5) · scale − 0.5` in f64 with OpenCV's `scale = 1 / (dst / src)`, rounded
/// to f32; the indices are `⌊x⌋` and `⌊x⌋ + 1` clamped to the source, the weight `x − ⌊x⌋`. Where an index is
/// clamped, OpenCV's horizontal pass (`clamp_weight`) also sets the weight to 0; its vertical pass keeps it, so
/// an edge row is `row · (1 − f) + row · f`, which can differ from `row` by an ulp.
fn linear_taps(src: usize, dst: usize, clamp_weight: bool) -> Vec<(usize, usize, f32)> {
    let scale = 1.0 / (dst as f64 / src as f64);
    let last = src as f64 - 1.0;
    (0..dst)
        .map(|d| {
            let x = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let floor = x.floor();
            let f = x - floor;
            let clamp = |i: f32| f64::from(i).clamp(0.0, last) as usize;
            let edge = floor < 0.0 || f64::from(floor) >= last;
            let f = if edge && clamp_weight { 0.0 } else { f };
            (clamp(floor), clamp(floor + 1.0), f)
        })
        .collect()
}

/// `mmcv.imnormalize(img, MEAN, STD, to_rgb=True)` then `transpose(2, 0, 1)`: `(c − mean) / std` per RGB
/// channel, in f32 as the reference's float32 arrays, laid out CHW with R first.
pub fn normalise(img: &BgrImage) -> Vec<f32> {
    let plane = img.width * img.height;
    let mut out = vec![0.0f32; 3 * plane];
    let (r, gb) = out.split_at_mut(plane);
    let (g, b) = gb.split_at_mut(plane);
    for (((px, r), g), b) in img.data.chunks_exact(3).zip(r).zip(g).zip(b) {
        *r = (px[2] - MEAN[0]) / STD[0];
        *g = (px[1] - MEAN[1]) / STD[1];
        *b = (px[0] - MEAN[2]) / STD[2];
    }
    out
}

/// `mmcv.imflip` (horizontal) on a CHW tensor whose rows are `width` values: every row reversed in place.
pub fn hflip_chw(chw: &mut [f32], width: usize) {
    if width > 0 {
        chw.chunks_exact_mut(width).for_each(<[f32]>::reverse);
    }
}
