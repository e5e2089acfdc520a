#!/usr/bin/env python3
"""Benchmark `mllt eval` against scikit-learn's `average_precision_score` (whole processes, imports included).

Generates N x C random scores (float64 .npy, rounded to 2 decimals so that ties are common) and long-tailed
labels (a label TSV and classes.txt), then times, over a few repeats:

* `mllt eval --scores s.npy --labels test.tsv --classes classes.txt --empty-classes zero --json`
* a Python process that reads the same three files and calls
  `sklearn.metrics.average_precision_score(y, s, average=None)` (the reference `eval_map`).

It also checks that both give the same per-class AP (to 1e-12) and prints the times and their ratio.

Usage: python3 bench/eval_vs_sklearn.py [--mllt target/release/mllt] [--rows 5000] [--classes 80] [--repeats 5]
       [--keep DIR]   (write the files, and sk.py, to DIR and keep them; `bench/eval_speed.sh` times them)
Needs numpy and scikit-learn (`pip install numpy scikit-learn`) and a release build
(`cargo build --release -p mllt`).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SKLEARN_SCRIPT = r"""
import json, sys
import numpy as np
from sklearn.metrics import average_precision_score

scores_path, labels_path, classes_path = sys.argv[1:4]
classes = [l.strip() for l in open(classes_path) if l.strip()]
index = {c: i for i, c in enumerate(classes)}
rows = open(labels_path).read().splitlines()[1:]
y = np.zeros((len(rows), len(classes)), dtype=np.int64)
for k, line in enumerate(rows):
    labels = line.split("\t")[1]
    for name in filter(None, labels.split(",")):
        y[k, index[name]] = 1
s = np.load(scores_path)
ap = average_precision_score(y, s, average=None)
print(json.dumps({"map": float(ap.mean()), "ap": dict(zip(classes, map(float, ap)))}))
"""


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mllt", default="target/release/mllt")
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--classes", type=int, default=80)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--keep", metavar="DIR", help="write the files to DIR (kept) instead of a temporary folder")
    args = p.parse_args()
    if not Path(args.mllt).is_file():
        sys.exit(f"{args.mllt}: not found; run `cargo build --release -p mllt` first")

    rng = np.random.RandomState(0)
    n, c = args.rows, args.classes
    prevalence = 0.3 / np.arange(1, c + 1) ** 0.8  # long-tailed: 30 % down to about 1 %
    y = (rng.rand(n, c) < prevalence).astype(np.int64)
    s = np.round(rng.randn(n, c) + 1.5 * y, 2)  # informative, with many tied scores

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(args.keep or tmp)
        d.mkdir(parents=True, exist_ok=True)
        names = [f"class{j}" for j in range(c)]
        (d / "classes.txt").write_text("\n".join(names) + "\n")
        lines = ["image_id\tlabels"] + [
            f"img{k}\t" + ",".join(names[j] for j in np.flatnonzero(y[k])) for k in range(n)
        ]
        (d / "test.tsv").write_text("\n".join(lines) + "\n")
        np.save(d / "s.npy", s)
        (d / "sk.py").write_text(SKLEARN_SCRIPT)
        files = [str(d / "s.npy"), str(d / "test.tsv"), str(d / "classes.txt")]
        mllt_cmd = [args.mllt, "eval", "--scores", files[0], "--labels", files[1], "--classes", files[2],
                    "--empty-classes", "zero", "--json"]
        sk_cmd = [sys.executable, str(d / "sk.py"), *files]

        mllt_times, sk_times = [], []
        for _ in range(args.repeats):
            t, mllt_out = timed(mllt_cmd)
            mllt_times.append(t)
            t, sk_out = timed(sk_cmd)
            sk_times.append(t)

    ours, theirs = json.loads(mllt_out), json.loads(sk_out)
    worst = max(abs(ours["ap"][k] - theirs["ap"][k]) for k in theirs["ap"])
    assert worst <= 1e-12, f"per-class AP differs by {worst}"
    assert abs(ours["map"]["total"] - theirs["map"]) <= 1e-12

    m, k = statistics.median(mllt_times), statistics.median(sk_times)
    print(f"{n} x {c} scores, {args.repeats} runs each (median, min), whole processes")
    print(f"  mllt eval  : {m * 1e3:8.1f} ms  (min {min(mllt_times) * 1e3:.1f} ms)")
    print(f"  sklearn AP : {k * 1e3:8.1f} ms  (min {min(sk_times) * 1e3:.1f} ms)")
    print(f"  ratio mllt/sklearn: {m / k:.4f}  (sklearn / mllt = {k / m:.1f}x)")
    print(f"  mAP {ours['map']['total']:.6f}; per-class AP agrees with sklearn to {worst:.1e}")


if __name__ == "__main__":
    main()
