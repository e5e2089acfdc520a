//! The binary cross-entropy kernel every sigmoid loss here is built on: the bracket of Eq. 5,
//! `y·log(1 + e^{−z}) + (1 − y)·log(1 + e^{z})`, whose mean over the classes is the ERM baseline.
//!
//! `BCE(z, y) = softplus(z) − y·z` (the reference's `F.binary_cross_entropy_with_logits`, section 3.1 of
//! the code spec). For y ∈ {0, 1} it equals `softplus(t)` with the *signed logit* `t = (1 − 2y)·z`:
//! `softplus(−z)` for a positive, `softplus(z)` for a negative. Writing it this way keeps a single
//! numerically stable primitive, `softplus(t) = −log σ(−t)`, which is finite with a finite gradient for
//! any finite `t` (±1e4 included) on every backend.

use burn::Tensor;
use burn::tensor::activation::log_sigmoid;

/// `t = (1 − 2y)·z`, so that `BCE(z, y) = softplus(t)` and the focal `1 − p_t = σ(t)`.
pub(super) fn signed_logits(logits: Tensor<2>, labels: Tensor<2>) -> Tensor<2> {
    logits * labels.mul_scalar(-2.0).add_scalar(1.0)
}

/// `softplus(x) = log(1 + eˣ) = −log σ(−x)`, stable for |x| → ∞ in value and gradient.
pub(super) fn softplus(x: Tensor<2>) -> Tensor<2> {
    log_sigmoid(x.neg()).neg()
}

/// `σ(x)^γ = exp(γ·log σ(x))`: a focusing factor, finite in value and gradient for any finite `x` and
/// any γ ≥ 0 (no `0^{γ−1}` in the derivative).
pub(super) fn sigmoid_power(x: Tensor<2>, gamma: f64) -> Tensor<2> {
    log_sigmoid(x).mul_scalar(gamma).exp()
}
