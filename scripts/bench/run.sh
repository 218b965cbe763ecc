#!/usr/bin/env bash
# `make bench`: gradscope against its Python peers, measured in the same run on the same
# files. Figures go to stderr and to results/bench/*.csv. Thread counts are stated.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
PY="${PY:-.venv/bin/python}"
OUT=results/bench
mkdir -p "$OUT"
THREADS=$(nproc)
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

# BENCH="normtest powerlaw ..." runs only the named sections (vmf-kappa, powerlaw,
# spectrum, normtest, weight-spectra, dump-grads, walk, sharpness, cluster); unset, all of them.
want() { [ -z "${BENCH:-}" ] || [[ " $BENCH " == *" $1 "* ]]; }

# measure NAME CMD...: wall seconds and peak resident memory (KiB) via GNU time.
source "$(dirname "${BASH_SOURCE[0]}")/measure.sh"

# --- vmf-kappa: 3,000 x 200,000 float32 from Parquet -------------------------------
if want vmf-kappa; then
G="$OUT/grads-3000x200000.parquet"
if [ ! -f "$G" ]; then
    echo "writing $G (2.4 GB) ..." >&2
    "$BIN/synth-grads" --dim 200000 -n 3000 --kappa 2000 --norm lognormal:0.3 --seed 1 -o "$G" 2>/dev/null
fi
bytes=$((3000 * 200000 * 4))
rg_bytes=$(( 64 * 1024 * 1024 ))
cat "$G" > /dev/null   # warm the page cache for both
read -r w_rs m_rs <<< "$(measure vmf-kappa "$BIN/vmf-kappa" -i "$G" -o "$OUT/kappa-rust.csv" --threads "$THREADS")"
read -r w_py m_py <<< "$(measure vmf-kappa-numpy "$PY" scripts/bench/vmf_kappa_numpy.py "$G" "$OUT/kappa-numpy.csv")"
limit_kib=$(( 2 * (rg_bytes + 16 * 200000) / 1024 ))
awk -v b="$bytes" -v wr="$w_rs" -v mr="$m_rs" -v wp="$w_py" -v mp="$m_py" -v lim="$limit_kib" -v t="$THREADS" 'BEGIN {
    printf "vmf-kappa, 3,000 x 200,000 float32 Parquet (%.2f GB), %d threads\n", b/1e9, t
    printf "  gradscope vmf-kappa   %7.2f s  %6.2f GB/s  peak RSS %7.1f MiB (goal < %.1f MiB)\n", wr, b/1e9/wr, mr/1024, lim/1024
    printf "  NumPy + pyarrow       %7.2f s  %6.2f GB/s  peak RSS %7.1f MiB\n", wp, b/1e9/wp, mp/1024
    printf "  speed-up %.2fx\n", wp/wr
}' | tee "$OUT/vmf-kappa.txt" >&2
printf "bench,threads,seconds,gb_per_s,peak_rss_mib\nvmf-kappa,%s,%s,%s,%s\nnumpy-pyarrow,%s,%s,%s,%s\n" \
    "$THREADS" "$w_rs" "$(awk -v b=$bytes -v w=$w_rs 'BEGIN{print b/1e9/w}')" "$(awk -v m=$m_rs 'BEGIN{print m/1024}')" \
    "$THREADS" "$w_py" "$(awk -v b=$bytes -v w=$w_py 'BEGIN{print b/1e9/w}')" "$(awk -v m=$m_py 'BEGIN{print m/1024}')" > "$OUT/vmf-kappa.csv"
# The two agree on the columns both compute.
"$PY" scripts/bench/vmf_kappa_compare.py "$OUT/kappa-rust.csv" "$OUT/kappa-numpy.csv" >&2
fi

