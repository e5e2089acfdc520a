#!/usr/bin/env python3
"""PyTorch counterpart of benches/loss.rs: DB-Focal loss + gradient on a (32, 80) batch on the CPU.

The loss is the reference ResampleLoss configured as configs/coco/LT_resnet50_pfc_DB.py
(rebalance α 0.1, β 10, μ 0.2; NTR λ 2, κ 0.05 with the reference's κ/λ bias; focal γ 2, balance 2),
written out in the reference's order. Exits 0 with a message when torch is not installed.
"""

import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("loss_torch.py: torch is not installed; nothing to compare (install torch to run it)")
    sys.exit(0)

BATCH, CLASSES, NUM_TRAIN = 32, 80, 1909
ALPHA, BETA, MU = 0.1, 10.0, 0.2
LAMBDA, KAPPA, GAMMA, BALANCE = 2.0, 0.05, 2.0, 2.0


def class_counts():
    return [max(4, round(1128.0 * (c + 1) ** -1.4)) for c in range(CLASSES)]


def batch():
    def h(i):
        return (i * 2_654_435_761) % (2**64) % 10_007

    n = BATCH * CLASSES
    logits = [h(i) / 10_007.0 * 12.0 - 6.0 for i in range(n)]
    labels = [1.0 if h(i + 7) % 27 == 0 else 0.0 for i in range(n)]
    return (torch.tensor(logits).view(BATCH, CLASSES), torch.tensor(labels).view(BATCH, CLASSES))


def db_focal(z, y, freq_inv, init_bias):
    repeat_rate = torch.sum(y * freq_inv, dim=1, keepdim=True)
    weight = torch.sigmoid(BETA * (freq_inv.unsqueeze(0) / repeat_rate - MU)) + ALPHA
    z = z + init_bias
    z = z * (1 - y) * LAMBDA + z * y
    weight = weight / LAMBDA * (1 - y) + weight * y
    logpt = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    pt = torch.exp(-logpt)
    loss = F.binary_cross_entropy_with_logits(z, y, weight=weight, reduction="none")
    return (BALANCE * (1 - pt) ** GAMMA * loss).mean()


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    counts = torch.tensor(class_counts(), dtype=torch.float32)
    freq_inv = 1.0 / counts
    init_bias = -torch.log(NUM_TRAIN / counts - 1) * KAPPA / LAMBDA
    logits, labels = batch()

    def step():
        z = logits.clone().requires_grad_(True)
        db_focal(z, labels, freq_inv, init_bias).backward()
        return z.grad

    for _ in range(200):
        step()
    iterations = 2000
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    seconds = (time.perf_counter() - start) / iterations
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads: DB-Focal forward+backward "
        f"({BATCH}, {CLASSES}) {seconds * 1e6:.1f} µs/iter, {BATCH * CLASSES / seconds / 1e6:.2f} Melem/s"
    )


if __name__ == "__main__":
    main()
