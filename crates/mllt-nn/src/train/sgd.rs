//! SGD with momentum, PyTorch semantics (semantics §6: `SGD(model.parameters(), lr=0.02, momentum=0.9,
//! weight_decay=1e-4)`):
//!
//! ```text
//! d = g + wd·θ            (weight decay on every parameter, BN and biases included)
//! v = d                   on the first step of a parameter,  v = μ·v + d  afterwards (dampening 0)
//! θ ← θ − lr·v
//! ```
//!
//! burn's `Momentum` defaults to dampening 0.1, so this is written out. Parameters without a gradient
//! (buffers such as BN running statistics) are skipped, as torch skips `grad is None`. The momentum buffers
//! are keyed by the parameter's module path (`neck.fc.weight`), which is what checkpoints store.
//!
//! A module may get its own learning-rate multiplier ([`Sgd::scale_lr`]; `mllt train --backbone-lr-scale`):
//! like a PyTorch parameter group with `lr = s · lr`, its step is `θ ← θ − s·lr·v` while the momentum buffer
//! `v` is the same as without the multiplier.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// TOML `[optimizer]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgdConfig {
    /// Base learning rate (0.02; the paper uses 0.1 for CB, appendix A.2).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Momentum μ (0.9).
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// L2 weight decay added to every gradient (1e-4).
    #[serde(default = "default_weight_decay")]
    pub weight_decay: f64,
    /// Global gradient-norm clip (35); `inf` disables it.
    #[serde(default = "default_clip")]
    pub clip_grad_norm: f64,
}

fn default_lr() -> f64 {
    0.02
}

fn default_momentum() -> f64 {
    0.9
}

fn default_weight_decay() -> f64 {
    1e-4
}

fn default_clip() -> f64 {
    35.0
}

impl Default for SgdConfig {
    /// The reference optimiser: lr 0.02, momentum 0.9, weight decay 1e-4, clip 35.
    fn default() -> Self {
        SgdConfig {
            lr: default_lr(),
            momentum: default_momentum(),
            weight_decay: default_weight_decay(),
            clip_grad_norm: default_clip(),
        }
    }
}

impl SgdConfig {
    /// Checks ranges; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        let check = |name: &str, v: f64, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(format!("optimizer.{name} is out of range: {v}"))
            }
        };
        check("lr", self.lr, self.lr.is_finite() && self.lr > 0.0)?;
        check(
            "momentum",
            self.momentum,
            (0.0..1.0).contains(&self.momentum),
        )?;
        check(
            "weight_decay",
            self.weight_decay,
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
        )?;
        check(
            "clip_grad_norm",
            self.clip_grad_norm,
            self.clip_grad_norm > 0.0,
        )
    }
}

/// The optimiser: its hyper-parameters and the momentum buffer of every parameter updated so far.
#[derive(Debug, Clone)]
pub struct Sgd {
    config: SgdConfig,
    velocity: BTreeMap<String, Tensor<1>>,
    /// Learning-rate multipliers of top-level modules (`backbone` → 0.1).
    lr_scales: BTreeMap<String, f64>,
}

impl Sgd {
    /// An optimiser without momentum buffers.
    pub fn new(config: SgdConfig) -> Self {
        Sgd::with_velocity(config, BTreeMap::new())
    }

    /// An optimiser resuming with the given momentum buffers (flattened, keyed by module path).
    pub fn with_velocity(config: SgdConfig, velocity: BTreeMap<String, Tensor<1>>) -> Self {
        Sgd {
            config,
            velocity,
            lr_scales: BTreeMap::new(),
        }
    }

    /// Multiplies the learning rate of every parameter under the top-level module `module` (its path starts
    /// with `module.`) by `scale`.
    pub fn scale_lr(mut self, module: &str, scale: f64) -> Self {
        self.lr_scales.insert(module.to_string(), scale);
        self
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// The momentum buffers, flattened, keyed by module path.
    pub fn velocity(&self) -> &BTreeMap<String, Tensor<1>> {
        &self.velocity
    }

    /// Sets the momentum buffer (flattened) of the parameter at module path `key`.
    pub fn set_velocity(&mut self, key: &str, velocity: Tensor<1>) {
        self.velocity.insert(key.to_string(), velocity);
    }

    /// Drops the momentum buffers of the parameters under `prefix` (`classifier.`): their module is gone.
    pub fn forget(&mut self, prefix: &str) {
        self.velocity.retain(|key, _| !key.starts_with(prefix));
    }

    /// One update of every parameter of `module` that has a gradient in `grads`, at learning rate `lr`.
    pub fn step<M: Module>(&mut self, module: M, mut grads: GradientsParams, lr: f64) -> M {
        module.map(&mut SgdMapper {
            sgd: self,
            grads: &mut grads,
            lr,
            path: Vec::new(),
        })
    }
}

struct SgdMapper<'a> {
    sgd: &'a mut Sgd,
    grads: &'a mut GradientsParams,
    lr: f64,
    path: Vec<String>,
}

