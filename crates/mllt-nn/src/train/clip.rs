//! Gradient clipping by the global L2 norm (semantics §6, mmcv `OptimizerHook` with
//! `grad_clip=dict(max_norm=35, norm_type=2)`, i.e. `torch.nn.utils.clip_grad_norm_`).
//!
//! The norm is taken over all gradients together, ‖g‖ = √(Σ_params Σ g²), and every gradient is multiplied by
//! `min(1, max_norm / (‖g‖ + 1e-6))`. burn's own clipping works per parameter, which is not the reference.
//! The coefficient stays on the device: no host synchronisation per step.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// Sums the squared entries of every gradient present in `grads`.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let sq = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + sq,
                None => sq,
            });
        }
    }
}

/// Multiplies every gradient present in `grads` by a one-element coefficient.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    coefficient: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let c: Tensor<D> = self.coefficient.clone().reshape([1; D]);
            self.grads.register(param.id, g * c);
        }
    }
}

/// The global L2 norm of the gradients of `module`'s parameters (`None` when there is no gradient).
pub fn grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    let mut visitor = SquaredNorm { grads, total: None };
    module.visit(&mut visitor);
    visitor.total.map(Tensor::sqrt)
}

/// Clips the gradients of `module` in place to a global L2 norm of at most `max_norm`, as
/// `clip_grad_norm_(params, max_norm, norm_type=2)`. Returns the norm before clipping.
pub fn clip_grad_norm<M: Module>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
) -> Option<Tensor<1>> {
    let norm = grad_norm(module, grads)?;
    let coefficient = norm
        .clone()
        .add_scalar(1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    module.visit(&mut Scale { grads, coefficient });
    Some(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    fn setup(scale: f32) -> (Linear, GradientsParams) {
        let device = Device::flex().autodiff();
        let layer = LinearConfig::new(2, 1).init(&device);
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![3.0f32 * scale, 4.0 * scale], [1, 2]),
            &device,
        );
        // d(sum(xW + b))/dW = xᵀ, d/db = 1: global norm √(9s² + 16s² + 1).
        let grads = layer.forward(x).sum().backward();
        let grads = GradientsParams::from_grads(grads, &layer);
        (layer, grads)
    }

    fn grad_values(layer: &Linear, grads: &GradientsParams) -> Vec<f32> {
        let mut v = grads
            .get::<2>(layer.weight.id)
            .unwrap()
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        v.extend(
            grads
                .get::<1>(layer.bias.as_ref().unwrap().id)
                .unwrap()
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap(),
        );
        v
    }

    #[test]
    fn clips_the_global_norm_like_torch() {
        let (layer, mut grads) = setup(10.0);
        let norm = clip_grad_norm(&layer, &mut grads, 35.0)
            .unwrap()
            .into_scalar::<f32>();
        let expected = (2500.0f32 + 1.0).sqrt();
        assert!((norm - expected).abs() < 1e-3, "{norm}");
        let c = 35.0 / (expected as f64 + 1e-6);
        let g = grad_values(&layer, &grads);
        for (got, want) in g.iter().zip([30.0 * c, 40.0 * c, c]) {
            assert!((*got as f64 - want).abs() < 1e-4, "{g:?}");
        }
        let clipped = grad_norm(&layer, &grads).unwrap().into_scalar::<f32>();
        assert!((clipped - 35.0).abs() < 1e-3, "{clipped}");
    }

    #[test]
    fn small_gradients_are_untouched() {
        let (layer, mut grads) = setup(1.0);
        clip_grad_norm(&layer, &mut grads, 35.0).unwrap();
        assert_eq!(grad_values(&layer, &grads), vec![3.0, 4.0, 1.0]);
    }
}
