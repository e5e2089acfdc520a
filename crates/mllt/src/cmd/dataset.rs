//! Training data for `train`, `test` and `reproduce`: a shipped benchmark name or a folder holding either
//! precomputed features (`features.safetensors`) or texts (`texts.tsv`, turned into hashed TF-IDF features at
//! load time, idf fitted on the training texts).

use std::path::{Path, PathBuf};

use mllt_data::textset::{TEXTS_FILE, TextSplit, load_features};
use mllt_data::tfidf::DEFAULT_WIDTH;
use mllt_nn::deploy::Input;
use mllt_nn::features::{FeatureDataset, FeatureSplit};

/// The real benchmarks that ship in `data/`.
pub const SHIPPED: [&str; 2] = ["openclipart-mlt", "debtags-mlt"];

/// The folder of a dataset: a path as given, or a shipped name looked up in `./data/` and then in the
/// `data/` folder of the source tree this binary was built from.
pub fn resolve(spec: &Path) -> anyhow::Result<PathBuf> {
    let name = spec.to_string_lossy();
    if spec.is_dir() || !SHIPPED.contains(&name.as_ref()) {
        return Ok(spec.to_path_buf());
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(spec);
    [Path::new("data").join(spec), built_from]
        .into_iter()
        .find(|p| p.is_dir())
        .ok_or_else(|| {
            anyhow::anyhow!("{name}: shipped dataset not found in ./data/ nor in the source tree")
        })
}

/// Loads a feature or text dataset: a folder or a shipped name (see [`resolve`]), with the default TF-IDF width.
pub fn load(spec: &Path) -> anyhow::Result<FeatureDataset> {
    Ok(load_with_input(spec, DEFAULT_WIDTH)?.0)
}

/// Loads a dataset; a text dataset is hashed to `text_width` TF-IDF columns.
pub fn load_with_width(spec: &Path, text_width: usize) -> anyhow::Result<FeatureDataset> {
    Ok(load_with_input(spec, text_width)?.0)
}

/// Loads a dataset and the input pipeline a model trained on it reads: its feature dimension, or the
/// TF-IDF vectoriser fitted on its training texts (`text_width` columns).
pub fn load_with_input(spec: &Path, text_width: usize) -> anyhow::Result<(FeatureDataset, Input)> {
    let dir = resolve(spec)?;
    if !dir.join(TEXTS_FILE).is_file() {
        let data = FeatureDataset::read(&dir)?;
        let input = Input::Features { dim: data.dim() };
        return Ok((data, input));
    }
    let text = load_features(&dir, text_width)?;
    let split = |s: TextSplit| FeatureSplit {
        labels: s.labels,
        features: s.features,
        dim: s.dim,
    };
    let data = FeatureDataset {
        train: split(text.train),
        test: split(text.test),
    };
    Ok((data, Input::Text { tfidf: text.tfidf }))
}
