//! The head's training iteration on the CPU, written out (issue 11, item 6).
//!
//! On burn's Flex CPU backend, [`TrainState`](super::TrainState) trains a head with this instead of a burn
//! autodiff graph. It is the same iteration as [`TrainState::step`](super::TrainState::step): forward in
//! train mode (BN on batch statistics, dropout), the loss, backward, global gradient clip, SGD with momentum
//! and weight decay. Here it runs as GEMMs and plain loops over weights kept in host memory. Only the loss
//! goes through burn's autodiff, on the `[B, C]` logits, so every loss keeps its one implementation.
//!
//! What it saves over the graph:
//! * burn's allocation and bookkeeping per operation;
//! * the SGD's five tensor passes per parameter (one fused pass here);
//! * for sparse inputs (TF-IDF rows: about 1 % non-zero), the dense first-layer products. The first layer
//!   multiplies only the non-zero entries of each row, and its weight gradient touches only their rows.
//!
//! Gradients, for B items. The forward pass:
//!
//! ```text
//! H = X·W₁ + b₁,   X̂ = (H − μ)/σ,   Y = γ ⊙ X̂ + β,   A = Y ⊙ M,   Z = A·W₂ + b₂
//! ```
//!
//! Here μ and σ² are H's batch mean and biased variance (σ = √(σ² + ε)), and M is the dropout mask (0, or
//! 1/(1−p) for a kept unit). With G = ∂L/∂Z from the loss, the backward pass:
//!
//! ```text
//! ∂W₂ = Aᵀ·G,   ∂b₂ = Σ_b G,   ∂Y = (G·W₂ᵀ) ⊙ M,
//! ∂γ = Σ_b ∂Y ⊙ X̂,   ∂β = Σ_b ∂Y,   ∂H = γ/(σ·B) ⊙ (B·∂Y − ∂β − X̂ ⊙ ∂γ),
//! ∂W₁ = Xᵀ·∂H,   ∂b₁ = Σ_b ∂H
//! ```
//!
//! The linear head is the case without the neck: Z = X·W + b.
//!
//! The state is the burn path's: the same weights, momentum buffers (keyed by module path), BN running
//! statistics and dropout stream. Masks are drawn in the same order. [`FusedHead::write_back`] returns the
//! state to the [`Head`] and [`Sgd`] for checkpoints and evaluation. A test checks that both paths reach the
//! same weights after several steps.

use std::collections::BTreeMap;

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::sgd::Sgd;
use super::trainer::label_batch;
use crate::features::FeatureSplit;
use crate::kernels::gemm::gemm;
use crate::loss::Loss;
use crate::model::{BatchNorm1d, Head};

/// Inputs with at most this fraction of non-zero entries take the sparse first layer.
const SPARSE_DENSITY: f64 = 0.1;

/// A parameter: its value, the gradient of the current step and its momentum buffer.
#[derive(Debug, Clone)]
struct Slot {
    /// The module path, the key of the momentum buffer in [`Sgd`] and in checkpoints.
    key: &'static str,
    value: Vec<f32>,
    grad: Vec<f32>,
    velocity: Vec<f32>,
}

impl Slot {
    fn new(key: &'static str, value: Vec<f32>, velocity: Option<Vec<f32>>) -> Self {
        let n = value.len();
        Slot {
            key,
            velocity: velocity.unwrap_or_else(|| vec![0.0; n]),
            grad: vec![0.0; n],
            value,
        }
    }
}

/// A fully connected layer in burn's layout: `out = x · W + b`, `W` row-major `[d_in, d_out]`.
#[derive(Debug, Clone)]
struct Dense {
    weight: Slot,
    bias: Slot,
    d_in: usize,
    d_out: usize,
}

