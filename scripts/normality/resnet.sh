#!/usr/bin/env bash
# `make reproduce-gaussianity-resnet`: the Gaussianity study's Tables 3 and 4 (Wu et al.,
# supplement): the percentage of Gaussian gradient-noise coordinates (Shapiro-Wilk at
# alpha = 0.05, iteration-wise, per layer) of ResNet-56 on CIFAR-10 against the batch size,
# with 200 (Table 3) and 600 (Table 4) minibatches, for the layers the tables list: the
# first convolution, the 1st, 9th and 18th convolution of each stage, the final linear
# layer (scripts/normality/summarize.py maps our tensor names to theirs).
#
# The measurement is scripts/normality/gaussianity.sh's, run on `resnet56` at two points:
#   epoch 0  the initialisation (seed 0): 200 minibatches at B = 64 (Table 3's first
#            column; FULL=1: 600 at 64 ... 512);
#   epoch 1  after one epoch of the paper's recipe (SGD, momentum 0.9, weight decay 5e-4,
#            lr 0.1, batch 128): 600 independent minibatches at B = 64 and 128, tested all
#            (Table 4) and as a seeded 200 of them (Table 3) (FULL=1: 64 ... 512, five
#            repeats).
# The paper does not say at which epoch its tables were taken (it reports ResNet's
# Gaussianity as steady over training); the two points bracket the question.
#
# Which data: CIFAR-10 when its files are found; otherwise Fashion-MNIST (real images, one
# channel, so the first convolution has 144 weights instead of 432), labelled as such in
# every table; its rows are reported as not comparable with the paper's.
#
# Time here (2 cores, release binaries): epoch 0 about 4 minutes; epoch 1 about 25 (the
# epoch 9, the gradients 4.7 and 9, the tests 1). Writes results/normality/resnet56/epoch-E/
# gaussianity.csv (ours beside the paper's) and figures beside it, and prints the tables.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
data=fashion-mnist
if "$BIN/dump-grads" --model resnet56 --dataset cifar10 --init-seed 0 -b 2 -n 1 -o - >/dev/null 2>&1; then
    data=cifar10
fi
for epoch in ${EPOCHS:-0 1}; do
    if [ "${FULL:-0}" = 1 ]; then
        bs="64 128 256 512"; n=600; repeats=5
    elif [ "$epoch" = 0 ]; then
        bs="64"; n=200; repeats=1
    else
        bs="64 128"; n=600; repeats=1
    fi
    out="results/normality/resnet56/epoch-$epoch"
    RUNS="resnet56:$data" BS="${BS:-$bs}" N="$n" REPEATS="${REPEATS:-$repeats}" EPOCH="$epoch" \
        OUT="$out" FIG="$out" WORK="runs/normality/resnet56-epoch-$epoch" NO_PAPER_FIGURE=1 \
        bash scripts/normality/gaussianity.sh
done
