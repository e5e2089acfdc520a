//! Labelling new items with a trained model (`mllt predict`).
//!
//! [`open_items`] reads what the model reads from a path:
//!
//! * a dataset folder (`classes.txt`, `test.tsv`, and `features.safetensors`, `texts.tsv` or `images/`): its
//!   test split, ids from `test.tsv`;
//! * any other folder: every PNG or JPEG file under it (an image model), ids relative to the folder;
//! * a `.safetensors` file: the rows of its 2-D tensor `features` (or `test`, or its only tensor), ids the
//!   0-based row numbers;
//! * a `.npy` file (recognised by its magic bytes): the rows of its 2-D f4/f8 array, ids the 0-based row
//!   numbers;
//! * any other file: one item per line ([`mllt_data::items`]): texts for a text model (`id<TAB>text` or the
//!   text alone), image paths for an image model.
//!
//! [`predict`] runs the items through the model in batches: each batch is prepared in parallel (TF-IDF rows,
//! decoded and resized images), then goes through the network in one forward pass. A bad item (an empty
//! text, an image that cannot be decoded, a feature row of the wrong width) stops the run with an error
//! naming it, or is skipped and counted.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use mllt_core::LabelSet;
use mllt_data::augment::AugmentConfig;
use mllt_data::items::{ItemLine, PathLines, TextLines, image_files};
use mllt_data::loader::decode;
use mllt_data::textset::{TEXTS_FILE, TextDataset};
use rayon::prelude::*;

use super::model_file::{Input, TrainedModel};
use crate::backbone::extract::{IMAGES_DIR, ImageFolder};
use crate::features::{CLASSES_FILE, FEATURES_FILE, FeatureDataset, TEST_FILE};
use crate::train::TrainError;

/// What one item is.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// A feature row.
    Features(Vec<f32>),
    Text(String),
    /// An image file.
    Image(PathBuf),
}

/// One item to label: its id, where it comes from (for messages) and its content, or why it is bad.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    /// `FILE:LINE`, `FILE row N` or the image's path.
    pub origin: String,
    pub content: Result<Content, String>,
}

/// The items of a source, read lazily.
pub type Items = Box<dyn Iterator<Item = Result<Item, TrainError>> + Send>;

/// The items found at a path, and how many there are when that is known before reading them.
pub struct ItemSource {
    pub items: Items,
    pub total: Option<usize>,
    /// What the source is, for messages: `test split of DIR`, `text lines of FILE`, ….
    pub description: String,
}

impl ItemSource {
    fn new(items: Vec<Item>, description: String) -> Self {
        ItemSource {
            total: Some(items.len()),
            items: Box::new(items.into_iter().map(Ok)),
            description,
        }
    }
}

/// What the model reads, for messages.
fn reads(input: &Input) -> String {
    format!("the model reads {}", input.describe())
}

