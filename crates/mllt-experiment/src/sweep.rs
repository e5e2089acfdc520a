//! Fig. 7 and Fig. 10 of the paper: one hyper-parameter of a method swept over a list of values, with the
//! test mAP (total, head, medium, tail) of each, mean and standard deviation over seeds.
//!
//! The swept parameters are those of the DB loss: β and μ of the re-balanced weight's smoothing (Eq. 4) and λ
//! and κ of NTR (Eq. 7–9). Every run trains the method's preset on the training set with that one value
//! changed (and its learning rate scaled by `lr_scale`), for the same number of iterations (the matched
//! protocol), and is evaluated on test.

use std::path::{Path, PathBuf};

use anyhow::Context;
use mllt_core::atomic::write_atomic;
use mllt_nn::features::FeatureDataset;
use mllt_nn::train::{TrainConfig, default_device};
use mllt_report::{Curve, line_chart};
use rayon::prelude::*;
use serde::Serialize;

use crate::Preset;
use crate::protocol::RunLengths;
use crate::results::{COLUMNS, MethodResult, SeedResult};
use crate::run::train_run;
use crate::tuning::Param;

/// A parameter of `mllt sweep --param`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepParam {
    /// β of the re-balanced weight (Eq. 4).
    Beta,
    /// μ of the re-balanced weight (Eq. 4).
    Mu,
    /// λ of NTR (Eq. 7).
    Lambda,
    /// κ of NTR's class-prior bias (Eq. 9).
    Kappa,
    /// λ of NTR applied to positive logits too (the §4.4 variant, `ntr.positives`), to compare with `lambda`.
    LambdaPositives,
}

impl SweepParam {
    /// The config field it sets.
    pub fn param(self) -> Param {
        match self {
            SweepParam::Beta => Param::RebalanceBeta,
            SweepParam::Mu => Param::RebalanceMu,
            SweepParam::Lambda | SweepParam::LambdaPositives => Param::NtrLambda,
            SweepParam::Kappa => Param::NtrKappa,
        }
    }

    /// Sets the parameter to `value` in `config` (with `ntr.positives` for [`SweepParam::LambdaPositives`]).
    pub fn apply(self, config: &mut TrainConfig, value: f64) -> anyhow::Result<()> {
        self.param().apply(config, value)?;
        if self == SweepParam::LambdaPositives
            && let Some(ntr) = config.loss.ntr.as_mut()
        {
            ntr.positives = true;
        }
        Ok(())
    }

    /// The name on the command line and in `sweep.json`.
    pub fn name(self) -> &'static str {
        match self {
            SweepParam::Beta => "beta",
            SweepParam::Mu => "mu",
            SweepParam::Lambda => "lambda",
            SweepParam::Kappa => "kappa",
            SweepParam::LambdaPositives => "lambda-positives",
        }
    }
}

/// What to sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub method: Preset,
    pub param: SweepParam,
    pub values: Vec<f64>,
    /// Seeds 0, 1, … per value.
    pub seeds: u64,
    /// Iterations per run (the matched protocol).
    pub lengths: RunLengths,
    /// Multiplier of the preset's learning rate.
    pub lr_scale: f64,
}

/// One value's test mAP: `(mean, std)` of each of total, head, medium and tail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    pub value: f64,
    pub total: Option<(f64, f64)>,
    pub head: Option<(f64, f64)>,
    pub medium: Option<(f64, f64)>,
    pub tail: Option<(f64, f64)>,
    /// Total mAP of each seed.
    pub per_seed: Vec<Option<f64>>,
}

/// `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    pub method: String,
    pub param: SweepParam,
    pub lr_scale: f64,
    pub iterations: usize,
    pub seeds: u64,
    pub points: Vec<SweepPoint>,
}

