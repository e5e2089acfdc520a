//! The convolution kernels of `mllt_nn::kernels` (forward pass, weight and input gradients) against
//! burn-flex's own forward pass and burn's generic backward pass, on layers of the two backbones at
//! batch 8 (224 px input): criterion's `elem/s` is images/s through that layer.

use std::hint::black_box;
use std::time::Duration;

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::tensor::TensorData;
use burn::tensor::ops::ConvOptions;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mllt_nn::kernels::{ConvOperand, CpuKernels};

const BATCH: usize = 8;

/// A layer: name, `[C_in, C_out, groups]`, input size, kernel, stride, padding `[(top, bottom); 2]`.
type Layer = (
    &'static str,
    [usize; 3],
    usize,
    usize,
    usize,
    [(usize, usize); 2],
);

const LAYERS: [Layer; 6] = [
    (
        "resnet50_layer2_3x3",
        [128, 128, 1],
        28,
        3,
        1,
        [(1, 1), (1, 1)],
    ),
    (
        "resnet50_layer3_1x1",
        [1024, 256, 1],
        14,
        1,
        1,
        [(0, 0), (0, 0)],
    ),
    ("lite0_stem_3x3s2", [3, 32, 1], 224, 3, 2, [(0, 1), (0, 1)]),
    (
        "lite0_dw_3x3_112",
        [32, 32, 32],
        112,
        3,
        1,
        [(1, 1), (1, 1)],
    ),
    (
        "lite0_dw_3x3s2_112",
        [96, 96, 96],
        112,
        3,
        2,
        [(0, 1), (0, 1)],
    ),
    (
        "lite0_dw_5x5_28",
        [240, 240, 240],
        28,
        5,
        1,
        [(2, 2), (2, 2)],
    ),
];

/// `f(x, weight, output_grad, options)`: the forward pass (which ignores `output_grad`) or a gradient.
type Pass = fn(FlexTensor, FlexTensor, FlexTensor, ConvOptions<2>) -> FlexTensor;

fn tensor(shape: [usize; 4], seed: usize) -> FlexTensor {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|i| ((i * 7 + seed) % 13) as f32 / 13.0 - 0.5)
        .collect();
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn conv_gradients(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv_grad_b8");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (name, [c_in, c_out, groups], size, kernel, stride, padding) in LAYERS {
        let out = (size + padding[0].0 + padding[0].1 - kernel) / stride + 1;
        let x = tensor([BATCH, c_in, size, size], 1);
        let w = tensor([c_out, c_in / groups, kernel, kernel], 2);
        let dy = tensor([BATCH, c_out, out, out], 3);
        let options = ConvOptions::new_with_padding([stride; 2], padding, [1, 1], groups);
        let cases: [(&str, Pass); 6] = [
            ("forward_mllt", |x, w, _, o| Flex::conv2d_nobias(x, w, o)),
            ("forward_burn", |x, w, _, o| Flex::conv2d(x, w, None, o)),
            ("weight_mllt", |x, w, dy, o| {
                Flex::conv2d_nobias_grad(ConvOperand::Weight, x, w, dy, o)
            }),
            ("weight_burn", Flex::conv2d_weight_backward),
            ("input_mllt", |x, w, dy, o| {
                Flex::conv2d_nobias_grad(ConvOperand::Input, x, w, dy, o)
            }),
            ("input_burn", Flex::conv2d_x_backward),
        ];
        for (case, f) in cases {
            group.bench_function(format!("{name}/{case}"), |b| {
                b.iter(|| black_box(f(x.clone(), w.clone(), dy.clone(), options.clone())))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, conv_gradients);
criterion_main!(benches);
