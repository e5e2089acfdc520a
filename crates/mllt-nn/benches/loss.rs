//! Loss throughput: DB-Focal (the released configuration) forward + backward on a (32, 80) batch on
//! the Flex CPU backend, with plain BCE as the baseline. `benches/loss_torch.py` is the PyTorch loop
//! of the same computation.

use std::hint::black_box;
use std::time::Duration;

use burn::Tensor;
use burn::tensor::{Device, TensorData};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mllt_nn::backend::{cpu, cpu_autodiff};
use mllt_nn::loss::{
    FocalConfig, Loss, LossConfig, NtrBias, NtrConfig, RebalanceConfig, WeightNorm, Weighting,
};

const BATCH: usize = 32;
const CLASSES: usize = 80;
const NUM_TRAIN: usize = 1909;

/// A long tail from 1128 down to a handful of positives, like COCO-MLT.
fn class_counts() -> Vec<usize> {
    (0..CLASSES)
        .map(|c| ((1128.0 * ((c + 1) as f64).powf(-1.4)).round() as usize).max(4))
        .collect()
}

/// Deterministic logits in [−6, 6) and about three positives per row.
fn batch() -> (Vec<f32>, Vec<f32>) {
    let hash = |i: usize| (i as u64).wrapping_mul(2_654_435_761) % 10_007;
    let logits = (0..BATCH * CLASSES)
        .map(|i| hash(i) as f32 / 10_007.0 * 12.0 - 6.0)
        .collect();
    let labels = (0..BATCH * CLASSES)
        .map(|i| if hash(i + 7) % 27 == 0 { 1.0 } else { 0.0 })
        .collect();
    (logits, labels)
}

fn db_focal() -> LossConfig {
    LossConfig {
        weighting: Weighting::Rebalance(RebalanceConfig {
            alpha: 0.1,
            beta: 10.0,
            mu: 0.2,
            norm: WeightNorm::None,
        }),
        ntr: Some(NtrConfig {
            lambda: 2.0,
            kappa: 0.05,
            bias: NtrBias::Reference,
            positives: false,
        }),
        focal: Some(FocalConfig::default()),
        ..LossConfig::bce()
    }
}

fn tensor(values: &[f32], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [BATCH, CLASSES]), device)
}

fn bench_losses(c: &mut Criterion) {
    let counts = class_counts();
    let (logits, labels) = batch();
    let mut group = c.benchmark_group("loss_32x80");
    group.throughput(Throughput::Elements((BATCH * CLASSES) as u64));
    for (name, config) in [("db_focal", db_focal()), ("bce", LossConfig::bce())] {
        let loss = Loss::new(&config, &counts, NUM_TRAIN).expect("valid loss");
        let device = cpu_autodiff();
        group.bench_function(format!("{name}/forward_backward"), |b| {
            b.iter(|| {
                let x = tensor(&logits, &device).require_grad();
                let y = tensor(&labels, &device);
                let grads = loss.training_loss(x.clone(), y).backward();
                black_box(x.grad(&grads).expect("gradient").into_data())
            })
        });
        let device = cpu();
        group.bench_function(format!("{name}/forward"), |b| {
            b.iter(|| {
                let x = tensor(&logits, &device);
                let y = tensor(&labels, &device);
                black_box(loss.training_loss(x, y).into_scalar::<f32>())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3));
    targets = bench_losses
}
criterion_main!(benches);
