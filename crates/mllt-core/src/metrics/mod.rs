//! Evaluation metrics of the reference code (`mllt/core/evaluation/mean_ap.py`, `eval_tools.py`,
//! `tools/test.py --eval multiple`):
//!
//! * [`average_precision`]: per-class AP, scikit-learn's non-interpolated `average_precision_score`
//!   (not VOC 11-point), averaged without weights into mAP;
//! * [`f1`]: micro / macro F1 and the class-averaged accuracy of the prediction `score > threshold`
//!   (the reference thresholds raw logits at 0);
//! * [`thresholds`]: per-class decision thresholds chosen on validation;
//! * [`bootstrap`]: the paired bootstrap of a difference in mAP over test items;
//! * [`random_baseline`]: the mAP of random scores, the chance level of a test set;
//! * [`groups`]: all of them over all classes and per head / medium / tail group of a [`Split`], with an
//!   explicit policy for classes that have no positive in the test labels.
//!
//! [`Split`]: crate::split::Split

pub mod average_precision;
pub mod bootstrap;
pub mod f1;
pub mod groups;
pub mod random_baseline;
pub mod thresholds;

pub use average_precision::{average_precision, per_class_ap};
pub use bootstrap::{BootstrapDraws, PairedDifference, paired_difference, paired_map_bootstrap};
pub use f1::{Confusion, ThresholdMetrics, confusions};
pub use groups::{EmptyClassPolicy, Evaluation, GroupMetrics, mean_ap};
pub use random_baseline::{RandomBaseline, random_baseline};
pub use thresholds::{
    ChosenThresholds, Decision, MIN_VALIDATION_POSITIVES, Thresholds, choose_thresholds,
};

use crate::error::{Error, Result};
use crate::labels::LabelSet;
use crate::scores::ScoreMatrix;

/// Checks that scores and labels have the same, non-empty, shape.
fn check_shape(scores: &ScoreMatrix, labels: &LabelSet) -> Result<()> {
    if (scores.rows(), scores.cols()) != (labels.len(), labels.num_classes()) {
        return Err(Error::Invalid(format!(
            "scores are {} × {} but labels are {} × {} (items × classes)",
            scores.rows(),
            scores.cols(),
            labels.len(),
            labels.num_classes()
        )));
    }
    if labels.is_empty() {
        return Err(Error::Invalid("no items to evaluate".into()));
    }
    Ok(())
}
