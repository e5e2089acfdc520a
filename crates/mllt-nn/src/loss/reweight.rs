//! Loss re-weighting: the reference's `reweight_functions` + `weight_norm` (code spec 3.4). The
//! paper's RW baseline (Sec. 4.2 (2): inverse square root of the class frequency, normalised into
//! [0, 1]) and CB baseline (Sec. 4.2 (6) and appendix A.2) have no equation number; the re-balanced
//! weight of Eq. 2–4 lives in [`super::rebalance`].
//!
//! A weight multiplies the positive **and** the negative term of a class (the reference treats both
//! alike). Weights depend on the labels and the training statistics only, so no gradient flows
//! through them. They come in the reference's three shapes and broadcast against the `(B, C)` loss:
//! * `(1, C)`: inverse frequency `N/n_c` or `sqrt(N/n_c)` (`inv`, `sqrt_inv`; `RW_weight`), and
//!   class-balanced `E(n_c)` (`CB`, `by_class`);
//! * `(B, 1)`: class-balanced `average_n`, `average_w`, `min_n`;
//! * `(B, C)`: the re-balanced weight r̂ of Eq. 4 ([`super::rebalance`]).
//!
//! [`WeightNorm`] then acts on that shape exactly as the reference does: `by_instance` divides by the
//! maximum along the last axis (the global maximum of a `(1, C)` vector, the weight itself for
//! `(B, 1)`, which makes **every** instance weight 1, and the row maximum for `(B, C)`); `by_batch`
//! divides by the global maximum.
//!
//! Class-balanced weights (Cui et al. 2019) use `E(n) = (1 − β)/(1 − β^n)`, the *inverse* effective
//! number (the paper's appendix A.2 writes the effective number `(1 − β^n)/(1 − β)` and averages it;
//! the reference averages the weights, which is what is implemented). Deviation from the reference:
//! an instance with no positive label gets `E(100000)` in the `average_n` and `average_w` modes (the
//! value `min_n` gives it, negatives counting as 100000) instead of the reference's `0/0 = NaN`.

use burn::Tensor;
use serde::{Deserialize, Serialize};

use super::rebalance::{Rebalance, RebalanceConfig};
use super::{LossError, Requirement, class_row, require_counts};

/// The count the reference gives to a negative class in the class-balanced `min_n` mode.
const NEGATIVE_COUNT: f64 = 100_000.0;

/// `loss.weighting`: which weight multiplies each term (`kind` selects the variant).
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, Serialize)]
#[serde(from = "WeightingTable", into = "WeightingTable")]
pub enum Weighting {
    /// No weight (the reference's `reweight_func=None`).
    #[default]
    None,
    /// Inverse class frequency `N/n_c`, or its square root ("RW" in the paper's tables).
    Inverse(InverseConfig),
    /// Class-balanced weights `E(n) = (1 − β)/(1 − β^n)` ("CB", Cui et al. 2019).
    ClassBalanced(ClassBalancedConfig),
    /// The re-balanced weight r̂ of Eq. 2–4 ("R-BCE", and the weight of DB, Eq. 10).
    Rebalance(RebalanceConfig),
}

/// The serialised form of [`Weighting`]: `None` is an empty struct variant here so that
/// `{ kind = "none", … }` with any other key is rejected (serde ignores the keys of a unit variant).
#[derive(Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum WeightingTable {
    None {},
    Inverse(InverseConfig),
    ClassBalanced(ClassBalancedConfig),
    Rebalance(RebalanceConfig),
}

impl From<WeightingTable> for Weighting {
    fn from(table: WeightingTable) -> Self {
        match table {
            WeightingTable::None {} => Weighting::None,
            WeightingTable::Inverse(config) => Weighting::Inverse(config),
            WeightingTable::ClassBalanced(config) => Weighting::ClassBalanced(config),
            WeightingTable::Rebalance(config) => Weighting::Rebalance(config),
        }
    }
}

