//! Label statistics of a training set: everything Sec. 3.1 and Sec. 4.4 of the paper read off the labels.
//!
//! - [`cooccurrence`]: co-occurrence counts n_{i∩j} and conditional probabilities p(i|j);
//! - [`gcn_adjacency`]: ML-GCN's label graph (the Table 1 baseline), from the co-occurrence;
//! - [`resampled_share`]: Eq. 1, the expected label share p̂_i after class-aware re-sampling;
//! - [`rebalance_ratio`]: Eq. 2–3, the re-balancing ratio r_i^k = P^C_i / P^I(x^k);
//! - [`sampling_variance`]: Sec. 4.4, the inner-class variance of normalised expected sampling times.

pub mod cooccurrence;
pub mod gcn_adjacency;
pub mod rebalance_ratio;
pub mod resampled_share;
pub mod sampling_variance;

pub use cooccurrence::Cooccurrence;
pub use gcn_adjacency::GcnGraph;
pub use rebalance_ratio::{RatioSummary, rebalance_ratios};
pub use resampled_share::resampled_share;
pub use sampling_variance::inner_class_variance;

use crate::labels::LabelSet;

/// Mean number of positive labels per item.
pub fn label_cardinality(labels: &LabelSet) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let total: usize = labels.rows().iter().map(Vec::len).sum();
    total as f64 / labels.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::Shipped;

    #[test]
    fn cardinality_of_the_official_subsets() {
        // Reference: mean labels per image 2.054 (VOC-MLT) and 4.356 (COCO-MLT), semantics §1.
        assert!((label_cardinality(&Shipped::VocMlt.labels()) - 2.054).abs() < 5e-4);
        assert!((label_cardinality(&Shipped::CocoMlt.labels()) - 4.356).abs() < 5e-4);
    }
}