impl Dense {
    fn new(linear: &Linear, prefix: Prefix, velocity: &BTreeMap<String, Tensor<1>>) -> Self {
        let [d_in, d_out] = linear.weight.dims();
        let bias = linear
            .bias
            .as_ref()
            .map_or_else(|| vec![0.0; d_out], |b| values(b.val()));
        Dense {
            weight: Slot::new(
                prefix.weight,
                values(linear.weight.val()),
                buffer_of(velocity, prefix.weight),
            ),
            bias: Slot::new(prefix.bias, bias, buffer_of(velocity, prefix.bias)),
            d_in,
            d_out,
        }
    }

    /// `out = x · W + b` for the dense rows `x` (`rows × d_in`).
    fn forward(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        self.bias_rows(rows, out);
        gemm(
            [rows, self.d_out, self.d_in],
            out,
            [self.d_out, 1],
            true,
            x,
            [self.d_in, 1],
            &self.weight.value,
            [self.d_out, 1],
            false,
        );
    }

    /// `out` = `rows` copies of the bias.
    fn bias_rows(&self, rows: usize, out: &mut Vec<f32>) {
        out.clear();
        for _ in 0..rows {
            out.extend_from_slice(&self.bias.value);
        }
    }

    /// The weight and bias gradients for the dense input rows `x` and the output gradient `dout`.
    fn backward(&mut self, x: &[f32], dout: &[f32], rows: usize) {
        gemm(
            [self.d_in, self.d_out, rows],
            &mut self.weight.grad,
            [self.d_out, 1],
            false,
            x,
            [1, self.d_in],
            dout,
            [self.d_out, 1],
            false,
        );
        column_sums(dout, self.d_out, &mut self.bias.grad);
    }

    /// `dx = dout · Wᵀ` (`rows × d_in`).
    fn input_grad(&self, dout: &[f32], rows: usize, dx: &mut Vec<f32>) {
        dx.clear();
        dx.resize(rows * self.d_in, 0.0);
        gemm(
            [rows, self.d_in, self.d_out],
            dx,
            [self.d_in, 1],
            false,
            dout,
            [self.d_out, 1],
            &self.weight.value,
            [1, self.d_out],
            false,
        );
    }
}

/// The module paths of a layer's weight and bias.
#[derive(Debug, Clone, Copy)]
struct Prefix {
    weight: &'static str,
    bias: &'static str,
}

const NECK_FC: Prefix = Prefix {
    weight: "neck.fc.weight",
    bias: "neck.fc.bias",
};
const CLASSIFIER: Prefix = Prefix {
    weight: "classifier.weight",
    bias: "classifier.bias",
};

/// The paper head's BatchNorm, dropout and classifier, after the first layer.
#[derive(Debug, Clone)]
struct NeckRest {
    gamma: Slot,
    beta: Slot,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    momentum: f64,
    epsilon: f64,
    dropout: f64,
    classifier: Dense,
}

/// The training rows as the first layer reads them: dense, or compressed sparse rows.
#[derive(Debug, Clone)]
enum Rows {
    Dense,
    Sparse {
        /// Row `k`'s entries are `offsets[k]..offsets[k + 1]`.
        offsets: Vec<usize>,
        columns: Vec<u32>,
        values: Vec<f32>,
    },
}

impl Rows {
    /// Sparse when at most [`SPARSE_DENSITY`] of `split`'s entries are non-zero.
    fn of(split: &FeatureSplit) -> Rows {
        let nonzero = split.features.iter().filter(|&&v| v != 0.0).count();
        if nonzero as f64 > SPARSE_DENSITY * split.features.len() as f64 {
            return Rows::Dense;
        }
        let mut offsets = Vec::with_capacity(split.len() + 1);
        let (mut columns, mut values) = (Vec::with_capacity(nonzero), Vec::with_capacity(nonzero));
        offsets.push(0);
        for k in 0..split.len() {
            for (j, &v) in split.row(k).iter().enumerate() {
                if v != 0.0 {
                    columns.push(j as u32);
                    values.push(v);
                }
            }
            offsets.push(columns.len());
        }
        Rows::Sparse {
            offsets,
            columns,
            values,
        }
    }
}

