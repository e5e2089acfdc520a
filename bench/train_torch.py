#!/usr/bin/env python3
"""PyTorch reference loop for `cargo bench -p mllt-nn --bench train` (issue 3 item 8).

The same training iteration as the Rust benchmark: the paper head (fc 2048->256, BatchNorm1d, dropout 0.5,
fc 256->80), the DB-Focal loss of the released config (semantics Sec. 3.5, COCO-MLT values), backward,
clip_grad_norm_(35), SGD(momentum 0.9, weight decay 1e-4); batch 32 gathered from a 1909 x 2048 feature
matrix. Prints steps/s for 1 thread (the Rust Flex backend is single-threaded) and for torch's default
thread count. Exits 0 with a message when torch is not installed.

    python3 bench/train_torch.py [--seconds 8] [--threads N]
"""

import argparse
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed: skipping the PyTorch comparison")
    sys.exit(0)

DIM, CLASSES, BATCH, N = 2048, 80, 32, 1909


def db_focal(z, y, counts, alpha=0.1, beta=10.0, mu=0.2, lam=2.0, kappa=0.05, gamma=2.0, balance=2.0):
    """DB-Focal as the official ResampleLoss computes it (rebalance + logit_reg + focal), mean over B*C."""
    freq_inv = 1.0 / counts
    repeat_rate = (y * freq_inv).sum(1, keepdim=True)
    w = torch.sigmoid(beta * (freq_inv / repeat_rate - mu)) + alpha
    init_bias = -torch.log(N / counts - 1.0) * kappa / lam
    z = z + init_bias
    z = z * (1 - y) * lam + z * y
    w = w / lam * (1 - y) + w * y
    l0 = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    pt = torch.exp(-l0)
    loss = balance * (1 - pt) ** gamma * F.binary_cross_entropy_with_logits(z, y, weight=w, reduction="none")
    return loss.mean()


def head():
    fc, bn, cls = torch.nn.Linear(DIM, 256), torch.nn.BatchNorm1d(256), torch.nn.Linear(256, CLASSES)
    torch.nn.init.kaiming_normal_(fc.weight, mode="fan_out")
    torch.nn.init.zeros_(fc.bias)
    torch.nn.init.normal_(cls.weight, 0, 0.01)
    torch.nn.init.zeros_(cls.bias)
    return torch.nn.Sequential(fc, bn, torch.nn.Dropout(0.5), cls)


def measure(fn, seconds):
    for _ in range(20):
        fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, help="only this thread count (default: 1 and torch's default)")
    args = parser.parse_args()
    torch.manual_seed(0)
    feats = torch.randn(N, DIM)
    labels = (torch.rand(N, CLASSES) < 0.05).float()
    labels[:, 0] = 1.0
    counts = labels.sum(0).clamp(min=1.0)
    model = head()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
    cursor = [0]

    def step():
        idx = torch.arange(cursor[0], cursor[0] + BATCH) % N
        cursor[0] += BATCH
        loss = db_focal(model(feats[idx]), labels[idx], counts)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 35.0)
        opt.step()
        return loss.item()

    z = torch.randn(BATCH, CLASSES, requires_grad=True)
    y = labels[:BATCH]

    def loss_grad():
        (g,) = torch.autograd.grad(db_focal(z, y, counts), z)
        return g

    default_threads = torch.get_num_threads()
    for threads in [args.threads] if args.threads else sorted({1, default_threads}):
        torch.set_num_threads(threads)
        print(f"torch {torch.__version__}, {threads} thread(s): "
              f"paper-head train step {measure(step, args.seconds):.1f} steps/s, "
              f"DB-Focal loss+grad (32x80) {measure(loss_grad, args.seconds):.0f} evals/s")


if __name__ == "__main__":
    main()
