//! ReLU6, `y = min(max(x, 0), 6)` (EfficientNet-Lite's activation), and its gradient as PyTorch's
//! `hardtanh_backward` computes it: `dx = dy` where `0 < x < 6`, else 0 (burn's generic `clamp` instead
//! lets the gradient through at the bounds, and takes two masked fills to compute it).
//!
//! Both run in chunks on rayon; each element is computed alone, so the result does not depend on the
//! number of threads.

use rayon::prelude::*;

/// Elements per rayon task.
const CHUNK: usize = 1 << 14;

/// `min(max(x, 0), 6)` of every element.
pub fn forward(x: &[f32]) -> Vec<f32> {
    let mut y = x.to_vec();
    y.par_chunks_mut(CHUNK)
        .for_each(|chunk| chunk.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)));
    y
}

/// `dy` where `0 < x < 6`, else 0.
pub fn backward(x: &[f32], dy: &[f32]) -> Vec<f32> {
    let mut dx = dy.to_vec();
    dx.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(d, x)| {
            for (d, x) in d.iter_mut().zip(x) {
                if !(*x > 0.0 && *x < 6.0) {
                    *d = 0.0;
                }
            }
        });
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_to_zero_six_and_passes_the_gradient_strictly_inside() {
        let x = [-2.0, -0.0, 0.0, 0.5, 5.99, 6.0, 7.5, f32::NAN];
        let y = forward(&x);
        assert_eq!(&y[..7], &[0.0, 0.0, 0.0, 0.5, 5.99, 6.0, 6.0]);
        let dx = backward(&x, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        // PyTorch: F.hardtanh(x, 0, 6).backward(dy) gives dy only where 0 < x < 6 (and 0 at NaN).
        assert_eq!(dx, vec![0.0, 0.0, 0.0, 4.0, 5.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn long_inputs_are_processed_in_every_chunk() {
        let x: Vec<f32> = (0..3 * CHUNK + 5).map(|i| (i % 17) as f32 - 5.0).collect();
        let dy = vec![1.0; x.len()];
        let (y, dx) = (forward(&x), backward(&x, &dy));
        for ((x, y), d) in x.iter().zip(&y).zip(&dx) {
            assert_eq!(*y, x.clamp(0.0, 6.0));
            assert_eq!(*d, if *x > 0.0 && *x < 6.0 { 1.0 } else { 0.0 });
        }
    }
}
