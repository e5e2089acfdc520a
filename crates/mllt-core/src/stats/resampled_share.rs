//! Eq. 1: the expected share of items holding class i under class-aware re-sampling,
//!
//! p̂_i = (1/C) Σ_j p(i|j) = (1/C) Σ_j n_{i∩j} / n_j.
//!
//! Drawing a class j uniformly, then an item of j uniformly, gives an item holding i with probability p̂_i, so
//! one epoch of `num_samples` draws holds class i about `num_samples · p̂_i` times. Classes with n_j = 0 can't
//! be drawn by the sampler, so the sum and the 1/C run over the classes with at least one item.

use super::Cooccurrence;

/// p̂_i of Eq. 1 for every class i.
pub fn resampled_share(co: &Cooccurrence) -> Vec<f64> {
    let c = co.num_classes();
    let drawable: Vec<usize> = (0..c).filter(|&j| co.class_count(j) > 0).collect();
    (0..c)
        .map(|i| {
            let sum: f64 = drawable.iter().filter_map(|&j| co.conditional(i, j)).sum();
            if drawable.is_empty() {
                0.0
            } else {
                sum / drawable.len() as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabelSet;
    use std::path::Path;

    #[test]
    fn hand_computed_share() {
        // x: {a, b, d}, y: {a, c, d}, z: {c, d}.
        let text = "id\tl\na\tx,y\nb\tx\nc\ty,z\nd\tx,y,z\n";
        let cls = vec!["x".into(), "y".into(), "z".into()];
        let co = Cooccurrence::new(&LabelSet::parse_tsv(text, Path::new("t"), cls).unwrap());
        let p = resampled_share(&co);
        // p̂_x = (3/3 + 2/3 + 1/2) / 3; p̂_y = (2/3 + 1 + 1) / 3; p̂_z = (1/3 + 2/3 + 1) / 3.
        let want = [
            (1.0 + 2.0 / 3.0 + 0.5) / 3.0,
            (2.0 / 3.0 + 2.0) / 3.0,
            2.0 / 3.0,
        ];
        for (a, b) in p.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
    }
}
