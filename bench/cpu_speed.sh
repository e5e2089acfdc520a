#!/usr/bin/env bash
# CPU speed of mllt's backbones against PyTorch, at each thread count given (default: 1 2).
#
#   bash bench/cpu_speed.sh [THREADS...]        e.g. bash bench/cpu_speed.sh 1 2 16
#
# For each count T: the training step pair (`cargo bench -p mllt-nn --bench backbone_train`, ResNet-50
# with frozen stem + layer1 and EfficientNet-Lite0, batch 8 at 224 px, against
# bench/backbone_train_torch.py) and the inference pair (`--bench efficientnet_lite`, Lite0 features of
# 32 images, against bench/lite0_torch.py). mllt's threads are rayon's (RAYON_NUM_THREADS=T), PyTorch's
# torch.set_num_threads(T). Run it on a quiet machine: the two sides run one after the other.
# The PyTorch side is skipped (with a message) where torch is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=("$@")
[ ${#threads[@]} -gt 0 ] || threads=(1 2)
cargo bench -p mllt-nn --bench backbone_train --bench efficientnet_lite --no-run
for t in "${threads[@]}"; do
    echo "== $t thread(s)"
    RAYON_NUM_THREADS=$t cargo bench -p mllt-nn --bench backbone_train 2>&1 | grep -E "^train_step|thrpt"
    python3 bench/backbone_train_torch.py --threads "$t"
    RAYON_NUM_THREADS=$t cargo bench -p mllt-nn --bench efficientnet_lite -- forward 2>&1 | grep -E "^lite0|thrpt"
    python3 bench/lite0_torch.py --threads "$t"
done
