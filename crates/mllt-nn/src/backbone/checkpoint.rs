//! Loading a PyTorch state dict into a network, strictly: every model tensor must come from the file with
//! its shape, and every tensor of the file must be used except those the caller names as unused (for the
//! image backbones the BatchNorm `num_batches_tracked` counters, [`BATCH_NORM_COUNTERS`]: they only matter
//! to a BatchNorm in training mode, which the backbones never are).

use std::path::Path;

use burn::store::{
    ApplyResult, KeyRemapper, ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};

use super::{BackboneError, Result};

/// Suffix of the checkpoint tensors an image backbone leaves unused (BatchNorm training counters).
pub(crate) const BATCH_NORM_COUNTERS: &[&str] = &[".num_batches_tracked"];

/// Loads the state dict at `path` into `module`: a `.safetensors` file with PyTorch's tensor names and
/// layouts, anything else as a PyTorch pickle (`torch.save`, legacy or zip). Each `(regex, replacement)`
/// of `key_map` renames checkpoint keys to module paths, applied in order. A checkpoint tensor whose name
/// ends with one of `unused` may be left unused. `model` names the architecture in the error, which is one
/// line naming the file.
pub(crate) fn load_state_dict<M: ModuleSnapshot>(
    module: &mut M,
    path: &Path,
    key_map: &[(&str, &str)],
    unused: &[&str],
    model: &str,
) -> Result<ApplyResult> {
    let remapper = KeyRemapper::from_pattern_iter(key_map.iter().copied())
        .expect("the key maps are valid regular expressions");
    let loaded = if path.extension().is_some_and(|e| e == "safetensors") {
        let mut store = SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .remap(remapper)
            .allow_partial(true)
            .validate(false);
        module.load_from(&mut store).map_err(|e| e.to_string())
    } else {
        let mut store = PytorchStore::from_file(path)
            .remap(remapper)
            .allow_partial(true)
            .validate(false);
        module.load_from(&mut store).map_err(|e| e.to_string())
    };
    let weights_error = |message: String| BackboneError::Weights {
        path: path.into(),
        message,
    };
    let result = loaded.map_err(|message| {
        // burn's messages span several lines; keep the error on one.
        let lines: Vec<&str> = message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        weights_error(lines.join("; "))
    })?;
    if let Some(error) = result.errors.first() {
        return Err(weights_error(format!(
            "{error} ({} tensors do not fit {model})",
            result.errors.len()
        )));
    }
    if let Some(extra) = result
        .unused
        .iter()
        .find(|k| !unused.iter().any(|suffix| k.ends_with(suffix)))
    {
        return Err(weights_error(format!(
            "tensor `{extra}` is not part of {model}"
        )));
    }
    if let Some((missing, _)) = result.missing.first() {
        return Err(weights_error(format!(
            "{model} tensor `{missing}` is missing ({} missing in all)",
            result.missing.len()
        )));
    }
    Ok(result)
}
