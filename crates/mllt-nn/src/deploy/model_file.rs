//! `OUT/model.mllt`: a trained classifier in one file, everything needed to label new items.
//!
//! A safetensors file:
//!
//! * tensors `model.<path>`: the head (`model.neck.fc.weight`, …) or the whole image network
//!   (`model.backbone.…`, `model.head.…`), f32 in burn's layout, BN running statistics included;
//! * tensor `tfidf.idf` (f64, `[width]`) for a text model: the idf its TF-IDF vectoriser was fitted with;
//! * metadata `mllt.model`: one JSON object ([`ModelMeta`]): the format version and the mllt version that
//!   wrote it, the method, seed and training configuration (TOML, the head's among it), the class names, the
//!   input pipeline (feature dimension; TF-IDF width and vectoriser; or backbone, image size and
//!   preprocessing), the training counts of every class and the head / medium / tail rule, and the decision
//!   thresholds with how they were chosen.
//!
//! Loading checks all of it: a malformed or inconsistent file is a one-line error naming the file and field.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use mllt_core::metrics::{ChosenThresholds, Thresholds};
use mllt_core::split::SplitRule;
use mllt_data::tfidf::Tfidf;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::Dtype;
use serde::{Deserialize, Serialize};

use crate::model::{BackboneKind, BackboneWeights, Head, HeadConfig, ImageNetwork};
use crate::train::TrainConfig;
use crate::train::TrainError;
use crate::train::checkpoint::{CheckpointFile, RawTensor, write_module};

/// The model file inside a run's output folder.
pub const MODEL_FILE: &str = "model.mllt";

/// The version of the layout this build writes and reads.
pub const MODEL_FORMAT: u32 = 1;

/// The largest image side a model file may ask for.
pub const MAX_IMAGE_SIZE: usize = 4096;

/// The metadata key of the JSON header.
const META_KEY: &str = "mllt.model";
/// The tensor holding a text model's idf.
const IDF_TENSOR: &str = "tfidf.idf";
/// The text features a text model was trained on (`mllt_data::tfidf`); a model whose vectoriser differs
/// cannot be used by this build.
pub const TEXT_VECTORISER: &str = "hashed tf-idf: lowercase alphanumeric tokens of >= 2 chars, unigrams + bigrams, fnv1a64 mod width, \
     1 + ln(tf), smooth idf, l2-normalised rows";
/// How an image model's inputs are made (`mllt_data::augment::AugmentConfig::test`).
pub const IMAGE_PREPROCESSING: &str =
    "rgb on white, bilinear resize to image_size x image_size, imagenet mean/std normalisation";

/// What a model reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Feature vectors of this dimension (an extracted feature folder, `.npy`, `.safetensors`).
    Features { dim: usize },
    /// Texts, turned into TF-IDF rows by this fitted vectoriser.
    Text { tfidf: Tfidf },
    /// Images, through this backbone at `image_size × image_size`.
    Image {
        backbone: BackboneKind,
        image_size: usize,
    },
}

impl Input {
    /// The width of the head's input.
    pub fn dim(&self) -> usize {
        match self {
            Input::Features { dim } => *dim,
            Input::Text { tfidf } => tfidf.width(),
            Input::Image { backbone, .. } => backbone.feature_dim(),
        }
    }

    /// A short description: `1280-d features`, `texts (16384-column TF-IDF)`, `images (efficientnet-lite0 at 224x224)`.
    pub fn describe(&self) -> String {
        match self {
            Input::Features { dim } => format!("{dim}-d features"),
            Input::Text { tfidf } => format!("texts ({}-column TF-IDF)", tfidf.width()),
            Input::Image {
                backbone,
                image_size,
            } => format!("images ({} at {image_size}x{image_size})", backbone.name()),
        }
    }
}

/// The input pipeline as the JSON header records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum InputMeta {
    Features {
        dim: usize,
    },
    Text {
        width: usize,
        vectoriser: String,
    },
    Image {
        backbone: String,
        image_size: usize,
        preprocessing: String,
    },
}

