//! The shipped DebTags-MLT (`data/debtags-mlt`) loads, has the promised shape and gives TF-IDF features.

use std::collections::HashSet;
use std::path::PathBuf;

use mllt_data::textset::{TextDataset, load_features};

fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/debtags-mlt")
}

#[test]
fn shipped_debtags_loads_with_evaluable_classes() {
    let ds = TextDataset::read(&shipped()).unwrap();
    let classes = ds.train.num_classes();
    assert!(classes >= 100, "{classes} labels");
    assert!(ds.train.len() > 1000 && ds.test.len() > 1000);
    let (train, test) = (ds.train.class_counts(), ds.test.class_counts());
    assert!(
        train.iter().all(|&n| n >= 4),
        "a class with < 4 training positives"
    );
    assert!(
        test.iter().all(|&n| n >= 3),
        "a class with < 3 test positives"
    );
    assert!(
        ds.train
            .rows()
            .iter()
            .chain(ds.test.rows())
            .all(|r| !r.is_empty())
    );
    let train_ids: HashSet<&String> = ds.train.ids().iter().collect();
    assert!(ds.test.ids().iter().all(|id| !train_ids.contains(id)));
    assert!(
        ds.train_texts
            .iter()
            .all(|t| !t.is_empty() && t.chars().count() <= 2000)
    );
    let names = ds.train.class_names();
    for dropped in [
        "role::",
        "implemented-in::",
        "devel::lang:",
        "x11::",
        "interface::graphical",
    ] {
        assert!(!names.iter().any(|n| n.starts_with(dropped)), "{dropped}");
    }
    assert!(names.iter().any(|n| n == "interface::x11"));
}

#[test]
fn shipped_debtags_gives_normalised_tfidf_rows() {
    let width = 1 << 10;
    let f = load_features(&shipped(), width).unwrap();
    assert_eq!(f.train.dim, width);
    assert_eq!(f.test.features.len(), f.test.labels.len() * width);
    for row in f.train.features.chunks(width).take(50) {
        let norm: f32 = row.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }
}
