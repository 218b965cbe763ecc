#!/usr/bin/env python3
"""Checks that the committed result tables are what their summary scripts make of the
committed measurements.

Run by `make test` (seconds, no binaries). For each summary whose inputs are committed, it
copies those inputs into a temporary folder, runs the summary there with the settings
recorded in the committed tables themselves (T, batch sizes, pretraining epochs, dataset,
epoch, size), and requires every table it writes to equal the committed one byte for byte.
A summary that stops writing a table, or writes it differently, fails here rather than on
the next hour-long reproduction; so does a committed table edited by hand.

Covered:
- structure study: Tables 1, 2, 4, 5, 6, 7 at each size committed (the CPU size's
  tableN.csv and the paper's size's tableN-full.csv) from results/structure/raw, and
  Table 3;
- vMF study: Figure 7's summaries (fig7-summary.csv for the CNNs, fig7-summary-fnn.csv for
  the Figures 5-6 runs) and their curves and scatter tables, from the committed vmf-kappa
  tables;
- Gaussianity study: gaussianity.csv, paper-alexnet-cifar10.csv and plot~*.csv of
  results/normality and of each results/normality/resnet56/epoch-N, from their raw/.
The summaries that read training runs (walk, edge of stability, noise scale) need files
that are not committed and are not checked here.
"""
import csv
import glob
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "results")
SCRIPTS = os.path.join(ROOT, "scripts")


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def distinct(values):
    return " ".join(str(v) for v in sorted({int(v) for v in values}))


class Case:
    """One run of a summary: `script` (under scripts/) with `argv`, where "{tmp}" stands for
    the temporary folder; `inputs` are paths under results/ copied to the same relative path
    in it, and `outputs` the tables (paths under results/) it must write identically."""

    def __init__(self, script, argv, inputs, outputs):
        self.script, self.argv, self.inputs, self.outputs = script, argv, inputs, outputs


def structure():
    res = os.path.join(RESULTS, "structure")

    def committed(name, tag):
        p = os.path.join(res, f"{name}{tag}.csv")
        return rows(p) if os.path.exists(p) else None

    def case(script, argv, tables, tag):
        return Case(f"structure/{script}", argv, ["structure/raw"], [f"structure/{n}{tag}.csv" for n in tables])

    out = "{tmp}/structure"
    for tag in ("", "-full"):
        if (t := committed("table2", tag)) is not None:
            raw = "1" if t[0]["powerlaw_values"] == "|g|" else "0"
            yield case("table2_summary.py", [out, t[0]["gradients"], distinct(r["batch_size"] for r in t), raw, tag],
                       ["table2"], tag)
        if (t := committed("table5", tag)) is not None:
            t1 = committed("table1", tag)
            yield case("spectra_summary.py", [out, t1[0]["gradients"], t1[0]["pretrain_epochs"],
                                              distinct(r["batch_size"] for r in t), tag],
                       ["table1", "table4", "table5"], tag)
        for n, noise in ((6, "0.4"), (7, "-")):
            if (t := committed(f"table{n}", tag)) is not None:
                yield case("second_moment_summary.py",
                           [str(n), out, t[0]["gradients"], t[0]["pretrain_epochs"], noise, tag], [f"table{n}"], tag)
    if (t := committed("table3", "")) is not None:
        pre = next((r["pretraining"] for r in t if r["pretraining"]), "")
        epochs = pre.split(" epoch")[0].split()[-1] if "epoch" in pre else "1"
        yield case("table3_summary.py", [out, t[0]["gradients"], t[0]["dataset"], epochs, "0"], ["table3"], "")


def vmf():
    """Figure 7: each summary row names its run; the run's vmf-kappa table is fig7-RUN.csv
    (the CNNs, scripts/vmf/snr.sh) or fig56-RUN.csv (fnn, fnn-bn, scripts/vmf/figures.sh), and
    the steps per epoch are those of its curves table (step / epoch)."""
    for summary, kappa in (("fig7-summary.csv", "fig7-{}.csv"), ("fig7-summary-fnn.csv", "fig56-{}.csv")):
        path = os.path.join(RESULTS, "vmf", summary)
        if not os.path.exists(path):
            continue
        t = rows(path)
        per_epoch = steps_per_epoch(os.path.join(RESULTS, "vmf", f"fig7-{t[0]['run']}-curves.csv"))
        runs = [r["run"] for r in t]
        yield Case("vmf/snr_summary.py",
                   ["{tmp}/vmf", f"{{tmp}}/vmf/{summary}", t[0]["dataset"], t[0]["size"], str(per_epoch)]
                   + [f"{r}={{tmp}}/vmf/{kappa.format(r)}" for r in runs],
                   [f"vmf/{kappa.format(r)}" for r in runs],
                   [f"vmf/{summary}"] + [f"vmf/fig7-{r}-{k}.csv" for r in runs for k in ("curves", "scatter")])


def steps_per_epoch(curves):
    """step / epoch of a Figure 7 curves table's first row past epoch 0; 1 when the table is
    missing (the case then fails on that missing table)."""
    if not os.path.exists(curves):
        return 1
    return next((round(int(r["step"]) / float(r["epoch"])) for r in rows(curves) if float(r["epoch"]) > 0), 1)


def normality():
    """Each folder holding gaussianity.csv and raw/: the epoch is the table's own."""
    for table in [os.path.join(RESULTS, "normality", "gaussianity.csv")] + \
            sorted(glob.glob(os.path.join(RESULTS, "normality", "resnet56", "epoch-*", "gaussianity.csv"))):
        folder = os.path.relpath(os.path.dirname(table), RESULTS)
        if not os.path.isdir(os.path.join(RESULTS, folder, "raw")):
            continue
        plots = sorted(os.path.relpath(p, RESULTS) for p in glob.glob(os.path.join(RESULTS, folder, "plot~*.csv")))
        yield Case("normality/summarize.py", [f"{{tmp}}/{folder}", rows(table)[0]["epoch"]], [f"{folder}/raw"],
                   [f"{folder}/gaussianity.csv", f"{folder}/paper-alexnet-cifar10.csv"] + plots)


def check(case, tmp):
    """The problems of one case, as lines."""
    missing = [f"results/{p} is not committed" for p in case.inputs if not os.path.exists(os.path.join(RESULTS, p))]
    if missing:
        return missing
    for p in case.inputs:
        src, dst = os.path.join(RESULTS, p), os.path.join(tmp, p)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, dst)
    argv = [a.replace("{tmp}", tmp) for a in case.argv]
    p = subprocess.run([sys.executable, os.path.join(SCRIPTS, case.script)] + argv,
                       capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        return [f"{case.script} {' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-300:]}"]
    problems = []
    for name in case.outputs:
        ours, theirs = os.path.join(tmp, name), os.path.join(RESULTS, name)
        if not os.path.exists(ours):
            problems.append(f"{case.script} did not write results/{name}")
        elif not os.path.exists(theirs):
            problems.append(f"results/{name} is not committed")
        elif open(ours, "rb").read() != open(theirs, "rb").read():
            problems.append(f"results/{name} differs from what {case.script} makes of the committed inputs")
    return problems


def main():
    failed, checked = [], 0
    for study in (structure, vmf, normality):
        for case in study():
            with tempfile.TemporaryDirectory() as tmp:
                problems = check(case, tmp)
            checked += len(case.outputs)
            failed += problems
    for f in failed:
        print(f"error: {f}", file=sys.stderr)
    if failed:
        print(f"summaries: {len(failed)} problem(s) among {checked} result tables")
    else:
        print(f"summaries: all {checked} result tables regenerate identically")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
