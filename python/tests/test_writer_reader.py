"""GradWriter and read_grads on their own: the format, round trips, and refusals.
Reference values: the arrays written, read back independently with pyarrow."""

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import gradscope as gs
from conftest import PYTHON_DIR


class Small(torch.nn.Module):
    def __init__(self, bn=False):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 5)
        self.bn1 = torch.nn.BatchNorm1d(5) if bn else None
        self.fc2 = torch.nn.Linear(5, 3, bias=False)

    def forward(self, x):
        h = self.fc1(x)
        if self.bn1 is not None:
            h = self.bn1(h)
        return self.fc2(torch.relu(h))


def toy_data(n=80, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


def test_schema_and_provenance_match_the_rust_writer(tmp_path):
    torch.manual_seed(0)
    m = Small()
    path = tmp_path / "g.parquet"
    with gs.GradWriter(path, m, dataset="toy", seed=5, batch_size=8, sampling="independent",
                       extra={"note": "x"}) as w:
        x, y = toy_data()
        torch.nn.functional.cross_entropy(m(x[:8]), y[:8]).backward()
        w.write(0, 0, loss=1.5, batch_size=8)
    schema = pq.read_schema(path)
    assert schema.names == list(gs.GRAD_COLUMNS)
    assert schema.field("step").type == pa.uint64() and not schema.field("step").nullable
    assert schema.field("sample").type == pa.uint32()
    assert schema.field("tensor").type == pa.dictionary(pa.int32(), pa.utf8())
    assert schema.field("values").type.value_type == pa.float32()
    assert schema.field("loss").type == pa.float64()
    assert schema.field("batch_size").type == pa.uint32()
    md = pq.read_metadata(path)
    prov = json.loads(md.metadata[b"gradscope"])
    # The Rust Provenance's fields (crates/gradscope-io/src/provenance.rs).
    for k in ("format_version", "kind", "tool", "command", "model", "dataset", "seed", "batch_size", "sampling", "layout"):
        assert k in prov
    assert prov["format_version"] == 1 and prov["kind"] == "gradient-matrix"
    assert prov["model"].endswith("test_writer_reader.Small")
    assert (prov["dataset"], prov["seed"], prov["batch_size"], prov["note"]) == ("toy", 5, 8, "x")
    assert prov["layout"] == [
        {"name": "fc1.weight", "shape": [5, 6], "numel": 30, "offset": 0},
        {"name": "fc1.bias", "shape": [5], "numel": 5, "offset": 30},
        {"name": "fc2.weight", "shape": [3, 5], "numel": 15, "offset": 35},
    ]
    assert md.row_group(0).column(3).path_in_schema == "values.list.item"
    t = pq.read_table(path)
    got = np.concatenate(t.column("values").to_pylist())
    want = torch.cat([p.grad.reshape(-1) for p in m.parameters()]).numpy()
    assert np.array_equal(got.astype(np.float32), want)
    assert t.column("tensor").to_pylist() == ["fc1.weight", "fc1.bias", "fc2.weight"]


def test_round_trip_and_row_groups_hold_whole_samples(tmp_path):
    rng = np.random.default_rng(1)
    layout = [("a", (40, 25)), ("b", (7,)), ("c", (3, 2))]
    dim = 1000 + 7 + 6
    data = [rng.standard_normal(dim).astype(np.float32) for _ in range(23)]
    path = tmp_path / "g.parquet"
    with gs.GradWriter(path, layout=layout, row_group_bytes=10_000) as w:
        for i, v in enumerate(data):
            w.write(i // 10, i % 10, loss=float(i) / 7, batch_size=i + 1, grads=v)
    md = pq.read_metadata(path)
    assert md.num_row_groups >= 5
    for g in range(md.num_row_groups):
        assert md.row_group(g).num_rows % 3 == 0, "a row group never splits a sample"
    back = list(gs.read_grads(path))
    assert len(back) == 23
    for i, s in enumerate(back):
        assert (s.step, s.sample, s.batch_size) == (i // 10, i % 10, i + 1)
        assert s.loss == float(i) / 7
        assert np.array_equal(s.values, data[i])
        assert s.tensors()["c"].shape == (3, 2)
    # float64 on request, the same numbers.
    assert np.array_equal(next(gs.read_grads(path, dtype=np.float64)).values, data[0].astype(np.float64))


def test_grads_given_as_dict_list_or_tensor(tmp_path):
    m = Small()
    x, y = toy_data()
    torch.nn.functional.cross_entropy(m(x), y).backward()
    grads = {n: p.grad.clone() for n, p in m.named_parameters()}
    path = tmp_path / "g.parquet"
    with gs.GradWriter(path, m) as w:
        w.write(0, 0)
        w.write(0, 1, grads=grads)
        w.write(0, 2, grads=list(grads.values()))
        w.write(0, 3, grads=torch.cat([g.reshape(-1) for g in grads.values()]).double())
    s = list(gs.read_grads(path))
    for k in range(1, 4):
        assert np.array_equal(s[0].values, s[k].values)
    assert s[0].loss is None and s[0].batch_size is None


def test_refusals_name_the_problem(tmp_path):
    m = Small()
    path = tmp_path / "g.parquet"
    with pytest.raises(ValueError, match="has no .grad"):
        with gs.GradWriter(path, m) as w:
            w.write(0, 0)
    assert not path.exists() and not [f for f in os.listdir(tmp_path)], "no partial output"
    bad = [torch.zeros(5, 6), torch.zeros(5), torch.zeros(3, 5)]
    bad[1][2] = float("nan")
    with pytest.raises(ValueError, match=r"step 0, sample 0, tensor `fc1.bias`, index 2: value nan is not finite"):
        with gs.GradWriter(path, m) as w:
            w.write(0, 0, grads=bad)
    with pytest.raises(ValueError, match="samples must be written in order"):
        with gs.GradWriter(path, m) as w:
            good = [torch.zeros_like(p) for p in m.parameters()]
            w.write(1, 0, grads=good)
            w.write(0, 5, grads=good)
    with pytest.raises(ValueError, match="layout 30"):
        with gs.GradWriter(path, m) as w:
            w.write(0, 0, grads=[torch.zeros(4), torch.zeros(5), torch.zeros(15)])
    # Same size, another shape: a transposed weight would be filed coordinate-scrambled.
    with pytest.raises(ValueError, match=r"gradient of `fc1.weight` has shape \[6, 5\], the layout \[5, 6\]"):
        with gs.GradWriter(path, m) as w:
            w.write(0, 0, grads=[torch.zeros(6, 5), torch.zeros(5), torch.zeros(3, 5)])
    with pytest.raises(ValueError, match=r"gradient of `fc2.weight` has dtype torch.complex64"):
        with gs.GradWriter(path, m) as w:
            w.write(0, 0, grads=[torch.zeros(5, 6), torch.zeros(5), torch.zeros(3, 5, dtype=torch.complex64)])
    with pytest.raises(ValueError, match=r"step 1.7 / sample 0: both must be integers"):
        with gs.GradWriter(path, m) as w:
            w.write(1.7, 0, grads=[torch.zeros(5, 6), torch.zeros(5), torch.zeros(3, 5)])
    huge = [torch.zeros(5, 6, dtype=torch.float64), torch.zeros(5), torch.zeros(3, 5)]
    huge[0][1, 2] = 1e300
    with pytest.raises(ValueError, match=r"tensor `fc1.weight`, index 8: value inf is not finite \(float32"):
        with gs.GradWriter(path, m) as w:
            w.write(0, 0, grads=huge)
    with pytest.raises(ValueError, match=r"tensor `a` has a negative dimension in shape \[-1, -3\]"):
        gs.GradWriter(path, layout=[("a", [-1, -3])])
    with pytest.raises(ValueError, match="is Parquet"):
        gs.GradWriter(tmp_path / "g.arrows", m)
    with pytest.raises(ValueError, match="match no parameter"):
        gs.GradWriter(path, m, tensors=["fc9"])
    assert not os.listdir(tmp_path)


WRITE_STREAM = r"""
import sys, torch
sys.path.insert(0, sys.argv[1])
import gradscope as gs
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
x, y = torch.randn(50, 4), torch.randint(0, 2, (50,))
with gs.GradWriter("-", m, dataset="toy") as w:
    for i in range(5):
        print("a stray print goes to stderr, not into the stream")
        m.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x[i * 10:(i + 1) * 10]), y[i * 10:(i + 1) * 10])
        loss.backward()
        w.write(3, i, loss=loss.item(), batch_size=10)
print("after close: stdout again")
"""


def test_stream_on_stdout_round_trips(tmp_path):
    p = subprocess.run([sys.executable, "-c", WRITE_STREAM, PYTHON_DIR], capture_output=True, check=True)
    assert b"stray print" in p.stderr
    assert p.stdout.endswith(b"after close: stdout again\n")
    stream = p.stdout[: -len(b"after close: stdout again\n")]
    path = tmp_path / "g.arrows"
    path.write_bytes(stream)
    r = pa.ipc.open_stream(pa.BufferReader(stream))
    assert r.schema.field("values").type.value_type == pa.float32()
    batches = list(r)
    assert len(batches) == 5 and all(b.num_rows == 4 for b in batches)
    s = list(gs.read_grads(path))
    assert [(x.step, x.sample, x.batch_size) for x in s] == [(3, i, 10) for i in range(5)]
    flat = [np.concatenate(b.column("values").to_pylist()).astype(np.float32) for b in batches]
    for x, f in zip(s, flat):
        assert np.array_equal(x.values, f)
    assert gs.read_provenance(path)["dataset"] == "toy"
    # read_grads("-") reads the stream from stdin.
    reader = ("import sys; sys.path.insert(0, sys.argv[1]); import gradscope as gs; "
              "print(sum(float(s.values.astype('float64').sum()) for s in gs.read_grads('-')))")
    r = subprocess.run([sys.executable, "-c", reader, PYTHON_DIR], input=stream, capture_output=True, check=True)
    assert float(r.stdout) == sum(float(f.astype(np.float64).sum()) for f in flat)


def test_files_without_provenance_and_with_other_types(tmp_path):
    # What polars or a NumPy user writes by default: int64 ids, float64 values, plain
    # strings, no loss, no metadata. read_grads infers the layout from the first sample.
    rows = {"step": [0, 0, 0, 0], "sample": [0, 0, 1, 1], "tensor": ["w", "b", "w", "b"],
            "values": [[1.0, 2.0, 3.0], [4.0], [5.0, 6.0, 7.0], [8.0]]}
    path = tmp_path / "plain.parquet"
    pq.write_table(pa.table(rows), path)
    s = list(gs.read_grads(path))
    assert [x.values.tolist() for x in s] == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert s[0].layout == [{"name": "w", "shape": [3], "numel": 3, "offset": 0},
                           {"name": "b", "shape": [1], "numel": 1, "offset": 3}]
    rows["values"][3] = [8.0, 9.0]
    pq.write_table(pa.table(rows), path)
    with pytest.raises(ValueError, match=r"step 0, sample 1, tensor `b`: 2 values, the layout says 1"):
        list(gs.read_grads(path))


def test_per_example_gradients_through_torch_func_equal_single_backward_passes(tmp_path):
    torch.manual_seed(2)
    m = Small()
    x, y = toy_data()
    ce = torch.nn.functional.cross_entropy
    per = list(gs.iter_minibatch_gradients(m, ce, (x, y), [8], 3, seed=4, per_example=True))
    assert len(per) == 24 and [g.sample for g in per] == list(range(24))
    batches = list(gs.iter_minibatch_gradients(m, ce, (x, y), [8], 3, seed=4))
    for j, b in enumerate(batches):
        members = per[8 * j : 8 * (j + 1)]
        assert np.array_equal(np.concatenate([g.indices for g in members]), b.indices)
        for g in members:
            # Reference: an ordinary backward pass on the one example.
            m.zero_grad()
            ce(m(x[g.indices]), y[g.indices]).backward()
            want = torch.cat([p.grad.reshape(-1) for p in m.parameters()]).numpy()
            np.testing.assert_allclose(g.values, want, rtol=1e-5, atol=1e-7)
        # The minibatch gradient of a mean loss is the mean of its per-example gradients.
        np.testing.assert_allclose(np.mean([g.values for g in members], axis=0), b.values, rtol=1e-5, atol=1e-7)


def test_batchnorm_semantics(tmp_path):
    torch.manual_seed(3)
    m = Small(bn=True)
    x, y = toy_data()
    # Running statistics away from their defaults, so the two modes differ.
    m.train()
    with torch.no_grad():
        for i in range(5):
            m(x[i * 16:(i + 1) * 16] * 2 + 1)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    m.eval()
    ce = torch.nn.functional.cross_entropy
    g_train = next(gs.iter_minibatch_gradients(m, ce, (x, y), [16], 1, seed=0, batchnorm="train"))
    g_eval = next(gs.iter_minibatch_gradients(m, ce, (x, y), [16], 1, seed=0, batchnorm="eval"))
    idx = g_train.indices
    # References: the functional batch norm with the batch's statistics (training=True) and
    # with the running ones (training=False), on the same examples.
    for training, got in ((True, g_train), (False, g_eval)):
        params = [p.detach().clone().requires_grad_() for p in m.parameters()]
        w1, b1, gw, gb, w2 = params
        h = torch.nn.functional.linear(x[idx], w1, b1)
        h = torch.nn.functional.batch_norm(h, before["bn1.running_mean"].clone(), before["bn1.running_var"].clone(),
                                           gw, gb, training=training, momentum=0.1, eps=1e-5)
        loss = ce(torch.nn.functional.linear(torch.relu(h), w2), y[idx])
        want = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]).numpy()
        np.testing.assert_allclose(got.values, want, rtol=1e-6, atol=1e-8)
    assert not np.allclose(g_train.values, g_eval.values)
    # The module leaves as it came: its mode, and its running statistics.
    assert not m.training
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k
    with pytest.raises(ValueError, match="batchnorm='eval'"):
        next(gs.iter_minibatch_gradients(m, ce, (x, y), [4], 1, per_example=True))


def test_map_style_dataset_and_forward(tmp_path):
    x, y = toy_data()

    class DS(torch.utils.data.Dataset):
        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            return {"x": x[i], "y": y[i]}

    torch.manual_seed(0)
    m = Small()
    ce = torch.nn.functional.cross_entropy
    a = list(gs.iter_minibatch_gradients(m, None, DS(), [5], 2, seed=9, forward=lambda mod, b: ce(mod(b["x"]), b["y"])))
    b = list(gs.iter_minibatch_gradients(m, ce, (x, y), [5], 2, seed=9))
    for u, v in zip(a, b):
        assert np.array_equal(u.indices, v.indices)
        np.testing.assert_array_equal(u.values, v.values)


def test_per_example_with_batchnorm_in_eval_mode_and_a_tensor_filter():
    torch.manual_seed(5)
    m = Small(bn=True)
    m.eval()
    x, y = toy_data()
    ce = torch.nn.functional.cross_entropy
    per = list(gs.iter_minibatch_gradients(m, ce, (x, y), [6], 2, seed=1, per_example=True, batchnorm="eval",
                                           tensors=["fc1", "bn1.weight"]))
    assert len(per) == 12 and per[0].values.shape == (30 + 5 + 5,)
    for g in per:
        # Reference: a backward pass on the one example, BatchNorm on its running statistics.
        m.zero_grad()
        ce(m(x[g.indices]), y[g.indices]).backward()
        want = torch.cat([m.fc1.weight.grad.reshape(-1), m.fc1.bias.grad, m.bn1.weight.grad]).numpy()
        np.testing.assert_allclose(g.values, want, rtol=1e-5, atol=1e-7)


def test_sparse_gradients_are_written_dense(tmp_path):
    # nn.Embedding(sparse=True) leaves a sparse COO .grad; the file holds its dense form.
    emb = torch.nn.Embedding(7, 3, sparse=True)
    emb(torch.tensor([1, 4, 4])).sum().backward()
    assert emb.weight.grad.is_sparse
    path = tmp_path / "e.parquet"
    with gs.GradWriter(path, emb) as w:
        w.write(0, 0)
    (s,) = list(gs.read_grads(path))
    expected = np.zeros((7, 3), np.float32)
    expected[1], expected[4] = 1.0, 2.0  # row 4 was looked up twice
    assert np.array_equal(s.tensors()["weight"], expected)


def test_a_reader_that_goes_away_is_one_clear_error():
    # `python my_grads.py | head -c 100`: pyarrow's bare BrokenPipeError said nothing of
    # which pipe; the writer now says the stream's reader has gone.
    script = (
        "import sys, torch; sys.path.insert(0, sys.argv[1]); import gradscope as gs\n"
        "m = torch.nn.Linear(200, 100)\n"
        "with gs.GradWriter('-', m) as w:\n"
        "    for i in range(200):\n"
        "        m.zero_grad(); m(torch.randn(4, 200)).sum().backward(); w.write(0, i)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script, PYTHON_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(100)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() == 1
    assert "BrokenPipeError: cannot write the gradient stream on stdout: its reader has gone" in err
