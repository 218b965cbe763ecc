#!/usr/bin/env bash
# End-to-end: synth-grads | vmf-kappa through a pipe, against the same through a file,
# and the Table 1 reproduction's walk against real vectors. Run by `make test`.
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

echo "pipeline: $passed passed, $failed failed"
test "$failed" -eq 0
