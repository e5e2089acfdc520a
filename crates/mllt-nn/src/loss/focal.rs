//! The focal modulation (Lin et al. 2017) as the reference `ResampleLoss` applies it: the paper's
//! "Focal" baseline (Sec. 4.2 (5), γ = 2 with a balance parameter of 2) and the focal part of
//! CB-Focal, R-BCE-Focal and DB-Focal (Table 3). The paper gives it no equation.
//!
//! Reference (code spec 3.3 step 4, discrepancy 9.7): `ℓ0 = BCE(z', y)` on the *regularised* logits
//! `z'` (after the NTR bias and λ-scaling), `p_t = exp(−ℓ0)` and the loss is
//! `balance · (1 − p_t)^γ · BCE(z', y; w)`. With the signed logit `t` of [`super::bce`],
//! `1 − p_t = σ(t)`, so for a negative under NTR the factor is `σ(λu)^γ`.
//! * `balance` (`balance_param`, 2 in the paper) is a constant multiplier; the class-specific α_t of the
//!   focal-loss paper is not used (reference issue #21).
//! * The factor is **not detached**: the gradient flows through it, as in the reference.
//! * It is computed as `exp(γ·log σ(t))`, which is finite in value and gradient for any finite `t` and
//!   any γ ≥ 0 (the reference's `(1 − exp(−ℓ0))^γ` loses precision when ℓ0 is tiny).

use burn::Tensor;
use serde::{Deserialize, Serialize};

use super::bce::sigmoid_power;
use super::{LossError, Requirement};

/// `[loss.focal]`: focal modulation of the BCE terms.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FocalConfig {
    /// Focusing parameter γ ≥ 0 (default 2).
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Constant multiplier `balance_param` > 0 (default 2, the paper's "balance parameter of 2").
    #[serde(default = "default_balance")]
    pub balance: f64,
}

fn default_gamma() -> f64 {
    2.0
}

fn default_balance() -> f64 {
    2.0
}

impl Default for FocalConfig {
    fn default() -> Self {
        Self {
            gamma: default_gamma(),
            balance: default_balance(),
        }
    }
}

impl FocalConfig {
    pub(super) fn validate(&self) -> Result<(), LossError> {
        Requirement::NonNegative.check("focal.gamma", self.gamma)?;
        Requirement::Positive.check("focal.balance", self.balance)
    }

    /// `balance · σ(t)^γ`, the multiplier of the (weighted) BCE term with signed logit `t`.
    pub(super) fn factor(&self, signed_logits: Tensor<2>) -> Tensor<2> {
        sigmoid_power(signed_logits, self.gamma).mul_scalar(self.balance)
    }
}
