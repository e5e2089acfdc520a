//! Image datasets: the labels and image files of a train and a test split, read from PASCAL VOC
//! ([`crate::voc`]), MS-COCO ([`crate::coco`]) or an image folder, and the header check of every image.
//!
//! A dataset is named by an [`ImageSpec`]:
//!
//! | spec | train | test |
//! |---|---|---|
//! | `voc:ROOT` (a `VOC20XX` folder) | `ImageSets/Main/trainval.txt` | `ImageSets/Main/test.txt` |
//! | `voc-mlt:VOCDEVKIT` | the shipped VOC-MLT subset of `VOC2012` | `VOC2007` test |
//! | `coco:ROOT` | train2017 images with a positive class | all of val2017 |
//! | `coco-mlt:ROOT` | the shipped COCO-MLT subset of train2017 | all of val2017 |
//! | any other text: a folder | `train.tsv` | `test.tsv` |
//!
//! An image folder holds `classes.txt`, `train.tsv` and `test.tsv` (label TSVs, see [`mllt_core::labels`]) and
//! `images/`: each TSV id is an image's file name relative to `images/`.
//!
//! [`check_images`] reads every image's header (not its pixels) and applies the reference implementation's
//! train-time filter (`CustomDataset` of the paper's code): a training image with min(width, height) < 32 is
//! dropped. Test images are never filtered.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use mllt_core::LabelSet;
use mllt_core::labels::read_classes;
use rayon::prelude::*;

use crate::{coco, voc};

/// The class list of an image folder.
pub const CLASSES_FILE: &str = "classes.txt";
/// The training label TSV of an image folder.
pub const TRAIN_FILE: &str = "train.tsv";
/// The test label TSV of an image folder.
pub const TEST_FILE: &str = "test.tsv";
/// The folder of an image folder's images; TSV ids are file names relative to it.
pub const IMAGES_DIR: &str = "images";
/// Training images with a shorter side below this many pixels are dropped by [`check_images`].
pub const MIN_TRAIN_SIDE: u32 = 32;

/// An error of the image dataset readers: one line naming the file (and line or field) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ImageDataError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A text file has a malformed line.
    #[error("{path}:{line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A file is malformed as a whole, or at a named field.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// An image named by a split is missing or cannot be decoded.
    #[error("{path}: unreadable image: {message}")]
    Image { path: PathBuf, message: String },
    /// The labels read for an image of a shipped subset are not the shipped ones.
    #[error(
        "{path}: image `{id}` has labels [{found}] but [{expected}] in the shipped {dataset} subset (wrong folder?)"
    )]
    ShippedMismatch {
        path: PathBuf,
        id: String,
        dataset: &'static str,
        found: String,
        expected: String,
    },
    /// A dataset spec that names no dataset.
    #[error("dataset spec `{spec}`: {message}")]
    Spec { spec: String, message: String },
    /// An error of the core crate (label files), which names its file.
    #[error(transparent)]
    Core(#[from] mllt_core::Error),
}

impl ImageDataError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ImageDataError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn file(path: &Path, message: impl ToString) -> Self {
        ImageDataError::File {
            path: path.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn line(path: &Path, line: usize, message: impl ToString) -> Self {
        ImageDataError::Line {
            path: path.into(),
            line,
            message: message.to_string(),
        }
    }
}

/// Result with [`ImageDataError`].
pub type Result<T, E = ImageDataError> = std::result::Result<T, E>;

/// One split: the labels and, for each label row `k`, the image file `paths[k]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSplit {
    pub labels: LabelSet,
    pub paths: Vec<PathBuf>,
}

impl ImageSplit {
    /// A split whose image of id `id` is `dir/<id><suffix>`.
    pub fn from_ids(labels: LabelSet, dir: &Path, suffix: &str) -> ImageSplit {
        let paths = labels
            .ids()
            .iter()
            .map(|id| dir.join(format!("{id}{suffix}")))
            .collect();
        ImageSplit { labels, paths }
    }

