//! The devices mllt runs on.
//!
//! burn 0.22 has no backend type parameter: a [`Tensor`](burn::Tensor) carries its backend in its
//! [`Device`], and autodiff is a property of the device (`Device::autodiff`).

pub use burn::tensor::Device;

/// burn's pure-Rust CPU backend (Flex), f32 by default.
pub fn cpu() -> Device {
    Device::flex()
}

/// The Flex CPU backend with autodiff: tensors created on it can `require_grad()` and `backward()`.
pub fn cpu_autodiff() -> Device {
    Device::flex().autodiff()
}
