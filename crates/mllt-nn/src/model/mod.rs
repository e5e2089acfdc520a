//! The model (semantics §5): the paper's head on pre-extracted features, and the end-to-end image network.

mod batch_norm;
mod head;
mod init;
mod network;

pub use batch_norm::BatchNorm1d;
pub use head::{Head, Neck};
pub use network::{Backbone, BackboneKind, BackboneWeights, ImageNetwork};

use serde::{Deserialize, Serialize};

/// Which head to train (TOML `[model]`, `kind = "pfc"` or `kind = "linear"`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum HeadConfig {
    /// The paper's head: PFC neck `fc(d→hidden) → BatchNorm1d → Dropout`, no activation, then `fc(hidden→C)`.
    Pfc {
        /// Neck width; the paper uses 256.
        #[serde(default = "default_hidden")]
        hidden: usize,
        /// Neck dropout probability; the reference uses 0.5.
        #[serde(default = "default_dropout")]
        dropout: f64,
    },
    /// A single linear classifier `fc(d→C)`, initialised like the paper's classifier.
    Linear,
}

fn default_hidden() -> usize {
    256
}

fn default_dropout() -> f64 {
    0.5
}

impl Default for HeadConfig {
    /// The paper's head: hidden 256, dropout 0.5.
    fn default() -> Self {
        HeadConfig::Pfc {
            hidden: default_hidden(),
            dropout: default_dropout(),
        }
    }
}

impl HeadConfig {
    /// Checks the ranges: a non-zero width and a dropout probability in [0, 1).
    pub fn validate(&self) -> Result<(), String> {
        if let HeadConfig::Pfc { hidden, dropout } = *self {
            if hidden == 0 {
                return Err("model.hidden must be at least 1".into());
            }
            if !(0.0..1.0).contains(&dropout) {
                return Err(format!("model.dropout must be in [0, 1), got {dropout}"));
            }
        }
        Ok(())
    }
}
