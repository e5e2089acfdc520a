#!/usr/bin/env python3
"""How many validation positives a class needs before its own decision threshold helps (issue 12).

Trains DB-Focal on the shipped OpenClipart-MLT features with `mllt train` (which holds out the validation
split and stores per-class thresholds), scores the held-out items and the test split with `mllt predict`, then
recomputes, independently of mllt's Rust code, the per-class F1-maximising thresholds on the held-out items for
several fallback limits m (a class with fewer than m held-out positives takes the global micro-F1 threshold) and
reports test micro / macro F1 for each, next to the reference's rule (logit > 0) and the global threshold alone.
The row of mllt's own limit must equal what `mllt test --model` reports.

Run from the repository root after `cargo build --release -p mllt` (numpy only):
    python3 bench/threshold_fallback.py [OUT_DIR]
"""

import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MLLT = "target/release/mllt"
DATA = Path("data/openclipart-mlt")


def tensor(raw, header, base, name):
    meta = header[name]
    start, end = meta["data_offsets"]
    dtype = {"F16": np.float16, "F32": np.float32}[meta["dtype"]]
    return np.frombuffer(raw[base + start:base + end], dtype=dtype).reshape(meta["shape"]).astype(np.float32)


def features():
    raw = (DATA / "features.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return tensor(raw, header, 8 + n, "train"), tensor(raw, header, 8 + n, "test")


def labels(name, classes):
    ids, rows = [], []
    for line in (DATA / name).read_text().splitlines()[1:]:
        if not line:
            continue
        item, names = line.split("\t")
        row = np.zeros(len(classes), bool)
        for c in filter(None, names.split(",")):
            row[classes.index(c)] = True
        ids.append(item)
        rows.append(row)
    return ids, np.array(rows)


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def best_cut(scores, positive):
    """The threshold with the best F1 of `score > t`, cutting only between distinct scores (mllt's rule)."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positive[order]
    total = y.sum()
    best_t, best_f1, tp = s[0], 0.0, 0
    for k in range(len(s)):
        tp += y[k]
        if k + 1 < len(s) and s[k + 1] == s[k]:
            continue
        f1 = 2 * tp / (total + k + 1)
        if f1 > best_f1:
            best_f1 = f1
            best_t = s[k + 1] + (s[k] - s[k + 1]) / 2 if k + 1 < len(s) else s[k] - 1
    return best_t


def f1(scores, truth, thresholds):
    pred = scores > thresholds
    tp, fp, fn = (pred & truth).sum(0), (pred & ~truth).sum(0), (~pred & truth).sum(0)
    micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum())
    den = 2 * tp + fp + fn
    macro = np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0).mean()
    return 100 * micro, 100 * macro


def mllt(*args):
    subprocess.run([MLLT, *args], check=True, capture_output=True)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/threshold_fallback")
    out.mkdir(parents=True, exist_ok=True)
    run = out / "run"
    started = time.time()
    if not (run / "model.mllt").exists():
        mllt("train", "--data", str(DATA), "--method", "db-focal", "--seed", "0", "--out", str(run))
    classes = [c for c in (DATA / "classes.txt").read_text().splitlines() if c]
    train_x, test_x = features()
    ids, train_y = labels("train.tsv", classes)
    _, test_y = labels("test.tsv", classes)
    held_out = [k for k, i in enumerate(ids) if fnv1a64(i) % 5 == 0]
    np.save(out / "validation.npy", train_x[held_out])
    np.save(out / "test.npy", test_x)
    for name in ("validation", "test"):
        mllt("predict", "--model", str(run / "model.mllt"), "--data", str(out / f"{name}.npy"),
             "--out", str(out / f"{name}.tsv"), "--scores", str(out / f"{name}_scores.npy"))
    val_s, test_s = np.load(out / "validation_scores.npy"), np.load(out / "test_scores.npy")
    val_y = train_y[held_out]
    glob = best_cut(val_s.ravel(), val_y.ravel())
    positives = val_y.sum(0)
    print(f"{len(held_out)} held-out items, {len(classes)} classes; global threshold {glob:.4f}")
    print("| rule | classes with their own threshold | test micro F1 | test macro F1 |")
    print("|---|---|---|---|")
    micro, macro = f1(test_s, test_y, np.zeros(len(classes)))
    print(f"| logit > 0 (the reference) | 0 | {micro:.2f} | {macro:.2f} |")
    for m in (1, 3, 5, 10, 15, 20):
        own = positives >= m
        t = np.array([best_cut(val_s[:, c], val_y[:, c]) if own[c] else glob for c in range(len(classes))])
        micro, macro = f1(test_s, test_y, t)
        print(f"| own threshold with >= {m} held-out positives | {own.sum()} | {micro:.2f} | {macro:.2f} |")
    micro, macro = f1(test_s, test_y, np.full(len(classes), glob))
    print(f"| global threshold only | 0 | {micro:.2f} | {macro:.2f} |")
    print(f"wall time {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
