//! Head training throughput (issue 3 item 8): one full training iteration of the paper head — batch
//! gather, forward in train mode (BN batch statistics, dropout), the DB-Focal loss, backward, global
//! gradient clip, SGD with momentum and weight decay — on 2048-d features, batch 32, C = 80 (COCO-MLT's
//! shape), through `TrainState::step_items` as the trainer calls it (on the CPU: the written-out
//! iteration of `FusedHead`). The linear head is measured alongside. Criterion's `elem/s` is iterations (steps) per second.
//! `bench/train_torch.py` runs the equivalent PyTorch loop; `benches/loss.rs` measures the loss alone.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mllt_nn::features::{SyntheticSpec, synthetic};
use mllt_nn::loss::Loss;
use mllt_nn::model::HeadConfig;
use mllt_nn::retain_freed_memory;
use mllt_nn::train::{TrainConfig, TrainState, default_device};

const DIM: usize = 2048;
const CLASSES: usize = 80;
const BATCH: usize = 32;

fn bench_steps(c: &mut Criterion) {
    // As `train` does: without it glibc returns the per-step buffers to the OS and throughput halves.
    retain_freed_memory();
    let data = synthetic(&SyntheticSpec {
        classes: CLASSES,
        train: 1909,
        test: 0,
        dim: DIM,
        tail: 1.2,
        noise: 1.0,
        seed: 0,
    });
    let preset = include_str!("../../../configs/db-focal.toml");
    let mut config = TrainConfig::from_toml(preset, "db-focal.toml").unwrap();
    let counts = data.train.labels.class_counts();
    let loss = Loss::new(&config.loss, &counts, data.train.len()).unwrap();
    let device = default_device().autodiff();
    let mut group = c.benchmark_group("train_step");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    for (name, head) in [
        ("pfc_2048d_b32_c80", HeadConfig::default()),
        ("linear_2048d_b32_c80", HeadConfig::Linear),
    ] {
        config.model = head;
        let mut state = Some(TrainState::new(&config, DIM, CLASSES, None, 0, &device));
        let mut start = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                let items: Vec<usize> = (start..start + BATCH)
                    .map(|k| k % data.train.len())
                    .collect();
                start += BATCH;
                let (next, value) = state.take().expect("state").step_items(
                    &data.train,
                    &items,
                    &loss,
                    0.02,
                    &device,
                );
                state = Some(next);
                // Wait for the step to finish (matters on asynchronous backends).
                black_box(value.into_scalar::<f32>())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_steps);
criterion_main!(benches);
