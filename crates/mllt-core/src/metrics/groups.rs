//! mAP, F1 and accuracy over all classes and per head / medium / tail group, as `tools/test.py --eval
//! multiple` reports them: every metric of a group is computed on the group's columns only
//! (`outputs[:, split_cols]`). The groups come from a [`Split`] of the *training* counts, applied to the test
//! columns.
//!
//! The reference mAP is `APs.mean()` over all classes, where scikit-learn gives a class with no positive in the
//! test labels AP 0. That is a property of the test set, not of the model, so by default such a class is left
//! out of the mean instead ([`EmptyClassPolicy::Skip`]); [`EmptyClassPolicy::Zero`] reproduces the reference.
//! Either way the empty classes are reported. F1 and accuracy always count every class, as the reference does.

use crate::error::{Error, Result};
use crate::labels::LabelSet;
use crate::scores::ScoreMatrix;
use crate::split::{Group, Split};

use super::average_precision::per_class_ap;
use super::f1::{Confusion, ThresholdMetrics, confusions};
use super::thresholds::Thresholds;

/// What a class with no positive in the test labels contributes to a mean AP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EmptyClassPolicy {
    /// Leave it out of the mean (its AP is undefined).
    #[default]
    Skip,
    /// Count it as AP 0, as the reference (scikit-learn's `average_precision_score`) does.
    Zero,
}

impl EmptyClassPolicy {
    /// The AP that enters a mean for a class whose AP is `ap` (`None`: no positive).
    pub fn apply(self, ap: Option<f64>) -> Option<f64> {
        match self {
            EmptyClassPolicy::Skip => ap,
            EmptyClassPolicy::Zero => Some(ap.unwrap_or(0.0)),
        }
    }
}

/// The unweighted mean AP over `classes` under `policy`; `None` when no class counts.
pub fn mean_ap(ap: &[Option<f64>], classes: &[usize], policy: EmptyClassPolicy) -> Option<f64> {
    let counted: Vec<f64> = classes
        .iter()
        .filter_map(|&c| policy.apply(ap[c]))
        .collect();
    (!counted.is_empty()).then(|| counted.iter().sum::<f64>() / counted.len() as f64)
}

/// The metrics of one set of classes (all classes, or one group).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMetrics {
    /// The class indices, ascending.
    pub classes: Vec<usize>,
    /// mAP; `None` when every class is empty and the policy skips them.
    pub map: Option<f64>,
    /// Micro / macro F1 and accuracy at the threshold.
    pub threshold: ThresholdMetrics,
}

/// The full evaluation of a score matrix against test labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// AP of every class; `None` for a class with no positive in the test labels.
    pub ap: Vec<Option<f64>>,
    /// Confusion counts of every class at the threshold.
    pub confusion: Vec<Confusion>,
    /// The prediction rule is `score > threshold` (of the class).
    pub threshold: Thresholds,
    /// How classes without positives enter the means.
    pub policy: EmptyClassPolicy,
    /// All classes.
    pub total: GroupMetrics,
    /// Head, medium and tail, in that order, leaving out groups with no class; empty without a split.
    pub groups: Vec<(Group, GroupMetrics)>,
}

impl Evaluation {
    /// Evaluates `scores` against `labels`; `split` (one group per class) adds the per-group metrics.
    pub fn new(
        scores: &ScoreMatrix,
        labels: &LabelSet,
        split: Option<&Split>,
        threshold: impl Into<Thresholds>,
        policy: EmptyClassPolicy,
    ) -> Result<Self> {
        let threshold = threshold.into();
        if let Some(split) = split
            && split.groups().len() != labels.num_classes()
        {
            return Err(Error::Invalid(format!(
                "the split has {} classes but the labels have {}",
                split.groups().len(),
                labels.num_classes()
            )));
        }
        let ap = per_class_ap(scores, labels)?;
        let confusion = confusions(scores, labels, threshold.clone())?;
        let metrics = |classes: Vec<usize>| {
            let threshold = ThresholdMetrics::over(&confusion, &classes)?;
            Some(GroupMetrics {
                map: mean_ap(&ap, &classes, policy),
                classes,
                threshold,
            })
        };
        let total = metrics((0..labels.num_classes()).collect())
            .ok_or_else(|| Error::Invalid("no classes to evaluate".into()))?;
        let groups = split.map_or_else(Vec::new, |split| {
            Group::ALL
                .into_iter()
                .filter_map(|g| Some((g, metrics(split.members(g))?)))
                .collect()
        });
        Ok(Evaluation {
            ap,
            confusion,
            threshold,
            policy,
            total,
            groups,
        })
    }

