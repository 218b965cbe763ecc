#!/usr/bin/env bash
# `make reproduce-structure-fcn`: the structure study's Table 6 (appendix C): power-law fits
# (top-1,000 eigenvalues, d_c = 1.36/sqrt(1000) = 0.0430) of the second-moment spectra of
# fully connected networks (ReLU, BatchNorm, biases) on MNIST at batch size 10, from T
# minibatch gradients at one parameter point, every row of the study's table:
#   fcn      two hidden layers of 70 (the study's "2Layer-FCN", its default; also its
#            "Width=70" rows, the same network and the same measurement);
#   fcn-w30  two hidden layers of 30 ("Width=30");
#   fcn-w10  two hidden layers of 10 ("Width=10");
#   fcn1     one hidden layer of 70 ("1Layer-FCN");
# each pretrained as appendix A.3 (scripts/structure/second_moment.sh) and at a random
# initialisation (INIT_SEED), and fcn also at that initialisation with 40% symmetric label
# noise on the training set the minibatches are drawn from (the study's "Noise" row does not
# say which noise; 40% is its Table 5's first label-noise setting).
#
# Sizes. CPU default: T = 2,500 gradients per point (the study: 5,000, FULL=1), four 50-epoch
# pretrainings (PRE_EPOCHS) unless their checkpoints are in WORK; see README for the time.
# Writes results/structure/table6.csv (ours beside the paper's) and prints it.
set -euo pipefail
INIT_SEED="${INIT_SEED:-1}"
NOISE="${NOISE:-0.4}"
MODELS="${MODELS:-fcn fcn-w30 fcn-w10 fcn1}"
SECONDS_CSV=table6-seconds
source "$(dirname "$0")/second_moment.sh"

for m in $MODELS; do
    pretrain "$m"
    measure "$m" pretrain --checkpoint "$ck"
    random=(--model "$m" --dataset mnist --standardize --init-seed "$INIT_SEED")
    measure "$m" random "${random[@]}"
    if [ "$m" = fcn ]; then
        measure "$m" random-noise "${random[@]}" --label-noise "$NOISE"
    fi
done
"$PY" scripts/structure/second_moment_summary.py 6 "$OUT" "$T" "$PRE_EPOCHS" "$NOISE" "$TAG"
