//! The losses of Wu et al., *Distribution-Balanced Loss for Multi-Label Classification in Long-Tailed
//! Datasets* (ECCV 2020), and the baselines of its tables, following the official `ResampleLoss`
//! (see `shared/reference/official-code-semantics.md`, sections 3 and 9) wherever paper and code differ.
//!
//! A [`LossConfig`] (the `[loss]` table of a run's TOML) is bound to the training statistics by
//! [`Loss::new`]; [`Loss::elementwise`] gives the `(B, C)` loss and [`Loss::training_loss`] its mean
//! over B·C, which is what the reference's training loop minimises.
//!
//! | method | `[loss]` |
//! |---|---|
//! | ERM / BCE | (empty) |
//! | Focal | `focal = {}` |
//! | RW | `weighting = { kind = "inverse", sqrt = true, norm = "by_instance" }` |
//! | CB-Focal | `weighting = { kind = "class_balanced", beta = 0.9, mode = "average_w" }`, `focal = {}` |
//! | R-BCE (Eq. 5) | `weighting = { kind = "rebalance", alpha = 0.1, beta = 10.0, mu = 0.3 }` |
//! | NT-BCE (Eq. 7) | `ntr = { lambda = 5.0, kappa = 0.05 }` |
//! | DB (Eq. 10), DB-Focal | rebalance + ntr (+ `focal = {}`) |
//! | LDAM | `ldam = { max_margin = 0.5 }` |
//! | ASL | `asl = { gamma_pos = 0.0, gamma_neg = 4.0, clip = 0.05 }` |
//!
//! [`negative_gradient`] gives the gradient of a loss to one negative logit (Fig. 3, Eq. 6).

mod asl;
mod bce;
mod distribution_balanced;
mod focal;
mod ldam;
pub mod negative_gradient;
mod ntr;
mod rebalance;
mod reweight;

use std::fmt;

use burn::Tensor;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

pub use asl::AslConfig;
pub use focal::FocalConfig;
pub use ldam::LdamConfig;
pub use ntr::{NtrBias, NtrConfig};
pub use rebalance::RebalanceConfig;
pub use reweight::{CbMode, ClassBalancedConfig, InverseConfig, WeightNorm, Weighting};

use distribution_balanced::DistributionBalanced;
use ldam::Ldam;
use ntr::Ntr;
use reweight::Reweighter;

/// The `[loss]` table. Every stage is optional; the default is plain BCE.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    /// Constant multiplier of the loss (the reference's `loss_weight`, default 1; the paper uses 10 for
    /// CB because it averages where Cui et al. sum).
    #[serde(default = "default_loss_weight")]
    pub loss_weight: f64,
    /// Weights of the terms (default none).
    #[serde(default)]
    pub weighting: Weighting,
    /// Negative-tolerant regularisation (Eq. 7–9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntr: Option<NtrConfig>,
    /// Focal modulation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focal: Option<FocalConfig>,
    /// LDAM margins on positive logits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldam: Option<LdamConfig>,
    /// The asymmetric loss instead of BCE; excludes `ntr`, `focal` and `ldam`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asl: Option<AslConfig>,
}

fn default_loss_weight() -> f64 {
    1.0
}

impl Default for LossConfig {
    fn default() -> Self {
        Self::bce()
    }
}

impl LossConfig {
    /// Plain binary cross-entropy with logits (ERM).
    pub fn bce() -> Self {
        Self {
            loss_weight: default_loss_weight(),
            weighting: Weighting::None,
            ntr: None,
            focal: None,
            ldam: None,
            asl: None,
        }
    }
}

/// A condition a numeric parameter must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Finite.
    Finite,
    /// Finite and > 0.
    Positive,
    /// Finite and ≥ 0.
    NonNegative,
    /// In the open interval (0, 1).
    OpenUnit,
    /// In [0, 1).
    HalfOpenUnit,
}

