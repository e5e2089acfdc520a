//! The chance level of a dataset (issue 11 item 3): the mAP of random scores on its test split, and the
//! marking of methods that do not beat it by more than a couple of points.

use mllt_core::metrics::random_baseline;
use mllt_core::{Group, LabelSet, SplitRule};
use serde::Serialize;

/// A method whose mean total mAP is at most this far above the chance level (or below it) is marked.
pub const CHANCE_MARGIN: f64 = 0.02;
/// Draws of random scores averaged into the chance level.
pub const CHANCE_DRAWS: usize = 20;
/// Seed of those draws.
pub const CHANCE_SEED: u64 = 0;

/// The chance level of a test split: mean mAP of random scores, over all classes and per group, in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChanceLevel {
    pub total: f64,
    pub head: Option<f64>,
    pub medium: Option<f64>,
    pub tail: Option<f64>,
    pub draws: usize,
    pub seed: u64,
    /// [`CHANCE_MARGIN`].
    pub margin: f64,
}

impl ChanceLevel {
    /// The chance level of `test`, the groups from the training counts `train_counts` (the default split rule,
    /// as the methods' evaluation).
    pub fn new(test: &LabelSet, train_counts: &[usize]) -> anyhow::Result<Self> {
        let split = SplitRule::default().split(train_counts);
        let b = random_baseline(test, &split, CHANCE_DRAWS, CHANCE_SEED)?;
        let group = |g| b.groups.iter().find(|(h, _)| *h == g).map(|(_, m)| *m);
        Ok(ChanceLevel {
            total: b.total,
            head: group(Group::Head),
            medium: group(Group::Medium),
            tail: group(Group::Tail),
            draws: b.draws,
            seed: CHANCE_SEED,
            margin: CHANCE_MARGIN,
        })
    }

    /// The columns total, head, medium, tail.
    pub fn columns(&self) -> [Option<f64>; 4] {
        [Some(self.total), self.head, self.medium, self.tail]
    }

    /// Whether a mean total mAP of `map` is within [`CHANCE_MARGIN`] of the chance level or below it.
    pub fn is_near(&self, map: f64) -> bool {
        map - self.total <= CHANCE_MARGIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_within_two_points_or_below() {
        // 4 items, class a on items 0 and 1 (prevalence ½), class b on item 0 (¼). Training counts put a in
        // head and b in tail.
        let ids = (0..4).map(|k| format!("i{k}")).collect();
        let rows = vec![vec![0, 1], vec![0], vec![], vec![]];
        let labels = LabelSet::new(ids, vec!["a".into(), "b".into()], rows).unwrap();
        let c = ChanceLevel::new(&labels, &[500, 5]).unwrap();
        // A random ranking's expected AP lies above the prevalence: for a, the mean over the 6 equally likely
        // pairs of positive ranks is (1 + 5/6 + 3/4 + 7/12 + 1/2 + 5/12)/6 ≈ 0.68; for b (1 + 1/2 + 1/3 + 1/4)/4
        // ≈ 0.52. Twenty seeded draws land near those.
        assert!(c.head.unwrap() > 0.55 && c.head.unwrap() < 0.8, "{c:?}");
        assert!(c.tail.unwrap() > 0.35 && c.tail.unwrap() < 0.7, "{c:?}");
        assert!((c.total - (c.head.unwrap() + c.tail.unwrap()) / 2.0).abs() < 1e-12);
        assert_eq!(c.medium, None);
        // With the level at 0.30: 0.315 is within 2 points, 0.2 below, 0.33 beyond.
        let at = ChanceLevel { total: 0.30, ..c };
        assert!(at.is_near(0.315) && at.is_near(0.2) && at.is_near(0.30));
        assert!(!at.is_near(0.33));
    }
}
