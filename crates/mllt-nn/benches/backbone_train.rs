//! End-to-end fine-tuning throughput of the backbones on the Flex CPU backend with autodiff: one SGD step
//! (pooled features → linear layer to 80 classes → BCE-with-logits mean → backward → SGD with momentum
//! 0.9 and weight decay 1e-4) on a batch of 8 images at 224×224. Criterion's `elem/s` is images/s.
//!
//! * `resnet50_frozen1`: torchvision's ResNet-50 with the reference's `frozen_stages=1` (stem and layer1
//!   without gradients) and `norm_eval=True` (every BatchNorm on its running statistics);
//! * `lite0`: EfficientNet-Lite0, every BatchNorm frozen the same way, nothing else frozen.
//!
//! Freshly initialised weights: the speed does not depend on them. `bench/backbone_train_torch.py` runs
//! the same steps in PyTorch.

use std::hint::black_box;
use std::time::Duration;

use burn::module::Module;
use burn::nn::loss::BinaryCrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use mllt_nn::backbone::{efficientnet_lite, resnet};
use mllt_nn::backend::cpu_autodiff;
use mllt_nn::train::{Sgd, SgdConfig, retain_freed_memory};

const BATCH: usize = 8;
const SIZE: usize = 224;
const CLASSES: usize = 80;

/// Benchmarks SGD steps of `backbone` (pooled features of dimension `dim` from `features`) with a fresh
/// linear head, on a fixed batch.
fn bench_steps<M: Module>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    backbone: M,
    dim: usize,
    features: fn(&M, Tensor<4>) -> Tensor<2>,
    device: &Device,
) {
    let pixels = BATCH * 3 * SIZE * SIZE;
    let input: Vec<f32> = (0..pixels).map(|i| (i as f32 * 0.01).sin()).collect();
    let images = Tensor::<4>::from_data(TensorData::new(input, [BATCH, 3, SIZE, SIZE]), device);
    let labels: Vec<i64> = (0..BATCH * CLASSES).map(|i| (i % 7 == 0) as i64).collect();
    let labels = Tensor::<2, Int>::from_data(TensorData::new(labels, [BATCH, CLASSES]), device);
    let bce = BinaryCrossEntropyLossConfig::new()
        .with_logits(true)
        .init(device);
    let head: Linear = LinearConfig::new(dim, CLASSES).init(device);
    let mut state = Some((backbone, head));
    // Two optimisers: their momentum buffers are keyed by module path.
    let (mut sgd_backbone, mut sgd_head) = (
        Sgd::new(SgdConfig::default()),
        Sgd::new(SgdConfig::default()),
    );
    group.bench_function(name, |b| {
        b.iter(|| {
            let (backbone, head) = state.take().expect("state");
            let logits = head.forward(features(&backbone, images.clone()));
            let loss = bce.forward(logits, labels.clone());
            let mut grads = loss.backward();
            let backbone_grads = GradientsParams::from_module(&mut grads, &backbone);
            let head_grads = GradientsParams::from_module(&mut grads, &head);
            let backbone = sgd_backbone.step(backbone, backbone_grads, 0.02);
            let head = sgd_head.step(head, head_grads, 0.02);
            state = Some((backbone, head));
            black_box(loss.into_scalar::<f32>())
        })
    });
}

fn backbone_train(c: &mut Criterion) {
    retain_freed_memory();
    let device = cpu_autodiff();
    let mut group = c.benchmark_group("train_step_b8_224");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    bench_steps(
        &mut group,
        "resnet50_frozen1",
        resnet::ResNet50::new(&device).freeze_stem_and_layer1(),
        resnet::FEATURE_DIM,
        resnet::ResNet50::features,
        &device,
    );
    bench_steps(
        &mut group,
        "lite0",
        efficientnet_lite::EfficientNetLite0::new(&device),
        efficientnet_lite::FEATURE_DIM,
        efficientnet_lite::EfficientNetLite0::features,
        &device,
    );
    group.finish();
}

criterion_group!(benches, backbone_train);
criterion_main!(benches);
