//! Seeded parameter initialisation (semantics §5), drawn from our own ChaCha stream rather than burn's
//! global backend RNG, so that a seed gives the same weights on every backend, in every thread and after a
//! resume.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// `n` draws from N(0, std²), by the Box–Muller transform (f64 arithmetic, rounded to f32).
pub fn normal(rng: &mut ChaCha8Rng, n: usize, std: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        // u1 ∈ (0, 1] keeps the logarithm finite.
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        let radius = (-2.0 * u1.ln()).sqrt() * std;
        let angle = std::f64::consts::TAU * u2;
        out.push((radius * angle.cos()) as f32);
        out.push((radius * angle.sin()) as f32);
    }
    out.truncate(n);
    out
}

/// `n` draws from U(−bound, bound) (f64 arithmetic, rounded to f32).
pub fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
        .collect()
}

/// A `[rows, cols]` trainable tensor drawn from U(±bound).
pub fn uniform_param(
    shape: [usize; 2],
    bound: f64,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Param<Tensor<2>> {
    let values = uniform(rng, shape[0] * shape[1], bound);
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

/// The standard deviation of PyTorch's `kaiming_normal_(mode='fan_out')` with the default leaky-ReLU gain
/// √2 (a = 0): √(2 / fan_out).
pub fn kaiming_normal_fan_out_std(fan_out: usize) -> f64 {
    (2.0 / fan_out as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn normal_has_the_requested_moments_and_is_seeded() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let x = normal(&mut rng, 20_001, 0.5);
        assert_eq!(x.len(), 20_001);
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / x.len() as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.01, "{var}");
        let again = normal(&mut ChaCha8Rng::seed_from_u64(7), 20_001, 0.5);
        assert_eq!(x, again);
        assert!((kaiming_normal_fan_out_std(256) - 0.088_388_347_648_318_4).abs() < 1e-15);
    }
}
