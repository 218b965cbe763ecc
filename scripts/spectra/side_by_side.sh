#!/usr/bin/env bash
# `make reproduce-spectra-side-by-side`: three spectra of the same networks, per layer,
# fitted the same way. For lenet and fcn on MNIST, at initialisation (epoch 0) and after a
# short training (the structure study's pretraining recipe: per-pixel standardisation,
# SGD lr 0.1, batch 128, weight decay 5e-4), for each layer:
#   (a) the gradient covariance spectrum, as the structure study's Table 5 (Xie et al.,
#       appendix C) takes it: T minibatch gradients of batch size B at the checkpoint
#       (dump-grads; fcn's BatchNorm on its running statistics), the eigenvalues of their
#       covariance through the T x T Gram matrix, per tensor (powerlaw-fit --spectrum
#       covariance --per-tensor); the layer's row uses its weight tensor;
#   (b) the Hessian of the training loss (on HESS_N training images) restricted to the
#       layer, its diagonal block H_bb (hessian-align --blocks layer): its top K
#       eigenvalues (Lanczos), its trace (Hutchinson) and its density (stochastic Lanczos
#       quadrature), and a power-law fit to the top K eigenvalues;
#   (c) the weight matrix's spectrum, the eigenvalues of W^T W / N (weight-spectra, as
#       WeightWatcher reshapes conv kernels).
# Every fit is powerlaw-fit's / weight-spectra's continuous MLE with xmin chosen by the
# Kolmogorov-Smirnov scan and no upper bound on alpha (Clauset, Shalizi and Newman 2009;
# WeightWatcher's convention), so the three alphas are comparable; the `all` rows are the
# whole network (gradient spectrum of all parameters, the whole Hessian).
#
# Sizes. CPU default: 1 epoch of training, T = 500 gradients at B = 10, the Hessian on
# 250 images with K = 8, 8 trace probes, SLQ 2 probes x 20 steps (results/spectra/README.md
# gives the time it took). The Hessian's products dominate: every block product is a
# whole-network product, so `--blocks layer` costs (layers + 1) times the whole network's. FULL=1: 50 epochs, T = 5,000, the Hessian on 10,000 images, K = 50,
# 100 probes, SLQ 10 x 80 (hours on a CPU; DEVICE=cuda).
#
# Writes results/spectra/side_by_side.csv (one row per model, state, layer),
# results/spectra/side_by_side.png, the Hessian densities results/spectra/density-*.png
# and the raw tables under results/spectra/raw/.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-0}"
OUT="${OUT:-results/spectra}"
WORK="${WORK:-runs/spectra}"
if [ "${FULL:-0}" = 1 ]; then
    EPOCHS=50; T=5000; HESS_N=10000; K=50; PROBES=100; SLQ_P=10; SLQ_S=80
else
    EPOCHS="${EPOCHS:-1}"; T="${T:-500}"; HESS_N="${HESS_N:-250}"; K="${K:-8}"
    PROBES="${PROBES:-8}"; SLQ_P="${SLQ_P:-2}"; SLQ_S="${SLQ_S:-20}"
