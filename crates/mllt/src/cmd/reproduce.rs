//! `mllt reproduce`: the analogue of the paper's Table 1 on the shipped real benchmarks, from one command.
//!
//! For each dataset, hyper-parameters are chosen on a validation split carved from the training set (never on
//! test): first the learning-rate scale, with ERM (every preset's `optimizer.lr` is multiplied by it: the
//! paper's 0.02 was set for fine-tuned ResNet-50 features over 20–80 classes and need not suit other features
//! or class counts); then μ of the re-balanced weight and λ of NTR, with DB-Focal. Every method preset is then
//! trained with
//! `--seeds` seeds on the full training set and evaluated on test. Every run gets the same iteration budget
//! (`--iterations`): uniform-sampling schedules are rescaled in epochs, class-aware ones keep 8 epochs and
//! rescale the epoch length through `reduce`, both keeping the paper's learning-rate steps at the same
//! fractions of training.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use mllt_core::Group;
use mllt_core::atomic::write_atomic;
use mllt_core::holdout::holdout;
use mllt_core::metrics::Evaluation;
use mllt_core::sampling::{SamplerConfig, class_aware_epoch_len};
use mllt_core::split::SplitRule;
use mllt_nn::features::{FeatureDataset, FeatureSplit};
use mllt_nn::loss::Weighting;
use mllt_nn::train::{RunOptions, TrainConfig, default_device, train};
use mllt_report::{BarSeries, PALETTE, bar_chart};
use rayon::prelude::*;
use serde_json::{Value, json};

use super::dataset;
use super::train::Preset;

/// Arguments of `mllt reproduce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Datasets, comma-separated: shipped names (openclipart-mlt, debtags-mlt) or folders.
    #[arg(long, value_delimiter = ',', default_values_t = dataset::SHIPPED.map(String::from))]
    pub data: Vec<String>,
    /// Method presets, comma-separated [default: all of them].
    #[arg(long, value_delimiter = ',', value_enum)]
    pub methods: Vec<Preset>,
    /// Seeds per method (0, 1, …).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Output folder: results.json, table.md, per-class CSVs, figures, and every run under runs/.
    #[arg(long, default_value = "reproduce")]
    pub out: PathBuf,
    /// Iterations per run; every schedule is rescaled to it (0 keeps the presets' schedules).
    #[arg(long, default_value_t = 4000)]
    pub iterations: usize,
    /// TF-IDF width (hashed columns) of text datasets; narrower than `mllt train`'s 16384 to fit the time budget.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub text_width: u64,
    /// Use the presets' μ and λ instead of choosing them on the validation split.
    #[arg(long)]
    pub no_tune: bool,
    /// Runs trained at the same time (each run is single-threaded; the results do not depend on it)
    /// [default: the number of CPU cores].
    #[arg(long, default_value_t = default_jobs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: u64,
}

/// The validation grid of the learning-rate scale (× each preset's lr: 0.02, 0.2, 2 for most).
const LR_SCALE_GRID: [f64; 3] = [1.0, 10.0, 100.0];
/// The validation grid: μ of the re-balanced weight × λ of NTR (the paper's values for COCO and VOC).
const MU_GRID: [f64; 2] = [0.2, 0.3];
const LAMBDA_GRID: [f64; 2] = [2.0, 5.0];

