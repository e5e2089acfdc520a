//! torchvision's ResNet-50 on burn: a torchvision state dict loads completely, the forward pass matches
//! PyTorch, and `frozen_stages=1` / `norm_eval=True` keep the stem, `layer1` and every BatchNorm statistic
//! out of training.
//!
//! The state dict is synthetic: torchvision's 320 tensor names and shapes with the deterministic values of
//! `tests/golden/resnet50_golden.py`, written as a `.safetensors` file (`tests/support/resnet50_checkpoint.rs`).
//! That script runs the same weights through ResNet-50 in PyTorch and stored part of the output in
//! `tests/golden/resnet50_forward.json`, so this test needs no torch.

#[path = "support/resnet50_checkpoint.rs"]
mod resnet50_checkpoint;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use mllt_nn::backbone::resnet::{CHECKPOINT_TENSORS, FEATURE_DIM, NUM_CLASSES, ResNet50};
use mllt_nn::backend::{cpu, cpu_autodiff};
use resnet50_checkpoint::{
    f32_bytes, fill, torchvision_layout, write_checkpoint, write_safetensors,
};
use safetensors::tensor::Dtype;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Relative tolerance of the forward pass against PyTorch (both f32).
const RELATIVE: f64 = 1e-4;

/// The synthetic torchvision checkpoint, written once per test run (100 MB in the target's tmp folder).
fn golden_checkpoint() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("resnet50_golden.safetensors");
        write_checkpoint(&path);
        path
    })
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().iter::<f32>().collect()
}

/// Every one of the 267 tensors is applied, only the 53 `num_batches_tracked` are unused, and tensors land
/// where torchvision has them (a running variance deep in layer3, a shortcut convolution, the transposed
/// `fc.weight`, `fc.bias`).
#[test]
fn torchvision_state_dict_loads_completely() {
    let layout = torchvision_layout();
    assert_eq!(layout.len(), 320);
    let mut model = ResNet50::new(&cpu());
    let report = model.load(golden_checkpoint()).unwrap();
    assert_eq!(report.applied.len(), CHECKPOINT_TENSORS);
    assert!(report.missing.is_empty() && report.errors.is_empty());
    let mut unused = report.unused.clone();
    unused.sort();
    let mut counters: Vec<String> = layout
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|name| name.ends_with(".num_batches_tracked"))
        // Reported under the module's names: the shortcut BatchNorm is `downsample.bn`.
        .map(|name| name.replace(".downsample.1.", ".downsample.bn."))
        .collect();
    counters.sort();
    assert_eq!(counters.len(), 53);
    assert_eq!(unused, counters);

    let expected = |name: &str| {
        let k = layout.iter().position(|(n, _)| n == name).unwrap();
        fill(k, name, &layout[k].1)
    };
    assert_eq!(
        values(model.layer3[5].bn2.running_var.value()),
        expected("layer3.5.bn2.running_var")
    );
    let shortcut = &model.layer2[0].downsample.as_ref().unwrap().conv;
    assert_eq!(shortcut.weight.dims(), [512, 256, 1, 1]);
    assert_eq!(
        values(shortcut.weight.val()),
        expected("layer2.0.downsample.0.weight")
    );
    assert_eq!(
        values(model.fc.bias.as_ref().unwrap().val()),
        expected("fc.bias")
    );
    // burn's Linear stores [in, out]: PyTorch's fc.weight[o][i] is weight[i][o] here.
    let fc = values(model.fc.weight.val());
    let torch_fc = expected("fc.weight");
    for (o, i) in [(0, 0), (1, 2), (999, 2047), (500, 7)] {
        assert_eq!(
            fc[i * NUM_CLASSES + o],
            torch_fc[o * FEATURE_DIM + i],
            "({o}, {i})"
        );
    }
}

