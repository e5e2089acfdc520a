//! The devices mllt runs on.
//!
//! burn 0.22 has no backend type parameter: a [`Tensor`](burn::Tensor) carries its backend in its
//! [`Device`], and autodiff is a property of the device (`Device::autodiff`). Which backends exist is
//! a build-time choice: the Flex CPU backend always, burn's wgpu backend (Vulkan, Metal or DX12) with
//! the cargo feature `wgpu`, CUDA with the feature `cuda`. [`DeviceKind`] names them at run time.

use std::str::FromStr;

pub use burn::tensor::Device;

/// burn's pure-Rust CPU backend (Flex), f32 by default.
pub fn cpu() -> Device {
    Device::flex()
}

/// The Flex CPU backend with autodiff: tensors created on it can `require_grad()` and `backward()`.
pub fn cpu_autodiff() -> Device {
    Device::flex().autodiff()
}

/// A backend a run can ask for (`--device`), whether or not this build has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// burn's Flex CPU backend: always built.
    Cpu,
    /// burn's wgpu backend on the default adapter (WGSL shaders through wgpu: Vulkan, Metal or DX12);
    /// built with the cargo feature `wgpu`.
    Wgpu,
    /// burn's CUDA backend on the first NVIDIA GPU; built with the cargo feature `cuda`.
    Cuda,
}

/// Why a device cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// A name that is no [`DeviceKind`].
    #[error("unknown device `{0}`: cpu, wgpu or cuda")]
    Unknown(String),
    /// The backend exists but this build does not contain it (its cargo feature was off).
    #[error("this build has no {0} backend: rebuild with `cargo build --release --features {0}`")]
    NotBuilt(&'static str),
}

impl DeviceKind {
    /// Every kind, in the order of the command-line help.
    pub const ALL: [DeviceKind; 3] = [DeviceKind::Cpu, DeviceKind::Wgpu, DeviceKind::Cuda];

    /// The command-line name, which is also the name of the cargo feature that builds the GPU backends.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Cuda => "cuda",
        }
    }

    /// Whether this build contains the backend.
    pub fn is_built(self) -> bool {
        match self {
            DeviceKind::Cpu => true,
            DeviceKind::Wgpu => cfg!(feature = "wgpu"),
            DeviceKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The device (without autodiff), or [`DeviceError::NotBuilt`]. A GPU device is lazy: the adapter is
    /// opened by the first tensor created on it.
    pub fn device(self) -> Result<Device, DeviceError> {
        match self {
            DeviceKind::Cpu => Ok(cpu()),
            #[cfg(feature = "wgpu")]
            DeviceKind::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => Ok(Device::cuda(0_usize)),
            #[allow(unreachable_patterns)] // every backend can be built in
            other => Err(DeviceError::NotBuilt(other.name())),
        }
    }
}

impl Default for DeviceKind {
    /// The GPU backend this build contains (CUDA before wgpu), else the CPU.
    fn default() -> DeviceKind {
        if cfg!(feature = "cuda") {
            DeviceKind::Cuda
        } else if cfg!(feature = "wgpu") {
            DeviceKind::Wgpu
        } else {
            DeviceKind::Cpu
        }
    }
}

impl FromStr for DeviceKind {
    type Err = DeviceError;

    /// The kind of a command-line name (`cpu`, `wgpu`, `cuda`), built in or not.
    fn from_str(name: &str) -> Result<DeviceKind, DeviceError> {
        DeviceKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| DeviceError::Unknown(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_others_are_refused() {
        for kind in DeviceKind::ALL {
            assert_eq!(kind.name().parse::<DeviceKind>(), Ok(kind));
        }
        assert_eq!(
            "gpu".parse::<DeviceKind>(),
            Err(DeviceError::Unknown("gpu".into()))
        );
    }

    #[test]
    fn the_default_is_built_and_a_missing_backend_names_its_feature() {
        assert!(DeviceKind::default().is_built());
        assert!(DeviceKind::default().device().is_ok());
        for kind in DeviceKind::ALL {
            match kind.device() {
                Ok(_) => assert!(kind.is_built()),
                Err(e) => {
                    assert!(!kind.is_built());
                    let message = e.to_string();
                    assert!(
                        message.contains(&format!("--features {}", kind.name())),
                        "{message}"
                    );
                }
            }
        }
        // The default build has the CPU backend alone.
        #[cfg(not(any(feature = "wgpu", feature = "cuda")))]
        {
            assert_eq!(DeviceKind::default(), DeviceKind::Cpu);
            assert_eq!(
                DeviceKind::Wgpu.device().unwrap_err(),
                DeviceError::NotBuilt("wgpu")
            );
        }
    }
}