/// The decision thresholds as the JSON header records them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdMeta {
    /// Class c is predicted when its logit is above `per_class[c]`.
    pub per_class: Vec<f64>,
    /// The global threshold (the best micro F1 on validation; 0 without a validation split).
    pub global: f64,
    /// Whether class c has its own threshold (else the global one).
    pub own: Vec<bool>,
    /// Where they were chosen: the validation split carved from the training set, or nowhere.
    pub chosen_on: String,
    pub validation_items: usize,
    /// Classes with fewer validation positives take the global threshold.
    pub min_validation_positives: usize,
}

impl ThresholdMeta {
    /// Thresholds chosen on `validation_items` held-out items.
    pub fn chosen(
        chosen: &ChosenThresholds,
        validation_items: usize,
        min_positives: usize,
    ) -> Self {
        ThresholdMeta {
            per_class: chosen.per_class.clone(),
            global: chosen.global,
            own: chosen.own.clone(),
            chosen_on: "validation split carved from the training set (fnv1a64(id) % 5 == 0)"
                .into(),
            validation_items,
            min_validation_positives: min_positives,
        }
    }

    /// The decision rule: one threshold per class, or the reference's 0 for every class when no validation
    /// item chose them.
    pub fn rule(&self) -> Thresholds {
        if self.validation_items == 0 {
            Thresholds::Global(self.global)
        } else {
            Thresholds::PerClass(self.per_class.clone())
        }
    }

    /// The reference rule, logit > 0 for every class, for a run without validation items.
    pub fn reference(classes: usize) -> Self {
        ThresholdMeta {
            per_class: vec![0.0; classes],
            global: 0.0,
            own: vec![false; classes],
            chosen_on: "none (no validation item): the reference's logit > 0".into(),
            validation_items: 0,
            min_validation_positives: 0,
        }
    }
}

/// The JSON header of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMeta {
    pub format: u32,
    pub mllt_version: String,
    pub method: String,
    pub seed: u64,
    /// The run's configuration, TOML (the head's `[model]` among it).
    pub config: String,
    pub classes: Vec<String>,
    pub input: InputMeta,
    /// Training positives of every class: the head / medium / tail split.
    pub train_counts: Vec<usize>,
    pub split_rule: SplitRule,
    pub thresholds: ThresholdMeta,
}

/// The network of a model (one per process: the variants' sizes do not matter).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Network {
    /// The head alone, on features or TF-IDF rows.
    Head(Head),
    /// Backbone and head, on images.
    Image(ImageNetwork),
}

/// A trained model: its header, its input pipeline and its network.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    pub meta: ModelMeta,
    pub config: TrainConfig,
    pub input: Input,
    pub network: Network,
}

fn bad(path: &Path, message: impl Into<String>) -> TrainError {
    TrainError::checkpoint(path, message)
}

