//! The backbones' kernels as a burn backend extension: on Flex the convolution's forward pass and both
//! gradients are [`super::conv`], the activations [`super::bounded_relu`], the frozen BatchNorm
//! [`super::channel_affine`]; the autodiff backend records one graph node per call, whose backward step
//! calls the gradients.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, Backend, Flex, TensorMetadata, backend_extension, get_or_init_device_settings,
};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Shape, Slice, TensorData};

use super::conv::{self, ConvKind, ConvPass, ConvShape};
use super::{bounded_relu, channel_affine};

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

    /// The gradient of `conv2d_nobias` with respect to `wrt`.
    fn conv2d_nobias_grad(
        wrt: ConvOperand,
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        burn_conv2d_grad::<Self>(wrt, x, weight, output_grad, options)
    }

    /// `min(max(x, 0), max)`: ReLU with `max = ∞`, ReLU6 with `max = 6`.
    fn bounded_relu(x: FloatTensor<Self>, max: f32) -> FloatTensor<Self> {
        Self::float_clamp(x, 0.0.into(), max.into())
    }

    /// The gradient of `bounded_relu` at `x`: `output_grad` where `0 < x < max`, else 0 (PyTorch's).
    fn bounded_relu_grad(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        max: f32,
    ) -> FloatTensor<Self> {
        let bool_dtype = get_or_init_device_settings::<Self>(&x.device()).bool_dtype;
        let outside = Self::bool_or(
            Self::float_lower_equal_elem(x.clone(), 0.0.into(), bool_dtype),
            Self::float_greater_equal_elem(x, max.into(), bool_dtype),
        );
        Self::float_mask_fill(output_grad, outside, 0.0.into())
    }

    /// `x[n, c, …] · scale[c] + shift[c]` for `x` of rank ≥ 2.
    fn channel_affine(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let channels = per_channel(&x);
        let y = Self::float_mul(x, Self::float_reshape(scale, channels.clone()));
        Self::float_add(y, Self::float_reshape(shift, channels))
    }

    /// The gradient of `channel_affine` with respect to `x`: `output_grad[n, c, …] · scale[c]`.
    fn channel_affine_x_grad(
        scale: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let channels = per_channel(&output_grad);
        Self::float_mul(output_grad, Self::float_reshape(scale, channels))
    }

    /// The gradients of `channel_affine` with respect to `scale` and `shift`, as rows of one `[2, C]`
    /// tensor: `Σ x · output_grad` and `Σ output_grad` over every axis but 1.
    fn channel_affine_parameter_grads(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let dims = output_grad.shape().to_vec();
        let sum_but_channels = |t: FloatTensor<Self>| {
            let t = (0..dims.len())
                .filter(|&d| d != 1)
                .fold(t, |t, d| Self::float_sum_dim(t, d));
            Self::float_reshape(t, Shape::from([1, dims[1]]))
        };
        let scale = sum_but_channels(Self::float_mul(x, output_grad.clone()));
        Self::float_cat(vec![scale, sum_but_channels(output_grad)], 0)
    }
}

/// The operand of `conv2d_nobias` a gradient is taken with respect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvOperand {
    Input,
    Weight,
}

/// burn's own gradient of a convolution with respect to `wrt`.
fn burn_conv2d_grad<B: Backend>(
    wrt: ConvOperand,
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    output_grad: FloatTensor<B>,
    options: ConvOptions<2>,
) -> FloatTensor<B> {
    match wrt {
        ConvOperand::Input => B::conv2d_x_backward(x, weight, output_grad, options),
        ConvOperand::Weight => B::conv2d_weight_backward(x, weight, output_grad, options),
    }
}

/// The shape `[1, C, 1, …]` that broadcasts a per-channel vector over `x`.
fn per_channel<T: TensorMetadata>(x: &T) -> Shape {
    let dims = x.shape().to_vec();
    Shape::from(
        dims.iter()
            .enumerate()
            .map(|(d, &n)| if d == 1 { n } else { 1 })
            .collect::<Vec<_>>(),
    )
}

/// The kind and geometry of `conv2d(x, weight)` when this crate's f32 kernels handle it (f32, dense or
/// depthwise), else `None` (burn-flex's own kernels run).
fn handled(
    x: &FlexTensor,
    weight: &FlexTensor,
    options: &ConvOptions<2>,
) -> Option<(ConvKind, ConvShape)> {
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
    shape.kind().filter(|_| all_f32).map(|kind| (kind, shape))
}

fn slice(tensor: &FlexTensor) -> &[f32] {
    tensor.as_slice::<f32>().expect("a contiguous f32 tensor")
}

