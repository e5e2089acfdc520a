//! burn's wgpu backend trains like the CPU backend (issue 9 item 3). Built only with `--features wgpu`;
//! `bench/wgpu_lavapipe.sh` runs it on Mesa's software Vulkan driver (lavapipe) where no GPU is present.
//!
//! Each backbone (ResNet-50 with its stem and `layer1` frozen, EfficientNet-Lite0), with seeded random weights
//! and a linear head to 80 classes, takes [`STEPS`] SGD steps on a fixed batch of 2 images at 64 × 64 pixels,
//! once on the Flex CPU device and once on the default wgpu adapter from the same weights and batch. The
//! loss of every step and the gradient norm of the first must agree within [`LOSS_TOLERANCE`] and
//! [`NORM_TOLERANCE`] (relative). The learning rate is large enough that the loss moves by a hundred times the
//! tolerance over the steps, so an update that went wrong on one backend shows.
//!
//! Measured on lavapipe (Mesa 22.3.6) when written: losses within 2.6e-7 relative for both backbones, first
//! gradient norms within 5.6e-5 (ResNet-50) and 0 (Lite0); about 105 s on 2 busy cores.

#![cfg(feature = "wgpu")]

#[path = "support/backbone_step.rs"]
mod backbone_step;

use backbone_step::{BackboneStep, StepOutcome};
use mllt_nn::backend::{DeviceKind, cpu_autodiff};
use mllt_nn::model::BackboneKind;

/// The SGD learning rate: with random weights the gradients are small (norm ≈ 0.05–0.07), and the reference's
/// 0.02 would move the loss by less than 1e-4.
const LR: f64 = 2.0;
/// Steps per backend.
const STEPS: usize = 3;
/// Relative tolerance on every step's loss (f32 kernels that sum in another order; measured on lavapipe:
/// 8.7e-8 at most).
const LOSS_TOLERANCE: f32 = 1e-5;
/// Relative tolerance on the first step's global gradient norm (measured on lavapipe: 4.0e-7 at most; a
/// ReLU6 whose gradient passed at the bounds on one side only was 1.1e-3 off).
const NORM_TOLERANCE: f32 = 1e-5;
/// The loss must move by at least this much (relative) between the first and the last step: a hundred times
/// the tolerance.
const LOSS_CHANGE: f32 = 0.01;

fn relative(a: f32, b: f32) -> f32 {
    (a - b).abs() / a.abs().max(b.abs())
}

fn compare(kind: BackboneKind) {
    let cpu_device = cpu_autodiff();
    let wgpu_device = DeviceKind::Wgpu.device().unwrap().autodiff();
    let net = |device| BackboneStep::new(kind, 2, 64, LR, 11, &cpu_device, device);
    let (mut cpu, mut wgpu) = (net(&cpu_device), net(&wgpu_device));
    let run = |net: &mut BackboneStep| -> Vec<StepOutcome> {
        (0..STEPS).map(|i| net.step(i == 0)).collect()
    };
    let (on_cpu, on_wgpu) = (run(&mut cpu), run(&mut wgpu));
    let losses = |o: &[StepOutcome]| o.iter().map(|s| s.loss).collect::<Vec<_>>();
    let (l_cpu, l_wgpu) = (losses(&on_cpu), losses(&on_wgpu));
    let worst = l_cpu
        .iter()
        .zip(&l_wgpu)
        .map(|(&a, &b)| relative(a, b))
        .fold(0.0, f32::max);
    let (n_cpu, n_wgpu) = (on_cpu[0].grad_norm.unwrap(), on_wgpu[0].grad_norm.unwrap());
    eprintln!(
        "{}: losses cpu {l_cpu:?}, wgpu {l_wgpu:?} (max relative difference {worst:.2e}); first gradient \
         norm cpu {n_cpu}, wgpu {n_wgpu} (relative difference {:.2e})",
        kind.name(),
        relative(n_cpu, n_wgpu)
    );
    assert!(
        relative(l_cpu[0], l_cpu[STEPS - 1]) > LOSS_CHANGE,
        "the loss barely moved: {l_cpu:?}"
    );
    assert!(worst <= LOSS_TOLERANCE, "{l_cpu:?} vs {l_wgpu:?}");
    assert!(
        relative(n_cpu, n_wgpu) <= NORM_TOLERANCE,
        "gradient norm {n_cpu} vs {n_wgpu}"
    );
}

/// One test for both backbones: the seeded weights come from the CPU device's random generator, which is
/// global to the process, so two tests drawing from it in parallel would interleave their draws.
#[test]
fn resnet50_and_lite0_steps_on_wgpu_match_the_cpu() {
    compare(BackboneKind::Resnet50);
    compare(BackboneKind::EfficientnetLite0);
}
