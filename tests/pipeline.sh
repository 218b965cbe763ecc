#!/usr/bin/env bash
# End-to-end: synth-grads | vmf-kappa through a pipe, against the same through a file,
# the Table 1 reproduction's walk against real vectors, and train | dump-grads |
# vmf-kappa | plot on the synthetic dataset. Run by `make test`.
set -euo pipefail
BIN="${GRADSCOPE_BIN:-target/release}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() { # name, command...
    local name="$1"; shift
    if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}

# 1. A stream never touches the disk and gives the same numbers as the file.
"$BIN/synth-grads" --layout fc1:200x300,fc2:10x200 -n 600 --steps 2 --kappa 20000 --norm chi:8 --seed 5 -o - 2>/dev/null \
    | "$BIN/vmf-kappa" -i - -o "$work/pipe.csv" --per-tensor 2>/dev/null
"$BIN/synth-grads" --layout fc1:200x300,fc2:10x200 -n 600 --steps 2 --kappa 20000 --norm chi:8 --seed 5 -o "$work/g.parquet" 2>/dev/null
"$BIN/vmf-kappa" -i "$work/g.parquet" -o "$work/file.csv" --per-tensor 2>/dev/null
check "pipe equals file" cmp -s "$work/pipe.csv" "$work/file.csv"
check "six result rows" test "$(tail -n +2 "$work/pipe.csv" | wc -l)" -eq 6

# 2. kappa_ml of the whole vector recovers kappa = 20,000 in d = 62,000 within 3 % (far
#    above the uniform floor d/sqrt(n) = 2,530, below which kappa-hat cannot resolve kappa).
kml=$(awk -F, 'NR==1{for(i=1;i<=NF;i++) c[$i]=i} NR>1 && $2=="all" {print $c["kappa_ml"]; exit}' "$work/pipe.csv")
check "kappa_ml recovers 20000 (got $kml)" awk -v k="$kml" 'BEGIN{exit !(k > 19400 && k < 20600)}'

# 3. The exact null walk agrees with real vectors: Table 1's CNN row, one run each way.
"$BIN/vmf-null" table1 --networks cnn --runs 1 --expected-runs 0 -o "$work/walk.csv" 2>/dev/null
"$BIN/vmf-null" table1 --method direct --networks cnn --runs 1 --expected-runs 0 -o "$work/direct.csv" 2>/dev/null
# kappa-hat's sd over runs is about sqrt(d/(2n)) <= 10.2 here: the two single runs must
# agree within 4 sds of their difference (4 * sqrt(2) * 10.2 = 58).
ok=$(paste -d, "$work/walk.csv" "$work/direct.csv" | awk -F, 'NR>1 {d=$4-$16; if (d<0) d=-d; if (d > 58) bad=1} END{print bad ? "no" : "yes"}')
check "walk equals direct on CNN (206,128)" test "$ok" = yes

# 4. The demo's pipeline on the synthetic dataset: train with checkpoints, dump-grads at
#    all of them in one stream (two batch sizes), vmf-kappa (one row per step and batch
#    size), plot. Same seeds give the same table.
"$BIN/train" --model fnn --dataset synthetic --epochs 2 --batch-size 32 --lr 0.05 --checkpoint-epochs 0,1,2 \
    --seed 3 --output "$work/run" >/dev/null 2>&1
ck=("$work/run/ckpt/epoch-000.safetensors" "$work/run/ckpt/epoch-001.safetensors" "$work/run/ckpt/epoch-002.safetensors")
for k in 1 2; do
    "$BIN/dump-grads" --checkpoint "${ck[@]}" -b 4,16 -n 40 --seed 9 --threads 1 -o - 2>/dev/null \
        | "$BIN/vmf-kappa" -i - -o "$work/curve$k.csv" --null-reps 20 2>/dev/null
done
keys=$(awk -F, 'NR>1 {printf "%s/%s ", $1, $NF}' "$work/curve1.csv")
check "one row per checkpoint and batch size ($keys)" test "$keys" = "0/4 0/16 16/4 16/16 32/4 32/16 "
check "same seeds, same table" cmp -s "$work/curve1.csv" "$work/curve2.csv"
check "checkpoints out of order are refused" bash -c "! \"$BIN/dump-grads\" --checkpoint ${ck[2]} ${ck[0]} -n 2 -o $work/x.parquet 2>$work/err.txt && grep -q 'training order' $work/err.txt && test ! -e $work/x.parquet"
"$BIN/plot" "$work/curve1.csv" --where batch_size=16 -x step -y kappa,kappa_null_mean --dashed kappa_null_mean -o "$work/k.png" 2>/dev/null
check "plot writes a PNG" bash -c "head -c 8 $work/k.png | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"

echo "pipeline: $passed passed, $failed failed"
test "$failed" -eq 0
