//! Eq. 2–3: the re-balancing ratio of the re-balanced weighting.
//!
//! For an item x^k and a positive class i of it, class-aware sampling expects to draw it with class-level
//! frequency P^C_i = (1/C)(1/n_i) (Eq. 2), while the item is really drawn through every positive class it holds,
//! P^I(x^k) = (1/C) Σ_{j: y_j^k = 1} 1/n_j. The ratio r_i^k = P^C_i / P^I(x^k) (Eq. 3) lies in (0, 1]: it is 1
//! for a single-label item and small for a tail item that also holds head classes. (The loss, in `mllt-nn`,
//! maps r through Eq. 4; here it is only measured.)

use serde::Serialize;

use crate::labels::LabelSet;

/// r_i^k for every positive (item k, class i), in item order, then class order.
pub fn rebalance_ratios(labels: &LabelSet) -> Vec<f64> {
    let inv: Vec<f64> = labels
        .class_counts()
        .iter()
        .map(|&n| 1.0 / n as f64)
        .collect();
    let mut out = Vec::new();
    for row in labels.rows() {
        let p_instance: f64 = row.iter().map(|&j| inv[j]).sum();
        out.extend(row.iter().map(|&i| inv[i] / p_instance));
    }
    out
}

/// The distribution of r over all positive labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatioSummary {
    /// Number of positive labels.
    pub count: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Quantiles at 10 %, 25 %, 50 %, 75 % and 90 % (nearest rank).
    pub quantiles: [f64; 5],
    /// Share of positives with r = 1 (single-label items).
    pub share_one: f64,
    /// Counts over 10 equal bins of (0, 1]: bin b holds r in (b/10, (b+1)/10].
    pub histogram: [usize; 10],
}

impl RatioSummary {
    /// Summarises ratios in (0, 1]; `None` when there are none.
    pub fn new(ratios: &[f64]) -> Option<RatioSummary> {
        if ratios.is_empty() {
            return None;
        }
        let mut sorted = ratios.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        let n = sorted.len();
        let q = |p: f64| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        let mut histogram = [0; 10];
        for &r in &sorted {
            histogram[((r * 10.0).ceil() as usize).clamp(1, 10) - 1] += 1;
        }
        Some(RatioSummary {
            count: n,
            min: sorted[0],
            max: sorted[n - 1],
            mean: sorted.iter().sum::<f64>() / n as f64,
            quantiles: [q(0.1), q(0.25), q(0.5), q(0.75), q(0.9)],
            share_one: sorted.iter().filter(|&&r| r >= 1.0 - 1e-12).count() as f64 / n as f64,
            histogram,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn hand_computed_ratios() {
        // n_x = 2, n_y = 1. Item a = {x}: r_x = 1. Item b = {x, y}: P^I ∝ 1/2 + 1 = 3/2,
        // r_x = (1/2)/(3/2) = 1/3, r_y = 1/(3/2) = 2/3.
        let text = "id\tl\na\tx\nb\tx,y\n";
        let labels =
            LabelSet::parse_tsv(text, Path::new("t"), vec!["x".into(), "y".into()]).unwrap();
        let r = rebalance_ratios(&labels);
        let want = [1.0, 1.0 / 3.0, 2.0 / 3.0];
        assert!(
            r.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-15),
            "{r:?}"
        );
        let s = RatioSummary::new(&r).unwrap();
        assert_eq!((s.count, s.min, s.max), (3, 1.0 / 3.0, 1.0));
        assert!((s.mean - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(s.quantiles[2], 2.0 / 3.0);
        assert!((s.share_one - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(s.histogram, [0, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
        assert!(RatioSummary::new(&[]).is_none());
    }
}
