//! `mllt test`: evaluates a training checkpoint on the test split of a feature folder: mAP total / head /
//! medium / tail (the split from the folder's training counts), as `mllt train` reports it at the end.

use std::path::PathBuf;

use anyhow::bail;
use mllt_nn::train::{Checkpoint, evaluate, evaluation_json};
use serde_json::{Value, json};

use super::train::map_table;

/// Arguments of `mllt test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Feature or text folder, or a shipped benchmark name, as for `mllt train`.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// A checkpoint written by `mllt train` (OUT/checkpoint.safetensors).
    #[arg(long, value_name = "FILE")]
    checkpoint: PathBuf,
    /// Print one JSON object (the layout of metrics.json) instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    device: super::DeviceArg,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let device = self.device.device()?;
        let data = super::dataset::load(&self.data)?;
        let ck = Checkpoint::load(&self.checkpoint, &device)?;
        if ck.class_names != data.class_names() {
            bail!(
                "{}: the checkpoint was trained on other classes than {}",
                self.checkpoint.display(),
                self.data.display()
            );
        }
        if ck.model.in_features() != data.dim() {
            bail!(
                "{}: the head takes {}-d features but {} has {}-d features",
                self.checkpoint.display(),
                ck.model.in_features(),
                self.data.display(),
                data.dim()
            );
        }
        let counts = data.train.labels.class_counts();
        let eval = evaluate(&ck.model, &data.test, &counts, &device)?;
        if self.json {
            let mut metrics = evaluation_json(&eval, &data.test.labels, &counts);
            if let Value::Object(m) = &mut metrics {
                m.insert("method".into(), json!(ck.config.method));
                m.insert("seed".into(), json!(ck.seed));
                m.insert("epochs".into(), json!(ck.epochs_done));
                m.insert(
                    "checkpoint".into(),
                    json!(self.checkpoint.display().to_string()),
                );
            }
            println!("{}", serde_json::to_string_pretty(&metrics)?);
        } else {
            println!(
                "{} (seed {}, {} epochs) on {}: {} test items",
                ck.config.method,
                ck.seed,
                ck.epochs_done,
                self.data.display(),
                data.test.len()
            );
            print!("{}", map_table(&eval));
        }
        Ok(())
    }
}
