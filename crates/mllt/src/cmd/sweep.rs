//! `mllt sweep`: Fig. 7 and 10 of the paper, one hyper-parameter of the DB loss against test mAP
//! ([`mllt_experiment::sweep`]).

use std::path::{Path, PathBuf};

use mllt_experiment::report::mean_std_cell;
use mllt_experiment::sweep::{Sweep, SweepParam, write_sweep};
use mllt_experiment::{Preset, Protocol, RunLengths};

use super::dataset;

/// Arguments of `mllt sweep`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A shipped dataset (openclipart-mlt, debtags-mlt) or a feature or text folder.
    #[arg(long)]
    pub data: PathBuf,
    /// The method preset whose parameter is swept.
    #[arg(long, value_enum, default_value_t = Preset::DbFocal)]
    pub method: Preset,
    /// The parameter: beta or mu of the re-balanced weight (Eq. 4), lambda or kappa of NTR (Eq. 7–9).
    #[arg(long, value_enum)]
    pub param: SweepParam,
    /// The values, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true
    )]
    pub values: Vec<f64>,
    /// Seeds per value (0, 1, …).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Iterations per run.
    #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: u64,
    /// Multiplier of the preset's learning rate; 100 is what validation chose for DB-Focal on OpenClipart-MLT
    /// (results/README.md).
    #[arg(long, default_value_t = 100.0)]
    pub lr_scale: f64,
    /// TF-IDF width of text datasets.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub text_width: u64,
    /// Runs trained at the same time [default: the number of CPU cores].
    #[arg(long, default_value_t = super::reproduce::default_jobs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: u64,
    /// Output folder: sweep.json, sweep_PARAM.{svg,png} and every run under runs/.
    #[arg(long, default_value = "sweep")]
    pub out: PathBuf,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        if let Some(v) = self.values.iter().find(|v| !v.is_finite()) {
            anyhow::bail!("--values: {v} is not a finite number");
        }
        if !(self.lr_scale.is_finite() && self.lr_scale > 0.0) {
            anyhow::bail!("--lr-scale {}: need a positive number", self.lr_scale);
        }
        let dir = dataset::resolve(Path::new(&self.data))?;
        let data = dataset::load_with_width(&dir, self.text_width as usize)?;
        let iterations = self.iterations as usize;
        let sweep = Sweep {
            method: self.method,
            param: self.param,
            values: self.values,
            seeds: self.seeds,
            lengths: RunLengths {
                protocol: Protocol::Matched,
                iterations,
                tune_iterations: iterations,
            },
            lr_scale: self.lr_scale,
        };
        let report = sweep.run(&data, &self.out, self.jobs as usize)?;
        println!(
            "| {} | total | head | medium | tail |\n|---|---|---|---|---|",
            self.param.name()
        );
        for p in &report.points {
            println!(
                "| {} | {} | {} | {} | {} |",
                p.value,
                mean_std_cell(p.total),
                mean_std_cell(p.head),
                mean_std_cell(p.medium),
                mean_std_cell(p.tail)
            );
        }
        for f in write_sweep(&self.out, &report)? {
            eprintln!("wrote {}", f.display());
        }
        Ok(())
    }
}
