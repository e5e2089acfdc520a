#!/usr/bin/env python3
"""Golden forward pass of torchvision's ResNet-50 for `cargo test -p mllt-nn --test resnet`.

ResNet-50 is written out in plain torch with torchvision's module names and registration order (so its
`state_dict()` has torchvision's 320 keys, shapes and order; torchvision itself is not needed): Bottleneck
with the stride on the 3x3 convolution, expansion 4, layers [3, 4, 6, 3], BatchNorm eps 1e-5 in eval mode.

Every tensor of the state dict, k-th in order, element i in row-major order, with s = sin(0.37 i + k)
computed in float64 and rounded to float32 at the end:

* convolution weight: s * sqrt(3 / fan_in)          fc.weight: s * sqrt(3 / 2048)
* BatchNorm weight: 1 + 0.25 s    bias: 0.1 s    running_mean: 0.1 s    running_var: 1 + 0.5 s^2
* fc.bias: 0.1 s                  num_batches_tracked: k (int64 scalar)

Input: one 3 x 64 x 64 image, x[i] = sin(0.05 i). Writes resnet50_forward.json next to this script: the
SHA-256 of the state-dict layout ("name [d0, d1, ...]" lines), every 16th of the 2048 pooled features and
every 8th of the 1000 logits, and the sum and sum of squares of each.

    python3 crates/mllt-nn/tests/golden/resnet50_golden.py
"""

import hashlib
import json
import math
from pathlib import Path

import torch
from torch import nn

FEATURES_STRIDE, LOGITS_STRIDE = 16, 8


class Bottleneck(nn.Module):
    def __init__(self, c_in, width, stride):
        super().__init__()
        c_out = width * 4
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c_in = 64
        for k, depth in enumerate([3, 4, 6, 3]):
            width = 64 << k
            blocks = []
            for i in range(depth):
                blocks.append(Bottleneck(c_in, width, 2 if k > 0 and i == 0 else 1))
                c_in = width * 4
            setattr(self, f"layer{k + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, 1000)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


def fill(k, name, shape):
    """The deterministic value of state-dict tensor number k (see the module docstring)."""
    if name.endswith("num_batches_tracked"):
        return torch.tensor(k, dtype=torch.int64)
    n = math.prod(shape)
    s = torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + k).reshape(shape)
    leaf = name.rsplit(".", 1)[1]
    if len(shape) > 1:
        v = s * math.sqrt(3.0 / math.prod(shape[1:]))
    elif name == "fc.bias" or leaf in ("bias", "running_mean"):
        v = 0.1 * s
    elif leaf == "weight":
        v = 1 + 0.25 * s
    else:
        assert leaf == "running_var", name
        v = 1 + 0.5 * s * s
    return v.float()


def main():
    torch.set_num_threads(1)
    model = ResNet50().eval()
    sd = model.state_dict()
    layout = "".join(f"{name} {list(t.shape)}\n" for name, t in sd.items())
    with torch.no_grad():
        for k, (name, t) in enumerate(sd.items()):
            t.copy_(fill(k, name, list(t.shape)))
        x = torch.sin(torch.arange(3 * 64 * 64, dtype=torch.float64) * 0.05).float().reshape(1, 3, 64, 64)
        features = model.features(x)[0]
        logits = model.fc(features)
    out = {
        "state_dict_tensors": len(sd),
        "state_dict_layout_sha256": hashlib.sha256(layout.encode()).hexdigest(),
        "features_stride": FEATURES_STRIDE,
        "features": features[::FEATURES_STRIDE].tolist(),
        "features_sum": features.double().sum().item(),
        "features_sum_sq": (features.double() ** 2).sum().item(),
        "logits_stride": LOGITS_STRIDE,
        "logits": logits[::LOGITS_STRIDE].tolist(),
        "logits_sum": logits.double().sum().item(),
        "logits_sum_sq": (logits.double() ** 2).sum().item(),
    }
    print(f"features: mean {features.mean():.4f}, max {features.max():.4f}, "
          f"zeros {(features == 0).sum().item()}/2048; logits std {logits.std():.4f}")
    path = Path(__file__).with_name("resnet50_forward.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
