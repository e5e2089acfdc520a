//! Label co-occurrence (paper Sec. 3.1, Fig. 5): n_{i∩j}, the number of items holding both i and j, and
//! p(i|j) = n_{i∩j} / n_j. The diagonal holds n_i and p(i|i) = 1.
//!
//! The reference stores the transpose: its `condition_prob[i][j]` is P(j|i) = n_{i∩j}/n_i.

use crate::labels::LabelSet;

/// The C × C co-occurrence counts of a label set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cooccurrence {
    c: usize,
    /// Row-major: `counts[i * c + j]` = n_{i∩j}.
    counts: Vec<usize>,
}

impl Cooccurrence {
    /// Counts every pair of positives of every item.
    pub fn new(labels: &LabelSet) -> Self {
        let c = labels.num_classes();
        let mut counts = vec![0; c * c];
        for row in labels.rows() {
            for &i in row {
                for &j in row {
                    counts[i * c + j] += 1;
                }
            }
        }
        Cooccurrence { c, counts }
    }

    /// Number of classes C.
    pub fn num_classes(&self) -> usize {
        self.c
    }

    /// n_{i∩j}.
    pub fn count(&self, i: usize, j: usize) -> usize {
        self.counts[i * self.c + j]
    }

    /// n_i, the diagonal.
    pub fn class_count(&self, i: usize) -> usize {
        self.count(i, i)
    }

    /// p(i|j) = n_{i∩j} / n_j: the probability that an item holding j also holds i; `None` when n_j = 0.
    pub fn conditional(&self, i: usize, j: usize) -> Option<f64> {
        let nj = self.class_count(j);
        (nj > 0).then(|| self.count(i, j) as f64 / nj as f64)
    }

    /// The C × C counts as rows.
    pub fn rows(&self) -> Vec<Vec<usize>> {
        self.counts
            .chunks(self.c.max(1))
            .map(<[usize]>::to_vec)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn hand_counted_example() {
        let text = "id\tl\na\tx,y\nb\tx\nc\ty,z\nd\tx,y,z\n";
        let cls = vec!["x".into(), "y".into(), "z".into()];
        let co = Cooccurrence::new(&LabelSet::parse_tsv(text, Path::new("t"), cls).unwrap());
        assert_eq!(co.rows(), vec![vec![3, 2, 1], vec![2, 3, 2], vec![1, 2, 2]]);
        // p(x|z) = n_{x∩z}/n_z = 1/2; p(z|x) = 1/3.
        assert_eq!(co.conditional(0, 2), Some(0.5));
        assert_eq!(co.conditional(2, 0), Some(1.0 / 3.0));
        assert_eq!(co.conditional(1, 1), Some(1.0));
    }
}
