//! The chance level of mAP on a test set: the mAP of scores drawn at random, independent of the items.
//!
//! A random ranking's AP depends on the test set alone, through each class's prevalence. A method whose mAP sits
//! within a couple of points of it has learned nothing. The baseline is the mean over `draws` draws of i.i.d.
//! uniform scores (ChaCha8 seeded with `seed`), evaluated exactly as a method's scores are: per-class AP, mean
//! over all classes and over each head / medium / tail group of `split`, classes without a test positive left
//! out.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::labels::LabelSet;
use crate::scores::ScoreMatrix;
use crate::split::{Group, Split};

use super::{EmptyClassPolicy, Evaluation};

/// Mean mAP of random scores: over all classes, and per group present in the split.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomBaseline {
    pub total: f64,
    pub groups: Vec<(Group, f64)>,
    pub draws: usize,
}

/// The random-score baseline of `labels` (see the module documentation); `split` gives the groups.
///
/// Errors when there are no items, no class has a test positive, or `draws` is 0.
pub fn random_baseline(
    labels: &LabelSet,
    split: &Split,
    draws: usize,
    seed: u64,
) -> Result<RandomBaseline> {
    if draws == 0 {
        return Err(crate::Error::Invalid(
            "the random baseline needs at least one draw".into(),
        ));
    }
    let (n, c) = (labels.len(), labels.num_classes());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut total = 0.0;
    let mut groups: Vec<(Group, f64)> = Vec::new();
    for _ in 0..draws {
        let scores: Vec<f64> = (0..n * c).map(|_| rng.random::<f64>()).collect();
        let scores = ScoreMatrix::new(n, c, scores)?;
        let e = Evaluation::new(&scores, labels, Some(split), 0.5, EmptyClassPolicy::Skip)?;
        total += e
            .total
            .map
            .ok_or_else(|| crate::Error::Invalid("no class has a positive test item".into()))?;
        for (g, m) in &e.groups {
            let map = m.map.unwrap_or(f64::NAN);
            match groups.iter_mut().find(|(h, _)| h == g) {
                Some((_, sum)) => *sum += map,
                None => groups.push((*g, map)),
            }
        }
    }
    let mean = |sum: f64| sum / draws as f64;
    Ok(RandomBaseline {
        total: mean(total),
        groups: groups.into_iter().map(|(g, sum)| (g, mean(sum))).collect(),
        draws,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::SplitRule;

    #[test]
    fn random_map_is_near_the_prevalence() {
        // Class a: 10 % of 400 items, class b: 50 %. The AP of a random ranking is close to the prevalence, a
        // little above it (the first positives' precisions are noisy and AP averages them unevenly), so the
        // mean over 40 draws lands just above (0.1 + 0.5) / 2 = 0.3.
        let n = 400;
        let ids = (0..n).map(|k| format!("i{k}")).collect();
        let rows = (0..n)
            .map(|k| {
                let mut r = vec![];
                if k % 10 == 0 {
                    r.push(0);
                }
                if k % 2 == 0 {
                    r.push(1);
                }
                r
            })
            .collect();
        let labels = LabelSet::new(ids, vec!["a".into(), "b".into()], rows).unwrap();
        // Training counts: a is tail (5), b is head (150).
        let split = SplitRule::default().split(&[5, 150]);
        let b = random_baseline(&labels, &split, 40, 3).unwrap();
        assert!(b.total > 0.3 && b.total < 0.33, "{b:?}");
        let group = |g| b.groups.iter().find(|(h, _)| *h == g).unwrap().1;
        assert!(
            group(Group::Tail) > 0.1 && group(Group::Tail) < 0.14,
            "{b:?}"
        );
        assert!(
            group(Group::Head) > 0.5 && group(Group::Head) < 0.53,
            "{b:?}"
        );
        assert_eq!(random_baseline(&labels, &split, 40, 3).unwrap(), b);
        assert!(random_baseline(&labels, &split, 0, 3).is_err());
    }
}
