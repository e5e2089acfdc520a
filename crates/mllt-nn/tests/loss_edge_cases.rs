//! Edge cases of every loss: degenerate label rows, saturated logits, zero class counts, invalid
//! parameters, and hand-computed values for LDAM and ASL.

use burn::Tensor;
use burn::tensor::TensorData;
use mllt_nn::backend::cpu_autodiff;
use mllt_nn::loss::{
    AslConfig, CbMode, ClassBalancedConfig, FocalConfig, InverseConfig, LdamConfig, Loss,
    LossConfig, LossError, NtrBias, NtrConfig, RebalanceConfig, Requirement, WeightNorm, Weighting,
};

/// Class counts with a wide spread (the last class has a single positive) and N.
const COUNTS: [usize; 6] = [500, 120, 40, 9, 3, 1];
const NUM_TRAIN: usize = 600;
const BIG: f64 = 1e4;

/// Rows: all-zero labels at ±1e4 and at 0, all-one labels at ±1e4 and at 0, the rarest class alone
/// and a mixed row with logits of both signs, saturated and not.
fn edge_batch() -> (Vec<f64>, Vec<f64>, [usize; 2]) {
    let rows: [([f64; 6], [f64; 6]); 8] = [
        ([0.0; 6], [BIG; 6]),
        ([0.0; 6], [-BIG; 6]),
        ([0.0; 6], [0.0; 6]),
        ([1.0; 6], [BIG; 6]),
        ([1.0; 6], [-BIG; 6]),
        ([1.0; 6], [0.0; 6]),
        (
            [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            [BIG, -BIG, 0.0, 3.0, -3.0, -BIG],
        ),
        (
            [1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
            [-BIG, BIG, 25.0, -25.0, -BIG, BIG],
        ),
    ];
    let labels = rows.iter().flat_map(|(y, _)| *y).collect();
    let logits = rows.iter().flat_map(|(_, z)| *z).collect();
    (logits, labels, [rows.len(), 6])
}

fn tensor(values: &[f64], shape: [usize; 2]) -> Tensor<2> {
    Tensor::from_floats(TensorData::new(values.to_vec(), shape), &cpu_autodiff())
}

fn to_vec<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_into_vec().expect("f32 data")
}

/// Elementwise loss, training loss and gradient of the training loss w.r.t. the logits.
fn evaluate(
    loss: &Loss,
    logits: &[f64],
    labels: &[f64],
    shape: [usize; 2],
) -> (Vec<f32>, f32, Vec<f32>) {
    let logits = tensor(logits, shape).require_grad();
    let labels = tensor(labels, shape);
    let elementwise = loss.elementwise(logits.clone(), labels.clone());
    let training = loss.training_loss(logits.clone(), labels);
    let grads = training.backward();
    let gradient = logits.grad(&grads).expect("gradient");
    (
        to_vec(elementwise),
        training.into_scalar(),
        to_vec(gradient),
    )
}

fn weightings() -> Vec<Weighting> {
    let norms = [
        WeightNorm::None,
        WeightNorm::ByInstance,
        WeightNorm::ByBatch,
    ];
    let modes = [
        CbMode::ByClass,
        CbMode::AverageN,
        CbMode::AverageW,
        CbMode::MinN,
    ];
    let mut all = vec![Weighting::None];
    for norm in norms {
        for sqrt in [false, true] {
            all.push(Weighting::Inverse(InverseConfig { sqrt, norm }));
        }
        for mode in modes {
            all.push(Weighting::ClassBalanced(ClassBalancedConfig {
                beta: 0.99,
                mode,
                norm,
            }));
        }
        all.push(Weighting::Rebalance(rebalance(norm)));
    }
    all
}

fn rebalance(norm: WeightNorm) -> RebalanceConfig {
    RebalanceConfig {
        alpha: 0.1,
        beta: 10.0,
        mu: 0.3,
        norm,
    }
}

fn ntr(bias: NtrBias) -> NtrConfig {
    NtrConfig {
        lambda: 5.0,
        kappa: 0.05,
        bias,
        positives: false,
    }
}

/// Every weighting × focal × NTR combination, then LDAM and ASL variants.
fn all_configs() -> Vec<LossConfig> {
    let mut configs = Vec::new();
    for weighting in weightings() {
        for focal in [None, Some(FocalConfig::default())] {
            for ntr in [
                None,
                Some(ntr(NtrBias::Reference)),
                Some(ntr(NtrBias::Paper)),
            ] {
                configs.push(LossConfig {
                    weighting,
                    focal,
                    ntr,
                    ..LossConfig::bce()
                });
            }
        }
    }
    let ldam = Some(LdamConfig::default());
    configs.push(LossConfig {
        ldam,
        ..LossConfig::bce()
    });
    configs.push(LossConfig {
        ldam: Some(LdamConfig {
            max_margin: 0.5,
            scale: 30.0,
        }),
        ..LossConfig::bce()
    });
    configs.push(LossConfig {
        ldam,
        focal: Some(FocalConfig::default()),
        ntr: Some(ntr(NtrBias::Reference)),
        weighting: Weighting::Rebalance(rebalance(WeightNorm::None)),
        ..LossConfig::bce()
    });
    for asl in [
        AslConfig::default(),
        AslConfig {
            clip: 0.0,
            ..AslConfig::default()
        },
        AslConfig {
            gamma_pos: 1.0,
            gamma_neg: 0.5,
            clip: 0.05,
        },
        AslConfig {
            gamma_pos: 0.0,
            gamma_neg: 0.0,
            clip: 0.0,
        },
    ] {
        configs.push(LossConfig {
            asl: Some(asl),
            ..LossConfig::bce()
        });
        configs.push(LossConfig {
            asl: Some(asl),
            weighting: Weighting::Rebalance(rebalance(WeightNorm::ByInstance)),
            ..LossConfig::bce()
        });
    }
    configs
}

#[test]
fn every_combination_is_finite_on_degenerate_rows_and_saturated_logits() {
    let (logits, labels, shape) = edge_batch();
    let configs = all_configs();
    assert_eq!(configs.len(), 22 * 2 * 3 + 3 + 8);
    for config in &configs {
        let loss =
            Loss::new(config, &COUNTS, NUM_TRAIN).unwrap_or_else(|e| panic!("{config:?}: {e}"));
        let (elementwise, training, gradient) = evaluate(&loss, &logits, &labels, shape);
        assert!(
            elementwise.iter().all(|v| v.is_finite() && *v >= 0.0),
            "{config:?}: loss {elementwise:?}"
        );
        assert!(training.is_finite(), "{config:?}: training loss {training}");
        assert!(
            gradient.iter().all(|g| g.is_finite()),
            "{config:?}: gradient {gradient:?}"
        );
    }
}

/// Loss of a batch with logits 0 (so every BCE term is ln 2) under `weighting`.
fn zero_logit_loss(weighting: Weighting, labels: &[f64], shape: [usize; 2]) -> Vec<f32> {
    let loss = Loss::new(
        &LossConfig {
            weighting,
            ..LossConfig::bce()
        },
        &COUNTS,
        NUM_TRAIN,
    )
    .expect("valid config");
    evaluate(&loss, &vec![0.0; labels.len()], labels, shape).0
}

fn assert_all_close(got: &[f32], want: f64, what: &str) {
    for g in got {
        assert!(
            (*g as f64 - want).abs() <= 1e-6 * want.abs().max(1.0),
            "{what}: {got:?} vs {want}"
        );
    }
}

#[test]
fn class_balanced_average_modes_give_an_empty_row_the_min_n_weight() {
    let beta: f64 = 0.99;
    let empty_row = (1.0 - beta) / (1.0 - beta.powf(100_000.0));
    for mode in [CbMode::AverageN, CbMode::AverageW, CbMode::MinN] {
        let weighting = Weighting::ClassBalanced(ClassBalancedConfig {
            beta,
            mode,
            norm: WeightNorm::None,
        });
        let got = zero_logit_loss(weighting, &[0.0; 6], [1, 6]);
        assert_all_close(
            &got,
            empty_row * std::f64::consts::LN_2,
            &format!("{mode:?}"),
        );
    }
}

#[test]
fn by_instance_norm_makes_per_instance_weights_one() {
    let (_, labels, shape) = edge_batch();
    for mode in [CbMode::AverageN, CbMode::AverageW, CbMode::MinN] {
        let weighting = Weighting::ClassBalanced(ClassBalancedConfig {
            beta: 0.9,
            mode,
            norm: WeightNorm::ByInstance,
        });
        assert_all_close(
            &zero_logit_loss(weighting, &labels, shape),
            std::f64::consts::LN_2,
            &format!("{mode:?}"),
        );
    }
}

#[test]
fn rebalance_gives_an_empty_row_one_plus_alpha() {
    let got = zero_logit_loss(
        Weighting::Rebalance(rebalance(WeightNorm::None)),
        &[0.0; 6],
        [1, 6],
    );
    assert_all_close(&got, 1.1 * std::f64::consts::LN_2, "rebalance empty row");
}

#[test]
fn rebalance_weight_follows_eq_4_on_positives_and_negatives() {
    // Positives: classes 0 (n = 500) and 4 (n = 3). P^I ∝ 1/500 + 1/3.
    let labels = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let got = zero_logit_loss(
        Weighting::Rebalance(rebalance(WeightNorm::None)),
        &labels,
        [1, 6],
    );
    let instance = 1.0 / 500.0 + 1.0 / 3.0;
    for (class, (&count, g)) in COUNTS.iter().zip(&got).enumerate() {
        let r = (1.0 / count as f64) / instance;
        let weight = 0.1 + 1.0 / (1.0 + (-10.0 * (r - 0.3)).exp());
        let want = weight * std::f64::consts::LN_2;
        assert!(
            (*g as f64 - want).abs() < 1e-6,
            "class {class}: {g} vs {want}"
        );
    }
}

#[test]
fn nt_bce_alone_works_and_follows_eq_7_with_the_reference_bias() {
    // The reference crashes here (weight None divided by λ); the weight is 1 instead. With `positives`
    // (the §4.4 variant) a positive gets the same form: (1/λ)·log(1 + e^{−λu}).
    let (lambda, kappa) = (2.0, 0.05);
    for positives in [false, true] {
        let config = LossConfig {
            ntr: Some(NtrConfig {
                lambda,
                kappa,
                bias: NtrBias::Reference,
                positives,
            }),
            ..LossConfig::bce()
        };
        let loss = Loss::new(&config, &COUNTS, NUM_TRAIN).expect("NT-BCE");
        let logits = [0.5, -1.0, 2.0, 0.0, 1.5, -0.5];
        let labels = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0];
        let (got, _, _) = evaluate(&loss, &logits, &labels, [1, 6]);
        let softplus = |x: f64| x.exp().ln_1p();
        for class in 0..6 {
            let prior = COUNTS[class] as f64 / NUM_TRAIN as f64;
            let u = logits[class] + kappa / lambda * (prior / (1.0 - prior)).ln();
            let want = match (labels[class] == 1.0, positives) {
                (true, false) => softplus(-u),
                (true, true) => softplus(-lambda * u) / lambda,
                (false, _) => softplus(lambda * u) / lambda,
            };
            assert!(
                (got[class] as f64 - want).abs() < 1e-6,
                "positives {positives}, class {class}: {} vs {want}",
                got[class]
            );
        }
    }
}

