//! `BatchNorm1d` with PyTorch's semantics (semantics §5: the PFC neck's BN trains on batch statistics,
//! momentum 0.1, eps 1e-5).
//!
//! burn's own `BatchNorm` updates its running variance with the *biased* batch variance; PyTorch uses the
//! unbiased one (`var · B/(B−1)`), which is what the reference's test-time outputs depend on. The running
//! statistics here are buffers: parameters that never require a gradient, so the optimiser skips them
//! (as `torch.optim.SGD` skips buffers) while checkpoints still carry them.

use burn::module::{Module, Param};
use burn::tensor::module::{batch_norm, batch_norm_train};
use burn::tensor::{Device, Tensor};

/// A 1-d batch normalisation over the feature axis of `[batch, features]` inputs.
#[derive(Module, Debug)]
pub struct BatchNorm1d {
    /// Scale γ, initialised to 1.
    pub gamma: Param<Tensor<1>>,
    /// Shift β, initialised to 0.
    pub beta: Param<Tensor<1>>,
    /// Running mean (buffer), initialised to 0.
    pub running_mean: Param<Tensor<1>>,
    /// Running unbiased variance (buffer), initialised to 1.
    pub running_var: Param<Tensor<1>>,
    /// Weight of the new batch statistic in the running average (PyTorch's `momentum`).
    pub momentum: f64,
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

/// A buffer: a parameter value that never requires a gradient.
pub(crate) fn buffer<const D: usize>(
    value: Tensor<D>,
    like: Option<&Param<Tensor<D>>>,
) -> Param<Tensor<D>> {
    let id = like.map_or_else(burn::module::ParamId::new, |p| p.id);
    Param::initialized(id, value.set_require_grad(false))
}

impl BatchNorm1d {
    /// PyTorch's defaults: γ = 1, β = 0, running mean 0 and variance 1, momentum 0.1, eps 1e-5.
    pub fn new(features: usize, device: &Device) -> Self {
        BatchNorm1d {
            gamma: Param::from_tensor(Tensor::ones([features], device)),
            beta: Param::from_tensor(Tensor::zeros([features], device)),
            running_mean: buffer(Tensor::zeros([features], device), None),
            running_var: buffer(Tensor::ones([features], device), None),
            momentum: 0.1,
            epsilon: 1e-5,
        }
    }

    /// Training mode: normalise with the batch statistics (biased variance) and fold them into the running
    /// statistics, the variance unbiased by B/(B−1) as `torch.nn.BatchNorm1d` does.
    pub fn forward_train(&mut self, input: Tensor<2>) -> Tensor<2> {
        let [batch, _] = input.dims();
        let out = batch_norm_train(input, self.gamma.val(), self.beta.val(), self.epsilon);
        let unbias = if batch > 1 {
            batch as f64 / (batch - 1) as f64
        } else {
            1.0
        };
        let m = self.momentum;
        let mean = self.running_mean.val().mul_scalar(1.0 - m) + out.mean.mul_scalar(m);
        let var = self.running_var.val().mul_scalar(1.0 - m) + out.variance.mul_scalar(m * unbias);
        self.set_running(mean, var);
        out.output
    }

    /// Replaces the running statistics (buffers).
    pub fn set_running(&mut self, mean: Tensor<1>, var: Tensor<1>) {
        self.running_mean = buffer(mean, Some(&self.running_mean));
        self.running_var = buffer(var, Some(&self.running_var));
    }

    /// Evaluation mode: normalise with the running statistics.
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        let device = input.device();
        batch_norm(
            input,
            self.gamma.val(),
            self.beta.val(),
            self.running_mean.val().to_device(&device),
            self.running_var.val().to_device(&device),
            self.epsilon,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn running_statistics_follow_pytorch() {
        let device = Device::flex();
        let mut bn = BatchNorm1d::new(2, &device);
        // Column 0: 1, 2, 3, 6 (mean 3, biased var 3.5, unbiased 14/3); column 1 constant 5.
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![1f32, 5., 2., 5., 3., 5., 6., 5.], [4, 2]),
            &device,
        );
        let y = bn.forward_train(x.clone());
        let y = y.into_data().try_into_vec_as::<f32>().unwrap();
        let expect0 = (1.0 - 3.0) / (3.5f64 + 1e-5).sqrt();
        assert!((y[0] as f64 - expect0).abs() < 1e-5, "{y:?}");
        assert_eq!(y[1], 0.0);
        let mean = values(bn.running_mean.val());
        let var = values(bn.running_var.val());
        assert!(
            (mean[0] - 0.3).abs() < 1e-6 && (mean[1] - 0.5).abs() < 1e-6,
            "{mean:?}"
        );
        assert!(
            (var[0] as f64 - (0.9 + 0.1 * 14.0 / 3.0)).abs() < 1e-6,
            "{var:?}"
        );
        assert!((var[1] - 0.9).abs() < 1e-6, "{var:?}");
        // Evaluation uses the running statistics.
        let e = bn.forward(x).into_data().try_into_vec_as::<f32>().unwrap();
        let expect = (1.0 - 0.3) / (var[0] as f64 + 1e-5).sqrt();
        assert!((e[0] as f64 - expect).abs() < 1e-5, "{e:?}");
    }
}