    /// The AP of class `c` as it enters the means (see [`EmptyClassPolicy::apply`]).
    pub fn class_ap(&self, c: usize) -> Option<f64> {
        self.policy.apply(self.ap[c])
    }

    /// The classes with no positive in the test labels, ascending.
    pub fn empty_classes(&self) -> Vec<usize> {
        (0..self.ap.len())
            .filter(|&c| self.ap[c].is_none())
            .collect()
    }

    /// The metrics of group `g`, if the split has it.
    pub fn group(&self, g: Group) -> Option<&GroupMetrics> {
        self.groups.iter().find(|(h, _)| *h == g).map(|(_, m)| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::SplitRule;

    #[test]
    fn policies_and_groups() {
        // Class 0: ranked perfectly (AP 1); class 1: no positive; class 2: its positive ranked last (AP 1/3).
        let labels = LabelSet::new(
            vec!["p".into(), "q".into(), "r".into()],
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![0], vec![2], vec![]],
        )
        .unwrap();
        let scores =
            ScoreMatrix::new(3, 3, vec![2.0, 1.0, 3.0, -1.0, 0.5, -2.0, -2.0, 0.1, 0.0]).unwrap();
        let split = SplitRule::default().split(&[150, 5, 10]);
        let skip =
            Evaluation::new(&scores, &labels, Some(&split), 0.0, EmptyClassPolicy::Skip).unwrap();
        assert_eq!(skip.ap, vec![Some(1.0), None, Some(1.0 / 3.0)]);
        assert_eq!(skip.empty_classes(), vec![1]);
        assert_eq!(skip.total.map, Some((1.0 + 1.0 / 3.0) / 2.0));
        assert_eq!(skip.group(Group::Head).unwrap().map, Some(1.0));
        assert_eq!(skip.group(Group::Medium), None);
        let tail = skip.group(Group::Tail).unwrap();
        assert_eq!(tail.classes, vec![1, 2]);
        assert_eq!(tail.map, Some(1.0 / 3.0));
        assert_eq!(skip.class_ap(1), None);

        let zero =
            Evaluation::new(&scores, &labels, Some(&split), 0.0, EmptyClassPolicy::Zero).unwrap();
        assert_eq!(zero.total.map, Some((1.0 + 1.0 / 3.0) / 3.0));
        assert_eq!(zero.group(Group::Tail).unwrap().map, Some(1.0 / 6.0));
        assert_eq!(zero.class_ap(1), Some(0.0));

        // A group whose only class is empty has no mAP under Skip.
        let split = SplitRule::default().split(&[150, 5, 150]);
        let e =
            Evaluation::new(&scores, &labels, Some(&split), 0.0, EmptyClassPolicy::Skip).unwrap();
        assert_eq!(e.group(Group::Tail).unwrap().map, None);

        let none = Evaluation::new(&scores, &labels, None, 0.0, EmptyClassPolicy::Skip).unwrap();
        assert!(none.groups.is_empty());
        let short = SplitRule::default().split(&[1, 2]);
        assert!(
            Evaluation::new(&scores, &labels, Some(&short), 0.0, EmptyClassPolicy::Skip).is_err()
        );
        assert!(Evaluation::new(&scores, &labels, None, f64::NAN, EmptyClassPolicy::Skip).is_err());
    }
}
