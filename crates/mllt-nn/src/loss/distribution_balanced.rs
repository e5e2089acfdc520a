//! The BCE family as one composition: Eq. 10 of the paper, the reference's `ResampleLoss.forward`.
//!
//! Eq. 10: `L_DB = (1/C) Σ_i r̂_i [ y_i log(1 + e^{−(z_i−ν_i)}) + (1/λ)(1 − y_i) log(1 + e^{λ(z_i−ν_i)}) ]`.
//!
//! Per element, in the reference's order (code spec 3.3 and 3.5):
//! 1. `u = z + b` — the NTR class-prior bias ([`super::ntr`]); then `u −= Δ_c·y` for LDAM
//!    ([`super::ldam`], not part of the reference);
//! 2. `z' = s·u` with `s = λ` on negatives and 1 on positives (NTR), times LDAM's scale;
//! 3. `ℓ0 = BCE(z', y) = softplus(t)`, `t = (1 − 2y)·z'` ([`super::bce`]);
//! 4. focal: `ℓ = balance · σ(t)^γ · ℓ0` ([`super::focal`]; uses the transformed logits);
//! 5. `ℓ ·= 1/λ` on negatives (NTR); the caller multiplies by the re-weighting `w`
//!    ([`super::reweight`], r̂ of Eq. 4 for DB, on positives **and** negatives) and `loss_weight`.
//!
//! Every method of the paper's tables is a special case: ERM (nothing), Focal, RW / CB (weights),
//! R-BCE (r̂), NT-BCE (NTR), DB (r̂ + NTR), DB-Focal (r̂ + NTR + focal, the released configs).

use burn::Tensor;

use super::bce::{signed_logits, softplus};
use super::focal::FocalConfig;
use super::ldam::Ldam;
use super::ntr::Ntr;

/// The optional stages of the BCE-family composition.
#[derive(Debug, Clone)]
pub(super) struct DistributionBalanced {
    pub(super) ntr: Option<Ntr>,
    pub(super) ldam: Option<Ldam>,
    pub(super) focal: Option<FocalConfig>,
}

impl DistributionBalanced {
    /// The elementwise loss before re-weighting, shape `(B, C)`.
    pub(super) fn elementwise(&self, logits: Tensor<2>, labels: Tensor<2>) -> Tensor<2> {
        let mut logits = logits;
        if let Some(ntr) = &self.ntr {
            logits = ntr.shift(logits);
        }
        if let Some(ldam) = &self.ldam {
            logits = ldam.scale(ldam.shift(logits, labels.clone()));
        }
        if let Some(ntr) = &self.ntr {
            logits = logits * ntr.logit_scale(labels.clone());
        }
        let signed = signed_logits(logits, labels.clone());
        let mut loss = softplus(signed.clone());
        if let Some(focal) = &self.focal {
            loss = loss * focal.factor(signed);
        }
        if let Some(ntr) = &self.ntr {
            loss = loss * ntr.weight_scale(labels);
        }
        loss
    }
}
