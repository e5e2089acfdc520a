//! A bias-free 2-d convolution `y = conv(x, W)` and its two gradients on f32 NCHW buffers.
//!
//! Dense convolutions (`groups = 1`) are one GEMM per image, in the im2col formulation (Chellapilla et
//! al., 2006) that PyTorch's CPU backend also uses:
//!
//! * forward: `y_b[c_out, L] = W[c_out, (c_in, k_h, k_w)] · col(x_b)`,
//! * weight: `dW = Σ_b dY_b · col(x_b)ᵀ`,
//! * input: `dcol_b = Wᵀ · dY_b`, scattered back onto `dx_b` by col2im (the adjoint of im2col),
//!
//! where `L = H_out · W_out` and `col(x_b)` holds, for every kernel tap `(c_in, k_h, k_w)`, the input
//! pixel each output position reads (zero in the padding). A stride-1, unpadded 1×1 convolution needs
//! no im2col: `col(x_b)` is `x_b` itself.
//!
//! Depthwise convolutions (`groups = C_in = C_out`, EfficientNet) are per-channel loops. A strided one is
//! first split into its polyphase components (`x[s·i + p, s·j + q]` for each phase `(p, q)`), so that
//! every kernel tap becomes a unit-stride multiply-add over rows, which the compiler vectorises.
//!
//! burn 0.22's generic backward instead computes the weight gradient as a convolution of the
//! transposed input by the transposed output gradient: a thin GEMM per input channel that re-reads the
//! whole output gradient `C_in` times (and, for depthwise layers, one such convolution per channel).
//!
//! Threads: the forward pass and the input gradient give each thread whole images when the batch has at
//! least as many images as there are threads, and otherwise split each image's GEMM over the threads; the
//! weight gradient sums the images in order, each GEMM split over the threads.
//!
//! Determinism: every output element is accumulated by one GEMM call in a fixed order (GEMM blocks split
//! over output rows and columns only, col2im and depthwise loops parallel over channels), so the result
//! does not depend on scheduling or on the number of threads.

use rayon::prelude::*;

use super::gemm::gemm;

/// The geometry of a 2-d convolution: sizes of input, weight and output, and its options. The output
/// size is taken as given (it already accounts for asymmetric padding); `padding` is the top/left one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub batch: usize,
    pub channels_in: usize,
    /// `[H_in, W_in]`.
    pub input: [usize; 2],
    pub channels_out: usize,
    /// `[H_out, W_out]`.
    pub output: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Zero padding before the first row and column.
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
}

/// The convolutions these kernels handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvKind {
    /// `groups = 1`.
    Dense,
    /// `groups = C_in = C_out`: one `k_h × k_w` filter per channel.
    Depthwise,
}

/// What a kernel computes, and from which two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPass {
    /// The output `y` from `(x, W)`.
    Forward,
    /// The input gradient `dx` from `(W, dy)`.
    InputGrad,
    /// The weight gradient `dW` from `(x, dy)`.
    WeightGrad,
}

/// `pass` of a convolution of `kind` and geometry `s`, on the operands [`ConvPass`] names, in its order.
pub fn compute(kind: ConvKind, pass: ConvPass, a: &[f32], b: &[f32], s: &ConvShape) -> Vec<f32> {
    match (kind, pass) {
        (ConvKind::Dense, ConvPass::Forward) => forward_dense(a, b, s),
        (ConvKind::Dense, ConvPass::InputGrad) => input_grad_dense(a, b, s),
        (ConvKind::Dense, ConvPass::WeightGrad) => weight_grad_dense(a, b, s),
        (ConvKind::Depthwise, ConvPass::Forward) => forward_depthwise(a, b, s),
        (ConvKind::Depthwise, ConvPass::InputGrad) => input_grad_depthwise(a, b, s),
        (ConvKind::Depthwise, ConvPass::WeightGrad) => weight_grad_depthwise(a, b, s),
    }
}

impl ConvShape {
    /// Which kernel computes the gradients, `None` for grouped convolutions of another shape.
    pub fn kind(&self) -> Option<ConvKind> {
        if self.groups == 1 {
            Some(ConvKind::Dense)
        } else if self.groups == self.channels_in && self.groups == self.channels_out {
            Some(ConvKind::Depthwise)
        } else {
            None
        }
    }

