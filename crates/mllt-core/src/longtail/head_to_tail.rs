//! Appendix A.1: the head-to-tail greedy construction of a long-tailed subset (reference semantics §2).
//!
//! 1. Rank the classes by their sample probability under class-aware sampling of the *full* set, Eq. 1
//!    (the reference's `Σ_i P(j|i)` is C·p̂_j, so the order is the same), largest first: the class most dragged
//!    in by co-occurrence is processed first and gets the biggest target.
//! 2. For the class c at rank i, compare its running count in the subset with the reference size `ref_i`
//!    ([`reference_distribution`]): remove `tmp_c − ref_i` random selected images holding c, or add
//!    `ref_i − tmp_c` random unselected images holding c (capped at those available, as the reference does for
//!    COCO), updating the running counts with the images' full label rows. Earlier classes are never revisited,
//!    so the final counts differ from the reference sizes.
//!
//! Deviations: the random choices come from a seeded ChaCha8 stream, not Python's `random`, so the exact subset
//! differs from the official one (the reference itself varies this much across seeds); the ids are written in
//! the source order rather than Python's set order.

use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::pareto::reference_distribution;
use crate::error::Result;
use crate::labels::LabelSet;
use crate::stats::{Cooccurrence, resampled_share};

/// Parameters of the construction. VOC-MLT used max 800, COCO-MLT max 1200; both min 1, shape 6, tail 0.99.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongTailConfig {
    /// Size of the largest class in the reference distribution.
    pub max: usize,
    /// Size of the smallest class in the reference distribution.
    pub min: usize,
    /// Pareto shape b.
    pub shape: f64,
    /// CDF value at which the Pareto pdf is cut.
    pub tail: f64,
}

impl LongTailConfig {
    /// The VOC-MLT parameters: max 800, min 1, shape 6, tail 0.99.
    pub fn voc() -> Self {
        LongTailConfig {
            max: 800,
            min: 1,
            shape: 6.0,
            tail: 0.99,
        }
    }
}

/// A constructed long-tailed subset.
#[derive(Debug, Clone, PartialEq)]
pub struct LongTail {
    /// Selected item indices of the source, ascending.
    pub indices: Vec<usize>,
    /// Classes in processing order (rank 0 first).
    pub order: Vec<usize>,
    /// `increments[i][c]`: the change of class c's count in the subset during step i (the step of the class at
    /// rank i), as drawn in Fig. 8b. Summed over the steps, the subset's class counts.
    pub increments: Vec<Vec<i64>>,
    /// Reference size of each rank.
    pub reference: Vec<usize>,
}

impl LongTail {
    /// The selected items as a label set, in source order.
    pub fn subset(&self, source: &LabelSet) -> LabelSet {
        source.subset(&self.indices)
    }
}

/// Builds a long-tailed subset of `source`, seeded by `seed`.
pub fn build_longtail(source: &LabelSet, config: &LongTailConfig, seed: u64) -> Result<LongTail> {
    let c = source.num_classes();
    let reference = reference_distribution(c, config.max, config.min, config.shape, config.tail)?;
    let share = resampled_share(&Cooccurrence::new(source));
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by(|&a, &b| share[b].total_cmp(&share[a]));

    let mut members: Vec<Vec<usize>> = vec![Vec::new(); c];
    for (k, row) in source.rows().iter().enumerate() {
        for &j in row {
            members[j].push(k);
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut selected = vec![false; source.len()];
    let mut tmp = vec![0i64; c];
    let mut increments = Vec::with_capacity(c);
    for (rank, &class) in order.iter().enumerate() {
        let before = tmp.clone();
        let want = reference[rank] as i64 - tmp[class];
        let add = want > 0;
        let candidates: Vec<usize> = members[class]
            .iter()
            .copied()
            .filter(|&k| selected[k] != add)
            .collect();
        let amount = (want.unsigned_abs() as usize).min(candidates.len());
        let delta = if add { 1 } else { -1 };
        for &k in candidates.choose_multiple(&mut rng, amount) {
            selected[k] = add;
            for &j in source.row(k) {
                tmp[j] += delta;
            }
        }
        increments.push(tmp.iter().zip(&before).map(|(a, b)| a - b).collect());
    }
    let indices = (0..source.len()).filter(|&k| selected[k]).collect();
    Ok(LongTail {
        indices,
        order,
        increments,
        reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::Shipped;
    use crate::split::{Group, SplitRule};

    fn official_voc_counts() -> Vec<usize> {
        Shipped::VocMlt.labels().class_counts()
    }

    #[test]
    fn voc2012_construction_matches_the_official_subset_for_any_seed() {
        let source = Shipped::Voc2012Trainval.labels();
        let official = official_voc_counts();
        for seed in [0, 1, 2] {
            let lt = build_longtail(&source, &LongTailConfig::voc(), seed).unwrap();
            let subset = lt.subset(&source);
            let images = subset.len() as f64;
            assert!(
                (images - 1142.0).abs() / 1142.0 < 0.08,
                "seed {seed}: {images} images"
            );
            for (c, (&got, &want)) in subset.class_counts().iter().zip(&official).enumerate() {
                let dev = (got as f64 - want as f64).abs() / want as f64;
                assert!(
                    dev < 0.25,
                    "seed {seed}, class {c}: {got} vs official {want}"
                );
            }
            assert_eq!(subset.class_names(), source.class_names());
        }
    }

    #[test]
    fn classes_are_processed_in_the_official_order() {
        // The official VOC-MLT counts are strictly decreasing along the reference's processing order, so the
        // order is the argsort of the official counts (person, chair, car, diningtable, ...).
        let official = official_voc_counts();
        let mut want: Vec<usize> = (0..official.len()).collect();
        want.sort_by(|&a, &b| official[b].cmp(&official[a]));
        let lt = build_longtail(
            &Shipped::Voc2012Trainval.labels(),
            &LongTailConfig::voc(),
            0,
        )
        .unwrap();
        assert_eq!(lt.order, want);
        // The increments of the steps add up to the subset's counts, and step i adds to (or removes from)
        // the class at rank i.
        let counts = lt.subset(&Shipped::Voc2012Trainval.labels()).class_counts();
        for (c, &n) in counts.iter().enumerate() {
            assert_eq!(lt.increments.iter().map(|s| s[c]).sum::<i64>(), n as i64);
        }
        assert_eq!(lt.increments.len(), 20);
        assert!(lt.increments[0][lt.order[0]] > 0);
        let split = SplitRule::default()
            .split(&lt.subset(&Shipped::Voc2012Trainval.labels()).class_counts());
        assert_eq!(split.members(Group::Head).len(), 6);
    }

    #[test]
    fn seeds_decide_the_subset() {
        let source = Shipped::Voc2012Trainval.labels();
        let a = build_longtail(&source, &LongTailConfig::voc(), 3).unwrap();
        let b = build_longtail(&source, &LongTailConfig::voc(), 3).unwrap();
        let c = build_longtail(&source, &LongTailConfig::voc(), 4).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.indices, c.indices);
    }
}