# --- powerlaw-fit: KS-chosen xmin on Pareto points ---------------------------------
# 100,000 points x = (1-u)^(-1/1.5) (alpha = 2.5, xmin = 1) from a seeded generator, and
# their first 10,000. The powerlaw package 2.0.0 fits the 10,000-point file in the same
# run (its scan is quadratic in n: about 20 minutes for 100,000 points; set
# POWERLAW_FULL=1 to time that too); both tools must agree on xmin and alpha to 1e-9.
if want powerlaw; then
P100="$OUT/pareto-100000.csv"; P10="$OUT/pareto-10000.csv"
if [ ! -f "$P100" ]; then
    "$PY" scripts/bench/pareto_points.py "$P100" "$P10"
fi
read -r w_pl100 m_pl100 <<< "$(measure powerlaw-fit-100k "$BIN/powerlaw-fit" -i "$P100" --column x -o "$OUT/powerlaw-rust-100k.csv" --threads "$THREADS")"
read -r w_pl10 m_pl10 <<< "$(measure powerlaw-fit-10k "$BIN/powerlaw-fit" -i "$P10" --column x -o "$OUT/powerlaw-rust-10k.csv" --threads "$THREADS")"
read -r w_pk10 m_pk10 <<< "$(measure powerlaw-package-10k "$PY" scripts/bench/powerlaw_package.py "$P10" x "$OUT/powerlaw-package-10k.csv")"
sizes="10k"; w_pk100=""
if [ "${POWERLAW_FULL:-0}" = 1 ]; then
    read -r w_pk100 m_pk100 <<< "$(measure powerlaw-package-100k "$PY" scripts/bench/powerlaw_package.py "$P100" x "$OUT/powerlaw-package-100k.csv")"
    sizes="10k 100k"
fi
{
    printf "powerlaw-fit, continuous power law, xmin by KS scan, %d threads\n" "$THREADS"
    printf "  gradscope powerlaw-fit, 100,000 points  %8.2f s (process, incl. reading the CSV)  peak RSS %6.1f MiB\n" "$w_pl100" "$(awk -v m=$m_pl100 'BEGIN{print m/1024}')"
    printf "  gradscope powerlaw-fit,  10,000 points  %8.2f s (process)\n" "$w_pl10"
    printf "  powerlaw 2.0.0,          10,000 points  %8.2f s (process)\n" "$w_pk10"
} | tee "$OUT/powerlaw.txt" >&2
"$PY" scripts/bench/powerlaw_compare.py "$OUT" "$w_pl10" "$w_pk10" "$w_pl100" $sizes | tee -a "$OUT/powerlaw.txt" >&2
{
    printf "bench,points,threads,seconds\npowerlaw-fit,100000,%s,%s\npowerlaw-fit,10000,%s,%s\npowerlaw-package,10000,1,%s\n" \
        "$THREADS" "$w_pl100" "$THREADS" "$w_pl10" "$w_pk10"
    if [ -n "$w_pk100" ]; then printf "powerlaw-package,100000,1,%s\n" "$w_pk100"; fi
} > "$OUT/powerlaw.csv"
fi

# --- powerlaw-fit --spectrum: 5,000 gradients with LeNet-5's layout (61,706 parameters) -
# The covariance spectrum through the 5,000 x 5,000 Gram matrix, beside NumPy forming the
# same Gram matrix with BLAS and calling numpy.linalg.eigvalsh on it.
if want spectrum; then
NS="${SPECTRUM_N:-5000}"
S="$OUT/grads-lenet-${NS}.parquet"
if [ ! -f "$S" ]; then
    echo "writing $S ..." >&2
    "$BIN/synth-grads" --layout conv1.weight:6x1x5x5,conv1.bias:6,conv2.weight:16x6x5x5,conv2.bias:16,fc1.weight:120x400,fc1.bias:120,fc2.weight:84x120,fc2.bias:84,fc3.weight:10x84,fc3.bias:10 \
        -n "$NS" --noise student-t:3 --mean-scale 5 --seed 4 -o "$S" 2>/dev/null