impl From<Weighting> for WeightingTable {
    fn from(weighting: Weighting) -> Self {
        match weighting {
            Weighting::None => WeightingTable::None {},
            Weighting::Inverse(config) => WeightingTable::Inverse(config),
            Weighting::ClassBalanced(config) => WeightingTable::ClassBalanced(config),
            Weighting::Rebalance(config) => WeightingTable::Rebalance(config),
        }
    }
}

/// The reference's `weight_norm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightNorm {
    /// Weights as computed.
    #[default]
    None,
    /// Divide by the maximum along the last axis of the weight's own shape (see the module docs).
    ByInstance,
    /// Divide by the maximum over the whole weight tensor.
    ByBatch,
}

/// `kind = "inverse"`: `w_c = N/n_c` (or `sqrt(N/n_c)`), shape `(1, C)`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InverseConfig {
    /// Take the square root (`sqrt_inv`); the paper's RW baseline uses it with `norm = "by_instance"`.
    #[serde(default)]
    pub sqrt: bool,
    /// Normalisation of the weights.
    #[serde(default)]
    pub norm: WeightNorm,
}

/// How the class-balanced weight of an instance is formed (the reference's `CB_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CbMode {
    /// `w_c = E(n_c)`, shape `(1, C)`.
    ByClass,
    /// `w_k = E(Σ_j y_kj n_j / Σ_j y_kj)`, shape `(B, 1)`.
    AverageN,
    /// `w_k = Σ_j y_kj E(n_j) / Σ_j y_kj`, shape `(B, 1)` (reference default; paper appendix A.2).
    #[default]
    AverageW,
    /// `w_k = E(min_{j: y_kj = 1} n_j)`, negatives counting as 100000, shape `(B, 1)`.
    MinN,
}

/// `kind = "class_balanced"`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassBalancedConfig {
    /// β_CB in (0, 1) (reference default 0.9; the paper uses 0.99 on VOC-MLT and 0.9 on COCO-MLT).
    #[serde(default = "default_cb_beta")]
    pub beta: f64,
    /// How an instance's weight is formed.
    #[serde(default)]
    pub mode: CbMode,
    /// Normalisation of the weights.
    #[serde(default)]
    pub norm: WeightNorm,
}

fn default_cb_beta() -> f64 {
    0.9
}

impl Default for ClassBalancedConfig {
    fn default() -> Self {
        Self {
            beta: default_cb_beta(),
            mode: CbMode::default(),
            norm: WeightNorm::default(),
        }
    }
}

/// A [`Weighting`] bound to the training statistics.
#[derive(Debug, Clone)]
pub(super) struct Reweighter {
    source: Source,
    norm: WeightNorm,
}

#[derive(Debug, Clone)]
enum Source {
    Uniform,
    PerClass(Vec<f64>),
    PerInstance(ClassBalancedInstance),
    Rebalance(Rebalance),
}

impl Weighting {
    pub(super) fn bind(&self, counts: &[usize], num_train: usize) -> Result<Reweighter, LossError> {
        let (source, norm) = match *self {
            Weighting::None => (Source::Uniform, WeightNorm::None),
            Weighting::Inverse(config) => {
                require_counts("weighting.inverse", counts, Some(num_train))?;
                let weights = counts
                    .iter()
                    .map(|&n| {
                        let ratio = num_train as f64 / n as f64;
                        if config.sqrt { ratio.sqrt() } else { ratio }
                    })
                    .collect();
                (Source::PerClass(weights), config.norm)
            }
            Weighting::ClassBalanced(config) => {
                Requirement::OpenUnit.check("weighting.beta", config.beta)?;
                require_counts("weighting.class_balanced", counts, None)?;
                let balanced = ClassBalanced::new(config.beta, counts);
                let source = match config.mode {
                    CbMode::ByClass => Source::PerClass(balanced.effective),
                    CbMode::AverageN => {
                        Source::PerInstance(balanced.instance(InstanceMode::AverageN))
                    }
                    CbMode::AverageW => {
                        Source::PerInstance(balanced.instance(InstanceMode::AverageW))
                    }
                    CbMode::MinN => Source::PerInstance(balanced.instance(InstanceMode::MinN)),
                };
                (source, config.norm)
            }
            Weighting::Rebalance(config) => (
                Source::Rebalance(Rebalance::new(&config, counts)?),
                config.norm,
            ),
        };
        Ok(Reweighter { source, norm })
    }
}

