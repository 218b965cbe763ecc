"""Summarises `make reproduce-gaussianity` (scripts/normality/gaussianity.sh) with DuckDB
over normtest's summary CSVs: the percentage of Gaussian coordinates per layer against the
batch size, ours beside the Gaussianity study's Tables 1-2 (Wu et al., AlexNet on CIFAR-10,
Shapiro-Wilk at alpha = 0.05, mean +- sd over five repeats).

Writes OUT/gaussianity.csv, OUT/paper-alexnet-cifar10.csv and one OUT/plot~MODEL~DATA~M.csv
per figure. Usage: summarize.py OUT_DIR EPOCH
"""
import csv
import os
import sys

import duckdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "papers"))
import papers  # noqa: E402

out, epoch = sys.argv[1], int(sys.argv[2])

BS = [64, 128, 256, 512, 1024, 2048]
# Tables 1 (200 minibatches) and 2 (600), supplement of the paper (scripts/papers/gaussianity.csv):
# minibatches -> layer -> [(mean, sd)] in the order of BS.
PAPER = {}
for r in papers.load("gaussianity", network="AlexNet"):
    layer = int(r["layer"].split()[-1])
    PAPER.setdefault(int(r["minibatches"]), {}).setdefault(layer, []).append(
        (float(r["gaussian_pct"]), float(r["sd"])))
assert all(len(v) == len(BS) for t in PAPER.values() for v in t.values())
# The paper's layers 1-6 of its AlexNet: the five convolutions and the last linear layer
# (weight sizes 23,232 ... 589,824 and 2,560; its table leaves out the two hidden linear layers).
ALEX_LAYER = {"conv1.weight": 1, "conv2.weight": 2, "conv3.weight": 3, "conv4.weight": 4,
              "conv5.weight": 5, "fc3.weight": 6}
# Tables 3 (200 minibatches) and 4 (600) for ResNet-56: minibatches -> layer name -> [(mean, sd)].
RES_PAPER = {}
for r in papers.load("gaussianity", network="ResNet"):
    RES_PAPER.setdefault(int(r["minibatches"]), {}).setdefault(r["layer"], []).append(
        (float(r["gaussian_pct"]), float(r["sd"])))
RES_BS = [64, 128, 256, 512]
assert all(len(v) == len(RES_BS) for t in RES_PAPER.values() for v in t.values())


def resnet_layer(tensor):
    """The paper's name of a ResNet-56 weight in its Tables 3-4, or None: the first
    convolution, the 1st, 9th and 18th convolution of each of the three stages (stage s
    has 9 blocks of 2 convolutions: `layer{s}.{i}.conv{c}` is its convolution 2 i + c) and
    the final linear layer."""
    if tensor == "conv1.weight":
        return "First Layer"
    if tensor == "fc.weight":
        return "Final Layer"
    parts = tensor.split(".")
    if len(parts) == 4 and parts[0].startswith("layer") and parts[2].startswith("conv"):
        k = 2 * int(parts[1]) + int(parts[2][4:])
        if k in (1, 9, 18):
            return f"Block {parts[0][5:]} Layer {k}"
    return None
SOURCE = {
    "cifar10": "CIFAR-10 (real)",
    "mnist": "MNIST (real; the paper used CIFAR-10)",
    "fashion-mnist": "Fashion-MNIST (real; the paper used CIFAR-10)",
    "synthetic-cifar": "synthetic 3x32x32 images (NOT CIFAR-10: a pipeline check)",
}


def paper(m, layer, b):
    if layer is None or b not in BS:
        return None, None
    return PAPER[m][layer][BS.index(b)]


