"""The statistics tools read what GradWriter writes, file and stream alike: normtest's
Shapiro-Wilk p-values against scipy's on the same gradients, powerlaw-fit's spectrum
against NumPy's rank; a stream cut by an exception fails its reader."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
import torch

import gradscope as gs
from conftest import PYTHON_DIR


@pytest.fixture(scope="module")
def grads(tmp_path_factory):
    d = tmp_path_factory.mktemp("tools")
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 5))
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(500, 20, generator=g), torch.randint(0, 5, (500,), generator=g)
    path = d / "g.parquet"
    gs.minibatch_gradients(m, torch.nn.functional.cross_entropy, (x, y), [8], 200, seed=1, output=path)
    return d, path


def test_normtest_reads_python_files(grads, tool):
    d, path = grads
    tool("normtest", "-i", path, "-o", d / "nt.parquet")
    table, prov = gs.read_table(d / "nt.parquet")
    assert prov["source"]["tool"].startswith("gradscope-python")
    samples = list(gs.read_grads(path))
    for name in ("0.bias", "2.bias"):
        row = table[(table["tensor"] == name) & (table["test"] == "shapiro")].iloc[0]
        g = np.stack([s.tensors()[name] for s in samples]).astype(np.float64)
        # Reference: scipy's Shapiro-Wilk (the same AS R94 algorithm) coordinate by coordinate.
        p = np.array([scipy.stats.shapiro(g[:, k]).pvalue for k in range(g.shape[1])])
        assert row["n"] == 200 and row["coords_tested"] == g.shape[1]
        assert row["gaussian"] == int(np.sum(p > 0.05))
        np.testing.assert_allclose(row["mean_p"], p.mean(), rtol=1e-6)


def test_powerlaw_spectrum_reads_python_files(grads, tool):
    d, path = grads
    tool("powerlaw-fit", "-i", path, "--spectrum", "covariance", "-o", d / "pl.parquet")
    table, prov = gs.read_table(d / "pl.parquet", engine="polars")
    assert prov["source"]["layout"] == gs.read_provenance(path)["layout"]
    g = np.stack([s.values for s in gs.read_grads(path)]).astype(np.float64)
    # 200 centred gradients span 199 dimensions: as many positive covariance eigenvalues.
    rank = np.linalg.matrix_rank(g - g.mean(0))
    assert table["n"].to_list() == [rank] == [199]


def test_zstd_files_and_streams_give_the_same_kappa_table(grads, tool):
    d, path = grads
    zstd = d / "z.parquet"
    with gs.GradWriter(zstd, layout=[(t["name"], t["shape"]) for t in gs.read_provenance(path)["layout"]],
                       compression="zstd") as w:
        for s in gs.read_grads(path):
            w.write(s.step, s.sample, loss=s.loss, batch_size=s.batch_size, grads=s.values)
    import pyarrow.parquet as pq

    assert pq.read_metadata(zstd).row_group(0).column(3).compression == "ZSTD"
    tool("vmf-kappa", "-i", path, "-o", d / "k1.csv", "--per-tensor")
    tool("vmf-kappa", "-i", zstd, "-o", d / "k2.csv", "--per-tensor")
    a, _ = gs.read_table(d / "k1.csv")
    b, _ = gs.read_table(d / "k2.csv")
    assert a.equals(b) and len(a) == 5


STREAM_THAT_FAILS = r"""
import sys, torch
sys.path.insert(0, sys.argv[1])
import gradscope as gs
torch.manual_seed(0)
m = torch.nn.Linear(4, 3)
with gs.GradWriter("-", m) as w:
    for i in range(40):
        m.zero_grad()
        m(torch.randn(8, 4)).square().mean().backward()
        w.write(0, i)
        if i == 29:
            raise RuntimeError("the training loop failed")
"""


def test_a_stream_cut_by_an_exception_fails_its_reader(tmp_path, tool):
    # The README's promise: a stream cut short is an error, not a partial result. Before
    # abort() left out the end-of-stream marker, vmf-kappa read 30 of the 40 samples and
    # exited 0.
    p = subprocess.run([sys.executable, "-c", STREAM_THAT_FAILS, PYTHON_DIR], capture_output=True)
    assert p.returncode == 1 and b"the training loop failed" in p.stderr
    assert len(p.stdout) > 1000  # 30 samples went out before the failure
    out = tmp_path / "k.csv"
    r = tool("vmf-kappa", "-i", "-", "-o", out, input=p.stdout, check=False)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert "end-of-stream marker" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
