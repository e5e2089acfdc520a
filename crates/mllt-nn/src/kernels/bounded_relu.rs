//! The backbones' activations as one clamp, `y = min(max(x, 0), max)`: ReLU (`max = ∞`, ResNet) and
//! ReLU6 (`max = 6`, EfficientNet-Lite), with PyTorch's gradient, `dx = dy` where `0 < x < max`, else 0
//! (`threshold_backward` and `hardtanh_backward`; burn's generic `clamp` lets the gradient through at the
//! bounds and takes two masked fills to compute it).
//!
//! Both run in chunks on rayon; each element is computed alone, so the result does not depend on the
//! number of threads.

use rayon::prelude::*;

/// `min(max(x, 0), max)` of every element.
pub fn forward(x: &[f32], max: f32) -> Vec<f32> {
    let mut y = Vec::with_capacity(x.len());
    x.par_iter()
        .with_min_len(super::MIN_LEN)
        .map(|v| v.clamp(0.0, max))
        .collect_into_vec(&mut y);
    y
}

/// `dy` where `0 < x < max`, else 0.
pub fn backward(x: &[f32], dy: &[f32], max: f32) -> Vec<f32> {
    let mut dx = Vec::with_capacity(dy.len());
    let pass = |(x, d): (&f32, &f32)| if *x > 0.0 && *x < max { *d } else { 0.0 };
    x.par_iter()
        .zip(dy)
        .with_min_len(super::MIN_LEN)
        .map(pass)
        .collect_into_vec(&mut dx);
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu6_clamps_to_zero_six_and_passes_the_gradient_strictly_inside() {
        let x = [-2.0, -0.0, 0.0, 0.5, 5.99, 6.0, 7.5, f32::NAN];
        let y = forward(&x, 6.0);
        assert_eq!(&y[..7], &[0.0, 0.0, 0.0, 0.5, 5.99, 6.0, 6.0]);
        assert!(y[7].is_nan());
        let dx = backward(&x, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 6.0);
        // PyTorch: F.relu6(x).backward(dy) gives dy only where 0 < x < 6 (and 0 at NaN).
        assert_eq!(dx, vec![0.0, 0.0, 0.0, 4.0, 5.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn relu_has_no_upper_bound() {
        let x = [-1.0, 0.0, 3.0, 1e30];
        assert_eq!(forward(&x, f32::INFINITY), vec![0.0, 0.0, 3.0, 1e30]);
        let dx = backward(&x, &[1.0, 2.0, 3.0, 4.0], f32::INFINITY);
        assert_eq!(dx, vec![0.0, 0.0, 3.0, 4.0]);
    }

    #[test]
    fn long_inputs_are_processed_in_every_chunk() {
        let x: Vec<f32> = (0..3 * super::super::MIN_LEN + 5)
            .map(|i| (i % 17) as f32 - 5.0)
            .collect();
        let dy = vec![1.0; x.len()];
        let (y, dx) = (forward(&x, 6.0), backward(&x, &dy, 6.0));
        for ((x, y), d) in x.iter().zip(&y).zip(&dx) {
            assert_eq!(*y, x.clamp(0.0, 6.0));
            assert_eq!(*d, if *x > 0.0 && *x < 6.0 { 1.0 } else { 0.0 });
        }
    }
}
