#!/usr/bin/env python3
"""Checks that gradscope's result tables and gradient matrices open in polars and DuckDB.

Run by `make test` after the Rust tests: it writes a small gradient matrix with
synth-grads, runs vmf-kappa on it into Parquet, CSV and JSON, and reads each with polars
and DuckDB, checking the required columns and the provenance metadata.
"""
import json
import os
import subprocess
import sys
import tempfile

import duckdb
import polars as pl

BIN = os.environ.get("GRADSCOPE_BIN", "target/release")
REQUIRED = ["step", "scope", "n", "dim", "r_bar", "kappa", "kappa_ml", "kappa_null_mean",
            "kappa_null_sd", "rayleigh_z", "rayleigh_p", "mean_norm", "std_norm", "gns",
            "norm_snr", "gs", "snr"]


def run(*args):
    subprocess.run(args, check=True, stderr=subprocess.DEVNULL)


def main():
    with tempfile.TemporaryDirectory() as d:
        grads = os.path.join(d, "g.parquet")
        run(f"{BIN}/synth-grads", "--dim", "500", "-n", "200", "--steps", "2", "--kappa", "30",
            "--layout", "a:20x20,b:100", "-o", grads)
        out = {ext: os.path.join(d, f"k.{ext}") for ext in ("parquet", "csv", "json")}
        for path in out.values():
            run(f"{BIN}/vmf-kappa", "-i", grads, "-o", path, "--per-tensor", "--null-reps", "20")
        frames = {
            "parquet": pl.read_parquet(out["parquet"]),
            "csv": pl.read_csv(out["csv"]),
            "json": pl.read_json(out["json"]),
        }
        for name, df in frames.items():
            missing = [c for c in REQUIRED if c not in df.columns]
            assert not missing, f"{name}: missing columns {missing}"
            assert df.height == 6, f"{name}: {df.height} rows, expected 2 steps x 3 scopes"
        con = duckdb.connect()
        rows = con.execute(f"select step, scope, kappa from '{out['parquet']}' order by step, scope").fetchall()
        assert len(rows) == 6, rows
        meta = con.execute(f"select value from parquet_kv_metadata('{out['parquet']}') where key = 'gradscope'").fetchone()
        prov = json.loads(meta[0])
        assert prov["kind"] == "vmf-kappa" and prov["source"]["layout"][0]["name"] == "a", prov
        n = con.execute(f"select count(*) from '{grads}'").fetchone()[0]
        assert n == 2 * 200 * 2, n
        lens = con.execute(f"select distinct tensor, len(values) from '{grads}' order by 1").fetchall()
        assert lens == [("a", 400), ("b", 100)], lens
        g = pl.read_parquet(grads)
        assert g.schema["values"] == pl.List(pl.Float32), g.schema
    print("results open in polars and DuckDB")
    print("open-results: 1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
