"""weightwatcher 0.7.7 beside `weight-spectra`: the baseline of `make bench`.

    .venv/bin/python scripts/bench/weight_spectra_ww.py write WEIGHTS.safetensors
    .venv/bin/python scripts/bench/weight_spectra_ww.py write-transformer WEIGHTS.safetensors
    .venv/bin/python scripts/bench/weight_spectra_ww.py analyze WEIGHTS.safetensors OUT.csv
    .venv/bin/python scripts/bench/weight_spectra_ww.py svd WEIGHTS.safetensors
    .venv/bin/python scripts/bench/weight_spectra_ww.py floor WEIGHTS.safetensors

`write`: a PyTorch network of 4,900,746 parameters (no torchvision), initialised by
PyTorch's defaults from torch.manual_seed(7): four 3x3 convolutions 3-64-128-256-256 and
four linear layers 2304-1024-1024-512-10, with biases, saved with safetensors. Its cost is
in two 1,024-column matrices: the case least favourable to a faster fit, since the
eigenvalues take the time in both tools.

`write-transformer`: the weights of a GPT-shaped decoder of 5,207,552 parameters, d = 256,
4 blocks, vocabulary 8,000 (token embedding 8000x256; per block attention c_attn 768x256
and c_proj 256x256, MLP c_fc 1024x256 and c_proj 256x1024, with biases and LayerNorm
scales), as torch.nn.Linear stores them. Trained weights have heavy-tailed spectra and
PyTorch's initialisation does not, so the matrices hold Student-t entries (3 degrees of
freedom) scaled by 0.02, from torch.manual_seed(11): heavy-tailed, but no trained
network's. Many small layers: the case where the per-layer work around the eigenvalues
counts.

`analyze`: reads the file into a state dict (torch tensors) and runs
`WeightWatcher(model=state_dict).analyze()` with its defaults; writes one row per layer
(layer, N, M, rf, num_evals, alpha, xmin, D, spectral_norm, stable_rank) and the wall
seconds of analyze() alone.

`svd`: the part of analyze() that is LAPACK's: the singular values of the matrices
weightwatcher 0.7.7 takes from a state dict on a CPU (`.weight` tensors of rank 2 as they
are, of rank 4 as the kh x kw slices W[:, :, i, j]; rank 3 skipped), as float64 through
scipy.linalg.svd(compute_uv=False), its `svd_method='fast'` without CUDA. Prints the
least wall seconds of three passes over all of them.

`floor`: what `weight-spectra`'s own route costs when LAPACK runs it, in double and in
single precision: for the same matrices, the Gram matrix W^T W / N of the smaller side
(BLAS gemm) and its eigenvalues by scipy.linalg.eigvalsh(driver="evd") (LAPACK's
dsyevd / ssyevd without vectors), least wall seconds of three passes each at one thread
and at OPENBLAS_NUM_THREADS (OpenBLAS loses time to its threads on matrices this small,
so the floor takes the better). Prints the float64 seconds, the float32 seconds, and the
largest distance of a float32 eigenvalue from its float64 value relative to the largest
eigenvalue of its matrix: how far the 20x goal lies below exact eigenvalues, and what
single precision would buy.
"""
import logging
import sys
import time

import torch
from safetensors.torch import load_file, save_file


def write(path):
    torch.manual_seed(7)
    net = torch.nn.ModuleDict(
        {
            "conv1": torch.nn.Conv2d(3, 64, 3),
            "conv2": torch.nn.Conv2d(64, 128, 3),
            "conv3": torch.nn.Conv2d(128, 256, 3),
            "conv4": torch.nn.Conv2d(256, 256, 3),
            "fc1": torch.nn.Linear(2304, 1024),
            "fc2": torch.nn.Linear(1024, 1024),
            "fc3": torch.nn.Linear(1024, 512),
            "fc4": torch.nn.Linear(512, 10),
        }
    )
    sd = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    print(f"{sum(v.numel() for v in sd.values()):,} parameters", file=sys.stderr)
    save_file(sd, path)


