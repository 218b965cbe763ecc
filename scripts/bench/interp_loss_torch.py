"""PyTorch peer of `interp-loss` for benchmarks: one epoch of the walk study's loss
interpolation, as a study's one-off script would do it.

The walk MLP (784-512-512-10 with biases, PyTorch's default init), plain SGD at --lr with
batch size --batch-size over one shuffled epoch of MNIST (scaled to [0, 1]); before and
after every update the parameters are kept, and the mean cross-entropy and accuracy are
evaluated (torch.no_grad, batches of --eval-batch) on a fixed subset of --eval-samples
training images at the k interior points theta_t + alpha (theta_{t+1} - theta_t),
alpha = i/(k+1), and at theta_{t+1} (theta_t's value is reused from the previous update):
k + 1 evaluations per update, the work `interp-loss -k K --eval-samples N` does. A barrier
is counted when an interior loss exceeds both ends. Prints the elapsed seconds, the
evaluations and the barriers on stderr.

    python scripts/bench/interp_loss_torch.py --data ../shared/data --threads 2 -k 10 --eval-samples 1000
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
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--eval-samples", type=int, default=1000)
    ap.add_argument("--eval-batch", type=int, default=10000)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=0, help="0: one epoch")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y = load_mnist(a.data)
    n = len(y)
    g = torch.Generator().manual_seed(a.seed)
    ev = torch.randperm(n, generator=g)[: a.eval_samples] if a.eval_samples else torch.arange(n)
    ex, ey = x[ev], y[ev]
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=a.lr)
    alphas = [i / (a.k + 1) for i in range(a.k + 2)]

    def evaluate():
        loss, correct = 0.0, 0
        with torch.no_grad():
            for s in range(0, len(ey), a.eval_batch):
                xb, yb = ex[s:s + a.eval_batch], ey[s:s + a.eval_batch]
                out = model(xb)
                loss += torch.nn.functional.cross_entropy(out, yb, reduction="sum").item()
                correct += (out.argmax(1) == yb).sum().item()
        return loss / len(ey), correct / len(ey)

    perm = torch.randperm(n, generator=g)
    steps = a.steps or (n + a.batch_size - 1) // a.batch_size
    t0 = time.perf_counter()
    evaluations, barriers = 0, 0
    l0, _ = evaluate()
    evaluations += 1
    for t in range(steps):
        idx = perm[(t * a.batch_size) % n:][: a.batch_size]
        before = [p.detach().clone() for p in params]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
        after = [p.detach().clone() for p in params]
        losses = [l0]
        for al in alphas[1:-1]:
            with torch.no_grad():
                for p, b0, b1 in zip(params, before, after):
                    p.copy_(torch.lerp(b0, b1, al))
            losses.append(evaluate()[0])
        with torch.no_grad():
            for p, b1 in zip(params, after):
                p.copy_(b1)
        l1, _ = evaluate()
        losses.append(l1)
        evaluations += len(alphas) - 1
        if max(losses[1:-1], default=-np.inf) > max(losses[0], losses[-1]):
            barriers += 1
        l0 = l1
    secs = time.perf_counter() - t0
    print(f"{secs:.3f} s, {steps} updates, {evaluations} evaluations on {len(ey)} images, {barriers} barriers",
          file=sys.stderr)


if __name__ == "__main__":
    main()
