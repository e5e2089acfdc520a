//! `RandomCycleIter` of the reference sampler: yields a list in order and reshuffles it in place each time it
//! wraps, including before the very first item, so every pass is a fresh permutation.

use rand::Rng;
use rand::seq::SliceRandom;

/// An endless iterator over `items`, reshuffled at the start of every pass.
#[derive(Debug, Clone)]
pub(crate) struct RandomCycle {
    items: Vec<usize>,
    next: usize,
}

impl RandomCycle {
    /// A cycle over `items`; it must not be empty.
    pub(crate) fn new(items: Vec<usize>) -> Self {
        debug_assert!(!items.is_empty());
        let next = items.len();
        RandomCycle { items, next }
    }

    /// The next item; a wrap reshuffles with `rng`.
    pub(crate) fn next(&mut self, rng: &mut impl Rng) -> usize {
        if self.next == self.items.len() {
            self.items.shuffle(rng);
            self.next = 0;
        }
        self.next += 1;
        self.items[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn every_pass_is_a_permutation() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut cycle = RandomCycle::new((0..7).collect());
        let mut passes = Vec::new();
        for _ in 0..4 {
            let mut pass: Vec<usize> = (0..7).map(|_| cycle.next(&mut rng)).collect();
            let order = pass.clone();
            pass.sort_unstable();
            assert_eq!(pass, (0..7).collect::<Vec<_>>());
            passes.push(order);
        }
        assert!(
            passes.windows(2).any(|w| w[0] != w[1]),
            "passes are reshuffled"
        );
    }
}