/// Buffers reused from one step to the next.
#[derive(Debug, Clone, Default)]
struct Scratch {
    /// The dense input rows of the batch.
    x: Vec<f32>,
    /// The first layer's output H, then its gradient ∂H.
    h: Vec<f32>,
    /// X̂, the normalised H.
    xhat: Vec<f32>,
    /// The dropout mask M (scale included).
    mask: Vec<f32>,
    /// A, the classifier's input.
    a: Vec<f32>,
    /// The logits Z.
    z: Vec<f32>,
    /// ∂A, then ∂Y.
    da: Vec<f32>,
    /// 1/σ per unit.
    inv_std: Vec<f32>,
    /// Whether each input row of the first layer got a gradient this step (sparse input; cleared by the
    /// update).
    touched: Vec<bool>,
    /// Those rows.
    touched_rows: Vec<usize>,
}

/// A head (paper or linear) trained by the written-out iteration; see the module documentation.
#[derive(Debug, Clone)]
pub struct FusedHead {
    /// The layer that reads the input: the neck's fc, or the linear head's classifier.
    first: Dense,
    rest: Option<NeckRest>,
    rows: Rows,
    /// Whether the momentum buffers hold a value (after the first step, or from a checkpoint).
    started: bool,
    scratch: Scratch,
    /// Where the loss and its gradient are computed.
    device: Device,
}

impl FusedHead {
    /// Takes the state of `model` (a [plain](Head::is_plain) head) and the momentum buffers of `sgd`, to
    /// train on the rows of `split`; `device` (an autodiff CPU device) computes the loss and its gradient.
    pub fn new(model: &Head, sgd: &Sgd, split: &FeatureSplit, device: &Device) -> FusedHead {
        let velocity = sgd.velocity();
        let classifier = linear_of(model);
        let (first, rest) = match &model.neck {
            Some(neck) => {
                let bn = &neck.bn;
                let rest = NeckRest {
                    gamma: Slot::new(
                        "neck.bn.gamma",
                        values(bn.gamma.val()),
                        buffer_of(velocity, "neck.bn.gamma"),
                    ),
                    beta: Slot::new(
                        "neck.bn.beta",
                        values(bn.beta.val()),
                        buffer_of(velocity, "neck.bn.beta"),
                    ),
                    running_mean: values(bn.running_mean.val()),
                    running_var: values(bn.running_var.val()),
                    momentum: bn.momentum,
                    epsilon: bn.epsilon,
                    dropout: neck.dropout,
                    classifier: Dense::new(classifier, CLASSIFIER, velocity),
                };
                (Dense::new(&neck.fc, NECK_FC, velocity), Some(rest))
            }
            None => (Dense::new(classifier, CLASSIFIER, velocity), None),
        };
        FusedHead {
            started: velocity.contains_key(first.weight.key),
            first,
            rest,
            rows: Rows::of(split),
            scratch: Scratch::default(),
            device: device.clone(),
        }
    }

    /// Whether the first layer reads the input as sparse rows.
    pub fn is_sparse(&self) -> bool {
        matches!(self.rows, Rows::Sparse { .. })
    }

