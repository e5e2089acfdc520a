//! The classification head on pooled features (semantics §5; paper §4.2 "Implementation Details").
//!
//! * Paper head: the PFC neck `fc(d→256) → BatchNorm1d(256) → Dropout(0.5)` with **no activation**, then the
//!   classifier `fc(256→C)` producing raw logits.
//! * Linear head (an option): the classifier `fc(d→C)` alone.
//! * ML-GCN (Table 1's baseline): the PFC neck, then the classifier matrix of [`GcnClassifier`] in place of
//!   `fc(256→C)`.
//! * OLTR (Table 1's baseline): the paper head in stage 1; in stage 2 ([`Head::enter_stage_two`]) the neck
//!   feeds [`MetaEmbedding`] in place of `fc(256→C)`.
//!
//! Initialisation (semantics §5): neck `fc.weight ~ kaiming_normal(mode='fan_out')`, i.e. N(0, 2/256),
//! `fc.bias = 0`; BN γ = 1, β = 0; classifier `weight ~ N(0, 0.01²)`, `bias = 0`.
//! Dropout masks come from the trainer's seeded ChaCha stream, not from burn's global RNG.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::batch_norm::BatchNorm1d;
use super::init::{kaiming_normal_fan_out_std, normal};
use super::{GcnClassifier, HeadConfig, LabelGraph, MetaEmbedding};

/// Standard deviation of the classifier weights (`ClsHead` init: N(0, 0.01²)).
const CLASSIFIER_STD: f64 = 0.01;

/// The PFC neck: fc → BatchNorm1d → Dropout, no activation.
#[derive(Module, Debug)]
pub struct Neck {
    pub fc: Linear,
    pub bn: BatchNorm1d,
    /// Dropout probability (inverted dropout: kept values are scaled by 1/(1−p)).
    pub dropout: f64,
}

/// The head: an optional neck, then exactly one of the three classifiers. `neck` is `None` for the linear
/// head; `classifier` (the linear one) is `None` for ML-GCN and in OLTR's stage 2, where `gcn` or `meta`
/// classifies instead.
#[derive(Module, Debug)]
pub struct Head {
    pub neck: Option<Neck>,
    pub classifier: Option<Linear>,
    pub gcn: Option<GcnClassifier>,
    pub meta: Option<MetaEmbedding>,
}

/// A linear layer with weight `[d_in, d_out]` drawn from N(0, std²) and a zero bias.
fn linear(d_in: usize, d_out: usize, std: f64, rng: &mut ChaCha8Rng, device: &Device) -> Linear {
    let weight = Tensor::<2>::from_data(
        TensorData::new(normal(rng, d_in * d_out, std), [d_in, d_out]),
        device,
    );
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(Tensor::zeros([d_out], device))),
    }
}

impl Head {
    /// A freshly initialised head for `in_features`-d inputs and `num_classes` outputs; the weights are drawn
    /// from `rng` (neck first, then the classifier). OLTR starts in stage 1, the paper head.
    ///
    /// # Panics
    /// If `config` is ML-GCN and `graph` is `None`: its caller must build the label graph.
    pub fn new(
        config: &HeadConfig,
        in_features: usize,
        num_classes: usize,
        graph: Option<&LabelGraph>,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Head {
        let neck = config.neck().map(|(hidden, dropout)| Neck {
            fc: linear(
                in_features,
                hidden,
                kaiming_normal_fan_out_std(hidden),
                rng,
                device,
            ),
            bn: BatchNorm1d::new(hidden, device),
            dropout,
        });
        let width = neck.as_ref().map_or(in_features, |n| n.fc.weight.dims()[1]);
        match *config {
            HeadConfig::MlGcn { gcn_hidden, .. } => {
                let graph = graph.expect("the ML-GCN head needs its label graph");
                Head {
                    neck,
                    classifier: None,
                    gcn: Some(GcnClassifier::new(graph, gcn_hidden, width, rng, device)),
                    meta: None,
                }
            }
            HeadConfig::Pfc { .. } | HeadConfig::Linear | HeadConfig::Oltr { .. } => Head {
                neck,
                classifier: Some(linear(width, num_classes, CLASSIFIER_STD, rng, device)),
                gcn: None,
                meta: None,
            },
        }
    }

    /// OLTR's stage 2: the linear classifier gives way to the meta-embedding over `centroids` (`C × width`,
    /// row-major, the mean [`features`](Self::features) of each class's positives). The stage-1 classifier
    /// becomes its hallucinator, as OLTR's code initialises it; the new weights are drawn from `rng`.
    pub fn enter_stage_two(&mut self, centroids: Vec<f32>, rng: &mut ChaCha8Rng) {
        let device = self.device();
        let classifier = self
            .classifier
            .take()
            .expect("stage 1 has the linear classifier");
        self.meta = Some(MetaEmbedding::new(centroids, classifier, rng, &device));
    }

    /// Whether the head is the paper head or the linear head (neither ML-GCN nor OLTR's stage 2).
    pub fn is_plain(&self) -> bool {
        self.classifier.is_some()
    }

    /// Input feature dimension d.
    pub fn in_features(&self) -> usize {
        match (&self.neck, &self.classifier) {
            (Some(neck), _) => neck.fc.weight.dims()[0],
            (None, Some(classifier)) => classifier.weight.dims()[0],
            (None, None) => unreachable!("only the linear head lacks a neck"),
        }
    }

    /// The width of the features the classifier reads: the neck's, or d.
    pub fn width(&self) -> usize {
        match &self.neck {
            Some(neck) => neck.fc.weight.dims()[1],
            None => self.in_features(),
        }
    }

    /// Number of classes C.
    pub fn num_classes(&self) -> usize {
        match (&self.classifier, &self.gcn, &self.meta) {
            (Some(linear), _, _) => linear.weight.dims()[1],
            (None, Some(gcn), _) => gcn.num_classes(),
            (None, None, Some(meta)) => meta.num_classes(),
            (None, None, None) => unreachable!("a head has a classifier"),
        }
    }

    fn device(&self) -> Device {
        match &self.neck {
            Some(neck) => neck.fc.weight.device(),
            None => self
                .classifier
                .as_ref()
                .expect("the linear head")
                .weight
                .device(),
        }
    }

    /// The classifier on the neck's output h: raw logits `[batch, C]`.
    fn classify(&self, h: Tensor<2>) -> Tensor<2> {
        match (&self.classifier, &self.gcn, &self.meta) {
            (Some(linear), _, _) => linear.forward(h),
            (None, Some(gcn), _) => gcn.forward(h),
            (None, None, Some(meta)) => meta.forward(h),
            (None, None, None) => unreachable!("a head has a classifier"),
        }
    }

    /// Training forward pass: BN on batch statistics (updating the running ones) and dropout with a mask
    /// drawn from `rng`. Returns raw logits `[batch, C]`.
    pub fn forward_train(&mut self, x: Tensor<2>, rng: &mut ChaCha8Rng) -> Tensor<2> {
        let h = match &mut self.neck {
            Some(neck) => {
                let h = neck.bn.forward_train(neck.fc.forward(x));
                dropout(h, neck.dropout, rng)
            }
            None => x,
        };
        self.classify(h)
    }

    /// The features the classifier reads, in evaluation mode (BN on running statistics, no dropout):
    /// `[batch, width]`.
    pub fn features(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.neck {
            Some(neck) => neck.bn.forward(neck.fc.forward(x)),
            None => x,
        }
    }

    /// Evaluation forward pass: BN on running statistics, no dropout. Returns raw logits `[batch, C]`
    /// (the reference applies no sigmoid at test time, and logit regularisation lives only in the loss).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.classify(self.features(x))
    }
}

