#!/usr/bin/env bash
# Training throughput on a GPU: ResNet-50 (stem and layer1 frozen, BatchNorm on running statistics, a linear
# head to 80 classes, BCE-with-logits, SGD with momentum) at batch 32 and 224 px, one warm-up step and 50 timed
# steps, on each GPU backend of mllt that builds here (wgpu, then cuda), and the same steps in PyTorch on the
# first CUDA device. Each line gives images/s: the batch over the median step time.
#
#     bench/gpu.sh [--steps 50] [--batch 32] [--size 224] [--profile release] [--backends wgpu,cuda]
#
# mllt's side is `crates/mllt-nn/examples/gpu_steps.rs`, built per backend into its own target directory
# ($CARGO_TARGET_DIR or target/, then gpu-wgpu/ or gpu-cuda/), so that switching features rebuilds nothing.
# A backend that fails to build is reported with the end of its build log (burn's cuda backend downloads an
# LLVM bundle at build time, so it builds only online) and the others still run. The PyTorch line needs torch
# with CUDA (bench/backbone_train_torch.py --device cuda); without it the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."

steps=50 batch=32 size=224 profile=release backends=wgpu,cuda
while (($#)); do
    case $1 in
    --steps) steps=$2 ;;
    --batch) batch=$2 ;;
    --size) size=$2 ;;
    --profile) profile=$2 ;;
    --backends) backends=$2 ;;
    *)
        echo "unknown argument $1: --steps N, --batch N, --size S, --profile P, --backends LIST" >&2
        exit 2
        ;;
    esac
    shift 2
done

base=${CARGO_TARGET_DIR:-target}
case $profile in
dev | test) dir=debug ;;
bench) dir=release ;;
*) dir=$profile ;;
esac
for backend in ${backends//,/ }; do
    target=$base/gpu-$backend
    log=$target/gpu_steps-build.log
    mkdir -p "$target"
    echo "building gpu_steps with --features $backend ($profile, log $log)"
    if ! cargo build --profile "$profile" -p mllt-nn --features "$backend" --example gpu_steps \
        --target-dir "$target" >"$log" 2>&1; then
        echo "$backend: does not build here; the end of $log:"
        tail -n 5 "$log" | sed 's/^/    /'
        continue
    fi
    "$target/$dir/examples/gpu_steps" --device "$backend" --backbone resnet50 \
        --batch "$batch" --size "$size" --steps "$steps" || echo "$backend: the run failed"
done

if python3 -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    python3 bench/backbone_train_torch.py --device cuda --backbone resnet50_frozen1 \
        --batch "$batch" --size "$size" --steps "$steps"
else
    echo "PyTorch: torch with a CUDA device is not available here, no comparison"
fi
