//! The frozen BatchNorm of the backbones as one per-channel affine map on `[N, C, …]` buffers,
//! `y[n, c, i] = x[n, c, i] · scale[c] + shift[c]` (`scale = γ / √(σ² + ε)`, `shift = β − μ · scale`), and
//! its gradients `dx = dy · scale[c]`, `dscale[c] = Σ_{n,i} x · dy`, `dshift[c] = Σ_{n,i} dy`: one pass
//! each, where burn's broadcast multiply and add, and their backward reductions, take several.
//!
//! The maps run in parallel over the `(n, c)` planes and the sums over channels, each channel summed over
//! its planes in order: the result does not depend on the number of threads.

use rayon::prelude::*;

/// `x · scale[c] + shift[c]` for `x` of `planes` planes of `plane` elements, channel `c = plane index
/// mod scale.len()`.
pub fn forward(x: &[f32], scale: &[f32], shift: &[f32], plane: usize) -> Vec<f32> {
    let mut y = x.to_vec();
    y.par_chunks_mut(plane.max(1))
        .enumerate()
        .for_each(|(p, y)| {
            let c = p % scale.len();
            y.iter_mut().for_each(|v| *v = *v * scale[c] + shift[c]);
        });
    y
}

/// `dy · scale[c]`.
pub fn input_grad(dy: &[f32], scale: &[f32], plane: usize) -> Vec<f32> {
    let mut dx = dy.to_vec();
    dx.par_chunks_mut(plane.max(1))
        .enumerate()
        .for_each(|(p, d)| {
            let c = p % scale.len();
            d.iter_mut().for_each(|v| *v *= scale[c]);
        });
    dx
}

/// `[Σ x · dy per channel…, Σ dy per channel…]` (`2 · channels` values).
pub fn parameter_grads(x: &[f32], dy: &[f32], channels: usize, plane: usize) -> Vec<f32> {
    let planes = x.len().checked_div(plane).unwrap_or(0);
    let sums: Vec<(f32, f32)> = (0..channels)
        .into_par_iter()
        .map(|c| {
            (c..planes)
                .step_by(channels)
                .fold((0.0, 0.0), |(xy, y), p| {
                    let (xs, ds) = (&x[p * plane..][..plane], &dy[p * plane..][..plane]);
                    (xy + super::conv::dot(xs, ds), y + super::conv::sum(ds))
                })
        })
        .collect();
    sums.iter()
        .map(|s| s.0)
        .chain(sums.iter().map(|s| s.1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_and_sums_per_channel() {
        // N = 2, C = 3, two elements per plane; channel c of image n holds [n + c, n − c].
        let x: Vec<f32> = (0..2)
            .flat_map(|n| (0..3).flat_map(move |c| [(n + c) as f32, n as f32 - c as f32]))
            .collect();
        let (scale, shift) = ([2.0, -1.0, 0.5], [1.0, 0.0, -2.0]);
        let y = forward(&x, &scale, &shift, 2);
        assert_eq!(
            y,
            vec![
                1.0, 1.0, -1.0, 1.0, -1.0, -3.0, 3.0, 3.0, -2.0, 0.0, -0.5, -2.5
            ]
        );
        let dy: Vec<f32> = (1..=12).map(|v| v as f32).collect();
        assert_eq!(
            input_grad(&dy, &scale, 2),
            vec![
                2.0, 4.0, -3.0, -4.0, 2.5, 3.0, 14.0, 16.0, -9.0, -10.0, 5.5, 6.0
            ]
        );
        // Channel 0: x = [0, 0, 1, 1], dy = [1, 2, 7, 8] → Σx·dy = 15, Σdy = 18; channel 1: x = [1, −1, 2, 0],
        // dy = [3, 4, 9, 10] → 17, 26; channel 2: x = [2, −2, 3, −1], dy = [5, 6, 11, 12] → 19, 34.
        assert_eq!(
            parameter_grads(&x, &dy, 3, 2),
            vec![15.0, 17.0, 19.0, 18.0, 26.0, 34.0]
        );
    }
}