impl TrainedModel {
    /// The header of a model of `network` reading `input`, trained by `config` with `seed`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        network: Network,
        input: Input,
        config: &TrainConfig,
        seed: u64,
        classes: &[String],
        train_counts: Vec<usize>,
        thresholds: ThresholdMeta,
    ) -> Self {
        let input_meta = match &input {
            Input::Features { dim } => InputMeta::Features { dim: *dim },
            Input::Text { tfidf } => InputMeta::Text {
                width: tfidf.width(),
                vectoriser: TEXT_VECTORISER.into(),
            },
            Input::Image {
                backbone,
                image_size,
            } => InputMeta::Image {
                backbone: backbone.name().into(),
                image_size: *image_size,
                preprocessing: IMAGE_PREPROCESSING.into(),
            },
        };
        TrainedModel {
            meta: ModelMeta {
                format: MODEL_FORMAT,
                mllt_version: env!("CARGO_PKG_VERSION").into(),
                method: config.method.clone(),
                seed,
                config: config.to_toml(),
                classes: classes.to_vec(),
                input: input_meta,
                train_counts,
                split_rule: SplitRule::default(),
                thresholds,
            },
            config: config.clone(),
            input,
            network,
        }
    }

    /// The class names, in output order.
    pub fn classes(&self) -> &[String] {
        &self.meta.classes
    }

    /// The stored decision rule: class c when its logit is above its threshold.
    pub fn thresholds(&self) -> Thresholds {
        self.meta.thresholds.rule()
    }

    /// Writes the model to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let meta = vec![(
            META_KEY,
            serde_json::to_string(&self.meta).expect("the header serialises"),
        )];
        let extra = match &self.input {
            Input::Text { tfidf } => vec![RawTensor {
                name: IDF_TENSOR.into(),
                dtype: Dtype::F64,
                shape: vec![tfidf.width()],
                bytes: tfidf.idf().iter().flat_map(|v| v.to_le_bytes()).collect(),
            }],
            _ => Vec::new(),
        };
        match &self.network {
            Network::Head(head) => write_module(path, head, extra, meta),
            Network::Image(network) => write_module(path, network, extra, meta),
        }
    }

    /// Reads a model file, building its network on `device`.
    pub fn load(path: &Path, device: &Device) -> Result<TrainedModel, TrainError> {
        Self::from_file(CheckpointFile::read(path)?, device)
    }

    /// The model in `bytes` (a model file's content; `path` names it in errors), on `device`.
    pub fn from_bytes(
        bytes: Vec<u8>,
        path: &Path,
        device: &Device,
    ) -> Result<TrainedModel, TrainError> {
        Self::from_file(CheckpointFile::from_bytes(bytes, path)?, device)
    }

    fn from_file(file: CheckpointFile<'_>, device: &Device) -> Result<TrainedModel, TrainError> {
        let path = file.path;
        let meta: ModelMeta = serde_json::from_str(file.get(META_KEY)?)
            .map_err(|e| bad(path, format!("metadata `{META_KEY}`: {e}")))?;
        check_meta(&meta, path)?;
        let config = TrainConfig::from_toml(
            &meta.config,
            &format!("{}: metadata {META_KEY}.config", path.display()),
        )?;
        let input = read_input(&file, &meta.input)?;
        let classes = meta.classes.len();
        // Random weights, overwritten by the stored tensors.
        let rng = &mut ChaCha8Rng::seed_from_u64(0);
        let network = match &input {
            Input::Image { backbone, .. } => {
                check_head(&file, "model.head.", &config, input.dim(), classes)?;
                let fresh = ImageNetwork::new(
                    *backbone,
                    &BackboneWeights::Random,
                    &config.model,
                    classes,
                    rng,
                    device,
                )?;
                Network::Image(file.restore(fresh)?)
            }
            _ => {
                check_head(&file, "model.", &config, input.dim(), classes)?;
                let fresh =
                    file.fresh_head("model.", &config.model, input.dim(), classes, device)?;
                Network::Head(file.restore(fresh)?)
            }
        };
        Ok(TrainedModel {
            meta,
            config,
            input,
            network,
        })
    }

    /// The logits `[n, C]` of `n` inputs, row-major in `values`: feature (or TF-IDF) rows of
    /// [`Input::dim`] values, or `3 × S × S` preprocessed pixels of images. `device` must not be an
    /// autodiff device.
    pub fn logits(&self, values: Vec<f32>, n: usize, device: &Device) -> Vec<f32> {
        let logits = match (&self.network, &self.input) {
            (Network::Head(head), input) => {
                let x = Tensor::<2>::from_data(TensorData::new(values, [n, input.dim()]), device);
                head.forward(x)
            }
            (Network::Image(network), Input::Image { image_size, .. }) => {
                let s = *image_size;
                let x = Tensor::<4>::from_data(TensorData::new(values, [n, 3, s, s]), device);
                network.forward(x)
            }
            (Network::Image(_), _) => unreachable!("an image network reads images"),
        };
        logits
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 logits")
    }
}

/// The consistency checks of a header (see the module documentation).
fn check_meta(meta: &ModelMeta, path: &Path) -> Result<(), TrainError> {
    let classes = meta.classes.len();
    let t = &meta.thresholds;
    let checks = [
        (
            meta.format != MODEL_FORMAT,
            format!(
                "format {} (this mllt reads format {MODEL_FORMAT}; the file was written by mllt {})",
                meta.format, meta.mllt_version
            ),
        ),
        (classes == 0, "no classes".to_string()),
        (
            meta.train_counts.len() != classes,
            format!(
                "{} train_counts for {classes} classes",
                meta.train_counts.len()
            ),
        ),
        (
            t.per_class.len() != classes || t.own.len() != classes,
            format!(
                "thresholds for {} classes, not {classes}",
                t.per_class.len()
            ),
        ),
        (
            !t.per_class.iter().chain([&t.global]).all(|v| v.is_finite()),
            "a threshold is not finite".to_string(),
        ),
    ];
    if let Some((_, why)) = checks.into_iter().find(|(failed, _)| *failed) {
        return Err(bad(path, format!("metadata `{META_KEY}`: {why}")));
    }
    let mut sorted: Vec<&String> = meta.classes.iter().collect();
    sorted.sort();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(bad(
            path,
            format!("metadata `{META_KEY}`: class `{}` is listed twice", w[0]),
        ));
    }
    Ok(())
}

