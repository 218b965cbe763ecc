"""Summarises `make reproduce-spectra-side-by-side` (scripts/spectra/side_by_side.sh): one row
per (model, state, layer) with the power-law fits of the three spectra side by side, the
Hessian block's top eigenvalue and trace, and the structure study's Table 5 s-hat for the
whole lenet network beside ours (scripts/papers/structure.csv; its fits are top-1,000 of
5,000 gradients, ours the KS scan of T, so they are a yardstick, not a replication).

Usage: side_by_side_summary.py OUT_DIR EPOCHS T B HESS_N K
Writes OUT_DIR/side_by_side.csv and OUT_DIR/plot-MODEL.csv (the figures' input).
"""
import csv
import math
import os
import sys

out, epochs, T, B, hess_n, K = sys.argv[1], *map(int, sys.argv[2:7])
raw = os.path.join(out, "raw")


def read(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def module(name):
    return name.rsplit(".", 1)[0] if "." in name else name


rows = []
for model in ["lenet", "fcn"]:
    for state in ["init", "trained"]:
        tag = f"{model}-{state}"
        hess = read(f"{raw}/hessian-{tag}.csv")
        if not hess:
            continue
        grad = {r["scope"]: r for r in read(f"{raw}/grad-{tag}.csv") if r["series"] == "eigenvalues"}
        hfit = {r["block"]: r for r in read(f"{raw}/hessian-fit-{tag}.csv")}
        weights = {module(r["layer"]): r for r in read(f"{raw}/weights-{tag}.csv")}
        for h in hess:
            layer = h["block"]
            g = grad.get("all" if layer == "all" else f"{layer}.weight", {})
            f = hfit.get(layer, {})
            w = weights.get(layer, {})
            rows.append({
                "model": model,
                "state": state,
                "epoch": 0 if state == "init" else epochs,
                "layer": layer,
                "parameters": int(h["parameters"]),
                "grad_alpha": num(g.get("alpha")),
                "grad_xmin": num(g.get("xmin")),
                "grad_n_tail": num(g.get("n_tail")),
                "grad_ks_d": num(g.get("ks_d")),
                "hessian_top": num(h["top_eigenvalue"]),
                "hessian_trace": num(h["trace"]),
                "hessian_trace_se": num(h["trace_se"]),
                "hessian_alpha": num(f.get("alpha")),
                "hessian_xmin": num(f.get("xmin")),
                "hessian_n_tail": num(f.get("n_tail")),
                "weight_alpha": num(w.get("alpha")),
                "weight_xmin": num(w.get("xmin")),
                "weight_n_tail": num(w.get("n_tail")),
                "weight_lambda_max": num(w.get("lambda_max")),
                "weight_stable_rank": num(w.get("stable_rank")),
            })

fields = list(rows[0])


def text(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return str(v)


with open(os.path.join(out, "side_by_side.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(fields)
    for r in rows:
        w.writerow([text(r[k]) for k in fields])

# the figures' input: per model, one row per (state, layer) with an index for the x axis
for model in ["lenet", "fcn"]:
    for state in ["init", "trained"]:
        sel = [r for r in rows if r["model"] == model and r["state"] == state and r["layer"] != "all"]
        with open(os.path.join(raw, f"plot-{model}-{state}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["layer_index", "layer", "gradient covariance", "Hessian block (top K)", "weights W'W/N"])
            for i, r in enumerate(sel, 1):
                w.writerow([i, r["layer"], text(r["grad_alpha"]), text(r["hessian_alpha"]), text(r["weight_alpha"])])

papers = read(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "papers", "structure.csv"))
t5 = {(r["training"], r["batch_size"]): r["s_hat"] for r in papers if r["table"] == "5"}
print(f"\nspectra side by side: {epochs} epoch(s) of training, T = {T} gradients at B = {B}, "
      f"Hessian on {hess_n} images, top {K} eigenvalues per block")
print(f"  {'model':<6} {'state':<8} {'layer':<7} {'params':>7}  {'grad alpha':>10}  {'hess top':>9} {'trace':>9} "
      f"{'hess alpha':>10}  {'weight alpha':>12}")
for r in rows:
    f = lambda v, d=3: "-" if math.isnan(v) else f"{v:.{d}g}"
    print(f"  {r['model']:<6} {r['state']:<8} {r['layer']:<7} {r['parameters']:>7}  {f(r['grad_alpha']):>10}  "
          f"{f(r['hessian_top']):>9} {f(r['hessian_trace']):>9} {f(r['hessian_alpha']):>10}  {f(r['weight_alpha']):>12}")
for state, training in [("init", "Random"), ("trained", "Pretrain")]:
    ours = [r for r in rows if r["model"] == "lenet" and r["state"] == state and r["layer"] == "all"]
    if ours and not math.isnan(ours[0]["grad_alpha"]):
        s_hat = 1.0 / (ours[0]["grad_alpha"] - 1.0)
        print(f"  lenet {state}: covariance s-hat {s_hat:.3f} (all parameters, B = {B}); "
              f"the study's Table 5 ({training}, B = 10): {t5.get((training, '10'), '-')}")
