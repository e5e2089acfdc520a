//! Decision thresholds: multi-label deployment predicts class c for an item when its score is above a
//! threshold t_c. The reference thresholds every logit at 0; a model trained by `mllt train` stores one
//! threshold per class, chosen on the validation split carved from its training set ([`crate::holdout`]).
//!
//! Choice ([`choose_thresholds`]), on validation scores and labels:
//!
//! * per class: the t that maximises the class's F1 = 2·TP / (2·TP + FP + FN) of `score > t`. Only cuts
//!   between two distinct scores are candidates; t is the midpoint of the two (or 1 below the lowest score
//!   when every item is predicted). Among equal F1 the highest t (fewest predictions) wins;
//! * global: the one t that maximises the micro F1 of all classes pooled, by the same search over every
//!   (item, class) score;
//! * a class with fewer than `min_positives` validation positives gets the global t: its own F1 curve rests
//!   on too few items to be trusted.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::labels::LabelSet;
use crate::scores::ScoreMatrix;

/// Classes with fewer validation positives than this fall back to the global threshold. Thresholds fitted on
/// fewer positives over-fit: on OpenClipart-MLT (`results/thresholds/README.md`) the test micro / macro F1
/// was 18.8 / 29.1 with a fallback below 3 positives, 32.8 / 25.8 below 10, and 29.8 / 17.2 with the
/// reference's logit > 0 for every class.
pub const MIN_VALIDATION_POSITIVES: usize = 10;

/// The rule `score > threshold`: one threshold for every class, or one per class.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Thresholds {
    /// The same threshold for every class (the reference: 0 on logits).
    Global(f64),
    /// Threshold `[c]` for class c.
    PerClass(Vec<f64>),
}

impl Thresholds {
    /// The threshold of class `c`.
    pub fn of(&self, c: usize) -> f64 {
        match self {
            Thresholds::Global(t) => *t,
            Thresholds::PerClass(t) => t[c],
        }
    }

    /// Checks that the thresholds are finite and, per class, that there is one for each of `classes`.
    pub fn check(&self, classes: usize) -> Result<()> {
        let values: &[f64] = match self {
            Thresholds::Global(t) => std::slice::from_ref(t),
            Thresholds::PerClass(t) if t.len() != classes => {
                return Err(Error::Invalid(format!(
                    "{} thresholds for {classes} classes",
                    t.len()
                )));
            }
            Thresholds::PerClass(t) => t,
        };
        match values.iter().position(|t| !t.is_finite()) {
            Some(c) => Err(Error::Invalid(format!(
                "threshold {} is not finite",
                values[c]
            ))),
            None => Ok(()),
        }
    }
}

impl From<f64> for Thresholds {
    fn from(t: f64) -> Self {
        Thresholds::Global(t)
    }
}

impl std::fmt::Display for Thresholds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Thresholds::Global(t) => write!(f, "{t}"),
            Thresholds::PerClass(t) => write!(f, "per class ({} values)", t.len()),
        }
    }
}

/// Which classes a prediction names for an item, from its scores.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Every class whose score is above its threshold, in class order.
    Thresholds(Thresholds),
    /// The `k` highest-scoring classes, highest first (ties: the lower class index first).
    TopK(usize),
}

impl Decision {
    /// The classes named for one item with scores `row`.
    pub fn labels(&self, row: &[f32]) -> Vec<usize> {
        match self {
            Decision::Thresholds(t) => (0..row.len())
                .filter(|&c| f64::from(row[c]) > t.of(c))
                .collect(),
            Decision::TopK(k) => {
                let mut order: Vec<usize> = (0..row.len()).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
                order.truncate(*k);
                order
            }
        }
    }
}

/// Thresholds chosen on validation, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChosenThresholds {
    /// The threshold of every class: its own, or the global one.
    pub per_class: Vec<f64>,
    /// The global threshold (micro F1 over all classes).
    pub global: f64,
    /// Whether class c has its own threshold (else the global one).
    pub own: Vec<bool>,
    /// The validation positives of every class.
    pub validation_positives: Vec<usize>,
    /// The validation F1 of every class at its threshold.
    pub validation_f1: Vec<f64>,
}

