//! The backbones' convolutions. On the Flex CPU backend their forward pass and gradients are this
//! crate's kernels ([`kernels`]), plugged in through a burn backend extension ([`extension`]); on any
//! other backend they are burn's own `conv2d`.

mod extension;
pub mod kernels;

use burn::backend::{Dispatch, DispatchDevice};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;

pub use extension::ConvBackend;

/// `conv.forward(x)` for a bias-free [`Conv2d`], with the CPU kernels of [`kernels`].
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
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
    conv2d(x, conv.weight.val(), options)
}

/// TensorFlow's `SAME` padding of one axis, as burn's [`PaddingConfig2d::Same`] computes it: the output
/// has `⌈size / stride⌉` positions, and of the padding this needs the smaller half goes before.
fn same_padding(kernel: usize, stride: usize, size: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = match out {
        0 => 0,
        _ => ((out - 1) * stride + kernel).saturating_sub(size),
    };
    (total / 2, total - total / 2)
}

/// A bias-free 2-d convolution: through [`ConvBackend`] on Flex (with or without autodiff), burn's
/// `conv2d` elsewhere.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    if matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_)) {
        Tensor::from_dispatch(<Dispatch as ConvBackend>::conv2d_nobias(
            x.into_dispatch(),
            weight.into_dispatch(),
            options,
        ))
    } else {
        burn::tensor::module::conv2d(x, weight, None, options)
    }
}
