//! The backbones' kernels as a burn backend extension: on Flex the convolution's forward pass and both
//! gradients are [`super::conv`], ReLU6 is [`super::relu6`]; the autodiff backend records one graph node
//! per call, whose backward step calls the gradients.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, Backend, Flex, TensorMetadata, backend_extension, get_or_init_device_settings,
};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Shape, TensorData};

use super::conv::{self, ConvKind, ConvShape};
use super::relu6;

/// The operations of the backbones a backend may compute its own way; the defaults are burn's.
#[backend_extension(Flex, Autodiff)]
pub trait CpuKernels: Backend {
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

    /// `min(max(x, 0), 6)`.
    fn relu6(x: FloatTensor<Self>) -> FloatTensor<Self> {
        relu6_by_ops::<Self>(x)
    }

    /// The gradient of `relu6` at `x`: `output_grad` where `0 < x < 6`, else 0 (PyTorch's).
    fn relu6_grad(x: FloatTensor<Self>, output_grad: FloatTensor<Self>) -> FloatTensor<Self> {
        relu6_grad_by_ops::<Self>(x, output_grad)
    }
}

/// [`CpuKernels::relu6`] from burn's tensor operations.
fn relu6_by_ops<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::float_clamp(x, 0.0.into(), 6.0.into())
}

/// [`CpuKernels::relu6_grad`] from burn's tensor operations.
fn relu6_grad_by_ops<B: Backend>(x: FloatTensor<B>, output_grad: FloatTensor<B>) -> FloatTensor<B> {
    let bool_dtype = get_or_init_device_settings::<B>(&x.device()).bool_dtype;
    let outside = B::bool_or(
        B::float_lower_equal_elem(x.clone(), 0.0.into(), bool_dtype),
        B::float_greater_equal_elem(x, 6.0.into(), bool_dtype),
    );
    B::float_mask_fill(output_grad, outside, 0.0.into())
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

impl CpuKernels for Flex {
    fn conv2d_nobias(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        let Some(s) = handled(&x, &weight, &options) else {
            return Flex::conv2d(x, weight, None, options);
        };
        let (xs, w) = (contiguous(&x), contiguous(&weight));
        let y = match s.kind() {
            Some(ConvKind::Depthwise) => conv::forward_depthwise(slice(&xs), slice(&w), &s),
            _ => conv::forward_dense(slice(&xs), slice(&w), &s),
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
            Some(ConvKind::Depthwise) => conv::input_grad_depthwise(slice(&w), slice(&dy), &s),
            _ => conv::input_grad_dense(slice(&w), slice(&dy), &s),
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
            Some(ConvKind::Depthwise) => conv::weight_grad_depthwise(slice(&xs), slice(&dy), &s),
            _ => conv::weight_grad_dense(slice(&xs), slice(&dy), &s),
        };
        flex(dw, weight.shape())
    }

    fn relu6(x: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return relu6_by_ops::<Flex>(x);
        }
        let xs = contiguous(&x);
        flex(relu6::forward(slice(&xs)), x.shape())
    }

    fn relu6_grad(x: FlexTensor, output_grad: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 || output_grad.dtype() != DType::F32 {
            return relu6_grad_by_ops::<Flex>(x, output_grad);
        }
        let (xs, dy) = (contiguous(&x), contiguous(&output_grad));
        flex(relu6::backward(slice(&xs), slice(&dy)), x.shape())
    }
}

/// The backward step of `conv2d_nobias`: the checkpointed input and weight, and the options.
#[derive(Debug)]
struct Conv2dBackward;

impl<B: Backend + CpuKernels> Backward<B, 2> for Conv2dBackward {
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

/// The backward step of `relu6`: the checkpointed input.
#[derive(Debug)]
struct Relu6Backward;

impl<B: Backend + CpuKernels> Backward<B, 1> for Relu6Backward {
    type State = NodeId;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let output_grad = grads.consume::<B>(&ops.node);
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(ops.state);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::relu6_grad(x, output_grad));
        }
    }
}

impl<B: Backend + CpuKernels, C: CheckpointStrategy> CpuKernels for Autodiff<B, C> {
    fn relu6(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match Relu6Backward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, B::relu6(x.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::relu6(x.into_primitive())),
        }
    }

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
