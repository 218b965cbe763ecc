#!/usr/bin/env bash
# `make reproduce-vmf-figures`: the vMF study's training-dynamics figures (Lee, Cho and
# Kang, ICLR 2020), sized for a 2-core CPU; VMF_FULL=1 runs the paper's setting (5
# initialisations, 3,000 minibatches, 100 epochs; hours on a CPU, use --device on a GPU
# via DEVICE=cuda).
#
#   Figure 2(a)  GNS against batch size 2..4,096 at 5 random initialisations of fnn
#   Figure 3     angles between a fixed random unit vector and 3,000 minibatch gradients
#                (batch 64) at initialisation and after training, against N(90, (180/(pi sqrt d))^2)
#   Figures 5-6  kappa-hat over training for fnn and fnn-bn on MNIST (batch 64, lr 0.01)
#
# Writes results/vmf/*.csv and *.png and prints the paper's statements beside ours.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
DEVICE="${DEVICE:-cpu}"
OUT=results/vmf
RUNS=runs/vmf
mkdir -p "$OUT" "$RUNS"
if [ "${VMF_FULL:-0}" = 1 ]; then
    GNS_SEEDS="1 2 3 4 5"; GNS_SAMPLES=3000; SEEDS="1 2 3 4 5"; SAMPLES=3000
    EPOCHS=100; CKPTS=0,1,2,4,8,16,32,64,100
else
    GNS_SEEDS="1 2 3 4 5"; GNS_SAMPLES="${GNS_SAMPLES:-20}"; SEEDS="${SEEDS:-1 2}"
    SAMPLES="${SAMPLES:-1000}"; EPOCHS="${EPOCHS:-16}"; CKPTS="${CKPTS:-0,1,2,4,8,16}"
fi
ANGLE_SAMPLES="${ANGLE_SAMPLES:-3000}"

# --- Figure 2(a): gradient norm stochasticity against batch size -------------------
BS=2,4,8,16,32,64,128,256,512,1024,2048,4096
inputs=()
for s in $GNS_SEEDS; do
    "$BIN/dump-grads" --model fnn --dataset mnist --init-seed "$s" -b "$BS" -n "$GNS_SAMPLES" \
        --seed "$s" --device "$DEVICE" -o - \
        | "$BIN/vmf-kappa" -i - -o "$OUT/fig2a-init$s.csv" --null-reps 0 >/dev/null 2>&1
    inputs+=("$OUT/fig2a-init$s.csv=init $s")
done
"$BIN/plot" "${inputs[@]}" -x batch_size -y gns --log-x --log-y -o "$OUT/fig2a-gns.png" \
    --title "Figure 2(a): GNS of fnn minibatch gradients at 5 initialisations ($GNS_SAMPLES per batch size)" \
    --x-label "batch size" --y-label "GNS = sd(|g|) / mean(|g|)"

# --- Figures 5 and 6: kappa-hat over training ----------------------------------------
for model in fnn fnn-bn; do
    inputs=()
    for s in $SEEDS; do
        run="$RUNS/$model-seed$s"
        "$BIN/train" --model "$model" --dataset mnist --batch-size 64 --lr 0.01 --epochs "$EPOCHS" \
            --checkpoint-epochs "$CKPTS" --seed "$s" --device "$DEVICE" --output "$run" 2>&1 | tail -1
        ckpts=()
        for e in ${CKPTS//,/ }; do ckpts+=("$run/ckpt/epoch-$(printf %03d "$e").safetensors"); done
        "$BIN/dump-grads" --checkpoint "${ckpts[@]}" -b 64 -n "$SAMPLES" --seed 7 --device "$DEVICE" -o - \
            | "$BIN/vmf-kappa" -i - -o "$OUT/fig56-$model-seed$s.csv" >/dev/null 2>&1
        inputs+=("$OUT/fig56-$model-seed$s.csv=seed $s")
    done
    "$BIN/plot" "${inputs[@]}" --where scope=all -x step -y kappa,kappa_null_mean --dashed kappa_null_mean \
        --log-y -o "$OUT/fig56-$model-kappa.png" \
        --title "Figures 5-6: kappa-hat of $SAMPLES minibatch gradients (B = 64), $model on MNIST, lr 0.01" \
        --x-label "training step (938 per epoch)" --y-label "kappa-hat (dashed: uniform directions)"
done

# --- Figure 3: angles to a fixed random direction, before and after training --------
first="$RUNS/fnn-seed${SEEDS%% *}"
last=$(printf %03d "${CKPTS##*,}")
"$BIN/dump-grads" --checkpoint "$first/ckpt/epoch-000.safetensors" "$first/ckpt/epoch-$last.safetensors" \
    -b 64 -n "$ANGLE_SAMPLES" --seed 11 --device "$DEVICE" -o - \
    | "$BIN/vmf-kappa" -i - -o "$OUT/fig3-kappa.csv" --null-reps 0 --angles-hist "$OUT/fig3-angles.csv" --angle-bins 100 >/dev/null 2>&1
"$BIN/plot" "$OUT/fig3-angles.csv" -x angle_mid -y count,expected_uniform --group step --dashed expected_uniform \
    -o "$OUT/fig3-angles.png" --x-label "angle to a fixed random unit vector (degrees)" --y-label "gradients per bin" \
    --title "Figure 3(b, c): $ANGLE_SAMPLES fnn minibatch gradients at initialisation and after ${CKPTS##*,} epochs"

"$PY" scripts/vmf/summarize.py "$OUT" "$RUNS" "$SEEDS" "${CKPTS##*,}"

# --- Figure 7 / appendix G from the same runs: kappa-hat, SNR and normSNR over training --
runs=()
for model in fnn fnn-bn; do for s in $SEEDS; do runs+=("$model-seed$s=$OUT/fig56-$model-seed$s.csv"); done; done
size="the Figures 5-6 runs: $EPOCHS epochs, checkpoints at $CKPTS, $SAMPLES gradients each"
"$PY" scripts/vmf/snr_summary.py "$OUT" "$OUT/fig7-summary-fnn.csv" mnist "$size" 938 "${runs[@]}"
for r in "${runs[@]}"; do
    name=${r%%=*}
    bash scripts/vmf/snr_plots.sh "$BIN" "$OUT" "$name" "${name%-seed*} on MNIST, seed ${name##*-seed}"
done
