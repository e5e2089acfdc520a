//! Appendix A.1: the Pareto reference distribution of class sizes.
//!
//! The Pareto pdf with shape b, pdf(x; b) = b·x^{−(b+1)} for x ≥ 1, is cut where its CDF reaches `tail`
//! (x_max = (1 − tail)^{−1/b}), sampled at C evenly spaced points x_i = linspace(1, x_max, C), and rescaled to
//! [min, max]: `ref_i = int(pdf(x_i; b)·(max − min)/b + min)`, exactly as the reference code computes it.

use crate::error::{Error, Result};

/// The Pareto pdf with shape b at x ≥ 1: b·x^{−(b+1)} (Fig. 8a).
pub fn pdf(x: f64, shape: f64) -> f64 {
    shape * x.powf(-(shape + 1.0))
}

/// Where the Pareto CDF reaches `tail`: x_max = (1 − tail)^{−1/b}.
pub fn cut(shape: f64, tail: f64) -> f64 {
    (1.0 - tail).powf(-1.0 / shape)
}

/// The reference class sizes, largest first, for `classes` classes.
///
/// VOC-MLT (C = 20, b = 6, max 800, min 1, tail 0.99) gives
/// [800, 529, 359, 248, 175, 125, 91, 67, 50, 38, 29, 23, 18, 14, 11, 9, 7, 6, 5, 4].
pub fn reference_distribution(
    classes: usize,
    max: usize,
    min: usize,
    shape: f64,
    tail: f64,
) -> Result<Vec<usize>> {
    if classes == 0
        || min > max
        || !(shape > 0.0 && shape.is_finite())
        || !(tail > 0.0 && tail < 1.0)
    {
        return Err(Error::Invalid(format!(
            "Pareto reference: need classes ≥ 1, min ≤ max, shape > 0 and 0 < tail < 1 \
             (got classes {classes}, min {min}, max {max}, shape {shape}, tail {tail})"
        )));
    }
    let stop = cut(shape, tail);
    // numpy.linspace: start + i·step, with the last point set to `stop` exactly.
    let step = if classes > 1 {
        (stop - 1.0) / (classes - 1) as f64
    } else {
        0.0
    };
    let (hi, lo) = (max as f64, min as f64);
    Ok((0..classes)
        .map(|i| {
            let x = if i + 1 == classes && classes > 1 {
                stop
            } else {
                1.0 + i as f64 * step
            };
            (pdf(x, shape) * (hi - lo) / shape + lo) as usize
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voc_reference_distribution_is_exact() {
        let r = reference_distribution(20, 800, 1, 6.0, 0.99).unwrap();
        assert_eq!(
            r,
            vec![
                800, 529, 359, 248, 175, 125, 91, 67, 50, 38, 29, 23, 18, 14, 11, 9, 7, 6, 5, 4
            ]
        );
    }

    #[test]
    fn coco_reference_distribution_ends() {
        // semantics §2: COCO gives [1200, 1084, …, 6].
        let r = reference_distribution(80, 1200, 1, 6.0, 0.99).unwrap();
        assert_eq!((r[0], r[1], r[79]), (1200, 1084, 6));
        assert!(r.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(reference_distribution(0, 800, 1, 6.0, 0.99).is_err());
        assert!(reference_distribution(20, 1, 800, 6.0, 0.99).is_err());
        assert!(reference_distribution(20, 800, 1, 0.0, 0.99).is_err());
        assert!(reference_distribution(20, 800, 1, 6.0, 1.0).is_err());
        assert_eq!(
            reference_distribution(1, 50, 1, 6.0, 0.99).unwrap(),
            vec![50]
        );
    }
}
