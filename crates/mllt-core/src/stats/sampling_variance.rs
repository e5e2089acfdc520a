//! Sec. 4.4 (Fig. 5, line chart): inner-class imbalance of class-aware re-sampling.
//!
//! Under class-aware sampling an item x^k is drawn with probability P^I(x^k) ∝ Σ_{j: y_j^k = 1} 1/n_j per draw:
//! its expected sampling times. For each class i, the expected sampling times of the items holding i are
//! normalised to mean 1 within the class, and their (population) variance measures how unequally the class's
//! own items are sampled. It is 0 when every item of i is drawn equally often.

use crate::labels::LabelSet;

/// The variance of normalised expected sampling times of each class; `None` for a class with no item.
pub fn inner_class_variance(labels: &LabelSet) -> Vec<Option<f64>> {
    let inv: Vec<f64> = labels
        .class_counts()
        .iter()
        .map(|&n| 1.0 / n as f64)
        .collect();
    let c = labels.num_classes();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); c];
    for row in labels.rows() {
        let t: f64 = row.iter().map(|&j| inv[j]).sum();
        for &i in row {
            times[i].push(t);
        }
    }
    times
        .iter()
        .map(|t| {
            if t.is_empty() {
                return None;
            }
            let mean = t.iter().sum::<f64>() / t.len() as f64;
            Some(t.iter().map(|&x| (x / mean - 1.0).powi(2)).sum::<f64>() / t.len() as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn hand_computed_variance() {
        // n_x = 2, n_y = 1, n_z = 0. Items of x: a = {x} with t = 1/2, b = {x, y} with t = 3/2.
        // Normalised: 1/2 and 3/2 over mean 1 → 0.5 and 1.5, variance 0.25. y has one item → 0.
        let text = "id\tl\na\tx\nb\tx,y\n";
        let cls = vec!["x".into(), "y".into(), "z".into()];
        let labels = LabelSet::parse_tsv(text, Path::new("t"), cls).unwrap();
        assert_eq!(
            inner_class_variance(&labels),
            vec![Some(0.25), Some(0.0), None]
        );
    }
}
