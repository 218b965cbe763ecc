"""The NumPy baseline of the spectrum benchmark: `numpy.linalg.eigvalsh` of the Gram
matrix of a gradient matrix, as `powerlaw-fit --spectrum` computes it.

    .venv/bin/python scripts/bench/spectrum_numpy.py GRADS.parquet KIND OUT.csv

KIND is covariance or second-moment. The n x d float32 gradients are read with pyarrow
(one row per sample and tensor, concatenated in parameter order), converted to float64,
centred per coordinate for the covariance, and K = X X^T / c (c = n - 1 or n) is formed
with one BLAS call; the eigenvalues are written in descending order with the seconds
spent reading, forming K and solving.
"""
import sys
import time

import numpy as np
import pyarrow.parquet as pq

path, kind, out = sys.argv[1:4]
t0 = time.perf_counter()
table = pq.read_table(path, columns=["step", "sample", "values"])
vals = table.column("values").combine_chunks()
flat = vals.values.to_numpy(zero_copy_only=False)
samples = table.column("sample").to_numpy()
steps = table.column("step").to_numpy()
keys = steps.astype(np.int64) * (1 << 32) + samples
n = len(np.unique(keys))
x = flat.reshape(n, -1).astype(np.float64)
t1 = time.perf_counter()
if kind == "covariance":
    x -= x.mean(axis=0)
    c = n - 1
else:
    c = n
k = (x @ x.T) / c
t2 = time.perf_counter()
ev = np.linalg.eigvalsh(k)[::-1]
t3 = time.perf_counter()
with open(out, "w") as f:
    f.write("rank,eigenvalue\n")
    for i, v in enumerate(ev):
        f.write(f"{i + 1},{float(v)!r}\n")
print(f"n={n} d={x.shape[1]} read={t1 - t0:.3f} gram={t2 - t1:.3f} eigvalsh={t3 - t2:.3f} "
      f"total={t3 - t0:.3f}", file=sys.stderr)
