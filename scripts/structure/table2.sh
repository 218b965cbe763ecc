#!/usr/bin/env bash
# `make reproduce-structure-table2`: the structure study's Table 2 (Xie, Tang, Sun, Li, "On
# the overlooked structure of stochastic gradients", appendix C): LeNet on MNIST at a random
# initialisation, batch sizes B = 1, 3, 10, 30, 100, 300, 1,000; for T minibatch gradients
# at that one parameter point (the Gradient History Matrix), the iteration-wise and the
# dimension-wise views side by side:
#   Gaussian half (normtest --mode dimension --test dagostino: scipy's normaltest, the
#     study's "chi-square normal test", K = 100 points per set): the mean p-value and the
#     Gaussian rate (share of sets with p > 0.05) of every coordinate over 100 random
#     gradients (iteration-wise) and of every gradient over 100 random coordinates
#     (dimension-wise);
#   power-law half (powerlaw-fit --views dimension,iteration): the top-1,000 power-law fit
#     (d_c = 1.36/sqrt(1000) = 0.0430) of every gradient's 61,706 elements and of every
#     coordinate's T values; the mean d_ks and the power-law rate (share with d_ks < d_c).
# The tested values of the power-law half are the magnitudes |g| (a power law lives on
# x > 0; the study fed its gradients to the powerlaw package, which drops values <= 0, and
# does not say whether it removed the mean: VIEWS_CENTRED=1 tests the noise |g - g_bar|).
# With |g|, coordinates with fewer than 1,000 nonzero values (dead ReLU units, the exact
# zeros of ReLU networks at small B) cannot be fitted and are counted as skipped. Which
# reading matters: at B = 1, T = 2,500 the iteration-wise power-law rate is 0.16% with |g|
# (the paper: 0.067%) and 11.4% with |g - g_bar|; the dimension-wise rate is ~74% either way.
#
# Preprocessing as the study's appendix A.3 (per-pixel standardisation); initialisation seed
# INIT_SEED (default 1). Sizes: T = 2,000 gradients per batch size on a CPU (the
# iteration-wise top-1,000 fit then keeps the largest half of each coordinate's values; about
# 2.9 million examples through LeNet, ~20 minutes on 2 busy cores); FULL=1: T = 5,000, the
# study's (7.2 million examples; DEVICE=cuda on a GPU).
#
# Writes results/structure/table2.csv (ours beside the paper's) and prints it.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
OUT="${OUT:-results/structure}"
WORK="${WORK:-runs/structure}"
INIT_SEED="${INIT_SEED:-1}"
BATCHES="${BATCHES:-1 3 10 30 100 300 1000}"
if [ "${FULL:-0}" = 1 ]; then T="${T:-5000}"; else T="${T:-2000}"; fi
raw_flag=(--views-raw); [ "${VIEWS_CENTRED:-0}" = 1 ] && raw_flag=()
mkdir -p "$OUT/raw" "$WORK"
: >"$OUT/raw/table2-seconds.csv"

for b in $BATCHES; do
    start=$SECONDS
    g="$WORK/table2-grads-b$b.parquet"
    "$BIN/dump-grads" --model lenet --dataset mnist --standardize --init-seed "$INIT_SEED" \
        -b "$b" -n "$T" --seed 1 --device "$DEVICE" --threads "$THREADS" -o "$g" 2>&1 | tail -1
    "$BIN/normtest" -i "$g" --mode dimension --test dagostino --dim-coords 100 --iter-samples 100 \
        --seed 1 --threads "$THREADS" -o "$OUT/raw/table2-normtest-b$b.csv" >/dev/null 2>&1
    "$BIN/powerlaw-fit" -i "$g" --views dimension,iteration --top-k 1000 "${raw_flag[@]}" \
        --threads "$THREADS" -o "$OUT/raw/table2-views-b$b.csv" 2>/dev/null
    rm -f "$g"
    echo "$b,$((SECONDS - start))" >>"$OUT/raw/table2-seconds.csv"
    echo "  B = $b: $((SECONDS - start)) s" >&2
done

