//! ResNet-50 (He et al. 2016) exactly as torchvision's `resnet50`, the backbone of the reference
//! (`depth=50, style='pytorch', frozen_stages=1, norm_eval=True`).
//!
//! * Bottleneck blocks of expansion 4, the stride on the 3×3 convolution (`style='pytorch'`; the Caffe style
//!   puts it on the first 1×1), `[3, 4, 6, 3]` blocks in `layer1`…`layer4` of widths 64…512;
//! * stem: 7×7/2 convolution (padding 3), BatchNorm, ReLU, 3×3/2 max pooling (padding 1);
//! * the first block of each layer projects its shortcut with a strided 1×1 convolution and BatchNorm
//!   (`downsample`); every convolution is bias-free, every BatchNorm has ε = 10⁻⁵ and is a
//!   [`FrozenBatchNorm2d`] (`norm_eval=True`: running statistics in training too);
//! * global average pooling to 2048-d features, then the 1000-class `fc`.
//!
//! The module paths are torchvision's state-dict keys (`conv1`, `bn1`, `layer3.5.bn2.running_var`,
//! `fc.weight`…) except the shortcut, whose `downsample.0` / `downsample.1` (an `nn.Sequential`) load into
//! `downsample.conv` / `downsample.bn`.

use std::path::Path;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::store::ApplyResult;
use burn::tensor::{Device, Tensor};

use super::Result;
use super::checkpoint::{BATCH_NORM_COUNTERS, load_state_dict};
use super::frozen_bn::FrozenBatchNorm2d;
use crate::kernels;

/// Dimension of the pooled features ([`ResNet50::features`]).
pub const FEATURE_DIM: usize = 2048;
/// ImageNet-1k classes of `fc`.
pub const NUM_CLASSES: usize = 1000;
/// BatchNorm ε of torchvision's ResNet.
pub const BN_EPSILON: f64 = 1e-5;
/// Number of tensors of a torchvision state dict the model uses: 53 convolution weights, 53 BatchNorms ×
/// (weight, bias, running mean, running variance), `fc.weight` and `fc.bias`. The 53 BatchNorm
/// `num_batches_tracked` counters are left unused.
pub const CHECKPOINT_TENSORS: usize = 267;

/// Channels of the stem.
const STEM_CHANNELS: usize = 64;
/// Output channels of a bottleneck are its width × 4.
const EXPANSION: usize = 4;
/// Bottleneck blocks in `layer1`…`layer4`.
const DEPTHS: [usize; 4] = [3, 4, 6, 3];

/// torchvision key → module path: the shortcut `nn.Sequential(conv, bn)` is a struct here.
pub const KEY_MAP: [(&str, &str); 2] = [
    (r"\.downsample\.0\.", ".downsample.conv."),
    (r"\.downsample\.1\.", ".downsample.bn."),
];

