#!/usr/bin/env bash
# `make reproduce-structure-spectra`: the structure study's spectra (Xie, Tang, Sun, Li, "On
# the overlooked structure of stochastic gradients", appendix C):
#   Table 1 / Figure 1  KS statistics of the covariance *eigengaps* of lenet and fcn on MNIST,
#                       pretrained and at a random initialisation, T gradients at batch size 1
#                       (the paper: power law in all four, d_ks ~0.02 below d_c = 0.043);
#   Tables 4 and 5      second-moment and covariance spectra of lenet on MNIST for batch sizes
#                       1 .. 10,000 (power law: yes, s-hat ~1.3) and 60,000 (second moment
#                       only: no).
# Each fit is powerlaw-fit's top-1,000 rule (d_c = 1.36/sqrt(1000) = 0.0430), through the
# T x T Gram matrix of the T gradients (never d x d). s_hat = 1/(alpha - 1) is the exponent
# of the rank plot, lambda_k ~ k^-s, which we read as the study's s-hat (alpha, the density
# exponent, is in the CSVs too).
#
# Pretraining follows appendix A.3: per-pixel standardisation, SGD lr 0.1 divided by 10 at
# 40% and 80% of the epochs, batch 128, weight decay 5e-4, 50 epochs (PRE_EPOCHS; lenet
# takes about 9 s an epoch on 2 cores, so the CPU size pretrains as the paper does). fcn has BatchNorm, which cannot normalise a batch of one: its
# gradients use the running statistics (dump-grads --bn-eval). B = 60,000 is the whole
# training set, so every minibatch gradient is the full-batch gradient g and the second
# moment is g g^T, of rank 1: we take that one gradient (dump-grads --full-batch) and report
# its spectrum (no power law can be fitted to one eigenvalue; the paper: "No").
#
# Sizes. CPU default: T = 2,500 gradients per point (the study: 5,000; the top-1,000 fit then
# covers the largest 40% of the spectrum), batch sizes 1, 10, 100 for Tables 4-5: about
# 20 minutes on 2 cores (pretraining ~10, each Gram spectrum ~30 s). FULL=1: T = 5,000,
# batch sizes 1 .. 10,000 (the 10,000 row alone is 50 million examples: DEVICE=cuda on a
# GPU).
#
# Writes results/structure/table1.csv, table4.csv, table5.csv (ours beside the paper's),
# results/structure-figure1-*.png and results/structure-spectra-*.png.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
OUT="${OUT:-results/structure}"
WORK="${WORK:-runs/structure}"
FIG="${FIG:-results}"
INIT_SEED="${INIT_SEED:-1}"
if [ "${FULL:-0}" = 1 ]; then
    T="${T:-5000}"; PRE_EPOCHS="${PRE_EPOCHS:-50}"; SPEC_BS="${SPEC_BS:-1 10 100 1000 10000}"
else
    T="${T:-2500}"; PRE_EPOCHS="${PRE_EPOCHS:-50}"; SPEC_BS="${SPEC_BS:-1 10 100}"
fi
FULL_BATCH="${FULL_BATCH:-1}"
mkdir -p "$OUT/raw" "$WORK" "$FIG"
common=(--device "$DEVICE" --threads "$THREADS")
fit=(--threads "$THREADS" --block-mb 4096)
: >"$OUT/raw/spectra-seconds.csv"

for m in lenet fcn; do
    ck="$WORK/pretrain-$m/ckpt/epoch-$(printf %03d "$PRE_EPOCHS").safetensors"
    if [ ! -f "$ck" ]; then
        start=$SECONDS
        "$BIN/train" --model "$m" --dataset mnist --standardize -b 128 --optimizer sgd --lr 0.1 \
            --lr-decay-at 0.4,0.8 --lr-decay 0.1 --weight-decay 5e-4 --epochs "$PRE_EPOCHS" \
            --checkpoint-epochs "$PRE_EPOCHS" --seed 0 --fresh -o "$WORK/pretrain-$m" "${common[@]}" 2>&1 | tail -1
        echo "pretrain,$m,,$((SECONDS - start))" >>"$OUT/raw/spectra-seconds.csv"
    fi
done

