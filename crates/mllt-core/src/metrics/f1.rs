//! Threshold metrics of the reference `tools/test.py` (`eval_F1`, `eval_acc` in `eval_tools.py`): a class is
//! predicted when `score > threshold` (the reference uses raw logits and threshold 0, i.e. probability > ½).
//!
//! * micro F1 = 2·ΣTP / (2·ΣTP + ΣFP + ΣFN), summed over the classes (scikit-learn `f1_score(average='micro')`);
//! * macro F1 = the unweighted mean over classes of 2·TP / (2·TP + FP + FN) (`average='macro'`);
//! * accuracy = the mean over classes of the per-class accuracy (TP + TN) / N (`eval_acc`).
//!
//! An F1 whose denominator is 0 (no positive and no prediction) is 0, scikit-learn's default `zero_division`,
//! and such classes still count in the macro mean, as in the reference.

use crate::error::Result;
use crate::labels::LabelSet;
use crate::scores::ScoreMatrix;

use super::thresholds::Thresholds;

/// Confusion counts of one class for the prediction `score > threshold`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
}

impl Confusion {
    /// F1 = 2·TP / (2·TP + FP + FN); 0 when the denominator is 0.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// Accuracy (TP + TN) / (TP + FP + FN + TN); 0 for a confusion of no items.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.tp + self.fp + self.fn_ + self.tn)
    }
}

/// `num / den`, or 0 when `den` is 0 (scikit-learn's `zero_division` default).
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Per-class confusion counts of `scores > threshold` against `labels`, with one threshold for every class
/// or one per class.
///
/// Errors when the shapes differ or there are no items.
pub fn confusions(
    scores: &ScoreMatrix,
    labels: &LabelSet,
    thresholds: impl Into<Thresholds>,
) -> Result<Vec<Confusion>> {
    super::check_shape(scores, labels)?;
    let (n, c) = (scores.rows(), scores.cols());
    let thresholds = thresholds.into();
    thresholds.check(c)?;
    let t: Vec<f64> = (0..c).map(|j| thresholds.of(j)).collect();
    // Predictions of every class over all items; true positives from the (sparse) label rows.
    let (mut predicted, mut tp) = (vec![0usize; c], vec![0usize; c]);
    for (k, row) in scores.as_slice().chunks_exact(c).enumerate() {
        for ((p, &s), &t) in predicted.iter_mut().zip(row).zip(&t) {
            *p += usize::from(s > t);
        }
        for &j in labels.row(k) {
            tp[j] += usize::from(row[j] > t[j]);
        }
    }
    Ok(labels
        .class_counts()
        .into_iter()
        .zip(predicted.into_iter().zip(tp))
        .map(|(pos, (pred, tp))| Confusion {
            tp,
            fp: pred - tp,
            fn_: pos - tp,
            tn: n - pred - (pos - tp),
        })
        .collect())
}

/// Micro / macro F1 and class-averaged accuracy over a set of classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdMetrics {
    pub micro_f1: f64,
    pub macro_f1: f64,
    pub accuracy: f64,
}

impl ThresholdMetrics {
    /// The metrics over the classes `classes` (indices into `conf`), or `None` when `classes` is empty.
    pub fn over(conf: &[Confusion], classes: &[usize]) -> Option<Self> {
        if classes.is_empty() {
            return None;
        }
        let mean = |f: fn(&Confusion) -> f64| {
            classes.iter().map(|&c| f(&conf[c])).sum::<f64>() / classes.len() as f64
        };
        let sum = classes
            .iter()
            .fold(Confusion::default(), |a, &c| Confusion {
                tp: a.tp + conf[c].tp,
                fp: a.fp + conf[c].fp,
                fn_: a.fn_ + conf[c].fn_,
                tn: a.tn + conf[c].tn,
            });
        Some(ThresholdMetrics {
            micro_f1: sum.f1(),
            macro_f1: mean(Confusion::f1),
            accuracy: mean(Confusion::accuracy),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        let labels = LabelSet::new(
            vec!["p".into(), "q".into(), "r".into(), "s".into()],
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![0], vec![0, 1], vec![], vec![1]],
        )
        .unwrap();
        // Class a: scores 1, 2, −1, 0 → TP 2, TN 2 (the 0 of s is not > 0).
        // Class b: scores −1, 3, 5, 0 → TP 1 (q), FP 1 (r), FN 1 (s), TN 1.
        // Class c: never positive, never predicted → F1 0/0 = 0, accuracy 1.
        let scores = ScoreMatrix::new(
            4,
            3,
            vec![
                1.0, -1.0, -1.0, 2.0, 3.0, -2.0, -1.0, 5.0, 0.0, 0.0, 0.0, -3.0,
            ],
        )
        .unwrap();
        let conf = confusions(&scores, &labels, 0.0).unwrap();
        assert_eq!(
            conf[0],
            Confusion {
                tp: 2,
                fp: 0,
                fn_: 0,
                tn: 2
            }
        );
        assert_eq!(
            conf[1],
            Confusion {
                tp: 1,
                fp: 1,
                fn_: 1,
                tn: 1
            }
        );
        assert_eq!(
            conf[2],
            Confusion {
                tp: 0,
                fp: 0,
                fn_: 0,
                tn: 4
            }
        );
        let m = ThresholdMetrics::over(&conf, &[0, 1, 2]).unwrap();
        assert_eq!(m.micro_f1, 6.0 / 8.0);
        assert_eq!(m.macro_f1, (1.0 + 0.5 + 0.0) / 3.0);
        assert_eq!(m.accuracy, (1.0 + 0.5 + 1.0) / 3.0);
        assert_eq!(ThresholdMetrics::over(&conf, &[]), None);
        // A higher threshold predicts less.
        let conf = confusions(&scores, &labels, 2.5).unwrap();
        assert_eq!(
            conf[0],
            Confusion {
                tp: 0,
                fp: 0,
                fn_: 2,
                tn: 2
            }
        );
    }
}
