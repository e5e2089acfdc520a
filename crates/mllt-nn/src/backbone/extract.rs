//! Turning an image folder into a feature dataset ([`FeatureDataset`]) with a frozen backbone
//! ([`Extractor`]: the backbone and the preprocessing of its inputs).
//!
//! An image folder holds `classes.txt`, `train.tsv` and `test.tsv` in the label format of
//! [`crate::features`], plus `images/`: each TSV id is an image's file name relative to `images/`
//! (PNG or JPEG). The features of each split are in the order of its TSV.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use mllt_core::LabelSet;
use mllt_core::labels::read_classes;
use rayon::prelude::*;

use super::preprocess::{self, Resize};
use super::{BackboneError, Result};
use crate::features::{CLASSES_FILE, FeatureDataset, FeatureSplit, TEST_FILE, TRAIN_FILE};
use crate::model::{Backbone, BackboneKind};

/// Folder of the images inside an image folder.
pub const IMAGES_DIR: &str = "images";
/// Images per forward pass by default.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// An image folder's labels; the images themselves are read during extraction.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFolder {
    pub root: PathBuf,
    pub train: LabelSet,
    pub test: LabelSet,
}

impl ImageFolder {
    /// Reads `classes.txt`, `train.tsv` and `test.tsv` of the folder `root` and checks that every image
    /// exists, so that a missing one is reported before any extraction starts.
    pub fn read(root: &Path) -> Result<ImageFolder> {
        let classes = read_classes(&root.join(CLASSES_FILE))?;
        let folder = ImageFolder {
            root: root.into(),
            train: LabelSet::read_tsv(&root.join(TRAIN_FILE), classes.clone())?,
            test: LabelSet::read_tsv(&root.join(TEST_FILE), classes)?,
        };
        for split in [&folder.train, &folder.test] {
            if let Some(missing) = folder.image_paths(split).into_iter().find(|p| !p.is_file()) {
                let source = std::io::Error::new(ErrorKind::NotFound, "no such image file");
                return Err(BackboneError::io(missing, source));
            }
        }
        Ok(folder)
    }

    /// The image files of a split, in TSV order.
    pub fn image_paths(&self, split: &LabelSet) -> Vec<PathBuf> {
        let images = self.root.join(IMAGES_DIR);
        split.ids().iter().map(|id| images.join(id)).collect()
    }
}

/// A frozen backbone with the way its inputs are made: images resized to `size × size` by `resize`
/// ([`preprocess`]).
#[derive(Debug)]
pub struct Extractor {
    backbone: Backbone,
    resize: Resize,
    size: usize,
}

impl Extractor {
    /// `backbone` fed `size × size` inputs made by `resize`; a zero size is an error.
    pub fn new(backbone: Backbone, resize: Resize, size: usize) -> Result<Extractor> {
        if size == 0 {
            return Err(BackboneError::Invalid(
                "the image size must be positive".into(),
            ));
        }
        Ok(Extractor {
            backbone,
            resize,
            size,
        })
    }

    /// Which backbone extracts.
    pub fn kind(&self) -> BackboneKind {
        self.backbone.kind()
    }

    /// Dimension of the features.
    pub fn dim(&self) -> usize {
        self.kind().feature_dim()
    }

    /// Side of the square network input.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The network input of the image file at `path`: `[3, size, size]` values, CHW
    /// ([`preprocess::to_input`]).
    pub fn load(&self, path: &Path) -> Result<Vec<f32>> {
        let image = preprocess::decode(path)?;
        Ok(preprocess::to_input(
            &image,
            self.resize,
            self.size,
            self.kind(),
        ))
    }

    /// Pooled features `[N, dim]` of inputs `[N, 3, size, size]` made by [`load`](Self::load): a crop is
    /// already in the backbone's own scale, a stretched image is ImageNet-normalised and goes through the
    /// same map to that scale as in fine-tuning ([`Backbone::features`]).
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        match self.resize {
            Resize::Crop => self.backbone.own_scale_features(images),
            Resize::Stretch => self.backbone.features(images),
        }
    }
}