for point in pretrain random; do
    for m in lenet fcn; do
        if [ "$point" = pretrain ]; then
            at=(--checkpoint "$WORK/pretrain-$m/ckpt/epoch-$(printf %03d "$PRE_EPOCHS").safetensors")
        else
            at=(--model "$m" --dataset mnist --standardize --init-seed "$INIT_SEED")
        fi
        bn=(); [ "$m" = fcn ] && bn=(--bn-eval)
        bss=1; [ "$m" = lenet ] && bss=$SPEC_BS
        for b in $bss; do
            start=$SECONDS
            g="$WORK/spectra-grads.parquet"
            "$BIN/dump-grads" "${at[@]}" "${bn[@]}" -b "$b" -n "$T" --seed 1 "${common[@]}" -o "$g" 2>&1 | tail -1
            gaps=(); plot=()
            if [ "$b" = 1 ]; then
                gaps=(--eigengaps)
                plot=(--plot "$FIG/structure-figure1-$m-$point.png")
            fi
            "$BIN/powerlaw-fit" -i "$g" --spectrum covariance "${gaps[@]}" "${plot[@]}" "${fit[@]}" \
                -o "$OUT/raw/cov-$m-$point-b$b.csv" --spectrum-output "$OUT/raw/eig-cov-$m-$point-b$b.csv" 2>/dev/null
            if [ "$m" = lenet ]; then
                "$BIN/powerlaw-fit" -i "$g" --spectrum second-moment "${fit[@]}" \
                    -o "$OUT/raw/sm-$m-$point-b$b.csv" 2>/dev/null
            fi
            rm -f "$g"
            echo "$point,$m,$b,$((SECONDS - start))" >>"$OUT/raw/spectra-seconds.csv"
            echo "  $m $point B = $b: $((SECONDS - start)) s" >&2
        done
    done
    if [ "$FULL_BATCH" = 1 ]; then
        # B = 60,000: every minibatch is the training set; its one gradient g.
        start=$SECONDS
        if [ "$point" = pretrain ]; then
            at=(--checkpoint "$WORK/pretrain-lenet/ckpt/epoch-$(printf %03d "$PRE_EPOCHS").safetensors")
        else
            at=(--model lenet --dataset mnist --standardize --init-seed "$INIT_SEED")
        fi
        g="$WORK/spectra-grads.parquet"
        "$BIN/dump-grads" "${at[@]}" --full-batch -n 1 "${common[@]}" -o "$g" 2>&1 | tail -1
        if ! "$BIN/powerlaw-fit" -i "$g" --spectrum second-moment "${fit[@]}" \
            -o "$OUT/raw/sm-lenet-$point-b60000.csv" --spectrum-output "$OUT/raw/eig-sm-lenet-$point-b60000.csv" \
            2>"$OUT/raw/sm-lenet-$point-b60000.err"; then
            rm -f "$OUT/raw/sm-lenet-$point-b60000.csv"
        fi
        rm -f "$g"
        echo "$point,lenet,60000,$((SECONDS - start))" >>"$OUT/raw/spectra-seconds.csv"
    fi
done

# Figures: the covariance spectra of lenet per batch size (rank plot, log-log).
for point in pretrain random; do
    inputs=()
    for b in $SPEC_BS; do inputs+=("$OUT/raw/eig-cov-lenet-$point-b$b.csv=batch $b"); done
    "$BIN/plot" "${inputs[@]}" --where scope=all -x rank -y eigenvalue --log-x --log-y \
        -o "$FIG/structure-spectra-lenet-$point.png" \
        --title "Tables 4-5: covariance spectra of $T lenet gradients on MNIST ($point)" \
        --x-label "rank k" --y-label "eigenvalue lambda_k"
done

"$PY" - "$OUT" "$T" "$PRE_EPOCHS" "$SPEC_BS" <<'PYEOF'
import csv, glob, os, sys
import duckdb
out, T, epochs, bss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(b) for b in sys.argv[4].split()]
yn = lambda v: "Yes" if v else "No"

def fit(path, series="eigenvalues"):
    if not os.path.exists(path):
        return None
    rows = duckdb.sql(f"""SELECT n, n_tail, ks_d, ks_crit, power_law, s_hat, alpha FROM read_csv('{path}')
                         WHERE scope = 'all' AND series = '{series}'""").fetchall()
    return rows[0] if rows else None

