//! Training throughput of a backbone on one backend: a warm-up step, then `--steps` timed SGD steps of
//! `tests/support/backbone_step.rs` (ResNet-50 with its stem and `layer1` frozen, or EfficientNet-Lite0, a
//! linear head to 80 classes, BCE-with-logits, SGD with momentum; random weights). Prints images/s as
//! `bench/backbone_train_torch.py` does: the batch over the median step time. Every step reads its loss back,
//! so a step's time includes the device's work. `bench/gpu.sh` runs it on each GPU backend.
//!
//! ```text
//! cargo run --release -p mllt-nn --features wgpu --example gpu_steps -- \
//!     [--device cpu|wgpu|cuda] [--backbone resnet50|efficientnet-lite0] [--batch 32] [--size 224] [--steps 50]
//! ```

#[path = "../tests/support/backbone_step.rs"]
mod backbone_step;

use std::process::ExitCode;
use std::str::FromStr;
use std::time::Instant;

use backbone_step::BackboneStep;
use mllt_nn::backend::DeviceKind;
use mllt_nn::model::BackboneKind;

/// The command line.
struct Options {
    device: DeviceKind,
    backbone: BackboneKind,
    batch: usize,
    size: usize,
    steps: usize,
}

/// The value of `flag`, parsed.
fn value<T: FromStr>(flag: &str, text: Option<String>) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let text = text.ok_or_else(|| format!("{flag} needs a value"))?;
    text.parse().map_err(|e| format!("{flag} {text}: {e}"))
}

/// A count flag: a positive integer.
fn count(flag: &str, text: Option<String>) -> Result<usize, String> {
    match value::<usize>(flag, text)? {
        0 => Err(format!("{flag} must be positive")),
        n => Ok(n),
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut o = Options {
        device: DeviceKind::default(),
        backbone: BackboneKind::Resnet50,
        batch: 32,
        size: 224,
        steps: 50,
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--device" => o.device = value(&flag, args.next())?,
            "--backbone" => o.backbone = value(&flag, args.next())?,
            "--batch" => o.batch = count(&flag, args.next())?,
            "--size" => o.size = count(&flag, args.next())?,
            "--steps" => o.steps = count(&flag, args.next())?,
            other => {
                return Err(format!(
                    "unknown argument `{other}`: --device, --backbone, --batch, --size, --steps"
                ));
            }
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let device = match o.device.device() {
        Ok(d) => d.autodiff(),
        Err(e) => {
            eprintln!("error: --device {}: {e}", o.device.name());
            return ExitCode::from(1);
        }
    };
    // The weights are drawn on the CPU: the same on every backend.
    let init = mllt_nn::backend::cpu_autodiff();
    let mut net = BackboneStep::new(o.backbone, o.batch, o.size, 0.02, 0, &init, &device);
    let start = Instant::now();
    let first = net.step(true);
    let warm_up = start.elapsed().as_secs_f64();
    let mut times: Vec<f64> = (0..o.steps)
        .map(|_| {
            let start = Instant::now();
            let step = net.step(false);
            assert!(step.loss.is_finite(), "loss {}", step.loss);
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let median = (times[(times.len() - 1) / 2] + times[times.len() / 2]) / 2.0;
    println!(
        "mllt {}, {}: batch {} at {s}x{s}, {:.2} images/s (median of {} steps; warm-up step {warm_up:.1} s, \
         loss {:.4}, gradient norm {:.4})",
        o.device.name(),
        o.backbone.name(),
        o.batch,
        o.batch as f64 / median,
        o.steps,
        first.loss,
        first.grad_norm.expect("measured"),
        s = o.size,
    );
    ExitCode::SUCCESS
}
