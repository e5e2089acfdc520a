//! Fig. 3 of the paper: the gradient to a negative logit under CE, BCE and NTR, as curves over that logit.
//!
//! (a) softmax cross-entropy, with the positive class's logit fixed at several values and the other C − 2
//! negatives at 0: the gradient fades once the positive logit is high; (b) BCE: σ(z), whatever the other
//! logits, so negatives are pushed down without end; (c) NTR (Eq. 7, ν = 0) for several λ: σ(λz), which
//! drops sharply below the threshold. Each curve comes from burn's autodiff through the training loss code
//! ([`mllt_nn::loss::negative_gradient`]). BCE and NTR are per element, without Eq. 6's 1/C of the mean.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use mllt_core::atomic::write_atomic;
use mllt_nn::loss::negative_gradient::{bce_family, softmax_cross_entropy};
use mllt_nn::loss::{LossConfig, NtrConfig};
use mllt_report::{Curve, line_chart};
use serde::Serialize;

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientFigure {
    /// The range of the negative logit z.
    pub min: f64,
    pub max: f64,
    /// Evenly spaced values of z, ends included (≥ 2).
    pub points: usize,
    /// CE: the positive class's logits, one curve each.
    pub positives: Vec<f64>,
    /// CE: the number of classes C (≥ 2).
    pub classes: usize,
    /// NTR: the values of λ, one curve each (> 0).
    pub lambdas: Vec<f64>,
}

impl Default for GradientFigure {
    /// The paper's λ = 2, 5, 10 (Fig. 3c), COCO-MLT's 80 classes, z from −10 to 10.
    fn default() -> Self {
        GradientFigure {
            min: -10.0,
            max: 10.0,
            points: 401,
            positives: vec![0.0, 5.0, 10.0],
            classes: 80,
            lambdas: vec![2.0, 5.0, 10.0],
        }
    }
}

/// One curve: its parameter's value and the gradient at each logit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Labelled {
    pub value: f64,
    pub gradient: Vec<f64>,
}

/// The curves of Fig. 3, as written to `fig3_gradients.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradientCurves {
    /// The negative logit z of every point.
    pub logits: Vec<f64>,
    /// CE, one curve per positive logit (`value`), with `classes` classes.
    pub classes: usize,
    pub ce: Vec<Labelled>,
    /// BCE.
    pub bce: Vec<f64>,
    /// NTR, one curve per λ (`value`).
    pub ntr: Vec<Labelled>,
}

