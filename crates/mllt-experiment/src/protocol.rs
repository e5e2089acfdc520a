//! How long each run trains (issue 11 item 5): the two protocols, and the shorter selection runs of the
//! validation search (item 2).
//!
//! * [`Protocol::Matched`] gives every run the same number of iterations: uniform-sampling schedules are
//!   rescaled in epochs; class-aware ones keep their 8 epochs and rescale the epoch length through the
//!   sampler's `reduce`. Both keep the paper's learning-rate steps at the same fractions of training.
//! * [`Protocol::Paper`] trains the presets' own schedules (paper §4.2): 80 epochs of uniform sampling with steps
//!   [55, 70], or 8 epochs of class-aware re-sampling with steps [5, 7].
//!
//! A selection run (validation) is the final run shortened by the factor `tune_iterations / iterations`
//! (¼ by default): under `matched` it has `tune_iterations` iterations; under `paper` it is the preset's
//! schedule rescaled, as above, to that fraction of the schedule's own iteration count.

use mllt_core::LabelSet;
use mllt_core::sampling::{SamplerConfig, class_aware_epoch_len};
use mllt_nn::train::TrainConfig;
use serde::Serialize;

/// The training protocol of `mllt reproduce --protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// Every run gets the same number of iterations.
    Matched,
    /// The paper's schedules: the presets as they are.
    Paper,
}

/// The run lengths of one experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunLengths {
    pub protocol: Protocol,
    /// Iterations of a final run under [`Protocol::Matched`].
    pub iterations: usize,
    /// Iterations of a selection run under [`Protocol::Matched`]; under [`Protocol::Paper`] the ratio
    /// `tune_iterations / iterations` shortens the presets' schedules.
    pub tune_iterations: usize,
}

impl RunLengths {
    /// `config` as a final (full-length) run on `train`: rescaled to `iterations` (matched), or unchanged
    /// (paper).
    pub fn full(&self, config: TrainConfig, train: &LabelSet) -> anyhow::Result<TrainConfig> {
        match self.protocol {
            Protocol::Matched => rescale(config, train, self.iterations),
            Protocol::Paper => Ok(config),
        }
    }

    /// `config` as a cheap selection run on `train`: `tune_iterations` (matched), or the preset's schedule
    /// shortened by `tune_iterations / iterations` (paper).
    pub fn cheap(&self, config: TrainConfig, train: &LabelSet) -> anyhow::Result<TrainConfig> {
        let iterations = match self.protocol {
            Protocol::Matched => self.tune_iterations,
            Protocol::Paper => {
                let fraction = self.tune_iterations as f64 / self.iterations.max(1) as f64;
                ((schedule_iterations(&config, train) as f64 * fraction).round() as usize).max(1)
            }
        };
        rescale(config, train, iterations)
    }
}

/// The iterations of `config`'s schedule on `train`: epochs × full batches per epoch, an epoch being every item
/// (uniform) or `class_aware_epoch_len(counts, reduce)` draws (class-aware).
pub fn schedule_iterations(config: &TrainConfig, train: &LabelSet) -> usize {
    let per_epoch_items = match config.sampler {
        SamplerConfig::Uniform => train.len(),
        SamplerConfig::ClassAware { reduce, .. } => {
            class_aware_epoch_len(&train.class_counts(), reduce)
        }
    };
    config.schedule.epochs * (per_epoch_items / config.schedule.batch_size.max(1))
}

