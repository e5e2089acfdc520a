//! `mllt test`: evaluates a model file (`OUT/model.mllt`) or a training checkpoint on the test split of a
//! dataset folder: mAP total / head / medium / tail (the split from the training counts), and micro / macro
//! F1 at the model's decision thresholds (a checkpoint: the reference's 0), as `mllt train` reports it.

use std::path::{Path, PathBuf};

use anyhow::bail;
use mllt_core::LabelSet;
use mllt_core::labels::read_classes;
use mllt_core::metrics::Evaluation;
use mllt_core::scores::ScoreMatrix;
use mllt_nn::backend::Device;
use mllt_nn::deploy::{PredictOptions, TrainedModel, open_items, predict};
use mllt_nn::features::{CLASSES_FILE, TEST_FILE};
use mllt_nn::train::{Checkpoint, evaluate, evaluate_scores, evaluation_json};
use serde_json::{Value, json};

use super::train::map_table;

/// Arguments of `mllt test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Feature or text folder, or a shipped benchmark name, as for `mllt train`.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// A model file written by `mllt train` (OUT/model.mllt): its own input pipeline (features, texts or
    /// images) on the folder's test split, F1 at its stored thresholds.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "checkpoint",
        conflicts_with = "checkpoint"
    )]
    model: Option<PathBuf>,
    /// A checkpoint written by `mllt train` (OUT/checkpoint.safetensors) of a feature or text run.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Print one JSON object (the layout of metrics.json) instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    device: super::DeviceArg,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let device = self.device.device()?;
        match (&self.model, &self.checkpoint) {
            (Some(model), _) => self.model_file(model, &device),
            (None, Some(checkpoint)) => self.checkpoint(checkpoint, &device),
            (None, None) => unreachable!("clap requires --model or --checkpoint"),
        }
    }

    /// `--model`: the model's pipeline over the folder's test split, at the stored thresholds.
    fn model_file(&self, path: &Path, device: &Device) -> anyhow::Result<()> {
        let model = TrainedModel::load(path, device)?;
        let dir = super::dataset::resolve(&self.data)?;
        let classes = read_classes(&dir.join(CLASSES_FILE))?;
        if classes != model.classes() {
            bail!(
                "{}: the model was trained on other classes than {} ({} vs {} classes{})",
                path.display(),
                dir.join(CLASSES_FILE).display(),
                model.classes().len(),
                classes.len(),
                first_difference(model.classes(), &classes)
            );
        }
        let labels = LabelSet::read_tsv(&dir.join(TEST_FILE), classes)?;
        let source = open_items(&dir, &model.input)?;
        let options = PredictOptions {
            batch_size: 64,
            skip_bad: false,
        };
        let mut logits = Vec::with_capacity(labels.len() * labels.num_classes());
        predict(&model, source.items, options, device, &mut |b| {
            logits.extend(b.logits.iter().map(|&v| f64::from(v)));
            Ok(())
        })?;
        let scores = ScoreMatrix::new(labels.len(), labels.num_classes(), logits)?;
        let counts = &model.meta.train_counts;
        let eval = evaluate_scores(&scores, &labels, counts, model.thresholds())?;
        let meta = &model.meta;
        let about =
            json!({"method": meta.method, "seed": meta.seed, "model": path.display().to_string()});
        self.print(
            &eval,
            &labels,
            counts,
            about,
            &format!("{} (seed {})", meta.method, meta.seed),
        )
    }

    /// `--checkpoint`: the head of a feature or text run, threshold 0.
    fn checkpoint(&self, path: &Path, device: &Device) -> anyhow::Result<()> {
        let data = super::dataset::load(&self.data)?;
        let ck = Checkpoint::load(path, device)?;
        if ck.class_names != data.class_names() {
            bail!(
                "{}: the checkpoint was trained on other classes than {}",
                path.display(),
                self.data.display()
            );
        }
        if ck.model.in_features() != data.dim() {
            bail!(
                "{}: the head takes {}-d features but {} has {}-d features",
                path.display(),
                ck.model.in_features(),
                self.data.display(),
                data.dim()
            );
        }
        let counts = data.train.labels.class_counts();
        let eval = evaluate(&ck.model, &data.test, &counts, 0.0, device)?;
        let about = json!({
            "method": ck.config.method,
            "seed": ck.seed,
            "epochs": ck.epochs_done,
            "checkpoint": path.display().to_string(),
        });
        let run = format!(
            "{} (seed {}, {} epochs)",
            ck.config.method, ck.seed, ck.epochs_done
        );
        self.print(&eval, &data.test.labels, &counts, about, &run)
    }

    /// Prints the evaluation: one JSON object (metrics.json's layout, `about` added) or the table.
    fn print(
        &self,
        eval: &Evaluation,
        labels: &LabelSet,
        counts: &[usize],
        about: Value,
        run: &str,
    ) -> anyhow::Result<()> {
        if self.json {
            let mut metrics = evaluation_json(eval, labels, counts);
            if let (Value::Object(m), Value::Object(a)) = (&mut metrics, about) {
                m.extend(a);
            }
            println!("{}", serde_json::to_string_pretty(&metrics)?);
        } else {
            println!(
                "{run} on {}: {} test items",
                self.data.display(),
                labels.len()
            );
            print!("{}", map_table(eval));
        }
        Ok(())
    }
}

/// `; first difference: `a` vs `b`` for two class lists, or nothing when one is a prefix of the other.
fn first_difference(a: &[String], b: &[String]) -> String {
    a.iter()
        .zip(b)
        .find(|(x, y)| x != y)
        .map_or(String::new(), |(x, y)| {
            format!("; first difference: `{x}` vs `{y}`")
        })
}
