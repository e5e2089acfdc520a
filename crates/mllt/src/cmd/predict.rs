//! `mllt predict`: labels new items with a model file written by `mllt train` (`OUT/model.mllt`) and
//! writes `id<TAB>comma-separated labels` per item, and optionally the raw scores (logits) as `.npy`.
//!
//! The items are read as the model reads them ([`mllt_nn::deploy::predict`]): an image folder or a list of
//! image paths for an image model; a text file (one text per line, or `id<TAB>text`) for a text model; a
//! `.npy` or `.safetensors` feature matrix for a feature model; or a dataset folder or shipped dataset name,
//! whose test split is then labelled.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use mllt_core::atomic::AtomicFile;
use mllt_core::metrics::{Decision, Thresholds};
use mllt_core::npy_writer::NpyRowWriter;
use mllt_nn::deploy::{PredictOptions, TrainedModel, open_items, predict};

use super::progress::Meter;

/// Arguments of `mllt predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model file written by `mllt train` (OUT/model.mllt).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// The items: an image folder or a file listing image paths (image model), a text file with one text
    /// per line or `id<TAB>text` (text model), a .npy or .safetensors feature matrix (feature model), or a
    /// dataset folder or shipped dataset name (its test split).
    #[arg(long, value_name = "ITEMS")]
    data: PathBuf,
    /// Output: `id<TAB>comma-separated labels` per item, after a header line.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Also write the raw scores (logits), items × classes, as float32 .npy in the order of --out.
    #[arg(long, value_name = "FILE")]
    scores: Option<PathBuf>,
    /// Name the K highest-scoring classes of every item (highest first) instead of thresholding.
    #[arg(long, value_name = "K", conflicts_with = "threshold")]
    top_k: Option<usize>,
    /// Threshold every class's logit at T instead of the model's per-class thresholds.
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    threshold: Option<f64>,
    /// Skip bad items (an empty text, an image that cannot be decoded, a feature row of the wrong width) and
    /// count them, instead of stopping at the first.
    #[arg(long)]
    skip_bad: bool,
    /// Items per forward pass.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    batch_size: usize,
    #[command(flatten)]
    device: super::DeviceArg,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let device = self.device.device()?;
        let model = TrainedModel::load(&self.model, &device)?;
        let decision = match (self.top_k, self.threshold) {
            (Some(k), _) => Decision::TopK(k),
            (None, Some(t)) if t.is_finite() => Decision::Thresholds(Thresholds::Global(t)),
            (None, Some(t)) => anyhow::bail!("--threshold {t}: must be finite"),
            (None, None) => Decision::Thresholds(model.thresholds()),
        };
        let dir = super::dataset::resolve(&self.data)?;
        let source = open_items(&dir, &model.input)?;
        eprintln!(
            "{} ({}, {} classes) on {}",
            self.model.display(),
            model.input.describe(),
            model.classes().len(),
            source.description
        );
        let mut out = AtomicFile::create(&self.out)?;
        let io = |e| mllt_core::Error::io(&self.out, e);
        writeln!(out, "id\tlabels").map_err(io)?;
        let mut scores = self
            .scores
            .as_deref()
            .map(|p| NpyRowWriter::create(p, model.classes().len()))
            .transpose()?;
        let mut meter = Meter::new(
            "predict",
            source.total.map(|n| n as u64),
            "item",
            1.0,
            "items",
        );
        let classes = model.classes();
        let started = Instant::now();
        let options = PredictOptions {
            batch_size: self.batch_size,
            skip_bad: self.skip_bad,
        };
        let summary = predict(&model, source.items, options, &device, &mut |batch| {
            for (id, row) in batch
                .ids
                .iter()
                .zip(batch.logits.chunks_exact(classes.len()))
            {
                let names: Vec<&str> = decision
                    .labels(row)
                    .into_iter()
                    .map(|c| classes[c].as_str())
                    .collect();
                writeln!(out, "{id}\t{}", names.join(",")).map_err(io)?;
            }
            if let Some(s) = &mut scores {
                s.write_rows(&batch.logits)?;
            }
            meter.inc(batch.ids.len() as u64);
            Ok(())
        });
        meter.finish();
        let summary = summary.with_context(|| format!("predicting {}", self.data.display()))?;
        out.commit()?;
        if let Some(s) = scores {
            s.finish()?;
        }
        let seconds = started.elapsed().as_secs_f64();
        if let Some(first) = summary.skipped.first() {
            eprintln!(
                "skipped {} bad item(s); first: {}: {}",
                summary.skipped.len(),
                first.origin,
                first.reason
            );
        }
        let mut written = vec![self.out.display().to_string()];
        written.extend(self.scores.iter().map(|p| p.display().to_string()));
        println!(
            "{} items labelled in {seconds:.1} s ({:.1} items/s), {} skipped; wrote {}",
            summary.items,
            summary.items as f64 / seconds.max(1e-9),
            summary.skipped.len(),
            written.join(", ")
        );
        Ok(())
    }
}
