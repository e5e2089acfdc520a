//! `mllt stats`: the label statistics of Sec. 3.1 and Sec. 4.4 of the paper, as a table, JSON and figures.

use std::path::{Path, PathBuf};

use anyhow::Context;
use mllt_core::LabelSet;
use mllt_core::sampling::class_aware_epoch_len;
use mllt_core::split::{Group, SplitRule};
use mllt_core::stats::{
    Cooccurrence, RatioSummary, inner_class_variance, label_cardinality, rebalance_ratios,
    resampled_share,
};
use mllt_report::PALETTE;
use mllt_report::{BarSeries, Table, bar_chart, heatmap};
use serde_json::json;

/// Arguments of `mllt stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A shipped dataset (voc-mlt, coco-mlt, voc2012-trainval), a folder with classes.txt and a label TSV,
    /// or a label TSV with classes.txt beside it.
    pub data: String,
    /// classes.txt to use instead of the one beside the labels.
    #[arg(long)]
    pub classes: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write figures (SVG and PNG) into this folder: co-occurrence heatmap (Fig. 5), class counts before
    /// and after re-sampling (Fig. 2), inner-class sampling variance (Fig. 5).
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// A test label TSV (classes.txt beside it, the same classes in the same order): its class counts go into
    /// the JSON (`test_class_counts`) and, with --plots, a figure of the test distribution over the classes in
    /// training order (Fig. 9).
    #[arg(long, value_name = "F")]
    pub test_labels: Option<PathBuf>,
    /// Class-aware epoch length is int(max n_c · C / reduce).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub reduce: u64,
    /// Head classes have at least this many training positives.
    #[arg(long, default_value_t = SplitRule::default().head_min)]
    pub head_min: usize,
    /// Medium classes have at least this many (and fewer than --head-min); the rest are tail.
    #[arg(long, default_value_t = SplitRule::default().medium_min)]
    pub medium_min: usize,
}

/// Everything `mllt stats` reports, computed once.
struct Report {
    labels: LabelSet,
    counts: Vec<usize>,
    rule: SplitRule,
    co: Cooccurrence,
    share: Vec<f64>,
    epoch_len: usize,
    ratios: Option<RatioSummary>,
    variance: Vec<Option<f64>>,
    /// The class counts of --test-labels.
    test_counts: Option<Vec<usize>>,
}

impl Report {
    fn new(labels: LabelSet, test: Option<LabelSet>, rule: SplitRule, reduce: usize) -> Self {
        let counts = labels.class_counts();
        let co = Cooccurrence::new(&labels);
        Report {
            share: resampled_share(&co),
            epoch_len: class_aware_epoch_len(&counts, reduce),
            ratios: RatioSummary::new(&rebalance_ratios(&labels)),
            variance: inner_class_variance(&labels),
            test_counts: test.map(|t| t.class_counts()),
            co,
            counts,
            rule,
            labels,
        }
    }

    fn expected_counts(&self) -> Vec<f64> {
        self.share
            .iter()
            .map(|p| p * self.epoch_len as f64)
            .collect()
    }

    /// p(i|j) with rows j and columns i, as in Fig. 5 (0 where n_j = 0).
    fn conditional(&self) -> Vec<Vec<f64>> {
        let c = self.labels.num_classes();
        (0..c)
            .map(|j| {
                (0..c)
                    .map(|i| self.co.conditional(i, j).unwrap_or(0.0))
                    .collect()
            })
            .collect()
    }

    fn to_json(&self) -> serde_json::Value {
        let names = self.labels.class_names();
        let split = self.rule.split(&self.counts);
        let mut report = json!({
            "images": self.labels.len(),
            "classes": self.labels.num_classes(),
            "class_names": names,
            "class_counts": self.counts,
            "label_cardinality": label_cardinality(&self.labels),
            "split": split.to_json(names),
            "split_rule": self.rule,
            "cooccurrence": self.co.rows(),
            "conditional_probability": self.conditional(),
            "resampled_share": self.share,
            "epoch_len": self.epoch_len,
            "expected_epoch_counts": self.expected_counts(),
            "rebalance_ratio": self.ratios,
            "inner_class_variance": self.variance,
        });
        if let Some(test) = &self.test_counts {
            report["test_class_counts"] = json!(test);
        }
        report
    }

