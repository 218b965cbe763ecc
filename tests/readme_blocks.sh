#!/usr/bin/env bash
# README's examples run: every ```sh code block of README.md, in order, in one scratch
# directory (a block may use what an earlier one wrote), with the tools of GRADSCOPE_BIN
# and the project's .venv/bin (duckdb) first on PATH. Run by `make test`.
#
# README shows the commands at the sizes a user would run; here each block's text is
# first made small by the substitutions below, so the whole file runs in about a minute:
#   `make TARGET`             -> `make -n TARGET` in the repository: the target exists and
#                                its recipe expands (running them is the targets' own
#                                business: minutes to hours);
#   `export PATH=...`         -> dropped (this script sets PATH itself);
#   synth-grads --dim 200000 -n 3000        -> --dim 2000 -n 300
#   dump-grads --samples 3000               -> --samples 40
#   dump-grads -n 500 (the demo)            -> -n 20
#   dump-grads -n 300, powerlaw-fit --top-k 100  -> -n 60, --top-k 20
#   train: trains on 1,000 MNIST images (--val-size 59000), 2 epochs instead of 3 or 25
#          (checkpoints 0,1,2 / 0,1: epoch-009 becomes epoch-001, interp-loss's --epochs 10
#          becomes --epochs 2), interp-loss --eval-samples 1000 -> 100;
#   hessian-align: --hessian-samples 200, -b 10,100, -n 3, -k 2.
# A block fails the test when any of its commands fails (bash -e -o pipefail). Blocks that
# need MNIST are skipped, saying so, when neither data/raw nor $GRADSCOPE_DATA_MIRROR
# holds it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(cd "$ROOT" && cd "${GRADSCOPE_BIN:-target/release}" && pwd)"
export PATH="$BIN:$ROOT/.venv/bin:$PATH"
export GRADSCOPE_DATA_MIRROR="${GRADSCOPE_DATA_MIRROR:-$ROOT/../shared/data}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
[ -d "$ROOT/data" ] && ln -s "$ROOT/data" "$work/data"
have_mnist=0
for d in "$ROOT/data/raw/mnist" "$GRADSCOPE_DATA_MIRROR/mnist"; do [ -d "$d" ] && have_mnist=1; done

small() {
    sed -E \
        -e '/^export PATH=/d' \
        -e "s#^make ([a-z-]+)#make -n -C '$ROOT' \\1#" \
        -e 's/--dim 200000 -n 3000/--dim 2000 -n 300/' \
        -e 's/--samples 3000/--samples 40/' \
        -e 's/ -n 500 / -n 20 /' \
        -e 's/ -n 300 / -n 60 /' \
        -e 's/--top-k 100/--top-k 20/' \
        -e 's/^(train .*--dataset mnist)/\1 --val-size 59000/' \
        -e 's/--epochs 3 --checkpoint-epochs 0,1,2,3/--epochs 2 --checkpoint-epochs 0,1,2/' \
        -e 's/--epochs 25 --checkpoint-epochs 0,9,24/--epochs 2 --checkpoint-epochs 0,1/' \
        -e 's/epoch-009/epoch-001/' \
        -e 's/--epochs 10 --eval-samples 1000/--epochs 2 --eval-samples 100/' \
        -e 's/--hessian-samples 2000/--hessian-samples 200/' \
        -e 's/-b 100,1000 -n 10 -k 5/-b 10,100 -n 3 -k 2/'
}

# The ```sh blocks, NUL-separated.
blocks="$work/blocks"
awk 'BEGIN { inb = 0 }
     /^```sh[[:space:]]*$/ { inb = 1; next }
     /^```/ && inb { inb = 0; printf "%c", 0; next }
     inb { print }' "$ROOT/README.md" >"$blocks"

passed=0
failed=0
skipped=0
i=0
while IFS= read -r -d '' block; do
    i=$((i + 1))
    first=$(printf '%s\n' "$block" | grep -v '^[[:space:]]*#' | grep -m1 . || true)
    if [ "$have_mnist" = 0 ] && printf '%s' "$block" | grep -q -- '--dataset mnist\|runs/'; then
        skipped=$((skipped + 1))
        echo "skip block $i ($first): MNIST not found in data/raw or \$GRADSCOPE_DATA_MIRROR"
        continue
    fi
    script="$work/block$i.sh"
    printf '%s\n' "$block" | small >"$script"
    if (cd "$work" && bash -euo pipefail "$script") >"$work/block$i.log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   block $i: $first"
    else
        failed=$((failed + 1))
        echo "FAIL block $i: $first"
        echo "--- as run:"
        cat "$script"
        echo "--- output (last 20 lines):"
        tail -20 "$work/block$i.log"
    fi
done <"$blocks"
echo "README blocks: $passed passed, $failed failed, $skipped skipped"
[ "$i" -gt 0 ] || { echo "no sh blocks found in README.md"; exit 1; }
[ "$failed" -eq 0 ]