/// A bias-free `kernel`×`kernel` convolution `c_in → c_out` with `stride` and `kernel / 2` zero padding.
fn conv([c_in, c_out]: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new([c_in, c_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

/// The projection shortcut of the first block of a layer: 1×1 convolution with the block's stride, then
/// BatchNorm (torchvision's `downsample.0`, `downsample.1`).
#[derive(Module, Debug)]
pub struct Downsample {
    pub conv: Conv2d,
    pub bn: FrozenBatchNorm2d,
}

/// torchvision's `Bottleneck`: 1×1 reduce, 3×3 (carrying the stride), 1×1 expand ×4, each followed by
/// BatchNorm; ReLU after the first two and after the residual sum.
#[derive(Module, Debug)]
pub struct Bottleneck {
    pub conv1: Conv2d,
    pub bn1: FrozenBatchNorm2d,
    pub conv2: Conv2d,
    pub bn2: FrozenBatchNorm2d,
    pub conv3: Conv2d,
    pub bn3: FrozenBatchNorm2d,
    /// Present in the first block of each layer, where the shape changes.
    pub downsample: Option<Downsample>,
}

impl Bottleneck {
    fn new(c_in: usize, width: usize, stride: usize, device: &Device) -> Bottleneck {
        let c_out = width * EXPANSION;
        let bn = |channels| FrozenBatchNorm2d::new(channels, BN_EPSILON, device);
        Bottleneck {
            conv1: conv([c_in, width], 1, 1, device),
            bn1: bn(width),
            conv2: conv([width, width], 3, stride, device),
            bn2: bn(width),
            conv3: conv([width, c_out], 1, 1, device),
            bn3: bn(c_out),
            downsample: (stride != 1 || c_in != c_out).then(|| Downsample {
                conv: conv([c_in, c_out], 1, stride, device),
                bn: bn(c_out),
            }),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let shortcut = match &self.downsample {
            Some(d) => d.bn.forward(kernels::conv2d(&d.conv, x.clone())),
            None => x.clone(),
        };
        let h = kernels::relu(self.bn1.forward(kernels::conv2d(&self.conv1, x)));
        let h = kernels::relu(self.bn2.forward(kernels::conv2d(&self.conv2, h)));
        kernels::relu(self.bn3.forward(kernels::conv2d(&self.conv3, h)) + shortcut)
    }
}

/// torchvision's `resnet50`: stem, four layers of bottlenecks, global average pooling and `fc`.
#[derive(Module, Debug)]
pub struct ResNet50 {
    pub conv1: Conv2d,
    pub bn1: FrozenBatchNorm2d,
    pub maxpool: MaxPool2d,
    pub layer1: Vec<Bottleneck>,
    pub layer2: Vec<Bottleneck>,
    pub layer3: Vec<Bottleneck>,
    pub layer4: Vec<Bottleneck>,
    pub fc: Linear,
}

impl ResNet50 {
    /// The architecture with freshly initialised weights (load them with [`load`](Self::load)).
    pub fn new(device: &Device) -> ResNet50 {
        let mut c_in = STEM_CHANNELS;
        // Layer k has width 64·2ᵏ; its first block carries the stride (2 from layer2 on).
        let [layer1, layer2, layer3, layer4] = std::array::from_fn(|k| {
            let width = STEM_CHANNELS << k;
            (0..DEPTHS[k])
                .map(|i| {
                    let stride = if k > 0 && i == 0 { 2 } else { 1 };
                    let block = Bottleneck::new(c_in, width, stride, device);
                    c_in = width * EXPANSION;
                    block
                })
                .collect()
        });
        ResNet50 {
            conv1: conv([3, STEM_CHANNELS], 7, 2, device),
            bn1: FrozenBatchNorm2d::new(STEM_CHANNELS, BN_EPSILON, device),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1,
            layer2,
            layer3,
            layer4,
            fc: LinearConfig::new(FEATURE_DIM, NUM_CLASSES).init(device),
        }
    }

    /// Loads a torchvision ResNet-50 state dict: a PyTorch pickle (`.pth`, `.pt`, legacy or zip) or a
    /// `.safetensors` file with torchvision's names and layouts. Every model tensor must be present with its
    /// shape and every file tensor used except the `num_batches_tracked` counters; the result lists the
    /// [`CHECKPOINT_TENSORS`] applied ones. The error is one line naming the file.
    pub fn load(&mut self, path: &Path) -> Result<ApplyResult> {
        load_state_dict(self, path, &KEY_MAP, BATCH_NORM_COUNTERS, "ResNet-50")
    }

    /// The reference's `frozen_stages=1`: the stem (`conv1`, `bn1`) and `layer1` stop requiring gradients,
    /// so the optimiser never sees them (their BatchNorms are frozen anyway). Call it after
    /// [`load`](Self::load).
    pub fn freeze_stem_and_layer1(self) -> ResNet50 {
        ResNet50 {
            conv1: self.conv1.no_grad(),
            bn1: self.bn1.no_grad(),
            layer1: self.layer1.no_grad(),
            ..self
        }
    }

    /// Global-average-pooled features `[N, 2048]` of images `[N, 3, H, W]` (ImageNet-normalised RGB).
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = kernels::relu(self.bn1.forward(kernels::conv2d(&self.conv1, images)));
        let x = self.maxpool.forward(x);
        let x = [&self.layer1, &self.layer2, &self.layer3, &self.layer4]
            .into_iter()
            .flatten()
            .fold(x, |x, block| block.forward(x));
        let [n, c, _, _] = x.dims();
        x.mean_dims(&[2, 3]).reshape([n, c])
    }

    /// ImageNet-1k logits `[N, 1000]` of images `[N, 3, H, W]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.fc.forward(self.features(images))
    }
}
