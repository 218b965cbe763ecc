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
# results/structure-figure1-*.png and results/structure-spectra-*.png (at T = 5,000:
# table1-full.csv, ..., *-full.png).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"
FIG="${FIG:-results}"
if [ "${FULL:-0}" = 1 ]; then
    T="${T:-5000}"; PRE_EPOCHS="${PRE_EPOCHS:-50}"; SPEC_BS="${SPEC_BS:-1 10 100 1000 10000}"
else
    T="${T:-2500}"; PRE_EPOCHS="${PRE_EPOCHS:-50}"; SPEC_BS="${SPEC_BS:-1 10 100}"
fi
FULL_BATCH="${FULL_BATCH:-1}"
TAG=$(size_tag "$T")
mkdir -p "$FIG"
fit=(--threads "$THREADS" --block-mb 4096)
: >"$OUT/raw/spectra-seconds$TAG.csv"

for m in lenet fcn; do
    ck="$WORK/pretrain-$m/ckpt/epoch-$(printf %03d "$PRE_EPOCHS").safetensors"
    if [ ! -f "$ck" ]; then
        start=$SECONDS
        "$BIN/train" --model "$m" --dataset mnist --standardize -b 128 --optimizer sgd --lr 0.1 \
            --lr-decay-at 0.4,0.8 --lr-decay 0.1 --weight-decay 5e-4 --epochs "$PRE_EPOCHS" \
            --checkpoint-epochs "$PRE_EPOCHS" --seed 0 --fresh -o "$WORK/pretrain-$m" "${common[@]}" 2>&1 | tail -1
        echo "pretrain,$m,,$((SECONDS - start))" >>"$OUT/raw/spectra-seconds$TAG.csv"
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
                plot=(--plot "$FIG/structure-figure1-$m-$point$TAG.png")
            fi
            "$BIN/powerlaw-fit" -i "$g" --spectrum covariance "${gaps[@]}" "${plot[@]}" "${fit[@]}" \
                -o "$OUT/raw/cov-$m-$point-b$b$TAG.csv" --spectrum-output "$OUT/raw/eig-cov-$m-$point-b$b$TAG.csv" 2>/dev/null
            if [ "$m" = lenet ]; then
                "$BIN/powerlaw-fit" -i "$g" --spectrum second-moment "${fit[@]}" \
                    -o "$OUT/raw/sm-$m-$point-b$b$TAG.csv" 2>/dev/null
            fi
            rm -f "$g"
            echo "$point,$m,$b,$((SECONDS - start))" >>"$OUT/raw/spectra-seconds$TAG.csv"
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
            -o "$OUT/raw/sm-lenet-$point-b60000$TAG.csv" --spectrum-output "$OUT/raw/eig-sm-lenet-$point-b60000$TAG.csv" \
            2>"$OUT/raw/sm-lenet-$point-b60000$TAG.err"; then
            rm -f "$OUT/raw/sm-lenet-$point-b60000$TAG.csv"
        fi
        rm -f "$g"
        echo "$point,lenet,60000,$((SECONDS - start))" >>"$OUT/raw/spectra-seconds$TAG.csv"
    fi
done

# Figures: the covariance spectra of lenet per batch size (rank plot, log-log).
for point in pretrain random; do
    inputs=()
    for b in $SPEC_BS; do inputs+=("$OUT/raw/eig-cov-lenet-$point-b$b$TAG.csv=batch $b"); done
    "$BIN/plot" "${inputs[@]}" --where scope=all -x rank -y eigenvalue --log-x --log-y \
        -o "$FIG/structure-spectra-lenet-$point$TAG.png" \
        --title "Tables 4-5: covariance spectra of $T lenet gradients on MNIST ($point)" \
        --x-label "rank k" --y-label "eigenvalue lambda_k"
done

"$PY" scripts/structure/spectra_summary.py "$OUT" "$T" "$PRE_EPOCHS" "$SPEC_BS" "$TAG"
