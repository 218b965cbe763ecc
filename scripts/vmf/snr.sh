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
# TRAIN_SIZE = 5,000 training images (the rest held out) for EPOCHS = 5, a checkpoint
# every epoch, and SAMPLES = 100 minibatch gradients (batch 64) at each of the 6
# checkpoints. VMF_FULL=1: the whole training set, 100 epochs (checkpoints at 0, 1, 2, 4,
# ..., 64, 100) and 3,000 gradients (DEVICE=cuda on a GPU).
#
# Writes results/vmf/fig7-MODEL.csv (vmf-kappa's table), results/vmf/fig7-summary.csv
# (the correlations beside the claim), results/vmf/fig7-MODEL-curves.png and
# results/vmf/fig7-MODEL-scatter.png. `make reproduce-vmf-figures` draws the same figure
# from its fnn and fnn-bn runs on MNIST (results/vmf/fig7-summary-fnn.csv).
#
# Cost, measured on 2 cores busy with other work: one cnn minibatch gradient (B = 64,
# Fashion-MNIST) took 0.6 s on one core, 11 times fnn's, and one epoch of `train` at the
# default size 143 s (79 steps, and the validation pass over the 55,000 held-out images
# that `train` makes after every epoch). So the default size is about 12 minutes of
# training and 600 gradients a network, an hour for the three on such a machine; it was
# not run to the end here. In its first two epochs at lr 0.01 the plain cnn stayed at
# chance (training loss 2.3026), so at this size its curves would be flat: the study's
# 100 epochs, or CIFAR-10 on a GPU (VMF_FULL=1 DEVICE=cuda), are where Figure 7 lives.
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
    TRAIN_SIZE="${TRAIN_SIZE:-5000}"; EPOCHS="${EPOCHS:-5}"; CKPTS="${CKPTS:-0,1,2,3,4,5}"
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
: >"$OUT/fig7-seconds.csv"
for model in $MODELS; do
    start=$SECONDS
    run="$RUNS/$model-$DATASET"
    "$BIN/train" --model "$model" --dataset "$DATASET" "${val[@]}" --batch-size 64 --lr 0.01 \
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