/// The best cut of `scores` (with labels `positive`): the threshold and its F1.
///
/// The search sorts the scores in descending order and walks down the distinct values: predicting every item
/// scoring ≥ s_k gives TP_k positives among k predictions, F1 = 2·TP_k / (P + k).
fn best_cut(mut pairs: Vec<(f64, bool)>) -> (f64, f64) {
    pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let positives = pairs.iter().filter(|p| p.1).count();
    let Some(lowest) = pairs.last().map(|p| p.0) else {
        return (0.0, 0.0);
    };
    // Predicting nothing: F1 = 0 (0/0 counts as 0); the threshold is then the top score itself.
    let (mut best_t, mut best_f1) = (pairs[0].0, 0.0);
    let mut tp = 0usize;
    for k in 0..pairs.len() {
        tp += usize::from(pairs[k].1);
        let next = pairs.get(k + 1).map(|p| p.0);
        if next == Some(pairs[k].0) {
            continue; // not a cut: the next item has the same score
        }
        let f1 = 2.0 * tp as f64 / (positives + k + 1) as f64;
        if f1 > best_f1 {
            best_f1 = f1;
            best_t = match next {
                Some(b) => midpoint_below(pairs[k].0, b),
                None => lowest - 1.0,
            };
        }
    }
    (best_t, best_f1)
}

/// A t with a > t ≥ b, for a > b: the midpoint, or b where a and b are adjacent floats.
fn midpoint_below(a: f64, b: f64) -> f64 {
    let t = b + (a - b) / 2.0;
    if t < a { t } else { b }
}

/// Chooses thresholds on validation `scores` against `labels` (see the module documentation).
///
/// Errors when the shapes differ or there are no items.
pub fn choose_thresholds(
    scores: &ScoreMatrix,
    labels: &LabelSet,
    min_positives: usize,
) -> Result<ChosenThresholds> {
    super::check_shape(scores, labels)?;
    let c = scores.cols();
    let y: Vec<u8> = labels.dense();
    let column = |j: usize| -> Vec<(f64, bool)> {
        (0..scores.rows())
            .map(|i| (scores.get(i, j), y[i * c + j] != 0))
            .collect()
    };
    let pooled: Vec<(f64, bool)> = scores
        .as_slice()
        .iter()
        .zip(&y)
        .map(|(&s, &l)| (s, l != 0))
        .collect();
    let (global, _) = best_cut(pooled);
    let validation_positives = labels.class_counts();
    let mut chosen = ChosenThresholds {
        per_class: Vec::with_capacity(c),
        global,
        own: Vec::with_capacity(c),
        validation_positives,
        validation_f1: Vec::with_capacity(c),
    };
    for j in 0..c {
        let own = chosen.validation_positives[j] >= min_positives.max(1);
        let (t, f1) = if own {
            best_cut(column(j))
        } else {
            (global, f1_at(&column(j), global))
        };
        chosen.per_class.push(t);
        chosen.own.push(own);
        chosen.validation_f1.push(f1);
    }
    Ok(chosen)
}

