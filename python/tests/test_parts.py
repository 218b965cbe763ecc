"""A gradient matrix in parts: the hive dataset of crates/gradscope-cli/testdata/parts
(written by scripts/reference/parts_fixtures.py) opens in DuckDB and polars as the whole
file, and the Python writer's per-rank parts under torchrun are read by vmf-kappa as
the one-process run."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import PYTHON_DIR, REPO
from test_distributed import SCRIPT

PARTS = os.path.join(REPO, "crates", "gradscope-cli", "testdata", "parts")


def whole_rows():
    """(step, sample, tensor) -> (values, loss) of whole.parquet, read by pyarrow."""
    t = pq.read_table(os.path.join(PARTS, "whole.parquet")).to_pylist()
    return {(r["step"], r["sample"], r["tensor"]): (np.asarray(r["values"], np.float32), r["loss"]) for r in t}


def check_same(rows, want):
    assert len(rows) == len(want)
    for key, values, loss in rows:
        w = want[key]
        assert np.array_equal(np.asarray(values, np.float32), w[0]), key
        assert loss == w[1], key


def test_hive_dataset_opens_in_duckdb_as_the_whole_file():
    duckdb = shutil.which("duckdb") or os.path.join(os.path.dirname(sys.executable), "duckdb")
    if not os.path.exists(duckdb):
        pytest.skip("the duckdb command is not beside the interpreter")
    query = (
        "select step, sample, tensor, values, loss from "
        f"read_parquet('{PARTS}/hive/**/*.parquet', hive_partitioning = true) order by step, sample, tensor"
    )
    p = subprocess.run([duckdb, "-json", "-c", query], capture_output=True, text=True, check=True)
    got = json.loads(p.stdout)
    want = whole_rows()
    assert len(got) == len(want) == 3 * 24 * 2
    check_same([((int(r["step"]), r["sample"], r["tensor"]), r["values"], r["loss"]) for r in got], want)


def test_hive_dataset_opens_in_polars_as_the_whole_file():
    pl = pytest.importorskip("polars")
    df = pl.scan_parquet(os.path.join(PARTS, "hive", "**", "*.parquet"), hive_partitioning=True).collect()
    want = whole_rows()
    assert df.height == len(want)
    rows = [((int(r["step"]), r["sample"], str(r["tensor"])), r["values"], r["loss"]) for r in df.iter_rows(named=True)]
    check_same(rows, want)


def test_torchrun_parts_read_by_vmf_kappa_as_one_process(tmp_path, tool):
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    if not os.path.exists(torchrun):
        pytest.skip("torchrun not found beside the Python interpreter")
    script = tmp_path / "grads.py"
    script.write_text(SCRIPT)
    parts = tmp_path / "parts"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.run(
        [torchrun, "--standalone", "--nproc-per-node", "2", str(script), PYTHON_DIR, str(parts), "1"],
        capture_output=True, env=env, timeout=300,
    )
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    one = tmp_path / "one.parquet"
    subprocess.run([sys.executable, str(script), PYTHON_DIR, str(one), "0"], check=True, capture_output=True, env=env)
    args = ["--per-tensor", "--null-reps", "10", "--threads", "1"]
    tool("vmf-kappa", "-i", one, "-o", tmp_path / "one.csv", *args)
    tool("vmf-kappa", "-i", parts, "-o", tmp_path / "parts.csv", *args)
    want = (tmp_path / "one.csv").read_bytes()
    assert (tmp_path / "parts.csv").read_bytes() == want
    assert want.count(b"\n") > 4
