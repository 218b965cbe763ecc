"""Writes results/REPORT.md: every reproduced table row and figure claim of the four studies
beside the paper's, from the committed result tables (results/) and the papers' values
(scripts/papers/*.csv). Nothing in the report is written by hand: each verdict is computed
here from the numbers, with the tolerance it used stated beside it.

Verdicts:
  agrees          ours and the paper's within the row's stated tolerance (or the paper's
                  claim holds for ours);
  disagrees       outside it;
  not comparable  with the reason: different data (a stand-in dataset or network), a
                  different size (the paper's claim is about a longer run than ours), the
                  paper prints no number, or no result yet (the target has not been run).

Usage: report.py [REPO_ROOT]   (`make report`; `make reproduce-all` runs every reproduction first)
"""
import csv
import math
import os
import statistics
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RES = os.path.join(ROOT, "results")
sys.path.insert(0, os.path.join(ROOT, "scripts", "papers"))
import papers  # noqa: E402

AGREE, DISAGREE = "agrees", "disagrees"
NC_DATA = "not comparable: different data"
NC_SIZE = "not comparable: different size"
NC_NONUM = "not comparable: no number in the paper"
NC_NORUN = "not comparable: no result yet"
NC_MODEL = "not comparable: network not available"
NC_COST = "not comparable: not measured on this CPU"


def path(*p):
    return os.path.join(RES, *p)


def read(*p):
    f = path(*p)
    if not os.path.exists(f):
        return None
    with open(f, newline="") as fh:
        return list(csv.DictReader(fh))


def read_sizes(study, fname):
    """The rows of a table at the CPU size (fname) and then at the study's size (FULL=1:
    the same name ending -full.csv), whichever ran; None when neither did."""
    sizes = [read(study, f) for f in (fname, fname.replace(".csv", "-full.csv"))]
    return None if all(x is None for x in sizes) else [r for x in sizes for r in x or []]


def num(v):
    return None if v in (None, "") else float(v)


def fmt(v, d=4):
    if v is None or v == "":
        return "-"
    if isinstance(v, str):
        return v
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
        return f"{v:.3g}"
    return f"{v:.{d}g}" if abs(v) >= 1 else f"{v:.3g}"


def within(ours, paper, tol_abs=None, tol_rel=None):
    lim = max(tol_abs or 0.0, (tol_rel or 0.0) * abs(paper))
    return abs(ours - paper) <= lim


class Table:
    """One of the paper's tables or figures: its rows beside ours."""

    def __init__(self, title, target, data, tolerance, figures=()):
        self.title, self.target, self.data, self.tolerance = title, target, data, tolerance
        self.figures = [f for f in figures if os.path.exists(path(f))]
        self.rows = []

    def add(self, row, ours, paper, size, verdict):
        self.rows.append(dict(row=row, ours=ours, paper=paper, size=size, verdict=verdict))


STUDIES = []


def study(name, reference):
    tables = []
    STUDIES.append((name, reference, tables))
    return tables