    /// One iteration on the rows `items` of `split` (the split this head was made for) at learning rate
    /// `lr`, with `sgd`'s hyper-parameters; dropout masks come from `rng`. Returns the mean loss.
    pub fn step(
        &mut self,
        split: &FeatureSplit,
        items: &[usize],
        loss: &Loss,
        sgd: &Sgd,
        lr: f64,
        rng: &mut ChaCha8Rng,
    ) -> f32 {
        // Everything runs on the calling thread. With B rows the products are too small to gain from a
        // split, and the updates are bound by memory: a PFC head on 2048-d features takes 630 steps/s on one
        // thread, 470 with each GEMM split over two threads, 430 with the SGD update split too.
        let rows = items.len();
        let s = &mut self.scratch;
        // H = X·W₁ + b₁.
        match &self.rows {
            Rows::Dense => {
                s.x.clear();
                for &k in items {
                    s.x.extend_from_slice(split.row(k));
                }
                self.first.forward(&s.x, rows, &mut s.h);
            }
            Rows::Sparse {
                offsets,
                columns,
                values,
            } => {
                self.first.bias_rows(rows, &mut s.h);
                let sparse = SparseBatch {
                    offsets,
                    columns,
                    values,
                    items,
                };
                sparse_product(&sparse, &self.first.weight.value, &mut s.h);
            }
        }
        // The neck's BN and dropout, then the classifier; or H itself as the logits.
        if let Some(rest) = &mut self.rest {
            rest.forward(s, rows, rng);
        } else {
            std::mem::swap(&mut s.z, &mut s.h);
        }
        let classes = self
            .rest
            .as_ref()
            .map_or(self.first.d_out, |r| r.classifier.d_out);
        let (value, g) = loss_and_gradient(&s.z, rows, classes, split, items, loss, &self.device);
        // ∂Z = G; back to ∂H.
        match &mut self.rest {
            Some(rest) => rest.backward(s, &g, rows),
            None => s.h = g,
        }
        // ∂W₁, ∂b₁.
        match &self.rows {
            Rows::Dense => self.first.backward(&s.x, &s.h, rows),
            Rows::Sparse {
                offsets,
                columns,
                values,
            } => {
                let n = self.first.d_out;
                let grad = &mut self.first.weight.grad;
                for &j in &s.touched_rows {
                    grad[j * n..(j + 1) * n].fill(0.0);
                }
                s.touched.resize(self.first.d_in, false);
                s.touched_rows.clear();
                let sparse = SparseBatch {
                    offsets,
                    columns,
                    values,
                    items,
                };
                sparse_weight_grad(&sparse, &s.h, grad, &mut s.touched, &mut s.touched_rows);
                column_sums(&s.h, n, &mut self.first.bias.grad);
            }
        }
        self.update(sgd, lr);
        value
    }

    /// Global clip of the gradients, then the SGD step of every parameter (see [`Sgd`]).
    fn update(&mut self, sgd: &Sgd, lr: f64) {
        let config = sgd.config();
        let sparse_rows = match self.rows {
            Rows::Sparse { .. } => Some(&self.scratch.touched_rows),
            Rows::Dense => None,
        };
        let n = self.first.d_out;
        let first_norm = match sparse_rows {
            Some(rows) => rows
                .iter()
                .map(|&j| squared_norm(&self.first.weight.grad[j * n..(j + 1) * n]))
                .sum(),
            None => squared_norm(&self.first.weight.grad),
        };
        let mut slots: Vec<&mut Slot> = vec![&mut self.first.bias];
        if let Some(rest) = &mut self.rest {
            slots.extend([
                &mut rest.gamma,
                &mut rest.beta,
                &mut rest.classifier.weight,
                &mut rest.classifier.bias,
            ]);
        }
        let norm = (first_norm + slots.iter().map(|s| squared_norm(&s.grad)).sum::<f64>()).sqrt();
        let clip = if config.clip_grad_norm.is_finite() {
            (config.clip_grad_norm / (norm + 1e-6)).min(1.0) as f32
        } else {
            1.0
        };
        let rule = Update {
            clip,
            weight_decay: config.weight_decay as f32,
            momentum: if self.started {
                config.momentum as f32
            } else {
                0.0
            },
            lr: lr as f32,
        };
        for slot in slots {
            rule.apply(&mut slot.value, &mut slot.velocity, Some(&slot.grad));
        }
        let w = &mut self.first.weight;
        match sparse_rows {
            // Rows without a gradient decay and carry their momentum, as with a zero gradient.
            Some(_) => {
                let s = &mut self.scratch;
                let rows = w
                    .value
                    .chunks_exact_mut(n)
                    .zip(w.velocity.chunks_exact_mut(n))
                    .zip(w.grad.chunks_exact(n))
                    .zip(&s.touched);
                for (((value, velocity), grad), &has) in rows {
                    rule.apply(value, velocity, has.then_some(grad));
                }
                for &j in &s.touched_rows {
                    s.touched[j] = false;
                }
            }
            None => rule.apply(&mut w.value, &mut w.velocity, Some(&w.grad)),
        }
        self.started = true;
    }

