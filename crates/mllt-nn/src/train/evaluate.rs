//! Evaluation of a head on a feature split (semantics §7): raw logits as scores, per-class AP, mAP over all
//! classes and per head / medium / tail group, the split taken from the *training* counts.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use mllt_core::metrics::{EmptyClassPolicy, Evaluation, Thresholds};
use mllt_core::scores::ScoreMatrix;
use mllt_core::split::Group;
use mllt_core::{LabelSet, SplitRule};
use serde_json::{Value, json};

use super::TrainError;
use crate::features::FeatureSplit;
use crate::model::Head;

/// Rows per forward pass at evaluation.
pub(crate) const EVAL_CHUNK: usize = 1024;

/// The logits of every item of `split` (eval mode: BN running statistics, no dropout), on `device`.
pub fn predict(
    model: &Head,
    split: &FeatureSplit,
    device: &Device,
) -> Result<ScoreMatrix, TrainError> {
    let device = device.clone().without_autodiff();
    let model = model.valid();
    let classes = model.num_classes();
    let mut scores = Vec::with_capacity(split.len() * classes);
    for start in (0..split.len()).step_by(EVAL_CHUNK) {
        let rows = EVAL_CHUNK.min(split.len() - start);
        let x = split.features[start * split.dim..(start + rows) * split.dim].to_vec();
        let x = Tensor::<2>::from_data(TensorData::new(x, [rows, split.dim]), &device);
        append_logits(&mut scores, model.forward(x));
    }
    score_matrix(split.len(), classes, scores)
}

/// Appends the rows of `logits` to `scores` (a host synchronisation).
pub(crate) fn append_logits(scores: &mut Vec<f64>, logits: Tensor<2>) {
    let logits = logits.into_data().convert::<f32>();
    scores.extend(
        logits
            .as_slice::<f32>()
            .expect("f32 logits")
            .iter()
            .map(|&v| v as f64),
    );
}

/// The score matrix of `rows × classes` logits; an error when one is not finite.
pub(crate) fn score_matrix(
    rows: usize,
    classes: usize,
    scores: Vec<f64>,
) -> Result<ScoreMatrix, TrainError> {
    ScoreMatrix::new(rows, classes, scores).map_err(|e| {
        TrainError::Invalid(format!(
            "the model produced unusable scores ({e}); training diverged?"
        ))
    })
}

/// Evaluates `model` on `split`, grouping classes by the training counts `train_counts` (default split rule:
/// head n ≥ 100, medium 20 ≤ n < 100, tail n < 20), F1 and accuracy at `thresholds` on the logits (the
/// reference: 0).
pub fn evaluate(
    model: &Head,
    split: &FeatureSplit,
    train_counts: &[usize],
    thresholds: impl Into<Thresholds>,
    device: &Device,
) -> Result<Evaluation, TrainError> {
    let scores = predict(model, split, device)?;
    evaluate_scores(&scores, &split.labels, train_counts, thresholds)
}

/// Evaluates logits `scores` against `labels`, grouping classes by the training counts `train_counts`, F1
/// and accuracy at `thresholds`.
pub fn evaluate_scores(
    scores: &ScoreMatrix,
    labels: &LabelSet,
    train_counts: &[usize],
    thresholds: impl Into<Thresholds>,
) -> Result<Evaluation, TrainError> {
    let groups = SplitRule::default().split(train_counts);
    Ok(Evaluation::new(
        scores,
        labels,
        Some(&groups),
        thresholds,
        EmptyClassPolicy::default(),
    )?)
}

/// `{"map": {"total", "head", "medium", "tail"}, "f1": {...}, "classes": [...], "empty_classes": [...]}`;
/// a group without classes (or without any test positive) has `null` mAP.
pub fn evaluation_json(
    evaluation: &Evaluation,
    test_labels: &LabelSet,
    train_counts: &[usize],
) -> Value {
    let mut map = serde_json::Map::new();
    let mut f1 = serde_json::Map::new();
    map.insert("total".into(), json!(evaluation.total.map));
    f1.insert("total".into(), threshold_json(&evaluation.total.threshold));
    for g in Group::ALL {
        let m = evaluation.group(g);
        map.insert(g.name().into(), json!(m.and_then(|m| m.map)));
        f1.insert(
            g.name().into(),
            m.map_or(Value::Null, |m| threshold_json(&m.threshold)),
        );
    }
    let rule = SplitRule::default();
    let names = test_labels.class_names();
    let classes: Vec<Value> = (0..names.len())
        .map(|c| {
            json!({
                "name": names[c],
                "train_count": train_counts[c],
                "group": rule.group(train_counts[c]).name(),
                "ap": evaluation.ap[c],
            })
        })
        .collect();
    let empty: Vec<&str> = evaluation
        .empty_classes()
        .into_iter()
        .map(|c| names[c].as_str())
        .collect();
    json!({
        "map": map,
        "threshold_metrics": f1,
        "classes": classes,
        "empty_classes": empty,
        "test_items": test_labels.len(),
    })
}

fn threshold_json(t: &mllt_core::metrics::ThresholdMetrics) -> Value {
    json!({"micro_f1": t.micro_f1, "macro_f1": t.macro_f1, "accuracy": t.accuracy})
}