/// The methods of the Fig. 6 analogue, in order: each bar is the per-class AP gain of one step.
const FIG6_STEPS: [Preset; 4] = [Preset::Erm, Preset::Rs, Preset::RBce, Preset::DbFocal];

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let started = Instant::now();
        let methods = if self.methods.is_empty() {
            Preset::value_variants().to_vec()
        } else {
            self.methods.clone()
        };
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("{}: cannot create folder", self.out.display()))?;
        let device = default_device().autodiff();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.jobs as usize)
            .build()
            .context("cannot start the worker threads")?;
        let mut results = serde_json::Map::new();
        let mut tuning = serde_json::Map::new();
        let mut table = String::new();
        for spec in &self.data {
            let dir = dataset::resolve(Path::new(spec))?;
            let data = dataset::load_with_width(&dir, self.text_width as usize)?;
            let name = dir
                .file_name()
                .map_or(spec.clone(), |n| n.to_string_lossy().into_owned());
            eprintln!(
                "{name}: {} train / {} test items, {} classes, d = {}",
                data.train.len(),
                data.test.len(),
                data.class_names().len(),
                data.dim()
            );
            let runs = self.out.join("runs").join(&name);
            let (hyper, grid) = if self.no_tune {
                (Hyper::default(), Value::Null)
            } else {
                let (hyper, grid) = self.tune(&data, &runs.join("validation"), &device, &pool)?;
                eprintln!(
                    "{name}: validation chose lr x{}, mu = {:?}, lambda = {:?}",
                    hyper.lr_scale, hyper.mu, hyper.lambda
                );
                (hyper, grid)
            };
            tuning.insert(
                name.clone(),
                json!({"lr_scale": hyper.lr_scale, "mu": hyper.mu, "lambda": hyper.lambda, "grid": grid}),
            );
            let configs = methods
                .iter()
                .map(|&m| self.budgeted(hyper.apply(m.config()?), &data.train))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let jobs: Vec<(usize, u64)> = (0..methods.len())
                .flat_map(|m| (0..self.seeds).map(move |seed| (m, seed)))
                .collect();
            let done = AtomicUsize::new(0);
            let phase = Instant::now();
            let outcomes = pool.install(|| {
                jobs.par_iter()
                    .map(|&(m, seed)| {
                        let method = methods[m];
                        let out = runs.join(format!("{}-seed{seed}", method.name()));
                        let e = run_one(&data, &configs[m], seed, out, &device)
                            .with_context(|| format!("{name}: training {}", method.name()))?;
                        let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                        let seconds = phase.elapsed().as_secs_f64();
                        eprintln!(
                            "{name} {} seed {seed}: mAP {:.2} (run {k}/{}, {:.0} s elapsed, eta {:.0} s)",
                            method.name(),
                            100.0 * e.total.map.unwrap_or(f64::NAN),
                            jobs.len(),
                            started.elapsed().as_secs_f64(),
                            seconds * (jobs.len() - k) as f64 / k as f64
                        );
                        Ok(SeedResult::new(&e))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })?;
            let mut outcomes = outcomes.into_iter();
            let per_method: Vec<(Preset, MethodResult)> = methods
                .iter()
                .map(|&m| {
                    let seeds = outcomes.by_ref().take(self.seeds as usize).collect();
                    (m, MethodResult { seeds })
                })
                .collect();
            results.insert(name.clone(), results_json(&per_method));
            let _ = writeln!(table, "\n### {name}\n\n{}", markdown_table(&per_method));
            write_per_class(
                &self.out.join(format!("{name}_per_class.csv")),
                &data,
                &per_method,
            )?;
            fig6(
                &self.out.join(format!("{name}_fig6")),
                &name,
                &data,
                &per_method,
            )?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let summary = json!({"results": results, "tuning": tuning, "seconds": seconds, "seeds": self.seeds, "iterations": self.iterations});
        write_atomic(
            &self.out.join("results.json"),
            (serde_json::to_string_pretty(&Value::Object(results))? + "\n").as_bytes(),
        )?;
        write_atomic(
            &self.out.join("summary.json"),
            (serde_json::to_string_pretty(&summary)? + "\n").as_bytes(),
        )?;
        let header = format!(
            "# mllt reproduce: mAP (%) on test, mean ± std over {} seeds, {} iterations per run\n",
            self.seeds, self.iterations
        );
        write_atomic(
            &self.out.join("table.md"),
            (header.clone() + &table).as_bytes(),
        )?;
        println!(
            "{header}{table}\nwall time {seconds:.0} s; results in {}",
            self.out.display()
        );
        Ok(())
    }

    /// Chooses the learning-rate scale by ERM's validation mAP, then (μ, λ) by DB-Focal's at that scale (seed 0
    /// each), on the validation split carved from the training set ([`holdout`]).
    fn tune(
        &self,
        data: &FeatureDataset,
        out: &Path,
        device: &mllt_nn::backend::Device,
        pool: &rayon::ThreadPool,
    ) -> anyhow::Result<(Hyper, Value)> {
        let split = holdout(data.train.labels.ids());
        let carved = FeatureDataset {
            train: data.train.subset(&split.fit),
            test: data.train.subset(&split.validation),
        };
        let validate = |method: Preset,
                        points: Vec<Hyper>|
         -> anyhow::Result<(Hyper, Vec<Value>)> {
            let maps = pool.install(|| {
                points
                    .par_iter()
                    .map(|h| {
                        let config = self.budgeted(h.apply(method.config()?), &carved.train)?;
                        let run = format!("{}-{}", method.name(), h.tag());
                        let e = run_one(&carved, &config, 0, out.join(&run), device)?;
                        let map = e.total.map.unwrap_or(f64::NAN);
                        eprintln!("validation {run}: mAP {:.2}", 100.0 * map);
                        Ok(map)
                    })
                    .collect::<anyhow::Result<Vec<f64>>>()
            })?;
            let best = (0..points.len())
                .max_by(|&a, &b| maps[a].total_cmp(&maps[b]))
                .expect("a validation grid is not empty");
            let grid = points
                .iter()
                .zip(&maps)
                .map(|(h, map)| json!({"method": method.name(), "lr_scale": h.lr_scale, "mu": h.mu, "lambda": h.lambda, "validation_map": map}))
                .collect();
            Ok((points[best], grid))
        };
        let lr_points = LR_SCALE_GRID
            .iter()
            .map(|&lr_scale| Hyper {
                lr_scale,
                ..Hyper::default()
            })
            .collect();
        let (lr, mut grid) = validate(Preset::Erm, lr_points)?;
        let db_points = MU_GRID
            .iter()
            .flat_map(|&mu| {
                LAMBDA_GRID.iter().map(move |&lambda| Hyper {
                    lr_scale: lr.lr_scale,
                    mu: Some(mu),
                    lambda: Some(lambda),
                })
            })
            .collect();
        let (best, db_grid) = validate(Preset::DbFocal, db_points)?;
        grid.extend(db_grid);
        Ok((best, Value::Array(grid)))
    }

    /// Rescales `config` to `self.iterations` iterations on `train` (unchanged when 0).
    fn budgeted(
        &self,
        mut config: TrainConfig,
        train: &FeatureSplit,
    ) -> anyhow::Result<TrainConfig> {
        if self.iterations == 0 {
            return Ok(config);
        }
        let s = &mut config.schedule;
        let batch = s.batch_size.max(1);
        let old_epochs = s.epochs.max(1);
        match &mut config.sampler {
            SamplerConfig::Uniform => {
                let per_epoch = (train.len() / batch).max(1);
                s.epochs = (self.iterations as f64 / per_epoch as f64).round().max(1.0) as usize;
            }
            SamplerConfig::ClassAware { reduce, .. } => {
                let full = class_aware_epoch_len(&train.labels.class_counts(), 1) as f64;
                let wanted = (self.iterations * batch) as f64 / old_epochs as f64;
                *reduce = (full / wanted).round().max(1.0) as usize;
            }
        }
        let epochs = s.epochs;
        let mut steps: Vec<usize> = s
            .lr_steps
            .iter()
            .map(|&e| {
                ((e as f64 * epochs as f64 / old_epochs as f64).round() as usize).clamp(1, epochs)
            })
            .filter(|&e| e < epochs)
            .collect();
        steps.dedup();
        s.lr_steps = steps;
        s.warmup_iters = s.warmup_iters.min(self.iterations / 4);
        config
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: rescaled schedule: {e}", config.method))?;
        Ok(config)
    }
}

fn default_jobs() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// Trains one run (seed `seed`, output folder `out`) and returns its test evaluation.
fn run_one(
    data: &FeatureDataset,
    config: &TrainConfig,
    seed: u64,
    out: PathBuf,
    device: &mllt_nn::backend::Device,
) -> anyhow::Result<Evaluation> {
    let options = RunOptions {
        seed,
        out,
        resume: false,
        max_steps: None,
        log_every: 0,
        holdout: false,
        deploy: None,
    };
    Ok(train(data, config, &options, device, &mut ())?.evaluation)
}

/// The hyper-parameters chosen on validation: a learning-rate scale, and μ and λ where set.
#[derive(Debug, Clone, Copy)]
struct Hyper {
    lr_scale: f64,
    mu: Option<f64>,
    lambda: Option<f64>,
}

impl Default for Hyper {
    fn default() -> Self {
        Hyper {
            lr_scale: 1.0,
            mu: None,
            lambda: None,
        }
    }
}

impl Hyper {
    /// Scales the learning rate; sets μ of a re-balanced weight and λ of NTR where the config has them.
    fn apply(&self, mut config: TrainConfig) -> TrainConfig {
        config.optimizer.lr *= self.lr_scale;
        if let (Weighting::Rebalance(r), Some(mu)) = (&mut config.loss.weighting, self.mu) {
            r.mu = mu;
        }
        if let (Some(ntr), Some(lambda)) = (&mut config.loss.ntr, self.lambda) {
            ntr.lambda = lambda;
        }
        config
    }

    /// A folder name for a validation run.
    fn tag(&self) -> String {
        let mut tag = format!("lr{}", self.lr_scale);
        if let Some(mu) = self.mu {
            let _ = write!(tag, "-mu{mu}");
        }
        if let Some(lambda) = self.lambda {
            let _ = write!(tag, "-lambda{lambda}");
        }
        tag
    }
}

/// One seed's test result: mAP total / head / medium / tail, and per-class AP.
struct SeedResult {
    maps: [Option<f64>; 4],
    ap: Vec<Option<f64>>,
}

impl SeedResult {
    fn new(e: &Evaluation) -> Self {
        let group = |g| e.group(g).and_then(|m| m.map);
        SeedResult {
            maps: [
                e.total.map,
                group(Group::Head),
                group(Group::Medium),
                group(Group::Tail),
            ],
            ap: e.ap.clone(),
        }
    }
}

/// All seeds of one method.
struct MethodResult {
    seeds: Vec<SeedResult>,
}

/// Mean and sample standard deviation of the present values.
fn mean_std(values: impl Iterator<Item = Option<f64>>) -> Option<(f64, f64)> {
    let v: Vec<f64> = values.flatten().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    } else {
        0.0
    };
    Some((mean, var.sqrt()))
}

