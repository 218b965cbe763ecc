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
# Writes results/structure/table2.csv (FULL=1: table2-full.csv; ours beside the paper's)
# and prints it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"
BATCHES="${BATCHES:-1 3 10 30 100 300 1000}"
if [ "${FULL:-0}" = 1 ]; then T="${T:-5000}"; else T="${T:-2000}"; fi
TAG=$(size_tag "$T")
raw_flag=(--views-raw); [ "${VIEWS_CENTRED:-0}" = 1 ] && raw_flag=()
: >"$OUT/raw/table2-seconds$TAG.csv"

for b in $BATCHES; do
    start=$SECONDS
    g="$WORK/table2-grads-b$b.parquet"
    "$BIN/dump-grads" --model lenet --dataset mnist --standardize --init-seed "$INIT_SEED" \
        -b "$b" -n "$T" --seed 1 --device "$DEVICE" --threads "$THREADS" -o "$g" 2>&1 | tail -1
    "$BIN/normtest" -i "$g" --mode dimension --test dagostino --dim-coords 100 --iter-samples 100 \
        --seed 1 --threads "$THREADS" -o "$OUT/raw/table2-normtest-b$b$TAG.csv" >/dev/null 2>&1
    "$BIN/powerlaw-fit" -i "$g" --views dimension,iteration --top-k 1000 "${raw_flag[@]}" \
        --threads "$THREADS" -o "$OUT/raw/table2-views-b$b$TAG.csv" 2>/dev/null
    rm -f "$g"
    echo "$b,$((SECONDS - start))" >>"$OUT/raw/table2-seconds$TAG.csv"
    echo "  B = $b: $((SECONDS - start)) s" >&2
done

"$PY" scripts/structure/table2_summary.py "$OUT" "$T" "$BATCHES" "${#raw_flag[@]}" "$TAG"

# The figure: Gaussian and power-law rates against B, ours solid, the paper's dashed.
for view in iteration dimension; do
    "$BIN/plot" "$OUT/table2$TAG.csv" --where "type=$view" -x batch_size \
        -y gaussian_rate_pct,paper_gaussian_rate_pct,power_law_rate_pct,paper_power_law_rate_pct \
        --dashed paper_gaussian_rate_pct,paper_power_law_rate_pct --log-x \
        --title "Structure study, Table 2, $view-wise: LeNet on MNIST at initialisation ($T gradients; dashed: the paper)" \
        --x-label "batch size B" --y-label "rate (%)" -o "$OUT/table2-$view$TAG.png"
done
