//! `mllt reproduce` as a library call: the analogue of the paper's Table 1 on feature datasets.
//!
//! For each dataset: every method's learning-rate scale and key hyper-parameters are chosen on the validation
//! split ([`crate::validation`], [`crate::tuning`]); every method is then trained with `seeds` seeds on the
//! full training set ([`crate::protocol`] sets the run lengths) and evaluated on test; the chance level
//! ([`crate::chance`]) and the paired comparison with DB-Focal ([`crate::comparison`]) complete the tables.
//! Everything lands in the output folder ([`crate::report`]): `results.json`, `summary.json`, `table.md`, the
//! per-class CSVs, the Fig. 6 figures and every run under `runs/`. The numbers do not depend on `jobs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use mllt_core::atomic::write_atomic;
use mllt_core::metrics::BootstrapDraws;
use mllt_nn::backend::Device;
use mllt_nn::features::FeatureDataset;
use mllt_nn::train::{TrainConfig, default_device, predict};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::Preset;
use crate::chance::ChanceLevel;
use crate::comparison::{BOOTSTRAP_SEED, Comparison, REFERENCE, RESAMPLES, compare_all};
use crate::preset::TABLE_2;
use crate::protocol::{Protocol, RunLengths, schedule_iterations};
use crate::report::{comparison_table, fig6, markdown_table, results_json, write_per_class};
use crate::resources::peak_memory_bytes;
use crate::results::{MethodResult, SeedResult};
use crate::run::train_run;
use crate::selection::{SelectionCheck, selection_check};
use crate::validation::{MethodTuning, Validation};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub methods: Vec<Preset>,
    /// Seeds 0, 1, … of the final runs.
    pub seeds: u64,
    pub out: PathBuf,
    pub lengths: RunLengths,
    /// Choose hyper-parameters on validation (else the presets' values).
    pub tune: bool,
    /// Also train every validation point at full length ([`crate::selection`]).
    pub check_selection: bool,
    /// Confirm each method's learning rate at full length ([`crate::tuning`]).
    pub confirm_lr: bool,
    /// Runs trained at the same time.
    pub jobs: usize,
}

/// A final run's configuration, as trained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub lr: f64,
    pub epochs: usize,
    pub iterations: usize,
}

/// The paired comparison of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonSummary {
    pub reference: String,
    pub resamples: usize,
    pub seed: u64,
    pub methods: Vec<Comparison>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub protocol: Protocol,
    pub iterations: usize,
    pub tune_iterations: usize,
    pub seeds: u64,
    pub tuned: bool,
    /// Whether the learning rates were confirmed at full length (`--confirm-lr`).
    pub confirm_lr: bool,
    /// `results.json`: `{dataset: {method: {total, head, medium, tail, std}}}`.
    pub results: BTreeMap<String, Value>,
    /// Every validation point and choice: `{dataset: {method: MethodTuning}}` (empty without tuning).
    pub tuning: BTreeMap<String, BTreeMap<String, MethodTuning>>,
    /// The final runs' learning rate and length: `{dataset: {method: Schedule}}`.
    pub schedules: BTreeMap<String, BTreeMap<String, Schedule>>,
    pub random_baseline: BTreeMap<String, ChanceLevel>,
    /// The methods marked `†`: mean total mAP within 2 points of the chance level, or below it.
    pub near_chance: BTreeMap<String, Vec<String>>,
    /// Against DB-Focal (absent for a dataset where DB-Focal was not run).
    pub comparison: BTreeMap<String, ComparisonSummary>,
    /// With the selection check only.
    pub selection_check: Option<BTreeMap<String, SelectionCheck>>,
    /// Wall time of the whole command.
    pub seconds: f64,
    /// Peak resident memory of the process (`null` where not measurable).
    pub peak_memory_bytes: Option<u64>,
}

/// What `reproduce` wrote, and the text of `table.md`.
#[derive(Debug, Clone)]
pub struct Reproduced {
    pub summary: Summary,
    pub table: String,
}

