#!/usr/bin/env bash
# `make reproduce-vmf-snr`: the vMF study's Figure 7 and its appendix G: over training,
# the SNR of minibatch gradients (1/GS), their norm SNR (1/GNS) and kappa-hat, normalised
# by their maxima, and the log-log scatter of kappa-hat and normSNR against SNR, for the
# study's CNN, CNN+BN and CNN+Res+BN (our cnn, cnn-bn, cnn-res-bn). The study's claim:
# SNR and kappa-hat are almost entirely correlated, normSNR less so.
#
# Which data. The study trained on CIFAR-10; its files are used when present (data/raw or
# the mirror). Otherwise Fashion-MNIST (real images, 1x28x28: a stand-in, said so in every
# table and figure).
#
# Sizes. CPU default: each network trained with SGD (lr 0.01, batch 64, as the study) on
# TRAIN_SIZE = 5,000 training images (the rest held out) for EPOCHS = 20 (1,580 steps),
# checkpoints at epochs 0, 1, 2, 4, 6, 8, 12, 16, 20, and SAMPLES = 100 minibatch
# gradients (batch 64) at each of the 9 checkpoints. VMF_FULL=1: the whole training set,
# 100 epochs (checkpoints at 0, 1, 2, 4, ..., 64, 100) and 3,000 gradients (DEVICE=cuda
# on a GPU).
#
# Writes results/vmf/fig7-MODEL.csv (vmf-kappa's table), results/vmf/fig7-summary.csv
# (the correlations beside the claim), results/vmf/fig7-MODEL-curves.png and
# results/vmf/fig7-MODEL-scatter.png. `make reproduce-vmf-figures` draws the same figure
# from its fnn and fnn-bn runs on MNIST (results/vmf/fig7-summary-fnn.csv).
#
# Cost here (2 cores, release binaries, Fashion-MNIST): 279 s for cnn, 304 s for cnn-bn,
# 302 s for cnn-res-bn (about 215-227 s of training each, the rest 900 gradients and
# vmf-kappa), 15 minutes for the three. At lr 0.01 the plain cnn stays at chance for all
# 20 epochs (training accuracy 4.5%, loss 2.30: it does not leave its starting point); the
# BatchNorm networks reach 94% training and 84-85% validation accuracy.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
OUT=results/vmf
RUNS=runs/vmf-snr
MODELS="${MODELS:-cnn cnn-bn cnn-res-bn}"
mkdir -p "$OUT" "$RUNS"
if [ "${VMF_FULL:-0}" = 1 ]; then
    TRAIN_SIZE=0; EPOCHS=100; CKPTS=0,1,2,4,8,16,32,64,100; SAMPLES=3000
else
    TRAIN_SIZE="${TRAIN_SIZE:-5000}"; EPOCHS="${EPOCHS:-20}"; CKPTS="${CKPTS:-0,1,2,4,6,8,12,16,20}"
    SAMPLES="${SAMPLES:-100}"
fi
if [ -z "${DATASET:-}" ]; then
    if "$BIN/dump-grads" --model cnn --dataset cifar10 --init-seed 0 -b 2 -n 1 -o "$RUNS/probe.parquet" >/dev/null 2>&1; then
        DATASET=cifar10
    else
        DATASET=fashion-mnist
        echo "CIFAR-10 not found: the networks train on Fashion-MNIST (a stand-in for the study's CIFAR-10)" >&2
    fi
    rm -f "$RUNS/probe.parquet"
fi
total=50000; [ "$DATASET" = cifar10 ] || total=60000
val=(); [ "$TRAIN_SIZE" = 0 ] || val=(--val-size $((total - TRAIN_SIZE)))
# Figure 7 uses no validation metric: at the CPU size each epoch's validation pass covers
# the first 1,000 held-out images only, not all 55,000 (most of an epoch's time otherwise).
eval_samples=(); [ "$TRAIN_SIZE" = 0 ] || eval_samples=(--eval-samples 1000)
: >"$OUT/fig7-seconds.csv"
for model in $MODELS; do
    start=$SECONDS
    run="$RUNS/$model-$DATASET"
    "$BIN/train" --model "$model" --dataset "$DATASET" "${val[@]}" "${eval_samples[@]}" --batch-size 64 --lr 0.01 \
        --epochs "$EPOCHS" --checkpoint-epochs "$CKPTS" --seed 1 --device "$DEVICE" --threads "$THREADS" \
        --fresh -o "$run" 2>&1 | tail -1
    ckpts=()
    for e in ${CKPTS//,/ }; do ckpts+=("$run/ckpt/epoch-$(printf %03d "$e").safetensors"); done
    "$BIN/dump-grads" --checkpoint "${ckpts[@]}" -b 64 -n "$SAMPLES" --seed 7 --device "$DEVICE" \
        --threads "$THREADS" -o - 2>/dev/null \
        | "$BIN/vmf-kappa" -i - -o "$OUT/fig7-$model.csv" --null-reps 0 >/dev/null 2>&1
    echo "$model,$DATASET,$((SECONDS - start))" >>"$OUT/fig7-seconds.csv"
    echo "  $model on $DATASET: $((SECONDS - start)) s" >&2
done
size="$([ "$TRAIN_SIZE" = 0 ] && echo "full training set" || echo "$TRAIN_SIZE training images"), $EPOCHS epochs, $SAMPLES gradients per checkpoint"
steps=$(( ($([ "$TRAIN_SIZE" = 0 ] && echo "$total" || echo "$TRAIN_SIZE") + 63) / 64 ))
runs=(); for model in $MODELS; do runs+=("$model=$OUT/fig7-$model.csv"); done
"$PY" scripts/vmf/snr_summary.py "$OUT" "$OUT/fig7-summary.csv" "$DATASET" "$size" "$steps" "${runs[@]}"
for model in $MODELS; do
    bash scripts/vmf/snr_plots.sh "$BIN" "$OUT" "$model" "$model on $DATASET ($size)"
done
