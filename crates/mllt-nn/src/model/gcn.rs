//! ML-GCN's classifier (Chen et al., *Multi-Label Image Recognition with Graph Convolutional Networks*, CVPR
//! 2019, Eq. 3–4), the baseline of the paper's Table 1, on the head's features.
//!
//! Two graph convolutions over the label vectors E (`C × e`, one row per class) produce the classifier matrix
//! W (`C × d`):
//!
//! ```text
//! W = Â · LeakyReLU₀.₂(Â · E · G₁) · G₂        logits = h · Wᵀ + b
//! ```
//!
//! with Â the normalised label graph of the training co-occurrence ([`mllt_core::stats::GcnGraph`]: τ = 0.4,
//! p = 0.25, plus the identity), G₁ `e × hidden` (the paper's appendix: hidden = 256) and G₂ `hidden × d`.
//! As in ML-GCN's code, the convolutions have no bias and each G is drawn from U(−1/√out, 1/√out)
//! (`GraphConvolution.reset_parameters`). E and Â are fixed: they are stored with the model (so a model file
//! predicts without the label encoder) but never trained.
//!
//! Adaptations, each a decision of mllt's (`configs/README.md`): ML-GCN reads the backbone's pooled feature;
//! here h is the output of the paper's PFC neck (`d` = its width), so that ML-GCN differs from ERM only in
//! its classifier. ML-GCN's logits have no bias: its features, ReLU outputs, have a constant component that
//! can carry each class's prior. The neck's output is batch-normalised and has none, so a per-class bias b
//! (zero at the start, as the paper head's classifier bias) stands in for it: on OpenClipart-MLT, 60 epochs
//! (4140 iterations) at lr 2.0 reached 18.6 mAP without it and 40.9 with it (ERM: 51.4). The label vectors are all-MiniLM-L6-v2 sentence embeddings of the class names (384-d,
//! [`crate::text`]) instead of GloVe's 300-d word vectors, unless the user passes their own.

use burn::module::{Module, Param};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;

use super::batch_norm::buffer;
use super::init::uniform_param;

/// LeakyReLU's negative slope between the two graph convolutions (ML-GCN: 0.2).
pub const NEGATIVE_SLOPE: f64 = 0.2;

/// One vector per class, in class order: ML-GCN's node features.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelVectors {
    /// `C × dim`, row-major.
    pub values: Vec<f32>,
    /// The width of a vector.
    pub dim: usize,
}

impl LabelVectors {
    /// Number of classes C.
    pub fn num_classes(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }
}

/// The fixed inputs of the graph convolutions: label vectors and the normalised adjacency.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelGraph {
    /// E.
    pub vectors: LabelVectors,
    /// Â, `C × C` row-major.
    pub adjacency: Vec<f32>,
}

impl LabelGraph {
    /// Label vectors and the adjacency Â (`C` rows of `C`).
    pub fn new(vectors: LabelVectors, adjacency: &[Vec<f64>]) -> LabelGraph {
        LabelGraph {
            vectors,
            adjacency: adjacency.iter().flatten().map(|&a| a as f32).collect(),
        }
    }

    /// A graph of zeros with the given shape: the skeleton that stored tensors overwrite.
    pub fn zeros(num_classes: usize, dim: usize) -> LabelGraph {
        LabelGraph {
            vectors: LabelVectors {
                values: vec![0.0; num_classes * dim],
                dim,
            },
            adjacency: vec![0.0; num_classes * num_classes],
        }
    }
}

/// ML-GCN's classifier generator: two graph convolutions over fixed label vectors.
#[derive(Module, Debug)]
pub struct GcnClassifier {
    /// E, `[C, e]`: fixed.
    pub vectors: Param<Tensor<2>>,
    /// Â, `[C, C]`: fixed.
    pub adjacency: Param<Tensor<2>>,
    /// G₁, `[e, hidden]`.
    pub gc1: Param<Tensor<2>>,
    /// G₂, `[hidden, d]`.
    pub gc2: Param<Tensor<2>>,
    /// b, `[C]`.
    pub bias: Param<Tensor<1>>,
}