/// Runs the experiment on every dataset of `datasets`, each loaded by `load` (name, data) when its turn
/// comes, and writes the output folder (see the module documentation).
pub fn reproduce(
    options: &Options,
    datasets: &[String],
    load: impl Fn(&str) -> anyhow::Result<(String, FeatureDataset)>,
) -> anyhow::Result<Reproduced> {
    let started = Instant::now();
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("{}: cannot create folder", options.out.display()))?;
    let device = default_device().autodiff();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs)
        .build()
        .context("cannot start the worker threads")?;
    let experiment = Experiment {
        options,
        device: &device,
        pool: &pool,
        started,
    };
    let mut summary = Summary {
        protocol: options.lengths.protocol,
        iterations: options.lengths.iterations,
        tune_iterations: options.lengths.tune_iterations,
        seeds: options.seeds,
        tuned: options.tune,
        confirm_lr: options.confirm_lr,
        results: BTreeMap::new(),
        tuning: BTreeMap::new(),
        schedules: BTreeMap::new(),
        random_baseline: BTreeMap::new(),
        near_chance: BTreeMap::new(),
        comparison: BTreeMap::new(),
        selection_check: options.check_selection.then(BTreeMap::new),
        seconds: 0.0,
        peak_memory_bytes: None,
    };
    let mut table = header(options);
    for spec in datasets {
        let (name, data) = load(spec)?;
        experiment.dataset(&name, &data, &mut summary, &mut table)?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.peak_memory_bytes = peak_memory_bytes();
    write_atomic(
        &options.out.join("results.json"),
        pretty(&summary.results).as_bytes(),
    )?;
    write_atomic(
        &options.out.join("summary.json"),
        pretty(&summary).as_bytes(),
    )?;
    write_atomic(&options.out.join("table.md"), table.as_bytes())?;
    Ok(Reproduced { summary, table })
}

/// Pretty JSON with a final newline.
fn pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("summaries serialise") + "\n"
}

/// The first line of `table.md`.
fn header(options: &Options) -> String {
    let lengths = match options.lengths.protocol {
        Protocol::Matched => format!(
            "{} iterations per run (protocol matched)",
            options.lengths.iterations
        ),
        Protocol::Paper => "the presets' own schedules (protocol paper)".to_string(),
    };
    format!(
        "# mllt reproduce: mAP (%) on test, mean ± std over {} seeds, {lengths}\n",
        options.seeds
    )
}

/// One command's shared state.
struct Experiment<'a> {
    options: &'a Options,
    device: &'a Device,
    pool: &'a rayon::ThreadPool,
    started: Instant,
}

