//! A 2-d BatchNorm that always normalises with its running statistics: the backbone BatchNorm of the
//! reference, whose config sets `norm_eval=True` (every BN layer of the backbone stays in eval mode while
//! the rest of the network trains), as torchvision's `FrozenBatchNorm2d` does.
//!
//! The running mean and variance are buffers ([`RunningState`]): the checkpoint stores load into them
//! (`running_mean`, `running_var`) but they are not parameters, never require a gradient (burn keeps a
//! running state out of the autodiff graph whatever `require_grad` a mapper asks for) and are never
//! updated. The affine γ (`weight`) and β (`bias`) are ordinary trainable parameters. The field names are
//! PyTorch's, so a `BatchNorm2d` state dict loads without renaming.

use burn::module::{Module, Param, RunningState};
use burn::tensor::{Device, Tensor};

/// `y = (x − μ) · γ / √(σ² + ε) + β` per channel of `[N, C, H, W]` inputs, with the stored μ and σ².
#[derive(Module, Debug)]
pub struct FrozenBatchNorm2d {
    /// Scale γ, initialised to 1.
    pub weight: Param<Tensor<1>>,
    /// Shift β, initialised to 0.
    pub bias: Param<Tensor<1>>,
    /// Running mean μ (constant), initialised to 0.
    pub running_mean: RunningState<Tensor<1>>,
    /// Running variance σ² (constant), initialised to 1.
    pub running_var: RunningState<Tensor<1>>,
    /// Added to the variance before the square root (PyTorch's `eps`).
    pub epsilon: f64,
}

impl FrozenBatchNorm2d {
    /// `channels` channels with γ = 1, β = 0, μ = 0, σ² = 1 and the given ε (1e-5 in torchvision's
    /// ResNet, 1e-3 in the TensorFlow-trained EfficientNet-Lite).
    pub fn new(channels: usize, epsilon: f64, device: &Device) -> Self {
        FrozenBatchNorm2d {
            weight: Param::from_tensor(Tensor::ones([channels], device)),
            bias: Param::from_tensor(Tensor::zeros([channels], device)),
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
            epsilon,
        }
    }

    /// Normalises `[N, C, H, W]` as one scale and one shift per channel:
    /// `scale = γ / √(σ² + ε)`, `shift = β − μ · scale`, `y = x · scale + shift`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let device = x.device();
        let mean = self.running_mean.value().to_device(&device);
        let var = self.running_var.value().to_device(&device);
        let scale = self.weight.val() / var.add_scalar(self.epsilon).sqrt();
        let shift = self.bias.val() - mean * scale.clone();
        crate::kernels::channel_affine(x, scale, shift)
    }
}

#[cfg(test)]
mod tests {
    use burn::optim::GradientsParams;
    use burn::tensor::TensorData;

    use super::*;
    use crate::backend::cpu_autodiff;

    fn tensor1(values: &[f32], device: &Device) -> Tensor<1> {
        Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
    }

    /// Two channels, hand-computed: y = (x − μ)·γ/√(σ² + ε) + β with ε = 0.25 so the roots are exact.
    /// The gradient reaches γ and β and not the running statistics.
    #[test]
    fn normalises_with_running_statistics() {
        let device = cpu_autodiff();
        let mut bn = FrozenBatchNorm2d::new(2, 0.25, &device);
        bn.weight = Param::from_tensor(tensor1(&[2.0, -1.0], &device));
        bn.bias = Param::from_tensor(tensor1(&[0.5, 3.0], &device));
        bn.running_mean = RunningState::new(tensor1(&[1.0, -2.0], &device));
        bn.running_var = RunningState::new(tensor1(&[3.75, 0.0], &device));
        // [1, 2, 1, 2]: channel 0 holds (1, 5), channel 1 holds (−2, 0).
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![1.0f32, 5.0, -2.0, 0.0], [1, 2, 1, 2]),
            &device,
        );
        let y = bn.forward(x);
        // Channel 0: scale 2/√4 = 1, (x − 1)·1 + 0.5; channel 1: scale −1/√0.25 = −2, (x + 2)·(−2) + 3.
        let expected = [0.5f32, 4.5, 3.0, -1.0];
        let got: Vec<f32> = y.clone().into_data().iter::<f32>().collect();
        assert_eq!(got, expected);

        let grads = GradientsParams::from_grads(y.sum().backward(), &bn);
        // ∂Σy/∂γ_c = Σ (x − μ)/√(σ² + ε), ∂Σy/∂β_c = number of positions.
        let weight_grad: Vec<f32> = grads
            .get::<1>(bn.weight.id)
            .unwrap()
            .into_data()
            .iter::<f32>()
            .collect();
        assert_eq!(weight_grad, [2.0, 4.0]);
        let bias_grad: Vec<f32> = grads
            .get::<1>(bn.bias.id)
            .unwrap()
            .into_data()
            .iter::<f32>()
            .collect();
        assert_eq!(bias_grad, [2.0, 2.0]);
        assert_eq!(grads.len(), 2, "only γ and β have gradients");
    }
}
