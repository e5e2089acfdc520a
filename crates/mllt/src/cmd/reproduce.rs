//! `mllt reproduce`: the analogue of the paper's Table 1 on the shipped real benchmarks, from one command.
//!
//! Parses the arguments, loads each dataset when its turn comes and calls [`mllt_experiment::reproduce`]:
//! per-method hyper-parameters chosen on a validation split carved from the training set (never on test),
//! `--seeds` final runs per method under `--protocol`, the random-score chance level and the paired comparison
//! with DB-Focal. The tables are printed and written with `results.json` and `summary.json` to `--out`.

use std::path::{Path, PathBuf};

use mllt_experiment::{Options, Preset, Protocol, RunLengths, reproduce};

use super::dataset;

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
    /// Output folder: results.json, summary.json, table.md, per-class CSVs, figures, and every run under runs/.
    #[arg(long, default_value = "reproduce")]
    pub out: PathBuf,
    /// Run lengths: `matched` rescales every schedule to --iterations; `paper` trains the presets' own
    /// schedules (80 epochs uniform, 8 epochs class-aware, the steps of §4.2).
    #[arg(long, value_enum, default_value_t = Protocol::Matched)]
    pub protocol: Protocol,
    /// Iterations per final run under --protocol matched.
    #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: u64,
    /// Iterations per validation (selection) run under --protocol matched [default: a quarter of
    /// --iterations]; under --protocol paper the presets' schedules are shortened by the same factor.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub tune_iterations: Option<u64>,
    /// TF-IDF width (hashed columns) of text datasets; narrower than `mllt train`'s 16384 to fit the time budget.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub text_width: u64,
    /// Use the presets' hyper-parameters instead of choosing them on the validation split.
    #[arg(long)]
    pub no_tune: bool,
    /// Also train every validation point at full length, and report how often the search chooses as
    /// full-length runs would (summary.json: selection_check).
    #[arg(long, conflicts_with = "no_tune")]
    pub check_selection: bool,
    /// Retrain each method's cheap learning-rate choice and its two neighbours at full length on validation,
    /// and keep the best of them (three more runs per method; see results/README.md for what it changed).
    #[arg(long, conflicts_with = "no_tune")]
    pub confirm_lr: bool,
    /// Runs trained at the same time (each run is single-threaded; the results do not depend on it)
    /// [default: the number of CPU cores].
    #[arg(long, default_value_t = default_jobs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: u64,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let iterations = self.iterations as usize;
        let options = Options {
            methods: if self.methods.is_empty() {
                Preset::all().to_vec()
            } else {
                self.methods.clone()
            },
            seeds: self.seeds,
            out: self.out.clone(),
            lengths: RunLengths {
                protocol: self.protocol,
                iterations,
                tune_iterations: self
                    .tune_iterations
                    .map_or((iterations / 4).max(1), |n| n as usize),
            },
            tune: !self.no_tune,
            check_selection: self.check_selection,
            confirm_lr: self.confirm_lr,
            jobs: self.jobs as usize,
        };
        let width = self.text_width as usize;
        let done = reproduce(&options, &self.data, |spec| {
            let dir = dataset::resolve(Path::new(spec))?;
            let data = dataset::load_with_width(&dir, width)?;
            let name = dir
                .file_name()
                .map_or(spec.to_string(), |n| n.to_string_lossy().into_owned());
            Ok((name, data))
        })?;
        let memory = done.summary.peak_memory_bytes.map_or(String::new(), |b| {
            format!(", peak memory {} MB", b / 1_000_000)
        });
        println!(
            "{}\nwall time {:.0} s{memory}; results in {}",
            done.table,
            done.summary.seconds,
            self.out.display()
        );
        Ok(())
    }
}

pub(super) fn default_jobs() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}