impl Experiment<'_> {
    /// Tunes, trains and evaluates every method on one dataset; adds its part to `summary` and `table`, and
    /// writes its CSV and figure.
    fn dataset(
        &self,
        name: &str,
        data: &FeatureDataset,
        summary: &mut Summary,
        table: &mut String,
    ) -> anyhow::Result<()> {
        let options = self.options;
        let methods = &options.methods;
        eprintln!(
            "{name}: {} train / {} test items, {} classes, d = {}",
            data.train.len(),
            data.test.len(),
            data.class_names().len(),
            data.dim()
        );
        let runs = options.out.join("runs").join(name);
        let tunings = if options.tune {
            let validation = Validation {
                lengths: options.lengths,
                out: &runs.join("validation"),
                device: self.device,
                pool: self.pool,
                check_selection: options.check_selection,
                confirm_lr: options.confirm_lr,
                label: name,
            };
            let tunings = validation.tune(data, methods)?;
            for t in &tunings {
                eprintln!(
                    "{name}: validation chose {} for {}",
                    t.chosen.tag(),
                    t.method.name()
                );
            }
            Some(tunings)
        } else {
            None
        };
        let configs = methods
            .iter()
            .enumerate()
            .map(|(m, &method)| {
                let config = method.config()?;
                let config = match &tunings {
                    Some(t) => t[m].chosen.apply(config)?,
                    None => config,
                };
                options.lengths.full(config, &data.train.labels)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let per_method = self.final_runs(name, data, &configs, &runs)?;
        let chance = ChanceLevel::new(&data.test.labels, &data.train.labels.class_counts())?;
        let comparisons = compare_all(&per_method)?;

        summary
            .results
            .insert(name.into(), results_json(&per_method));
        summary.schedules.insert(
            name.into(),
            methods
                .iter()
                .zip(&configs)
                .map(|(m, c)| (m.name(), schedule(c, data)))
                .collect(),
        );
        summary.near_chance.insert(
            name.into(),
            per_method
                .iter()
                .filter(|r| r.column(0).is_some_and(|(m, _)| chance.is_near(m)))
                .map(|r| r.method.name())
                .collect(),
        );
        let _ = write!(
            table,
            "\n### {name}\n\n{}",
            markdown_table(&per_method, &chance)
        );
        if let Some(comparisons) = comparisons {
            let _ = write!(
                table,
                "\n{name}: every method against {}\n\n{}",
                REFERENCE.name(),
                comparison_table(&comparisons)
            );
            summary.comparison.insert(
                name.into(),
                ComparisonSummary {
                    reference: REFERENCE.name(),
                    resamples: RESAMPLES,
                    seed: BOOTSTRAP_SEED,
                    methods: comparisons,
                },
            );
        }
        let table2: Vec<&MethodResult> = TABLE_2
            .iter()
            .filter_map(|p| per_method.iter().find(|r| r.method == *p))
            .collect();
        if !table2.is_empty() {
            let _ = write!(
                table,
                "\n{name}: Table 2, re-sampling combined with re-weighting (all but RS with focal)\n\n{}",
                markdown_table(table2, &chance)
            );
        }
        summary.random_baseline.insert(name.into(), chance);
        if let Some(tunings) = tunings {
            if let (Some(checks), Some(check)) =
                (&mut summary.selection_check, selection_check(&tunings))
            {
                eprintln!(
                    "{name}: the search chose as full-length runs would in {} of {} stages; \
                     validation mAP lost {:.2} points on average",
                    check.overall.agreed,
                    check.overall.stages,
                    100.0 * check.mean_map_lost
                );
                checks.insert(name.into(), check);
            }
            summary.tuning.insert(
                name.into(),
                tunings.into_iter().map(|t| (t.method.name(), t)).collect(),
            );
        }
        let out = &options.out;
        write_per_class(
            &out.join(format!("{name}_per_class.csv")),
            data,
            &per_method,
        )?;
        fig6(&out.join(format!("{name}_fig6")), name, data, &per_method)
    }

    /// Trains every method's `configs` with every seed on the full training set, in parallel; evaluates on
    /// test and scores the bootstrap draws of the test items.
    fn final_runs(
        &self,
        name: &str,
        data: &FeatureDataset,
        configs: &[TrainConfig],
        runs: &std::path::Path,
    ) -> anyhow::Result<Vec<MethodResult>> {
        let (methods, seeds) = (&self.options.methods, self.options.seeds);
        let draws = BootstrapDraws::new(&data.test.labels, RESAMPLES, BOOTSTRAP_SEED)?;
        let jobs: Vec<(usize, u64)> = (0..methods.len())
            .flat_map(|m| (0..seeds).map(move |seed| (m, seed)))
            .collect();
        let done = AtomicUsize::new(0);
        let phase = Instant::now();
        let outcomes = self.pool.install(|| {
            jobs.par_iter()
                .map(|&(m, seed)| {
                    let method = methods[m];
                    let out = runs.join(format!("{}-seed{seed}", method.name()));
                    let context = || format!("{name}: training {}", method.name());
                    let outcome = train_run(data, &configs[m], seed, out, self.device)
                        .with_context(context)?;
                    let scores =
                        predict(&outcome.model, &data.test, self.device).with_context(context)?;
                    let e = &outcome.evaluation;
                    let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                    eprintln!(
                        "{name} {} seed {seed}: mAP {:.2} (run {k}/{}, {:.0} s elapsed, eta {:.0} s)",
                        method.name(),
                        100.0 * e.total.map.unwrap_or(f64::NAN),
                        jobs.len(),
                        self.started.elapsed().as_secs_f64(),
                        phase.elapsed().as_secs_f64() * (jobs.len() - k) as f64 / k as f64
                    );
                    Ok(SeedResult::new(e, draws.maps(&scores)?))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        let mut outcomes = outcomes.into_iter();
        Ok(methods
            .iter()
            .map(|&method| MethodResult {
                method,
                seeds: outcomes.by_ref().take(seeds as usize).collect(),
            })
            .collect())
    }
}

/// The learning rate and length of a final run of `config` on `data`.
fn schedule(config: &TrainConfig, data: &FeatureDataset) -> Schedule {
    Schedule {
        lr: config.optimizer.lr,
        epochs: config.schedule.epochs,
        iterations: schedule_iterations(config, &data.train.labels),
    }
}
