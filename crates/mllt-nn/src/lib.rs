//! mllt on burn: the losses of Wu et al. (ECCV 2020) and their baselines, the model and the trainer.

mod allocator;
pub mod backbone;
pub mod backend;
pub mod deploy;
pub mod features;
pub mod kernels;
pub mod loss;
pub mod model;
pub mod text;
pub mod train;

pub use allocator::retain_freed_memory;
pub use loss::{Loss, LossConfig, LossError};
