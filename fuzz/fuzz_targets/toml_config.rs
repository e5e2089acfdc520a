//! Training configurations (`mllt_nn::train::TrainConfig::from_toml`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mllt_nn::train::TrainConfig;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = TrainConfig::from_toml(text, "fuzz.toml");
    }
});
