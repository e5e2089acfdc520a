#!/usr/bin/env python3
"""PyTorch reference for `cargo bench -p mllt-nn --bench backbone_train`.

One SGD step (lr 0.02, momentum 0.9, weight decay 1e-4) of backbone -> pooled features -> linear layer to
80 classes -> BCE-with-logits mean -> backward, on a batch of 8 images at 224 x 224, with 2 threads:

* ResNet-50 as torchvision's (the definition of crates/mllt-nn/tests/golden/resnet50_golden.py) with
  `frozen_stages=1` (conv1, bn1, layer1 without gradients) and `norm_eval=True` (BatchNorm in eval mode);
* EfficientNet-Lite0 (the functional forward of bench/lite0_torch.py), BatchNorm in eval mode.

Random weights (the speed does not depend on them). Prints images/s, the median of --repeats steps.
Exits 0 with a message when torch is not installed.

    python3 bench/backbone_train_torch.py [--repeats 5] [--threads 2]

On a GPU (`bench/gpu.sh`): --device cuda, another --batch and --size, --steps (the same as --repeats), and
--backbone to run one of the two:

    python3 bench/backbone_train_torch.py --device cuda --batch 32 --steps 50 --backbone resnet50_frozen1
"""

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:
    print("torch is not installed: skipping the PyTorch comparison")
    sys.exit(0)

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "crates/mllt-nn/tests/golden")]
import lite0_torch  # noqa: E402
from resnet50_golden import ResNet50  # noqa: E402

BATCH, SIZE, CLASSES = 8, 224, 80


def lite0_state_dict(device):
    """Lite0's trainable state dict with random convolutions and identity BatchNorms, on `device`."""
    sd = {}

    def conv(name, shape):
        fan_in = math.prod(shape[1:])
        sd[name] = (torch.randn(shape, device=device) * math.sqrt(2.0 / fan_in)).requires_grad_()

    def bn(name, c):
        sd[name + ".weight"] = torch.ones(c, device=device, requires_grad=True)
        sd[name + ".bias"] = torch.zeros(c, device=device, requires_grad=True)
        sd[name + ".running_mean"] = torch.zeros(c, device=device)
        sd[name + ".running_var"] = torch.ones(c, device=device)

    conv("_conv_stem.weight", [32, 3, 3, 3])
    bn("_bn0", 32)
    c_in, i = 32, 0
    for expand, kernel, _, c_out, repeats in lite0_torch.STAGES:
        for _ in range(repeats):
            p, hidden = f"_blocks.{i}.", c_in * expand
            if expand != 1:
                conv(p + "_expand_conv.weight", [hidden, c_in, 1, 1])
                bn(p + "_bn0", hidden)
            conv(p + "_depthwise_conv.weight", [hidden, 1, kernel, kernel])
            bn(p + "_bn1", hidden)
            conv(p + "_project_conv.weight", [c_out, hidden, 1, 1])
            bn(p + "_bn2", c_out)
            c_in, i = c_out, i + 1
    conv("_conv_head.weight", [1280, c_in, 1, 1])
    bn("_bn1", 1280)
    return sd


def images_per_second(features, params, dim, repeats, batch=BATCH, size=SIZE, device="cpu"):
    head = nn.Linear(dim, CLASSES).to(device)
    params = [p for p in params if p.requires_grad] + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.02, momentum=0.9, weight_decay=1e-4)
    x = torch.sin(torch.arange(batch * 3 * size * size, dtype=torch.float32) * 0.01).reshape(batch, 3, size, size)
    y = (torch.arange(batch * CLASSES) % 7 == 0).float().reshape(batch, CLASSES)
    x, y = x.to(device), y.to(device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(head(features(x)), y)
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", "--steps", type=int, default=5, help="timed steps after one warm-up step")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="a torch device: cpu, cuda, cuda:1, ...")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--size", type=int, default=SIZE, help="side of the square input, in pixels")
    parser.add_argument("--backbone", choices=["all", "resnet50_frozen1", "lite0"], default="all")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    where = f"{args.threads} thread(s)" if device.type == "cpu" else f"{device} ({torch.cuda.get_device_name(device)})"

    resnet = ResNet50().eval().to(device)  # norm_eval=True: every BatchNorm on its running statistics
    for frozen in (resnet.conv1, resnet.bn1, resnet.layer1):  # frozen_stages=1
        frozen.requires_grad_(False)
    sd = lite0_state_dict(device)
    runs = [
        ("resnet50_frozen1", resnet.features, resnet.parameters(), 2048),
        ("lite0", lambda x: lite0_torch.features(sd, x), sd.values(), 1280),
    ]
    for name, features, params, dim in runs:
        if args.backbone not in ("all", name):
            continue
        rate = images_per_second(features, params, dim, args.repeats, args.batch, args.size, device)
        print(f"torch {torch.__version__}, {where}, {name}: batch {args.batch} at {args.size}x{args.size}, "
              f"{rate:.2f} images/s (median of {args.repeats} steps)")


if __name__ == "__main__":
    main()