impl Requirement {
    fn holds(self, value: f64) -> bool {
        match self {
            Requirement::Finite => value.is_finite(),
            Requirement::Positive => value.is_finite() && value > 0.0,
            Requirement::NonNegative => value.is_finite() && value >= 0.0,
            Requirement::OpenUnit => value > 0.0 && value < 1.0,
            Requirement::HalfOpenUnit => (0.0..1.0).contains(&value),
        }
    }

    fn check(self, field: &'static str, value: f64) -> Result<(), LossError> {
        if self.holds(value) {
            Ok(())
        } else {
            Err(LossError::InvalidParameter {
                field,
                value,
                requirement: self,
            })
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Requirement::Finite => "finite",
            Requirement::Positive => "finite and > 0",
            Requirement::NonNegative => "finite and ≥ 0",
            Requirement::OpenUnit => "in (0, 1)",
            Requirement::HalfOpenUnit => "in [0, 1)",
        })
    }
}

/// Why a [`LossConfig`] cannot be bound to the training statistics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LossError {
    /// No class counts were given.
    #[error("loss: class_counts is empty (one training count per class is needed)")]
    NoClasses,
    /// A method that divides by n_c met a class with no training positive.
    #[error("loss.{method} divides by the class count, but class_counts[{class}] = 0")]
    ZeroCount {
        /// The configuration field of the method.
        method: &'static str,
        /// The class index.
        class: usize,
    },
    /// A class count exceeds the number of training items.
    #[error("loss.{method}: class_counts[{class}] = {count} exceeds num_train = {num_train}")]
    CountAboveTotal {
        /// The configuration field of the method.
        method: &'static str,
        /// The class index.
        class: usize,
        /// n_c.
        count: usize,
        /// N.
        num_train: usize,
    },
    /// The NTR bias `logit(n_c/N)` is infinite.
    #[error(
        "loss.ntr.kappa: the bias logit(n_c/N) needs 0 < n_c < N, but class_counts[{class}] = {count} with num_train = {num_train}"
    )]
    PriorOutOfRange {
        /// The class index.
        class: usize,
        /// n_c.
        count: usize,
        /// N.
        num_train: usize,
    },
    /// A numeric parameter is out of its domain.
    #[error("loss.{field} = {value}: must be {requirement}")]
    InvalidParameter {
        /// The configuration field.
        field: &'static str,
        /// Its value.
        value: f64,
        /// The condition it fails.
        requirement: Requirement,
    },
    /// ASL was combined with a stage of the BCE family.
    #[error("loss.asl replaces the BCE kernel and cannot be combined with loss.{other}")]
    AslExcludes {
        /// The other stage.
        other: &'static str,
    },
}

impl LossError {
    /// The class the error is about, if it is about one.
    pub fn class(&self) -> Option<usize> {
        match self {
            LossError::ZeroCount { class, .. }
            | LossError::CountAboveTotal { class, .. }
            | LossError::PriorOutOfRange { class, .. } => Some(*class),
            _ => None,
        }
    }
}

/// A [`LossConfig`] bound to the training statistics.
#[derive(Debug, Clone)]
pub struct Loss {
    num_classes: usize,
    loss_weight: f64,
    weighting: Reweighter,
    kernel: Kernel,
}

#[derive(Debug, Clone)]
enum Kernel {
    Bce(DistributionBalanced),
    Asymmetric(AslConfig),
}

