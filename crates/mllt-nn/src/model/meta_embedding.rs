//! OLTR's dynamic meta-embedding and cosine classifier (Liu et al., *Large-Scale Long-Tailed Recognition in an
//! Open World*, CVPR 2019, Sec. 3.1–3.3), the baseline of the paper's Table 1, adapted to multi-label.
//!
//! For a feature f (the direct feature, `d`-wide) and the class centroids c_k (the memory, `C × d`):
//!
//! ```text
//! memory      m = Σ_k softmax(T_hal(f))_k · c_k          (the hallucinator attends over the centroids)
//! selector    e = tanh(T_sel(f))                          (the concept selector)
//! reachability γ = s_γ / min_k ‖f − c_k‖₂                (s_γ = 10)
//! meta-embedding v = γ · (f + e ⊙ m)
//! logits      z_k = s · (‖v‖ / (1 + ‖v‖)) · ⟨v/‖v‖, w_k/‖w_k‖⟩   (cosine classifier, s = 16)
//! ```
//!
//! as OLTR's code computes it (`MetaEmbedding_Classifier`, `CosNorm_Classifier`): T_hal and T_sel are linear
//! layers with biases; T_hal starts as the stage-1 classifier (OLTR's stage 2 loads it from the stage-1
//! checkpoint), T_sel as PyTorch's `nn.Linear` (U(±1/√d)); the cosine weights are drawn from U(±1/√d); the
//! classifier has no bias. The multi-label adaptation (the reference never released one, so
//! these are mllt's decisions, `configs/README.md`): each class's logit goes through its own sigmoid and BCE
//! instead of a softmax; the centroids are the mean stage-1 feature over each class's positive items
//! (multi-label items count toward every class they carry) and stay fixed in stage 2; the minimum distance
//! is floored at 10⁻⁶ so that a feature on a centroid gives a large, finite γ.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;

use super::batch_norm::buffer;
use super::init::{uniform, uniform_param};

/// OLTR's reachability scale s_γ.
pub const REACHABILITY_SCALE: f64 = 10.0;
/// OLTR's cosine-classifier scale s.
pub const COSINE_SCALE: f64 = 16.0;
/// The floor of the distance to the nearest centroid.
const MIN_DISTANCE: f64 = 1e-6;

/// OLTR's stage-2 classifier: the dynamic meta-embedding over a fixed centroid memory, then a cosine
/// classifier.
#[derive(Module, Debug)]
pub struct MetaEmbedding {
    /// The class centroids, `[C, d]`: fixed.
    pub centroids: Param<Tensor<2>>,
    /// T_hal: `d → C`, the attention over the memory.
    pub hallucinator: Linear,
    /// T_sel: `d → d`, the concept selector.
    pub selector: Linear,
    /// The cosine classifier's weights w_k, `[C, d]`.
    pub cosine: Param<Tensor<2>>,
}

/// `nn.Linear(d_in, d_out)` with PyTorch's default initialisation: weight and bias from U(±1/√d_in).
fn torch_linear(d_in: usize, d_out: usize, rng: &mut ChaCha8Rng, device: &Device) -> Linear {
    let bound = 1.0 / (d_in as f64).sqrt();
    let weight = uniform_param([d_in, d_out], bound, rng, device);
    let bias = uniform(rng, d_out, bound);
    Linear {
        weight,
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias, [d_out]),
            device,
        ))),
    }
}

