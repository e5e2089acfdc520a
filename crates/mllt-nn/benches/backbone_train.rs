//! End-to-end fine-tuning throughput of the backbones on the Flex CPU backend with autodiff: one SGD step
//! of `tests/support/backbone_step.rs` (pooled features → linear layer to 80 classes → BCE-with-logits
//! mean → backward → SGD with momentum 0.9 and weight decay 1e-4) on a batch of 8 images at 224×224.
//! Criterion's `elem/s` is images/s.
//!
//! * `resnet50_frozen1`: torchvision's ResNet-50 with the reference's `frozen_stages=1` (stem and layer1
//!   without gradients) and `norm_eval=True` (every BatchNorm on its running statistics);
//! * `lite0`: EfficientNet-Lite0, every BatchNorm frozen the same way, nothing else frozen.
//!
//! Freshly initialised weights: the speed does not depend on them. `bench/backbone_train_torch.py` runs
//! the same steps in PyTorch.

#[path = "../tests/support/backbone_step.rs"]
mod backbone_step;

use std::hint::black_box;
use std::time::Duration;

use backbone_step::BackboneStep;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mllt_nn::backend::cpu_autodiff;
use mllt_nn::model::BackboneKind;
use mllt_nn::retain_freed_memory;

const BATCH: usize = 8;
const SIZE: usize = 224;

fn backbone_train(c: &mut Criterion) {
    retain_freed_memory();
    let device = cpu_autodiff();
    let mut group = c.benchmark_group("train_step_b8_224");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    for (name, kind) in [
        ("resnet50_frozen1", BackboneKind::Resnet50),
        ("lite0", BackboneKind::EfficientnetLite0),
    ] {
        let mut step = BackboneStep::new(kind, BATCH, SIZE, 0.02, 0, &device, &device);
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome = step.step(false);
                black_box((outcome.loss, outcome.grad_norm))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, backbone_train);
criterion_main!(benches);