/// The `[N, dim]` row-major features of the images at `paths`, in order, `batch_size` images at a time;
/// `progress` gets the number of images done after each batch. The first missing or corrupt image (in
/// `paths` order) stops the extraction.
///
/// The images of a batch are decoded in parallel on rayon's threads, then go through the model in one
/// forward pass whose operations use every thread. An image's features do not depend on the batch it is in.
pub fn extract_features(
    extractor: &Extractor,
    paths: &[PathBuf],
    batch_size: usize,
    device: &Device,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<f32>> {
    crate::retain_freed_memory();
    let size = extractor.size();
    let mut features = Vec::with_capacity(paths.len() * extractor.dim());
    for batch in paths.chunks(batch_size.max(1)) {
        let decoded: Vec<Result<Vec<f32>>> =
            batch.par_iter().map(|path| extractor.load(path)).collect();
        let mut inputs = Vec::with_capacity(batch.len() * 3 * size * size);
        for image in decoded {
            inputs.extend(image?);
        }
        let shape = [batch.len(), 3, size, size];
        let images = Tensor::<4>::from_data(TensorData::new(inputs, shape), device);
        features.extend(extractor.features(images).into_data().iter::<f32>());
        progress(batch.len());
    }
    Ok(features)
}

/// The feature dataset of an image folder: its labels and the backbone features of both splits.
pub fn extract_folder(
    folder: &ImageFolder,
    extractor: &Extractor,
    batch_size: usize,
    device: &Device,
    progress: &mut dyn FnMut(usize),
) -> Result<FeatureDataset> {
    let mut split = |labels: &LabelSet| -> Result<FeatureSplit> {
        let paths = folder.image_paths(labels);
        Ok(FeatureSplit {
            labels: labels.clone(),
            features: extract_features(extractor, &paths, batch_size, device, progress)?,
            dim: extractor.dim(),
        })
    };
    Ok(FeatureDataset {
        train: split(&folder.train)?,
        test: split(&folder.test)?,
    })
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;
    use crate::model::BackboneWeights;

    /// Features of the image files `paths` (one batch) with `backbone`, `resize` and `size`.
    fn features(backbone: &Backbone, resize: Resize, size: usize, paths: &[PathBuf]) -> Vec<f32> {
        let extractor = Extractor::new(backbone.clone(), resize, size).unwrap();
        extract_features(&extractor, paths, paths.len(), &Device::flex(), &mut |_| ()).unwrap()
    }

    /// Equal up to `tolerance` times the largest magnitude of `a` (randomly initialised Lite0 features
    /// are around 10⁻⁹).
    fn close(a: &[f32], b: &[f32], tolerance: f32) -> bool {
        let scale = a.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= tolerance * scale)
    }

    /// An opaque `size × size` image is used as it is by both resizes, so `crop` (the backbone's own scale)
    /// and `stretch` (ImageNet-normalised, then mapped by the backbone) give the same features up to float
    /// rounding: for Lite0 this checks that stretched inputs reach its `(v − 127) / 128` scale. A 40 × 24
    /// image is cropped by one and squeezed by the other: different features.
    #[test]
    fn crop_and_stretch_agree_on_square_images_only() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = |w: u32, h: u32| {
            RgbImage::from_fn(w, h, |x, y| {
                Rgb([
                    (9 * x + 3 * y) as u8,
                    (200 - 5 * y) as u8,
                    (17 * (x ^ y)) as u8,
                ])
            })
        };
        let square = dir.path().join("square.png");
        let wide = dir.path().join("wide.png");
        pattern(24, 24).save(&square).unwrap();
        pattern(40, 24).save(&wide).unwrap();
        let device = Device::flex();
        device.seed(3);
        for kind in BackboneKind::ALL {
            let backbone = Backbone::new(kind, &BackboneWeights::Random, &device).unwrap();
            let crop = features(&backbone, Resize::Crop, 24, &[square.clone(), wide.clone()]);
            let stretch = features(
                &backbone,
                Resize::Stretch,
                24,
                &[square.clone(), wide.clone()],
            );
            let dim = kind.feature_dim();
            assert_eq!(crop.len(), 2 * dim);
            assert!(close(&crop[..dim], &stretch[..dim], 1e-4), "{kind:?}");
            assert!(!close(&crop[dim..], &stretch[dim..], 1e-2), "{kind:?}");
        }
    }

    #[test]
    fn a_zero_image_size_is_refused() {
        let backbone = Backbone::new(
            BackboneKind::EfficientnetLite0,
            &BackboneWeights::Random,
            &Device::flex(),
        )
        .unwrap();
        let err = Extractor::new(backbone, Resize::Crop, 0).unwrap_err();
        assert_eq!(err.to_string(), "the image size must be positive");
    }
}