impl GradientFigure {
    /// Checks the ranges; the error names the flag.
    fn validate(&self) -> anyhow::Result<()> {
        if !(self.min.is_finite() && self.max.is_finite() && self.min < self.max) {
            bail!(
                "--min {} and --max {}: need finite values with min < max",
                self.min,
                self.max
            );
        }
        if self.points < 2 {
            bail!("--points {}: need at least 2", self.points);
        }
        if self.classes < 2 {
            bail!("--classes {}: CE needs at least 2 classes", self.classes);
        }
        if let Some(p) = self.positives.iter().find(|p| !p.is_finite()) {
            bail!("--positive-logits: {p} is not a finite number");
        }
        if let Some(l) = self.lambdas.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
            bail!("--lambdas: {l} is not a positive number");
        }
        Ok(())
    }

    /// Every curve.
    pub fn curves(&self) -> anyhow::Result<GradientCurves> {
        self.validate()?;
        let step = (self.max - self.min) / (self.points - 1) as f64;
        let logits: Vec<f64> = (0..self.points)
            .map(|i| self.min + step * i as f64)
            .collect();
        let ce = self
            .positives
            .iter()
            .map(|&value| Labelled {
                value,
                gradient: softmax_cross_entropy(value, self.classes - 2, &logits),
            })
            .collect();
        let bce = bce_family(&LossConfig::bce(), &logits)?;
        let ntr = self
            .lambdas
            .iter()
            .map(|&lambda| {
                let config = LossConfig {
                    ntr: Some(NtrConfig {
                        lambda,
                        kappa: 0.0,
                        bias: Default::default(),
                        positives: false,
                    }),
                    ..LossConfig::bce()
                };
                Ok(Labelled {
                    value: lambda,
                    gradient: bce_family(&config, &logits)?,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(GradientCurves {
            logits,
            classes: self.classes,
            ce,
            bce,
            ntr,
        })
    }
}

/// Writes `fig3_gradients.json` and the three panels `fig3a_ce`, `fig3b_bce`, `fig3c_ntr` (SVG and PNG) to
/// `out`; returns the files written.
pub fn write_figure(out: &Path, figure: &GradientFigure) -> anyhow::Result<Vec<PathBuf>> {
    let curves = figure.curves()?;
    std::fs::create_dir_all(out).with_context(|| format!("{}", out.display()))?;
    let json = out.join("fig3_gradients.json");
    write_atomic(&json, &serde_json::to_vec_pretty(&curves)?)?;
    let mut written = vec![json];
    let points = |gradient: &[f64]| -> Vec<(f64, f64)> {
        curves
            .logits
            .iter()
            .copied()
            .zip(gradient.iter().copied())
            .collect()
    };
    let bce = points(&curves.bce);
    let labelled = |family: &[Labelled], name: &str| -> Vec<(String, Vec<(f64, f64)>)> {
        family
            .iter()
            .map(|c| (format!("{name} = {}", c.value), points(&c.gradient)))
            .collect()
    };
    let ce = labelled(&curves.ce, "positive logit");
    let mut ntr = labelled(&curves.ntr, "NTR, λ");
    ntr.push(("BCE".to_string(), bce.clone()));
    let panels = [
        (
            "fig3a_ce",
            format!(
                "(a) CE, C = {}: gradient to a negative logit",
                curves.classes
            ),
            ce,
        ),
        (
            "fig3b_bce",
            "(b) BCE: gradient to a negative logit".to_string(),
            vec![("BCE".to_string(), bce)],
        ),
        (
            "fig3c_ntr",
            "(c) NTR (ν = 0): gradient to a negative logit".to_string(),
            ntr,
        ),
    ];
    for (stem, title, series) in &panels {
        written.extend(line_chart(
            &out.join(stem),
            title,
            "negative logit z",
            "∂L/∂z",
            &Curve::coloured(series),
        )?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_match_eq_6_and_7_at_hand_points() {
        let figure = GradientFigure {
            min: -2.0,
            max: 2.0,
            points: 5,
            positives: vec![1.0],
            classes: 3,
            lambdas: vec![5.0],
        };
        let c = figure.curves().unwrap();
        assert_eq!(c.logits, vec![-2.0, -1.0, 0.0, 1.0, 2.0]);
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        for (i, &z) in c.logits.iter().enumerate() {
            // CE, C = 3: e^z / (e^1 + e^z + e^0).
            let ce = z.exp() / (1f64.exp() + z.exp() + 1.0);
            assert!((c.ce[0].gradient[i] - ce).abs() < 1e-6);
            assert!((c.bce[i] - sigmoid(z)).abs() < 1e-6);
            assert!((c.ntr[0].gradient[i] - sigmoid(5.0 * z)).abs() < 1e-6);
        }
        assert_eq!(c.ntr[0].value, 5.0);
    }

    #[test]
    fn bad_ranges_name_the_flag() {
        let bad = |f: GradientFigure, flag: &str| {
            let e = f.curves().unwrap_err().to_string();
            assert!(e.contains(flag), "{e}");
        };
        let d = GradientFigure::default;
        bad(
            GradientFigure {
                min: 1.0,
                max: 1.0,
                ..d()
            },
            "--min",
        );
        bad(GradientFigure { points: 1, ..d() }, "--points");
        bad(GradientFigure { classes: 1, ..d() }, "--classes");
        bad(
            GradientFigure {
                lambdas: vec![0.0],
                ..d()
            },
            "--lambdas",
        );
        bad(
            GradientFigure {
                positives: vec![f64::NAN],
                ..d()
            },
            "--positive-logits",
        );
    }
}