impl Loss {
    /// Binds `config` to the training statistics. `class_counts`: n_c of the training set;
    /// `num_train`: N, the number of training items. Class statistics are computed here, in f64.
    pub fn new(
        config: &LossConfig,
        class_counts: &[usize],
        num_train: usize,
    ) -> Result<Loss, LossError> {
        if class_counts.is_empty() {
            return Err(LossError::NoClasses);
        }
        Requirement::Positive.check("loss_weight", config.loss_weight)?;
        let weighting = config.weighting.bind(class_counts, num_train)?;
        let kernel = match config.asl {
            Some(asl) => {
                let stages = [
                    ("ntr", config.ntr.is_some()),
                    ("focal", config.focal.is_some()),
                    ("ldam", config.ldam.is_some()),
                ];
                if let Some(&(other, _)) = stages.iter().find(|(_, present)| *present) {
                    return Err(LossError::AslExcludes { other });
                }
                asl.validate()?;
                Kernel::Asymmetric(asl)
            }
            None => {
                if let Some(focal) = &config.focal {
                    focal.validate()?;
                }
                Kernel::Bce(DistributionBalanced {
                    ntr: config
                        .ntr
                        .as_ref()
                        .map(|ntr| Ntr::new(ntr, class_counts, num_train))
                        .transpose()?,
                    ldam: config
                        .ldam
                        .as_ref()
                        .map(|ldam| Ldam::new(ldam, class_counts))
                        .transpose()?,
                    focal: config.focal,
                })
            }
        };
        Ok(Loss {
            num_classes: class_counts.len(),
            loss_weight: config.loss_weight,
            weighting,
            kernel,
        })
    }

    /// Elementwise loss, shape `(B, C)`, differentiable w.r.t. `logits`. `labels`: 0/1 floats `(B, C)`.
    ///
    /// # Panics
    /// If `logits` and `labels` differ in shape or their class axis is not the number of class counts.
    pub fn elementwise(&self, logits: Tensor<2>, labels: Tensor<2>) -> Tensor<2> {
        assert_eq!(
            logits.dims(),
            labels.dims(),
            "loss: logits and labels differ in shape"
        );
        assert_eq!(
            logits.dims()[1],
            self.num_classes,
            "loss: the logits have {} classes but the loss was built for {}",
            logits.dims()[1],
            self.num_classes
        );
        let weights = self.weighting.weights(&labels);
        let loss = match &self.kernel {
            Kernel::Bce(bce) => bce.elementwise(logits, labels),
            Kernel::Asymmetric(asl) => asl.elementwise(logits, labels),
        };
        let loss = match weights {
            Some(weights) => loss * weights,
            None => loss,
        };
        loss.mul_scalar(self.loss_weight)
    }

    /// The training loss: the mean over B·C of [`Loss::elementwise`] (the reference's `loss.mean()`).
    pub fn training_loss(&self, logits: Tensor<2>, labels: Tensor<2>) -> Tensor<1> {
        self.elementwise(logits, labels).mean()
    }
}

/// A per-class f64 statistic as a `(1, C)` tensor on the device and in the float type of `like`.
fn class_row(values: &[f64], like: &Tensor<2>) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(values.to_vec(), [1, values.len()]),
        (&like.device(), like.dtype()),
    )
}