fi
cat "$S" > /dev/null
read -r w_sr m_sr <<< "$(measure spectrum-rust "$BIN/powerlaw-fit" -i "$S" --spectrum covariance --eigengaps --spectrum-output "$OUT/spectrum-rust.csv" -o "$OUT/spectrum-fits.csv" --threads "$THREADS")"
read -r w_sp m_sp <<< "$(measure spectrum-numpy "$PY" scripts/bench/spectrum_numpy.py "$S" covariance "$OUT/spectrum-numpy.csv")"
{
    printf "spectrum, %s x 61,706 float32 gradients, covariance, %d threads\n" "$NS" "$THREADS"
    printf "  gradscope powerlaw-fit --spectrum  %7.2f s  peak RSS %7.1f MiB (incl. two top-1000 fits)\n" "$w_sr" "$(awk -v m=$m_sr 'BEGIN{print m/1024}')"
    printf "  NumPy X X^T + eigvalsh             %7.2f s  peak RSS %7.1f MiB  (%s)\n" "$w_sp" "$(awk -v m=$m_sp 'BEGIN{print m/1024}')" "$(tail -1 "$OUT/spectrum-numpy.log")"
    printf "  speed-up %.2fx\n" "$(awk -v a=$w_sp -v b=$w_sr 'BEGIN{print a/b}')"
} | tee "$OUT/spectrum.txt" >&2
"$PY" scripts/bench/spectrum_compare.py "$OUT/spectrum-rust.csv" "$OUT/spectrum-numpy.csv" | tee -a "$OUT/spectrum.txt" >&2
printf "bench,n,dim,threads,seconds,peak_rss_mib\nspectrum-rust,%s,61706,%s,%s,%s\nspectrum-numpy,%s,61706,%s,%s,%s\n" \
    "$NS" "$THREADS" "$w_sr" "$(awk -v m=$m_sr 'BEGIN{print m/1024}')" "$NS" "$THREADS" "$w_sp" "$(awk -v m=$m_sp 'BEGIN{print m/1024}')" > "$OUT/spectrum.csv"
fi

# --- normtest: Shapiro-Wilk and K^2 on 884,736 coordinates x 200 samples -------------
# The size of the Gaussianity study's largest AlexNet layer. gradscope tests every
# coordinate (reading included); the scipy loop (shapiro + normaltest per coordinate) is
# timed on the first NORMTEST_PY_COORDS coordinates of the same file and extrapolated per
# coordinate to all 884,736, since the whole loop would take minutes.
if want normtest; then
NTG="$OUT/grads-conv4-884736x200.parquet"
if [ ! -f "$NTG" ]; then
    echo "writing $NTG (0.7 GB) ..." >&2
    "$BIN/synth-grads" --layout conv4:884736 -n 200 --noise gaussian:1 --seed 1 -o "$NTG" 2>/dev/null
fi
PY_COORDS=${NORMTEST_PY_COORDS:-20000}
cat "$NTG" > /dev/null   # warm the page cache for both
read -r w_nt m_nt <<< "$(measure normtest "$BIN/normtest" -i "$NTG" -o "$OUT/normtest-rust.csv" --per-coordinate "$OUT/normtest-coords.parquet" --test both --threads "$THREADS")"
read -r w_ntpy m_ntpy <<< "$(measure normtest-scipy "$PY" scripts/bench/normtest_scipy.py "$NTG" "$PY_COORDS" "$OUT/normtest-scipy.json" "$OUT/normtest-coords.parquet")"
"$PY" scripts/bench/normtest_report.py "$OUT/normtest-scipy.json" "$OUT/normtest-rust.csv" "$w_nt" "$m_nt" "$THREADS" "$OUT/normtest.csv" | tee "$OUT/normtest.txt" >&2
fi

