//! Uniform sampling: each epoch visits every item once, in a fresh random order (PyTorch's `RandomSampler`).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// Shuffles `0..n` anew every epoch.
#[derive(Debug, Clone)]
pub struct UniformSampler {
    n: usize,
    rng: ChaCha8Rng,
}

impl UniformSampler {
    /// A sampler over `n` items, seeded by `seed`.
    pub fn new(n: usize, seed: u64) -> Result<Self> {
        if n == 0 {
            return Err(Error::Invalid(
                "uniform sampler: the training set is empty".into(),
            ));
        }
        Ok(UniformSampler {
            n,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
    }

    /// Number of items in one epoch: N.
    pub fn epoch_len(&self) -> usize {
        self.n
    }

    /// A fresh permutation of all items.
    pub fn next_epoch(&mut self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.n).collect();
        order.shuffle(&mut self.rng);
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_are_seeded_permutations() {
        let mut a = UniformSampler::new(50, 3).unwrap();
        let mut b = UniformSampler::new(50, 3).unwrap();
        let e1 = a.next_epoch();
        assert_eq!(e1, b.next_epoch());
        let e2 = a.next_epoch();
        assert_ne!(e1, e2);
        let mut sorted = e2.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert!(UniformSampler::new(0, 1).is_err());
    }
}