    /// The rows at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> ImageSplit {
        ImageSplit {
            labels: self.labels.subset(indices),
            paths: indices.iter().map(|&k| self.paths[k].clone()).collect(),
        }
    }
}

/// A train and a test split over the same classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDataset {
    pub train: ImageSplit,
    pub test: ImageSplit,
}

impl ImageDataset {
    /// The dataset without the classes `drop` (column indices), in both splits.
    pub fn without_classes(self, drop: &[usize]) -> ImageDataset {
        let split = |s: ImageSplit| ImageSplit {
            labels: s.labels.without_classes(drop),
            paths: s.paths,
        };
        ImageDataset {
            train: split(self.train),
            test: split(self.test),
        }
    }
}

/// Where an image dataset is and how it is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSpec {
    /// `voc:ROOT`: a `VOC20XX` folder; trainval / test.
    Voc(PathBuf),
    /// `voc-mlt:VOCDEVKIT`: the folder holding `VOC2012/` and `VOC2007/`.
    VocMlt(PathBuf),
    /// `coco:ROOT`: train2017 / val2017.
    Coco(PathBuf),
    /// `coco-mlt:ROOT`: the shipped subset of train2017 / val2017.
    CocoMlt(PathBuf),
    /// A plain path: an image folder.
    Folder(PathBuf),
}

impl ImageSpec {
    /// Parses `voc:ROOT`, `voc-mlt:VOCDEVKIT`, `coco:ROOT`, `coco-mlt:ROOT`, or a plain path (an image folder).
    pub fn parse(spec: &str) -> Result<ImageSpec> {
        let error = |message: &str| ImageDataError::Spec {
            spec: spec.into(),
            message: message.into(),
        };
        if spec.is_empty() {
            return Err(error("empty"));
        }
        let Some((scheme, root)) = spec.split_once(':') else {
            return Ok(ImageSpec::Folder(spec.into()));
        };
        let make: fn(PathBuf) -> ImageSpec = match scheme {
            "voc" => ImageSpec::Voc,
            "voc-mlt" => ImageSpec::VocMlt,
            "coco" => ImageSpec::Coco,
            "coco-mlt" => ImageSpec::CocoMlt,
            _ => return Ok(ImageSpec::Folder(spec.into())),
        };
        if root.is_empty() {
            return Err(error("no folder after the colon"));
        }
        Ok(make(root.into()))
    }

    /// Reads the labels and image paths of both splits (the images themselves are not opened; see
    /// [`check_images`]).
    pub fn load(&self) -> Result<ImageDataset> {
        match self {
            ImageSpec::Voc(root) => voc::load(root),
            ImageSpec::VocMlt(devkit) => voc::load_mlt(devkit),
            ImageSpec::Coco(root) => coco::load(root),
            ImageSpec::CocoMlt(root) => coco::load_mlt(root),
            ImageSpec::Folder(root) => load_folder(root),
        }
    }
}

impl FromStr for ImageSpec {
    type Err = ImageDataError;

    fn from_str(spec: &str) -> Result<ImageSpec> {
        ImageSpec::parse(spec)
    }
}

/// Reads an image folder: `classes.txt`, `train.tsv`, `test.tsv`; images under `images/`.
pub fn load_folder(root: &Path) -> Result<ImageDataset> {
    let classes = read_classes(&root.join(CLASSES_FILE))?;
    let images = root.join(IMAGES_DIR);
    let split = |file: &str, classes: Vec<String>| -> Result<ImageSplit> {
        let labels = LabelSet::read_tsv(&root.join(file), classes)?;
        Ok(ImageSplit::from_ids(labels, &images, ""))
    };
    Ok(ImageDataset {
        train: split(TRAIN_FILE, classes.clone())?,
        test: split(TEST_FILE, classes)?,
    })
}

