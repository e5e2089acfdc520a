//! PASCAL VOC: image-level labels from the detection annotations.
//!
//! Layout of a `VOC20XX` folder: `JPEGImages/<id>.jpg`, `Annotations/<id>.xml`, `ImageSets/Main/<split>.txt`
//! (one image id per line).
//!
//! As in the paper's reference implementation, an image is positive for a class when its annotation has an
//! `<object>` whose `<name>` is that class — **every** object counts, `difficult` and `truncated` ones included.
//! (`<part><name>` elements inside a person are body parts, not objects.) The 20 classes are in the standard
//! order, the order of `data/voc-mlt/classes.txt`; an unknown class name is an error.
//!
//! * `voc:ROOT`: train = `ImageSets/Main/trainval.txt`, test = `ImageSets/Main/test.txt` of `ROOT`.
//! * `voc-mlt:VOCDEVKIT`: train = the shipped VOC-MLT subset (1142 images of `VOC2012`), whose labels read
//!   from the XML must equal the shipped ones (a wrong folder is caught here); test = `VOC2007` test.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mllt_core::LabelSet;
use mllt_core::datasets::Shipped;
use quick_xml::Reader;
use quick_xml::events::Event;
use rayon::prelude::*;

use crate::images::{ImageDataError, ImageDataset, ImageSplit, Result, check_shipped};

/// The 20 VOC classes in the standard (column) order.
pub const CLASSES: [&str; 20] = [
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
];

/// The `VOC20XX` folder of a devkit that holds the VOC-MLT training images.
pub const MLT_TRAIN_DIR: &str = "VOC2012";
/// The `VOC20XX` folder of a devkit that holds the test images.
pub const MLT_TEST_DIR: &str = "VOC2007";

/// The class indices (into [`CLASSES`]) of every `<object><name>` of an annotation, in document order, with
/// repeats. `path` is used only in messages.
pub fn parse_annotation(xml: &str, path: &Path) -> Result<Vec<usize>> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut name: Option<String> = None;
    let mut classes = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| {
            let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
            let line = xml.get(..at).unwrap_or(xml).matches('\n').count() + 1;
            ImageDataError::line(path, line, format!("malformed XML: {e}"))
        })?;
        match event {
            Event::Start(e) => {
                let tag = e.name();
                let tag: &str = tag.as_ref();
                if tag == "name" && stack.last().is_some_and(|parent| parent == "object") {
                    name = Some(String::new());
                }
                stack.push(tag.to_string());
            }
            Event::End(e) => {
                stack.pop();
                if e.name().as_ref() == "name"
                    && let Some(text) = name.take()
                {
                    let text = text.trim();
                    let class = CLASSES.iter().position(|&c| c == text).ok_or_else(|| {
                        ImageDataError::file(path, format!("unknown VOC class `{text}`"))
                    })?;
                    classes.push(class);
                }
            }
            Event::Text(t) => {
                if let Some(text) = name.as_mut() {
                    text.push_str(&t.xml10_content());
                }
            }
            // An entity in a class name: kept verbatim, so that the name is reported as unknown.
            Event::GeneralRef(r) => {
                if let Some(text) = name.as_mut() {
                    text.push_str(&format!("&{};", r.xml10_content()));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(classes)
}

/// The image ids of `ROOT/ImageSets/Main/<split>.txt`: one per line, blank lines skipped.
pub fn read_image_set(root: &Path, split: &str) -> Result<Vec<String>> {
    let path = root
        .join("ImageSets")
        .join("Main")
        .join(format!("{split}.txt"));
    let text = std::fs::read_to_string(&path).map_err(|e| ImageDataError::io(&path, e))?;
    let mut ids = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let id = line.trim();
        if id.is_empty() {
            continue;
        }
        if id.contains(char::is_whitespace) {
            return Err(ImageDataError::line(
                &path,
                i + 1,
                "expected one image id per line (a per-class `<class>_<split>.txt` file?)",
            ));
        }
        if let Some(first) = seen.insert(id, i + 1) {
            return Err(ImageDataError::line(
                &path,
                i + 1,
                format!("duplicate image id `{id}` (first on line {first})"),
            ));
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

/// `ROOT/Annotations/<id>.xml`.
pub fn annotation_path(root: &Path, id: &str) -> PathBuf {
    root.join("Annotations").join(format!("{id}.xml"))
}

/// The split of the images `ids` of a `VOC20XX` folder: labels from `Annotations/<id>.xml` (read in
/// parallel), images `JPEGImages/<id>.jpg`. The first bad annotation in `ids` order is the error.
pub fn read_split(root: &Path, ids: Vec<String>) -> Result<ImageSplit> {
    let rows: Vec<Result<Vec<usize>>> = ids
        .par_iter()
        .map(|id| {
            let path = annotation_path(root, id);
            let xml = std::fs::read_to_string(&path).map_err(|e| ImageDataError::io(&path, e))?;
            parse_annotation(&xml, &path)
        })
        .collect();
    let rows = rows.into_iter().collect::<Result<Vec<_>>>()?;
    let classes = CLASSES.iter().map(|c| c.to_string()).collect();
    let labels = LabelSet::new(ids, classes, rows)?;
    Ok(ImageSplit::from_ids(
        labels,
        &root.join("JPEGImages"),
        ".jpg",
    ))
}

/// `voc:ROOT`: trainval and test of a `VOC20XX` folder.
pub fn load(root: &Path) -> Result<ImageDataset> {
    let split = |name: &str| read_split(root, read_image_set(root, name)?);
    Ok(ImageDataset {
        train: split("trainval")?,
        test: split("test")?,
    })
}

/// `voc-mlt:VOCDEVKIT`: the shipped VOC-MLT subset of `VOC2012` (labels checked against the shipped ones) and
/// the `VOC2007` test set.
pub fn load_mlt(devkit: &Path) -> Result<ImageDataset> {
    let shipped = Shipped::VocMlt.labels();
    let train_root = devkit.join(MLT_TRAIN_DIR);
    let train = read_split(&train_root, shipped.ids().to_vec())?;
    check_shipped(&train.labels, &shipped, Shipped::VocMlt.name(), |id| {
        annotation_path(&train_root, id)
    })?;
    let test_root = devkit.join(MLT_TEST_DIR);
    let test = read_split(&test_root, read_image_set(&test_root, "test")?)?;
    Ok(ImageDataset { train, test })
}