# --------------------------------------------------------------------------- vMF ----------
def vmf():
    out = study("vMF", "Lee, Cho, Kang, \"Directional analysis of stochastic gradient descent via "
                "von Mises-Fisher distributions in deep learning\" (ICLR 2020)")
    paper = {(r["network"], int(r["samples"])): r for r in papers.load("vmf", table=1)}

    t = Table("Table 1: kappa-hat of uniformly random directions (kappa = 0), mean +- sd over 5 runs",
              "make reproduce-table1", "uniform directions in each network's dimension (the exact null walk), as the paper",
              "the paper's mean within 3 standard errors (sd / sqrt(5)) of our expectation from 2,000 runs")
    rows = read("table1.csv")
    for r in rows or []:
        p = paper[(r["network"], int(r["samples"]))]
        pm, ps = float(p["kappa_mean"]), float(p["kappa_sd"])
        em, es, runs = float(r["expected_mean"]), float(r["expected_std"]), int(r["runs"])
        z = (pm - em) / (es / math.sqrt(runs))
        t.add(f"{r['network']}, d = {int(r['dimension']):,}, {int(r['samples']):,} samples",
              f"{float(r['kappa_mean']):.2f} +- {float(r['kappa_std']):.2f} (expected {em:.2f}; z = {z:+.2f})",
              f"{pm:.2f} +- {ps:.2f}", f"{runs} runs; expectation from 2,000", AGREE if abs(z) <= 3 else DISAGREE)
    if rows is None:
        t.add("all rows", "-", "Table 1", "-", NC_NORUN)
    out.append(t)

    t = Table("Table 1, CNN row from real 206,128-dimensional vectors", "make reproduce-table1",
              "uniform random unit vectors drawn directly, as the paper",
              "difference within 3 combined standard errors (sqrt(sd1^2/5 + sd2^2/5))")
    for r in read("table1-direct.csv") or []:
        p = paper[(r["network"], int(r["samples"]))]
        pm, ps = float(p["kappa_mean"]), float(p["kappa_sd"])
        m, s, n = float(r["kappa_mean"]), float(r["kappa_std"]), int(r["runs"])
        se = math.sqrt(s * s / n + ps * ps / 5)
        t.add(f"CNN, {int(r['samples']):,} samples", f"{m:.2f} +- {s:.2f}", f"{pm:.2f} +- {ps:.2f}", f"{n} runs",
              AGREE if abs(m - pm) <= 3 * se else DISAGREE)
    out.append(t)

    t = Table("Figure 8: kappa-hat against the true kappa (d = 10,000; 1,000 / 2,000 / 3,000 samples)",
              "make reproduce-table1", "vMF samples in d = 10,000, as the paper (d = 1,920,000 beyond it)",
              "the paper's statements, checked on every row in d = 10,000 (means over 5 runs)",
              figures=["figure8.png"])
    f8 = [r for r in read("figure8.csv") or [] if r["dimension"] == "10000"]
    if f8:
        by, se = {}, {}
        for r in f8:
            by.setdefault(float(r["kappa_true"]), {})[int(r["samples"])] = float(r["kappa_hat_mean"])
            se.setdefault(float(r["kappa_true"]), {})[int(r["samples"])] = \
                float(r["kappa_hat_std"]) / math.sqrt(int(r["runs"]))
        above = all(min(v.values()) >= k for k, v in by.items())
        t.add("kappa-hat approaches the true kappa from above", f"kappa-hat >= kappa in all {len(f8)} rows: "
              f"{'yes' if above else 'no'}", "from above", "5 runs per row", AGREE if above else DISAGREE)
        def no_rise(k, a, b):  # kappa-hat at b samples not above a's, beyond 3 standard errors
            return by[k][b] <= by[k][a] + 3 * math.hypot(se[k][a], se[k][b])
        falls = all(no_rise(k, 1000, 2000) and no_rise(k, 2000, 3000) for k in by)
        t.add("kappa-hat falls towards kappa as the samples grow", "no rise from 1,000 to 2,000 to 3,000 samples at any "
              f"kappa: {'yes' if falls else 'no'}", "yes", "5 runs per row; a rise counts beyond 3 standard errors",
              AGREE if falls else DISAGREE)
        big = {k: v[3000] / k - 1 for k, v in by.items() if k >= 10000}
        ok = all(abs(e) <= 0.01 for e in big.values())
        t.add("large kappa (>= 10,000): well estimated at 3,000 samples",
              f"largest relative error {max(abs(e) for e in big.values()):.2e}", "error rapidly becomes zero",
              "5 runs per row; tolerance 1%", AGREE if ok else DISAGREE)
        small = {k: v[3000] for k, v in by.items() if 0 < k <= 10}
        ok = all(v > 10 * k for k, v in small.items())
        t.add("small kappa (<= 10): the gap does not close at 3,000 samples",
              f"kappa-hat {min(small.values()):.1f} to {max(small.values()):.1f}", "gap remains",
              "5 runs per row; gap: kappa-hat > 10 kappa", AGREE if ok else DISAGREE)
    else:
        t.add("all claims", "-", "Figure 8", "-", NC_NORUN)
    out.append(t)

    # Figures 2(a), 3, 5-6: the claims summarize.py measured.
    t = Table("Figures 2(a), 3, 5, 6: GNS against batch size, angles, kappa-hat over training",
              "make reproduce-vmf-figures", "fnn and fnn-bn on MNIST, as the paper",
              "the paper's statements; 'angle sd -> 1' within 0.1",
              figures=["vmf/fig2a-gns.png", "vmf/fig3-angles.png", "vmf/fig56-fnn-kappa.png", "vmf/fig56-fnn-bn-kappa.png"])
    runs = [f for f in sorted(os.listdir(path("vmf"))) if f.startswith("fig56-fnn-seed")] if os.path.isdir(path("vmf")) else []
    k = read("vmf", runs[0]) if runs else []
    epochs = max((int(r["step"]) for r in k), default=0) // 938
    n = int(k[0]["n"]) if k else 0
    full = epochs >= 100 and n >= 3000
    size = (f"{'full' if full else 'CPU'} size: {epochs} epochs (the paper 100), {len(runs)} seeds, "
            f"{n:,} gradients per checkpoint (the paper 3,000)")
    for r in read("vmf", "summary.csv") or []:
        q, p, o = r["quantity"], r["paper"], r["ours"]
        if q in ("GNS monotone decreasing in batch size", "kappa-hat decreases monotonically"):
            v = AGREE if o == p.split()[0] else DISAGREE
        elif q == "angle sd / null sd at initialisation":
            v = AGREE if float(o) < 1 else DISAGREE
        elif q == "angle sd / null sd after training":
            v = AGREE if abs(float(o) - 1) <= 0.1 else DISAGREE
        elif q == "final training accuracy":
            v = NC_SIZE if not full else (AGREE if float(o) > 0.999 else DISAGREE)
        else:
            v = NC_NONUM
        t.add(f"Fig. {r['figure']}: {q}", o, p or "-", size, v)
    if not t.rows:
        t.add("all claims", "-", "-", "-", NC_NORUN)
    out.append(t)

    # Figure 7 and appendix G: SNR, normSNR, kappa-hat over training.
    t = Table("Figure 7 and appendix G: kappa-hat tracks SNR, normSNR does not (log-log correlations over training)",
              "make reproduce-vmf-snr (the study's CNNs); make reproduce-vmf-figures (fnn, fnn-bn)",
              "the study: CNN, CNN+BN, CNN+Res+BN on CIFAR-10; here fnn and fnn-bn on MNIST (the Figures 5-6 runs), "
              "and the CNNs on Fashion-MNIST or CIFAR-10 once `make reproduce-vmf-snr` has run",
              "the claim holds when corr(log SNR, log kappa-hat) >= 0.9 and exceeds corr(log SNR, log normSNR)",
              figures=[f"vmf/fig7-{m}-{k}.png" for m in ("fnn-seed1", "fnn-bn-seed1", "cnn", "cnn-bn", "cnn-res-bn")
                       for k in ("curves", "scatter")])
    for fname in ("fig7-summary.csv", "fig7-summary-fnn.csv"):
        for r in read("vmf", fname) or []:
            holds = r["claim_holds"] == "yes"
            same = r["dataset"] == "cifar10" and r["model"].startswith("cnn")
            t.add(f"{r['run']} on {r['dataset']}", f"corr(SNR, kappa-hat) {float(r['corr_snr_kappa']):.3f}, "
                  f"corr(SNR, normSNR) {float(r['corr_snr_normsnr']):.3f}: claim {'holds' if holds else 'fails'}",
                  "SNR and kappa-hat almost entirely correlated; normSNR less", f"{r['checkpoints']} checkpoints; {r['size']}",
                  (AGREE if holds else DISAGREE) if same else NC_DATA)
    if read("vmf", "fig7-summary.csv") is None:
        t.add("CNN, CNN+BN, CNN+Res+BN", "-", "Figure 7", "not run yet: about 15 minutes at the CPU size on 2 cores", NC_NORUN)
    out.append(t)


