//! The paired bootstrap over test items: how sure is a difference in mAP between two methods scored on the same
//! test set?
//!
//! Each of `resamples` draws picks N test items with replacement, from ChaCha8 seeded with `seed`. Both methods
//! are scored on the same draw, and the draw's difference is mAP(a) − mAP(b). The mean runs over the classes
//! with a positive in the draw, as [`EmptyClassPolicy::Skip`](super::EmptyClassPolicy::Skip) does. The 95 %
//! interval is the 2.5 and 97.5 % percentiles of the differences, interpolated linearly between order
//! statistics as NumPy's `percentile` does.
//!
//! A draw is a multiset of items. Its AP equals scikit-learn's on the materialised draw, where the copies of an
//! item tie. Each class's items are sorted once per method, and a draw only reweights them by multiplicity,
//! which costs O(N) per class, method and draw.
//!
//! [`BootstrapDraws`] gives one method's mAP on every draw, so that several methods (or seeds of a method, to be
//! averaged draw by draw) are each scored once and then paired by [`paired_difference`];
//! [`paired_map_bootstrap`] does both for two score matrices.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::labels::LabelSet;
use crate::scores::ScoreMatrix;

/// The result of a paired bootstrap of mAP(a) − mAP(b).
#[derive(Debug, Clone, PartialEq)]
pub struct PairedDifference {
    /// The difference on the test set itself.
    pub observed: f64,
    /// The 2.5 % and 97.5 % percentiles of the resampled differences.
    pub low: f64,
    pub high: f64,
    pub resamples: usize,
}

impl PairedDifference {
    /// Whether the 95 % interval leaves out 0.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// One class under one method: its items in descending score order, down to the last group of equal scores
/// that holds a positive (the items below it cannot change the AP), and those groups.
struct SortedClass {
    order: Vec<u32>,
    /// Start and end (exclusive) in `order` of every group of tied scores that holds a positive.
    positive_groups: Vec<(usize, usize)>,
}

impl SortedClass {
    /// `positive[k]`: item k has the class.
    fn new(scores: &ScoreMatrix, class: usize, positive: &[bool]) -> Self {
        let score = |k: u32| scores.get(k as usize, class);
        let mut order: Vec<u32> = (0..scores.rows() as u32).collect();
        order.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
        let mut positive_groups = Vec::new();
        let mut start = 0;
        for end in 1..=order.len() {
            if end == order.len() || score(order[end]) != score(order[end - 1]) {
                if order[start..end].iter().any(|&k| positive[k as usize]) {
                    positive_groups.push((start, end));
                }
                start = end;
            }
        }
        order.truncate(positive_groups.last().map_or(0, |g| g.1));
        SortedClass {
            order,
            positive_groups,
        }
    }

    /// AP with item k counted `weight[k]` times (`positive[k]`: item k has the class); `None` without a
    /// weighted positive. AP = (1/n₊) Σ over groups of ΔTP · TP / (TP + FP), as scikit-learn; only the groups
    /// with a positive add to the sum, the others only to TP + FP.
    fn weighted_ap(&self, weight: &[u32], positive: &[bool]) -> Option<f64> {
        let (mut tp, mut seen, mut sum) = (0u64, 0u64, 0.0f64);
        let mut start = 0;
        for &(group, end) in &self.positive_groups {
            // Negatives only, between the groups with a positive.
            seen += self.order[start..group]
                .iter()
                .map(|&k| u64::from(weight[k as usize]))
                .sum::<u64>();
            let before = tp;
            for &k in &self.order[group..end] {
                let w = u64::from(weight[k as usize]);
                seen += w;
                if positive[k as usize] {
                    tp += w;
                }
            }
            if tp > before {
                sum += (tp - before) as f64 * tp as f64 / seen as f64;
            }
            start = end;
        }
        (tp > 0).then(|| sum / tp as f64)
    }
}

/// mAP over the classes with a weighted positive, of one method's sorted classes.
fn weighted_map(sorted: &[SortedClass], weight: &[u32], positive: &[Vec<bool>]) -> Option<f64> {
    let (mut sum, mut classes) = (0.0, 0usize);
    for (class, pos) in sorted.iter().zip(positive) {
        if let Some(ap) = class.weighted_ap(weight, pos) {
            sum += ap;
            classes += 1;
        }
    }
    (classes > 0).then(|| sum / classes as f64)
}

/// The `p`-th quantile (0..=1) of sorted `values`, interpolated linearly between order statistics.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let (below, frac) = (position.floor() as usize, position.fract());
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + frac * (sorted[above] - sorted[below])
}

