//! Label-distribution-aware margins (LDAM, Cao et al. 2019), adapted to sigmoid BCE as in the paper's
//! appendix A.2: "a class-level margin … `C / n_i^{1/4}` … normalise the largest margin to be 0.5".
//!
//! `Δ_c = max_margin · (min_j n_j / n_c)^{1/4}`, so the rarest class gets `max_margin`. Cao et al.
//! subtract Δ from the logit of the true class before a softmax; the multi-label port used here
//! subtracts `Δ_c` from the logit of every **positive** label and leaves negatives alone, then applies
//! the BCE: `BCE(s·(z − Δ_c·y), y)`. `s` is Cao's logit scale; it defaults to 1 because the logits
//! here come from an unnormalised linear classifier (Cao et al. use s = 30 with normalised features).
//! The reference repository has no LDAM implementation, so there is no golden value for it.

use burn::Tensor;
use serde::{Deserialize, Serialize};

use super::{LossError, Requirement, class_row, require_counts};

/// `[loss.ldam]`: class-level margins on the positive logits.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LdamConfig {
    /// The margin of the rarest class (default 0.5, the paper's choice).
    #[serde(default = "default_max_margin")]
    pub max_margin: f64,
    /// The scale `s` > 0 applied to the margin-shifted logits (default 1).
    #[serde(default = "default_scale")]
    pub scale: f64,
}

fn default_max_margin() -> f64 {
    0.5
}

fn default_scale() -> f64 {
    1.0
}

impl Default for LdamConfig {
    fn default() -> Self {
        Self {
            max_margin: default_max_margin(),
            scale: default_scale(),
        }
    }
}

/// LDAM bound to the class counts.
#[derive(Debug, Clone)]
pub(super) struct Ldam {
    margins: Vec<f64>,
    scale: f64,
}

impl Ldam {
    pub(super) fn new(config: &LdamConfig, counts: &[usize]) -> Result<Self, LossError> {
        Requirement::NonNegative.check("ldam.max_margin", config.max_margin)?;
        Requirement::Positive.check("ldam.scale", config.scale)?;
        require_counts("ldam", counts, None)?;
        Ok(Self {
            margins: margins(counts, config.max_margin),
            scale: config.scale,
        })
    }

    /// `z − Δ_c·y`.
    pub(super) fn shift(&self, logits: Tensor<2>, labels: Tensor<2>) -> Tensor<2> {
        let margins = class_row(&self.margins, &logits);
        logits - labels * margins
    }

    /// `s·z`.
    pub(super) fn scale(&self, logits: Tensor<2>) -> Tensor<2> {
        logits.mul_scalar(self.scale)
    }
}

/// `Δ_c ∝ n_c^{−1/4}`, the largest (rarest class) equal to `max_margin`. Counts must be ≥ 1.
fn margins(counts: &[usize], max_margin: f64) -> Vec<f64> {
    let rarest = counts.iter().copied().min().unwrap_or(1) as f64;
    counts
        .iter()
        .map(|&n| max_margin * (rarest / n as f64).powf(0.25))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::margins;

    #[test]
    fn margins_scale_as_inverse_fourth_root_with_the_rarest_at_max_margin() {
        // n = 1, 16, 81, 625: n^{-1/4} = 1, 1/2, 1/3, 1/5, and the rarest (n = 1) gets 0.5.
        let got = margins(&[16, 1, 81, 625], 0.5);
        let want = [0.25, 0.5, 0.5 / 3.0, 0.1];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{got:?} vs {want:?}");
        }
        // Only ratios matter: scaling every count by 16 halves nothing.
        let scaled = margins(&[256, 16, 1296, 10000], 0.5);
        for (g, w) in scaled.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{scaled:?} vs {want:?}");
        }
    }
}