with open(f"{out}/paper-alexnet-cifar10.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["minibatches", "batch_size", "layer", "gaussian_pct", "sd"])
    for m, t in PAPER.items():
        for layer, vals in t.items():
            for b, (v, sd) in zip(BS, vals):
                w.writerow([m, b, f"layer {layer}", v, sd])

# One row per (file, tensor): the file name carries model~dataset~bB~nM~rR.
raw = duckdb.sql(f"""
    SELECT split_part(fn, '~', 1) AS model, split_part(fn, '~', 2) AS dataset,
           CAST(substr(split_part(fn, '~', 3), 2) AS INTEGER) AS b,
           CAST(substr(split_part(fn, '~', 4), 2) AS INTEGER) AS m,
           CAST(substr(split_part(fn, '~', 5), 2) AS INTEGER) AS r,
           tensor, coords_tested, coords_constant, gaussian_pct, mean_p, beta_sigma3_q50
    FROM (SELECT *, regexp_extract(filename, '([^/]+)\\.csv$', 1) AS fn
          FROM read_csv('{out}/raw/*~*.csv', filename = true, union_by_name = true))
    WHERE test = 'shapiro' AND tensor LIKE '%.weight'""")
summary = duckdb.sql("""
    SELECT model, dataset, m, b, tensor, count(*) AS repeats,
           avg(gaussian_pct) AS pct, stddev_samp(gaussian_pct) AS sd, avg(mean_p) AS mean_p,
           avg(beta_sigma3_q50) AS b3, any_value(coords_tested) AS coords,
           avg(coords_constant) AS constant
    FROM raw GROUP BY ALL ORDER BY model, dataset, m, tensor, b""").fetchall()

# Layer order = the tensors' order in the normtest summaries (the parameter layout), read
# from the files themselves: SQL row numbers over a parallel CSV scan follow no order.
import csv as _csv
import glob as _glob
import os as _os
layout_pos = {}
for path in sorted(_glob.glob(f"{out}/raw/*~*.csv")):
    model, data = _os.path.basename(path).split("~")[:2]
    pos = layout_pos.setdefault((model, data), {})
    with open(path, newline="") as f:
        for i, r in enumerate(_csv.DictReader(f)):
            pos[r["tensor"]] = min(pos.get(r["tensor"], i), i)

rows = []
for model, data, m, b, tensor, reps, pct, sd, mp, b3, coords, const in summary:
    ord_ = layout_pos[(model, data)][tensor]
    rows.append(dict(model=model, dataset=data, data_source=SOURCE.get(data, data), epoch=epoch,
                     minibatches=m, batch_size=b, tensor=tensor, ord=ord_, coords=coords,
                     constant_coords=const, repeats=reps, gaussian_pct=pct, gaussian_pct_sd=sd,
                     mean_p=mp, beta_sigma3_median=b3))
# Layer numbers: the weight tensors in parameter order.
for key in {(r["model"], r["dataset"], r["minibatches"]) for r in rows}:
    ts = sorted({(r["ord"], r["tensor"]) for r in rows if (r["model"], r["dataset"], r["minibatches"]) == key})
    num = {t: i + 1 for i, (_, t) in enumerate(ts)}
    last = ts[-1][1]
    for r in rows:
        if (r["model"], r["dataset"], r["minibatches"]) != key:
            continue
        r["layer"] = num[r["tensor"]]
        if r["model"] == "resnet56":
            name = resnet_layer(r["tensor"])
            vals = RES_PAPER.get(r["minibatches"], {}).get(name)
            p, psd = vals[RES_BS.index(r["batch_size"])] if vals and r["batch_size"] in RES_BS else (None, None)
            r.update(paper_layer=name or "", paper_pct=p, paper_sd=psd,
                     paper_note="same layer, ResNet-56 on CIFAR-10" if p is not None else "")
            continue
        if r["model"].startswith("alexnet-cifar"):
            pl = ALEX_LAYER.get(r["tensor"])
            note = "same layer, AlexNet on CIFAR-10"
        else:  # a different network: its first and last layer beside AlexNet's
            pl = 1 if r["layer"] == 1 else (6 if r["tensor"] == last else None)
            note = "AlexNet on CIFAR-10, its first/last layer (a different network)"
        p, psd = paper(r["minibatches"], pl, r["batch_size"])
        r.update(paper_layer=pl, paper_pct=p, paper_sd=psd, paper_note=note if p is not None else "")

cols = ["model", "dataset", "data_source", "epoch", "minibatches", "batch_size", "layer", "tensor",
        "coords", "constant_coords", "repeats", "gaussian_pct", "gaussian_pct_sd", "mean_p",
        "beta_sigma3_median", "paper_layer", "paper_pct", "paper_sd", "paper_note"]
with open(f"{out}/gaussianity.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    w.writerows(sorted(rows, key=lambda r: (r["model"], r["dataset"], r["minibatches"], r["layer"], r["batch_size"])))

fmt = lambda v, d=2: "-" if v is None else f"{v:.{d}f}"
for key in sorted({(r["model"], r["dataset"], r["minibatches"]) for r in rows}):
    model, data, m = key
    sel = [r for r in rows if (r["model"], r["dataset"], r["minibatches"]) == key]
    bss = sorted({r["batch_size"] for r in sel})
    with open(f"{out}/plot~{model}~{data}~{m}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["batch_size", "layer", "gaussian_pct"])
        for r in sorted(sel, key=lambda r: (r["layer"], r["batch_size"])):
            w.writerow([r["batch_size"], f"{r['layer']} {r['tensor']}", r["gaussian_pct"]])
    print(f"\n{model} on {SOURCE.get(data, data)}: Gaussian coordinates (%) per layer, "
          f"{m} minibatches, end of epoch {epoch}; ours (mean over {sel[0]['repeats']} repeat(s)) | paper")
    print(f"  {'layer':<18}{'coords':>8}  " + "  ".join(f"{'B=' + str(b):>16}" for b in bss))
    for layer in sorted({r["layer"] for r in sel}):
        lr = {r["batch_size"]: r for r in sel if r["layer"] == layer}
        r0 = next(iter(lr.values()))
        cells = []
        for b in bss:
            r = lr.get(b)
            cells.append(f"{fmt(r and r['gaussian_pct']):>7} | {fmt(r and r['paper_pct']):>6}")
        print(f"  {str(layer) + ' ' + r0['tensor']:<18}{r0['coords']:>8}  " + "  ".join(f"{c:>16}" for c in cells))
    if model == "resnet56":
        print(f"  (paper column: ResNet-56 on CIFAR-10, the same layers; paper Table {3 if m == 200 else 4})")
        continue
    note = "the paper's same layers" if model.startswith("alexnet-cifar") else \
        "paper column: AlexNet on CIFAR-10, its layer 1 beside our first layer and its last layer beside ours"
    print(f"  ({note}; paper Table {1 if m == 200 else 2})")
print(f"\nwrote {out}/gaussianity.csv")