/// Opens the items at `path` for a model reading `input` (see the module documentation).
pub fn open_items(path: &Path, input: &Input) -> Result<ItemSource, TrainError> {
    let mismatch = |what: &str| {
        TrainError::Invalid(format!("{}: {what}, but {}", path.display(), reads(input)))
    };
    if path.is_dir() {
        if !(path.join(CLASSES_FILE).is_file() && path.join(TEST_FILE).is_file()) {
            return match input {
                Input::Image { .. } => Ok(ItemSource::new(
                    image_files(path)?
                        .into_iter()
                        .map(|(id, file)| image_item(id, file))
                        .collect(),
                    format!("images under {}", path.display()),
                )),
                _ => Err(mismatch("a folder of images (no classes.txt and test.tsv)")),
            };
        }
        return test_split(path, input, mismatch);
    }
    let magic = read_magic(path)?;
    let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
    if magic.starts_with(mllt_core::npy::MAGIC) || is_safetensors {
        let Input::Features { dim } = input else {
            return Err(mismatch("a feature matrix"));
        };
        let (rows, cols, values) = if is_safetensors {
            crate::features::read_feature_matrix(path)?
        } else {
            let bytes = std::fs::read(path).map_err(|e| mllt_core::Error::io(path, e))?;
            let m = mllt_core::npy::read_matrix(&bytes, path)?;
            (m.rows, m.cols, m.values)
        };
        if cols != *dim {
            return Err(TrainError::Invalid(format!(
                "{}: {cols}-d feature rows, but the model reads {dim}-d features",
                path.display()
            )));
        }
        let name = path.display().to_string();
        let items = values
            .chunks_exact(cols.max(1))
            .take(rows)
            .enumerate()
            .map(|(k, row)| Item {
                id: k.to_string(),
                origin: format!("{name} row {k}"),
                content: Ok(Content::Features(row.to_vec())),
            })
            .collect();
        return Ok(ItemSource::new(items, format!("rows of {name}")));
    }
    let lines = |lines: Box<dyn Iterator<Item = Result<ItemLine, mllt_core::Error>> + Send>,
                 text: bool| {
        let name = path.display().to_string();
        Box::new(lines.map(move |line| {
            let line = line?;
            Ok(Item {
                origin: format!("{name}:{}", line.line),
                id: line.id,
                content: line.content.map(|c| {
                    if text {
                        Content::Text(c)
                    } else {
                        Content::Image(PathBuf::from(c))
                    }
                }),
            })
        })) as Items
    };
    let (items, description) = match input {
        Input::Text { .. } => (
            lines(Box::new(TextLines::open(path)?), true),
            format!("text lines of {}", path.display()),
        ),
        Input::Image { .. } => (
            lines(Box::new(PathLines::open(path)?), false),
            format!("image paths listed in {}", path.display()),
        ),
        Input::Features { .. } => {
            return Err(mismatch(
                "a text file (features are read from .npy or .safetensors)",
            ));
        }
    };
    Ok(ItemSource {
        items,
        total: None,
        description,
    })
}

/// The first bytes of a file (fewer when it is shorter).
fn read_magic(path: &Path) -> Result<Vec<u8>, TrainError> {
    use std::io::Read;
    let mut magic = Vec::with_capacity(8);
    std::fs::File::open(path)
        .and_then(|f| f.take(8).read_to_end(&mut magic))
        .map_err(|e| mllt_core::Error::io(path, e))?;
    Ok(magic)
}

fn image_item(id: String, file: PathBuf) -> Item {
    Item {
        id,
        origin: file.display().to_string(),
        content: Ok(Content::Image(file)),
    }
}

/// The test split of a dataset folder, as the model reads it.
fn test_split(
    dir: &Path,
    input: &Input,
    mismatch: impl Fn(&str) -> TrainError,
) -> Result<ItemSource, TrainError> {
    let description = format!("test split of {}", dir.display());
    let origin = |labels: &LabelSet, k: usize| {
        format!("{} `{}`", dir.join(TEST_FILE).display(), labels.ids()[k])
    };
    match input {
        Input::Features { .. } if dir.join(FEATURES_FILE).is_file() => {
            let test = FeatureDataset::read(dir)?.test;
            let labels = &test.labels;
            let items = (0..test.len())
                .map(|k| Item {
                    id: labels.ids()[k].clone(),
                    origin: origin(labels, k),
                    content: Ok(Content::Features(test.row(k).to_vec())),
                })
                .collect();
            Ok(ItemSource::new(items, description))
        }
        Input::Text { .. } if dir.join(TEXTS_FILE).is_file() => {
            let data = TextDataset::read(dir)?;
            let items = data
                .test
                .ids()
                .iter()
                .zip(data.test_texts)
                .enumerate()
                .map(|(k, (id, text))| Item {
                    id: id.clone(),
                    origin: origin(&data.test, k),
                    content: Ok(Content::Text(text)),
                })
                .collect();
            Ok(ItemSource::new(items, description))
        }
        Input::Image { .. } if dir.join(IMAGES_DIR).is_dir() => {
            let folder = ImageFolder::read(dir)?;
            let paths = folder.image_paths(&folder.test);
            let items = folder
                .test
                .ids()
                .iter()
                .zip(paths)
                .map(|(id, path)| image_item(id.clone(), path))
                .collect();
            Ok(ItemSource::new(items, description))
        }
        _ => {
            let kind = if dir.join(FEATURES_FILE).is_file() {
                "a feature folder"
            } else if dir.join(TEXTS_FILE).is_file() {
                "a text folder"
            } else if dir.join(IMAGES_DIR).is_dir() {
                "an image folder"
            } else {
                "a folder with labels but no features.safetensors, texts.tsv or images/"
            };
            Err(mismatch(kind))
        }
    }
}

