//! Two of scikit-image's sample photos, for checking a backbone end to end: `chelsea` (a tabby cat) and
//! `coffee` (a cup of espresso). They are fetched from the scikit-image wheel like the weights
//! ([`WheelFile::fetch`]); version and platform are pinned, so the wheel is always the same file.

use super::wheel::WheelFile;

/// A photo inside the pinned scikit-image wheel.
const fn photo(member: &'static str, sha256: &'static str) -> WheelFile {
    WheelFile {
        requirement: "scikit-image==0.26.0",
        pip_args: &[
            "--only-binary=:all:",
            "--platform",
            "manylinux_2_28_x86_64",
            "--python-version",
            "3.11",
            "--implementation",
            "cp",
        ],
        member,
        sha256,
    }
}

/// `chelsea.png`: 451 × 300 RGB, a tabby cat (ImageNet 281 tabby / 282 tiger cat / 285 Egyptian cat).
pub const CHELSEA: WheelFile = photo(
    "skimage/data/chelsea.png",
    "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
);

/// `coffee.png`: 600 × 400 RGB, a cup of espresso (ImageNet 967 espresso).
pub const COFFEE: WheelFile = photo(
    "skimage/data/coffee.png",
    "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
);
