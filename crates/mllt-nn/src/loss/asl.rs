//! Asymmetric loss (ASL, Ridnik et al., ICCV 2021), a multi-label baseline.
//!
//! With `p = σ(z)` and the shifted probability `p_m = max(p − m, 0)` (the "probability margin" or
//! `clip` m):
//! * positive: `−(1 − p)^{γ+} · log p`;
//! * negative: `−p_m^{γ−} · log(1 − p_m)`.
//!
//! Numerics: `(1 − p)^{γ+} = exp(γ+·log σ(−z))`, `log p = log σ(z)`, and
//! `1 − p_m = min(σ(−z) + m, 1)` (≥ m, so its logarithm is finite). With m = 0 the negative term is
//! computed as `exp(γ−·log σ(z)) · softplus(z)`, finite for any finite z. The official ASL code instead
//! clamps probabilities at 1e-8 before the logarithm, which caps the loss and zeroes the gradient of
//! confidently wrong logits; it also returns the *sum* of the elementwise loss, while
//! [`super::Loss::training_loss`] takes the mean over B·C like every loss here. The focusing factors
//! are not detached (the official code's default).

use burn::Tensor;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

use super::bce::{sigmoid_power, softplus};
use super::{LossError, Requirement};

/// `[loss.asl]`: the asymmetric loss, which replaces the BCE kernel.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AslConfig {
    /// γ+ ≥ 0, focusing of the positive terms (default 0).
    #[serde(default)]
    pub gamma_pos: f64,
    /// γ− ≥ 0, focusing of the negative terms (default 4).
    #[serde(default = "default_gamma_neg")]
    pub gamma_neg: f64,
    /// The probability margin m in [0, 1) that shifts negative probabilities (default 0.05).
    #[serde(default = "default_clip")]
    pub clip: f64,
}

fn default_gamma_neg() -> f64 {
    4.0
}

fn default_clip() -> f64 {
    0.05
}

impl Default for AslConfig {
    fn default() -> Self {
        Self {
            gamma_pos: 0.0,
            gamma_neg: default_gamma_neg(),
            clip: default_clip(),
        }
    }
}

impl AslConfig {
    pub(super) fn validate(&self) -> Result<(), LossError> {
        Requirement::NonNegative.check("asl.gamma_pos", self.gamma_pos)?;
        Requirement::NonNegative.check("asl.gamma_neg", self.gamma_neg)?;
        Requirement::HalfOpenUnit.check("asl.clip", self.clip)
    }

    /// The unweighted elementwise ASL, shape `(B, C)`.
    pub(super) fn elementwise(&self, logits: Tensor<2>, labels: Tensor<2>) -> Tensor<2> {
        let flipped = logits.clone().neg();
        let positive = sigmoid_power(flipped.clone(), self.gamma_pos) * softplus(flipped);
        let negative = if self.clip > 0.0 {
            self.shifted_negative(logits)
        } else {
            sigmoid_power(logits.clone(), self.gamma_neg) * softplus(logits)
        };
        let negatives = labels.clone().neg().add_scalar(1.0);
        labels * positive + negatives * negative
    }

    /// `−p_m^{γ−} · log(1 − p_m)` for `m > 0`.
    fn shifted_negative(&self, logits: Tensor<2>) -> Tensor<2> {
        let shifted = sigmoid(logits.clone()).sub_scalar(self.clip).clamp_min(0.0);
        let complement = sigmoid(logits.neg()).add_scalar(self.clip).clamp_max(1.0);
        // p_m^γ− with the zero base replaced before the power, so that the power's gradient stays
        // finite for any γ− (the masked elements get value 0 and no gradient).
        let at_zero = shifted.clone().equal_elem(0.0);
        let factor = shifted
            .mask_fill(at_zero.clone(), 1.0)
            .powf_scalar(self.gamma_neg)
            .mask_fill(at_zero, 0.0);
        factor * complement.log().neg()
    }
}
