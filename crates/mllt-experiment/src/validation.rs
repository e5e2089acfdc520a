//! The validation runs of the search (issue 11 items 1–2): every point of every method's [`MethodSearch`] is
//! trained with seed 0 on the training set less its validation split ([`holdout`]) and scored by the
//! validation mAP; the test split is never touched. Selection runs are the cheap ones of
//! [`RunLengths::cheap`]; the learning rate's confirmation (when asked for) trains its points at full length
//! ([`RunLengths::full`]); with the selection check every point is also trained at full length, to measure
//! how often the search's choice is the full-length one ([`crate::selection`]). No point is trained twice at
//! the same length.
//!
//! All points of one round of [`run_searches`], cheap and full, train in parallel on the pool.

use std::path::{Path, PathBuf};

use mllt_core::holdout::holdout;
use mllt_nn::backend::Device;
use mllt_nn::features::FeatureDataset;
use mllt_nn::train::TrainError;
use rayon::prelude::*;
use serde::Serialize;

use crate::Preset;
use crate::protocol::RunLengths;
use crate::run::{iterations, train_run};
use crate::tuning::{Length, MethodSearch, Param, Point, run_searches};

/// One validation training of a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    /// Validation mAP; `None` when the training failed (diverged).
    pub validation_map: Option<f64>,
    pub iterations: usize,
    /// Why the training failed.
    pub error: Option<String>,
}

impl Trial {
    /// The score of the search: the validation mAP, −∞ for a failed run.
    pub fn score(&self) -> f64 {
        self.validation_map.unwrap_or(f64::NEG_INFINITY)
    }
}

/// A point of a stage with its validation runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointRecord {
    pub values: Point,
    /// The selection (cheap) run.
    #[serde(flatten)]
    pub cheap: Trial,
    /// The full-length run, for the learning rate's confirmation or the selection check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full: Option<Trial>,
}

/// The search of one parameter of a method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageRecord {
    pub param: Param,
    /// The values of the start grid.
    pub start: Vec<f64>,
    /// Whether the grid extended past the start (the best was on an edge).
    pub extended: bool,
    /// The cheap runs' choice.
    pub cheap_choice: f64,
    /// The values retrained at full length to confirm the cheap choice (the learning rate's stage).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub confirmed: Vec<f64>,
    /// The choice: the best confirmed value by full-length validation mAP, else the cheap choice.
    pub choice: f64,
    /// Every evaluated point, in ladder order (a stage's preset value is the previous stage's choice: the same
    /// run, listed in both).
    pub points: Vec<PointRecord>,
}

/// A method's tuning: the choice, the learning rate it gives, and every stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodTuning {
    #[serde(skip)]
    pub method: Preset,
    pub chosen: Point,
    /// The preset's `optimizer.lr` times the chosen scale.
    pub lr: f64,
    pub stages: Vec<StageRecord>,
}

/// Where and how validation runs train.
pub struct Validation<'a> {
    pub lengths: RunLengths,
    /// Run folders go under it: `<method>-<point tag>` (cheap), `full/<method>-<point tag>` (full length).
    pub out: &'a Path,
    pub device: &'a Device,
    pub pool: &'a rayon::ThreadPool,
    /// Also train every point at full length.
    pub check_selection: bool,
    /// Confirm each method's learning rate at full length ([`crate::tuning`]).
    pub confirm_lr: bool,
    /// Prefix of the progress lines (the dataset).
    pub label: &'a str,
}

/// One training task of a round: a method's point, cheap or full length.
struct Task {
    method: usize,
    point: Point,
    full: bool,
}

/// A trained point of a method, with its trials at each length.
#[derive(Debug, Clone)]
struct Trained {
    point: Point,
    cheap: Option<Trial>,
    full: Option<Trial>,
}

impl Trained {
    /// The trial at full length or cheap.
    fn trial(&self, full: bool) -> Option<&Trial> {
        if full {
            self.full.as_ref()
        } else {
            self.cheap.as_ref()
        }
    }

    /// Where the trial at full length or cheap goes.
    fn slot(&mut self, full: bool) -> &mut Option<Trial> {
        if full {
            &mut self.full
        } else {
            &mut self.cheap
        }
    }
}

/// The trained point `point` of a method (`None` before any of its runs).
fn find<'a>(trained: &'a [Trained], point: &Point) -> Option<&'a Trained> {
    trained.iter().find(|t| &t.point == point)
}

