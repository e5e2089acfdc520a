//! Per-class average precision, exactly as scikit-learn's `average_precision_score(y, s, average=None)`, which
//! the reference evaluation (`eval_map` in `mllt/core/evaluation/mean_ap.py`) calls on the raw test logits.
//!
//! Sort the scores in descending order and let every *distinct* score be one threshold, so tied scores enter
//! together. With P_k and R_k the precision and recall of `score ≥ t_k` and R_0 = 0,
//!
//! AP = Σ_k (R_k − R_{k−1}) · P_k,
//!
//! the step-wise, non-interpolated area under the precision–recall curve (scikit-learn's
//! `_binary_clf_curve` + `precision_recall_curve`). It is *not* VOC 11-point AP. Only thresholds that add a
//! positive contribute, so AP = (1/n₊) Σ_k ΔTP_k · TP_k / (TP_k + FP_k), accumulated in f64. The scores of a
//! class are sorted as integer keys, positives and negatives apart, and the two lists walked down together.
//! AP depends only on the order of the scores, so logits and sigmoid probabilities give the same value.
//!
//! A class with no positive has no recall; scikit-learn warns and returns 0, which the reference averages in.
//! Here such a class gets `None`, and [`EmptyClassPolicy`](super::EmptyClassPolicy) decides.

use crate::error::Result;
use crate::labels::LabelSet;
use crate::scores::ScoreMatrix;

/// AP of one class from its scores and ground truth (`positive[k]`: item k has the class), or `None` when
/// there is no positive. Scores must be finite (as [`ScoreMatrix`] guarantees).
///
/// # Panics
/// If the two slices differ in length.
pub fn average_precision(scores: &[f64], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len(), "one label per score");
    let mut class = ClassKeys::default();
    for (&s, &p) in scores.iter().zip(positive) {
        class.push(s, p);
    }
    class.ap()
}

/// AP of every class (column) of `scores` against `labels`; `None` for a class with no positive.
///
/// Errors when the shapes differ or there are no items.
pub fn per_class_ap(scores: &ScoreMatrix, labels: &LabelSet) -> Result<Vec<Option<f64>>> {
    super::check_shape(scores, labels)?;
    let (n, c) = (scores.rows(), scores.cols());
    let mut classes: Vec<ClassKeys> = labels
        .class_counts()
        .into_iter()
        .map(|pos| ClassKeys {
            pos: Vec::with_capacity(pos),
            neg: Vec::with_capacity(n - pos),
        })
        .collect();
    // One pass over the row-major matrix; `positive` is the current row's multi-hot vector.
    let mut positive = vec![false; c];
    for (k, row) in scores.as_slice().chunks_exact(c).enumerate() {
        labels.row(k).iter().for_each(|&j| positive[j] = true);
        for ((class, &s), &p) in classes.iter_mut().zip(row).zip(&positive) {
            class.push(s, p);
        }
        labels.row(k).iter().for_each(|&j| positive[j] = false);
    }
    Ok(classes.iter_mut().map(ClassKeys::ap).collect())
}

/// The scores of one class as sort keys, split by ground truth.
#[derive(Debug, Default)]
struct ClassKeys {
    pos: Vec<u64>,
    neg: Vec<u64>,
}

impl ClassKeys {
    fn push(&mut self, score: f64, positive: bool) {
        if positive {
            self.pos.push(sort_key(score));
        } else {
            self.neg.push(sort_key(score));
        }
    }

    /// AP = (1/n₊) Σ_k ΔTP_k · TP_k / (TP_k + FP_k) over the distinct scores t_k, descending: sorts both key
    /// lists and walks them down together. Thresholds below the lowest positive add nothing.
    fn ap(&mut self) -> Option<f64> {
        let (pos, neg) = (&mut self.pos, &mut self.neg);
        if pos.is_empty() {
            return None;
        }
        pos.sort_unstable();
        neg.sort_unstable();
        let (mut i, mut j) = (pos.len(), neg.len()); // keys not yet passed: pos[..i], neg[..j]
        let (mut tp, mut fp, mut sum) = (0usize, 0usize, 0.0f64);
        while i > 0 {
            let t = match j {
                0 => pos[i - 1],
                _ => pos[i - 1].max(neg[j - 1]),
            };
            let before = tp;
            while i > 0 && pos[i - 1] == t {
                (i, tp) = (i - 1, tp + 1);
            }
            while j > 0 && neg[j - 1] == t {
                (j, fp) = (j - 1, fp + 1);
            }
            if tp > before {
                sum += (tp - before) as f64 * (tp as f64 / (tp + fp) as f64);
            }
        }
        Some(sum / pos.len() as f64)
    }
}

