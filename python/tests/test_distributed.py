"""One part per rank under torch.distributed: `torchrun --nproc-per-node 2` on the CPU
(gloo), each rank computing its share of the minibatches; the parts together must hold
exactly the rows of one process running the same protocol."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gradscope as gs
from conftest import PYTHON_DIR

SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
import torch
import gradscope as gs

out, distributed = sys.argv[2], sys.argv[3] == "1"
if distributed:
    import torch.distributed as dist
    dist.init_process_group("gloo")
torch.set_num_threads(1)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
g = torch.Generator().manual_seed(1)
x, y = torch.randn(300, 12, generator=g), torch.randint(0, 4, (300,), generator=g)
n = gs.minibatch_gradients(model, torch.nn.functional.cross_entropy, (x, y), [4, 9, 33], 7, seed=11,
                           output=out, distributed=distributed, dataset_name="toy")
print(f"rank {gs.distributed_rank()[0]}: {n} gradients", file=sys.stderr)
if distributed:
    dist.barrier()
    dist.destroy_process_group()
"""


def test_torchrun_parts_hold_the_rows_of_one_process(tmp_path):
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    if not os.path.exists(torchrun):
        pytest.skip("torchrun not found beside the Python interpreter")
    script = tmp_path / "grads.py"
    script.write_text(SCRIPT)
    parts = tmp_path / "parts"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", str(script), PYTHON_DIR, str(parts), "1"],
                       capture_output=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    one = tmp_path / "one.parquet"
    subprocess.run([sys.executable, str(script), PYTHON_DIR, str(one), "0"], check=True, capture_output=True, env=env)

    names = sorted(os.listdir(parts))
    assert names == ["part-00000.parquet", "part-00001.parquet"]
    tables = [pq.read_table(parts / n) for n in names]
    whole = pq.read_table(one)
    # 21 gradients of 4 tensors: rank 0 takes gradients 0-9, rank 1 gradients 10-20.
    assert [t.num_rows for t in tables] == [10 * 4, 11 * 4]
    joined = pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
    assert joined.equals(whole.replace_schema_metadata(None))
    provs = [gs.read_provenance(parts / n) for n in names]
    assert [p["shard"] for p in provs] == ["0/2", "1/2"]
    assert all(p["layout"] == gs.read_provenance(one)["layout"] for p in provs)
    # And sample by sample through read_grads.
    a = [s for n in names for s in gs.read_grads(parts / n)]
    b = list(gs.read_grads(one))
    assert [(s.step, s.sample) for s in a] == [(s.step, s.sample) for s in b] == [(0, i) for i in range(21)]
    for u, v in zip(a, b):
        assert np.array_equal(u.values, v.values)


def test_shard_ranges_partition_the_run():
    for total in (0, 1, 5, 21):
        for world in (1, 2, 3, 8):
            got = [j for r in range(world) for j in gs.shard_range(total, r, world)]
            assert got == list(range(total))
    with pytest.raises(ValueError, match="shard 2/2"):
        gs.shard_range(10, 2, 2)
