#!/usr/bin/env bash
# MiniLM sentence embeddings against the TF-IDF text path on DebTags-MLT: ERM and DB-Focal, 3 seeds each, the
# same training settings for both feature kinds. Recorded in results/minilm-features/README.md.
#
#   1. `mllt features --backbone minilm` turns data/debtags-mlt into a 384-d feature folder (timed).
#   2. `mllt reproduce --data debtags-mlt --methods erm,db-focal` trains the TF-IDF path exactly as Table 1 does:
#      the matched protocol (4000 iterations), each method's learning rate and hyper-parameters chosen on the
#      validation split, TF-IDF width 4096; every final run writes its configuration (config.toml).
#   3. `mllt train --config <that run's config.toml> --seed S --no-holdout` trains the very same configuration on
#      the MiniLM folder: the call reproduce's final runs make (every training item, the reference threshold).
#   4. `mllt reproduce` on the MiniLM folder, for reference: its own validation choices.
#
# Prints a markdown table of test mAP (total / head / medium / tail, %), mean ± sample std over the seeds.
#
# Usage: bench/minilm_vs_tfidf.sh [WORK_DIR]   (default /tmp/minilm-vs-tfidf; JOBS=N runs at a time, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/minilm-vs-tfidf}
JOBS=${JOBS:-2}
SEEDS=3
METHODS=(erm db-focal)
mkdir -p "$WORK"

# A private copy of the binary: a concurrent build into the same target folder cannot swap it mid-run.
cargo build --release --quiet -p mllt
cp "${CARGO_TARGET_DIR:-target}/release/mllt" "$WORK/mllt"
MLLT=$WORK/mllt

start=$(date +%s)
"$MLLT" features --data data/debtags-mlt --backbone minilm --out "$WORK/debtags-minilm" 2>/dev/null |
    tee "$WORK/features.txt"
echo "features wall time: $(($(date +%s) - start)) s" | tee -a "$WORK/features.txt"

methods=$(IFS=,; echo "${METHODS[*]}")
"$MLLT" reproduce --data debtags-mlt --methods "$methods" --seeds "$SEEDS" --jobs "$JOBS" \
    --out "$WORK/tfidf" >"$WORK/tfidf.txt" 2>"$WORK/tfidf.log"

pids=()
for method in "${METHODS[@]}"; do
    for seed in $(seq 0 $((SEEDS - 1))); do
        run=$method-seed$seed
        "$MLLT" train --data "$WORK/debtags-minilm" --config "$WORK/tfidf/runs/debtags-mlt/$run/config.toml" \
            --seed "$seed" --no-holdout --out "$WORK/minilm/$run" >"$WORK/minilm-$run.txt" 2>&1 &
        pids+=($!)
        if ((${#pids[@]} >= JOBS)); then
            wait "${pids[0]}"
            pids=("${pids[@]:1}")
        fi
    done
done
for pid in "${pids[@]}"; do wait "$pid"; done

"$MLLT" reproduce --data "$WORK/debtags-minilm" --methods "$methods" --seeds "$SEEDS" --jobs "$JOBS" \
    --out "$WORK/minilm-tuned" >"$WORK/minilm-tuned.txt" 2>"$WORK/minilm-tuned.log"
echo "total wall time: $(($(date +%s) - start)) s"

python3 - "$WORK" "$SEEDS" "${METHODS[@]}" <<'EOF'
import json, statistics, sys
from pathlib import Path

work, seeds, methods = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
groups = ["total", "head", "medium", "tail"]

def cell(values):
    return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values):.2f}"

def reproduce_row(summary, dataset, method):
    r = json.loads(summary.read_text())["results"][dataset][method]
    return [f"{100 * r[g]:.2f} ± {100 * r['std'][g]:.2f}" for g in groups]

def config(method):
    s = json.loads((work / "tfidf/summary.json").read_text())
    chosen = s["tuning"]["debtags-mlt"][method]["chosen"]
    schedule = s["schedules"]["debtags-mlt"][method]
    return ", ".join(f"{k} {v:g}" for k, v in chosen.items()) + f"; lr {schedule['lr']:g}, {schedule['iterations']} iterations"

print("| method | features | total | head | medium | tail |")
print("|---|---|---|---|---|---|")
for method in methods:
    print(f"| {method} | TF-IDF (4096, reproduce) | " + " | ".join(reproduce_row(work / "tfidf/summary.json", "debtags-mlt", method)) + " |")
    runs = [json.loads((work / f"minilm/{method}-seed{s}/metrics.json").read_text())["map"] for s in range(seeds)]
    print(f"| {method} | MiniLM (same configuration) | " + " | ".join(cell([r[g] for r in runs]) for g in groups) + " |")
    tuned = work / "minilm-tuned/summary.json"
    print(f"| {method} | MiniLM (own validation choices) | " + " | ".join(reproduce_row(tuned, "debtags-minilm", method)) + " |")
print()
for method in methods:
    mine = json.loads((work / "minilm-tuned/summary.json").read_text())["tuning"]["debtags-minilm"][method]["chosen"]
    print(f"- {method}: TF-IDF validation chose {config(method)}; MiniLM's own choice: "
          + ", ".join(f"{k} {v:g}" for k, v in mine.items()))
EOF