    fn table(&self) -> String {
        let names = self.labels.class_names();
        let split = self.rule.split(&self.counts);
        let expected = self.expected_counts();
        let mut t = Table::new(["class", "n", "group", "p̂ (Eq.1) %", "per epoch", "variance"]);
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| self.counts[b].cmp(&self.counts[a]));
        for c in order {
            t.row([
                names[c].clone(),
                self.counts[c].to_string(),
                split.group(c).name().to_string(),
                format!("{:.2}", 100.0 * self.share[c]),
                format!("{:.1}", expected[c]),
                self.variance[c].map_or("-".into(), |v| format!("{v:.3}")),
            ]);
        }
        let (max, min) = (
            self.counts.iter().max().copied().unwrap_or(0),
            self.counts.iter().min().copied().unwrap_or(0),
        );
        let groups: Vec<String> = Group::ALL
            .iter()
            .map(|&g| format!("{} {}", split.members(g).len(), g.name()))
            .collect();
        let mut out = format!(
            "{} images, {} classes, {:.3} labels per image, n_c from {min} to {max}\n\
             split (head n ≥ {}, medium n ≥ {}): {}\n\
             class-aware epoch: {} images (Eq. 1 gives the expected label counts per epoch)\n",
            self.labels.len(),
            self.labels.num_classes(),
            label_cardinality(&self.labels),
            self.rule.head_min,
            self.rule.medium_min,
            groups.join(" / "),
            self.epoch_len,
        );
        if let Some(r) = &self.ratios {
            out += &format!(
                "re-balancing ratio r (Eq. 3) over {} positives: min {:.3}, median {:.3}, mean {:.3}, \
                 {:.1} % at r = 1\n",
                r.count,
                r.min,
                r.quantiles[2],
                r.mean,
                100.0 * r.share_one
            );
        }
        out + "\n" + &t.to_string()
    }

    fn plots(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
        let names = self.labels.class_names();
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| self.counts[b].cmp(&self.counts[a]));
        let sorted_names: Vec<String> = order.iter().map(|&c| names[c].clone()).collect();
        let pick = |v: &[f64]| -> Vec<f64> { order.iter().map(|&c| v[c]).collect() };
        let before: Vec<f64> = pick(&self.counts.iter().map(|&n| n as f64).collect::<Vec<_>>());
        let after = pick(&self.expected_counts());
        let variance = pick(
            &self
                .variance
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect::<Vec<_>>(),
        );
        let mut files = heatmap(
            &dir.join("cooccurrence"),
            "p(i|j): column i, row j",
            names,
            &self.conditional(),
        )?;
        // Class counts of the training set beside another count per class.
        let against_training = |stem: &str, title: &str, label: &str, values: &[f64], color| {
            bar_chart(
                &dir.join(stem),
                title,
                "labels",
                &sorted_names,
                &[
                    BarSeries {
                        label: "training set (n_i)",
                        values: &before,
                        color: PALETTE[0],
                    },
                    BarSeries {
                        label,
                        values,
                        color,
                    },
                ],
            )
        };
        files.extend(against_training(
            "resampling",
            "Class counts before and after class-aware re-sampling (Eq. 1)",
            "one re-sampled epoch (expected)",
            &after,
            PALETTE[1],
        )?);
        files.extend(bar_chart(
            &dir.join("sampling_variance"),
            "Inner-class variance of normalised sampling times (Sec. 4.4)",
            "variance",
            &sorted_names,
            &[BarSeries {
                label: "variance",
                values: &variance,
                color: PALETTE[0],
            }],
        )?);
        if let Some(test) = &self.test_counts {
            let test = pick(&test.iter().map(|&n| n as f64).collect::<Vec<_>>());
            files.extend(against_training(
                "test_distribution",
                "Test distribution, classes in training order (Fig. 9)",
                "test set",
                &test,
                PALETTE[2],
            )?);
        }
        Ok(files)
    }
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let rule = SplitRule::new(self.head_min, self.medium_min)?;
        let labels = mllt_core::datasets::load(&self.data, self.classes.as_deref())?;
        let test = match &self.test_labels {
            Some(path) => {
                let test = mllt_core::datasets::load(&path.to_string_lossy(), None)?;
                if test.class_names() != labels.class_names() {
                    anyhow::bail!(
                        "--test-labels {}: its classes differ from the training labels' ({} vs {} classes, \
                         or another order)",
                        path.display(),
                        test.num_classes(),
                        labels.num_classes()
                    );
                }
                Some(test)
            }
            None => None,
        };
        let report = Report::new(labels, test, rule, self.reduce as usize);
        if self.json {
            println!("{}", serde_json::to_string_pretty(&report.to_json())?);
        } else {
            print!("{}", report.table());
        }
        if let Some(dir) = &self.plots {
            for f in report.plots(dir)? {
                eprintln!("wrote {}", f.display());
            }
        }
        Ok(())
    }
}