# --------------------------------------------------------------------------- walk ---------
def walk():
    out = study("walk", "\"A walk with SGD: how SGD explores regions of deep network loss?\"")
    paper = {int(r["epoch"]): int(r["barriers"]) for r in papers.load("walk", table=1, network="MLP") if r["barriers"]}
    t = Table("Table 1, MLP row: barriers crossed during one epoch", "make reproduce-walk-table1",
              "the walk MLP (784-512-512-10) on MNIST, as the paper", "the same count (exact)",
              figures=[f"walk-figure1-mlp-epoch{e}.png" for e in (1, 10, 25)])
    for name, where in (("walk-table1.csv", "2 CPU cores"), ("walk-table1-eval10000.csv", "2 CPU cores"),
                        ("walk-table1-full-gpu.csv", None)):
        for r in read(name) or []:
            e = int(r["epoch"])
            n = int(r["eval_examples"])
            size = ("full size" if n == 60000 else "CPU size") + f": loss on {n:,} images, {r['points']} points, seed {r['seed']}, " \
                + (where or r.get("device", ""))
            t.add(f"epoch {e} ({r['updates']} updates)", f"{r['barriers']} (nearest miss {float(r['max_interior_excess']):.1e} nats)",
                  str(paper[e]), size, AGREE if int(r["barriers"]) == paper[e] else DISAGREE)
    if not t.rows:
        t.add("epochs 1, 10, 25", "-", "0, 3, 5", "-", NC_NORUN)
    out.append(t)

    t = Table("Figure 4: barriers and their heights per epoch, first 40 epochs", "make reproduce-walk-figure4",
              "the walk MLP on MNIST (the paper's Figure 4: VGG-11 on CIFAR-10)",
              "the paper's statements: few barriers in any epoch (< 5% of its updates), heights small against the loss (< 1%)",
              figures=sorted(f for f in os.listdir(RES) if f.startswith("walk-figure4") and f.endswith(".png")))
    names = sorted(f for f in os.listdir(RES) if f.startswith("walk-figure4") and f.endswith(".csv"))
    for name in names:
        rows = read(name)
        most = max(int(r["barriers"]) / int(r["steps"]) for r in rows)
        hs = [(float(r["max_barrier_height"]) / float(r["mean_loss"])) for r in rows if r["max_barrier_height"]]
        margin = min(float(r["nearest_miss_margin_over_loss"]) for r in rows)
        full = rows[0]["train_examples"] == "60000" and rows[0]["eval_examples"] == "60000"
        size = (f"{'full' if full else 'CPU'} size: trained on {int(rows[0]['train_examples']):,} images "
                f"({rows[0]['steps']} updates an epoch), loss on {int(rows[0]['eval_examples']):,}, {len(rows)} epochs")
        t.add("barriers per epoch", f"{sum(int(r['barriers']) for r in rows)} in {len(rows)} epochs; at most "
              f"{100 * most:.2f}% of an epoch's updates", "a negligible number", size, NC_DATA)
        t.add("barrier height / loss", f"at most {max(hs):.2e}" if hs else
              f"no barrier; the highest interior point at least {margin:.1e} of the loss below the higher end",
              "substantially smaller than the loss", size, NC_DATA)
    if not names:
        t.add("barriers and heights", "-", "Figure 4", "-", NC_NORUN)
    out.append(t)

    t = Table("Figure 5: alignment g'Hg/|g|^2 of minibatch gradients against batch size", "make reproduce-walk-figures",
              "the walk MLP on 10,000 MNIST images (the paper: VGG-11 on CIFAR-10)", "the paper's statement: rises with batch size",
              figures=["walk-figure5-epoch5.png", "walk-figure5-epoch10.png"])
    rows = read("walk-figure5.csv") or []
    for e in sorted({int(r["epoch"]) for r in rows}):
        sel = sorted((int(r["batch_size"]), float(r["alignment_mean"])) for r in rows if int(r["epoch"]) == e)
        rises = all(a[1] < b[1] for a, b in zip(sel, sel[1:]))
        t.add(f"end of epoch {e}", " < ".join(f"{m:.2f} (B={b})" for b, m in sel) + f": {'rises' if rises else 'does not rise'}",
              "rises with batch size", "CPU size: 50 minibatches per batch size", NC_DATA)
    out.append(t)

    t = Table("Figure 7: cosine of consecutive minibatch gradients against batch size", "make reproduce-walk-figures",
              "the walk MLP on 10,000 MNIST images at lr 0.5 (the paper: ResNet-56 on CIFAR-10)",
              "the paper's statement: lower (more oscillation) for larger batches", figures=["walk-figure7.png"])
    cos = {}
    for r in read("walk-figure7.csv") or []:
        if r["cosine"]:
            cos.setdefault(int(r["batch_size"]), []).append(float(r["cosine"]))
    if cos:
        ms = [(b, statistics.mean(c)) for b, c in sorted(cos.items())]
        lower = all(a[1] > b[1] for a, b in zip(ms, ms[1:]))
        t.add("mean cosine over 200 updates", " > ".join(f"{m:.3f} (B={b})" for b, m in ms) +
              f": {'lower for larger batches' if lower else 'not monotone'}", "lower for larger batches",
              "CPU size: 200 updates from initialisation", NC_DATA)
    out.append(t)