/// Every n_c ≥ 1 (and ≤ N where `num_train` is used).
fn require_counts(
    method: &'static str,
    counts: &[usize],
    num_train: Option<usize>,
) -> Result<(), LossError> {
    for (class, &count) in counts.iter().enumerate() {
        if count == 0 {
            return Err(LossError::ZeroCount { method, class });
        }
        if let Some(num_train) = num_train
            && count > num_train
        {
            return Err(LossError::CountAboveTotal {
                method,
                class,
                count,
                num_train,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Run {
        loss: LossConfig,
    }

    fn parse(toml_text: &str) -> Result<LossConfig, toml::de::Error> {
        toml::from_str::<Run>(toml_text).map(|run| run.loss)
    }

    fn rebalance(mu: f64) -> Weighting {
        Weighting::Rebalance(RebalanceConfig {
            alpha: 0.1,
            beta: 10.0,
            mu,
            norm: WeightNorm::None,
        })
    }

    #[test]
    fn every_method_has_a_toml_form() {
        let ntr = Some(NtrConfig {
            lambda: 2.0,
            kappa: 0.05,
            bias: NtrBias::Reference,
            positives: false,
        });
        let focal = Some(FocalConfig::default());
        let cases = [
            ("[loss]", LossConfig::bce()),
            ("[loss]\nweighting = { kind = \"none\" }", LossConfig::bce()),
            (
                "[loss]\nfocal = { gamma = 2.0, balance = 2.0 }",
                LossConfig {
                    focal,
                    ..LossConfig::bce()
                },
            ),
            (
                "[loss]\nweighting = { kind = \"inverse\", sqrt = true, norm = \"by_instance\" }",
                LossConfig {
                    weighting: Weighting::Inverse(InverseConfig {
                        sqrt: true,
                        norm: WeightNorm::ByInstance,
                    }),
                    ..LossConfig::bce()
                },
            ),
            (
                "[loss]\nloss_weight = 10\nweighting = { kind = \"class_balanced\", beta = 0.9, mode = \"average_w\" }\nfocal = {}",
                LossConfig {
                    loss_weight: 10.0,
                    weighting: Weighting::ClassBalanced(ClassBalancedConfig::default()),
                    focal,
                    ..LossConfig::bce()
                },
            ),
            (
                "[loss]\nweighting = { kind = \"rebalance\", alpha = 0.1, beta = 10.0, mu = 0.2 }",
                LossConfig {
                    weighting: rebalance(0.2),
                    ..LossConfig::bce()
                },
            ),
            (
                "[loss]\nntr = { lambda = 2, kappa = 0.05 }",
                LossConfig {
                    ntr,
                    ..LossConfig::bce()
                },
            ),
            (
                "[loss.weighting]\nkind = \"rebalance\"\nalpha = 0.1\nbeta = 10.0\nmu = 0.2\n\
                 [loss.ntr]\nlambda = 2.0\nkappa = 0.05\nbias = \"reference\"\n[loss.focal]\ngamma = 2.0\nbalance = 2.0",
                LossConfig {
                    weighting: rebalance(0.2),
                    ntr,
                    focal,
                    ..LossConfig::bce()
                },
            ),
            (
                "[loss]\nldam = { max_margin = 0.5 }",
                LossConfig {
                    ldam: Some(LdamConfig::default()),
                    ..LossConfig::bce()
                },
            ),
            (
                "[loss]\nasl = { gamma_pos = 0.0, gamma_neg = 4.0, clip = 0.05 }",
                LossConfig {
                    asl: Some(AslConfig::default()),
                    ..LossConfig::bce()
                },
            ),
        ];
        for (text, want) in cases {
            let got = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got, want, "{text}");
            let round_trip = toml::to_string(&got).expect("serialise");
            assert_eq!(
                toml::from_str::<LossConfig>(&round_trip).expect("reparse"),
                got,
                "{round_trip}"
            );
        }
        assert_eq!(LossConfig::default(), LossConfig::bce());
    }

    #[test]
    fn unknown_keys_are_errors_at_every_level() {
        let cases = [
            "[loss]\nreweight_func = \"rebalance\"",
            "[loss]\nweighting = { kind = \"rebalance\", alpha = 0.1, beta = 10.0, gamma = 0.2 }",
            "[loss]\nweighting = { kind = \"inverse\", power = 0.5 }",
            "[loss]\nweighting = { kind = \"class_balanced\", CB_beta = 0.9 }",
            "[loss]\nweighting = { kind = \"resample\" }",
            "[loss]\nweighting = { kind = \"none\", norm = \"by_batch\" }",
            "[loss]\nntr = { lambda = 2.0, kappa = 0.05, neg_scale = 2.0 }",
            "[loss]\nntr = { lambda = 2.0, kappa = 0.05, bias = \"code\" }",
            "[loss]\nfocal = { gamma = 2.0, alpha = 0.25 }",
            "[loss]\nldam = { margin = 0.5 }",
            "[loss]\nasl = { gamma_neg = 4.0, eps = 1e-8 }",
        ];
        for text in cases {
            assert!(parse(text).is_err(), "accepted: {text}");
        }
    }
}