    /// Writes the weights, BN statistics and momentum buffers back into `model` and `sgd`.
    pub fn write_back(&self, model: &mut Head, sgd: &mut Sgd) {
        let device = linear_of(model).weight.device();
        let host = device.clone().without_autodiff();
        let mut slots = vec![&self.first.weight, &self.first.bias];
        match (&mut model.neck, &self.rest) {
            (Some(neck), Some(rest)) => {
                set_linear(&mut neck.fc, &self.first, &device);
                set_linear(
                    model.classifier.as_mut().expect(PLAIN),
                    &rest.classifier,
                    &device,
                );
                set_norm(&mut neck.bn, rest, &device);
                slots.extend([
                    &rest.gamma,
                    &rest.beta,
                    &rest.classifier.weight,
                    &rest.classifier.bias,
                ]);
            }
            _ => set_linear(
                model.classifier.as_mut().expect(PLAIN),
                &self.first,
                &device,
            ),
        }
        if self.started {
            for slot in slots {
                sgd.set_velocity(
                    slot.key,
                    tensor(&slot.velocity, [slot.velocity.len()], &host),
                );
            }
        }
    }
}

impl NeckRest {
    /// H (in `s.h`) → BN on batch statistics → dropout → A → Z (in `s.z`); updates the running statistics.
    fn forward(&mut self, s: &mut Scratch, rows: usize, rng: &mut ChaCha8Rng) {
        let n = self.gamma.value.len();
        s.xhat.resize(rows * n, 0.0);
        s.inv_std.resize(n, 0.0);
        let unbias = if rows > 1 {
            rows as f64 / (rows - 1) as f64
        } else {
            1.0
        };
        let m = self.momentum;
        for j in 0..n {
            let column = || (0..rows).map(|r| s.h[r * n + j] as f64);
            let mean = column().sum::<f64>() / rows as f64;
            let var = column().map(|v| (v - mean).powi(2)).sum::<f64>() / rows as f64;
            let inv = 1.0 / (var + self.epsilon).sqrt();
            s.inv_std[j] = inv as f32;
            for r in 0..rows {
                s.xhat[r * n + j] = ((s.h[r * n + j] as f64 - mean) * inv) as f32;
            }
            self.running_mean[j] = ((1.0 - m) * self.running_mean[j] as f64 + m * mean) as f32;
            self.running_var[j] =
                ((1.0 - m) * self.running_var[j] as f64 + m * var * unbias) as f32;
        }
        // Inverted dropout, the mask drawn in row-major order as the burn path draws it.
        let keep = 1.0 - self.dropout;
        let scale = (1.0 / keep) as f32;
        s.mask.clear();
        s.mask.extend((0..rows * n).map(|_| {
            if self.dropout <= 0.0 {
                1.0
            } else if rng.random::<f64>() < keep {
                scale
            } else {
                0.0
            }
        }));
        s.a.clear();
        s.a.extend((0..rows * n).map(|i| {
            let j = i % n;
            (self.gamma.value[j] * s.xhat[i] + self.beta.value[j]) * s.mask[i]
        }));
        self.classifier.forward(&s.a, rows, &mut s.z);
    }

