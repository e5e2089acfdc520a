//! Turning an image folder into a feature dataset ([`FeatureDataset`]) with a frozen backbone.
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

use super::efficientnet_lite::{EfficientNetLite0, FEATURE_DIM};
use super::preprocess::{self, INPUT_SIZE};
use super::{BackboneError, Result};
use crate::features::{CLASSES_FILE, FeatureDataset, FeatureSplit, TEST_FILE, TRAIN_FILE};

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

/// The `[N, 1280]` row-major features of the images at `paths`, in order, `batch_size` images at a time;
/// `progress` gets the number of images done after each batch. The first missing or corrupt image stops
/// the extraction.
///
/// burn's Flex backend, as this workspace builds it (without its `rayon` feature), runs each operation on
/// one thread, so each batch is split into one part per rayon thread: every part is decoded and pushed
/// through the model on its own thread.
pub fn extract_features(
    model: &EfficientNetLite0,
    paths: &[PathBuf],
    batch_size: usize,
    device: &Device,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<f32>> {
    let mut features = Vec::with_capacity(paths.len() * FEATURE_DIM);
    for batch in paths.chunks(batch_size.max(1)) {
        let part_size = batch.len().div_ceil(rayon::current_num_threads());
        let parts = batch
            .par_chunks(part_size)
            .map(|part| part_features(model, part, device))
            .collect::<Result<Vec<_>>>()?;
        features.extend(parts.into_iter().flatten());
        progress(batch.len());
    }
    Ok(features)
}

/// Decodes the images at `paths` and returns their features, row-major, in one forward pass.
fn part_features(
    model: &EfficientNetLite0,
    paths: &[PathBuf],
    device: &Device,
) -> Result<Vec<f32>> {
    let mut inputs = Vec::with_capacity(paths.len() * 3 * INPUT_SIZE * INPUT_SIZE);
    for path in paths {
        inputs.extend(preprocess::load(path)?);
    }
    let shape = [paths.len(), 3, INPUT_SIZE, INPUT_SIZE];
    let images = Tensor::<4>::from_data(TensorData::new(inputs, shape), device);
    Ok(model.features(images).into_data().iter::<f32>().collect())
}

/// The feature dataset of an image folder: its labels and the backbone features of both splits.
pub fn extract_folder(
    folder: &ImageFolder,
    model: &EfficientNetLite0,
    batch_size: usize,
    device: &Device,
    progress: &mut dyn FnMut(usize),
) -> Result<FeatureDataset> {
    let mut split = |labels: &LabelSet| -> Result<FeatureSplit> {
        let paths = folder.image_paths(labels);
        Ok(FeatureSplit {
            labels: labels.clone(),
            features: extract_features(model, &paths, batch_size, device, progress)?,
            dim: FEATURE_DIM,
        })
    };
    Ok(FeatureDataset {
        train: split(&folder.train)?,
        test: split(&folder.test)?,
    })
}