const COLUMNS: [&str; 4] = ["total", "head", "medium", "tail"];

impl MethodResult {
    fn column(&self, i: usize) -> Option<(f64, f64)> {
        mean_std(self.seeds.iter().map(|s| s.maps[i]))
    }

    fn class_ap(&self, c: usize) -> Option<(f64, f64)> {
        mean_std(self.seeds.iter().map(|s| s.ap[c]))
    }
}

/// `{method: {"total", "head", "medium", "tail", "std": {...}}}` in [0, 1].
fn results_json(per_method: &[(Preset, MethodResult)]) -> Value {
    let mut out = serde_json::Map::new();
    for (method, r) in per_method {
        let mut entry = serde_json::Map::new();
        let mut std = serde_json::Map::new();
        for (i, col) in COLUMNS.iter().enumerate() {
            let ms = r.column(i);
            entry.insert((*col).into(), json!(ms.map(|m| m.0)));
            std.insert((*col).into(), json!(ms.map(|m| m.1)));
        }
        entry.insert("std".into(), Value::Object(std));
        out.insert(method.name(), Value::Object(entry));
    }
    Value::Object(out)
}

/// The paper's layout: one row per method, mAP in percent, mean ± std.
fn markdown_table(per_method: &[(Preset, MethodResult)]) -> String {
    let mut t = String::from("| method | total | head | medium | tail |\n|---|---|---|---|---|\n");
    for (method, r) in per_method {
        let cells: Vec<String> = (0..4)
            .map(|i| {
                r.column(i).map_or("-".into(), |(m, s)| {
                    format!("{:.2} ± {:.2}", 100.0 * m, 100.0 * s)
                })
            })
            .collect();
        let _ = writeln!(t, "| {} | {} |", method.name(), cells.join(" | "));
    }
    t
}

