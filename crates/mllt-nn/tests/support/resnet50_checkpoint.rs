//! A synthetic torchvision ResNet-50 checkpoint, shared by the tests that need one (`mllt-nn`'s
//! `tests/resnet.rs`, `mllt`'s `tests/features_cli.rs`, which include this file with `#[path]`): torchvision's
//! 320 state-dict tensor names and shapes with the deterministic values of `golden/resnet50_golden.py`.

use std::path::Path;

use mllt_nn::backbone::resnet::{FEATURE_DIM, NUM_CLASSES};
use safetensors::tensor::{Dtype, TensorView};

/// One state-dict entry: name and shape.
pub type Entry = (String, Vec<usize>);

/// torchvision's `resnet50().state_dict()` layout, in order.
pub fn torchvision_layout() -> Vec<Entry> {
    fn conv(layout: &mut Vec<Entry>, name: &str, shape: [usize; 4]) {
        layout.push((format!("{name}.weight"), shape.to_vec()));
    }
    fn bn(layout: &mut Vec<Entry>, name: &str, channels: usize) {
        for leaf in ["weight", "bias", "running_mean", "running_var"] {
            layout.push((format!("{name}.{leaf}"), vec![channels]));
        }
        layout.push((format!("{name}.num_batches_tracked"), vec![]));
    }
    let mut layout = Vec::new();
    conv(&mut layout, "conv1", [64, 3, 7, 7]);
    bn(&mut layout, "bn1", 64);
    let mut c_in = 64;
    for (k, depth) in [3, 4, 6, 3].into_iter().enumerate() {
        let width = 64 << k;
        for i in 0..depth {
            let p = format!("layer{}.{i}", k + 1);
            conv(&mut layout, &format!("{p}.conv1"), [width, c_in, 1, 1]);
            bn(&mut layout, &format!("{p}.bn1"), width);
            conv(&mut layout, &format!("{p}.conv2"), [width, width, 3, 3]);
            bn(&mut layout, &format!("{p}.bn2"), width);
            conv(&mut layout, &format!("{p}.conv3"), [4 * width, width, 1, 1]);
            bn(&mut layout, &format!("{p}.bn3"), 4 * width);
            if i == 0 {
                conv(
                    &mut layout,
                    &format!("{p}.downsample.0"),
                    [4 * width, c_in, 1, 1],
                );
                bn(&mut layout, &format!("{p}.downsample.1"), 4 * width);
            }
            c_in = 4 * width;
        }
    }
    layout.push(("fc.weight".into(), vec![NUM_CLASSES, FEATURE_DIM]));
    layout.push(("fc.bias".into(), vec![NUM_CLASSES]));
    layout
}

/// The values of float tensor number `k` (see `resnet50_golden.py`): with s = sin(0.37 i + k), a
/// convolution or fc weight is s·√(3 / fan_in), a BatchNorm weight 1 + 0.25 s, a bias or running mean
/// 0.1 s, a running variance 1 + 0.5 s².
pub fn fill(k: usize, name: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let leaf = name.rsplit('.').next().unwrap();
    let value: Box<dyn Fn(f64) -> f64> = match (shape.len(), leaf) {
        (1, "bias" | "running_mean") => Box::new(|s| 0.1 * s),
        (1, "weight") => Box::new(|s| 1.0 + 0.25 * s),
        (1, "running_var") => Box::new(|s| 1.0 + 0.5 * s * s),
        (1, _) => panic!("unexpected tensor {name}"),
        _ => {
            let scale = (3.0 / shape[1..].iter().product::<usize>() as f64).sqrt();
            Box::new(move |s| s * scale)
        }
    };
    (0..n)
        .map(|i| value((i as f64 * 0.37 + k as f64).sin()) as f32)
        .collect()
}

/// Writes `tensors` (name, shape, little-endian bytes, dtype) as a safetensors file.
pub fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<u8>, Dtype)]) {
    let views = tensors.iter().map(|(name, shape, bytes, dtype)| {
        (name, TensorView::new(*dtype, shape.clone(), bytes).unwrap())
    });
    safetensors::serialize_to_file(views, &None, path).unwrap();
}

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes the whole checkpoint to `path` as `.safetensors` (100 MB): the float tensors of [`fill`], each
/// BatchNorm's `num_batches_tracked` an i64 equal to its index in the layout.
pub fn write_checkpoint(path: &Path) {
    let tensors: Vec<_> = torchvision_layout()
        .into_iter()
        .enumerate()
        .map(|(k, (name, shape))| {
            if name.ends_with(".num_batches_tracked") {
                let bytes = (k as i64).to_le_bytes().to_vec();
                (name, shape, bytes, Dtype::I64)
            } else {
                let bytes = f32_bytes(&fill(k, &name, &shape));
                (name, shape, bytes, Dtype::F32)
            }
        })
        .collect();
    write_safetensors(path, &tensors);
}