def write(name, rows):
    with open(f"{out}/{name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

def show(title, rows, key):
    print(f"\n{title}")
    print(f"  {key:<22}{'values':>7}{'k':>6}  {'d_ks':>16}  {'d_c':>7}  {'power law':>11}  {'s-hat':>14}  {'alpha':>7}")
    for r in rows:
        f = lambda v, d=4: "-" if v in (None, "") else f"{v:.{d}f}"
        print(f"  {r[key]:<22}{r['values'] or '-':>7}{r['k'] or '-':>6}  {f(r['ks_d']):>7} | {f(r['paper_ks_d']):<6}"
              f"  {f(r['ks_crit']):>7}  {r['power_law']:>4} | {r['paper_power_law']:<4}"
              f"  {f(r['s_hat'], 3):>6} | {f(r['paper_s_hat'], 3):<5}  {f(r['alpha'], 3):>7}")

def row(label, key, f, paper, extra=None):
    r = {key: label, "values": f and f[0], "k": f and f[1], "ks_d": f and f[2], "ks_crit": f and f[3],
         "power_law": yn(f[4]) if f else "No", "s_hat": f and f[5], "alpha": f and f[6],
         "paper_ks_d": paper[0], "paper_power_law": paper[1], "paper_s_hat": paper[2],
         "gradients": T, "pretrain_epochs": epochs, "note": extra or ""}
    return r

# Table 1: covariance eigengaps at B = 1.
p1 = {("lenet", "pretrain"): (0.0205, "Yes", 5.111), ("lenet", "random"): (0.0221, "Yes", 2.232),
      ("fcn", "pretrain"): (0.0219, "Yes", 1.668), ("fcn", "random"): (0.0231, "Yes", 1.668)}
t1 = [row(f"{m} {pt}", "model_training", fit(f"{out}/raw/cov-{m}-{pt}-b1.csv", "eigengaps"), p1[(m, pt)])
      for m in ("lenet", "fcn") for pt in ("pretrain", "random")]
write("table1", t1)
show(f"Table 1: covariance eigengaps, MNIST, {T} gradients at B = 1 (ours | paper; pretrained {epochs} epochs, the paper 50)",
     t1, "model_training")

# Tables 4 (second moment) and 5 (covariance) of lenet.
p4 = {"pretrain": {1: (0.0206, "Yes", 1.302), 10: (0.0244, "Yes", 1.313), 100: (0.0171, "Yes", 1.390),
                   1000: (0.0173, "Yes", 1.314), 10000: (0.0204, "Yes", 1.290), 60000: (0.106, "No", 0.206)},
      "random": {1: (0.0220, "Yes", 1.428), 10: (0.0223, "Yes", 1.334), 100: (0.0228, "Yes", 1.313),
                 1000: (0.0198, "Yes", 1.423), 10000: (0.0213, "Yes", 1.284), 60000: (0.203, "No", 0.271)}}
p5 = {"random": {1: (0.0226, "Yes", 1.425), 10: (0.0227, "Yes", 1.331), 100: (0.0230, "Yes", 1.311),
                 1000: (0.0200, "Yes", 1.423), 10000: (0.0287, "Yes", 1.320)},
      "pretrain": {1: (0.0206, "Yes", 1.299), 10: (0.0247, "Yes", 1.310), 100: (0.0171, "Yes", 1.386),
                   1000: (0.0174, "Yes", 1.312), 10000: (0.0223, "Yes", 1.331)}}
for name, prefix, paper, title in (("table4", "sm", p4, "Table 4: second-moment spectra"),
                                   ("table5", "cov", p5, "Table 5: covariance spectra")):
    rows = []
    for pt in ("pretrain", "random"):
        for b in bss + ([60000] if name == "table4" else []):
            path = f"{out}/raw/{prefix}-lenet-{pt}-b{b}.csv"
            note = ""
            if b == 60000:
                err = f"{out}/raw/sm-lenet-{pt}-b60000.err"
                eig = f"{out}/raw/eig-sm-lenet-{pt}-b60000.csv"
                if not os.path.exists(path) and os.path.exists(err):
                    msg = open(err).read().strip().splitlines()
                    note = "B = 60,000 is the whole training set: one gradient g, second moment g g^T of rank 1; " + \
                        (msg[-1] if msg else "no fit")
            r = row(f"{pt} B={b}", "training_batch", fit(path), paper[pt].get(b, (None, "", None)), note)
            r["batch_size"] = b
            rows.append(r)
    write(name, rows)
    show(f"{title} of lenet on MNIST, {T} gradients per batch size (ours | paper)", rows, "training_batch")
    for r in rows:
        if r["note"]:
            print(f"  note {r['training_batch']}: {r['note']}")
print(f"\nwrote {out}/table1.csv, {out}/table4.csv, {out}/table5.csv")
PYEOF