    fn input_plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn output_plane(&self) -> usize {
        self.output[0] * self.output[1]
    }

    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// A stride-1, unpadded 1×1 convolution: `col(x_b) = x_b`.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1]
            && self.stride == [1, 1]
            && self.padding == [0, 0]
            && self.input == self.output
    }

    /// Along `axis`, for kernel tap `k`: the input offset `o·stride + offset` an output `o` reads, and
    /// the output range `lo..hi` whose reads fall inside the input (the others read padding).
    fn tap_range(&self, axis: usize, k: usize) -> (isize, usize, usize) {
        let offset = (k * self.dilation[axis]) as isize - self.padding[axis] as isize;
        let range = inside(
            self.output[axis],
            self.stride[axis],
            offset,
            self.input[axis],
        );
        (offset, range.start, range.end)
    }

    /// `[rows, columns]` of each zero-padded polyphase component of a depthwise input plane: output
    /// `(y, x)` reads element `(y + ⌊k_h·d_h / s_h⌋, x + ⌊k_w·d_w / s_w⌋)` of one component through tap
    /// `(k_h, k_w)`; one spare row takes the reads of the last row's extra columns.
    fn phase_dims(&self) -> [usize; 2] {
        let reach = |a: usize| (self.kernel[a] - 1) * self.dilation[a] / self.stride[a];
        [self.output[0] + reach(0) + 1, self.output[1] + reach(1)]
    }

    /// Tap `(k_h, k_w)` of a depthwise convolution: which polyphase component it reads, and where in it
    /// output `(0, 0)`'s read lies (output `(y, x)` reads `y · columns + x` further on).
    fn tap_start(&self, ki: usize, kj: usize) -> (usize, usize) {
        let [sy, sx] = self.stride;
        let (ry, rx) = (ki * self.dilation[0], kj * self.dilation[1]);
        (
            (ry % sy) * sx + rx % sx,
            (ry / sy) * self.phase_dims()[1] + rx / sx,
        )
    }
}

/// The `o` in `0..count` whose position `o·stride + offset` lies in `0..len`.
fn inside(count: usize, stride: usize, offset: isize, len: usize) -> std::ops::Range<usize> {
    let stride = stride as isize;
    let lo = if offset < 0 {
        (-offset + stride - 1) / stride
    } else {
        0
    };
    let hi = if (len as isize) > offset {
        (len as isize - offset + stride - 1) / stride
    } else {
        0
    };
    let hi = (hi as usize).min(count);
    (lo as usize).min(hi)..hi
}

