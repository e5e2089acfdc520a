//! The shipped datasets, addressable by name, and dataset resolution from a name or a path.
//!
//! The official subsets of the paper's reference implementation ship inside the binary, so the names work from
//! any folder: `voc-mlt` (1142 images, 20 classes), `coco-mlt` (1909 images, 80 classes) and
//! `voc2012-trainval` (11540 images, the input of the VOC-MLT construction).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::labels::{LabelSet, parse_classes, read_classes};

macro_rules! shipped {
    ($dir:literal, $file:literal) => {
        (
            include_str!(concat!("../../../data/", $dir, "/classes.txt")),
            include_str!(concat!("../../../data/", $dir, "/", $file)),
        )
    };
}

/// A dataset that ships with mllt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shipped {
    VocMlt,
    CocoMlt,
    Voc2012Trainval,
}

impl Shipped {
    /// All shipped datasets.
    pub const ALL: [Shipped; 3] = [Shipped::VocMlt, Shipped::CocoMlt, Shipped::Voc2012Trainval];

    /// The name a command takes.
    pub fn name(self) -> &'static str {
        match self {
            Shipped::VocMlt => "voc-mlt",
            Shipped::CocoMlt => "coco-mlt",
            Shipped::Voc2012Trainval => "voc2012-trainval",
        }
    }

    /// The shipped dataset with this name.
    pub fn from_name(name: &str) -> Option<Shipped> {
        Shipped::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The label set.
    pub fn labels(self) -> LabelSet {
        let (classes, tsv) = match self {
            Shipped::VocMlt => shipped!("voc-mlt", "train_labels.tsv"),
            Shipped::CocoMlt => shipped!("coco-mlt", "train_labels.tsv"),
            Shipped::Voc2012Trainval => shipped!("voc2012-trainval", "labels.tsv"),
        };
        let path = PathBuf::from(format!("<shipped {}>", self.name()));
        let classes = parse_classes(classes, &path).expect("shipped classes.txt is valid");
        LabelSet::parse_tsv(tsv, &path, classes).expect("shipped labels are valid")
    }
}

/// The label files that a dataset folder may hold, in the order they are looked for.
const LABEL_FILES: [&str; 3] = ["train_labels.tsv", "train.tsv", "labels.tsv"];

/// Loads a dataset from a shipped name, a folder (with `classes.txt` and one of `train_labels.tsv`,
/// `train.tsv`, `labels.tsv`), or a label TSV with `classes.txt` beside it (or given as `classes`).
pub fn load(spec: &str, classes: Option<&Path>) -> Result<LabelSet> {
    if let (Some(s), None) = (Shipped::from_name(spec), classes) {
        return Ok(s.labels());
    }
    let path = Path::new(spec);
    let (tsv, default_classes) = if path.is_dir() {
        let tsv = LABEL_FILES
            .iter()
            .map(|f| path.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::Format {
                path: path.into(),
                message: format!("no label file ({}) in this folder", LABEL_FILES.join(", ")),
            })?;
        (tsv, path.join("classes.txt"))
    } else if path.is_file() {
        let dir = path.parent().unwrap_or(Path::new("."));
        (path.to_path_buf(), dir.join("classes.txt"))
    } else {
        let names: Vec<&str> = Shipped::ALL.iter().map(|s| s.name()).collect();
        return Err(Error::Invalid(format!(
            "{spec}: no such file or folder, and not a shipped dataset ({})",
            names.join(", ")
        )));
    };
    let classes_path = classes.map_or(default_classes, Path::to_path_buf);
    LabelSet::read_tsv(&tsv, read_classes(&classes_path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_datasets_have_the_official_sizes() {
        let voc = Shipped::VocMlt.labels();
        assert_eq!((voc.len(), voc.num_classes()), (1142, 20));
        let coco = Shipped::CocoMlt.labels();
        assert_eq!((coco.len(), coco.num_classes()), (1909, 80));
        let full = Shipped::Voc2012Trainval.labels();
        assert_eq!((full.len(), full.num_classes()), (11540, 20));
    }

    #[test]
    fn loads_folders_and_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("classes.txt"), "a\nb\n").unwrap();
        std::fs::write(dir.path().join("train.tsv"), "id\tlabels\nx\ta,b\n").unwrap();
        let from_dir = load(dir.path().to_str().unwrap(), None).unwrap();
        let from_file = load(dir.path().join("train.tsv").to_str().unwrap(), None).unwrap();
        assert_eq!(from_dir, from_file);
        assert_eq!(from_dir.class_counts(), vec![1, 1]);
        assert!(
            load("no-such-dataset", None)
                .unwrap_err()
                .to_string()
                .contains("voc-mlt")
        );
    }
}
