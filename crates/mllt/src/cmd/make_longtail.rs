//! `mllt make-longtail`: build a long-tailed subset with the paper's appendix A.1 construction.

use std::path::PathBuf;

use anyhow::Context;
use mllt_core::atomic::write_atomic;
use mllt_core::longtail::{LongTailConfig, build_longtail};
use mllt_core::split::SplitRule;
use mllt_report::{Table, construction_figures};
use serde_json::json;

/// Arguments of `mllt make-longtail`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Source labels: a shipped dataset (e.g. voc2012-trainval), a folder, or a label TSV.
    #[arg(long)]
    pub labels: String,
    /// classes.txt to use instead of the one beside the labels.
    #[arg(long)]
    pub classes: Option<PathBuf>,
    /// Size of the largest class in the Pareto reference (VOC-MLT 800, COCO-MLT 1200).
    #[arg(long)]
    pub max: usize,
    /// Size of the smallest class in the Pareto reference.
    #[arg(long, default_value_t = 1)]
    pub min: usize,
    /// Pareto shape b.
    #[arg(long, default_value_t = 6.0)]
    pub shape: f64,
    /// CDF value at which the Pareto pdf is cut.
    #[arg(long, default_value_t = 0.99)]
    pub tail: f64,
    /// Seed of the random additions and removals.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder: labels.tsv, classes.txt, class_stats.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Write Fig. 8 (SVG and PNG) into this folder: the Pareto pdf for several shapes, and the per-class
    /// increments of each head-to-tail step.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let source = mllt_core::datasets::load(&self.labels, self.classes.as_deref())?;
        let config = LongTailConfig {
            max: self.max,
            min: self.min,
            shape: self.shape,
            tail: self.tail,
        };
        let lt = build_longtail(&source, &config, self.seed)?;
        let subset = lt.subset(&source);
        let counts = subset.class_counts();
        let names = subset.class_names();
        let rule = SplitRule::default();
        let split = rule.split(&counts);
        let stats = json!({
            "images": subset.len(),
            "class_freq": names.iter().zip(&counts).map(|(n, &c)| (n.clone(), json!(c))).collect::<serde_json::Map<_, _>>(),
            "class_counts": counts,
            "split": split.to_json(names),
            "rule": "head: n >= 100, medium: 20 <= n < 100, tail: n < 20 (training counts)",
            "construction": {
                "source": self.labels,
                "images_in_source": source.len(),
                "parameters": config,
                "seed": self.seed,
                "order": lt.order.iter().map(|&c| names[c].as_str()).collect::<Vec<_>>(),
                "reference": lt.reference,
            },
        });
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("{}: cannot create folder", self.out.display()))?;
        subset.write_tsv(&self.out.join("labels.tsv"))?;
        write_atomic(
            &self.out.join("classes.txt"),
            (names.join("\n") + "\n").as_bytes(),
        )?;
        write_atomic(
            &self.out.join("class_stats.json"),
            (serde_json::to_string_pretty(&stats)? + "\n").as_bytes(),
        )?;

        if let Some(dir) = &self.plots {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create folder", dir.display()))?;
            for f in construction_figures(dir, &lt, names, config.shape, config.tail)? {
                eprintln!("wrote {}", f.display());
            }
        }
        let mut t = Table::new(["rank", "class", "reference", "n", "group"]);
        for (rank, &c) in lt.order.iter().enumerate() {
            t.row([
                rank.to_string(),
                names[c].clone(),
                lt.reference[rank].to_string(),
                counts[c].to_string(),
                split.group(c).name().to_string(),
            ]);
        }
        println!(
            "{} of {} images selected (seed {}), written to {}\n\n{t}",
            subset.len(),
            source.len(),
            self.seed,
            self.out.display()
        );
        Ok(())
    }
}