/// `Σ term(a_i, b_i)` with eight independent partial sums, so that the compiler vectorises it.
fn sum_of_terms(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(&x, &y)| term(x, y))
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            acc[i] += term(x[i], y[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `Σ a_i · b_i`.
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    sum_of_terms(a, b, |x, y| x * y)
}

/// `Σ a_i`.
pub(super) fn sum(a: &[f32]) -> f32 {
    sum_of_terms(a, a, |x, _| x)
}

/// Runs `visit(b, out_b, scratch, split)` for every image `b` of `out` (`batch` equal chunks): in
/// parallel over the images, each GEMM on one thread (`split = false`), when there are at least as many
/// images as threads; else one image after another, each GEMM split over the threads. Either way every
/// element comes from one GEMM call that sums in a fixed order, so the result does not depend on the
/// thread count. `scratch` is a buffer the images of one thread reuse.
fn for_each_image(
    out: &mut [f32],
    batch: usize,
    visit: impl Fn(usize, &mut [f32], &mut Vec<f32>, bool) + Send + Sync,
) {
    let len = out.len() / batch.max(1);
    if len == 0 {
        return;
    }
    if batch >= rayon::current_num_threads() {
        out.par_chunks_exact_mut(len)
            .enumerate()
            .for_each_init(Vec::new, |scratch, (b, out_b)| {
                visit(b, out_b, scratch, false)
            });
    } else {
        let mut scratch = Vec::new();
        for (b, out_b) in out.chunks_exact_mut(len).enumerate() {
            visit(b, out_b, &mut scratch, true);
        }
    }
}

/// im2col of one image `x_b` (`[C_in, H_in, W_in]`) into `col` (`[C_in · k_h · k_w, L]`, row-major).
fn im2col(x: &[f32], s: &ConvShape, col: &mut [f32]) {
    let [kh, kw] = s.kernel;
    let (w_in, w_out, plane) = (s.input[1], s.output[1], s.input_plane());
    col.par_chunks_mut(s.output_plane())
        .enumerate()
        .for_each(|(row, out)| {
            let (c, ki, kj) = (row / (kh * kw), row / kw % kh, row % kw);
            let (oy, y0, y1) = s.tap_range(0, ki);
            let (ox, x0, x1) = s.tap_range(1, kj);
            let src = &x[c * plane..(c + 1) * plane];
            for (y, dst) in out.chunks_exact_mut(w_out).enumerate() {
                if y < y0 || y >= y1 {
                    dst.fill(0.0);
                    continue;
                }
                let line = &src[(y as isize * s.stride[0] as isize + oy) as usize * w_in..];
                dst[..x0].fill(0.0);
                dst[x1..].fill(0.0);
                let start = (x0 as isize * s.stride[1] as isize + ox) as usize;
                let source = line[start..].iter().step_by(s.stride[1]);
                for (d, v) in dst[x0..x1].iter_mut().zip(source) {
                    *d = *v;
                }
            }
        });
}

/// col2im: adds `dcol` (`[C_in · k_h · k_w, L]`) onto the image gradient `dx` (`[C_in, H_in, W_in]`),
/// each column entry to the input pixel its im2col entry was read from.
fn col2im(dcol: &[f32], s: &ConvShape, dx: &mut [f32]) {
    let [kh, kw] = s.kernel;
    let (w_in, w_out, l) = (s.input[1], s.output[1], s.output_plane());
    dx.par_chunks_mut(s.input_plane())
        .enumerate()
        .for_each(|(c, plane)| {
            for ki in 0..kh {
                let (oy, y0, y1) = s.tap_range(0, ki);
                for kj in 0..kw {
                    let (ox, x0, x1) = s.tap_range(1, kj);
                    let row = &dcol[((c * kh + ki) * kw + kj) * l..][..l];
                    for y in y0..y1 {
                        let iy = (y as isize * s.stride[0] as isize + oy) as usize;
                        let start = iy * w_in + (x0 as isize * s.stride[1] as isize + ox) as usize;
                        let target = plane[start..].iter_mut().step_by(s.stride[1]);
                        for (d, v) in target.zip(&row[y * w_out + x0..y * w_out + x1]) {
                            *d += *v;
                        }
                    }
                }
            }
        });
}

/// `col(x_b)` (`[C_in · k_h · k_w, L]`): `x_b` itself for a pointwise convolution, else im2col into `col`.
fn columns<'a>(x_b: &'a [f32], s: &ConvShape, col: &'a mut Vec<f32>) -> &'a [f32] {
    if s.is_pointwise() {
        return x_b;
    }
    col.resize(s.channels_in * s.taps() * s.output_plane(), 0.0);
    im2col(x_b, s, col);
    col
}

/// A dense (`groups = 1`) convolution's output, `[B, C_out, H_out, W_out]`, from the input `x`
/// (`[B, C_in, H_in, W_in]`) and the weight `w` (`[C_out, C_in, k_h, k_w]`).
fn forward_dense(x: &[f32], w: &[f32], s: &ConvShape) -> Vec<f32> {
    let (k, l) = (s.channels_in * s.taps(), s.output_plane());
    let x_len = s.channels_in * s.input_plane();
    let mut y = super::zeros(s.batch * s.channels_out * l);
    for_each_image(&mut y, s.batch, |b, y_b, col, split| {
        let x_b = &x[b * x_len..][..x_len];
        // y_b = W · col(x_b): [C_out, K] · [K, L].
        gemm(
            [s.channels_out, l, k],
            y_b,
            [l, 1],
            false,
            w,
            [k, 1],
            columns(x_b, s, col),
            [l, 1],
            split,
        );
    });
    y
}

/// The gradient of a dense convolution's weight, `[C_out, C_in, k_h, k_w]`, from the input `x` and the
/// output gradient `dy` (`[B, C_out, H_out, W_out]`).
fn weight_grad_dense(x: &[f32], dy: &[f32], s: &ConvShape) -> Vec<f32> {
    let (k, l) = (s.channels_in * s.taps(), s.output_plane());
    let (x_len, dy_len) = (s.channels_in * s.input_plane(), s.channels_out * l);
    let mut dw = vec![0.0f32; s.channels_out * k];
    let mut col = Vec::new();
    for (b, (x_b, dy_b)) in x
        .chunks_exact(x_len)
        .zip(dy.chunks_exact(dy_len))
        .enumerate()
    {
        // dW (+)= dY_b · col(x_b)ᵀ: [C_out, L] · [L, K].
        gemm(
            [s.channels_out, k, l],
            &mut dw,
            [k, 1],
            b > 0,
            dy_b,
            [l, 1],
            columns(x_b, s, &mut col),
            [1, l],
            true,
        );
    }
    dw
}

/// The gradient of a dense (`groups = 1`) convolution's input, `[B, C_in, H_in, W_in]`, from the weight
/// `w` (`[C_out, C_in, k_h, k_w]`) and the output gradient `dy`.
fn input_grad_dense(w: &[f32], dy: &[f32], s: &ConvShape) -> Vec<f32> {
    let (k, l) = (s.channels_in * s.taps(), s.output_plane());
    let dy_len = s.channels_out * l;
    let mut dx = super::zeros(s.batch * s.channels_in * s.input_plane());
    for_each_image(&mut dx, s.batch, |b, dx_b, dcol, split| {
        let dy_b = &dy[b * dy_len..][..dy_len];
        let target: &mut [f32] = if s.is_pointwise() {
            dx_b
        } else {
            dcol.resize(k * l, 0.0);
            dcol
        };
        // dcol_b = Wᵀ · dY_b: [K, C_out] · [C_out, L].
        gemm(
            [k, l, s.channels_out],
            target,
            [l, 1],
            false,
            w,
            [1, k],
            dy_b,
            [l, 1],
            split,
        );
        if !s.is_pointwise() {
            col2im(dcol, s, dx_b);
        }
    });
    dx
}

/// Visits the element pairs of a depthwise input plane (`[H_in, W_in]`) and of its zero-padded polyphase
/// components (see [`ConvShape::phase_dims`]): component `(p, q)` element `(i, j)` is the padded input at
/// `(s_h·i + p, s_w·j + q)`, that is input pixel `(s_h·i + p − pad_h, s_w·j + q − pad_w)`.
fn for_each_phase_row(
    s: &ConvShape,
    mut visit: impl FnMut(usize, usize, std::ops::Range<usize>, usize),
) {
    let [hq, wq] = s.phase_dims();
    let [sy, sx] = s.stride;
    let [h, w] = s.input;
    for phase in 0..sy * sx {
        let (py, px) = (phase / sx, phase % sx);
        let columns = inside(wq, sx, px as isize - s.padding[1] as isize, w);
        if columns.is_empty() {
            continue;
        }
        let first = (columns.start * sx + px) as isize - s.padding[1] as isize;
        for i in inside(hq, sy, py as isize - s.padding[0] as isize, h) {
            let row = sy * i + py - s.padding[0];
            // Component element (i, j) for j in `columns` is input (row, first + (j − start)·s_w).
            visit(
                (phase * hq + i) * wq,
                row * w,
                columns.clone(),
                first.max(0) as usize,
            );
        }
    }
}

/// Fills `out` with the zero-padded polyphase components of one input plane.
fn pad_phases(plane: &[f32], s: &ConvShape, out: &mut Vec<f32>) {
    let [hq, wq] = s.phase_dims();
    out.clear();
    out.resize(s.stride[0] * s.stride[1] * hq * wq, 0.0);
    for_each_phase_row(s, |dst, src, columns, first| {
        let source = plane[src + first..].iter().step_by(s.stride[1]);
        for (d, v) in out[dst..][columns].iter_mut().zip(source) {
            *d = *v;
        }
    });
}

/// The adjoint of [`pad_phases`]: adds each component element back onto its input pixel.
fn unpad_phases(phases: &[f32], s: &ConvShape, plane: &mut [f32]) {
    for_each_phase_row(s, |src, dst, columns, first| {
        let target = plane[dst + first..].iter_mut().step_by(s.stride[1]);
        for (d, v) in target.zip(&phases[src..][columns]) {
            *d += *v;
        }
    });
}

/// An output-sized plane (`[H_out, W_out]`) laid out with the components' row length, zero past `W_out`.
fn widen(plane: &[f32], s: &ConvShape, out: &mut Vec<f32>) {
    let wq = s.phase_dims()[1];
    out.clear();
    out.resize(s.output[0] * wq, 0.0);
    for (dst, src) in out
        .chunks_exact_mut(wq)
        .zip(plane.chunks_exact(s.output[1]))
    {
        dst[..src.len()].copy_from_slice(src);
    }
}

/// Calls `visit(tap, component offset)` for every kernel tap: through tap `t`, the widened output
/// (`[H_out, columns]`, see [`widen`]) reads the components from `offset` on, element for element.
fn for_each_tap(s: &ConvShape, mut visit: impl FnMut(usize, usize)) {
    let [hq, wq] = s.phase_dims();
    for ki in 0..s.kernel[0] {
        for kj in 0..s.kernel[1] {
            let (phase, start) = s.tap_start(ki, kj);
            visit(ki * s.kernel[1] + kj, phase * hq * wq + start);
        }
    }
}

/// Scratch buffers of one depthwise worker: padded components and a widened output plane.
type Scratch = (Vec<f32>, Vec<f32>);

/// A depthwise convolution's output, `[B, C, H_out, W_out]`, from `x` and `w` (`[C, 1, k_h, k_w]`):
/// for each tap, one multiply-add over the whole widened plane.
fn forward_depthwise(x: &[f32], w: &[f32], s: &ConvShape) -> Vec<f32> {
    let (plane_in, plane_out, taps) = (s.input_plane(), s.output_plane(), s.taps());
    let span = s.output[0] * s.phase_dims()[1];
    let mut y = super::zeros(s.batch * s.channels_out * plane_out);
    y.par_chunks_mut(plane_out).enumerate().for_each_init(
        Scratch::default,
        |(phases, acc), (bc, out)| {
            pad_phases(&x[bc * plane_in..][..plane_in], s, phases);
            let w_c = &w[bc % s.channels_in * taps..][..taps];
            acc.clear();
            acc.resize(span, 0.0);
            for_each_tap(s, |tap, offset| {
                for (a, v) in acc.iter_mut().zip(&phases[offset..offset + span]) {
                    *a += w_c[tap] * v;
                }
            });
            for (o, a) in out
                .chunks_exact_mut(s.output[1])
                .zip(acc.chunks_exact(span / s.output[0]))
            {
                o.copy_from_slice(&a[..o.len()]);
            }
        },
    );
    y
}

/// The gradient of a depthwise convolution's weight, `[C, 1, k_h, k_w]`: per tap, one dot product of the
/// widened output gradient with the components.
fn weight_grad_depthwise(x: &[f32], dy: &[f32], s: &ConvShape) -> Vec<f32> {
    let (plane_in, plane_out, taps, channels) =
        (s.input_plane(), s.output_plane(), s.taps(), s.channels_in);
    let span = s.output[0] * s.phase_dims()[1];
    let mut dw = vec![0.0f32; channels * taps];
    dw.par_chunks_mut(taps).enumerate().for_each_init(
        Scratch::default,
        |(phases, g), (c, dw_c)| {
            for b in 0..s.batch {
                let plane = (b * channels + c) * plane_in;
                pad_phases(&x[plane..plane + plane_in], s, phases);
                widen(&dy[(b * channels + c) * plane_out..][..plane_out], s, g);
                for_each_tap(s, |tap, offset| {
                    dw_c[tap] += dot(g, &phases[offset..offset + span])
                });
            }
        },
    );
    dw
}

/// The gradient of a depthwise convolution's input, `[B, C, H_in, W_in]`: per tap, one multiply-add of
/// the widened output gradient onto the components' gradient, then back onto the input pixels.
fn input_grad_depthwise(w: &[f32], dy: &[f32], s: &ConvShape) -> Vec<f32> {
    let (plane_in, plane_out, taps) = (s.input_plane(), s.output_plane(), s.taps());
    let [hq, wq] = s.phase_dims();
    let span = s.output[0] * wq;
    let mut dx = super::zeros(s.batch * s.channels_in * plane_in);
    dx.par_chunks_mut(plane_in).enumerate().for_each_init(
        Scratch::default,
        |(phases, g), (bc, plane)| {
            widen(&dy[bc * plane_out..][..plane_out], s, g);
            let w_c = &w[bc % s.channels_in * taps..][..taps];
            phases.clear();
            phases.resize(s.stride[0] * s.stride[1] * hq * wq, 0.0);
            for_each_tap(s, |tap, offset| {
                for (d, v) in phases[offset..offset + span].iter_mut().zip(g.iter()) {
                    *d += w_c[tap] * v;
                }
            });
            unpad_phases(phases, s, plane);
        },
    );
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The input pixel `(y, x)` of channel plane `plane` that output `(oy, ox)` reads through tap
    /// `(ki, kj)`, `None` in the padding: the definition of the convolution, written out.
    fn source(s: &ConvShape, [oy, ox]: [usize; 2], [ki, kj]: [usize; 2]) -> Option<usize> {
        let y = (oy * s.stride[0] + ki * s.dilation[0]) as isize - s.padding[0] as isize;
        let x = (ox * s.stride[1] + kj * s.dilation[1]) as isize - s.padding[1] as isize;
        let inside = y >= 0 && x >= 0 && (y as usize) < s.input[0] && (x as usize) < s.input[1];
        inside.then(|| y as usize * s.input[1] + x as usize)
    }

    /// The output and both gradients by the defining sums, in f64: for every output element and tap,
    /// `y[co, o] += W[co, ci, ki, kj] · x[ci, pixel]`, `dW[co, ci, ki, kj] += dy[co, o] · x[ci, pixel]` and
    /// `dx[ci, pixel] += dy[co, o] · W[co, ci, ki, kj]`, where `ci` runs over the input channels of `co`'s
    /// group and `pixel` is the one output `o` reads through the tap.
    fn reference(x: &[f32], w: &[f32], dy: &[f32], s: &ConvShape) -> [Vec<f64>; 3] {
        let (cin_g, cout_g) = (s.channels_in / s.groups, s.channels_out / s.groups);
        let [kh, kw] = s.kernel;
        let (pin, pout) = (s.input_plane(), s.output_plane());
        let mut y = vec![0.0f64; dy.len()];
        let mut dw = vec![0.0f64; w.len()];
        let mut dx = vec![0.0f64; x.len()];
        for b in 0..s.batch {
            for co in 0..s.channels_out {
                let g = co / cout_g;
                let first = (b * s.channels_out + co) * pout;
                for (o, &grad) in dy[first..first + pout].iter().enumerate() {
                    let out = [o / s.output[1], o % s.output[1]];
                    for cl in 0..cin_g {
                        let ci = g * cin_g + cl;
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let Some(p) = source(s, out, [ki, kj]) else {
                                    continue;
                                };
                                let wi = ((co * cin_g + cl) * kh + ki) * kw + kj;
                                let xi = (b * s.channels_in + ci) * pin + p;
                                y[first + o] += w[wi] as f64 * x[xi] as f64;
                                dw[wi] += grad as f64 * x[xi] as f64;
                                dx[xi] += grad as f64 * w[wi] as f64;
                            }
                        }
                    }
                }
            }
        }
        [y, dw, dx]
    }

    /// Deterministic values in [-1, 1) from a 64-bit LCG.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn shape(
        [batch, c_in, c_out, groups]: [usize; 4],
        input: [usize; 2],
        kernel: usize,
        stride: usize,
        [pad_begin, pad_end]: [usize; 2],
        dilation: usize,
    ) -> ConvShape {
        let out = |n: usize| (n + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride + 1;
        ConvShape {
            batch,
            channels_in: c_in,
            input,
            channels_out: c_out,
            output: [out(input[0]), out(input[1])],
            kernel: [kernel, kernel],
            stride: [stride, stride],
            padding: [pad_begin, pad_begin],
            dilation: [dilation, dilation],
            groups,
        }
    }

    fn check(s: ConvShape) {
        let kind = s.kind().expect("a handled convolution");
        let x = values(s.batch * s.channels_in * s.input_plane(), 1);
        let w = values(s.channels_out * s.channels_in / s.groups * s.taps(), 2);
        let dy = values(s.batch * s.channels_out * s.output_plane(), 3);
        let [y, dw, dx] = [
            compute(kind, ConvPass::Forward, &x, &w, &s),
            compute(kind, ConvPass::WeightGrad, &x, &dy, &s),
            compute(kind, ConvPass::InputGrad, &w, &dy, &s),
        ];
        let [y_ref, dw_ref, dx_ref] = reference(&x, &w, &dy, &s);
        for (name, got, want) in [
            ("output", y, y_ref),
            ("weight", dw, dw_ref),
            ("input", dx, dx_ref),
        ] {
            assert_eq!(got.len(), want.len(), "{name} length, {s:?}");
            let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (*g as f64 - r).abs() <= 1e-5 * scale,
                    "{name} [{i}]: {g} vs {r}, {s:?}"
                );
            }
        }
    }

    #[test]
    fn dense_convolutions_match_the_defining_sums() {
        // ResNet's shapes in miniature: 3×3 pad 1 at strides 1 and 2, the 1×1 bottleneck and its stride-2
        // projection, the 7×7 stem, and a dilated, asymmetric-padding case.
        check(shape([2, 3, 4, 1], [7, 6], 3, 1, [1, 1], 1));
        check(shape([2, 3, 4, 1], [8, 8], 3, 2, [1, 1], 1));
        check(shape([3, 5, 6, 1], [4, 5], 1, 1, [0, 0], 1));
        check(shape([2, 5, 6, 1], [6, 6], 1, 2, [0, 0], 1));
        check(shape([1, 3, 2, 1], [12, 11], 7, 2, [3, 3], 1));
        check(shape([2, 2, 3, 1], [9, 9], 3, 2, [0, 1], 2));
    }

    #[test]
    fn depthwise_convolutions_match_the_defining_sums() {
        // EfficientNet-Lite's depthwise layers: 3×3 and 5×5, strides 1 and 2 with TF-SAME padding
        // (asymmetric at stride 2: nothing before, the rest after).
        check(shape([2, 4, 4, 4], [7, 7], 3, 1, [1, 1], 1));
        check(shape([2, 4, 4, 4], [8, 8], 3, 2, [0, 1], 1));
        check(shape([3, 3, 3, 3], [9, 10], 5, 1, [2, 2], 1));
        check(shape([2, 3, 3, 3], [10, 10], 5, 2, [1, 2], 1));
    }

    #[test]
    fn grouped_convolutions_of_other_shapes_are_left_to_burn() {
        assert_eq!(shape([1, 4, 8, 2], [5, 5], 3, 1, [1, 1], 1).kind(), None);
        assert_eq!(
            shape([1, 4, 4, 4], [5, 5], 3, 1, [1, 1], 1).kind(),
            Some(ConvKind::Depthwise)
        );
    }

    #[test]
    fn the_same_bits_on_any_number_of_threads() {
        // Two images: on one thread each GEMM runs whole, one image per task; on three threads the images
        // go one after another and each GEMM (big enough here) is split over the threads.
        let s = shape([2, 64, 64, 1], [28, 28], 3, 1, [1, 1], 1);
        let x = values(s.batch * s.channels_in * s.input_plane(), 4);
        let w = values(s.channels_out * s.channels_in * s.taps(), 6);
        let dy = values(s.batch * s.channels_out * s.output_plane(), 5);
        let passes = || {
            [
                compute(ConvKind::Dense, ConvPass::Forward, &x, &w, &s),
                compute(ConvKind::Dense, ConvPass::InputGrad, &w, &dy, &s),
                compute(ConvKind::Dense, ConvPass::WeightGrad, &x, &dy, &s),
            ]
        };
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            pool.install(passes)
        };
        let one = on(1);
        assert_eq!(on(3), one);
        assert_eq!(on(1), one);
    }
}