/// How `predict` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredictOptions {
    /// Items per forward pass.
    pub batch_size: usize,
    /// Skip and count bad items instead of stopping at the first.
    pub skip_bad: bool,
}

/// A bad item that was skipped: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedItem {
    pub origin: String,
    pub reason: String,
}

/// One batch's results: the ids of its good items and their logits, `[ids.len(), C]` row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredBatch {
    pub ids: Vec<String>,
    pub logits: Vec<f32>,
}

/// What a prediction run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PredictSummary {
    /// Items labelled.
    pub items: usize,
    pub skipped: Vec<SkippedItem>,
}

/// The network input of one item: a feature or TF-IDF row, or preprocessed pixels.
fn prepare(model: &TrainedModel, content: Content) -> Result<Vec<f32>, String> {
    match (&model.input, content) {
        (Input::Features { dim }, Content::Features(row)) => {
            if row.len() != *dim {
                return Err(format!(
                    "{} feature values, the model reads {dim}",
                    row.len()
                ));
            }
            match row.iter().position(|v| !v.is_finite()) {
                Some(j) => Err(format!("feature {j} is {}", row[j])),
                None => Ok(row),
            }
        }
        (Input::Text { tfidf }, Content::Text(text)) => Ok(tfidf.transform(&[text])),
        (Input::Image { image_size, .. }, Content::Image(path)) => decode(&path)
            .map(|image| AugmentConfig::test(*image_size).apply(&image, 0, 0))
            .map_err(|e| match e {
                mllt_data::loader::LoaderError::Decode { message, .. } => {
                    format!("cannot decode image: {message}")
                }
                other => other.to_string(),
            }),
        (input, _) => Err(format!(
            "not an input of a model that reads {}",
            input.describe()
        )),
    }
}

/// Runs every item of `items` through `model` (on `device`, without autodiff) in batches, handing each
/// batch's logits to `sink` in item order.
pub fn predict(
    model: &TrainedModel,
    items: Items,
    options: PredictOptions,
    device: &Device,
    sink: &mut dyn FnMut(ScoredBatch) -> Result<(), TrainError>,
) -> Result<PredictSummary, TrainError> {
    let batch_size = options.batch_size.max(1);
    let mut summary = PredictSummary::default();
    let mut items = items.peekable();
    while items.peek().is_some() {
        let batch: Vec<Item> = items.by_ref().take(batch_size).collect::<Result<_, _>>()?;
        let prepared: Vec<(String, String, Result<Vec<f32>, String>)> = batch
            .into_par_iter()
            .map(|item| {
                let input = item.content.and_then(|content| prepare(model, content));
                (item.id, item.origin, input)
            })
            .collect();
        let mut ids = Vec::with_capacity(prepared.len());
        let mut values = Vec::new();
        for (id, origin, input) in prepared {
            match input {
                Ok(v) => {
                    ids.push(id);
                    values.extend(v);
                }
                Err(reason) if options.skip_bad => {
                    summary.skipped.push(SkippedItem { origin, reason })
                }
                Err(reason) => {
                    return Err(TrainError::Invalid(format!(
                        "{origin}: {reason} (--skip-bad skips such items)"
                    )));
                }
            }
        }
        if ids.is_empty() {
            continue;
        }
        let logits = model.logits(values, ids.len(), device);
        if let Some(k) = logits.iter().position(|v| !v.is_finite()) {
            let item = &ids[k / model.classes().len()];
            return Err(TrainError::Invalid(format!(
                "item `{item}`: the model gave a non-finite score"
            )));
        }
        summary.items += ids.len();
        sink(ScoredBatch { ids, logits })?;
    }
    Ok(summary)
}