/// Inverted dropout (`torch.nn.Dropout`): each element is kept with probability 1−p and scaled by 1/(1−p).
fn dropout(x: Tensor<2>, p: f64, rng: &mut ChaCha8Rng) -> Tensor<2> {
    if p <= 0.0 {
        return x;
    }
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let shape = x.dims();
    let mask: Vec<f32> = (0..shape[0] * shape[1])
        .map(|_| {
            if rng.random::<f64>() < keep {
                scale
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, shape), &x.device());
    x * mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn std_of(t: Tensor<2>) -> f64 {
        let v = t.into_data().try_into_vec_as::<f32>().unwrap();
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    }

    #[test]
    fn paper_head_shapes_and_init() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let head = Head::new(&HeadConfig::default(), 512, 20, None, &mut rng, &device);
        assert_eq!((head.in_features(), head.num_classes()), (512, 20));
        let neck = head.neck.as_ref().unwrap();
        assert_eq!(neck.fc.weight.dims(), [512, 256]);
        assert!((std_of(neck.fc.weight.val()) - (2.0f64 / 256.0).sqrt()).abs() < 0.003);
        let classifier = head.classifier.as_ref().unwrap();
        assert!((std_of(classifier.weight.val()) - 0.01).abs() < 0.001);
        assert_eq!(neck.dropout, 0.5);
        let out = head.forward(Tensor::ones([3, 512], &device));
        assert_eq!(out.dims(), [3, 20]);
        let linear = Head::new(&HeadConfig::Linear, 512, 20, None, &mut rng, &device);
        assert!(linear.neck.is_none());
        assert_eq!(linear.classifier.unwrap().weight.dims(), [512, 20]);
    }

    /// OLTR's stage 2 keeps the neck, turns the stage-1 classifier into the hallucinator and adds the memory.
    #[test]
    fn oltr_stage_two_reuses_the_stage_one_classifier() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let config = HeadConfig::Oltr {
            hidden: 8,
            dropout: 0.5,
            stage_one: 0.5,
        };
        let mut head = Head::new(&config, 5, 3, None, &mut rng, &device);
        let stage_one = std_of(head.classifier.as_ref().unwrap().weight.val());
        head.enter_stage_two(vec![0.5; 3 * 8], &mut rng);
        assert!(head.classifier.is_none() && !head.is_plain());
        let meta = head.meta.as_ref().unwrap();
        assert_eq!(std_of(meta.hallucinator.weight.val()), stage_one);
        assert_eq!(meta.centroids.dims(), [3, 8]);
        assert_eq!(
            (head.num_classes(), head.width(), head.in_features()),
            (3, 8, 5)
        );
        assert_eq!(head.forward(Tensor::ones([4, 5], &device)).dims(), [4, 3]);
    }

    #[test]
    fn dropout_keeps_half_and_rescales() {
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let y = dropout(Tensor::ones([100, 100], &device), 0.5, &mut rng);
        let v = y.into_data().try_into_vec_as::<f32>().unwrap();
        assert!(v.iter().all(|&x| x == 0.0 || x == 2.0));
        let kept = v.iter().filter(|&&x| x == 2.0).count();
        assert!((4700..5300).contains(&kept), "{kept}");
    }
}