/// Pooled features and logits of one 64×64 image agree with PyTorch's (`resnet50_forward.json`).
#[test]
fn forward_matches_pytorch() {
    let golden: Value = serde_json::from_str(include_str!("golden/resnet50_forward.json")).unwrap();
    // The checkpoint has exactly the layout the script's ResNet-50 gave its state dict.
    let layout: String = torchvision_layout()
        .iter()
        .map(|(name, shape)| format!("{name} {shape:?}\n"))
        .collect();
    let sha: String = Sha256::digest(layout.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(golden["state_dict_layout_sha256"], sha.as_str());

    let device = cpu();
    let mut model = ResNet50::new(&device);
    model.load(golden_checkpoint()).unwrap();
    let n = 3 * 64 * 64;
    let input: Vec<f32> = (0..n).map(|i| (i as f64 * 0.05).sin() as f32).collect();
    let images = Tensor::<4>::from_data(TensorData::new(input, [1, 3, 64, 64]), &device);
    let features = model.features(images);
    assert_eq!(features.dims(), [1, FEATURE_DIM]);
    let logits = model.fc.forward(features.clone());
    for (what, got) in [("features", values(features)), ("logits", values(logits))] {
        let number = |key: String| golden[key].as_f64().unwrap();
        let stride = golden[format!("{what}_stride")].as_u64().unwrap() as usize;
        let expected: Vec<f64> = golden[what]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let rms = (number(format!("{what}_sum_sq")) / got.len() as f64).sqrt();
        for (j, &b) in expected.iter().enumerate() {
            let a = got[j * stride] as f64;
            assert!(
                (a - b).abs() <= RELATIVE * b.abs().max(rms),
                "{what}[{}]: burn {a} vs torch {b}",
                j * stride
            );
        }
        let sum: f64 = got.iter().map(|&v| v as f64).sum();
        let sum_sq: f64 = got.iter().map(|&v| (v as f64).powi(2)).sum();
        for (name, a, b) in [
            ("sum", sum, number(format!("{what}_sum"))),
            ("sum_sq", sum_sq, number(format!("{what}_sum_sq"))),
        ] {
            let floor = rms * got.len() as f64;
            assert!(
                (a - b).abs() <= RELATIVE * b.abs().max(floor),
                "{what} {name}: burn {a} vs torch {b}"
            );
        }
    }
}

/// For every float tensor of a module: its path and whether `grads` holds a gradient for it.
struct GradientCheck<'a> {
    grads: &'a GradientsParams,
    path: Vec<String>,
    seen: Vec<(String, bool)>,
}

impl ModuleVisitor for GradientCheck<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let has_gradient = self.grads.get::<D>(param.id).is_some();
        self.seen.push((self.path.join("."), has_gradient));
    }
}

/// The tensors of `model` with and without a gradient after one backward pass of its logits' sum.
fn gradients(model: &ResNet50) -> Vec<(String, bool)> {
    let device = cpu_autodiff();
    let input: Vec<f32> = (0..3 * 32 * 32).map(|i| (i as f32 * 0.05).sin()).collect();
    let images = Tensor::<4>::from_data(TensorData::new(input, [1, 3, 32, 32]), &device);
    let grads = GradientsParams::from_grads(model.forward(images).sum().backward(), model);
    let mut check = GradientCheck {
        grads: &grads,
        path: Vec::new(),
        seen: Vec::new(),
    };
    model.visit(&mut check);
    assert_eq!(check.seen.len(), CHECKPOINT_TENSORS);
    check.seen
}

fn is_running_statistic(path: &str) -> bool {
    path.ends_with(".running_mean") || path.ends_with(".running_var")
}

/// `frozen_stages=1`: conv1, bn1 and layer1 get no gradient, layer2…layer4 and fc do; the BatchNorm
/// statistics never do, not even after burn's `unfreeze` asks every tensor to require one.
#[test]
fn freezing_the_stem_and_layer1_stops_their_gradients() {
    let model = ResNet50::new(&cpu_autodiff()).freeze_stem_and_layer1();
    for (path, has_gradient) in gradients(&model) {
        let frozen = ["conv1.", "bn1.", "layer1."]
            .iter()
            .any(|p| path.starts_with(p));
        assert_eq!(
            has_gradient,
            !frozen && !is_running_statistic(&path),
            "{path}"
        );
    }
    for (path, has_gradient) in gradients(&model.unfreeze()) {
        assert_eq!(has_gradient, !is_running_statistic(&path), "{path}");
    }
}

/// Files that do not fit are refused with one line naming the file: a missing tensor, a tensor ResNet-50
/// does not have, a wrong shape, a file that is not a checkpoint.
#[test]
fn misfit_checkpoints_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bias = |n: usize| {
        (
            "fc.bias".to_string(),
            vec![n],
            f32_bytes(&vec![0.0; n]),
            Dtype::F32,
        )
    };
    let extra = (
        "head.weight".to_string(),
        vec![2],
        f32_bytes(&[0.0; 2]),
        Dtype::F32,
    );
    let cases = [
        (
            "missing.safetensors",
            vec![bias(NUM_CLASSES)],
            "is missing (266 missing in all)",
        ),
        (
            "extra.safetensors",
            vec![bias(NUM_CLASSES), extra],
            "`head.weight` is not part",
        ),
        ("shape.safetensors", vec![bias(999)], "fc.bias"),
    ];
    for (file, tensors, message) in cases {
        let path = dir.path().join(file);
        write_safetensors(&path, &tensors);
        let err = ResNet50::new(&cpu()).load(&path).unwrap_err().to_string();
        assert!(
            err.contains(file) && err.contains(message) && err.lines().count() == 1,
            "{err}"
        );
    }
    let path = dir.path().join("bad.pth");
    std::fs::write(&path, b"not a checkpoint").unwrap();
    let err = ResNet50::new(&cpu()).load(&path).unwrap_err().to_string();
    assert!(err.contains("bad.pth") && err.lines().count() == 1, "{err}");
}