#[test]
fn ldam_subtracts_the_class_margin_from_positive_logits_only() {
    // n = 1 and 16: margins 0.5 and 0.5·(1/16)^{1/4} = 0.25.
    let loss = Loss::new(
        &LossConfig {
            ldam: Some(LdamConfig::default()),
            ..LossConfig::bce()
        },
        &[1, 16],
        20,
    )
    .expect("LDAM");
    let logits = [0.3, -0.2, 0.3, -0.2];
    let labels = [1.0, 0.0, 0.0, 1.0];
    let (got, _, gradient) = evaluate(&loss, &logits, &labels, [2, 2]);
    let softplus = |x: f64| x.exp().ln_1p();
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    // Positive: BCE(z − Δ, 1) = softplus(Δ − z); negative: BCE(z, 0) = softplus(z).
    let want = [
        softplus(0.5 - 0.3),
        softplus(-0.2),
        softplus(0.3),
        softplus(0.25 + 0.2),
    ];
    // d mean / dz = (σ(z − Δ·y) − y) / 4.
    let want_gradient = [
        (sigmoid(0.3 - 0.5) - 1.0) / 4.0,
        sigmoid(-0.2) / 4.0,
        sigmoid(0.3) / 4.0,
        (sigmoid(-0.2 - 0.25) - 1.0) / 4.0,
    ];
    for i in 0..4 {
        assert!(
            (got[i] as f64 - want[i]).abs() < 1e-6,
            "loss {i}: {} vs {}",
            got[i],
            want[i]
        );
        assert!(
            (gradient[i] as f64 - want_gradient[i]).abs() < 1e-7,
            "gradient {i}: {} vs {}",
            gradient[i],
            want_gradient[i]
        );
    }
}

