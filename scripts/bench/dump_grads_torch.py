"""PyTorch peer of `dump-grads --model fnn --dataset mnist` for benchmarks.

A plain Python loop, as a study's one-off script would be: the vMF study's FNN
(784-800-10, no biases, Xavier uniform), `--samples` independent minibatches of
`--batch-size` MNIST training images (scaled to [0, 1]), each minibatch's gradient of the
mean cross-entropy flattened and copied to host memory (what dump-grads hands its writer).
With --kappa it also computes the vMF concentration estimate of the gradient directions
(Banerjee et al. 2005: kappa ~ R (d - R^2) / (1 - R^2), R the mean resultant length), the
quantity `dump-grads | vmf-kappa` gives. Prints the elapsed seconds on stderr.

    python scripts/bench/dump_grads_torch.py --data data/raw --threads 2 [--kappa]
"""
import argparse
import gzip
import sys
import time

import numpy as np
import torch


def load_mnist(root):
    with gzip.open(f"{root}/mnist/train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{root}/mnist/train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/raw")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kappa", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y = load_mnist(a.data)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 800, bias=False), torch.nn.ReLU(), torch.nn.Linear(800, 10, bias=False)
    )
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
    params = list(model.parameters())
    d = sum(p.numel() for p in params)
    g_sum = np.zeros(d, np.float64)
    rng = np.random.default_rng(a.seed)
    t0 = time.time()
    for _ in range(a.samples):
        idx = torch.from_numpy(rng.choice(len(y), a.batch_size, replace=False))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        grads = torch.autograd.grad(loss, params)
        g = torch.cat([t.reshape(-1) for t in grads]).numpy().copy()
        if a.kappa:
            g_sum += g / np.linalg.norm(g)
    secs = time.time() - t0
    if a.kappa:
        r = np.linalg.norm(g_sum) / a.samples
        kappa = r * (d - r * r) / (1 - r * r)
        print(f"kappa_hat {kappa:.2f} (R {r:.5f}, d {d})")
    print(f"{a.samples} gradients of {d} values in {secs:.2f} s ({a.samples / secs:.1f}/s)", file=sys.stderr)


if __name__ == "__main__":
    main()
