#!/usr/bin/env bash
# `make reproduce-structure-lnn`: the structure study's Table 7 (appendix C): power-law fits
# (top-1,000 eigenvalues, d_c = 1.36/sqrt(1000) = 0.0430) of the second-moment spectra of the
# "4Layer-LNN" on MNIST at batch size 10, pretrained, from T minibatch gradients:
#   lnn       linear: four hidden layers of 70 and the classifier, no activation (the study
#             gives no width; gradscope takes its default, 70, and reads "4Layer" as the
#             FCN's "2Layer", hidden layers: crates/gradscope-torch/src/models/mlp.rs);
#   lnn-bn    the same with BatchNorm after each hidden linear map ("BatchNorm");
#   lnn-relu  the same with ReLU after each hidden layer ("ReLU").
# Each is pretrained as appendix A.3 and measured as Table 6 (scripts/structure/second_moment.sh).
#
# Sizes. CPU default: T = 2,500 gradients per point (the study: 5,000, FULL=1), three 50-epoch
# pretrainings (PRE_EPOCHS) unless their checkpoints are in WORK; see README for the time.
# Writes results/structure/table7.csv (ours beside the paper's) and prints it.
set -euo pipefail
MODELS="${MODELS:-lnn lnn-bn lnn-relu}"
SECONDS_CSV=table7-seconds
source "$(dirname "$0")/second_moment.sh"

for m in $MODELS; do
    pretrain "$m"
    measure "$m" pretrain --checkpoint "$ck"
done
"$PY" scripts/structure/second_moment_summary.py 7 "$OUT" "$T" "$PRE_EPOCHS" - "$TAG"
