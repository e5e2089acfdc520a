#!/usr/bin/env bash
# Fine-tuned vs frozen-feature heads on the real OpenClipart-MLT renders (issue 13 item 2), and the
# backbone learning-rate study. Writes results/finetune/{runs/*/metrics.json, table.md}.
#
#   bash bench/finetune_vs_frozen.sh IMAGE_DIR [RUN...]
#
# IMAGE_DIR: the image folder of `mllt data openclipart --svg-root ROOT/usr/share/openclipart/svg --out IMAGE_DIR`
# (ROOT from `apt-get download openclipart-svg && dpkg -x openclipart-svg_*.deb ROOT`).
# RUN: any of the run names below (default: all), e.g. `ft-db-focal frozen-db-focal`.
# Every run: EfficientNet-Lite0 with its ImageNet weights, seed $SEED (0), batch 16, $STEPS (800) steps,
# $SIZE x $SIZE (128) pixels; `frozen-*` train the head on `mllt features --resize stretch` features (the
# test-time inputs of the image path), `ft-*` fine-tune backbone + head with the paper's recipe and the
# reference augmentation, `ft-db-focal-lrS` scale the backbone's learning rate by S (0 = frozen backbone,
# same augmentation). Runs are sequential; JOBS=2 runs two at a time. TAG is appended to the run folders'
# names (e.g. TAG=-400 with STEPS=400).
set -euo pipefail
DATA=${1:?usage: bench/finetune_vs_frozen.sh IMAGE_DIR [RUN...]}
shift
SEED=${SEED:-0} STEPS=${STEPS:-800} SIZE=${SIZE:-128} BATCH=${BATCH:-16} JOBS=${JOBS:-1}
OUT=${OUT:-results/finetune} TAG=${TAG:-}
MLLT=${MLLT:-target/release/mllt}
ALL=(frozen-erm frozen-rs frozen-db-focal ft-erm ft-rs ft-db-focal ft-db-focal-lr0 ft-db-focal-lr0.1 ft-db-focal-lr0.01)
RUNS=("${@:-${ALL[@]}}")
mkdir -p "$OUT/runs"
FEATURES="$OUT/features-$SIZE"

run() {
  local name=$1 dir="$OUT/runs/$1$TAG" start
  rm -rf "$dir"
  start=$(date +%s)
  case $name in
    frozen-*)
      "$MLLT" train --data "$FEATURES" --method "${name#frozen-}" --seed "$SEED" --batch-size "$BATCH" \
        --max-steps "$STEPS" --no-holdout --out "$dir" --json > /dev/null ;;
    ft-db-focal-lr*)
      "$MLLT" train --data "$DATA" --backbone efficientnet-lite0 --method db-focal --seed "$SEED" \
        --batch-size "$BATCH" --max-steps "$STEPS" --image-size "$SIZE" \
        --backbone-lr-scale "${name#ft-db-focal-lr}" --no-holdout --out "$dir" --json > /dev/null ;;
    ft-*)
      "$MLLT" train --data "$DATA" --backbone efficientnet-lite0 --method "${name#ft-}" --seed "$SEED" \
        --batch-size "$BATCH" --max-steps "$STEPS" --image-size "$SIZE" --no-holdout --out "$dir" --json > /dev/null ;;
    *) echo "unknown run $name" >&2; return 1 ;;
  esac
  echo "$(( $(date +%s) - start ))" > "$dir/wall_seconds"
  echo "$name$TAG: $(( $(date +%s) - start )) s"
}

if [[ " ${RUNS[*]} " == *" frozen-"* && ! -f "$FEATURES/features.safetensors" ]]; then
  start=$(date +%s)
  "$MLLT" features --data "$DATA" --backbone efficientnet-lite0 --image-size "$SIZE" --resize stretch \
    --out "$FEATURES"
  echo "$(( $(date +%s) - start ))" > "$FEATURES/wall_seconds"
fi
for name in "${RUNS[@]}"; do
  run "$name" &
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n; done
done
wait

# The table, from every run's metrics.json.
{
  echo "| run | total | head | medium | tail | steps | final train loss | images/s | wall s |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for dir in "$OUT"/runs/*/; do
    name=$(basename "$dir")
    [[ -f "$dir/metrics.json" ]] || continue
    python3 - "$dir" "$name" <<'PY'
import json, sys, pathlib
d, name = pathlib.Path(sys.argv[1]), sys.argv[2]
m = json.loads((d / "metrics.json").read_text())
g = m["map"]
pct = lambda v: "–" if v is None else f"{100 * v:.2f}"
ips = m.get("train_images_per_second")
print(f"| {name} | {pct(g['total'])} | {pct(g['head'])} | {pct(g['medium'])} | {pct(g['tail'])} | "
      f"{m.get('iterations', '')} | {m.get('final_train_loss', 0):.4f} | {'' if ips is None else f'{ips:.1f}'} | "
      f"{(d / 'wall_seconds').read_text().strip()} |")
PY
  done
} > "$OUT/table.md"
cat "$OUT/table.md"
