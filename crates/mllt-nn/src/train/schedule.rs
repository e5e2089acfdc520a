//! The learning-rate schedule of the reference (semantics §6, mmcv `policy='step'` with linear warm-up).
//!
//! * Step decay by epoch: `regular_lr = lr · γ^k`, k the number of steps s with `epoch ≥ s` (0-based epochs).
//!   The paper: steps [55, 70] over 80 epochs without re-sampling, [5, 7] over 8 epochs with it; γ = 0.1.
//! * Linear warm-up over the first `warmup_iters` global iterations i (ratio r = 1/3):
//!   `lr = regular_lr · (1 − (1 − i/warmup_iters)·(1 − r))` for i < warmup_iters, then `regular_lr`.

use serde::{Deserialize, Serialize};

/// TOML `[schedule]`: epochs, decay steps, warm-up and batch size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Number of training epochs.
    pub epochs: usize,
    /// 0-based epochs at which the learning rate is multiplied by `lr_gamma`.
    pub lr_steps: Vec<usize>,
    /// Decay factor at each step (0.1).
    #[serde(default = "default_gamma")]
    pub lr_gamma: f64,
    /// Length of the linear warm-up in iterations (500).
    #[serde(default = "default_warmup_iters")]
    pub warmup_iters: usize,
    /// Warm-up starts at `lr · warmup_ratio` (1/3).
    #[serde(default = "default_warmup_ratio")]
    pub warmup_ratio: f64,
    /// Mini-batch size; the last incomplete batch of an epoch is dropped (32).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
}

fn default_gamma() -> f64 {
    0.1
}

fn default_warmup_iters() -> usize {
    500
}

fn default_warmup_ratio() -> f64 {
    1.0 / 3.0
}

fn default_batch_size() -> usize {
    32
}

impl ScheduleConfig {
    /// The paper's schedule with re-sampling: 8 epochs, steps [5, 7].
    pub fn resampled() -> Self {
        Self::with_steps(8, vec![5, 7])
    }

    /// The paper's schedule without re-sampling: 80 epochs, steps [55, 70].
    pub fn plain() -> Self {
        Self::with_steps(80, vec![55, 70])
    }

    fn with_steps(epochs: usize, lr_steps: Vec<usize>) -> Self {
        ScheduleConfig {
            epochs,
            lr_steps,
            lr_gamma: default_gamma(),
            warmup_iters: default_warmup_iters(),
            warmup_ratio: default_warmup_ratio(),
            batch_size: default_batch_size(),
        }
    }

    /// Checks ranges; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        if self.epochs == 0 {
            return Err("schedule.epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("schedule.batch_size must be at least 1".into());
        }
        if !(self.lr_gamma.is_finite() && self.lr_gamma > 0.0) {
            return Err(format!(
                "schedule.lr_gamma must be positive, got {}",
                self.lr_gamma
            ));
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return Err(format!(
                "schedule.warmup_ratio must be in [0, 1], got {}",
                self.warmup_ratio
            ));
        }
        if self.lr_steps.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "schedule.lr_steps must be increasing, got {:?}",
                self.lr_steps
            ));
        }
        Ok(())
    }

    /// The learning rate at 0-based `epoch` and 0-based global iteration `iteration`, from base rate `lr`.
    pub fn lr(&self, lr: f64, epoch: usize, iteration: usize) -> f64 {
        let decays = self.lr_steps.iter().filter(|&&s| epoch >= s).count();
        let regular = lr * self.lr_gamma.powi(decays as i32);
        if iteration < self.warmup_iters {
            let k = (1.0 - iteration as f64 / self.warmup_iters as f64) * (1.0 - self.warmup_ratio);
            regular * (1.0 - k)
        } else {
            regular
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_schedule_values() {
        let s = ScheduleConfig::resampled();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * b.abs().max(1.0);
        assert!(close(s.lr(0.02, 0, 0), 0.02 / 3.0));
        assert!(close(s.lr(0.02, 0, 250), 0.02 * (1.0 - 0.5 * 2.0 / 3.0)));
        assert!(close(
            s.lr(0.02, 4, 499),
            0.02 * (1.0 - (1.0 / 500.0) * 2.0 / 3.0)
        ));
        assert!(close(s.lr(0.02, 4, 500), 0.02));
        assert!(close(s.lr(0.02, 5, 600), 0.002));
        assert!(close(s.lr(0.02, 6, 900), 0.002));
        assert!(close(s.lr(0.02, 7, 960), 0.0002));
        // Warm-up multiplies the decayed rate (VOC: 121 it/epoch, epoch 4 starts inside the warm-up).
        assert!(close(s.lr(0.02, 5, 400), 0.002 * (1.0 - 0.2 * 2.0 / 3.0)));
        let p = ScheduleConfig::plain();
        assert!(close(p.lr(0.02, 54, 10_000), 0.02) && close(p.lr(0.02, 55, 10_000), 0.002));
        assert!(close(p.lr(0.02, 79, 10_000), 0.0002));
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = ScheduleConfig::plain();
        s.lr_steps = vec![70, 55];
        assert!(s.validate().unwrap_err().contains("schedule.lr_steps"));
        s = ScheduleConfig::plain();
        s.batch_size = 0;
        assert!(s.validate().unwrap_err().contains("schedule.batch_size"));
    }
}