impl ModuleMapper for SgdMapper<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let theta = tensor.inner();
        let shape = theta.shape();
        let numel = shape.num_elements();
        let cfg = &self.sgd.config;
        let mut d = grad;
        if cfg.weight_decay != 0.0 {
            d = d + theta.clone().mul_scalar(cfg.weight_decay);
        }
        let key = self.path.join(".");
        let v = match self.sgd.velocity.remove(&key) {
            Some(v) => v.reshape(shape).mul_scalar(cfg.momentum) + d,
            None => d,
        };
        let scale = self
            .path
            .first()
            .and_then(|top| self.sgd.lr_scales.get(top));
        let theta = theta
            - v.clone()
                .mul_scalar(self.lr * scale.copied().unwrap_or(1.0));
        self.sgd.velocity.insert(key, v.reshape([numel]));
        let theta = Tensor::from_inner(theta).set_require_grad(require_grad);
        Param::from_mapped_value(id, theta, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    /// Two steps on loss = sum(x·W + b) with x = [1, 2]: g_W = [1, 2]ᵀ, g_b = 1 at every step.
    #[test]
    fn matches_torch_sgd_with_momentum_and_weight_decay() {
        let device = Device::flex().autodiff();
        let mut layer: Linear = LinearConfig::new(2, 1).init(&device);
        layer.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0.5f32, -1.0], [2, 1]),
            &device,
        ));
        layer.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0.25f32], [1]),
            &device,
        )));
        let cfg = SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.01,
            clip_grad_norm: 35.0,
        };
        let mut sgd = Sgd::new(cfg);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 2]), &device);
        // Reference, by hand (torch semantics): θ0 = (0.5, −1, 0.25), g = (1, 2, 1).
        let mut theta = [0.5f64, -1.0, 0.25];
        let g = [1.0f64, 2.0, 1.0];
        let mut v = [0.0f64; 3];
        for step in 0..3 {
            let grads =
                GradientsParams::from_grads(layer.forward(x.clone()).sum().backward(), &layer);
            layer = sgd.step(layer, grads, 0.1);
            for i in 0..3 {
                let d = g[i] + 0.01 * theta[i];
                v[i] = if step == 0 { d } else { 0.9 * v[i] + d };
                theta[i] -= 0.1 * v[i];
            }
            let mut got = layer
                .weight
                .val()
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap();
            got.extend(
                layer
                    .bias
                    .as_ref()
                    .unwrap()
                    .val()
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .unwrap(),
            );
            for i in 0..3 {
                assert!(
                    (got[i] as f64 - theta[i]).abs() < 1e-6,
                    "step {step}: {got:?} vs {theta:?}"
                );
            }
            assert!(layer.weight.val().is_require_grad());
        }
        assert_eq!(
            sgd.velocity().keys().collect::<Vec<_>>(),
            vec!["bias", "weight"]
        );
    }

    #[derive(Module, Debug)]
    struct Two {
        backbone: Linear,
        head: Linear,
    }

    /// `scale_lr("backbone", 0.25)`: two steps on loss = sum(backbone(x)) + sum(head(x)) with x = [1, 2] and
    /// no weight decay; the head moves by lr·v, the backbone by 0.25·lr·v, the momentum buffers are equal.
    #[test]
    fn scales_the_learning_rate_of_one_module() {
        let device = Device::flex().autodiff();
        let layer = || LinearConfig::new(2, 1).with_bias(false).init(&device);
        let mut model = Two {
            backbone: layer(),
            head: layer(),
        };
        let start = |l: &Linear| l.weight.val().into_data().try_into_vec_as::<f32>().unwrap();
        let (b0, h0) = (start(&model.backbone), start(&model.head));
        let cfg = SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.0,
            clip_grad_norm: 35.0,
        };
        let mut sgd = Sgd::new(cfg).scale_lr("backbone", 0.25);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 2]), &device);
        for _ in 0..2 {
            let loss =
                model.backbone.forward(x.clone()).sum() + model.head.forward(x.clone()).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = sgd.step(model, grads, 0.1);
        }
        // g = x at both steps: v1 = g, v2 = 0.9·g + g, so θ2 = θ0 − s·lr·(1 + 1.9)·g.
        let (b2, h2) = (start(&model.backbone), start(&model.head));
        for i in 0..2 {
            let g = [1.0f32, 2.0][i];
            assert!(
                (h0[i] - h2[i] - 0.1 * 2.9 * g).abs() < 1e-6,
                "{h0:?} → {h2:?}"
            );
            assert!(
                (b0[i] - b2[i] - 0.25 * 0.1 * 2.9 * g).abs() < 1e-6,
                "{b0:?} → {b2:?}"
            );
        }
        let v = |k: &str| {
            sgd.velocity()[k]
                .clone()
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap()
        };
        assert_eq!(v("backbone.weight"), v("head.weight"));
    }
}
