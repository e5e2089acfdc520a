//! The subcommands, one file each.

use clap::{Parser, Subcommand};

mod stats;

/// Multi-label classification on long-tailed data with the Distribution-Balanced Loss (Wu et al., ECCV 2020).
#[derive(Debug, Parser)]
#[command(name = "mllt", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  mllt stats coco-mlt                      label statistics of the shipped COCO-MLT subset
  mllt stats voc-mlt --json                the same as one JSON object
  mllt stats my_data/ --plots plots/       statistics and figures of your own label TSV";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Label statistics: counts, co-occurrence, Eq. 1 re-sampled share, re-balancing ratio, splits.
    Stats(stats::Args),
}

impl Command {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Stats(a) => a.run(),
        }
    }
}