    /// From G = ∂L/∂Z: the classifier's, γ's and β's gradients, and ∂H into `s.h`.
    fn backward(&mut self, s: &mut Scratch, g: &[f32], rows: usize) {
        let n = self.gamma.value.len();
        self.classifier.backward(&s.a, g, rows);
        self.classifier.input_grad(g, rows, &mut s.da);
        for (d, m) in s.da.iter_mut().zip(&s.mask) {
            *d *= m;
        }
        let b = rows as f32;
        for j in 0..n {
            let (mut dgamma, mut dbeta) = (0.0f32, 0.0f32);
            for r in 0..rows {
                let dy = s.da[r * n + j];
                dgamma += dy * s.xhat[r * n + j];
                dbeta += dy;
            }
            self.gamma.grad[j] = dgamma;
            self.beta.grad[j] = dbeta;
            let c = self.gamma.value[j] * s.inv_std[j] / b;
            for r in 0..rows {
                let i = r * n + j;
                s.h[i] = c * (b * s.da[i] - dbeta - s.xhat[i] * dgamma);
            }
        }
    }
}

/// The SGD rule of one step: `d = c·g + wd·θ`, `v = μ·v + d`, `θ ← θ − lr·v` (μ = 0 on the first step,
/// which makes `v = d`).
struct Update {
    /// The global clip coefficient.
    clip: f32,
    weight_decay: f32,
    momentum: f32,
    lr: f32,
}

impl Update {
    /// Updates `value` and its momentum buffer `velocity`; no `grad` is a zero gradient.
    fn apply(&self, value: &mut [f32], velocity: &mut [f32], grad: Option<&[f32]>) {
        sgd_rule(
            value,
            velocity,
            grad,
            [self.clip, self.weight_decay, self.momentum, self.lr],
        );
    }
}

/// The mean loss over the `rows × classes` logits `z` of `items`, and its gradient ∂L/∂Z (burn's autodiff).
fn loss_and_gradient(
    z: &[f32],
    rows: usize,
    classes: usize,
    split: &FeatureSplit,
    items: &[usize],
    loss: &Loss,
    device: &Device,
) -> (f32, Vec<f32>) {
    let logits = tensor(z, [rows, classes], device).require_grad();
    let labels = label_batch(&split.labels, items, device);
    let value = loss.training_loss(logits.clone(), labels);
    let grads = value.backward();
    let g = logits
        .grad(&grads)
        .map_or_else(|| vec![0.0; rows * classes], values);
    (value.into_scalar::<f32>(), g)
}

/// Defines `fn $name` whose body is compiled twice: for AVX2, taken when the CPU has it, and for the
/// baseline. The loops then use 8-wide vectors where they can. Results are the same either way: Rust never
/// contracts `a·b + c` into a fused multiply-add.
macro_rules! vectorised {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                // SAFETY: the CPU has AVX2 (checked above).
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

/// `y += a · x` (inlined into the vectorised callers).
#[inline(always)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// The rows `items` of a compressed-sparse-row matrix.
struct SparseBatch<'a> {
    offsets: &'a [usize],
    columns: &'a [u32],
    values: &'a [f32],
    items: &'a [usize],
}

impl SparseBatch<'_> {
    /// The non-zero entries `(column, value)` of the batch's row `r`.
    #[inline(always)]
    fn row(&self, r: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let k = self.items[r];
        let range = self.offsets[k]..self.offsets[k + 1];
        self.columns[range.clone()]
            .iter()
            .zip(&self.values[range])
            .map(|(&j, &v)| (j as usize, v))
    }
}

vectorised! {
    /// `out += X · W` for the sparse rows X of `x` and the row-major `W` (`out`: one `n`-wide row per item).
    fn sparse_product(x: &SparseBatch<'_>, w: &[f32], out: &mut [f32]) {
        let n = out.len() / x.items.len().max(1);
        for (r, out) in out.chunks_exact_mut(n).enumerate() {
            for (j, v) in x.row(r) {
                axpy(out, v, &w[j * n..(j + 1) * n]);
            }
        }
    }
}

