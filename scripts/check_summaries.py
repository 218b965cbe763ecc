#!/usr/bin/env python3
"""Checks that the structure study's committed result tables are what their summary scripts
make of the committed raw tables.

Run by `make test` (seconds, no binaries): copies results/structure/raw into a temporary
folder, runs each summary with the settings recorded in the committed table itself (T,
batch sizes, pretraining epochs, dataset), and requires the regenerated table to equal the
committed one byte for byte. A summary that stops writing a table, or writes it
differently, fails here rather than on the next hour-long reproduction; so does a committed
table edited by hand. Each size present is checked: the CPU size's tableN.csv and the
paper's size's tableN-full.csv.
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "results", "structure")
SCRIPTS = os.path.join(ROOT, "scripts", "structure")


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def distinct(values):
    return " ".join(str(v) for v in sorted({int(v) for v in values}))


def cases(tag, out):
    """(script and its arguments, tables written) for each summary whose table of size `tag`
    is committed, writing into `out`."""
    def committed(name):
        p = os.path.join(RESULTS, f"{name}{tag}.csv")
        return rows(p) if os.path.exists(p) else None

    if (t := committed("table2")) is not None:
        raw = "1" if t[0]["powerlaw_values"] == "|g|" else "0"
        yield ["table2_summary.py", out, t[0]["gradients"], distinct(r["batch_size"] for r in t), raw, tag], ["table2"]
    if (t := committed("table5")) is not None:
        t1 = committed("table1")
        yield (["spectra_summary.py", out, t1[0]["gradients"], t1[0]["pretrain_epochs"],
                distinct(r["batch_size"] for r in t), tag], ["table1", "table4", "table5"])
    for n, noise in ((6, "0.4"), (7, "-")):
        if (t := committed(f"table{n}")) is not None:
            yield ["second_moment_summary.py", str(n), out, t[0]["gradients"], t[0]["pretrain_epochs"], noise, tag], \
                [f"table{n}"]
    if tag == "" and (t := committed("table3")) is not None:
        pre = next((r["pretraining"] for r in t if r["pretraining"]), "")
        epochs = pre.split(" epoch")[0].split()[-1] if "epoch" in pre else "1"
        yield ["table3_summary.py", out, t[0]["gradients"], t[0]["dataset"], epochs, "0"], ["table3"]


def main():
    failed, checked = [], 0
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(os.path.join(RESULTS, "raw"), os.path.join(d, "raw"))
        for tag in ("", "-full"):
            for (script, *argv), tables in cases(tag, d):
                p = subprocess.run([sys.executable, os.path.join(SCRIPTS, script)] + argv,
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    failed.append(f"{script} {' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
                    continue
                for name in tables:
                    checked += 1
                    ours, theirs = os.path.join(d, f"{name}{tag}.csv"), os.path.join(RESULTS, f"{name}{tag}.csv")
                    if not os.path.exists(ours):
                        failed.append(f"{script} did not write {name}{tag}.csv")
                    elif open(ours, "rb").read() != open(theirs, "rb").read():
                        failed.append(f"results/structure/{name}{tag}.csv differs from what {script} makes of raw/")
    for f in failed:
        print(f"error: {f}", file=sys.stderr)
    print(f"summaries: {checked - len(failed)} of {checked} structure tables regenerate identically")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
