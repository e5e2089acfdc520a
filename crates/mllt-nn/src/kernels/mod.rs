//! The backbones' compute kernels. On the Flex CPU backend the convolutions (forward pass and both
//! gradients, [`conv`]), the activations ([`bounded_relu`]) and the frozen BatchNorm
//! ([`channel_affine`]) are this crate's, parallel on rayon, plugged into burn through a backend
//! extension ([`CpuKernels`]); on any other backend they are burn's own operations.

pub mod bounded_relu;
pub mod channel_affine;
pub mod conv;
mod extension;
pub(crate) mod gemm;

use burn::backend::{Dispatch, DispatchDevice};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;
use rayon::prelude::*;

pub use extension::{ConvOperand, CpuKernels};

/// The fewest elements one rayon task of an element-wise kernel takes.
const MIN_LEN: usize = 1 << 14;

/// `len` zeros, written in parallel (a fresh buffer's page faults and zeroing are spread over the
/// threads instead of stalling the calling one).
fn zeros(len: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    out.par_extend(rayon::iter::repeat_n(0.0f32, len).with_min_len(MIN_LEN));
    out
}

/// Whether `tensor` lives on Flex (with or without autodiff), where [`CpuKernels`] applies.
fn on_flex<const D: usize>(tensor: &Tensor<D>) -> bool {
    is_flex(&tensor.device())
}

/// Whether `device` is Flex, with or without autodiff.
pub(crate) fn is_flex(device: &burn::tensor::Device) -> bool {
    matches!(
        device.clone().inner().as_dispatch(),
        DispatchDevice::Flex(_)
    )
}

/// `conv.forward(x)` for a bias-free [`Conv2d`]: [`CpuKernels::conv2d_nobias`] on Flex.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    debug_assert!(
        conv.bias.is_none(),
        "the backbones' convolutions have no bias"
    );
    let [_, _, height, width] = x.dims();
    let pair = |axis: usize, size: usize| match conv.padding {
        PaddingConfig2d::Valid => (0, 0),
        PaddingConfig2d::Same => same_padding(conv.kernel_size[axis], conv.stride[axis], size),
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)][axis],
    };
    let options = ConvOptions::new_with_padding(
        conv.stride,
        [pair(0, height), pair(1, width)],
        conv.dilation,
        conv.groups,
    );
    let weight = conv.weight.val();
    if !on_flex(&x) {
        return burn::tensor::module::conv2d(x, weight, None, options);
    }
    Tensor::from_dispatch(<Dispatch as CpuKernels>::conv2d_nobias(
        x.into_dispatch(),
        weight.into_dispatch(),
        options,
    ))
}

/// ReLU with PyTorch's gradient: [`CpuKernels::bounded_relu`] on Flex, [`masked_bounded_relu`] elsewhere.
pub fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    bounded_relu(x, f32::INFINITY)
}

/// ReLU6 with PyTorch's gradient: [`CpuKernels::bounded_relu`] on Flex, [`masked_bounded_relu`] elsewhere.
pub fn relu6<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    bounded_relu(x, 6.0)
}

fn bounded_relu<const D: usize>(x: Tensor<D>, max: f32) -> Tensor<D> {
    if !on_flex(&x) {
        return masked_bounded_relu(x, max);
    }
    Tensor::from_dispatch(<Dispatch as CpuKernels>::bounded_relu(
        x.into_dispatch(),
        max,
    ))
}

/// `min(max(x, 0), max)` from burn's differentiable operations, with PyTorch's gradient (`dy` where
/// `0 < x < max`, else 0) on any backend: `x · m + max · [x ≥ max]` with the mask `m = [0 < x < max]` a
/// constant. burn's `clamp` (and its `relu6`) would let the gradient through at the bounds, where
/// activations are often exactly 0, so a GPU run would not follow the CPU kernel (nor PyTorch).
fn masked_bounded_relu<const D: usize>(x: Tensor<D>, max: f32) -> Tensor<D> {
    let inside = x
        .clone()
        .greater_elem(0.0)
        .bool_and(x.clone().lower_elem(max))
        .float()
        .detach();
    let y = x.clone() * inside;
    if max.is_finite() {
        y + x.greater_equal_elem(max).float().detach() * max
    } else {
        y
    }
}

/// `x[n, c, …] · scale[c] + shift[c]`: [`CpuKernels::channel_affine`] (one fused pass on Flex).
pub fn channel_affine<const D: usize>(
    x: Tensor<D>,
    scale: Tensor<1>,
    shift: Tensor<1>,
) -> Tensor<D> {
    if !on_flex(&x) {
        let mut channels = [1; D];
        channels[1] = scale.dims()[0];
        return x * scale.reshape(channels) + shift.reshape(channels);
    }
    Tensor::from_dispatch(<Dispatch as CpuKernels>::channel_affine(
        x.into_dispatch(),
        scale.into_dispatch(),
        shift.into_dispatch(),
    ))
}

/// TensorFlow's `SAME` padding of one axis, as burn's [`PaddingConfig2d::Same`] computes it: the output
/// has `⌈size / stride⌉` positions, and of the padding this needs the smaller half goes before.
fn same_padding(kernel: usize, stride: usize, size: usize) -> (usize, usize) {
    let total = match size.div_ceil(stride) {
        0 => 0,
        out => ((out - 1) * stride + kernel).saturating_sub(size),
    };
    (total / 2, total - total / 2)
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;
    use crate::backend::cpu_autodiff;

    /// The generic ReLU6 the GPU backends run, on the CPU: values and PyTorch's gradient, zero at both
    /// bounds (`F.relu6(x).backward(dy)`), like the CPU kernel's.
    #[test]
    fn masked_relu6_has_pytorchs_gradient() {
        let device = cpu_autodiff();
        let x = Tensor::<1>::from_data(
            TensorData::new(vec![-2.0f32, 0.0, 0.5, 5.99, 6.0, 7.5], [6]),
            &device,
        )
        .require_grad();
        for max in [6.0, f32::INFINITY] {
            let y = masked_bounded_relu(x.clone(), max);
            let values: Vec<f32> = y.clone().into_data().iter::<f32>().collect();
            let want: Vec<f32> = [-2.0f32, 0.0, 0.5, 5.99, 6.0, 7.5]
                .iter()
                .map(|v| v.clamp(0.0, max))
                .collect();
            assert_eq!(values, want);
            let weights = Tensor::<1>::from_data(
                TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [6]),
                &device,
            );
            let grads = (y * weights).sum().backward();
            let dx: Vec<f32> = x.grad(&grads).unwrap().into_data().iter::<f32>().collect();
            let want = if max == 6.0 {
                vec![0.0, 0.0, 3.0, 4.0, 0.0, 0.0]
            } else {
                vec![0.0, 0.0, 3.0, 4.0, 5.0, 6.0]
            };
            assert_eq!(dx, want, "max {max}");
        }
    }
}
