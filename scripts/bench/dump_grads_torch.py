"""PyTorch peer of `dump-grads --model fnn --dataset mnist` for benchmarks.

A plain Python loop, as a study's one-off script would be: the vMF study's FNN
(784-800-10, no biases, Xavier uniform), `--samples` independent minibatches of
`--batch-size` MNIST training images (scaled to [0, 1]), each minibatch's gradient of the
mean cross-entropy flattened and copied to host memory (what dump-grads hands its writer).
With --kappa it also computes the vMF concentration estimate of the gradient directions
(Banerjee et al. 2005: kappa ~ R (d - R^2) / (1 - R^2), R the mean resultant length), the
quantity `dump-grads | vmf-kappa` gives. With --out FILE it writes the gradients as
dump-grads does, to a Parquet gradient matrix (same columns: step, sample, tensor,
values list<float32>, loss, batch_size; uncompressed, plain, no statistics for values,
row groups of about 64 MiB) through pyarrow's streaming ParquetWriter: the equivalent
of `dump-grads -o FILE`. With --device cuda the training set and the model live on the
GPU, each minibatch is gathered there, the gradient is copied to host memory as above, and
kappa's running sum stays on the GPU (in float64), as a GPU user's script would keep it.
Prints the elapsed seconds on stderr.

    python scripts/bench/dump_grads_torch.py --data data/raw --threads 2 [--kappa] [--out g.parquet] [--device cuda]
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
    ap.add_argument("--out", help="write the gradients to this Parquet file")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y = load_mnist(a.data)
    cuda = a.device != "cpu"
    x, y = x.to(a.device), y.to(a.device)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 800, bias=False), torch.nn.ReLU(), torch.nn.Linear(800, 10, bias=False)
    ).to(a.device)
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
    params = list(model.parameters())
    d = sum(p.numel() for p in params)
    g_sum = torch.zeros(d, dtype=torch.float64, device=a.device) if cuda else np.zeros(d, np.float64)
    rng = np.random.default_rng(a.seed)
    names = ["fc1.weight", "fc2.weight"]
    sizes = [p.numel() for p in params]
    writer, rows = None, []
    if a.out:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([
            ("step", pa.uint64()), ("sample", pa.uint32()),
            ("tensor", pa.dictionary(pa.int32(), pa.utf8())),
            ("values", pa.list_(pa.field("item", pa.float32(), nullable=False))),
            ("loss", pa.float64()), ("batch_size", pa.uint32()),
        ])
        writer = pq.ParquetWriter(a.out, schema, compression="none", use_dictionary=["tensor"],
                                  write_statistics=["step", "sample", "tensor", "loss", "batch_size"])
        offsets = pa.array(np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32))
        per_group = max(1, (64 << 20) // (4 * d))
    t0 = time.time()
    for s in range(a.samples):
        idx = torch.from_numpy(rng.choice(len(y), a.batch_size, replace=False)).to(a.device)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        grads = torch.autograd.grad(loss, params)
        flat = torch.cat([t.reshape(-1) for t in grads])
        g = flat.cpu().numpy() if cuda else flat.numpy().copy()
        if a.kappa:
            if cuda:
                g_sum += flat.double() / flat.norm()
            else:
                g_sum += g / np.linalg.norm(g)
        if writer is not None:
            rows.append((s, loss.item(), g))
            if len(rows) == per_group or s == a.samples - 1:
                n = len(rows)
                lists = [pa.ListArray.from_arrays(offsets, pa.array(g, pa.float32())) for _, _, g in rows]
                writer.write_table(pa.table({
                    "step": pa.array(np.zeros(2 * n, np.uint64)),
                    "sample": pa.array(np.repeat([r[0] for r in rows], 2).astype(np.uint32)),
                    "tensor": pa.DictionaryArray.from_arrays(pa.array(np.tile([0, 1], n).astype(np.int32)), pa.array(names)),
                    "values": pa.concat_arrays(lists),
                    "loss": pa.array(np.repeat([r[1] for r in rows], 2)),
                    "batch_size": pa.array(np.full(2 * n, a.batch_size, np.uint32)),
                }, schema=schema))
                rows = []
    if writer is not None:
        writer.close()
    secs = time.time() - t0
    if a.kappa:
        r = float(torch.linalg.norm(g_sum)) / a.samples if cuda else np.linalg.norm(g_sum) / a.samples
        kappa = r * (d - r * r) / (1 - r * r)
        print(f"kappa_hat {kappa:.2f} (R {r:.5f}, d {d})")
    print(f"{a.samples} gradients of {d} values in {secs:.2f} s ({a.samples / secs:.1f}/s)", file=sys.stderr)


if __name__ == "__main__":
    main()
