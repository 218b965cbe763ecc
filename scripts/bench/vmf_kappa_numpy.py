#!/usr/bin/env python3
"""The Python peer of `vmf-kappa` for `make bench`: NumPy + pyarrow, the way a study's
one-off script computes the same columns from the same gradient-matrix Parquet file.

Per step: r_bar, kappa-hat (Banerjee), mean and sd of the norms, GNS, GS, SNR, and the
mean and sd of the angles to a random unit vector. (kappa_ml and the null simulation have
no NumPy counterpart: scipy's vonmises_fisher.fit underflows for d >= 67.)

usage: vmf_kappa_numpy.py GRADS.parquet OUT.csv
"""
import csv
import sys

import numpy as np
import pyarrow.parquet as pq


def main(path, out):
    f = pq.ParquetFile(path)
    rows = []
    state = None
    rng = np.random.default_rng(0)

    def finish(s):
        n = s["n"]
        r = np.linalg.norm(s["unit"]) / n
        d = s["unit"].size
        mean = s["sum"] / n
        tr = (s["sumsq"] - n * mean @ mean) / (n - 1)
        norms = np.array(s["norms"])
        ang = np.degrees(np.arccos(np.clip(np.array(s["cos"]), -1, 1)))
        gns = norms.std(ddof=1) / norms.mean()
        gs = np.sqrt(tr) / np.linalg.norm(mean)
        rows.append(dict(step=s["step"], n=n, dim=d, r_bar=r, kappa=r * (d - r * r) / (1 - r * r),
                         mean_norm=norms.mean(), std_norm=norms.std(ddof=1), gns=gns, norm_snr=1 / gns,
                         gs=gs, snr=1 / gs, angle_mean=ang.mean(), angle_sd=ang.std(ddof=1)))

    for batch in f.iter_batches(batch_size=64, columns=["step", "values"]):
        steps = batch.column(0).to_numpy()
        values = batch.column(1)
        d = len(values[0])
        g = values.flatten().to_numpy().reshape(len(values), d).astype(np.float64)
        for step in np.unique(steps):
            block = g[steps == step]
            if state is None or state["step"] != step:
                if state is not None:
                    finish(state)
                u = rng.standard_normal(d)
                u /= np.linalg.norm(u)
                state = dict(step=int(step), n=0, unit=np.zeros(d), sum=np.zeros(d), sumsq=0.0, norms=[], cos=[], u=u)
            norms = np.sqrt(np.einsum("ij,ij->i", block, block))
            state["unit"] += (block / norms[:, None]).sum(axis=0)
            state["sum"] += block.sum(axis=0)
            state["sumsq"] += float((norms * norms).sum())
            state["norms"].extend(norms.tolist())
            state["cos"].extend((block @ state["u"] / norms).tolist())
            state["n"] += len(block)
    finish(state)
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