/// F1 of `score > t` over `pairs`.
fn f1_at(pairs: &[(f64, bool)], t: f64) -> f64 {
    let (mut tp, mut predicted, mut positives) = (0usize, 0usize, 0usize);
    for &(s, y) in pairs {
        predicted += usize::from(s > t);
        positives += usize::from(y);
        tp += usize::from(s > t && y);
    }
    match predicted + positives {
        0 => 0.0,
        d => 2.0 * tp as f64 / d as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(rows: Vec<Vec<usize>>, classes: usize) -> LabelSet {
        let ids = (0..rows.len()).map(|k| format!("i{k}")).collect();
        let names = (0..classes).map(|c| format!("c{c}")).collect();
        LabelSet::new(ids, names, rows).unwrap()
    }

    #[test]
    fn hand_computed_cut() {
        // Scores 0.9 (+), 0.8 (−), 0.7 (+), 0.2 (+), 0.1 (−); P = 3.
        // k = 1: TP 1, F1 = 2/4 = 0.5; k = 2: 2/5 = 0.4; k = 3: 4/6 = 0.667; k = 4: 6/7 = 0.857;
        // k = 5: 6/8 = 0.75. Best: predict the top 4, threshold between 0.2 and 0.1 → 0.15.
        let (t, f1) = best_cut(vec![
            (0.2, true),
            (0.9, true),
            (0.1, false),
            (0.8, false),
            (0.7, true),
        ]);
        assert!((t - 0.15).abs() < 1e-12, "{t}");
        assert!((f1 - 6.0 / 7.0).abs() < 1e-12);
        assert_eq!(
            f1_at(
                &[
                    (0.2, true),
                    (0.9, true),
                    (0.1, false),
                    (0.8, false),
                    (0.7, true)
                ],
                t
            ),
            f1
        );
    }

    #[test]
    fn ties_are_never_split_and_all_predicted_goes_below_the_lowest() {
        // Two items at 0.5, one positive one negative, and a positive at 0.3: cutting between the two 0.5s is
        // not allowed. k = 2 (both 0.5s): F1 = 2/4 = 0.5; k = 3: 4/5 = 0.8 → every item, t = 0.3 − 1.
        let (t, f1) = best_cut(vec![(0.5, true), (0.5, false), (0.3, true)]);
        assert_eq!(t, 0.3 - 1.0);
        assert!((f1 - 0.8).abs() < 1e-12);
        // Equal F1: the higher threshold wins. 1 (+), 0 (−), −1 (−), −2 (+), P = 2: k = 1 → 2/3 and
        // k = 4 → 4/6 = 2/3; the cut below the top item is kept, t = 0.5.
        let (t, f1) = best_cut(vec![(1.0, true), (0.0, false), (-1.0, false), (-2.0, true)]);
        assert_eq!(t, 0.5);
        assert!((f1 - 2.0 / 3.0).abs() < 1e-12);
        let below_one = 1.0f64.next_down();
        assert_eq!(midpoint_below(1.0, below_one), below_one);
    }

    #[test]
    fn per_class_global_and_fallback() {
        // Class 0 has 3 positives (own threshold), class 1 has 1 (falls back to the global one).
        let l = labels(vec![vec![0], vec![0, 1], vec![0], vec![], vec![]], 2);
        let s = ScoreMatrix::new(
            5,
            2,
            vec![2.0, -1.0, 1.5, 0.5, 1.0, -2.0, -0.5, 3.0, 0.8, -3.0],
        )
        .unwrap();
        let chosen = choose_thresholds(&s, &l, 3).unwrap();
        assert_eq!(chosen.own, vec![true, false]);
        assert_eq!(chosen.validation_positives, vec![3, 1]);
        // Class 0: 2 (+), 1.5 (+), 1 (+), 0.8 (−), −0.5 (−) → the top 3, t = (1 + 0.8) / 2 = 0.9, F1 1.
        assert!((chosen.per_class[0] - 0.9).abs() < 1e-12);
        assert_eq!(chosen.validation_f1[0], 1.0);
        // Pooled (P = 4): 3 (−), 2 (+), 1.5 (+), 1 (+), 0.8 (−), 0.5 (+), … k = 4: TP 3, 6/8 = 0.75;
        // k = 6: TP 4, 8/10 = 0.8; k = 1..3: 0, 2/6, 4/7 = 0.571; k = 5: 6/9; below 6 only negatives
        // follow. Best k = 6: t = the midpoint of 0.5 and the next score −0.5 = 0.
        assert_eq!(chosen.global, 0.0);
        assert_eq!(chosen.per_class[1], 0.0);
        // Class 1 at t = 0: predicts 0.5 (+) and 3 (−) → TP 1, FP 1, FN 0, F1 = 2/3.
        assert!((chosen.validation_f1[1] - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn decisions() {
        let row = [0.5f32, -1.0, 2.0, 0.5];
        let per_class = Decision::Thresholds(Thresholds::PerClass(vec![0.4, -2.0, 2.0, 0.6]));
        // 0.5 > 0.4, −1 > −2, 2 > 2 is false, 0.5 > 0.6 is false.
        assert_eq!(per_class.labels(&row), [0, 1]);
        assert_eq!(Decision::Thresholds(0.0.into()).labels(&row), [0, 2, 3]);
        // Highest first; the tie of classes 0 and 3 goes to 0.
        assert_eq!(Decision::TopK(3).labels(&row), [2, 0, 3]);
        assert_eq!(Decision::TopK(9).labels(&row).len(), 4);
    }

    #[test]
    fn checks_and_display() {
        assert!(Thresholds::PerClass(vec![0.0]).check(2).is_err());
        assert!(Thresholds::PerClass(vec![0.0, f64::NAN]).check(2).is_err());
        assert!(Thresholds::Global(f64::INFINITY).check(2).is_err());
        assert!(Thresholds::PerClass(vec![0.0, 1.0]).check(2).is_ok());
        assert_eq!(Thresholds::from(0.5).of(7), 0.5);
        assert_eq!(Thresholds::PerClass(vec![0.0, 1.0]).of(1), 1.0);
        assert_eq!(Thresholds::Global(0.0).to_string(), "0");
    }
}
