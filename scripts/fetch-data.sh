#!/usr/bin/env bash
# Fetches the datasets into data/raw/ and verifies them against data/checksums.md5.
#
#   scripts/fetch-data.sh [DATASET...]     DATASET: mnist fashion-mnist cifar10 cifar100
#
# Each file is taken, in order, from data/raw/ when already there and intact, from the
# mirror directory $GRADSCOPE_DATA_MIRROR (same layout: mnist/..., cifar10/...), or from
# the dataset's official site. A file whose md5 differs from the official release's is
# refused. Exit status 1 when any requested file could not be had.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/raw
sums=data/checksums.md5
datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(mnist fashion-mnist)

url_of() {
    local rel=$1 base=${1#*/}
    case $rel in
        mnist/*) echo "https://ossci-datasets.s3.amazonaws.com/mnist/$base" ;;
        fashion-mnist/*) echo "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/$base" ;;
        cifar10/*|cifar100/*) echo "https://www.cs.toronto.edu/~kriz/$base" ;;
    esac
}

md5_of() { md5sum "$1" | cut -d' ' -f1; }

failed=0
for ds in "${datasets[@]}"; do
    lines=$(grep "  $ds/" "$sums" || true)
    if [ -z "$lines" ]; then
        echo "error: unknown dataset $ds (known: mnist fashion-mnist cifar10 cifar100)" >&2
        exit 1
    fi
    while read -r sum rel; do
        out=$dest/$rel
        mkdir -p "$(dirname "$out")"
        if [ -f "$out" ] && [ "$(md5_of "$out")" = "$sum" ]; then
            echo "ok      $rel"
            continue
        fi
        got=""
        if [ -n "${GRADSCOPE_DATA_MIRROR:-}" ] && [ -f "$GRADSCOPE_DATA_MIRROR/$rel" ]; then
            cp "$GRADSCOPE_DATA_MIRROR/$rel" "$out.tmp" && got="mirror"
        elif command -v curl >/dev/null && curl -fsSL --retry 2 --connect-timeout 15 -o "$out.tmp" "$(url_of "$rel")" 2>/dev/null; then
            got="download"
        fi
        if [ -z "$got" ]; then
            rm -f "$out.tmp"
            echo "error: cannot get $rel (md5 $sum): not in \$GRADSCOPE_DATA_MIRROR and $(url_of "$rel") unreachable" >&2
            failed=1
            continue
        fi
        if [ "$(md5_of "$out.tmp")" != "$sum" ]; then
            echo "error: $rel from $got has md5 $(md5_of "$out.tmp"), expected $sum; refused" >&2
            rm -f "$out.tmp"
            failed=1
            continue
        fi
        mv "$out.tmp" "$out"
        echo "$got $rel"
    done <<< "$lines"
done
exit $failed