/// The resampling of a test set: the `resamples` draws of N items with replacement from ChaCha8 seeded with
/// `seed`. The same labels, count and seed give the same draws, so the mAPs of several methods (or seeds) on
/// the draws pair up draw by draw.
#[derive(Debug, Clone)]
pub struct BootstrapDraws<'a> {
    labels: &'a LabelSet,
    /// `positive[class][item]`.
    positive: Vec<Vec<bool>>,
    resamples: usize,
    seed: u64,
}

impl<'a> BootstrapDraws<'a> {
    /// The draws over the items of `labels`; errors when there are no items, no class has a positive, or
    /// `resamples` is 0.
    pub fn new(labels: &'a LabelSet, resamples: usize, seed: u64) -> Result<Self> {
        if labels.is_empty() {
            return Err(Error::Invalid("no items to evaluate".into()));
        }
        if resamples == 0 {
            return Err(Error::Invalid(
                "the bootstrap needs at least one resample".into(),
            ));
        }
        let (n, c) = (labels.len(), labels.num_classes());
        let mut positive = vec![vec![false; n]; c];
        for (k, row) in labels.rows().iter().enumerate() {
            for &j in row {
                positive[j][k] = true;
            }
        }
        if positive.iter().all(|p| !p.contains(&true)) {
            return Err(no_positive());
        }
        Ok(BootstrapDraws {
            labels,
            positive,
            resamples,
            seed,
        })
    }

    /// The mAP of `scores` on each draw, in draw order: the mean AP over the classes with a positive in the
    /// draw; `None` for a draw without any positive (possible only on tiny sets). Costs O(N·C) per draw.
    pub fn maps(&self, scores: &ScoreMatrix) -> Result<Vec<Option<f64>>> {
        super::check_shape(scores, self.labels)?;
        let n = self.labels.len();
        let sorted: Vec<SortedClass> = (0..self.labels.num_classes())
            .map(|j| SortedClass::new(scores, j, &self.positive[j]))
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut weight = vec![0u32; n];
        Ok((0..self.resamples)
            .map(|_| {
                weight.fill(0);
                for _ in 0..n {
                    weight[rng.random_range(0..n)] += 1;
                }
                weighted_map(&sorted, &weight, &self.positive)
            })
            .collect())
    }
}

fn no_positive() -> Error {
    Error::Invalid("no class has a positive test item".into())
}

/// The paired difference of two methods from their mAPs on the same draws (from one [`BootstrapDraws`]):
/// draw by draw `a − b`, draws where either has no mAP left out; `observed` is the difference on the test set
/// itself. Errors when no draw has both.
pub fn paired_difference(
    observed: f64,
    a: &[Option<f64>],
    b: &[Option<f64>],
) -> Result<PairedDifference> {
    let mut differences: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some((*x)? - (*y)?))
        .collect();
    if differences.is_empty() {
        return Err(no_positive());
    }
    differences.sort_by(f64::total_cmp);
    Ok(PairedDifference {
        observed,
        low: quantile(&differences, 0.025),
        high: quantile(&differences, 0.975),
        resamples: differences.len(),
    })
}