vectorised! {
    /// `grad += Xᵀ · dout` for the sparse rows X of `x`; every row of `grad` it adds to is marked in
    /// `touched` and listed in `touched_rows`.
    fn sparse_weight_grad(
        x: &SparseBatch<'_>,
        dout: &[f32],
        grad: &mut [f32],
        touched: &mut [bool],
        touched_rows: &mut Vec<usize>,
    ) {
        let n = dout.len() / x.items.len().max(1);
        for (r, dout) in dout.chunks_exact(n).enumerate() {
            for (j, v) in x.row(r) {
                if !touched[j] {
                    touched[j] = true;
                    touched_rows.push(j);
                }
                axpy(&mut grad[j * n..(j + 1) * n], v, dout);
            }
        }
    }
}

vectorised! {
    /// The SGD rule over equal-length slices: `d = c·g + wd·θ`, `v = μ·v + d`, `θ ← θ − lr·v`, where
    /// `[c, wd, μ, lr] = rule` and no `grad` is a zero gradient.
    fn sgd_rule(value: &mut [f32], velocity: &mut [f32], grad: Option<&[f32]>, rule: [f32; 4]) {
        let [clip, weight_decay, momentum, lr] = rule;
        let one = |value: &mut f32, velocity: &mut f32, clipped: f32| {
            let d = clipped + *value * weight_decay;
            *velocity = *velocity * momentum + d;
            *value -= *velocity * lr;
        };
        let pairs = value.iter_mut().zip(velocity.iter_mut());
        match grad {
            Some(grad) => pairs.zip(grad).for_each(|((t, v), &g)| one(t, v, g * clip)),
            None => pairs.for_each(|(t, v)| one(t, v, 0.0)),
        }
    }
}

/// The sums of the `n`-wide rows of `m`, column by column, into `out`.
fn column_sums(m: &[f32], n: usize, out: &mut [f32]) {
    out.fill(0.0);
    for row in m.chunks_exact(n) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

vectorised! {
    /// `Σ g²`, in eight f32 partial sums added in f64.
    fn squared_norm(g: &[f32]) -> f64 {
        let mut acc = [0.0f32; 8];
        let chunks = g.chunks_exact(8);
        let tail: f64 = chunks.remainder().iter().map(|&v| (v * v) as f64).sum();
        for c in chunks {
            for i in 0..8 {
                acc[i] += c[i] * c[i];
            }
        }
        acc.iter().map(|&a| a as f64).sum::<f64>() + tail
    }
}

/// A tensor's values on the host.
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data")
}

/// The momentum buffer stored under `key`, if any.
fn buffer_of(velocity: &BTreeMap<String, Tensor<1>>, key: &str) -> Option<Vec<f32>> {
    velocity.get(key).map(|v| values(v.clone()))
}