/// `class,group,n_train,n_test,<method>...` with the mean AP over seeds.
fn write_per_class(
    path: &Path,
    data: &FeatureDataset,
    per_method: &[(Preset, MethodResult)],
) -> anyhow::Result<()> {
    let (train, test) = (
        data.train.labels.class_counts(),
        data.test.labels.class_counts(),
    );
    let split = SplitRule::default().split(&train);
    let mut csv = String::from("class,group,n_train,n_test");
    for (m, _) in per_method {
        let _ = write!(csv, ",{}", m.name());
    }
    csv.push('\n');
    for (c, name) in data.class_names().iter().enumerate() {
        let _ = write!(
            csv,
            "\"{}\",{},{},{}",
            name.replace('"', "\"\""),
            split.group(c).name(),
            train[c],
            test[c]
        );
        for (_, r) in per_method {
            let _ = write!(
                csv,
                ",{}",
                r.class_ap(c)
                    .map_or(String::new(), |(m, _)| format!("{m:.6}"))
            );
        }
        csv.push('\n');
    }
    Ok(write_atomic(path, csv.as_bytes())?)
}

/// Fig. 6 analogue: per-class AP change of each step ERM → RS → R-BCE → DB-Focal, classes by training count.
fn fig6(
    stem: &Path,
    name: &str,
    data: &FeatureDataset,
    per_method: &[(Preset, MethodResult)],
) -> anyhow::Result<()> {
    let find = |m: &Preset| per_method.iter().find(|(p, _)| p == m).map(|(_, r)| r);
    let Some(stages) = FIG6_STEPS.iter().map(find).collect::<Option<Vec<_>>>() else {
        return Ok(());
    };
    let counts = data.train.labels.class_counts();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]));
    let names: Vec<String> = order
        .iter()
        .map(|&c| data.class_names()[c].clone())
        .collect();
    let ap = |r: &MethodResult, c: usize| r.class_ap(c).map_or(f64::NAN, |m| 100.0 * m.0);
    let deltas: Vec<Vec<f64>> = stages
        .windows(2)
        .map(|w| order.iter().map(|&c| ap(w[1], c) - ap(w[0], c)).collect())
        .collect();
    let labels = ["RS − ERM", "R-BCE − RS", "DB-Focal − R-BCE"];
    let series: Vec<BarSeries<'_>> = deltas
        .iter()
        .zip(labels)
        .zip(PALETTE)
        .map(|((values, label), color)| BarSeries {
            label,
            values,
            color,
        })
        .collect();
    bar_chart(
        stem,
        &format!("{name}: per-class AP change (points), classes by training count"),
        "Δ AP",
        &names,
        &series,
    )?;
    Ok(())
}
