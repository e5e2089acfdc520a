//! Framework-free core of mllt, the Distribution-Balanced Loss system
//! (Wu et al., *Distribution-Balanced Loss for Multi-Label Classification in Long-Tailed Datasets*, ECCV 2020).
//!
//! Data flows one way: [`labels`] → [`stats`] → [`sampling`] → (model and loss, in `mllt-nn`) → [`metrics`].
//! [`longtail`] builds long-tailed subsets (appendix A.1). Nothing here depends on a deep-learning framework.

pub mod atomic;
pub mod datasets;
pub mod error;
pub mod fnv;
pub mod holdout;
pub mod labels;
pub mod longtail;
pub mod metrics;
pub mod npy;
pub mod npy_writer;
pub mod sampling;
pub mod scores;
pub mod split;
pub mod stats;

pub use error::{Error, Result};
pub use labels::LabelSet;
pub use split::{Group, SplitRule};