# --- weight-spectra: per-layer ESD power laws of two networks of a few million weights --
# The same safetensors file through `weight-spectra` and weightwatcher 0.7.7's analyze()
# (defaults; SVDs by scipy/LAPACK with OPENBLAS_NUM_THREADS threads). Per-layer alpha and
# xmin must agree (xmin up to the two tools' eigenvalue scales: ours sigma^2/N,
# weightwatcher's sigma^2, halved for Conv2D). Two networks (scripts/bench/
# weight_spectra_ww.py): a 4.9 M-parameter CNN whose time is two 1,024-column matrices,
# and a 5.2 M-parameter GPT-shaped decoder of 17 smaller ones. Beside them, our own route
# (W^T W / N, then its eigenvalues) run by LAPACK in float64 and in float32: how far the
# 20x goal lies below exact eigenvalues, and what single precision would buy.
if want weight-spectra; then
echo "bench,network,threads,seconds,peak_rss_mib,analyze_seconds,svd_seconds,lapack_route_f64_seconds,lapack_route_f32_seconds" > "$OUT/weight-spectra.csv"
: > "$OUT/weight-spectra.txt"
for net in cnn gpt; do
    case $net in
        cnn) WS="$OUT/cnn-4.9M.safetensors"; mode=write; what="4,900,746-parameter CNN (4 conv + 4 linear, float32)" ;;
        gpt) WS="$OUT/gpt-5.2M.safetensors"; mode=write-transformer; what="5,207,552-parameter GPT-shaped decoder (d 256, 4 blocks, Student-t weights, float32)" ;;
    esac
    [ -f "$WS" ] || "$PY" scripts/bench/weight_spectra_ww.py "$mode" "$WS" 2>/dev/null
    read -r w_ws m_ws <<< "$(measure "weight-spectra-$net" "$BIN/weight-spectra" -i "$WS" -o "$OUT/weight-spectra-$net-rust.csv" --threads "$THREADS")"
    read -r w_ww m_ww <<< "$(measure "weightwatcher-$net" "$PY" scripts/bench/weight_spectra_ww.py analyze "$WS" "$OUT/weight-spectra-$net-ww.csv")"
    svd_s=$("$PY" scripts/bench/weight_spectra_ww.py svd "$WS")
    floor=$("$PY" scripts/bench/weight_spectra_ww.py floor "$WS")
    "$PY" scripts/bench/weight_spectra_compare.py "$OUT/weight-spectra-$net-rust.csv" "$OUT/weight-spectra-$net-ww.csv" "$w_ws" "$m_ws" "$w_ww" "$m_ww" "$THREADS" "$what" "$svd_s" "$floor" | tee -a "$OUT/weight-spectra.txt" >&2
    analyze=$(awk -F, 'NR == 2 { print $NF }' "$OUT/weight-spectra-$net-ww.csv")
    read -r f64_s f32_s _ <<< "$floor"
    printf "weight-spectra,%s,%s,%s,%s,,,,\nweightwatcher,%s,%s,%s,%s,%s,%s,%s,%s\n" \
        "$net" "$THREADS" "$w_ws" "$(awk -v m=$m_ws 'BEGIN{print m/1024}')" \
        "$net" "$THREADS" "$w_ww" "$(awk -v m=$m_ww 'BEGIN{print m/1024}')" "$analyze" "$svd_s" "$f64_s" "$f32_s" >> "$OUT/weight-spectra.csv"
done
fi

# --- dump-grads: fnn on MNIST against a plain PyTorch loop --------------------------
if want dump-grads; then
GRADSCOPE_BIN="$BIN" PY="$PY" THREADS="$THREADS" bash scripts/bench/dump_grads.sh
fi

# --- the walk study's tools: HVP cost, Lanczos vs power iteration, interp-loss ---------
if want walk; then
GRADSCOPE_BIN="$BIN" PY="$PY" THREADS="$THREADS" bash scripts/bench/hessian_align.sh
fi

# --- train --sharpness-every: the overhead of tracking the sharpness -------------------
if want sharpness; then
GRADSCOPE_BIN="$BIN" THREADS="$THREADS" bash scripts/bench/sharpness.sh
fi

# --- cluster: vmf-kappa at GPT-2 small's size, and shards against one process ---------
# (scripts/bench/cluster.sh says what each part runs; CLUSTER_SCALE=0 or CLUSTER_SHARDS=0 skips one.)
if want cluster; then
GRADSCOPE_BIN="$BIN" PY="$PY" THREADS="$THREADS" bash scripts/bench/cluster.sh
fi
