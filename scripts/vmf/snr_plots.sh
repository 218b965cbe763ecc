#!/usr/bin/env bash
# The vMF study's Figure 7 for one run, from snr_summary.py's tables: SNR, normSNR, kappa-hat
# and the training loss over training (each divided by its maximum), and the log-log
# scatter of kappa-hat and normSNR against SNR.  Usage: snr_plots.sh BIN OUT NAME LABEL
set -euo pipefail
BIN=$1 OUT=$2 NAME=$3 LABEL=$4
"$BIN/plot" "$OUT/fig7-$NAME-curves.csv" -x epoch -y snr,norm_snr,kappa,train_loss --log-y \
    -o "$OUT/fig7-$NAME-curves.png" --x-label "epoch" --y-label "value / its maximum over training" \
    --title "Figure 7: $LABEL" >/dev/null 2>&1
"$BIN/plot" "$OUT/fig7-$NAME-scatter.csv" -x snr_raw -y kappa_raw,norm_snr_raw --log-x --log-y \
    -o "$OUT/fig7-$NAME-scatter.png" --x-label "SNR (1/GS)" --y-label "kappa-hat; normSNR (1/GNS)" \
    --title "Figure 7, log-log: $LABEL (checkpoints in SNR order)" >/dev/null 2>&1
