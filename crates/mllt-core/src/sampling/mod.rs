//! Samplers: which training items each epoch visits, in which order.
//!
//! [`UniformSampler`] is plain shuffling (every item once per epoch). [`ClassAwareSampler`] is the class-aware
//! re-sampling of the paper (Sec. 3.1) as the reference implements it (`ClassAwareSampler`, semantics §4).
//! Both are deterministic functions of their seed.

mod class_aware;
mod cycle;
mod uniform;

pub use class_aware::{ClassAwareSampler, class_aware_epoch_len};
pub use uniform::UniformSampler;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::labels::LabelSet;

/// Which sampler to train with (TOML: `kind = "uniform"` or `kind = "class-aware"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SamplerConfig {
    /// Every item once per epoch, in a fresh random order.
    Uniform,
    /// Class-aware re-sampling: draw a class, then `per_class` consecutive images of it.
    ClassAware {
        /// Epoch length is `int(max n_c · C / reduce)`; the reference uses 4.
        #[serde(default = "default_reduce")]
        reduce: usize,
        /// Images taken per class draw; the reference uses 3.
        #[serde(default = "default_per_class")]
        per_class: usize,
    },
}

fn default_reduce() -> usize {
    4
}

fn default_per_class() -> usize {
    3
}

impl SamplerConfig {
    /// The reference class-aware sampler: reduce 4, 3 images per class draw.
    pub fn class_aware() -> Self {
        SamplerConfig::ClassAware {
            reduce: default_reduce(),
            per_class: default_per_class(),
        }
    }
}

/// A seeded sampler of either kind.
#[derive(Debug, Clone)]
pub enum Sampler {
    Uniform(UniformSampler),
    ClassAware(ClassAwareSampler),
}

impl Sampler {
    /// Builds the sampler for `labels`, seeded by `seed`.
    pub fn new(config: &SamplerConfig, labels: &LabelSet, seed: u64) -> Result<Sampler> {
        Ok(match *config {
            SamplerConfig::Uniform => Sampler::Uniform(UniformSampler::new(labels.len(), seed)?),
            SamplerConfig::ClassAware { reduce, per_class } => {
                Sampler::ClassAware(ClassAwareSampler::new(labels, reduce, per_class, seed)?)
            }
        })
    }

    /// Number of items in one epoch.
    pub fn epoch_len(&self) -> usize {
        match self {
            Sampler::Uniform(s) => s.epoch_len(),
            Sampler::ClassAware(s) => s.epoch_len(),
        }
    }

    /// The item indices of the next epoch, in order.
    pub fn next_epoch(&mut self) -> Vec<usize> {
        match self {
            Sampler::Uniform(s) => s.next_epoch(),
            Sampler::ClassAware(s) => s.next_epoch(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_from_toml_shapes() {
        let c: SamplerConfig = serde_json::from_str(r#"{"kind":"class-aware"}"#).unwrap();
        assert_eq!(c, SamplerConfig::class_aware());
        let c: SamplerConfig = serde_json::from_str(r#"{"kind":"uniform"}"#).unwrap();
        assert_eq!(c, SamplerConfig::Uniform);
        assert!(
            serde_json::from_str::<SamplerConfig>(r#"{"kind":"class-aware","redcue":2}"#).is_err()
        );
    }
}
