#!/usr/bin/env bash
# mllt's wgpu backend on Mesa's software Vulkan driver (lavapipe), where no GPU is needed: builds
# `cargo test -p mllt-nn --features wgpu --test wgpu_matches_cpu` and runs it on lavapipe alone. The test trains
# ResNet-50 and EfficientNet-Lite0 for a few SGD steps (batch 2 at 64 px) on the CPU backend and on wgpu from the
# same weights and asserts that every step's loss agrees (crates/mllt-nn/tests/wgpu_matches_cpu.rs).
#
#     bench/wgpu_lavapipe.sh
#
# Installs nothing: it needs lavapipe's Vulkan ICD (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers`;
# `vulkaninfo --summary` from vulkan-tools lists it as llvmpipe). To run the same test on a real GPU, run the
# cargo command without the VK_* variables this script sets. Prints the build and the test time.
set -euo pipefail
cd "$(dirname "$0")/.."

icd=""
for dir in /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/share/vulkan/icd.d; do
    for file in "$dir"/lvp_icd*.json; do
        if [[ -f $file ]]; then
            icd=$file
            break 2
        fi
    done
done
if [[ -z $icd ]]; then
    echo "no lavapipe Vulkan ICD (lvp_icd*.json under /usr/share/vulkan/icd.d or /etc/vulkan/icd.d):" \
        "install Mesa's software Vulkan driver, e.g. \`sudo apt-get install mesa-vulkan-drivers\`" >&2
    exit 1
fi
# Only lavapipe: a real GPU next to it would otherwise be the default adapter.
export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
# cubecl's autotune times alternative kernels to pick the fastest; on a software driver that costs minutes
# and decides nothing worth knowing (every alternative computes the same result).
export CUBECL_AUTOTUNE_LEVEL=${CUBECL_AUTOTUNE_LEVEL:-minimal}
# Vulkan's window-system layer complains on every start without one (nothing is drawn).
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
echo "Vulkan ICD: $icd"

test_cmd=(cargo test -p mllt-nn --features wgpu --test wgpu_matches_cpu)
start=$(date +%s)
"${test_cmd[@]}" --no-run
built=$(date +%s)
"${test_cmd[@]}" -- --nocapture
done=$(date +%s)
echo "build $((built - start)) s, test $((done - built)) s"