/// Rescales `config` to about `iterations` iterations on `train` (see the module documentation): uniform
/// sampling gets `round(iterations / (N / B))` epochs (at least 1); class-aware sampling keeps its epochs E and
/// gets `reduce = round(max n_c · C / (iterations · B / E))` (at least 1). The learning-rate steps move to the
/// same fraction of the new epoch count (steps at or past the end dropped), and the warm-up is cut to at most a
/// quarter of the run.
pub fn rescale(
    mut config: TrainConfig,
    train: &LabelSet,
    iterations: usize,
) -> anyhow::Result<TrainConfig> {
    let s = &mut config.schedule;
    let batch = s.batch_size.max(1);
    let old_epochs = s.epochs.max(1);
    match &mut config.sampler {
        SamplerConfig::Uniform => {
            let per_epoch = (train.len() / batch).max(1);
            s.epochs = (iterations as f64 / per_epoch as f64).round().max(1.0) as usize;
        }
        SamplerConfig::ClassAware { reduce, .. } => {
            let full = class_aware_epoch_len(&train.class_counts(), 1) as f64;
            let wanted = (iterations * batch) as f64 / old_epochs as f64;
            *reduce = (full / wanted).round().max(1.0) as usize;
        }
    }
    let epochs = s.epochs;
    let mut steps: Vec<usize> = s
        .lr_steps
        .iter()
        .map(|&e| {
            ((e as f64 * epochs as f64 / old_epochs as f64).round() as usize).clamp(1, epochs)
        })
        .filter(|&e| e < epochs)
        .collect();
    steps.dedup();
    s.lr_steps = steps;
    s.warmup_iters = s.warmup_iters.min(iterations / 4);
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("{}: rescaled schedule: {e}", config.method))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preset;

    /// `n` items; class 0 on every item, class 1 on every 4th: counts [n, n/4].
    fn labels(n: usize) -> LabelSet {
        let ids = (0..n).map(|k| format!("i{k}")).collect();
        let rows = (0..n)
            .map(|k| if k % 4 == 0 { vec![0, 1] } else { vec![0] })
            .collect();
        LabelSet::new(ids, vec!["a".into(), "b".into()], rows).unwrap()
    }

    #[test]
    fn matched_rescales_uniform_epochs_and_steps() {
        // 3200 items, batch 32: 100 iterations per epoch. 4000 iterations → 40 epochs; steps [55, 70] of 80 →
        // [27.5, 35] → [28, 35]; warm-up 500 stays (≤ 4000 / 4). 1000 iterations → 10 epochs, steps [7, 9]
        // (6.875, 8.75 rounded), warm-up cut to 250.
        let train = labels(3200);
        let erm = Preset::Erm.config().unwrap();
        let lengths = RunLengths {
            protocol: Protocol::Matched,
            iterations: 4000,
            tune_iterations: 1000,
        };
        let full = lengths.full(erm.clone(), &train).unwrap();
        assert_eq!(full.schedule.epochs, 40);
        assert_eq!(full.schedule.lr_steps, vec![28, 35]);
        assert_eq!(full.schedule.warmup_iters, 500);
        assert_eq!(schedule_iterations(&full, &train), 4000);
        let cheap = lengths.cheap(erm, &train).unwrap();
        assert_eq!(cheap.schedule.epochs, 10);
        assert_eq!(cheap.schedule.lr_steps, vec![7, 9]);
        assert_eq!(cheap.schedule.warmup_iters, 250);
    }

    #[test]
    fn matched_rescales_class_aware_reduce() {
        // Counts [3200, 800], C = 2: max n_c · C = 6400. 8 epochs of 4000 iterations in all: 500 iterations,
        // 16000 draws per epoch: reduce = round(6400 / 16000) = 0 → 1 (the longest epoch there is: 6400
        // draws, 200 iterations). 400 iterations: 50 per epoch, 1600 draws: reduce 4, 6400 / 4 / 32 = 50.
        let train = labels(3200);
        let rs = Preset::Rs.config().unwrap();
        let at = |iterations| rescale(rs.clone(), &train, iterations).unwrap();
        let reduce = |c: &TrainConfig| match c.sampler {
            SamplerConfig::ClassAware { reduce, .. } => reduce,
            SamplerConfig::Uniform => unreachable!("rs re-samples"),
        };
        assert_eq!(reduce(&at(4000)), 1);
        let short = at(400);
        assert_eq!(reduce(&short), 4);
        assert_eq!(short.schedule.epochs, 8);
        assert_eq!(short.schedule.lr_steps, vec![5, 7]);
        assert_eq!(schedule_iterations(&short, &train), 400);
    }

    #[test]
    fn paper_keeps_the_presets_and_shortens_selection_runs_by_the_same_factor() {
        // ERM's 80 epochs of 100 iterations = 8000; a quarter: 2000 iterations = 20 epochs, steps [55, 70] →
        // [13.75, 17.5] → [14, 18]. RS: reduce 4 gives 6400 / 4 / 32 = 50 iterations per epoch, 400 in all;
        // a quarter, 100, needs reduce round(6400 / (100 · 32 / 8)) = 16: 400 draws, 12 full batches per epoch, 96
        // iterations (the batches round down).
        let train = labels(3200);
        let lengths = RunLengths {
            protocol: Protocol::Paper,
            iterations: 4000,
            tune_iterations: 1000,
        };
        let erm = Preset::Erm.config().unwrap();
        assert_eq!(lengths.full(erm.clone(), &train).unwrap(), erm);
        assert_eq!(schedule_iterations(&erm, &train), 8000);
        let cheap = lengths.cheap(erm, &train).unwrap();
        assert_eq!(cheap.schedule.epochs, 20);
        assert_eq!(cheap.schedule.lr_steps, vec![14, 18]);
        let rs = Preset::Rs.config().unwrap();
        assert_eq!(schedule_iterations(&rs, &train), 400);
        let cheap = lengths.cheap(rs, &train).unwrap();
        assert_eq!(schedule_iterations(&cheap, &train), 96);
    }
}