/// A key that orders finite scores as `<` does, with −0.0 and +0.0 one key (one threshold, as in NumPy).
fn sort_key(score: f64) -> u64 {
    let bits = (score + 0.0).to_bits(); // −0.0 + 0.0 = +0.0
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A literal transcription of scikit-learn 1.9's `_binary_clf_curve`, `precision_recall_curve` and
    /// `average_precision_score` (stable descending sort, curve arrays reversed, `-sum(diff(recall) *
    /// precision[:-1])`), to check the fast path against.
    fn sklearn_ap(scores: &[f64], positive: &[bool]) -> f64 {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap());
        let s: Vec<f64> = order.iter().map(|&k| scores[k]).collect();
        let y: Vec<f64> = order
            .iter()
            .map(|&k| f64::from(u8::from(positive[k])))
            .collect();
        let mut idx: Vec<usize> = (0..s.len() - 1)
            .filter(|&i| s[i + 1] - s[i] != 0.0)
            .collect();
        idx.push(s.len() - 1);
        let cum: Vec<f64> = y
            .iter()
            .scan(0.0, |acc, v| {
                *acc += v;
                Some(*acc)
            })
            .collect();
        let tps: Vec<f64> = idx.iter().map(|&i| cum[i]).collect();
        let fps: Vec<f64> = idx
            .iter()
            .zip(&tps)
            .map(|(&i, tp)| 1.0 + i as f64 - tp)
            .collect();
        let mut precision: Vec<f64> = tps.iter().zip(&fps).map(|(t, f)| t / (t + f)).collect();
        let total = *tps.last().unwrap();
        let mut recall: Vec<f64> = tps.iter().map(|t| t / total).collect();
        precision.reverse();
        recall.reverse();
        precision.push(1.0);
        recall.push(0.0);
        -(0..recall.len() - 1)
            .map(|i| (recall[i + 1] - recall[i]) * precision[i])
            .sum::<f64>()
    }

    #[test]
    fn hand_computed_values() {
        // Ranking + + − + : P at the positives 1, 1, 3/4 → AP = (1 + 1 + 0.75) / 3.
        let ap = average_precision(&[0.9, 0.8, 0.7, 0.6], &[true, true, false, true]).unwrap();
        assert!((ap - 2.75 / 3.0).abs() < 1e-15);
        // One tie group holding everything: AP = prevalence.
        assert_eq!(
            average_precision(&[1.0; 4], &[true, false, false, false]),
            Some(0.25)
        );
        // A tie at the top: {+, −} at 2.0 then + at 1.0: R 1/2 at P 1/2, then R 1 at P 2/3.
        let ap = average_precision(&[2.0, 2.0, 1.0], &[true, false, true]).unwrap();
        assert!((ap - (0.25 + 1.0 / 3.0)).abs() < 1e-15);
        // −0.0 and +0.0 are one threshold.
        assert_eq!(average_precision(&[0.0, -0.0], &[false, true]), Some(0.5));
        assert_eq!(average_precision(&[0.3, 0.1], &[false, false]), None);
    }

    #[test]
    fn per_class_matches_columns() {
        let labels = LabelSet::new(
            vec!["x".into(), "y".into(), "z".into()],
            vec!["a".into(), "b".into()],
            vec![vec![0], vec![1], vec![0]],
        )
        .unwrap();
        let scores = ScoreMatrix::new(3, 2, vec![0.1, 0.0, 0.5, 1.0, 0.2, 0.0]).unwrap();
        let ap = per_class_ap(&scores, &labels).unwrap();
        assert_eq!(
            ap[0],
            average_precision(&[0.1, 0.5, 0.2], &[true, false, true])
        );
        assert_eq!(ap[1], Some(1.0));
        let wrong = ScoreMatrix::new(2, 2, vec![0.0; 4]).unwrap();
        assert!(per_class_ap(&wrong, &labels).is_err());
    }

    /// Scores from a few integer levels, so that ties are common.
    fn scored_items() -> impl Strategy<Value = (Vec<f64>, Vec<bool>)> {
        prop::collection::vec((-4i32..5, any::<bool>()), 1..60).prop_map(|v| {
            let (s, y): (Vec<i32>, Vec<bool>) = v.into_iter().unzip();
            (s.into_iter().map(|x| f64::from(x) * 0.5).collect(), y)
        })
    }

    proptest! {
        #[test]
        fn matches_the_sklearn_transcription((s, y) in scored_items()) {
            let got = average_precision(&s, &y);
            prop_assert_eq!(got.is_none(), !y.contains(&true));
            if let Some(ap) = got {
                prop_assert!((ap - sklearn_ap(&s, &y)).abs() < 1e-12);
            }
        }

        #[test]
        fn lies_in_the_unit_interval((s, y) in scored_items()) {
            if let Some(ap) = average_precision(&s, &y) {
                prop_assert!((0.0..=1.0).contains(&ap), "{}", ap);
            }
        }

        #[test]
        fn is_invariant_under_permutation(
            (s, y) in scored_items(),
            seed in any::<u64>(),
        ) {
            let n = s.len();
            let mut perm: Vec<usize> = (0..n).collect();
            // A seeded Fisher–Yates shuffle.
            let mut state = seed | 1;
            for i in (1..n).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                perm.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let ps: Vec<f64> = perm.iter().map(|&k| s[k]).collect();
            let py: Vec<bool> = perm.iter().map(|&k| y[k]).collect();
            prop_assert_eq!(average_precision(&s, &y), average_precision(&ps, &py));
        }

        #[test]
        fn is_invariant_under_increasing_maps((s, y) in scored_items()) {
            let sigmoid: Vec<f64> = s.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect();
            let affine: Vec<f64> = s.iter().map(|x| 3.0 * x - 7.0).collect();
            let ap = average_precision(&s, &y);
            prop_assert_eq!(ap, average_precision(&sigmoid, &y));
            prop_assert_eq!(ap, average_precision(&affine, &y));
        }

        #[test]
        fn perfect_ranking_gives_one(
            y in prop::collection::vec(any::<bool>(), 1..60),
            noise in prop::collection::vec(0.0f64..0.5, 60),
        ) {
            // Every positive scores above every negative (ties within each side are allowed).
            let s: Vec<f64> = y.iter().zip(&noise).map(|(&p, e)| if p { 1.0 + e } else { *e }).collect();
            if y.contains(&true) {
                prop_assert_eq!(average_precision(&s, &y), Some(1.0));
            }
        }
    }
}
