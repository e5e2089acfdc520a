//! One training run of an experiment, on a feature dataset, with no resume, log lines or deployable model.
//! An ML-GCN run gets the MiniLM embeddings of the dataset's class names as its label vectors, computed once
//! per process and class list.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use mllt_nn::backend::Device;
use mllt_nn::features::FeatureDataset;
use mllt_nn::model::{HeadConfig, LabelVectors};
use mllt_nn::train::{RunOptions, TrainConfig, TrainError, TrainOutcome, train};

/// Trains `config` on `data.train` with seed `seed` into the folder `out` (every training item: no held-out
/// split, the reference's threshold) and evaluates on `data.test`.
pub fn train_run(
    data: &FeatureDataset,
    config: &TrainConfig,
    seed: u64,
    out: PathBuf,
    device: &Device,
) -> Result<TrainOutcome, TrainError> {
    let options = RunOptions {
        seed,
        out,
        resume: false,
        max_steps: None,
        log_every: 0,
        holdout: false,
        deploy: None,
        label_vectors: match config.model {
            HeadConfig::MlGcn { .. } => Some(label_vectors(data.class_names())?),
            _ => None,
        },
    };
    train(data, config, &options, device, &mut ())
}

/// The MiniLM label vectors of `class_names` ([`mllt_nn::text::label_embeddings`]), memoised: every ML-GCN
/// run of an experiment on the same classes shares one encoding.
fn label_vectors(class_names: &[String]) -> Result<LabelVectors, TrainError> {
    static CACHE: OnceLock<Mutex<HashMap<Vec<String>, LabelVectors>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(vectors) = cache.get(class_names) {
        return Ok(vectors.clone());
    }
    let vectors = mllt_nn::text::label_embeddings(class_names, &mllt_nn::backend::cpu())
        .map_err(|e| TrainError::Invalid(format!("ML-GCN's label vectors: {e}")))?;
    cache.insert(class_names.to_vec(), vectors.clone());
    Ok(vectors)
}

/// The iterations a finished run trained.
pub fn iterations(outcome: &TrainOutcome) -> usize {
    outcome.history.last().map_or(0, |r| r.global_iteration)
}
