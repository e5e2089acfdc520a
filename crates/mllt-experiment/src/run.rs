//! One training run of an experiment, on a feature dataset, with no resume, log lines or deployable model.

use std::path::PathBuf;

use mllt_nn::backend::Device;
use mllt_nn::features::FeatureDataset;
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
        label_vectors: None,
    };
    train(data, config, &options, device, &mut ())
}

/// The iterations a finished run trained.
pub fn iterations(outcome: &TrainOutcome) -> usize {
    outcome.history.last().map_or(0, |r| r.global_iteration)
}
