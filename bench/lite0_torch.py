#!/usr/bin/env python3
"""PyTorch reference for `cargo bench -p mllt-nn --bench efficientnet_lite` (issue 4 item 1).

The same EfficientNet-Lite0 forward pass as the Rust model: TF-SAME padding, BatchNorm eps 1e-3, ReLU6, no
squeeze-excitation, global average pooling to 1280-d features; batch 32 at 224 x 224, weights from the
mllt cache ($MLLT_CACHE or ~/.cache/mllt/efficientnet-lite0-57934424.pth, filled by any `mllt features`
run or by the Rust tests). Prints images/s for 1 thread and for torch's default thread count, or for the
counts given with --threads.

Exits 0 with a message when torch is not installed.

    python3 bench/lite0_torch.py [--repeats 5] [--threads 1 2]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed: skipping the PyTorch comparison")
    sys.exit(0)

BATCH, SIZE, EPS = 32, 224, 1e-3
# EfficientNet-B0 / Lite0 stages: (expand ratio, kernel, stride, output channels, repeats).
STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


def weights_path():
    cache = os.environ.get("MLLT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "mllt")
    return Path(cache) / "efficientnet-lite0-57934424.pth"


def conv_same(x, w, stride, groups=1):
    """Convolution with TensorFlow's SAME padding (the extra row/column goes bottom/right)."""
    k = w.shape[-1]
    pads = []
    for size in (x.shape[3], x.shape[2]):
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.conv2d(F.pad(x, pads), w, stride=stride, groups=groups)


def features(sd, x):
    def bn(x, p):
        return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"],
                            sd[p + ".bias"], False, 0.0, EPS)

    x = F.relu6(bn(conv_same(x, sd["_conv_stem.weight"], 2), "_bn0"))
    i = 0
    for _, _, stride, _, repeats in STAGES:
        for r in range(repeats):
            p, inp = f"_blocks.{i}.", x
            if p + "_expand_conv.weight" in sd:
                x = F.relu6(bn(conv_same(x, sd[p + "_expand_conv.weight"], 1), p + "_bn0"))
            s = stride if r == 0 else 1
            x = F.relu6(bn(conv_same(x, sd[p + "_depthwise_conv.weight"], s, groups=x.shape[1]), p + "_bn1"))
            x = bn(conv_same(x, sd[p + "_project_conv.weight"], 1), p + "_bn2")
            if s == 1 and inp.shape == x.shape:
                x = x + inp
            i += 1
    x = F.relu6(bn(conv_same(x, sd["_conv_head.weight"], 1), "_bn1"))
    return x.mean((2, 3))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", help="thread counts (default: 1 and torch's default)")
    args = parser.parse_args()
    path = weights_path()
    if not path.is_file():
        sys.exit(f"{path}: missing; run `cargo test -p mllt-nn --test efficientnet_lite` to fetch it")
    sd = torch.load(path, map_location="cpu", weights_only=False)

    x = torch.rand(BATCH, 3, SIZE, SIZE) * 2 - 1
    default_threads = torch.get_num_threads()
    for threads in sorted(set(args.threads or [1, default_threads])):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            features(sd, x)  # warm-up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                features(sd, x)
                times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"torch {torch.__version__}, {threads} thread(s): batch {BATCH} in {median:.3f} s "
              f"= {BATCH / median:.1f} images/s (median of {args.repeats})")


if __name__ == "__main__":
    main()
