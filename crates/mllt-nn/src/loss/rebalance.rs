//! Re-balanced weighting, Eq. 2–5 of the paper (the reference's `rebalance_weight`).
//!
//! Eq. 2–3: `r_i^k = P_i^C / P^I = (1/n_i) / Σ_{j: y_j^k = 1} 1/n_j` (the 1/C of Eq. 2 cancels).
//! Eq. 4: `r̂ = α + σ(β·(r − μ))`. Eq. 5 (R-BCE) multiplies the BCE term of every class by r̂.
//!
//! Reference deviations followed here (code spec 3.4, discrepancies 9.1–9.2):
//! * r and r̂ are computed for **every** class of the instance, negatives included, and r̂ weights the
//!   negative terms too (the paper defines r only on positive labels). Shape `(B, C)`.
//! * The reference calls μ `map_param.gamma`; here it is `mu`.
//! * An instance with no positive label has `P^I = 0`, so `r = +∞` and `r̂ = α + 1` for all its
//!   classes: that value is produced directly, without forming the infinity.

use burn::Tensor;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

use super::reweight::WeightNorm;
use super::{LossError, Requirement, class_row, require_counts};

/// `kind = "rebalance"`: the smoothing map of Eq. 4. The paper's configs use α = 0.1, β = 10 and
/// μ = 0.3 (VOC-MLT) or 0.2 (COCO-MLT); the reference's constructor defaults are meaningless, so
/// all three are required.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RebalanceConfig {
    /// α ≥ 0, the overall lift of the weight.
    pub alpha: f64,
    /// β, the slope of the sigmoid.
    pub beta: f64,
    /// μ, the shift of the sigmoid (the reference's `map_param.gamma`).
    pub mu: f64,
    /// Normalisation of the `(B, C)` weights (none in the paper).
    #[serde(default)]
    pub norm: WeightNorm,
}

/// Eq. 2–4 bound to the class counts.
#[derive(Debug, Clone)]
pub(super) struct Rebalance {
    inverse_counts: Vec<f64>,
    alpha: f64,
    beta: f64,
    mu: f64,
}

impl Rebalance {
    pub(super) fn new(config: &RebalanceConfig, counts: &[usize]) -> Result<Self, LossError> {
        Requirement::NonNegative.check("weighting.alpha", config.alpha)?;
        Requirement::Finite.check("weighting.beta", config.beta)?;
        Requirement::Finite.check("weighting.mu", config.mu)?;
        require_counts("weighting.rebalance", counts, None)?;
        Ok(Self {
            inverse_counts: counts.iter().map(|&n| 1.0 / n as f64).collect(),
            alpha: config.alpha,
            beta: config.beta,
            mu: config.mu,
        })
    }

    /// r̂ of Eq. 4 for every (instance, class) pair, shape `(B, C)`.
    pub(super) fn weights(&self, labels: &Tensor<2>) -> Tensor<2> {
        let inverse_counts = class_row(&self.inverse_counts, labels);
        // P^I up to the factor 1/C (Eq. 2), shape (B, 1).
        let instance_rate = (labels.clone() * inverse_counts.clone()).sum_dim(1);
        let empty = instance_rate.clone().equal_elem(0.0);
        let ratio = inverse_counts / instance_rate.mask_fill(empty.clone(), 1.0);
        let mapped =
            sigmoid(ratio.sub_scalar(self.mu).mul_scalar(self.beta)).add_scalar(self.alpha);
        let [batch, classes] = mapped.dims();
        mapped.mask_fill(empty.expand([batch, classes]), self.alpha + 1.0)
    }
}