# --------------------------------------------------------------------------- Gaussianity --
def gaussianity():
    out = study("Gaussianity", "Wu, Luo, Zhang, Wang, Yang, \"Revisiting the characteristics of stochastic "
                "gradient noise and dynamics\"")
    tol = "within max(3 paper sd, 2 percentage points)"
    for tables, fname, net, target, figs in (
            ((1, 2), "gaussianity.csv", "AlexNet", "make reproduce-gaussianity",
             ["gaussianity-paper-table1.png", "gaussianity-lenet-mnist-200.png", "gaussianity-lenet-mnist-600.png",
              "gaussianity-lenet-fashion-mnist-200.png", "gaussianity-lenet-fashion-mnist-600.png",
              "gaussianity-alexnet-cifar-synthetic-cifar-200.png"]),
            ((3, 4), ("resnet56/epoch-0/gaussianity.csv", "resnet56/epoch-1/gaussianity.csv"), "ResNet-56",
             "make reproduce-gaussianity-resnet",
             ["normality/resnet56/epoch-0/gaussianity-resnet56-fashion-mnist-200.png",
              "normality/resnet56/epoch-1/gaussianity-resnet56-fashion-mnist-200.png",
              "normality/resnet56/epoch-1/gaussianity-resnet56-fashion-mnist-600.png"]),
            ):
        t = Table(f"Tables {tables[0]}-{tables[1]}: Gaussian coordinates (%) per layer against batch size "
                  f"({net} on CIFAR-10, 200 and 600 minibatches)", target,
                  f"{net} on CIFAR-10 where its files exist; otherwise stand-ins, each row says which", tol,
                  figures=figs)
        files = [read("normality", f) for f in ((fname,) if isinstance(fname, str) else fname)]
        rows = None if all(f is None for f in files) else [r for f in files for r in f or []]
        for r in rows or []:
            if r["paper_pct"] in ("", None):
                continue
            p, psd, o = float(r["paper_pct"]), float(r["paper_sd"]), float(r["gaussian_pct"])
            same = r["dataset"] == "cifar10" and r["paper_note"].startswith("same layer")
            size = f"{'CPU' if int(r['repeats']) < 5 else 'full'} size: {r['repeats']} repeat(s), epoch {r['epoch']}; " \
                   f"{r['data_source']}"
            v = (AGREE if within(o, p, tol_abs=max(3 * psd, 2.0)) else DISAGREE) if same else NC_DATA
            pl = r["paper_layer"]
            t.add(f"{r['model']} {r['tensor']} (paper: {'layer ' + pl if pl.isdigit() else pl}), "
                  f"B = {r['batch_size']}, {r['minibatches']} minibatches",
                  f"{o:.2f}", f"{p:.2f} +- {psd:.2f}", size, v)
        if rows is None:
            t.add("all rows", "-", f"Tables {tables[0]}-{tables[1]}", "-", NC_NORUN)
        elif tables == (3, 4):
            # the paper's batch sizes the CPU size leaves out, one row per table
            ours = {(r["minibatches"], r["batch_size"]) for r in rows if r["paper_pct"] not in ("", None)}
            for tb in tables:
                pr = papers.load("gaussianity", table=tb)
                left = sorted({int(r["batch_size"]) for r in pr if (r["minibatches"], r["batch_size"]) not in ours})
                if left:
                    n = sum(1 for r in pr if int(r["batch_size"]) in left)
                    t.add(f"Table {tb}: B = {', '.join(map(str, left))}", "-", f"{n} values", "-", NC_COST)
        out.append(t)


