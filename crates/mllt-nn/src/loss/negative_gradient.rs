//! The gradient a loss sends to a negative logit: the curves of Fig. 3 and Eq. 6 of the paper.
//!
//! Eq. 6: for a negative class j (y_j = 0), softmax cross-entropy gives ∂L_CE/∂z_j = e^{z_j} / Σ_i e^{z_i},
//! which vanishes once the positive logit is high, and BCE gives (1/C)·σ(z_j), which depends on z_j alone and
//! keeps pushing every negative down (over-suppression). NTR (Eq. 7) gives σ(λ(z_j − ν)): the same ceiling,
//! and a sharp drop once z_j is below the threshold ν.
//!
//! Every curve here is computed by burn's autodiff through the loss code that training uses ([`Loss`] for
//! BCE and NTR, burn's `log_softmax` for CE), not by re-typed formulas. The BCE-family curves are the gradient
//! of one element of [`Loss::elementwise`] (the training loss divides it by B·C, Eq. 6's 1/C).

use burn::Tensor;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;

use super::{Loss, LossConfig, LossError};
use crate::backend::cpu_autodiff;

/// ∂ℓ/∂z of one negative element (y = 0) of the loss `config` at each of `logits`.
///
/// The loss is bound to one class whose prior is ½ (n = 1 of N = 2 items): NTR's bias ν = −κ·logit(½) is
/// then 0 for every κ, so the threshold sits at z = 0. Weightings that need more statistics than that (the
/// re-balanced weight, CB) are refused by [`Loss::new`] or act as a constant factor.
pub fn bce_family(config: &LossConfig, logits: &[f64]) -> Result<Vec<f64>, LossError> {
    let loss = Loss::new(config, &[1], 2)?;
    let device = cpu_autodiff();
    let n = logits.len();
    let z =
        Tensor::<2>::from_floats(TensorData::new(logits.to_vec(), [n, 1]), &device).require_grad();
    let labels = Tensor::<2>::zeros([n, 1], &device);
    // Elements are independent: the gradient of their sum is each element's own derivative.
    let grads = loss.elementwise(z.clone(), labels).sum().backward();
    Ok(gradient_column(z.grad(&grads), 0, n))
}

/// ∂L_CE/∂z_j of softmax cross-entropy for the negative class j at each of `logits`, with the positive
/// class's logit fixed at `positive` and `other_negatives` more negative classes at logit 0 (C =
/// `other_negatives` + 2 classes in all).
pub fn softmax_cross_entropy(positive: f64, other_negatives: usize, logits: &[f64]) -> Vec<f64> {
    let device = cpu_autodiff();
    let n = logits.len();
    let classes = other_negatives + 2;
    let mut rows = Vec::with_capacity(n * classes);
    for &z in logits {
        rows.push(positive);
        rows.push(z);
        rows.extend(std::iter::repeat_n(0.0, other_negatives));
    }
    let z = Tensor::<2>::from_floats(TensorData::new(rows, [n, classes]), &device).require_grad();
    // L = −log softmax(z)_positive, the positive class in column 0.
    let grads = log_softmax(z.clone(), 1)
        .narrow(1, 0, 1)
        .neg()
        .sum()
        .backward();
    gradient_column(z.grad(&grads), 1, n)
}

/// Column `column` of an `(n, ·)` gradient, as f64.
fn gradient_column(gradient: Option<Tensor<2>>, column: usize, n: usize) -> Vec<f64> {
    let gradient = gradient.expect("the logits require a gradient");
    let values: Vec<f32> = gradient
        .narrow(1, column, 1)
        .into_data()
        .try_into_vec()
        .expect("f32 gradient");
    debug_assert_eq!(values.len(), n);
    values.into_iter().map(f64::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{FocalConfig, NtrConfig};

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    const LOGITS: [f64; 7] = [-8.0, -3.0, -1.0, 0.0, 0.5, 2.0, 6.0];

    #[test]
    fn bce_sends_sigmoid_of_the_logit() {
        // Eq. 6 without the 1/C of the mean: ∂/∂z log(1 + e^z) = σ(z).
        let g = bce_family(&LossConfig::bce(), &LOGITS).unwrap();
        for (&z, &d) in LOGITS.iter().zip(&g) {
            assert!(
                (d - sigmoid(z)).abs() < 1e-6,
                "z = {z}: {d} vs {}",
                sigmoid(z)
            );
        }
    }

    #[test]
    fn ntr_scales_the_negative_logit_by_lambda() {
        // Eq. 7 at ν = 0: ∂/∂z (1/λ) log(1 + e^{λz}) = σ(λz): the same ceiling 1, a sharper drop below 0.
        for lambda in [2.0, 5.0, 10.0] {
            let config = LossConfig {
                ntr: Some(NtrConfig {
                    lambda,
                    kappa: 0.05,
                    bias: Default::default(),
                    positives: false,
                }),
                ..LossConfig::bce()
            };
            let g = bce_family(&config, &LOGITS).unwrap();
            for (&z, &d) in LOGITS.iter().zip(&g) {
                let want = sigmoid(lambda * z);
                assert!(
                    (d - want).abs() < 1e-6,
                    "λ = {lambda}, z = {z}: {d} vs {want}"
                );
            }
        }
    }

    #[test]
    fn focal_modulation_reaches_the_curve() {
        // Focal with γ = 2 and balance 1 on a negative, by hand: ℓ = p²·log(1 + e^z) with p = σ(z), so
        // ∂ℓ/∂z = 2p·p(1−p)·log(1 + e^z) + p²·p. At z = 0: 2·½·¼·ln 2 + ⅛.
        let config = LossConfig {
            focal: Some(FocalConfig {
                gamma: 2.0,
                balance: 1.0,
            }),
            ..LossConfig::bce()
        };
        let g = bce_family(&config, &[0.0]).unwrap();
        let want = 0.25 * 2f64.ln() + 0.125;
        assert!((g[0] - want).abs() < 1e-6, "{} vs {want}", g[0]);
    }

    #[test]
    fn cross_entropy_is_the_softmax_share_of_the_negative() {
        // C = 4: positive at 3, the varied negative at z, two more at 0: e^z / (e^3 + e^z + 2).
        let g = softmax_cross_entropy(3.0, 2, &LOGITS);
        for (&z, &d) in LOGITS.iter().zip(&g) {
            let want = z.exp() / (3f64.exp() + z.exp() + 2.0);
            assert!((d - want).abs() < 1e-6, "z = {z}: {d} vs {want}");
        }
        // A higher positive logit shrinks the gradient (Fig. 3a).
        let high = softmax_cross_entropy(8.0, 2, &[1.0])[0];
        let low = softmax_cross_entropy(0.0, 2, &[1.0])[0];
        assert!(high < low / 100.0, "{high} vs {low}");
    }
}
