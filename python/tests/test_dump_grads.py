"""Gradients written from Python against dump-grads' own, on the same minibatches.

A `train` checkpoint of `fnn` (and of `fnn-bn`) on MNIST is loaded into the same
network built in PyTorch (crates/gradscope-torch/src/models/mlp.rs: flatten, fc1 without
bias, [bn1], ReLU, fc2 without bias; the parameters under the same names, in the same
order), and gradscope.minibatch_gradients draws its minibatches with the Python
reproduction of dump-grads' sampler (gradscope/sampler.py) from the same seed: no index
list is passed between the two sides, so a sampler that differed in one index would make
the gradients differ. Batch sizes 64, 200 and 300 take the three branches of the Rust
sampler (Floyd, rejection, partial Fisher-Yates); --sampling epoch the permutation.

Both sides run the same libtorch (the PyPI torch that the tools link), one intra-op thread
per gradient, so the same operations give the same bits: the test demands equality.
"""

import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import gradscope as gs
from conftest import PYTHON_DIR
from gradscope.data import load_checkpoint, load_idx_dataset


class FNN(torch.nn.Module):
    """The vMF study's fnn (784-800-10, no biases), optionally with BatchNorm before the
    ReLU (fnn-bn): gradscope's `fnn` and `fnn-bn` in PyTorch."""

    def __init__(self, bn=False):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 800, bias=False)
        self.bn1 = torch.nn.BatchNorm1d(800) if bn else None
        self.fc2 = torch.nn.Linear(800, 10, bias=False)

    def forward(self, x):
        h = self.fc1(x.flatten(1))
        if self.bn1 is not None:
            h = self.bn1(h)
        return self.fc2(torch.relu(h))


def from_checkpoint(path, bn=False):
    tensors, state = load_checkpoint(path)
    m = FNN(bn)
    own = m.state_dict()
    m.load_state_dict({k: tensors[k] for k in own if k in tensors}, strict=False)
    missing = [k for k in own if k not in tensors and not k.endswith("num_batches_tracked")]
    assert not missing, missing
    return m, state


@pytest.fixture(scope="module")
def run(tmp_path_factory, tool, mnist_dir):
    """Checkpoints of fnn (one epoch of SGD) and fnn-bn (its initialisation)."""
    d = tmp_path_factory.mktemp("run")
    tool("train", "--model", "fnn", "--dataset", "mnist", "--data-dir", mnist_dir, "--epochs", "1",
         "--checkpoint-epochs", "1", "--seed", "1", "--lr", "0.01", "-o", d / "fnn")
    tool("train", "--model", "fnn-bn", "--dataset", "mnist", "--data-dir", mnist_dir, "--epochs", "0",
         "--checkpoint-epochs", "0", "--seed", "2", "-o", d / "fnn-bn")
    fnn = sorted(glob.glob(str(d / "fnn" / "ckpt" / "epoch-001.safetensors")))
    bn = sorted(glob.glob(str(d / "fnn-bn" / "ckpt" / "epoch-000.safetensors")))
    assert fnn and bn
    images, labels = load_idx_dataset("mnist", "train", data_dir=mnist_dir)
    return {"dir": d, "fnn": fnn[0], "fnn-bn": bn[0], "data": (images, labels), "mnist": mnist_dir}


def compare(rust_path, py_path):
    """Samples in the same order with the same keys; returns (values differing, max |diff|,
    losses differing)."""
    a, b = list(gs.read_grads(rust_path)), list(gs.read_grads(py_path))
    assert len(a) == len(b) > 0
    assert a[0].layout == b[0].layout
    differ, worst, loss_differ = 0, 0.0, 0
    for x, y in zip(a, b):
        assert (x.step, x.sample, x.batch_size) == (y.step, y.sample, y.batch_size)
        differ += int(np.sum(x.values.view(np.uint32) != y.values.view(np.uint32)))
        worst = max(worst, float(np.max(np.abs(x.values.astype(np.float64) - y.values))))
        loss_differ += x.loss != y.loss
    return differ, worst, loss_differ


def python_side(run, model_name, out, sampling="independent", batch_sizes=(64, 200, 300), samples=3, seed=7, batchnorm="train"):
    m, state = from_checkpoint(run[model_name], bn=model_name == "fnn-bn")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as dump-grads: one libtorch thread per gradient
    try:
        return gs.minibatch_gradients(m, torch.nn.functional.cross_entropy, run["data"], list(batch_sizes), samples, seed,
                                      output=out, step=state.get("step", 0), sampling=sampling, batchnorm=batchnorm,
                                      dataset_name="mnist", model_name=model_name)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("model_name,sampling,batchnorm", [
    ("fnn", "independent", "train"),
    ("fnn", "epoch", "train"),
    ("fnn-bn", "independent", "train"),
    ("fnn-bn", "independent", "eval"),
])
def test_python_gradients_equal_dump_grads(run, tool, model_name, sampling, batchnorm):
    d = run["dir"]
    tag = f"{model_name}-{sampling}-{batchnorm}"
    rust, py = d / f"rust-{tag}.parquet", d / f"py-{tag}.parquet"
    bs = (64, 200, 300) if sampling == "independent" else (100,)
    args = ["--checkpoint", run[model_name], "--data-dir", run["mnist"], "-b", ",".join(map(str, bs)), "-n", "3",
            "--seed", "7", "--sampling", sampling, "--threads", "2", "-o", rust]
    if batchnorm == "eval":
        args.append("--bn-eval")
    tool("dump-grads", *args)
    python_side(run, model_name, py, sampling=sampling, batch_sizes=bs, batchnorm=batchnorm)
    differ, worst, loss_differ = compare(rust, py)
    print(f"{tag}: {differ} values differ, max |diff| {worst:.3g}, {loss_differ} losses differ")
    assert (differ, worst, loss_differ) == (0, 0.0, 0)


