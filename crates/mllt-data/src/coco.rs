//! MS-COCO 2017: image-level labels from the instance annotations.
//!
//! Layout of `ROOT`: `annotations/instances_{train,val}2017.json`, `train2017/`, `val2017/`; an image's file
//! is `<split folder>/<file_name>`. Image ids are the decimal COCO image ids.
//!
//! The classes are the 80 categories sorted by category id, spaces in names replaced by underscores (the order
//! and names of `data/coco-mlt/classes.txt`: `dining_table`, `hair_drier`, `tv`, ...). As in the paper's
//! reference implementation (mmdetection's COCO annotation parsing), an annotation makes its category positive
//! for its image when it has no true `ignore` flag (an optional field), `area > 0` and a bbox with width ≥ 1
//! and height ≥ 1; crowd (`iscrowd`) annotations count.
//!
//! * `coco:ROOT`: train = the train2017 images with at least one positive class (the reference drops images
//!   without annotations from training); test = every val2017 image, those with no positive class included
//!   (all-zero rows). Both in the order of the JSON's `images`.
//! * `coco-mlt:ROOT`: train = the shipped COCO-MLT subset of train2017 (1909 images, in the shipped order),
//!   whose labels read from the JSON must equal the shipped ones; test = every val2017 image.
//!
//! The instance files are large (about 450 MB for train2017): they are streamed from a buffered reader into
//! structs with only the fields used here; serde skips every other field (segmentations, captions, licenses,
//! ...) as `IgnoredAny`, without building it.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use mllt_core::LabelSet;
use mllt_core::datasets::Shipped;
use serde::Deserialize;

use crate::images::{ImageDataError, ImageDataset, ImageSplit, Result, check_shipped};

/// The training split's name (annotation file `instances_train2017.json`, image folder `train2017/`).
pub const TRAIN_SPLIT: &str = "train2017";
/// The test split's name (annotation file `instances_val2017.json`, image folder `val2017/`).
pub const TEST_SPLIT: &str = "val2017";

#[derive(Deserialize)]
struct RawInstances {
    images: Vec<RawImage>,
    annotations: Vec<RawAnnotation>,
    categories: Vec<RawCategory>,
}

#[derive(Deserialize)]
struct RawImage {
    id: u64,
    file_name: String,
}

#[derive(Deserialize)]
struct RawAnnotation {
    image_id: u64,
    category_id: u64,
    area: f64,
    /// `[x, y, width, height]`.
    bbox: [f64; 4],
    #[serde(default)]
    ignore: Option<serde_json::Value>,
}

impl RawAnnotation {
    /// Whether this annotation makes its category positive (see the module docs).
    fn counts(&self) -> bool {
        let [_, _, w, h] = self.bbox;
        !self.ignore.as_ref().is_some_and(truthy) && self.area > 0.0 && w >= 1.0 && h >= 1.0
    }
}

/// Python's truth value of a JSON value, as the reference's `ann.get('ignore', False)` tests it.
fn truthy(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[derive(Deserialize)]
struct RawCategory {
    id: u64,
    name: String,
}

/// The image-level labels of one instances file, with each row's image file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instances {
    /// One row per entry of `images`, in file order; ids are the COCO image ids.
    pub labels: LabelSet,
    /// The `file_name` of each row.
    pub file_names: Vec<String>,
}

impl Instances {
    /// The rows at `indices` as a split whose images lie in `dir`.
    fn split(&self, indices: &[usize], dir: &Path) -> ImageSplit {
        ImageSplit {
            labels: self.labels.subset(indices),
            paths: indices
                .iter()
                .map(|&k| dir.join(&self.file_names[k]))
                .collect(),
        }
    }
}

/// Reads an instances JSON into image-level labels (see the module docs for which annotations count).
pub fn read_instances(path: &Path) -> Result<Instances> {
    let file = File::open(path).map_err(|e| ImageDataError::io(path, e))?;
    let raw: RawInstances = serde_json::from_reader(BufReader::new(file))
        .map_err(|e| ImageDataError::file(path, format!("not a COCO instances file: {e}")))?;
    instances(raw, path)
}

/// Parses the bytes of an instances JSON (as [`read_instances`] reads the file); `path` is only named in errors.
pub fn parse_instances(bytes: &[u8], path: &Path) -> Result<Instances> {
    let raw: RawInstances = serde_json::from_slice(bytes)
        .map_err(|e| ImageDataError::file(path, format!("not a COCO instances file: {e}")))?;
    instances(raw, path)
}

