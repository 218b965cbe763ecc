#!/usr/bin/env python3
"""Reference weights and values for `weight-spectra` (crates/gradscope-cli/tests/weight_spectra.rs).

Run from the repository root:

    .venv/bin/python scripts/reference/weight_spectra_reference.py

It writes, under crates/gradscope-cli/tests/data/:
- weight_spectra.safetensors: a small state dict (numpy Generator PCG64, seed 2020; Student-t
  entries so that the spectra have heavy tails): dense layers tall and wide, a Conv2D kernel
  (out, in, kh, kw), a Conv1D kernel (out, in, k), one matrix in each of F16, BF16 and F64,
  biases and a norm scale (rank 1: not matrices), and a 4x1 matrix with a single eigenvalue
  (fewer than the default --min-evals 8);
- weight_spectra_reference.json: for every matrix, the eigenvalues of W^T W / N of its
  N x M slices (N >= M) combined, computed twice from the stored values in float64:
  numpy.linalg.svd (squared singular values / N) and numpy.linalg.eigvalsh of the Gram
  matrix / N; the Frobenius norm squared, the spectral norm, the stable rank; and, per
  layer, what weightwatcher 0.7.7's analyze() reports on the same state dict with its
  defaults (alpha, xmin, D, num_evals, spectral_norm, stable_rank), which scales
  eigenvalues differently (sigma^2, and sigma^2 / 2 for Conv2D) but fits the same way.

Versions used: numpy 2.4.6, torch 2.13.0, safetensors 0.8.0, weightwatcher 0.7.7.
"""

import json
import logging
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

OUT = "crates/gradscope-cli/tests/data"


def slices(w):
    """WeightWatcher's matrices of a tensor (weightwatcher 0.7.7 conv2D_Wmats; rank 3 likewise)."""
    if w.ndim == 2:
        mats = [w]
    elif w.ndim == 3:
        a, b, c = w.shape
        mats = [w[:, :, t] for t in range(c)] if c <= a else [w[t] for t in range(a)]
    elif w.ndim == 4:
        a, b, c, d = w.shape
        if a + b >= c + d:
            mats = [w[:, :, i, j] for i in range(c) for j in range(d)]
        else:
            mats = [w[i, j] for i in range(a) for j in range(b)]
    return [m if m.shape[0] >= m.shape[1] else m.T for m in mats]


def reference(w):
    mats = slices(w)
    n, m = mats[0].shape
    sv = np.concatenate([np.linalg.svd(x, compute_uv=False) for x in mats])
    ev_svd = np.sort(sv**2 / n)[::-1]
    ev_eigh = np.sort(np.concatenate([np.linalg.eigvalsh(x.T @ x / n) for x in mats]))[::-1]
    fro = float(np.sum(w * w))
    spec = float(sv.max())
    return {
        "shape": list(w.shape),
        "N": n,
        "M": m,
        "slices": len(mats),
        "eigenvalues_svd": ev_svd.tolist(),
        "eigenvalues_eigh": ev_eigh.tolist(),
        "frobenius_sq": fro,
        "spectral_norm": spec,
        "stable_rank": fro / spec**2,
    }


def main():
    rng = np.random.default_rng(2020)

    def t(shape, df=3.0, scale=0.1):
        return (scale * rng.standard_t(df, size=shape)).astype(np.float32)

    tensors = {
        "fc1.weight": torch.from_numpy(t((80, 50))),
        "fc1.bias": torch.from_numpy(t((80,))),
        "fc2.weight": torch.from_numpy(t((30, 80), df=2.5)),
        "conv1.weight": torch.from_numpy(t((16, 6, 3, 3))),
        "conv1.bias": torch.from_numpy(t((16,))),
        "conv1d.weight": torch.from_numpy(t((12, 10, 3))),
        "half.weight": torch.from_numpy(t((40, 24))).to(torch.float16),
        "brain.weight": torch.from_numpy(t((40, 24), df=2.0)).to(torch.bfloat16),
        "double.weight": torch.from_numpy((0.1 * rng.standard_t(3.0, size=(36, 28)))),
        "norm.weight": torch.ones(16),
        "tiny.weight": torch.from_numpy(t((4, 1))),
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "weight_spectra.safetensors")
    save_file(tensors, path)

    ref = {"layers": {}}
    for name, x in tensors.items():
        if x.ndim >= 2:
            ref["layers"][name] = reference(x.to(torch.float64).numpy())

    # weightwatcher on the same state dict, its defaults.
    logging.disable(logging.WARNING)
    import weightwatcher as ww

    details = ww.WeightWatcher(model=dict(tensors)).analyze()
    for _, row in details.iterrows():
        name = row["name"] + ".weight"
        ref["layers"][name]["weightwatcher"] = {
            k: float(row[k])
            for k in ["alpha", "xmin", "D", "num_evals", "spectral_norm", "stable_rank", "N", "M", "rf"]
        }
    ref["versions"] = {
        "numpy": np.__version__,
        "torch": torch.__version__.split("+")[0],
        "weightwatcher": ww.__version__,
    }
    with open(os.path.join(OUT, "weight_spectra_reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    for name, r in ref["layers"].items():
        w = r.get("weightwatcher")
        print(name, r["shape"], len(r["eigenvalues_svd"]), w and (w["alpha"], w["xmin"], w["num_evals"]), file=sys.stderr)


if __name__ == "__main__":
    main()