/// A `rows × cols` weight drawn from U(−1/√cols, 1/√cols): `GraphConvolution.reset_parameters`.
fn graph_weight(
    rows: usize,
    cols: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Param<Tensor<2>> {
    uniform_param([rows, cols], 1.0 / (cols as f64).sqrt(), rng, device)
}

impl GcnClassifier {
    /// The classifier generator over `graph` for `d`-wide features, with `hidden` units between the two
    /// convolutions; G₁ then G₂ drawn from `rng`.
    pub fn new(
        graph: &LabelGraph,
        hidden: usize,
        d: usize,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> GcnClassifier {
        let c = graph.vectors.num_classes();
        let fixed = |values: &[f32], shape: [usize; 2]| {
            buffer(
                Tensor::from_data(TensorData::new(values.to_vec(), shape), device),
                None,
            )
        };
        GcnClassifier {
            vectors: fixed(&graph.vectors.values, [c, graph.vectors.dim]),
            adjacency: fixed(&graph.adjacency, [c, c]),
            gc1: graph_weight(graph.vectors.dim, hidden, rng, device),
            gc2: graph_weight(hidden, d, rng, device),
            bias: Param::from_tensor(Tensor::zeros([c], device)),
        }
    }

    /// Number of classes C.
    pub fn num_classes(&self) -> usize {
        self.vectors.dims()[0]
    }

    /// The classifier matrix W = Â · LeakyReLU₀.₂(Â · E · G₁) · G₂, `[C, d]`.
    pub fn weights(&self) -> Tensor<2> {
        let a = self.adjacency.val();
        let h = a.clone().matmul(self.vectors.val().matmul(self.gc1.val()));
        a.matmul(leaky_relu(h, NEGATIVE_SLOPE).matmul(self.gc2.val()))
    }

    /// Logits `[N, C]` = h · Wᵀ + b of features h `[N, d]`.
    pub fn forward(&self, h: Tensor<2>) -> Tensor<2> {
        let c = self.num_classes();
        h.matmul(self.weights().transpose()) + self.bias.val().reshape([1, c])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    /// Two classes, 2-d label vectors, one hidden unit, 1-d features, written out by hand.
    #[test]
    fn weights_follow_the_two_convolutions() {
        let device = Device::flex();
        let graph = LabelGraph {
            vectors: LabelVectors {
                values: vec![1.0, 2.0, -1.0, 0.5],
                dim: 2,
            },
            adjacency: vec![0.8, 0.2, 0.3, 0.7],
        };
        let mut gcn = GcnClassifier::new(&graph, 1, 1, &mut ChaCha8Rng::seed_from_u64(0), &device);
        gcn.gc1 = Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![1.0f32, -2.0], [2, 1]),
            &device,
        ));
        gcn.gc2 = Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![3.0f32], [1, 1]),
            &device,
        ));
        gcn.bias = Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0.5f32, -1.0], [2]),
            &device,
        ));
        // E·G₁ = [1 − 4, −1 − 1] = [−3, −2]; Â·(E·G₁) = [0.8·−3 + 0.2·−2, 0.3·−3 + 0.7·−2] = [−2.8, −2.3];
        // LeakyReLU: [−0.56, −0.46]; ·G₂ = [−1.68, −1.38]; Â· = [0.8·−1.68 + 0.2·−1.38, 0.3·−1.68 + 0.7·−1.38]
        // = [−1.62, −1.47].
        let w = values(gcn.weights());
        for (got, want) in w.iter().zip([-1.62f32, -1.47]) {
            assert!((got - want).abs() < 1e-5, "{w:?}");
        }
        let h = Tensor::<2>::from_data(TensorData::new(vec![2.0f32, -1.0], [2, 1]), &device);
        let logits = values(gcn.forward(h));
        // h · Wᵀ + b for h = 2 and −1, b = (0.5, −1).
        let want = [-3.24f32 + 0.5, -2.94 - 1.0, 1.62 + 0.5, 1.47 - 1.0];
        for (got, want) in logits.iter().zip(want) {
            assert!((got - want).abs() < 1e-5, "{logits:?}");
        }
    }

    /// G is uniform within ±1/√out, seeded; E and Â take no gradient.
    #[test]
    fn initialisation_and_fixed_inputs() {
        let device = Device::flex().autodiff();
        let graph = LabelGraph::zeros(3, 4);
        let rng = &mut ChaCha8Rng::seed_from_u64(5);
        let gcn = GcnClassifier::new(&graph, 16, 9, rng, &device);
        let g2 = values(gcn.gc2.val());
        assert_eq!(g2.len(), 16 * 9);
        assert!(g2.iter().all(|v| v.abs() <= 1.0 / 3.0));
        assert!(g2.iter().any(|v| v.abs() > 0.3), "spans the interval");
        let again = GcnClassifier::new(&graph, 16, 9, &mut ChaCha8Rng::seed_from_u64(5), &device);
        assert_eq!(values(again.gc1.val()), values(gcn.gc1.val()));
        assert!(!gcn.vectors.val().is_require_grad());
        assert!(!gcn.adjacency.val().is_require_grad());
        assert!(gcn.gc1.val().is_require_grad());
        assert_eq!(gcn.num_classes(), 3);
    }
}
