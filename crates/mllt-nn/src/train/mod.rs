//! Training on feature datasets (issue 3 item 4; semantics §6) and end to end on images: SGD with momentum and
//! weight decay, the warm-up + step learning-rate schedule, global gradient clipping, uniform or class-aware
//! sampling, seeded end to end, with exact resume from checkpoints.

pub(crate) mod checkpoint;
mod clip;
mod config;
mod evaluate;
mod finetune;
mod fused_head;
mod schedule;
mod sgd;
mod trainer;

pub use checkpoint::{CHECKPOINT_FILE, Checkpoint, ImageCheckpoint};
pub use clip::{clip_grad_norm, grad_norm};
pub use config::TrainConfig;
pub use evaluate::{evaluate, evaluate_scores, evaluation_json, predict};
pub use finetune::{FinetuneOptions, FinetuneOutcome, finetune};
pub use fused_head::FusedHead;
pub use schedule::ScheduleConfig;
pub use sgd::{Sgd, SgdConfig};
pub use trainer::{
    CONFIG_FILE, EpochRecord, LOG_FILE, LogLine, METRICS_FILE, Observer, RunOptions, StepProgress,
    StepRecord, TrainOutcome, TrainState, batch, train,
};

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::loss::LossError;

/// The device runs use when none is asked for (without autodiff): the GPU backend this build contains (the
/// first CUDA GPU with the `cuda` feature, else the default wgpu adapter with `wgpu`), else burn's
/// pure-Rust Flex CPU backend. See [`DeviceKind`](crate::backend::DeviceKind).
pub fn default_device() -> Device {
    crate::backend::DeviceKind::default()
        .device()
        .expect("the default device kind is built in")
}

/// Why a run failed: one line naming the file, table or field.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading or writing a data, log or metrics file.
    #[error(transparent)]
    Core(#[from] mllt_core::Error),
    /// The loss cannot be bound to the training statistics.
    #[error(transparent)]
    Loss(#[from] LossError),
    /// The loss cannot be bound to the training statistics of one class.
    #[error(
        "class `{name}` has {count} of {items} training items: {source}; --drop-empty-classes leaves out \
         the classes with no training item or with every one"
    )]
    Class {
        name: String,
        count: usize,
        items: usize,
        source: LossError,
    },
    /// A configuration is malformed.
    #[error("{origin}: {message}")]
    Config { origin: String, message: String },
    /// A checkpoint is malformed or does not fit the run.
    #[error("{path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    /// The backbone cannot be built or its weights loaded.
    #[error(transparent)]
    Backbone(#[from] crate::backbone::BackboneError),
    /// An image of the dataset cannot be decoded.
    #[error(transparent)]
    Loader(#[from] mllt_data::loader::LoaderError),
    /// The run cannot proceed as asked.
    #[error("{0}")]
    Invalid(String),
}

impl TrainError {
    pub(crate) fn checkpoint(path: &Path, message: impl Into<String>) -> Self {
        TrainError::Checkpoint {
            path: path.into(),
            message: message.into(),
        }
    }
}