#[test]
fn asl_matches_a_hand_computation_on_one_by_two() {
    // z = [0, 2], y = [1, 0]; γ+ = 0, γ− = 4, m = 0.05.
    let loss = Loss::new(
        &LossConfig {
            asl: Some(AslConfig::default()),
            ..LossConfig::bce()
        },
        &[10, 10],
        20,
    )
    .expect("ASL");
    let (got, training, gradient) = evaluate(&loss, &[0.0, 2.0], &[1.0, 0.0], [1, 2]);
    let p = 1.0 / (1.0 + (-2.0f64).exp());
    let shifted = p - 0.05;
    // Positive at p = 1/2 with γ+ = 0: −log(1/2).
    let positive = std::f64::consts::LN_2;
    // Negative: −p_m^4 · log(1 − p_m).
    let negative = -shifted.powi(4) * (1.0 - shifted).ln();
    assert!((negative - 0.846_414_950_69).abs() < 1e-10);
    // Gradients of the mean over 2 elements: (σ(0) − 1)/2, and
    // p(1 − p)·[−4 p_m³ log(1 − p_m) + p_m⁴/(1 − p_m)]/2.
    let positive_gradient = -0.5 / 2.0;
    let negative_gradient = p
        * (1.0 - p)
        * (-4.0 * shifted.powi(3) * (1.0 - shifted).ln() + shifted.powi(4) / (1.0 - shifted))
        / 2.0;
    let close = |a: f32, b: f64, what: &str| {
        assert!(
            (a as f64 - b).abs() < 2e-6 * b.abs().max(1.0),
            "{what}: {a} vs {b}"
        )
    };
    close(got[0], positive, "positive loss");
    close(got[1], negative, "negative loss");
    close(training, (positive + negative) / 2.0, "training loss");
    close(gradient[0], positive_gradient, "positive gradient");
    close(gradient[1], negative_gradient, "negative gradient");
}

