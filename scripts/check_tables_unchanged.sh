#!/usr/bin/env bash
# Runs the commands of the end-to-end pipeline test (tests/pipeline.sh) with two builds of
# the tools and compares every result table they write, byte for byte.
#
#   bash scripts/check_tables_unchanged.sh BEFORE_BIN_DIR AFTER_BIN_DIR
#
# The CSV tables are compared whole. The Parquet tables are compared as their rows and
# schema (pyarrow) and their provenance JSON with the fields that legitimately differ
# between builds masked: `tool` (name and version), `command` (the command line: it names
# the binary's path) and the run's working directory inside any path; NaN equals NaN, and
# `wall_s` (train's wall-clock seconds) is left out. The gradient matrix
# dump-grads writes is compared the same way. The PNG of `plot` is compared byte for byte
# but only reported (a figure, not a table; plot styling may change it on purpose).
# Beyond the pipeline test's commands: interp-loss, weight-spectra (its tables and
# --json), vmf-null figure8 and train's sharpness table on the same run.
set -euo pipefail
before="$1"
after="$2"
py="${PYTHON:-.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run_pipeline() { # BIN OUTDIR
    local BIN="$1" w="$2"
    mkdir -p "$w"
    "$BIN/synth-grads" --layout fc1:200x300,fc2:10x200 -n 600 --steps 2 --kappa 20000 --norm chi:8 --seed 5 -o - 2>/dev/null \
        | "$BIN/vmf-kappa" -i - -o "$w/pipe.csv" --per-tensor 2>/dev/null
    "$BIN/synth-grads" --layout fc1:200x300,fc2:10x200 -n 600 --steps 2 --kappa 20000 --norm chi:8 --seed 5 -o "$w/g.parquet" 2>/dev/null
    "$BIN/vmf-kappa" -i "$w/g.parquet" -o "$w/file.csv" --per-tensor 2>/dev/null
    "$BIN/vmf-kappa" -i "$w/g.parquet" -o "$w/file.parquet" --per-tensor --angles-hist "$w/angles.csv" 2>/dev/null
    "$BIN/vmf-null" table1 --networks cnn --runs 1 --expected-runs 0 -o "$w/walk.csv" 2>/dev/null
    "$BIN/vmf-null" table1 --method direct --networks cnn --runs 1 --expected-runs 0 -o "$w/direct.csv" 2>/dev/null
    "$BIN/train" --model fnn --dataset synthetic --epochs 2 --batch-size 32 --lr 0.05 --checkpoint-epochs 0,1,2 \
        --seed 3 --output "$w/run" >/dev/null 2>&1
    local ck=("$w/run/ckpt/epoch-000.safetensors" "$w/run/ckpt/epoch-001.safetensors" "$w/run/ckpt/epoch-002.safetensors")
    "$BIN/dump-grads" --checkpoint "${ck[@]}" -b 4,16 -n 40 --seed 9 --threads 1 -o "$w/grads.parquet" 2>/dev/null
    "$BIN/vmf-kappa" -i "$w/grads.parquet" -o "$w/curve1.csv" --null-reps 20 2>/dev/null
    "$BIN/plot" "$w/curve1.csv" --where batch_size=16 -x step -y kappa,kappa_null_mean --dashed kappa_null_mean -o "$w/k.png" 2>/dev/null
    # The other statistics tools on the same gradients (tables the pipeline feeds them).
    "$BIN/normtest" -i "$w/g.parquet" -o "$w/normality.csv" --coords 50 --per-coordinate "$w/coords.parquet" 2>/dev/null
    "$BIN/powerlaw-fit" -i "$w/g.parquet" --spectrum covariance --step 1 -o "$w/powerlaw.csv" --compare 2>/dev/null
    "$BIN/powerlaw-fit" -i "$w/pipe.csv" --column kappa -o "$w/powerlaw-column.csv" 2>/dev/null || true
    # The walk and weight tools on the same run, and the other reproductions' tables.
    "$BIN/interp-loss" --checkpoint "${ck[1]}" --steps 3 --points 3 --eval-samples 128 --threads 1 \
        -o "$w/interp.csv" --steps-output "$w/interp-steps.csv" --epochs-output "$w/interp-epochs.parquet" 2>/dev/null
    "$BIN/weight-spectra" -i "${ck[2]}" --threads 1 -o "$w/weights.csv" --spectrum-output "$w/weights-spectrum.parquet" \
        --json >"$w/weights.json" 2>/dev/null
    "$BIN/vmf-null" figure8 --dims 100 --samples 50,80 --max-exp 2 --runs 2 -o "$w/figure8.csv" --plot "$w/figure8.png" 2>/dev/null
    "$BIN/train" --model fnn --dataset synthetic --epochs 1 --batch-size 64 --lr 0.05 --sharpness-every 4 \
        --sharpness-samples 64 --seed 3 --threads 1 --output "$w/sharp" >/dev/null 2>&1
}

run_pipeline "$before" "$work/before"
run_pipeline "$after" "$work/after"

status=0
for f in $(cd "$work/before" && find . -type f \( -name '*.csv' -o -name '*.json' \) | sort); do
    if cmp -s "$work/before/$f" "$work/after/$f"; then
        echo "same      $f"
    else
        echo "DIFFERENT $f"
        status=1
    fi
done
for f in $(cd "$work/before" && find . -type f -name '*.parquet' | sort); do
    if "$py" scripts/same_parquet_table.py "$work/before/$f" "$work/after/$f" "$work/before" "$work/after"
    then
        echo "same      $f (schema, every value but timings, provenance with tool and command masked)"
    else
        echo "DIFFERENT $f"
        status=1
    fi
done
if cmp -s "$work/before/k.png" "$work/after/k.png"; then
    echo "same      ./k.png (figure, byte for byte)"
else
    echo "note      ./k.png differs (a figure, not a result table)"
fi
exit $status
