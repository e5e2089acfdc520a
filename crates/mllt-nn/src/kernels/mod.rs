//! The backbones' compute kernels. On the Flex CPU backend the convolutions (forward pass and both
//! gradients, [`conv`]) and ReLU6 ([`relu6`]) are this crate's, plugged into burn through a backend
//! extension ([`CpuKernels`]); on any other backend they are burn's own operations.

pub mod conv;
mod extension;
pub mod relu6;

use burn::backend::{Dispatch, DispatchDevice};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;

pub use extension::CpuKernels;

/// Whether `tensor` lives on Flex (with or without autodiff), where [`CpuKernels`] applies.
fn on_flex<const D: usize>(tensor: &Tensor<D>) -> bool {
    matches!(
        tensor.device().inner().as_dispatch(),
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

/// ReLU6 with PyTorch's gradient: [`CpuKernels::relu6`] on Flex.
pub fn relu6<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_flex(&x) {
        return burn::tensor::activation::relu6(x);
    }
    Tensor::from_dispatch(<Dispatch as CpuKernels>::relu6(x.into_dispatch()))
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
