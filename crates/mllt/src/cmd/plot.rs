//! `mllt plot`: the paper's analytic figures, drawn from the library's own code.
//!
//! `mllt plot gradients` draws Fig. 3, the gradient to a negative logit under CE, BCE and NTR
//! ([`mllt_experiment::negative_gradients`]).

use std::path::PathBuf;

use mllt_experiment::negative_gradients::{GradientFigure, write_figure};

/// Arguments of `mllt plot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub figure: Figure,
}

/// The figures.
#[derive(Debug, clap::Subcommand)]
pub enum Figure {
    /// Fig. 3: the gradient to a negative logit under CE (several positive logits), BCE and NTR (several λ),
    /// through burn's autodiff of the training losses; writes fig3_gradients.json and fig3{a,b,c}_*.{svg,png}.
    Gradients(Gradients),
}

/// Arguments of `mllt plot gradients`.
#[derive(Debug, clap::Args)]
pub struct Gradients {
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Smallest negative logit.
    #[arg(long, default_value_t = GradientFigure::default().min, allow_hyphen_values = true)]
    pub min: f64,
    /// Largest negative logit.
    #[arg(long, default_value_t = GradientFigure::default().max, allow_hyphen_values = true)]
    pub max: f64,
    /// Evenly spaced logits from --min to --max.
    #[arg(long, default_value_t = GradientFigure::default().points)]
    pub points: usize,
    /// CE: the positive class's logits, one curve each, comma-separated.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, default_values_t = GradientFigure::default().positives)]
    pub positive_logits: Vec<f64>,
    /// CE: the number of classes (the other negatives sit at logit 0).
    #[arg(long, default_value_t = GradientFigure::default().classes)]
    pub classes: usize,
    /// NTR: the values of λ, one curve each, comma-separated.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, default_values_t = GradientFigure::default().lambdas)]
    pub lambdas: Vec<f64>,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        match self.figure {
            Figure::Gradients(g) => {
                let figure = GradientFigure {
                    min: g.min,
                    max: g.max,
                    points: g.points,
                    positives: g.positive_logits,
                    classes: g.classes,
                    lambdas: g.lambdas,
                };
                for path in write_figure(&g.out, &figure)? {
                    println!("wrote {}", path.display());
                }
                Ok(())
            }
        }
    }
}
