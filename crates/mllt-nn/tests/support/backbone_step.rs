//! A fine-tuning step of a backbone on a fixed batch, as `bench/backbone_train_torch.py` also times it:
//! pooled features → linear layer to [`CLASSES`] classes → BCE-with-logits mean → backward → SGD (lr 0.02,
//! momentum 0.9, weight decay 1e-4) on backbone and head.
//! ResNet-50 has its stem and `layer1` frozen, every backbone BatchNorm runs on its running statistics.
//!
//! Shared, with `#[path]`, by `tests/wgpu_matches_cpu.rs` (CPU and wgpu from the same weights),
//! `examples/gpu_steps.rs` (images/s on a GPU backend) and `benches/backbone_train.rs` (images/s on CPU).

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::{BinaryCrossEntropyLoss, BinaryCrossEntropyLossConfig};
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use mllt_nn::model::{Backbone, BackboneKind, BackboneWeights};
use mllt_nn::train::{Sgd, SgdConfig, grad_norm};

/// Outputs of the linear head.
pub const CLASSES: usize = 80;

/// A backbone and a linear head, the batch they train on, and the momentum of both.
pub struct BackboneStep {
    /// `None` only while a step has taken the modules.
    modules: Option<(Backbone, Linear)>,
    images: Tensor<4>,
    labels: Tensor<2, Int>,
    bce: BinaryCrossEntropyLoss,
    /// Two optimisers: their momentum buffers are keyed by module path.
    sgd: (Sgd, Sgd),
    lr: f64,
}

/// Draws every parameter's random initial value now. burn initialises a parameter lazily, on first use and
/// from the random generator of the device it is on by then: a module moved to another device before its
/// first use would draw its weights there.
struct Materialise;

impl ModuleVisitor for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// What one step measured, read back to the host (so a step ends with the device synchronised).
#[derive(Debug, Clone, Copy)]
pub struct StepOutcome {
    /// The loss before the update.
    pub loss: f32,
    /// The global L2 norm of the gradients of backbone and head, when asked for.
    pub grad_norm: Option<f32>,
}

impl BackboneStep {
    /// `kind` with random weights drawn from `seed` on `init` (so every backend gets the same weights from
    /// the same seed) and a fresh head, trained on `device` (with autodiff) at learning rate `lr`, on a batch
    /// of `batch` deterministic images of `size` × `size` pixels with fixed labels. Frozen parameters stay
    /// frozen on `device`.
    pub fn new(
        kind: BackboneKind,
        batch: usize,
        size: usize,
        lr: f64,
        seed: u64,
        init: &Device,
        device: &Device,
    ) -> BackboneStep {
        init.seed(seed);
        let backbone = Backbone::new(kind, &BackboneWeights::Random, init)
            .expect("random weights need no file");
        let head: Linear = LinearConfig::new(kind.feature_dim(), CLASSES).init(init);
        backbone.visit(&mut Materialise);
        head.visit(&mut Materialise);
        let pixels: Vec<f32> = (0..batch * 3 * size * size)
            .map(|i| (i as f32 * 0.01).sin())
            .collect();
        let images =
            Tensor::<4>::from_data(TensorData::new(pixels, [batch, 3, size, size]), device);
        let labels: Vec<i64> = (0..batch * CLASSES).map(|i| (i % 7 == 0) as i64).collect();
        let labels = Tensor::<2, Int>::from_data(TensorData::new(labels, [batch, CLASSES]), device);
        BackboneStep {
            modules: Some((backbone.fork(device), head.fork(device))),
            images,
            labels,
            bce: BinaryCrossEntropyLossConfig::new()
                .with_logits(true)
                .init(device),
            sgd: (
                Sgd::new(SgdConfig::default()),
                Sgd::new(SgdConfig::default()),
            ),
            lr,
        }
    }

    /// One SGD step; with `measure_norm` also the gradient norm (a few more reductions).
    pub fn step(&mut self, measure_norm: bool) -> StepOutcome {
        let (backbone, head) = self.modules.take().expect("between steps");
        let logits = head.forward(backbone.own_scale_features(self.images.clone()));
        let loss = self.bce.forward(logits, self.labels.clone());
        let mut grads = loss.backward();
        let backbone_grads = GradientsParams::from_module(&mut grads, &backbone);
        let head_grads = GradientsParams::from_module(&mut grads, &head);
        let grad_norm = measure_norm.then(|| {
            let squared = |norm: Option<Tensor<1>>| norm.expect("a gradient").square();
            let total = squared(grad_norm(&backbone, &backbone_grads))
                + squared(grad_norm(&head, &head_grads));
            total.sqrt().into_scalar::<f32>()
        });
        let backbone = self.sgd.0.step(backbone, backbone_grads, self.lr);
        let head = self.sgd.1.step(head, head_grads, self.lr);
        self.modules = Some((backbone, head));
        StepOutcome {
            loss: loss.into_scalar::<f32>(),
            grad_norm,
        }
    }
}
