//! A run's configuration: one TOML file (`configs/<method>.toml`). Every table rejects unknown keys.
//!
//! ```toml
//! method = "db-focal"                          # a name, reported in metrics.json
//! [model]     kind = "pfc"                     # or "linear"; hidden = 256, dropout = 0.5
//! [sampler]   kind = "class-aware"             # or "uniform"; reduce = 4, per_class = 3
//! [schedule]  epochs = 8, lr_steps = [5, 7]    # lr_gamma 0.1, warmup_iters 500, warmup_ratio 1/3, batch_size 32
//! [optimizer] lr = 0.02                        # momentum 0.9, weight_decay 1e-4, clip_grad_norm 35
//! [loss]      ...                              # see mllt_nn::loss
//! ```

use std::path::Path;

use mllt_core::sampling::SamplerConfig;
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::schedule::ScheduleConfig;
use super::sgd::SgdConfig;
use crate::loss::LossConfig;
use crate::model::HeadConfig;

/// Everything that determines a training run, except the data and the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The method's name (free text).
    #[serde(default)]
    pub method: String,
    /// The head (default: the paper's PFC head).
    #[serde(default)]
    pub model: HeadConfig,
    /// The sampler (default: uniform shuffling).
    #[serde(default = "uniform")]
    pub sampler: SamplerConfig,
    /// Epochs, learning-rate steps, warm-up and batch size (required: the paper's two schedules differ).
    pub schedule: ScheduleConfig,
    /// SGD hyper-parameters (default: the reference's).
    #[serde(default)]
    pub optimizer: SgdConfig,
    /// The loss (default: plain BCE).
    #[serde(default)]
    pub loss: LossConfig,
}

fn uniform() -> SamplerConfig {
    SamplerConfig::Uniform
}

impl TrainConfig {
    /// Parses TOML; `origin` (a file name or `preset <name>`) prefixes error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<TrainConfig, TrainError> {
        let config: TrainConfig = toml::from_str(text).map_err(|e| TrainError::Config {
            origin: origin.to_string(),
            message: one_line(&e.to_string()),
        })?;
        config.validate().map_err(|message| TrainError::Config {
            origin: origin.to_string(),
            message,
        })?;
        Ok(config)
    }

    /// Reads a TOML file.
    pub fn read(path: &Path) -> Result<TrainConfig, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| mllt_core::Error::Io {
            path: path.into(),
            source,
        })?;
        TrainConfig::from_toml(&text, &path.display().to_string())
    }

    /// The TOML text of this configuration.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a TrainConfig always serialises to TOML")
    }

    /// Checks the ranges that serde cannot (the loss is checked when it is bound to the data).
    pub fn validate(&self) -> Result<(), String> {
        self.model.validate()?;
        self.schedule.validate()?;
        self.optimizer.validate()
    }
}

/// toml's messages span several lines (a source excerpt); keep the first line and the explanation.
fn one_line(message: &str) -> String {
    let mut lines = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|'));
    let head = lines.next().unwrap_or_default().to_string();
    match lines.next_back() {
        Some(last) if last != head => format!("{head} {last}"),
        _ => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[schedule]\nepochs = 2\nlr_steps = [1]\n";

    #[test]
    fn defaults_are_the_reference() {
        let c = TrainConfig::from_toml(MINIMAL, "t.toml").unwrap();
        assert_eq!(c.model, HeadConfig::default());
        assert_eq!(c.sampler, SamplerConfig::Uniform);
        assert_eq!(c.optimizer, SgdConfig::default());
        assert_eq!(c.loss, LossConfig::bce());
        assert_eq!(c.schedule.batch_size, 32);
        assert_eq!(c.schedule.warmup_iters, 500);
        let again = TrainConfig::from_toml(&c.to_toml(), "round trip").unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        for (text, key) in [
            (
                "colour = 1\n[schedule]\nepochs = 2\nlr_steps = []\n",
                "colour",
            ),
            (
                "[schedule]\nepochs = 2\nlr_steps = []\nbatch = 3\n",
                "batch",
            ),
            (
                "[schedule]\nepochs = 2\nlr_steps = []\n[optimizer]\nmomentun = 0.9\n",
                "momentun",
            ),
            (
                "[schedule]\nepochs = 2\nlr_steps = []\n[model]\nkind = \"pfc\"\nwidth = 3\n",
                "width",
            ),
            (
                "[schedule]\nepochs = 2\nlr_steps = []\n[loss]\nfocus = {}\n",
                "focus",
            ),
        ] {
            let err = TrainConfig::from_toml(text, "x.toml")
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("x.toml: ") && err.contains(key) && !err.contains('\n'),
                "{err}"
            );
        }
        let err = TrainConfig::from_toml("[optimizer]\nlr = 0.1\n", "y.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("schedule"), "{err}");
        let err = TrainConfig::from_toml("[schedule]\nepochs = 0\nlr_steps = []\n", "z.toml")
            .unwrap_err();
        assert!(err.to_string().contains("schedule.epochs"), "{err}");
    }
}