fn tensor<const D: usize>(v: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

/// Why a fused head's model has a linear classifier.
const PLAIN: &str = "a fused head trains a plain head";

/// The linear classifier of a [plain](Head::is_plain) head.
fn linear_of(model: &Head) -> &Linear {
    model.classifier.as_ref().expect(PLAIN)
}

fn set_linear(linear: &mut Linear, dense: &Dense, device: &Device) {
    linear.weight = Param::from_tensor(tensor(
        &dense.weight.value,
        [dense.d_in, dense.d_out],
        device,
    ));
    linear.bias = Some(Param::from_tensor(tensor(
        &dense.bias.value,
        [dense.d_out],
        device,
    )));
}

fn set_norm(bn: &mut BatchNorm1d, rest: &NeckRest, device: &Device) {
    let n = rest.gamma.value.len();
    bn.gamma = Param::from_tensor(tensor(&rest.gamma.value, [n], device));
    bn.beta = Param::from_tensor(tensor(&rest.beta.value, [n], device));
    bn.set_running(
        tensor(&rest.running_mean, [n], device),
        tensor(&rest.running_var, [n], device),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{SyntheticSpec, synthetic};
    use crate::model::HeadConfig;
    use crate::train::{TrainConfig, TrainState, batch};

    /// The largest absolute difference of two equally long lists.
    fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// The burn path and the written-out one, from the same state, over the same batches.
    fn compare(head: HeadConfig, preset: &str, sparsify: bool) {
        let mut data = synthetic(&SyntheticSpec {
            classes: 7,
            train: 96,
            test: 0,
            dim: 40,
            tail: 1.0,
            noise: 1.0,
            seed: 5,
        });
        if sparsify {
            // Keep about 5 % of the entries: the sparse first layer.
            for (i, v) in data.train.features.iter_mut().enumerate() {
                if i % 19 != 0 {
                    *v = 0.0;
                }
            }
        }
        let mut config = TrainConfig::from_toml(preset, "preset").unwrap();
        config.model = head;
        let counts = data.train.labels.class_counts();
        let loss = Loss::new(&config.loss, &counts, data.train.len()).unwrap();
        let device = Device::flex().autodiff();
        let mut burn_state = TrainState::new(&config, 40, 7, None, 3, &device);
        let mut fused_state = burn_state.clone();
        let mut fused = FusedHead::new(&fused_state.model, &fused_state.sgd, &data.train, &device);
        assert_eq!(fused.is_sparse(), sparsify);
        for step in 0..6 {
            let items: Vec<usize> = (0..16).map(|k| (step * 16 + k * 5) % 96).collect();
            // A large rate makes the clip act on some steps.
            let lr = 0.5;
            let (x, y) = batch(&data.train, &items, &device);
            let (next, value) = burn_state.step(x, y, &loss, lr);
            burn_state = next;
            let fused_value = fused.step(
                &data.train,
                &items,
                &loss,
                &fused_state.sgd,
                lr,
                &mut fused_state.rng,
            );
            let burn_value = value.into_scalar::<f32>();
            assert!(
                (burn_value - fused_value).abs() <= 1e-5 * burn_value.abs().max(1.0),
                "step {step}: loss {burn_value} vs {fused_value}"
            );
        }
        fused.write_back(&mut fused_state.model, &mut fused_state.sgd);
        let flat = |h: &Head| {
            let mut v = Vec::new();
            if let Some(neck) = &h.neck {
                v.extend(values(neck.fc.weight.val()));
                v.extend(values(neck.bn.gamma.val()));
                v.extend(values(neck.bn.running_var.val()));
            }
            v.extend(values(linear_of(h).weight.val()));
            v.extend(values(linear_of(h).bias.as_ref().unwrap().val()));
            v
        };
        let worst = largest_difference(&flat(&burn_state.model), &flat(&fused_state.model));
        assert!(worst < 1e-4, "largest weight difference {worst}");
        let keys = |s: &Sgd| s.velocity().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&burn_state.sgd), keys(&fused_state.sgd));
        for (k, v) in burn_state.sgd.velocity() {
            let worst = largest_difference(
                &values(v.clone()),
                &values(fused_state.sgd.velocity()[k].clone()),
            );
            assert!(worst < 1e-4, "{k}: momentum differs by {worst}");
        }
    }

    #[test]
    fn paper_head_matches_the_burn_path() {
        compare(
            HeadConfig::default(),
            include_str!("../../../../configs/db-focal.toml"),
            false,
        );
    }

    #[test]
    fn sparse_paper_head_matches_the_burn_path() {
        compare(
            HeadConfig::default(),
            include_str!("../../../../configs/erm.toml"),
            true,
        );
    }

    #[test]
    fn linear_heads_match_the_burn_path() {
        compare(
            HeadConfig::Linear,
            include_str!("../../../../configs/ldam.toml"),
            false,
        );
        compare(
            HeadConfig::Linear,
            include_str!("../../../../configs/asl.toml"),
            true,
        );
    }
}