/// Checks, before any weight is allocated, that the stored head under `prefix` has the shapes that the
/// configuration, the input width `dim` and the class count give.
fn check_head(
    file: &CheckpointFile<'_>,
    prefix: &str,
    config: &TrainConfig,
    dim: usize,
    classes: usize,
) -> Result<(), TrainError> {
    let expected = match config.model {
        HeadConfig::Pfc { hidden, .. } => [
            ("neck.fc.weight", [dim, hidden]),
            ("classifier.weight", [hidden, classes]),
        ]
        .to_vec(),
        HeadConfig::Linear => vec![("classifier.weight", [dim, classes])],
        HeadConfig::MlGcn { hidden, .. } | HeadConfig::Oltr { hidden, .. } => {
            let stored = file.stored_classes(prefix)?;
            if stored != classes {
                return Err(bad(
                    file.path,
                    format!("the head has {stored} outputs; the header names {classes} classes"),
                ));
            }
            vec![("neck.fc.weight", [dim, hidden])]
        }
    };
    for (name, shape) in expected {
        let name = format!("{prefix}{name}");
        let stored = file.dims(&name)?;
        if stored != shape {
            return Err(bad(
                file.path,
                format!(
                    "tensor `{name}` has shape {stored:?}; the header (input width {dim}, {classes} classes, \
                     its [model]) needs {shape:?}"
                ),
            ));
        }
    }
    Ok(())
}

/// The input pipeline of a header, the idf read from the file for a text model.
fn read_input(file: &CheckpointFile<'_>, meta: &InputMeta) -> Result<Input, TrainError> {
    let path = file.path;
    let field = |why: String| bad(path, format!("metadata `{META_KEY}.input`: {why}"));
    match meta {
        InputMeta::Features { dim: 0 } => Err(field("dim must be positive".into())),
        InputMeta::Features { dim } => Ok(Input::Features { dim: *dim }),
        InputMeta::Text { vectoriser, .. } if vectoriser != TEXT_VECTORISER => Err(field(format!(
            "vectoriser `{vectoriser}` is not the one of this mllt (`{TEXT_VECTORISER}`)"
        ))),
        InputMeta::Text { width, .. } => {
            let st = file.tensors();
            let view = st
                .tensor(IDF_TENSOR)
                .map_err(|_| bad(path, format!("no tensor `{IDF_TENSOR}`")))?;
            if view.dtype() != Dtype::F64 || view.shape() != [*width] {
                return Err(bad(
                    path,
                    format!(
                        "tensor `{IDF_TENSOR}` is {:?} {:?}; expected F64 [{width}]",
                        view.dtype(),
                        view.shape()
                    ),
                ));
            }
            let idf = view
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect();
            let tfidf = Tfidf::from_idf(idf).ok_or_else(|| {
                bad(
                    path,
                    format!("tensor `{IDF_TENSOR}` holds an idf below 1 or not finite"),
                )
            })?;
            Ok(Input::Text { tfidf })
        }
        InputMeta::Image { preprocessing, .. } if preprocessing != IMAGE_PREPROCESSING => {
            Err(field(format!(
                "preprocessing `{preprocessing}` is not the one of this mllt (`{IMAGE_PREPROCESSING}`)"
            )))
        }
        InputMeta::Image { image_size, .. } if !(1..=MAX_IMAGE_SIZE).contains(image_size) => {
            Err(field(format!(
                "image_size {image_size} is not in 1..={MAX_IMAGE_SIZE}"
            )))
        }
        InputMeta::Image {
            backbone,
            image_size,
            ..
        } => Ok(Input::Image {
            backbone: backbone.parse().map_err(|e| field(format!("{e}")))?,
            image_size: *image_size,
        }),
    }
}