def write_transformer(path):
    torch.manual_seed(11)
    d, blocks, vocab = 256, 4, 8000
    t = torch.distributions.StudentT(torch.tensor(3.0))
    heavy = lambda *shape: (0.02 * t.sample(shape)).float().contiguous()
    sd = {"wte.weight": heavy(vocab, d)}
    for i in range(blocks):
        p = f"h{i}"
        sd[f"{p}.ln_1.weight"] = torch.ones(d)
        sd[f"{p}.ln_1.bias"] = torch.zeros(d)
        sd[f"{p}.attn.c_attn.weight"] = heavy(3 * d, d)
        sd[f"{p}.attn.c_attn.bias"] = torch.zeros(3 * d)
        sd[f"{p}.attn.c_proj.weight"] = heavy(d, d)
        sd[f"{p}.attn.c_proj.bias"] = torch.zeros(d)
        sd[f"{p}.ln_2.weight"] = torch.ones(d)
        sd[f"{p}.ln_2.bias"] = torch.zeros(d)
        sd[f"{p}.mlp.c_fc.weight"] = heavy(4 * d, d)
        sd[f"{p}.mlp.c_fc.bias"] = torch.zeros(4 * d)
        sd[f"{p}.mlp.c_proj.weight"] = heavy(d, 4 * d)
        sd[f"{p}.mlp.c_proj.bias"] = torch.zeros(d)
    sd["ln_f.weight"] = torch.ones(d)
    sd["ln_f.bias"] = torch.zeros(d)
    print(f"{sum(v.numel() for v in sd.values()):,} parameters", file=sys.stderr)
    save_file(sd, path)


def analyze(path, out):
    logging.disable(logging.WARNING)
    import weightwatcher as ww

    sd = load_file(path)
    t0 = time.perf_counter()
    details = ww.WeightWatcher(model=sd).analyze()
    elapsed = time.perf_counter() - t0
    with open(out, "w") as f:
        f.write("layer,N,M,rf,num_evals,alpha,xmin,D,spectral_norm,stable_rank,seconds\n")
        for _, r in details.iterrows():
            f.write(
                f"{r['name']}.weight,{int(r['N'])},{int(r['M'])},{int(r['rf'])},{int(r['num_evals'])},"
                f"{float(r['alpha'])!r},{float(r['xmin'])!r},{float(r['D'])!r},"
                f"{float(r['spectral_norm'])!r},{float(r['stable_rank'])!r},{elapsed!r}\n"
            )


def matrices(path):
    """The float64 matrices weightwatcher 0.7.7 takes from a state dict (see `svd`)."""
    mats = []
    for name, t in load_file(path).items():
        if not name.endswith(".weight") or t.ndim not in (2, 4):
            continue
        w = t.numpy().astype(float)
        if w.ndim == 2:
            mats.append(w)
        else:
            mats.extend(w[:, :, i, j] for i in range(w.shape[2]) for j in range(w.shape[3]))
    return mats


def svd(path):
    import numpy as np
    import scipy.linalg

    mats = matrices(path)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for w in mats:
            scipy.linalg.svd(w, compute_uv=False)
        best = min(best, time.perf_counter() - t0)
    print(best)


def floor(path):
    import os

    import numpy as np
    import scipy.linalg
    from threadpoolctl import threadpool_limits

    # Rows as the longer side, so that the Gram matrix is M x M with M = min(N, M).
    mats = [w if w.shape[0] >= w.shape[1] else w.T for w in matrices(path)]

    threads = sorted({1, int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))})

    def eigenvalues(dtype):
        best, evs = np.inf, None
        cast = [np.ascontiguousarray(w, dtype=dtype) for w in mats]
        for t in threads:
            with threadpool_limits(t):
                for _ in range(3):
                    t0 = time.perf_counter()
                    evs = [
                        scipy.linalg.eigvalsh((w.T @ w) / w.shape[0], driver="evd", overwrite_a=True, check_finite=False)
                        for w in cast
                    ]
                    best = min(best, time.perf_counter() - t0)
        return best, evs

    t64, e64 = eigenvalues(np.float64)
    t32, e32 = eigenvalues(np.float32)
    dev = max(float(np.max(np.abs(b - a)) / a.max()) for a, b in zip(e64, e32))
    print(t64, t32, dev)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    elif sys.argv[1] == "write-transformer":
        write_transformer(sys.argv[2])
    elif sys.argv[1] == "svd":
        svd(sys.argv[2])
    elif sys.argv[1] == "floor":
        floor(sys.argv[2])
    else:
        analyze(sys.argv[2], sys.argv[3])