/// Image-level labels of parsed instances.
fn instances(raw: RawInstances, path: &Path) -> Result<Instances> {
    let fail = |message: String| ImageDataError::file(path, message);

    let mut categories: Vec<&RawCategory> = raw.categories.iter().collect();
    categories.sort_by_key(|c| c.id);
    let mut column: HashMap<u64, usize> = HashMap::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut classes = Vec::with_capacity(categories.len());
    for (i, c) in categories.iter().enumerate() {
        let name = c.name.trim().replace(' ', "_");
        if name.is_empty() || name.contains([',', '\t']) {
            return Err(fail(format!(
                "categories: id {}: unusable class name `{}`",
                c.id, c.name
            )));
        }
        if column.insert(c.id, i).is_some() {
            return Err(fail(format!("categories: duplicate category id {}", c.id)));
        }
        if !names.insert(name.clone()) {
            return Err(fail(format!("categories: duplicate class name `{name}`")));
        }
        classes.push(name);
    }

    let mut row_of: HashMap<u64, usize> = HashMap::with_capacity(raw.images.len());
    for (k, image) in raw.images.iter().enumerate() {
        if row_of.insert(image.id, k).is_some() {
            return Err(fail(format!("images: duplicate image id {}", image.id)));
        }
    }
    let mut rows = vec![Vec::new(); raw.images.len()];
    for (k, a) in raw.annotations.iter().enumerate() {
        let row = *row_of.get(&a.image_id).ok_or_else(|| {
            fail(format!(
                "annotations[{k}]: image_id {} is not in `images`",
                a.image_id
            ))
        })?;
        let class = *column.get(&a.category_id).ok_or_else(|| {
            fail(format!(
                "annotations[{k}]: category_id {} is not in `categories`",
                a.category_id
            ))
        })?;
        if a.counts() {
            rows[row].push(class);
        }
    }
    let (ids, file_names) = raw
        .images
        .into_iter()
        .map(|image| (image.id.to_string(), image.file_name))
        .unzip();
    Ok(Instances {
        labels: LabelSet::new(ids, classes, rows)?,
        file_names,
    })
}

/// `ROOT/annotations/instances_<split>.json`.
pub fn instances_path(root: &Path, split: &str) -> PathBuf {
    root.join("annotations")
        .join(format!("instances_{split}.json"))
}

/// The instances of `split` and its image folder.
fn read_split(root: &Path, split: &str) -> Result<(Instances, PathBuf)> {
    Ok((
        read_instances(&instances_path(root, split))?,
        root.join(split),
    ))
}

/// The whole val2017 split, checked to have the training classes.
fn test_split(root: &Path, classes: &[String]) -> Result<ImageSplit> {
    let (test, dir) = read_split(root, TEST_SPLIT)?;
    if test.labels.class_names() != classes {
        return Err(ImageDataError::file(
            &instances_path(root, TEST_SPLIT),
            "its categories differ from the training set's",
        ));
    }
    let all: Vec<usize> = (0..test.labels.len()).collect();
    Ok(test.split(&all, &dir))
}

/// `coco:ROOT`: the train2017 images with a positive class, and all of val2017.
pub fn load(root: &Path) -> Result<ImageDataset> {
    let (train, dir) = read_split(root, TRAIN_SPLIT)?;
    let positive: Vec<usize> = (0..train.labels.len())
        .filter(|&k| !train.labels.row(k).is_empty())
        .collect();
    let train = train.split(&positive, &dir);
    let test = test_split(root, train.labels.class_names())?;
    Ok(ImageDataset { train, test })
}

/// `coco-mlt:ROOT`: the shipped COCO-MLT subset of train2017 (labels checked against the shipped ones), and
/// all of val2017.
pub fn load_mlt(root: &Path) -> Result<ImageDataset> {
    let shipped = Shipped::CocoMlt.labels();
    let json = instances_path(root, TRAIN_SPLIT);
    let (train, dir) = read_split(root, TRAIN_SPLIT)?;
    if train.labels.class_names() != shipped.class_names() {
        return Err(ImageDataError::file(
            &json,
            "its categories are not the 80 COCO classes of data/coco-mlt/classes.txt",
        ));
    }
    let row_of: HashMap<&str, usize> = train
        .labels
        .ids()
        .iter()
        .enumerate()
        .map(|(k, id)| (id.as_str(), k))
        .collect();
    let indices = shipped
        .ids()
        .iter()
        .map(|id| {
            row_of.get(id.as_str()).copied().ok_or_else(|| {
                ImageDataError::file(
                    &json,
                    format!("image `{id}` of the shipped coco-mlt subset is not in `images` (wrong file?)"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let train = train.split(&indices, &dir);
    check_shipped(&train.labels, &shipped, Shipped::CocoMlt.name(), |_| {
        json.clone()
    })?;
    let test = test_split(root, shipped.class_names())?;
    Ok(ImageDataset { train, test })
}
