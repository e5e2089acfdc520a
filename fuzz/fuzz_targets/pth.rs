//! PyTorch checkpoints (`.pth`: zip or legacy pickle) loaded into EfficientNet-Lite0 as `mllt features
//! --weights` does (`EfficientNetLite0::load_pth`, burn's PyTorch reader). The reader takes a path, so each
//! input goes through a temporary file.
#![no_main]
use std::sync::{LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use mllt_nn::backbone::efficientnet_lite::EfficientNetLite0;

static MODEL: LazyLock<Mutex<EfficientNetLite0>> =
    LazyLock::new(|| Mutex::new(EfficientNetLite0::new(&mllt_nn::backend::cpu())));

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("mllt-fuzz-{}.pth", std::process::id()));
    std::fs::write(&path, data).expect("write the temporary file");
    let _ = MODEL.lock().expect("not poisoned").load_pth(&path);
});