fi
B="${B:-10}"
mkdir -p "$OUT/raw" "$WORK"
common=(--device "$DEVICE" --threads "$THREADS")
: >"$OUT/raw/seconds.csv"
# (a trained run of the same size is reused)
for m in lenet fcn; do
    if [ ! -f "$WORK/$m-e$EPOCHS/ckpt/epoch-$(printf %03d "$EPOCHS").safetensors" ]; then
        start=$SECONDS
        "$BIN/train" --model "$m" --dataset mnist --standardize -b 128 --optimizer sgd --lr 0.1 \
            --weight-decay 5e-4 --epochs "$EPOCHS" --checkpoint-epochs "0,$EPOCHS" --seed 0 --fresh \
            -o "$WORK/$m-e$EPOCHS" "${common[@]}" 2>&1 | tail -1
        echo "$m,train,$((SECONDS - start))" >>"$OUT/raw/seconds.csv"
    fi
    for state in init trained; do
        e=0; [ "$state" = trained ] && e=$EPOCHS
        ck="$WORK/$m-e$EPOCHS/ckpt/epoch-$(printf %03d "$e").safetensors"
        tag="$m-$state"
        # (b) the Hessian, whole and per layer
        start=$SECONDS
        "$BIN/hessian-align" --checkpoint "$ck" --hessian-samples "$HESS_N" -b 100 -n 1 \
            -k "$K" --tol 1e-4 --max-iter 300 --trace-probes "$PROBES" --blocks layer \
            --slq-probes "$SLQ_P" --slq-steps "$SLQ_S" --seed 0 "${common[@]}" \
            -o "$OUT/raw/align-$tag.csv" --blocks-output "$OUT/raw/hessian-$tag.csv" \
            --eigen-output "$OUT/raw/hessian-eigen-$tag.csv" --density "$OUT/raw/density-$tag.csv" \
            --density-plot "$OUT/density-$tag.png" 2>&1 | tail -1
        echo "$tag,hessian,$((SECONDS - start))" >>"$OUT/raw/seconds.csv"
        # (a) gradient covariance spectra
        start=$SECONDS
        bn=(); [ "$m" = fcn ] && bn=(--bn-eval)
        g="$WORK/grads.parquet"
        "$BIN/dump-grads" --checkpoint "$ck" "${bn[@]}" -b "$B" -n "$T" --seed 1 "${common[@]}" \
            -o "$g" 2>&1 | tail -1
        "$BIN/powerlaw-fit" -i "$g" --spectrum covariance --per-tensor --xmin scan --alpha-max inf \
            --threads "$THREADS" -o "$OUT/raw/grad-$tag.csv" 2>/dev/null
        rm -f "$g"
        echo "$tag,gradients,$((SECONDS - start))" >>"$OUT/raw/seconds.csv"
        # power laws of each block's top-K eigenvalues
        for blk in $("$PY" -c "import csv,sys; print(' '.join(sorted({r['block'] for r in csv.DictReader(open(sys.argv[1]))})))" "$OUT/raw/hessian-eigen-$tag.csv"); do
            "$PY" -c "import csv,sys
r = [x for x in csv.DictReader(open(sys.argv[1])) if x['block'] == sys.argv[2] and x['method'] == 'lanczos']
print('eigenvalue'); print('\n'.join(x['eigenvalue'] for x in r))" "$OUT/raw/hessian-eigen-$tag.csv" "$blk" \
                >"$WORK/top.csv"
            "$BIN/powerlaw-fit" -i "$WORK/top.csv" --column eigenvalue --xmin scan --alpha-max inf \
                -o "$WORK/fit.csv" 2>/dev/null || { rm -f "$WORK/fit.csv"; continue; }
            "$PY" -c "import csv,sys
r = next(csv.DictReader(open(sys.argv[1]))); r = {'block': sys.argv[2], **r}
w = csv.DictWriter(sys.stdout, fieldnames=list(r)); w.writeheader() if sys.argv[3] == '1' else None; w.writerow(r)" \
                "$WORK/fit.csv" "$blk" "$([ -f "$OUT/raw/hessian-fit-$tag.csv.part" ] && echo 0 || echo 1)" \
                >>"$OUT/raw/hessian-fit-$tag.csv.part"
        done
        mv "$OUT/raw/hessian-fit-$tag.csv.part" "$OUT/raw/hessian-fit-$tag.csv"
        rm -f "$WORK/top.csv" "$WORK/fit.csv"
        # (c) weight spectra
        "$BIN/weight-spectra" -i "$ck" --threads "$THREADS" -o "$OUT/raw/weights-$tag.csv" 2>/dev/null
    done
done
"$PY" scripts/spectra/side_by_side_summary.py "$OUT" "$EPOCHS" "$T" "$B" "$HESS_N" "$K"
for m in lenet fcn; do
    "$BIN/plot" "$OUT/raw/plot-$m-init.csv=init" "$OUT/raw/plot-$m-trained.csv=trained" -x layer_index \
        -y "gradient covariance,Hessian block (top K),weights W'W/N" \
        --title "$m on MNIST: power-law alpha per layer (init, after $EPOCHS epoch(s))" \
        --x-label "layer (1 = input side)" --y-label "alpha (KS-scan MLE)" -o "$OUT/side_by_side-$m.png"
done