#[test]
fn asl_below_the_clip_has_no_negative_loss_and_no_gradient() {
    // p = σ(−4) ≈ 0.018 < m = 0.05, so p_m = 0.
    let loss = Loss::new(
        &LossConfig {
            asl: Some(AslConfig::default()),
            ..LossConfig::bce()
        },
        &[10],
        20,
    )
    .expect("ASL");
    let (got, _, gradient) = evaluate(&loss, &[-4.0], &[0.0], [1, 1]);
    assert_eq!(got, [0.0]);
    assert_eq!(gradient, [0.0]);
}

const ZERO_COUNTS: [usize; 4] = [50, 0, 7, 3];

fn build(config: LossConfig) -> Result<Loss, LossError> {
    Loss::new(&config, &ZERO_COUNTS, 60)
}

#[test]
fn a_zero_class_count_is_a_construction_error_where_the_method_divides_by_it() {
    let dividing = [
        (
            LossConfig {
                weighting: Weighting::Inverse(InverseConfig::default()),
                ..LossConfig::bce()
            },
            "weighting.inverse",
        ),
        (
            LossConfig {
                weighting: Weighting::ClassBalanced(ClassBalancedConfig::default()),
                ..LossConfig::bce()
            },
            "weighting.class_balanced",
        ),
        (
            LossConfig {
                weighting: Weighting::Rebalance(rebalance(WeightNorm::None)),
                ..LossConfig::bce()
            },
            "weighting.rebalance",
        ),
        (
            LossConfig {
                ldam: Some(LdamConfig::default()),
                ..LossConfig::bce()
            },
            "ldam",
        ),
    ];
    for (config, method) in dividing {
        let error = build(config).expect_err(method);
        assert_eq!(error, LossError::ZeroCount { method, class: 1 });
        let message = error.to_string();
        assert!(
            message.contains(method) && message.contains("class_counts[1] = 0"),
            "{message}"
        );
    }
    let ntr_error = build(LossConfig {
        ntr: Some(ntr(NtrBias::Reference)),
        ..LossConfig::bce()
    })
    .expect_err("NTR bias with n = 0");
    assert_eq!(
        ntr_error,
        LossError::PriorOutOfRange {
            class: 1,
            count: 0,
            num_train: 60
        }
    );
    assert!(
        ntr_error.to_string().contains("loss.ntr.kappa"),
        "{ntr_error}"
    );
}