def test_kappa_tables_agree_and_the_stream_works(run, tool):
    d = run["dir"]
    rust, py = d / "k-rust.parquet", d / "k-py.parquet"
    tool("dump-grads", "--checkpoint", run["fnn"], "--data-dir", run["mnist"], "-b", "64,300", "-n", "40",
         "--seed", "3", "-o", rust)
    python_side(run, "fnn", py, batch_sizes=(64, 300), samples=40, seed=3)
    tool("vmf-kappa", "-i", rust, "-o", d / "kappa-rust.parquet", "--per-tensor")
    tool("vmf-kappa", "-i", py, "-o", d / "kappa-py.parquet", "--per-tensor")
    kr, pr = gs.read_table(d / "kappa-rust.parquet")
    kp, pp = gs.read_table(d / "kappa-py.parquet")
    assert len(kr) == 6  # (all, fc1.weight, fc2.weight) x 2 batch sizes
    assert list(kr.columns) == list(kp.columns)
    for c in kr.columns:
        assert kr[c].tolist() == kp[c].tolist(), c
    assert pr["source"]["tool"].startswith("dump-grads") and pp["source"]["tool"].startswith("gradscope-python")
    assert pp["source"]["layout"] == pr["source"]["layout"]

    # r_bar and the mean norm against NumPy on the same gradients (float64).
    rows = kp[(kp["scope"] == "all") & (kp["batch_size"] == 64)].iloc[0]
    g = np.stack([s.values.astype(np.float64) for s in gs.read_grads(py) if s.batch_size == 64])
    norms = np.linalg.norm(g, axis=1)
    assert rows["n"] == 40
    np.testing.assert_allclose(rows["r_bar"], np.linalg.norm((g / norms[:, None]).mean(0)), rtol=1e-12)
    np.testing.assert_allclose(rows["mean_norm"], norms.mean(), rtol=1e-12)

    # The same gradients computed in a Python script streamed into vmf-kappa.
    script = f"""
import sys, torch
sys.path.insert(0, {PYTHON_DIR!r}); sys.path.insert(0, {os.path.dirname(__file__)!r})
from test_dump_grads import python_side
run = {{"fnn": {run['fnn']!r}, "data": __import__("gradscope.data", fromlist=["x"]).load_idx_dataset("mnist", data_dir={run['mnist']!r})}}
python_side(run, "fnn", "-", batch_sizes=(64, 300), samples=40, seed=3)
"""
    vk = subprocess.Popen([os.path.join(os.path.dirname(tool("vmf-kappa", "--version").args[0]), "vmf-kappa"),
                           "-i", "-", "-o", str(d / "kappa-stream.parquet"), "--per-tensor"],
                          stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    py_proc = subprocess.run([sys.executable, "-c", script], stdout=vk.stdin, stderr=subprocess.PIPE)
    vk.stdin.close()
    err = vk.stderr.read().decode()
    assert py_proc.returncode == 0, py_proc.stderr.decode()
    assert vk.wait() == 0, err
    ks, _ = gs.read_table(d / "kappa-stream.parquet", engine="polars")
    for c in kr.columns:
        assert ks[c].to_list() == kr[c].tolist(), c


def test_read_grads_round_trips_dump_grads_output(run, tool):
    d = run["dir"]
    path = d / "rt.parquet"
    tool("dump-grads", "--checkpoint", run["fnn"], "--data-dir", run["mnist"], "-b", "32", "-n", "5", "-o", path)
    samples = list(gs.read_grads(path))
    # Written again from Python, the rows and values read back the same, and pyarrow
    # reads both files to the same table (provenance apart).
    again = d / "rt-again.parquet"
    with gs.GradWriter(again, layout=[(t["name"], t["shape"]) for t in samples[0].layout]) as w:
        for s in samples:
            w.write(s.step, s.sample, loss=s.loss, batch_size=s.batch_size, grads=s.values)
    import pyarrow.parquet as pq

    a, b = pq.read_table(path), pq.read_table(again)
    assert a.drop_columns(["tensor"]).equals(b.drop_columns(["tensor"]))
    assert a.column("tensor").to_pylist() == b.column("tensor").to_pylist()
    p = tool("vmf-kappa", "-i", again, "-o", d / "rt-kappa.csv").stderr.decode()
    assert "error" not in p
    frame, prov = gs.read_table(d / "rt-kappa.csv")
    assert prov is None and len(frame) == 1 and frame["n"][0] == 5
