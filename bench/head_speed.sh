#!/usr/bin/env bash
# Head training speed of mllt against PyTorch on one thread (issue 11, item 6): the paper head (fc 2048->256,
# BatchNorm1d, dropout 0.5, fc 256->80), DB-Focal, global clip 35, SGD with momentum and weight decay, batch
# 32 gathered from a 1909 x 2048 feature matrix.
#
#   bash bench/head_speed.sh [ROUNDS]        (default 3 rounds, each side right after the other)
#
# mllt: `cargo bench -p mllt-nn --bench train` (the trainer's own step, `TrainState::step_items`); PyTorch:
# `python3 bench/train_torch.py --threads 1`. Criterion's elem/s and PyTorch's steps/s are both steps per
# second (32 samples each). Run it on a quiet machine. The PyTorch side is skipped (with a message) where
# torch is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
cargo bench -p mllt-nn --bench train --no-run
for r in $(seq 1 "$rounds"); do
    echo "== round $r"
    RAYON_NUM_THREADS=1 cargo bench -p mllt-nn --bench train 2>&1 | grep -E "^train_step|thrpt"
    python3 bench/train_torch.py --threads 1
done