impl MetaEmbedding {
    /// The stage-2 classifier over `centroids` (`C × d`, row-major) with the stage-1 `classifier` (`d → C`)
    /// as T_hal; T_sel, then the cosine weights drawn from `rng`.
    pub fn new(
        centroids: Vec<f32>,
        classifier: Linear,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> MetaEmbedding {
        let [d, num_classes] = classifier.weight.dims();
        let memory = Tensor::from_data(TensorData::new(centroids, [num_classes, d]), device);
        MetaEmbedding {
            centroids: buffer(memory, None),
            hallucinator: classifier,
            selector: torch_linear(d, d, rng, device),
            cosine: uniform_param([num_classes, d], 1.0 / (d as f64).sqrt(), rng, device),
        }
    }

    /// Number of classes C.
    pub fn num_classes(&self) -> usize {
        self.centroids.dims()[0]
    }

    /// The meta-embedding v = γ · (f + e ⊙ m) of direct features f `[N, d]`.
    pub fn embed(&self, f: Tensor<2>) -> Tensor<2> {
        let centroids = self.centroids.val();
        let [n, d] = f.dims();
        let c = centroids.dims()[0];
        // ‖f − c_k‖² = ‖f‖² − 2⟨f, c_k⟩ + ‖c_k‖², [N, C]. The floor comes before the square root, whose
        // gradient at 0 is infinite.
        let f_sq = f.clone().powi_scalar(2).sum_dim(1);
        let c_sq = centroids.clone().powi_scalar(2).sum_dim(1).reshape([1, c]);
        let cross = f.clone().matmul(centroids.clone().transpose());
        let squared = f_sq - cross * 2.0 + c_sq;
        let nearest = squared
            .min_dim(1)
            .clamp_min(MIN_DISTANCE * MIN_DISTANCE)
            .sqrt();
        let reachability = nearest.recip() * REACHABILITY_SCALE;
        let attention = softmax(self.hallucinator.forward(f.clone()), 1);
        let memory = attention.matmul(centroids);
        let selector = self.selector.forward(f.clone()).tanh();
        (f + selector * memory) * reachability.expand([n, d])
    }

    /// Logits `[N, C]` of direct features f `[N, d]`: the cosine classifier on the meta-embedding.
    pub fn forward(&self, f: Tensor<2>) -> Tensor<2> {
        let v = self.embed(f);
        let norm = v.clone().powi_scalar(2).sum_dim(1).sqrt();
        // (‖v‖ / (1 + ‖v‖)) · v / ‖v‖ = v / (1 + ‖v‖).
        let squashed = v / (norm + 1.0);
        let w = self.cosine.val();
        let w_norm = w.clone().powi_scalar(2).sum_dim(1).sqrt();
        let unit = w / w_norm;
        squashed.matmul(unit.transpose()) * COSINE_SCALE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    /// A 2 → 2 linear layer standing in for the stage-1 classifier.
    fn linear(device: &Device) -> Linear {
        Linear {
            weight: Param::from_tensor(Tensor::ones([2, 2], device)),
            bias: Some(Param::from_tensor(Tensor::zeros([2], device))),
        }
    }

    fn tensor(v: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    /// Two classes in 2-d, every weight set by hand, one feature; the expected values are worked out below.
    #[test]
    fn forward_matches_a_hand_computation() {
        let device = Device::flex();
        let rng = &mut ChaCha8Rng::seed_from_u64(0);
        let mut meta = MetaEmbedding::new(vec![1.0, 0.0, 0.0, 2.0], linear(&device), rng, &device);
        // T_hal = 0 (uniform attention over the two centroids), T_sel = 0 with bias atanh(0.5) (e = 0.5).
        meta.hallucinator.weight = Param::from_tensor(Tensor::zeros([2, 2], &device));
        meta.hallucinator.bias = Some(Param::from_tensor(Tensor::zeros([2], &device)));
        meta.selector.weight = Param::from_tensor(Tensor::zeros([2, 2], &device));
        let atanh_half = 0.5f32.atanh();
        meta.selector.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![atanh_half; 2], [2]),
            &device,
        )));
        meta.cosine = Param::from_tensor(tensor(vec![2.0, 0.0, 1.0, 1.0], [2, 2], &device));
        // f = (1, 1): distances to (1, 0) and (0, 2) are 1 and √2, so γ = 10 / 1 = 10. The memory is the mean
        // centroid (0.5, 1); v = 10 · ((1, 1) + 0.5 · (0.5, 1)) = (12.5, 15). ‖v‖ = √381.25 = 19.525624;
        // v / (1 + ‖v‖) = (0.608994, 0.730793). w/‖w‖ = (1, 0) and (0.707107, 0.707107).
        // Logits: 16 · 0.608994 = 9.743906 and 16 · 0.707107 · (0.608994 + 0.730793) = 15.157963.
        let f = tensor(vec![1.0, 1.0], [1, 2], &device);
        let v = values(meta.embed(f.clone()));
        assert!(
            (v[0] - 12.5).abs() < 1e-4 && (v[1] - 15.0).abs() < 1e-4,
            "{v:?}"
        );
        let z = values(meta.forward(f));
        assert!((z[0] - 9.743906).abs() < 1e-4, "{z:?}");
        assert!((z[1] - 15.157963).abs() < 1e-4, "{z:?}");
    }

    /// A feature on a centroid gets a large but finite reachability; the centroids take no gradient.
    #[test]
    fn feature_on_a_centroid_stays_finite() {
        let device = Device::flex().autodiff();
        let rng = &mut ChaCha8Rng::seed_from_u64(1);
        let meta = MetaEmbedding::new(vec![1.0, 0.0, 0.0, 2.0], linear(&device), rng, &device);
        let z = values(meta.forward(tensor(vec![1.0, 0.0], [1, 2], &device)));
        assert!(z.iter().all(|v| v.is_finite() && v.abs() <= 16.0), "{z:?}");
        assert!(!meta.centroids.val().is_require_grad());
        assert!(meta.cosine.val().is_require_grad());
        assert_eq!(meta.num_classes(), 2);
    }
}