impl Sweep {
    /// Trains every value and seed on `data` (`jobs` runs at a time, under `out/runs/`) and evaluates on
    /// test. An error names a parameter the method's config lacks.
    pub fn run(
        &self,
        data: &FeatureDataset,
        out: &Path,
        jobs: usize,
    ) -> anyhow::Result<SweepReport> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .context("cannot start the worker threads")?;
        let device = default_device().autodiff();
        let mut preset = self.method.config()?;
        Param::LrScale.apply(&mut preset, self.lr_scale)?;
        let configs = self
            .values
            .iter()
            .map(|&v| {
                let mut config = preset.clone();
                self.param
                    .apply(&mut config, v)
                    .with_context(|| format!("--param {}", self.param.name()))?;
                self.lengths.full(config, &data.train.labels)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let jobs: Vec<(usize, u64)> = (0..configs.len())
            .flat_map(|i| (0..self.seeds).map(move |seed| (i, seed)))
            .collect();
        let results = pool.install(|| {
            jobs.par_iter()
                .map(|&(i, seed)| {
                    let value = self.values[i];
                    let run = format!("{}{value}-seed{seed}", self.param.name());
                    let outcome = train_run(
                        data,
                        &configs[i],
                        seed,
                        out.join("runs").join(&run),
                        &device,
                    )
                    .with_context(|| format!("training {run}"))?;
                    eprintln!(
                        "{} {run}: test mAP {:.2}",
                        self.method.name(),
                        100.0 * outcome.evaluation.total.map.unwrap_or(f64::NAN)
                    );
                    Ok(SeedResult::new(&outcome.evaluation, Vec::new()))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        let mut results = results.into_iter();
        let points = self
            .values
            .iter()
            .map(|&value| {
                let r = MethodResult {
                    method: self.method,
                    seeds: results.by_ref().take(self.seeds as usize).collect(),
                };
                SweepPoint {
                    value,
                    total: r.column(0),
                    head: r.column(1),
                    medium: r.column(2),
                    tail: r.column(3),
                    per_seed: r.seeds.iter().map(|s| s.maps[0]).collect(),
                }
            })
            .collect();
        Ok(SweepReport {
            method: self.method.name(),
            param: self.param,
            lr_scale: self.lr_scale,
            iterations: self.lengths.iterations,
            seeds: self.seeds,
            points,
        })
    }
}

/// Writes `sweep.json` and the figure `sweep_{param}` (SVG and PNG: total, head, medium and tail mAP against
/// the value) into `out`; returns the files written.
pub fn write_sweep(out: &Path, report: &SweepReport) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("{}", out.display()))?;
    let json = out.join("sweep.json");
    write_atomic(&json, &serde_json::to_vec_pretty(report)?)?;
    let series: Vec<(String, Vec<(f64, f64)>)> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, &column)| {
            let points = report
                .points
                .iter()
                .filter_map(|p| {
                    let m = [p.total, p.head, p.medium, p.tail][i]?;
                    Some((p.value, 100.0 * m.0))
                })
                .collect();
            (column.to_string(), points)
        })
        .collect();
    let mut files = vec![json];
    files.extend(line_chart(
        &out.join(format!("sweep_{}", report.param.name())),
        &format!(
            "{}: test mAP against {} (mean of {} seeds)",
            report.method,
            report.param.name(),
            report.seeds
        ),
        report.param.name(),
        "mAP (%)",
        &Curve::coloured(&series),
    )?);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_parameter_sets_its_field_and_others_are_refused() {
        let mut db = Preset::DbFocal.config().unwrap();
        for (p, v) in [
            (SweepParam::Beta, 7.0),
            (SweepParam::Mu, 0.4),
            (SweepParam::Lambda, 3.0),
            (SweepParam::Kappa, 0.2),
        ] {
            p.param().apply(&mut db, v).unwrap();
            assert_eq!(p.param().preset_value(&db), Some(v), "{p:?}");
        }
        let mut both = Preset::DbFocal.config().unwrap();
        SweepParam::LambdaPositives.apply(&mut both, 4.0).unwrap();
        let ntr = both.loss.ntr.unwrap();
        assert!(ntr.positives && ntr.lambda == 4.0);
        assert!(!db.loss.ntr.unwrap().positives);
        let mut erm = Preset::Erm.config().unwrap();
        let e = SweepParam::Lambda
            .param()
            .apply(&mut erm, 1.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ntr_lambda"), "{e}");
    }
}