/// Checks that every row of `found` has the labels of the same row of `shipped` (both have the shipped ids,
/// in order). A mismatch names the id and the file its labels came from (`source(id)`).
pub(crate) fn check_shipped(
    found: &LabelSet,
    shipped: &LabelSet,
    dataset: &'static str,
    source: impl Fn(&str) -> PathBuf,
) -> Result<()> {
    let names = |ls: &LabelSet, k: usize| -> String {
        let names: Vec<&str> = ls
            .row(k)
            .iter()
            .map(|&c| ls.class_names()[c].as_str())
            .collect();
        names.join(",")
    };
    for (k, id) in found.ids().iter().enumerate() {
        let (found, expected) = (names(found, k), names(shipped, k));
        if found != expected {
            return Err(ImageDataError::ShippedMismatch {
                path: source(id),
                id: id.clone(),
                dataset,
                found,
                expected,
            });
        }
    }
    Ok(())
}

/// Which split a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Test => "test",
        })
    }
}

/// Why [`check_images`] dropped a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Missing or undecodable (only with `skip_bad`); the decoder's message.
    Unreadable(String),
    /// A training image with min(width, height) < [`MIN_TRAIN_SIDE`].
    TooSmall { width: u32, height: u32 },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Unreadable(message) => write!(f, "unreadable image: {message}"),
            SkipReason::TooSmall { width, height } => write!(
                f,
                "{width}x{height} has a side under {MIN_TRAIN_SIDE} px (training filter)"
            ),
        }
    }
}

/// A row dropped by [`check_images`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub split: Split,
    pub path: PathBuf,
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.split, self.path.display(), self.reason)
    }
}

/// Reads the header of every image of both splits, in parallel, and drops training images with
/// min(width, height) < [`MIN_TRAIN_SIDE`] (the reference's train-time filter).
///
/// A missing or undecodable image is an error naming the first such file (train before test, each in row
/// order), unless `skip_bad`: then its row is dropped. Every dropped row is returned with its reason, train
/// rows first, each split in row order.
pub fn check_images(ds: ImageDataset, skip_bad: bool) -> Result<(ImageDataset, Vec<Skipped>)> {
    let mut skipped = Vec::new();
    let train = check_split(ds.train, Split::Train, skip_bad, &mut skipped)?;
    let test = check_split(ds.test, Split::Test, skip_bad, &mut skipped)?;
    Ok((ImageDataset { train, test }, skipped))
}

fn check_split(
    split: ImageSplit,
    which: Split,
    skip_bad: bool,
    skipped: &mut Vec<Skipped>,
) -> Result<ImageSplit> {
    let sizes: Vec<Result<(u32, u32), String>> =
        split.paths.par_iter().map(|p| image_size(p)).collect();
    let mut keep = Vec::with_capacity(sizes.len());
    for (k, size) in sizes.into_iter().enumerate() {
        let path = &split.paths[k];
        let reason = match size {
            Ok((width, height)) if which == Split::Train && width.min(height) < MIN_TRAIN_SIDE => {
                SkipReason::TooSmall { width, height }
            }
            Ok(_) => {
                keep.push(k);
                continue;
            }
            Err(message) if skip_bad => SkipReason::Unreadable(message),
            Err(message) => {
                return Err(ImageDataError::Image {
                    path: path.clone(),
                    message,
                });
            }
        };
        skipped.push(Skipped {
            split: which,
            path: path.clone(),
            reason,
        });
    }
    Ok(if keep.len() == split.paths.len() {
        split
    } else {
        split.subset(&keep)
    })
}

/// The (width, height) of an image from its header, or the one-line reason it cannot be read.
fn image_size(path: &Path) -> Result<(u32, u32), String> {
    let one_line = |e: &dyn fmt::Display| e.to_string().replace('\n', " ");
    image::ImageReader::open(path)
        .map_err(|e| one_line(&e))?
        .with_guessed_format()
        .map_err(|e| one_line(&e))?
        .into_dimensions()
        .map_err(|e| one_line(&e))
}
