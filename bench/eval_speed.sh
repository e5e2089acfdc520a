#!/usr/bin/env bash
# Eval speed (issue 12, item 7): `mllt eval` against a whole Python process that loads the same .npy and label
# files and runs scikit-learn's `average_precision_score` per class, on 5000 × 80 scores (seed 0).
#
#   bash bench/eval_speed.sh [RUNS]        (default 20 runs of each command)
#
# bench/eval_vs_sklearn.py writes the files (float64 scores rounded to 2 decimals, long-tailed labels) and
# checks that both sides give the same per-class AP; hyperfine (apt-get install hyperfine) then times the two
# commands, or, without it, a loop of runs does. Needs python3 with numpy and scikit-learn
# (`python3 -m pip install scikit-learn`) and `cargo build --release -p mllt`.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
mllt=target/release/mllt
[ -x "$mllt" ] || { echo "$mllt: not found; run cargo build --release -p mllt" >&2; exit 1; }
python3 -c "import sklearn" 2>/dev/null || python3 -m pip install -q scikit-learn
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 bench/eval_vs_sklearn.py --mllt "$mllt" --repeats 3 --keep "$dir"
eval_cmd="$mllt eval --scores $dir/s.npy --labels $dir/test.tsv --classes $dir/classes.txt --empty-classes zero --json"
sk_cmd="python3 $dir/sk.py $dir/s.npy $dir/test.tsv $dir/classes.txt"
if command -v hyperfine > /dev/null; then
    hyperfine -N --warmup 2 --runs "$runs" --export-json "$dir/times.json" "$eval_cmd" "$sk_cmd"
    python3 - "$dir/times.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
m, s = r[0]["mean"], r[1]["mean"]
print(f"mllt eval {m * 1e3:.1f} ms, python + sklearn {s * 1e3:.1f} ms (means): ratio {m / s:.4f}")
PY
else
    mean() { # mean wall seconds of $runs runs of the command "$@"
        local start end
        start=$(date +%s.%N)
        for _ in $(seq "$runs"); do "$@" > /dev/null; done
        end=$(date +%s.%N)
        echo "($end - $start) / $runs" | bc -l
    }
    m=$(mean $eval_cmd)
    s=$(mean $sk_cmd)
    printf 'mllt eval %.1f ms, python + sklearn %.1f ms (means): ratio %.4f\n' \
        "$(echo "$m * 1000" | bc -l)" "$(echo "$s * 1000" | bc -l)" "$(echo "$m / $s" | bc -l)"
fi