impl Validation<'_> {
    /// Searches every method of `methods` on `data`'s validation split (see the module documentation).
    pub fn tune(
        &self,
        data: &FeatureDataset,
        methods: &[Preset],
    ) -> anyhow::Result<Vec<MethodTuning>> {
        let split = holdout(data.train.labels.ids());
        let carved = FeatureDataset {
            train: data.train.subset(&split.fit),
            test: data.train.subset(&split.validation),
        };
        let mut searches = methods
            .iter()
            .map(|&m| MethodSearch::new(m, self.confirm_lr))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // Every trained point with its trials, method by method.
        let mut trained: Vec<Vec<Trained>> = vec![Vec::new(); methods.len()];
        run_searches(&mut searches, |batch| {
            let mut tasks: Vec<Task> = Vec::new();
            for (m, point, length) in batch {
                let full = *length == Length::Full;
                let mut lengths = vec![full];
                if self.check_selection && !full {
                    lengths.push(true);
                }
                for full in lengths {
                    let known = find(&trained[*m], point).is_some_and(|t| t.trial(full).is_some());
                    if !known {
                        tasks.push(Task {
                            method: *m,
                            point: point.clone(),
                            full,
                        });
                    }
                }
            }
            let done = self.pool.install(|| {
                tasks
                    .par_iter()
                    .map(|t| self.trial(&carved, methods[t.method], &t.point, t.full))
                    .collect::<anyhow::Result<Vec<Trial>>>()
            })?;
            for (task, trial) in tasks.into_iter().zip(done) {
                let list = &mut trained[task.method];
                let at = match list.iter().position(|t| t.point == task.point) {
                    Some(at) => at,
                    None => {
                        list.push(Trained {
                            point: task.point,
                            cheap: None,
                            full: None,
                        });
                        list.len() - 1
                    }
                };
                *list[at].slot(task.full) = Some(trial);
            }
            Ok(batch
                .iter()
                .map(|(m, point, length)| {
                    find(&trained[*m], point)
                        .and_then(|t| t.trial(*length == Length::Full))
                        .expect("every point of the round was trained")
                        .score()
                })
                .collect())
        })?;
        searches
            .iter()
            .zip(&trained)
            .map(|(s, t)| record(s, t))
            .collect()
    }

    /// Trains `point` of `method` on `carved` (cheap or full length); a diverged run is a failed trial.
    fn trial(
        &self,
        carved: &FeatureDataset,
        method: Preset,
        point: &Point,
        full: bool,
    ) -> anyhow::Result<Trial> {
        let config = point.apply(method.config()?)?;
        let labels = &carved.train.labels;
        let config = if full {
            self.lengths.full(config, labels)?
        } else {
            self.lengths.cheap(config, labels)?
        };
        let run = format!("{}-{}", method.name(), point.tag());
        let out: PathBuf = if full {
            self.out.join("full").join(&run)
        } else {
            self.out.join(&run)
        };
        let length = if full { "full" } else { "cheap" };
        match train_run(carved, &config, 0, out, self.device) {
            Ok(outcome) => {
                let map = outcome.evaluation.total.map;
                eprintln!(
                    "{} validation {run} ({length}): mAP {:.2}",
                    self.label,
                    100.0 * map.unwrap_or(f64::NAN)
                );
                Ok(Trial {
                    validation_map: map,
                    iterations: iterations(&outcome),
                    error: None,
                })
            }
            // The training diverged (a non-finite loss or scores): the point loses.
            Err(TrainError::Invalid(why)) => {
                eprintln!("{} validation {run} ({length}): failed: {why}", self.label);
                Ok(Trial {
                    validation_map: None,
                    iterations: 0,
                    error: Some(why),
                })
            }
            Err(e) => Err(anyhow::Error::new(e).context(format!("validation run {run}"))),
        }
    }
}

/// The record of a finished search, with the trials of its points; an error when every point of a stage
/// failed.
fn record(search: &MethodSearch, trained: &[Trained]) -> anyhow::Result<MethodTuning> {
    let method = search.preset;
    let stages = search
        .stages()
        .iter()
        .map(|stage| {
            let points: Vec<PointRecord> = stage
                .points()
                .iter()
                .map(|(p, _)| {
                    let t = find(trained, p).expect("every scored point was trained");
                    PointRecord {
                        values: p.clone(),
                        cheap: t.cheap.clone().expect("a scored point has a cheap run"),
                        full: t.full.clone(),
                    }
                })
                .collect();
            if points.iter().all(|p| p.cheap.validation_map.is_none()) {
                let why = points[0].cheap.error.clone().unwrap_or_default();
                anyhow::bail!(
                    "{}: every validation run of {} failed ({why})",
                    method.name(),
                    stage.param.name()
                );
            }
            Ok(StageRecord {
                param: stage.param,
                start: stage.start(),
                extended: stage.search.extended(),
                cheap_choice: stage.cheap_choice().expect("a finished stage has a choice"),
                confirmed: stage.confirmed(),
                choice: stage.choice().expect("a finished stage has a choice"),
                points,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let chosen = search.chosen();
    let lr = chosen.apply(method.config()?)?.optimizer.lr;
    Ok(MethodTuning {
        method,
        chosen,
        lr,
        stages,
    })
}