"$PY" - "$OUT" "$T" "$BATCHES" "${#raw_flag[@]}" <<'PYEOF'
import csv, sys
import duckdb
out, T, batches = sys.argv[1], int(sys.argv[2]), [int(b) for b in sys.argv[3].split()]
values = "|g|" if sys.argv[4] == "1" else "|g - g_bar|"
# Table 2 of the study: (d_ks bar, power-law rate %, p-value bar, Gaussian rate %).
paper = {
    "iteration": {1: (0.428, 0.067, 0.047, 12.6), 3: (0.385, 0.17, 0.089, 21.5), 10: (0.267, 0.25, 0.173, 28.5),
                  30: (0.249, 0.16, 0.240, 50.9), 100: (0.191, 0.079, 0.321, 65.1),
                  300: (0.119, 0.033, 0.382, 74.5), 1000: (0.120, 0.041, 0.388, 75.5)},
    "dimension": {1: (0.0306, 90.6, 4.51e-5, 0.0), 3: (0.0358, 74.5, 9.07e-5, 0.02), 10: (0.0392, 65.3, 1.78e-4, 0.0),
                  30: (0.0379, 68.9, 2.29e-4, 0.14), 100: (0.0355, 76.6, 4.11e-4, 0.18),
                  300: (0.0269, 97.5, 1.21e-3, 0.48), 1000: (0.0309, 90.6, 1.43e-4, 0.0)},
}
rows = []
for b in batches:
    nt = {w: (p, g, n) for w, p, g, n in duckdb.sql(f"""
        SELECT wise, mean_p, gaussian_pct, sets_tested FROM read_csv('{out}/raw/table2-normtest-b{b}.csv')
        WHERE tensor = 'all' AND test = 'dagostino'""").fetchall()}
    pl = {v: (ks, rate, t, s, c) for v, ks, rate, t, s, c in duckdb.sql(f"""
        SELECT view, mean_ks_d, power_law_rate, sets_tested, sets_skipped, ks_crit
        FROM read_csv('{out}/raw/table2-views-b{b}.csv')""").fetchall()}
    for view in ("iteration", "dimension"):
        pk, pr, pp, pg = paper[view][b]
        ks, rate, tested, skipped, dc = pl[view]
        mp, gp, ntested = nt[view]
        rows.append(dict(type=view, training="random", batch_size=b, gradients=T, powerlaw_values=values,
                         ks_d_mean=ks, ks_crit=dc, power_law_rate_pct=100 * rate,
                         powerlaw_sets_tested=tested, powerlaw_sets_skipped=skipped,
                         p_mean=mp, gaussian_rate_pct=gp, normtest_sets=ntested,
                         paper_ks_d_mean=pk, paper_power_law_rate_pct=pr, paper_p_mean=pp,
                         paper_gaussian_rate_pct=pg))
rows.sort(key=lambda r: (r["type"] != "iteration", r["batch_size"]))
with open(f"{out}/table2.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
print(f"\nstructure study, Table 2: LeNet on MNIST at a random initialisation, {T} gradients per batch size")
print(f"(ours | paper; power law: top-1000 fits of {values}, d_c = 0.0430; Gaussian: K^2 on 100 points, p > 0.05)")
print(f"{'type':<10}{'B':>6}  {'mean d_ks':>17}  {'power-law rate %':>19}  {'mean p-value':>21}  {'Gaussian rate %':>17}")
for r in rows:
    print(f"{r['type']:<10}{r['batch_size']:>6}  {r['ks_d_mean']:>8.4f} | {r['paper_ks_d_mean']:<6}"
          f"  {r['power_law_rate_pct']:>8.2f} | {r['paper_power_law_rate_pct']:<8}"
          f"  {r['p_mean']:>10.3g} | {r['paper_p_mean']:<8.3g}  {r['gaussian_rate_pct']:>7.2f} | {r['paper_gaussian_rate_pct']:<7}")
print(f"wrote {out}/table2.csv")
PYEOF

# The figure: Gaussian and power-law rates against B, ours solid, the paper's dashed.
for view in iteration dimension; do
    "$BIN/plot" "$OUT/table2.csv" --where "type=$view" -x batch_size \
        -y gaussian_rate_pct,paper_gaussian_rate_pct,power_law_rate_pct,paper_power_law_rate_pct \
        --dashed paper_gaussian_rate_pct,paper_power_law_rate_pct --log-x \
        --title "Structure study, Table 2, $view-wise: LeNet on MNIST at initialisation ($T gradients; dashed: the paper)" \
        --x-label "batch size B" --y-label "rate (%)" -o "$OUT/table2-$view.png"
done