/// The paired bootstrap of mAP(`a`) − mAP(`b`) on `labels` (see the module documentation).
///
/// Errors when the shapes differ, there are no items, no class has a positive, or `resamples` is 0.
pub fn paired_map_bootstrap(
    a: &ScoreMatrix,
    b: &ScoreMatrix,
    labels: &LabelSet,
    resamples: usize,
    seed: u64,
) -> Result<PairedDifference> {
    let draws = BootstrapDraws::new(labels, resamples, seed)?;
    let (da, db) = (draws.maps(a)?, draws.maps(b)?);
    let ones = vec![1; labels.len()];
    let observed = |m: &ScoreMatrix| {
        let sorted: Vec<SortedClass> = (0..labels.num_classes())
            .map(|j| SortedClass::new(m, j, &draws.positive[j]))
            .collect();
        weighted_map(&sorted, &ones, &draws.positive).ok_or_else(no_positive)
    };
    paired_difference(observed(a)? - observed(b)?, &da, &db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::average_precision;

    /// A deterministic pseudo-random value in [0, 1) for index `k` (a hash, for test data).
    fn noise(k: usize) -> f64 {
        (crate::fnv::fnv1a64(&k.to_le_bytes()) % 1000) as f64 / 1000.0
    }

    #[test]
    fn weighted_ap_equals_ap_of_the_materialised_draw() {
        // 40 items with coarse (often tied) scores; draws given as multiplicities.
        let n = 40;
        let scores: Vec<f64> = (0..n).map(|k| (noise(k) * 6.0).floor()).collect();
        let positive: Vec<bool> = (0..n).map(|k| noise(k + 1000) < 0.3).collect();
        let m = ScoreMatrix::new(n, 1, scores.clone()).unwrap();
        let class = SortedClass::new(&m, 0, &positive);
        for draw in 0..20 {
            let weight: Vec<u32> = (0..n)
                .map(|k| (noise(k * 31 + draw) * 3.0) as u32)
                .collect();
            let (mut s, mut p) = (Vec::new(), Vec::new());
            for k in 0..n {
                for _ in 0..weight[k] {
                    s.push(scores[k]);
                    p.push(positive[k]);
                }
            }
            let want = if s.is_empty() {
                None
            } else {
                average_precision(&s, &p)
            };
            let got = class.weighted_ap(&weight, &positive);
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "draw {draw}: {g} vs {w}"),
                (g, w) => assert_eq!(g, w, "draw {draw}"),
            }
        }
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // np.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925].
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile(&v, 0.975) - 3.925).abs() < 1e-12);
    }

    #[test]
    fn paired_difference_leaves_out_incomplete_draws() {
        // Differences 0.1, 0.2, −0.1 (the third draw has no mAP for a): sorted −0.1, 0.1, 0.2; the 2.5 %
        // quantile sits at position 0.05: −0.1 + 0.05 · 0.2 = −0.09; the 97.5 % one at 1.95: 0.1 + 0.95 · 0.1.
        let a = [Some(0.5), Some(0.6), None, Some(0.7)];
        let b = [Some(0.4), Some(0.4), Some(0.1), Some(0.8)];
        let d = paired_difference(0.05, &a, &b).unwrap();
        assert_eq!(d.resamples, 3);
        assert_eq!(d.observed, 0.05);
        assert!((d.low + 0.09).abs() < 1e-12, "{d:?}");
        assert!((d.high - 0.195).abs() < 1e-12, "{d:?}");
        assert!(!d.excludes_zero());
        assert!(paired_difference(0.0, &[None], &[Some(0.1)]).is_err());
    }

    #[test]
    fn paired_differences() {
        let n = 200;
        let ids = (0..n).map(|k| format!("i{k}")).collect();
        let names = vec!["x".to_string(), "y".to_string()];
        let rows: Vec<Vec<usize>> = (0..n)
            .map(|k| (0..2).filter(|&j| noise(k * 2 + j) < 0.3).collect())
            .collect();
        let labels = LabelSet::new(ids, names, rows.clone()).unwrap();
        // `good` ranks by the labels plus a little noise, `weak` by noise alone.
        let good: Vec<f64> = (0..n * 2)
            .map(|i| f64::from(u8::from(rows[i / 2].contains(&(i % 2)))) + noise(i + 5000))
            .collect();
        let weak: Vec<f64> = (0..n * 2).map(|i| noise(i + 9000)).collect();
        let good = ScoreMatrix::new(n, 2, good).unwrap();
        let weak = ScoreMatrix::new(n, 2, weak).unwrap();
        let d = paired_map_bootstrap(&good, &weak, &labels, 300, 7).unwrap();
        assert!(
            d.observed > 0.3 && d.low > 0.0 && d.low < d.observed && d.observed < d.high,
            "{d:?}"
        );
        assert!(d.excludes_zero());
        assert_eq!(d.resamples, 300);
        // The same seed gives the same interval; a method against itself differs by exactly 0.
        assert_eq!(
            paired_map_bootstrap(&good, &weak, &labels, 300, 7).unwrap(),
            d
        );
        let same = paired_map_bootstrap(&weak, &weak, &labels, 50, 1).unwrap();
        assert_eq!((same.observed, same.low, same.high), (0.0, 0.0, 0.0));
        assert!(!same.excludes_zero());
        assert!(paired_map_bootstrap(&good, &weak, &labels, 0, 1).is_err());
        // Scored draw by draw on one set of draws, the two methods pair up to the same interval.
        let draws = BootstrapDraws::new(&labels, 300, 7).unwrap();
        let (dg, dw) = (draws.maps(&good).unwrap(), draws.maps(&weak).unwrap());
        assert_eq!(dg.len(), 300);
        assert_eq!(paired_difference(d.observed, &dg, &dw).unwrap(), d);
    }
}
