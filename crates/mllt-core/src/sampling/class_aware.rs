//! Class-aware re-sampling (paper Sec. 3.1; reference `ClassAwareSampler`, semantics §4).
//!
//! The stream of one epoch: take the next class from a class cycle (a random permutation of the classes,
//! renewed after every pass), then the next `per_class` consecutive images from that class's image cycle
//! (each a random permutation of the class's images, renewed after every pass; a draw may wrap partway).
//! The epoch stops after `int(max_c n_c · C / reduce)` images; the unused rest of the last draw is lost, but
//! its images were still taken from the cycle, as in the reference (`next(zip(*[it]*3))`). The cycles persist
//! across epochs.
//!
//! Deviation: a class with no image is left out of the class cycle (the reference would fail on it). The epoch
//! length still uses the full C, as the reference does.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::cycle::RandomCycle;
use crate::error::{Error, Result};
use crate::labels::LabelSet;

/// The class-aware sampler of the reference implementation.
#[derive(Debug, Clone)]
pub struct ClassAwareSampler {
    classes: RandomCycle,
    images: Vec<RandomCycle>,
    per_class: usize,
    epoch_len: usize,
    rng: ChaCha8Rng,
}

/// Epoch length of class-aware sampling: `int(max_c n_c · C / reduce)` (reference §4; the paper's `N_e`
/// visits per class, reduced). VOC-MLT: 3875, COCO-MLT: 22560.
pub fn class_aware_epoch_len(class_counts: &[usize], reduce: usize) -> usize {
    let max = class_counts.iter().copied().max().unwrap_or(0);
    max * class_counts.len() / reduce.max(1)
}

impl ClassAwareSampler {
    /// A sampler over `labels`, with epoch length reduced by `reduce` and `per_class` images per class draw.
    pub fn new(labels: &LabelSet, reduce: usize, per_class: usize, seed: u64) -> Result<Self> {
        if reduce == 0 || per_class == 0 {
            return Err(Error::Invalid(format!(
                "class-aware sampler: reduce ({reduce}) and per_class ({per_class}) must be at least 1"
            )));
        }
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); labels.num_classes()];
        for (k, row) in labels.rows().iter().enumerate() {
            for &c in row {
                members[c].push(k);
            }
        }
        let nonempty: Vec<usize> = (0..members.len())
            .filter(|&c| !members[c].is_empty())
            .collect();
        let epoch_len = class_aware_epoch_len(&labels.class_counts(), reduce);
        if nonempty.is_empty() || epoch_len == 0 {
            return Err(Error::Invalid(
                "class-aware sampler: no class has a positive item (or reduce exceeds max n_c · C)"
                    .into(),
            ));
        }
        Ok(ClassAwareSampler {
            classes: RandomCycle::new(nonempty),
            images: members
                .into_iter()
                .map(|m| RandomCycle::new(if m.is_empty() { vec![usize::MAX] } else { m }))
                .collect(),
            per_class,
            epoch_len,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
    }

    /// Number of images in one epoch.
    pub fn epoch_len(&self) -> usize {
        self.epoch_len
    }

    /// The image indices of the next epoch, in order.
    pub fn next_epoch(&mut self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.epoch_len + self.per_class);
        while out.len() < self.epoch_len {
            let c = self.classes.next(&mut self.rng);
            for _ in 0..self.per_class {
                out.push(self.images[c].next(&mut self.rng));
            }
        }
        out.truncate(self.epoch_len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn toy() -> LabelSet {
        // class 0: items 0..6, class 1: item 6 only, class 2: no item.
        let text = "id\tl\na\tx\nb\tx\nc\tx\nd\tx\ne\tx\nf\tx\ng\ty\n";
        LabelSet::parse_tsv(
            text,
            Path::new("t"),
            vec!["x".into(), "y".into(), "z".into()],
        )
        .unwrap()
    }

    #[test]
    fn draws_runs_of_three_from_one_class() {
        let mut s = ClassAwareSampler::new(&toy(), 1, 3, 7).unwrap();
        assert_eq!(s.epoch_len(), 6 * 3);
        let epoch = s.next_epoch();
        assert_eq!(epoch.len(), 18);
        for run in epoch.chunks(3) {
            let from_y = run.iter().filter(|&&k| k == 6).count();
            assert!(
                from_y == 0 || from_y == 3,
                "a run comes from one class: {run:?}"
            );
        }
        // class x and y alternate in the class cycle: 3 runs each.
        assert_eq!(epoch.iter().filter(|&&k| k == 6).count(), 9);
    }

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let labels = toy();
        let mut a = ClassAwareSampler::new(&labels, 2, 3, 11).unwrap();
        let mut b = ClassAwareSampler::new(&labels, 2, 3, 11).unwrap();
        let mut c = ClassAwareSampler::new(&labels, 2, 3, 12).unwrap();
        let (ea, eb, ec) = (a.next_epoch(), b.next_epoch(), c.next_epoch());
        assert_eq!(ea, eb);
        assert_eq!(a.next_epoch(), b.next_epoch());
        assert_ne!(ea, ec);
    }

    #[test]
    fn reference_epoch_lengths() {
        assert_eq!(class_aware_epoch_len(&[775, 4, 10], 4), 775 * 3 / 4);
        assert!(ClassAwareSampler::new(&toy(), 0, 3, 1).is_err());
    }
}
