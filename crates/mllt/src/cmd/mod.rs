//! The subcommands, one file each.

use std::str::FromStr;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use mllt_nn::backend::{Device, DeviceKind};

mod data;
mod dataset;
mod embed_labels;
mod eval;
mod features;
mod make_longtail;
mod plot;
mod predict;
mod progress;
mod reproduce;
mod stats;
mod sweep;
mod test;
mod train;

/// Multi-label classification on long-tailed data with the Distribution-Balanced Loss (Wu et al., ECCV 2020).
#[derive(Debug, Parser)]
#[command(name = "mllt", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  mllt reproduce                           Table 1 on OpenClipart-MLT and DebTags-MLT (all methods, 3 seeds)
  mllt stats coco-mlt                      label statistics of the shipped COCO-MLT subset
  mllt stats voc-mlt --json                the same as one JSON object
  mllt stats my_data/ --plots plots/       statistics and figures of your own label TSV
  mllt make-longtail --labels voc2012-trainval --max 800 --min 1 --shape 6 --seed 0 --out voc-lt/
                                           rebuild a VOC-MLT-like subset (appendix A.1)
  mllt eval --scores s.npy --labels test.tsv --classes classes.txt --train-labels voc-mlt
                                           mAP (total/head/medium/tail), F1 and accuracy of test scores
  mllt train --data feats/ --method db-focal --seed 0 --out runs/db
                                           train the paper head with DB-Focal, evaluate, write runs/db/
  mllt test --data feats/ --model runs/db/model.mllt
                                           evaluate the model file on the test split (F1 at its thresholds)
  mllt predict --model runs/db/model.mllt --data new.npy --out labels.tsv --scores scores.npy
                                           label new items with the model's per-class thresholds
  mllt data debtags --packages P --translations T --release R --out data/debtags-mlt
                                           build DebTags-MLT from Debian's Packages and Translation-en (MANIFEST)
  mllt features --data images/ --backbone efficientnet-lite0 --out feats/
                                           1280-d EfficientNet-Lite0 features of an image folder (weights cached)
  mllt features --data images/ --backbone resnet50 --weights resnet50.pth --out feats/
                                           2048-d ResNet-50 features, the reference's test preprocessing
  mllt features --data data/debtags-mlt --backbone minilm --out feats/
                                           384-d all-MiniLM-L6-v2 sentence embeddings of a text folder
  mllt embed-labels debtags-mlt --out labels.npy
                                           C x 384 MiniLM embeddings of the class names (label vectors)
  mllt plot gradients --out fig3/          Fig. 3: the gradient to a negative logit under CE, BCE and NTR
  mllt sweep --data openclipart-mlt --param lambda --values 0.5,1,2,5,10 --out sweep-lambda/
                                           Fig. 7: DB-Focal's test mAP (total/head/medium/tail) against λ";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Label statistics: counts, co-occurrence, Eq. 1 re-sampled share, re-balancing ratio, splits.
    Stats(stats::Args),
    /// Long-tailed subset construction (appendix A.1): Pareto reference sizes, head-to-tail greedy fill.
    MakeLongtail(make_longtail::Args),
    /// Evaluation: mAP (total / head / medium / tail), micro / macro F1 and accuracy of test scores.
    Eval(eval::Args),
    /// Training on a feature folder with a method preset or a TOML config; evaluates and writes OUT/metrics.json.
    Train(train::Args),
    /// Table 1 on the shipped real benchmarks: every method tuned on validation, several seeds, chance level, paired tests.
    Reproduce(reproduce::Args),
    /// Evaluation of a model file (or a training checkpoint) on a dataset folder's test split.
    Test(test::Args),
    /// Labels new items (images, texts or features) with a model file written by `mllt train`.
    Predict(predict::Args),
    /// Dataset construction from package-registry sources (DebTags-MLT); writes a folder with a MANIFEST.
    Data(data::Args),
    /// Feature extraction: an image folder through a frozen ImageNet backbone, or a text folder through the
    /// MiniLM sentence encoder, into a feature folder.
    Features(features::Args),
    /// Label vectors: the MiniLM sentence embeddings of a dataset's class names, as a C × 384 `.npy`.
    EmbedLabels(embed_labels::Args),
    /// The paper's analytic figures: `mllt plot gradients` (Fig. 3).
    Plot(plot::Args),
    /// One hyper-parameter of the DB loss (β, μ, λ or κ) swept against test mAP: Fig. 7 and 10.
    Sweep(sweep::Args),
}

impl Command {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Stats(a) => a.run(),
            Command::MakeLongtail(a) => a.run(),
            Command::Eval(a) => a.run(),
            Command::Train(a) => a.run(),
            Command::Reproduce(a) => a.run(),
            Command::Test(a) => a.run(),
            Command::Predict(a) => a.run(),
            Command::Data(a) => a.run(),
            Command::Features(a) => a.run(),
            Command::EmbedLabels(a) => a.run(),
            Command::Plot(a) => a.run(),
            Command::Sweep(a) => a.run(),
        }
    }
}

/// The value parser of a flag whose values are the `names` of a library enum, parsed with its `FromStr`:
/// `--help` lists the names and any other value is refused by clap.
fn named<T>(names: impl IntoIterator<Item = &'static str>) -> impl TypedValueParser<Value = T>
where
    T: FromStr + Clone + Send + Sync + 'static,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|name| name.parse::<T>())
}

/// `--device`, shared by the commands that run a network.
#[derive(Debug, clap::Args)]
struct DeviceArg {
    /// The backend: cpu (burn's Flex), wgpu (Vulkan, Metal or DX12; a build with `--features wgpu`) or cuda (a
    /// build with `--features cuda`) [default: the GPU backend built in (cuda before wgpu), else cpu].
    #[arg(
        long = "device",
        value_name = "NAME",
        value_parser = named::<DeviceKind>(DeviceKind::ALL.map(DeviceKind::name))
    )]
    kind: Option<DeviceKind>,
}

impl DeviceArg {
    /// The device (without autodiff); a backend this build lacks is a one-line error naming the flag and
    /// the cargo feature.
    fn device(&self) -> anyhow::Result<Device> {
        let kind = self.kind.unwrap_or_default();
        kind.device()
            .map_err(|e| anyhow::anyhow!("--device {}: {e}", kind.name()))
    }
}
