//! Model files written by `mllt train` (`mllt_nn::deploy::TrainedModel::from_bytes`): the safetensors
//! container, the JSON header, the TOML configuration inside it and the stored tensors' shapes.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mllt_nn::backend::cpu;
use mllt_nn::deploy::TrainedModel;

fuzz_target!(|data: &[u8]| {
    let _ = TrainedModel::from_bytes(data.to_vec(), Path::new("fuzz.mllt"), &cpu());
});