# --------------------------------------------------------------------------- structure ----
def views_row(r):
    """Ours and the paper's cells of a structure-study views row (Tables 2 and 3), and the
    quantities outside Table 2's tolerances."""
    pairs = [("d_ks", float(r["ks_d_mean"]), float(r["paper_ks_d_mean"]), dict(tol_rel=0.25)),
             ("power-law %", float(r["power_law_rate_pct"]), float(r["paper_power_law_rate_pct"]), dict(tol_abs=5)),
             ("p", float(r["p_mean"]), float(r["paper_p_mean"]), dict(tol_abs=0.05)),
             ("Gaussian %", float(r["gaussian_rate_pct"]), float(r["paper_gaussian_rate_pct"]), dict(tol_abs=10))]
    off = [n for n, o, p, k in pairs if not within(o, p, **k)]
    return ("; ".join(f"{n} {fmt(o)}" for n, o, _, _ in pairs), "; ".join(f"{n} {fmt(p)}" for n, _, p, _ in pairs), off)


def structure():
    out = study("structure", "Xie, Tang, Sun, Li, \"On the overlooked structure of stochastic gradients\" (appendix C)")
    t = Table("Table 2: iteration-wise against dimension-wise gradients, LeNet on MNIST at a random initialisation",
              "make reproduce-structure-table2", "LeNet on MNIST, as the paper",
              "mean d_ks within 25%; power-law rate within 5 points; mean p-value within 0.05; Gaussian rate within 10 points",
              figures=[f"structure/table2-{v}{tag}.png" for tag in ("", "-full") for v in ("iteration", "dimension")])
    rows = read_sizes("structure", "table2.csv")
    for r in rows or []:
        T = int(r["gradients"])
        ours, paper, off = views_row(r)
        t.add(f"{r['type']}-wise, B = {r['batch_size']}", ours, paper,
              f"{'CPU size' if T < 5000 else 'full size'}: T = {T:,} gradients",
              AGREE if not off else f"{DISAGREE} ({', '.join(off)})")
    if rows is None:
        t.add("all rows", "-", "Table 2", "-", NC_NORUN)
    out.append(t)

    def paper_label(r):
        return f"{r['model']} {r['training'].lower()}" + (f" {r['setting']}" if r["setting"] else "")

    def paper_cell(r):
        return f"d_ks {r['d_ks']}, {r['power_law']}, s-hat {r['s_hat'] or '-'}"

    def spectra(title, table, target, fname, key, data, figures, paper_rows):
        t = Table(title, target, data, "power law Yes/No the same; d_ks within 0.01; s-hat within 20%", figures=figures)
        rows = read_sizes("structure", fname)
        for r in rows or []:
            pk, ppl, ps = r["paper_ks_d"], r["paper_power_law"], r["paper_s_hat"]
            ours = "-" if r.get("note", "").startswith(("not measured", "no result yet")) else \
                f"d_ks {fmt(num(r['ks_d']))}, {r['power_law']}, s-hat {fmt(num(r['s_hat']))}"
            paper = f"d_ks {pk or '-'}, {ppl or '-'}, s-hat {ps or '-'}"
            T = int(r["gradients"])
            size = f"{'CPU size' if T < 5000 else 'full size'}: T = {T:,} gradients" + \
                (f", pretrained {r['pretrain_epochs']} epochs" if "pretrain" in r[key] else "") + \
                (f"; {r['data']}" if r.get("data") else "")
            if r.get("note", "").startswith("not measured"):
                v, size = NC_MODEL, r["note"]
            elif r.get("note", "").startswith("no result yet"):
                v, size = NC_NORUN, r["note"]
            elif not ppl:
                v = NC_NONUM
            elif r.get("data") and "stand-in" in r["data"]:
                v = NC_DATA
            else:
                off = []
                if r["power_law"] != ppl:
                    off.append("power law")
                if num(r["ks_d"]) is not None and not within(float(r["ks_d"]), float(pk), tol_abs=0.01):
                    off.append("d_ks")
                if ps and num(r["s_hat"]) is not None and not within(float(r["s_hat"]), float(ps), tol_rel=0.2):
                    off.append("s-hat")
                v = AGREE if not off else f"{DISAGREE} ({', '.join(off)})"
            t.add(r[key], ours, paper, size, v)
        if rows is None:
            for label, p in paper_rows:
                t.add(label, "-", p, "-", NC_MODEL if target == "-" else NC_NORUN)
        out.append(t)

    spectra("Table 1: covariance eigengaps of LeNet and FCN, B = 1", 1, "make reproduce-structure-spectra", "table1.csv",
            "model_training", "LeNet and FCN on MNIST, as the paper",
            [f"structure-figure1-{m}-{pt}{tag}.png" for tag in ("", "-full") for m in ("lenet", "fcn")
             for pt in ("pretrain", "random")], ["all rows"])
    spectra("Table 4: second-moment spectra of LeNet on MNIST", 4, "make reproduce-structure-spectra", "table4.csv",
            "training_batch", "LeNet on MNIST, as the paper", ["structure-spectra-lenet-pretrain.png",
                                                                 "structure-spectra-lenet-pretrain-full.png"], [("all rows", "Table 4")])
    spectra("Table 5: covariance spectra of LeNet on MNIST", 5, "make reproduce-structure-spectra", "table5.csv",
            "training_batch", "LeNet on MNIST, as the paper", ["structure-spectra-lenet-random.png",
                                                                 "structure-spectra-lenet-random-full.png"], [("all rows", "Table 5")])
    spectra("Table 6: second-moment spectra of FCN on MNIST, B = 10", 6, "make reproduce-structure-fcn", "table6.csv",
            "row", "MNIST, as the paper: FCNs with two hidden layers of 70, 30 and 10 units and with one of 70 "
            "(ReLU, BatchNorm), pretrained and at a random initialisation",
            [], [(paper_label(r), paper_cell(r)) for r in papers.load("structure", table=6)])
    spectra("Table 7: second-moment spectra of the 4-layer linear network (LNN) on MNIST, B = 10", 7,
            "make reproduce-structure-lnn", "table7.csv", "row",
            "MNIST, as the paper; the LNN (plain, BatchNorm, ReLU) as four hidden layers of 70 (the paper gives no width: "
            "its FCNs' default), pretrained",
            [], [(paper_label(r), paper_cell(r)) for r in papers.load("structure", table=7)])

    t = Table("Table 3: ResNet-18, B = 100, dimension- against iteration-wise", "make reproduce-structure-table3",
              "CIFAR-10 when present, else Fashion-MNIST standing in (one channel, 28x28); the paper's CIFAR-100 "
              "rows have no counterpart here",
              "as Table 2 (on CIFAR-10 only)", figures=[])
    rows = read("structure", "table3.csv")
    for r in rows or []:
        ours, paper, off = views_row(r)
        size = f"T = {int(r['gradients']):,} gradients (the paper's)" + \
            (f"; pretrained {r['pretraining']}" if r["training"] == "pretrain" else "") + f"; {r['dataset']}"
        v = NC_DATA if r["dataset"] != "cifar10" else AGREE if not off else f"{DISAGREE} ({', '.join(off)})"
        t.add(f"{r['training']} {r['type']}-wise (beside the paper's CIFAR-10 row)", ours, paper, size, v)
    for r in papers.load("structure", table=3):
        if rows is None or r["dataset"] != "CIFAR-10":
            t.add(f"{r['training'].lower()} {r['view'].lower()}-wise ({r['dataset']})", "-",
                  f"d_ks {r['d_ks']}; power-law % {r['power_law_rate_pct']}; p {r['p_mean']}; "
                  f"Gaussian % {r['gaussian_rate_pct']}", "-", NC_NORUN if rows is None else NC_DATA)
    out.append(t)


def cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def render():
    lines = ["# What gradscope reproduces of the four studies", "",
             "Generated by `make report` (scripts/report/report.py) from the committed result tables in",
             "`results/` and the papers' values in `scripts/papers/`; do not edit by hand. Each row",
             "sets ours beside the paper's with the data and size used and a verdict computed from the",
             "numbers with the tolerance stated for its table. *CPU size*: the make target's default, sized",
             "for a 2-core CPU; *full size*: the paper's (`FULL=1`). Each study's outcome in words is in",
             "`results/<study>/README.md`.", ""]
    counts = []
    for name, _, tables in STUDIES:
        c = {"agrees": 0, "disagrees": 0, "not comparable": 0}
        for t in tables:
            for r in t.rows:
                c[r["verdict"].split(" (")[0].split(":")[0]] += 1
        counts.append((name, c))
    lines += ["## Summary", "", "| study | rows | agree | disagree | not comparable |", "|---|---|---|---|---|"]
    tot = {"agrees": 0, "disagrees": 0, "not comparable": 0}
    for name, c in counts:
        lines.append(f"| {name} | {sum(c.values())} | {c['agrees']} | {c['disagrees']} | {c['not comparable']} |")
        for k in tot:
            tot[k] += c[k]
    lines.append(f"| **all** | **{sum(tot.values())}** | **{tot['agrees']}** | **{tot['disagrees']}** | "
                 f"**{tot['not comparable']}** |")
    reasons = {}
    for _, _, tables in STUDIES:
        for t in tables:
            for r in t.rows:
                if r["verdict"].startswith("not comparable"):
                    reasons[r["verdict"]] = reasons.get(r["verdict"], 0) + 1
    lines += ["", "Not comparable, by reason: " + "; ".join(f"{k.split(': ')[1]} {v}" for k, v in sorted(reasons.items())) + ".", ""]
    for name, ref, tables in STUDIES:
        lines += [f"## The {name} study", "", ref, ""]
        for t in tables:
            lines += [f"### {t.title}", "", f"Target: `{t.target}`. Data: {t.data}. Tolerance: {t.tolerance}.", ""]
            lines += ["| row | ours | paper | size | verdict |", "|---|---|---|---|---|"]
            for r in t.rows:
                lines.append(f"| {cell(r['row'])} | {cell(r['ours'])} | {cell(r['paper'])} | {cell(r['size'])} | {cell(r['verdict'])} |")
            if t.figures:
                lines += ["", "Figures: " + ", ".join(f"[{f}]({f})" for f in t.figures) + "."]
            lines.append("")
    return "\n".join(lines)


def main():
    vmf()
    walk()
    gaussianity()
    structure()
    text = render()
    tmp = path("REPORT.md.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path("REPORT.md"))
    n = sum(len(t.rows) for _, _, ts in STUDIES for t in ts)
    print(f"wrote results/REPORT.md ({n} rows)", file=sys.stderr)


if __name__ == "__main__":
    main()