fn flex(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

/// [`conv::compute`] on two tensors, into a tensor of `shape`.
fn run_conv(
    kind: ConvKind,
    pass: ConvPass,
    a: &FlexTensor,
    b: &FlexTensor,
    s: &ConvShape,
    shape: impl Into<Shape>,
) -> FlexTensor {
    let (a, b) = (a.to_contiguous(), b.to_contiguous());
    flex(conv::compute(kind, pass, slice(&a), slice(&b), s), shape)
}

impl CpuKernels for Flex {
    fn conv2d_nobias(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        // burn-flex's own depthwise kernel is about twice as fast at stride 1 (`conv_gradients` bench).
        let ours = handled(&x, &weight, &options)
            .filter(|(kind, s)| !(*kind == ConvKind::Depthwise && s.stride == [1, 1]));
        let Some((kind, s)) = ours else {
            return Flex::conv2d(x, weight, None, options);
        };
        let y_shape = [s.batch, s.channels_out, s.output[0], s.output[1]];
        run_conv(kind, ConvPass::Forward, &x, &weight, &s, y_shape)
    }

    fn conv2d_nobias_grad(
        wrt: ConvOperand,
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some((kind, s)) = handled(&x, &weight, &options) else {
            return burn_conv2d_grad::<Flex>(wrt, x, weight, output_grad, options);
        };
        match wrt {
            ConvOperand::Input => run_conv(
                kind,
                ConvPass::InputGrad,
                &weight,
                &output_grad,
                &s,
                x.shape(),
            ),
            ConvOperand::Weight => run_conv(
                kind,
                ConvPass::WeightGrad,
                &x,
                &output_grad,
                &s,
                weight.shape(),
            ),
        }
    }

    fn bounded_relu(x: FlexTensor, max: f32) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return <Flex as FloatTensorOps<Flex>>::float_clamp(x, 0.0.into(), max.into());
        }
        let xs = x.to_contiguous();
        flex(bounded_relu::forward(slice(&xs), max), x.shape())
    }

    fn bounded_relu_grad(x: FlexTensor, output_grad: FlexTensor, max: f32) -> FlexTensor {
        let (xs, dy) = (x.to_contiguous(), output_grad.to_contiguous());
        flex(
            bounded_relu::backward(slice(&xs), slice(&dy), max),
            x.shape(),
        )
    }

    fn channel_affine(x: FlexTensor, scale: FlexTensor, shift: FlexTensor) -> FlexTensor {
        let (xs, scale, shift) = (
            x.to_contiguous(),
            scale.to_contiguous(),
            shift.to_contiguous(),
        );
        let plane = plane_size(&x);
        flex(
            channel_affine::forward(slice(&xs), slice(&scale), slice(&shift), plane),
            x.shape(),
        )
    }

    fn channel_affine_x_grad(scale: FlexTensor, output_grad: FlexTensor) -> FlexTensor {
        let (scale, dy) = (scale.to_contiguous(), output_grad.to_contiguous());
        let plane = plane_size(&output_grad);
        flex(
            channel_affine::input_grad(slice(&dy), slice(&scale), plane),
            output_grad.shape(),
        )
    }

    fn channel_affine_parameter_grads(x: FlexTensor, output_grad: FlexTensor) -> FlexTensor {
        let (xs, dy) = (x.to_contiguous(), output_grad.to_contiguous());
        let channels = x.shape().as_slice()[1];
        let sums =
            channel_affine::parameter_grads(slice(&xs), slice(&dy), channels, plane_size(&x));
        flex(sums, [2, channels])
    }
}

/// The elements of one `(n, c)` plane of `x`: the product of its axes after the channel axis.
fn plane_size(x: &FlexTensor) -> usize {
    x.shape().as_slice()[2..].iter().product()
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
        for (node, wrt) in [
            (node_x, ConvOperand::Input),
            (node_weight, ConvOperand::Weight),
        ] {
            if let Some(node) = node {
                let grad = B::conv2d_nobias_grad(
                    wrt,
                    x.clone(),
                    weight.clone(),
                    output_grad.clone(),
                    options.clone(),
                );
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

/// The backward step of `bounded_relu`: the checkpointed input and the bound.
#[derive(Debug)]
struct BoundedReluBackward;

impl<B: Backend + CpuKernels> Backward<B, 1> for BoundedReluBackward {
    type State = (NodeId, f32);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let output_grad = grads.consume::<B>(&ops.node);
        let (x_state, max) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::bounded_relu_grad(x, output_grad, max));
        }
    }
}

/// The backward step of `channel_affine`: the checkpointed input and scale.
#[derive(Debug)]
struct ChannelAffineBackward;

impl<B: Backend + CpuKernels> Backward<B, 3> for ChannelAffineBackward {
    type State = (NodeId, NodeId);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_scale, node_shift] = ops.parents;
        let output_grad = grads.consume::<B>(&ops.node);
        let (x_state, scale_state) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let scale = checkpointer.retrieve_node_output::<FloatTensor<B>>(scale_state);
        if node_scale.is_some() || node_shift.is_some() {
            let sums = B::channel_affine_parameter_grads(x, output_grad.clone());
            let channels = sums.shape().as_slice()[1];
            let row = |r: usize| {
                let row = B::float_slice(
                    sums.clone(),
                    &[Slice::from(r..r + 1), Slice::from(0..channels)],
                );
                B::float_reshape(row, Shape::from([channels]))
            };
            for (node, r) in [(node_scale, 0), (node_shift, 1)] {
                if let Some(node) = node {
                    grads.register::<B>(node.id, row(r));
                }
            }
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::channel_affine_x_grad(scale, output_grad));
        }
    }
}

impl<B: Backend + CpuKernels, C: CheckpointStrategy> CpuKernels for Autodiff<B, C> {
    fn bounded_relu(x: FloatTensor<Self>, max: f32) -> FloatTensor<Self> {
        match BoundedReluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish((state, max), B::bounded_relu(x.into_primitive(), max))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::bounded_relu(x.into_primitive(), max)),
        }
    }

    fn channel_affine(
        x: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        shift: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let prepared = ChannelAffineBackward.prepare::<C>([x.node(), scale.node(), shift.node()]);
        match prepared.compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&scale));
                let y = B::channel_affine(
                    x.into_primitive(),
                    scale.into_primitive(),
                    shift.into_primitive(),
                );
                prep.finish(state, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::channel_affine(
                x.into_primitive(),
                scale.into_primitive(),
                shift.into_primitive(),
            )),
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