#[test]
fn a_zero_class_count_is_fine_where_the_method_does_not_use_it() {
    let fine = [
        LossConfig::bce(),
        LossConfig {
            focal: Some(FocalConfig::default()),
            ..LossConfig::bce()
        },
        LossConfig {
            asl: Some(AslConfig::default()),
            ..LossConfig::bce()
        },
        // κ = 0: NTR without the class-prior bias needs no count.
        LossConfig {
            ntr: Some(NtrConfig {
                lambda: 2.0,
                kappa: 0.0,
                bias: NtrBias::Reference,
                positives: false,
            }),
            ..LossConfig::bce()
        },
    ];
    let logits = [BIG, -BIG, 0.0, 1.0, -1.0, 2.0, -BIG, BIG];
    let labels = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
    for config in fine {
        let loss = build(config.clone()).unwrap_or_else(|e| panic!("{config:?}: {e}"));
        let (elementwise, training, gradient) = evaluate(&loss, &logits, &labels, [2, 4]);
        assert!(elementwise.iter().chain(&gradient).all(|v| v.is_finite()) && training.is_finite());
    }
}

#[test]
fn ntr_bias_needs_every_count_below_num_train() {
    let error = Loss::new(
        &LossConfig {
            ntr: Some(ntr(NtrBias::Paper)),
            ..LossConfig::bce()
        },
        &[10, 20],
        20,
    )
    .expect_err("n = N");
    assert_eq!(
        error,
        LossError::PriorOutOfRange {
            class: 1,
            count: 20,
            num_train: 20
        }
    );
}

#[test]
fn invalid_parameters_name_their_field() {
    let cases = [
        (
            LossConfig {
                ntr: Some(NtrConfig {
                    lambda: 0.0,
                    kappa: 0.05,
                    bias: NtrBias::Reference,
                    positives: false,
                }),
                ..LossConfig::bce()
            },
            "ntr.lambda",
            Requirement::Positive,
        ),
        (
            LossConfig {
                weighting: Weighting::ClassBalanced(ClassBalancedConfig {
                    beta: 1.0,
                    ..ClassBalancedConfig::default()
                }),
                ..LossConfig::bce()
            },
            "weighting.beta",
            Requirement::OpenUnit,
        ),
        (
            LossConfig {
                focal: Some(FocalConfig {
                    gamma: -1.0,
                    balance: 2.0,
                }),
                ..LossConfig::bce()
            },
            "focal.gamma",
            Requirement::NonNegative,
        ),
        (
            LossConfig {
                asl: Some(AslConfig {
                    clip: 1.0,
                    ..AslConfig::default()
                }),
                ..LossConfig::bce()
            },
            "asl.clip",
            Requirement::HalfOpenUnit,
        ),
        (
            LossConfig {
                loss_weight: f64::NAN,
                ..LossConfig::bce()
            },
            "loss_weight",
            Requirement::Positive,
        ),
    ];
    for (config, field, requirement) in cases {
        match Loss::new(&config, &COUNTS, NUM_TRAIN) {
            Err(LossError::InvalidParameter {
                field: got,
                requirement: why,
                ..
            }) => {
                assert_eq!((got, why), (field, requirement));
            }
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn asl_cannot_be_combined_with_bce_stages() {
    let error = Loss::new(
        &LossConfig {
            asl: Some(AslConfig::default()),
            focal: Some(FocalConfig::default()),
            ..LossConfig::bce()
        },
        &COUNTS,
        NUM_TRAIN,
    )
    .expect_err("asl + focal");
    assert_eq!(error, LossError::AslExcludes { other: "focal" });
}