impl Reweighter {
    /// The weight tensor, broadcastable to `labels`' `(B, C)`, or `None` for no weighting.
    pub(super) fn weights(&self, labels: &Tensor<2>) -> Option<Tensor<2>> {
        let raw = match &self.source {
            Source::Uniform => return None,
            Source::PerClass(weights) => class_row(weights, labels),
            Source::PerInstance(balanced) => balanced.weights(labels),
            Source::Rebalance(rebalance) => rebalance.weights(labels),
        };
        Some(normalise(raw, self.norm))
    }
}

fn normalise(weights: Tensor<2>, norm: WeightNorm) -> Tensor<2> {
    match norm {
        WeightNorm::None => weights,
        WeightNorm::ByInstance => weights.clone() / weights.max_dim(1),
        WeightNorm::ByBatch => weights.clone() / weights.max().reshape([1, 1]),
    }
}

/// `E(n) = (1 − β)/(1 − β^n)` for every class, in f64.
struct ClassBalanced {
    beta: f64,
    counts: Vec<f64>,
    effective: Vec<f64>,
}

impl ClassBalanced {
    fn new(beta: f64, counts: &[usize]) -> Self {
        let counts: Vec<f64> = counts.iter().map(|&n| n as f64).collect();
        let effective = counts.iter().map(|&n| effective_weight(beta, n)).collect();
        Self {
            beta,
            counts,
            effective,
        }
    }

    fn instance(self, mode: InstanceMode) -> ClassBalancedInstance {
        ClassBalancedInstance {
            mode,
            ln_beta: self.beta.ln(),
            one_minus_beta: 1.0 - self.beta,
            empty_row: effective_weight(self.beta, NEGATIVE_COUNT),
            counts: self.counts,
            effective: self.effective,
        }
    }
}

fn effective_weight(beta: f64, count: f64) -> f64 {
    (1.0 - beta) / (1.0 - beta.powf(count))
}

#[derive(Debug, Clone, Copy)]
enum InstanceMode {
    AverageN,
    AverageW,
    MinN,
}

/// The `(B, 1)` class-balanced modes.
#[derive(Debug, Clone)]
struct ClassBalancedInstance {
    mode: InstanceMode,
    ln_beta: f64,
    one_minus_beta: f64,
    /// `E(100000)`: the weight of an instance without positives.
    empty_row: f64,
    counts: Vec<f64>,
    effective: Vec<f64>,
}

impl ClassBalancedInstance {
    fn weights(&self, labels: &Tensor<2>) -> Tensor<2> {
        let positives = labels.clone().sum_dim(1);
        let empty = positives.clone().equal_elem(0.0);
        let mean_over_positives = |per_class: &[f64]| {
            (labels.clone() * class_row(per_class, labels)).sum_dim(1)
                / positives.clone().clamp_min(1.0)
        };
        match self.mode {
            InstanceMode::AverageW => {
                mean_over_positives(&self.effective).mask_fill(empty, self.empty_row)
            }
            InstanceMode::AverageN => {
                // E(n̄) = (1 − β)/(1 − exp(n̄·ln β)), with n̄ = 100000 for an empty row.
                let mean_count = mean_over_positives(&self.counts).mask_fill(empty, NEGATIVE_COUNT);
                mean_count
                    .mul_scalar(self.ln_beta)
                    .exp()
                    .neg()
                    .add_scalar(1.0)
                    .recip()
                    .mul_scalar(self.one_minus_beta)
            }
            InstanceMode::MinN => {
                // E decreases with n, so E(min over positives, negatives = 100000) is the row maximum
                // of E(n_j) on positives and E(100000) on negatives.
                let shifted: Vec<f64> = self.effective.iter().map(|e| e - self.empty_row).collect();
                (labels.clone() * class_row(&shifted, labels))
                    .add_scalar(self.empty_row)
                    .max_dim(1)
            }
        }
    }
}
