//! The convolution as a burn backend extension: on Flex its forward pass and both gradients are
//! [`super::kernels`]; the autodiff backend records one graph node whose backward step calls the
//! gradients.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Shape, TensorData};

use super::kernels::{self, ConvKind, ConvShape};

/// A bias-free 2-d convolution whose backward pass a backend may compute its own way.
#[backend_extension(Flex, Autodiff)]
pub trait ConvBackend: Backend {
    /// `conv2d(x, weight)` without bias.
    fn conv2d_nobias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// The gradient of `conv2d_nobias` with respect to `x`.
    fn conv2d_nobias_x_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }

    /// The gradient of `conv2d_nobias` with respect to `weight`.
    fn conv2d_nobias_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, output_grad, options)
    }
}

/// The geometry of `conv2d(x, weight)` when this crate's f32 kernels handle it (f32, dense or depthwise),
/// else `None` (burn-flex's own kernels run).
fn handled(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Option<ConvShape> {
    let all_f32 = x.dtype() == DType::F32 && weight.dtype() == DType::F32;
    let [batch, channels_in, h_in, w_in] = x.shape().dims();
    let [channels_out, _, k_h, k_w] = weight.shape().dims();
    let out = |axis: usize, size: usize, kernel: usize| {
        let (begin, end) = options.padding[axis];
        let reach = options.dilation[axis] * (kernel - 1) + 1;
        (size + begin + end)
            .checked_sub(reach)
            .map(|n| n / options.stride[axis] + 1)
    };
    let shape = ConvShape {
        batch,
        channels_in,
        input: [h_in, w_in],
        channels_out,
        output: [out(0, h_in, k_h)?, out(1, w_in, k_w)?],
        kernel: [k_h, k_w],
        stride: options.stride,
        padding: options.padding_begin(),
        dilation: options.dilation,
        groups: options.groups,
    };
    (all_f32 && shape.kind().is_some()).then_some(shape)
}

/// A contiguous copy (or the tensor itself, when already contiguous) whose f32 values `slice` reads.
fn contiguous(tensor: &FlexTensor) -> FlexTensor {
    tensor.to_contiguous()
}

fn slice(tensor: &FlexTensor) -> &[f32] {
    tensor.as_slice::<f32>().expect("a contiguous f32 tensor")
}

fn flex(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

impl ConvBackend for Flex {
    fn conv2d_nobias(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        let Some(s) = handled(&x, &weight, &options) else {
            return Flex::conv2d(x, weight, None, options);
        };
        let (xs, w) = (contiguous(&x), contiguous(&weight));
        let y = match s.kind() {
            Some(ConvKind::Depthwise) => kernels::forward_depthwise(slice(&xs), slice(&w), &s),
            _ => kernels::forward_dense(slice(&xs), slice(&w), &s),
        };
        flex(y, [s.batch, s.channels_out, s.output[0], s.output[1]])
    }

    fn conv2d_nobias_x_grad(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(s) = handled(&x, &weight, &options) else {
            return Flex::conv2d_x_backward(x, weight, output_grad, options);
        };
        let (w, dy) = (contiguous(&weight), contiguous(&output_grad));
        let dx = match s.kind() {
            Some(ConvKind::Depthwise) => kernels::input_grad_depthwise(slice(&w), slice(&dy), &s),
            _ => kernels::input_grad_dense(slice(&w), slice(&dy), &s),
        };
        flex(dx, x.shape())
    }

    fn conv2d_nobias_weight_grad(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(s) = handled(&x, &weight, &options) else {
            return Flex::conv2d_weight_backward(x, weight, output_grad, options);
        };
        let (xs, dy) = (contiguous(&x), contiguous(&output_grad));
        let dw = match s.kind() {
            Some(ConvKind::Depthwise) => kernels::weight_grad_depthwise(slice(&xs), slice(&dy), &s),
            _ => kernels::weight_grad_dense(slice(&xs), slice(&dy), &s),
        };
        flex(dw, weight.shape())
    }
}

/// The backward step of `conv2d_nobias`: the checkpointed input and weight, and the options.
#[derive(Debug)]
struct Conv2dBackward;

impl<B: Backend + ConvBackend> Backward<B, 2> for Conv2dBackward {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let output_grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
        if let Some(node) = node_x {
            let grad = B::conv2d_nobias_x_grad(
                x.clone(),
                weight.clone(),
                output_grad.clone(),
                options.clone(),
            );
            grads.register::<B>(node.id, grad);
        }
        if let Some(node) = node_weight {
            grads.register::<B>(
                node.id,
                B::conv2d_nobias_weight_grad(x, weight, output_grad, options),
            );
        }
    }
}

impl<B: Backend + ConvBackend, C: CheckpointStrategy> ConvBackend for Autodiff<B, C> {
    fn conv2d_nobias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match Conv2dBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let output =
                    B::conv2d_nobias(x.into_primitive(), weight.into_primitive(), options.clone());
                prep.finish((x_state, weight_state, options), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv2d_nobias(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }
}
