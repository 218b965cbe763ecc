"""Checks scripts/papers/*.csv against the studies' texts: every number in a CSV must occur
in the text of its study, as printed there (the study texts are plain-text extractions of
the papers, kept beside the repository, not in it).

Usage: check.py STUDY_TEXTS_DIR   (prints one line per study; exit 1 on a number not found)
"""
import csv
import os
import re
import sys

TEXTS = {"vmf": "vmf-directional-sgd.txt", "walk": "walk-with-sgd.txt",
         "gaussianity": "gaussianity-of-gradient-noise.txt",
         "structure": "overlooked-structure-appendix.txt"}
# Columns that are labels or our own bookkeeping, not the study's printed numbers.
SKIP = {"table", "batch_size", "samples", "minibatches", "updates_per_epoch", "epoch"}


def printed(v):
    """The forms a CSV number may take in the text: as is, with thousands separators (the
    vMF text prints '206, 128'), or as a power of ten (4.51e-5 -> '4.51×10^{-5}')."""
    m = re.fullmatch(r"([\d.]+)e(-?\d+)", v)
    if m:
        return [f"{m.group(1)}×10^{{{m.group(2)}}}"]
    forms = [v]
    ip, _, fp = v.partition(".")
    if len(ip) > 3:
        groups = []
        while len(ip) > 3:
            groups.insert(0, ip[-3:])
            ip = ip[:-3]
        grouped = ", ".join([ip] + groups) + ("." + fp if fp else "")
        forms += [grouped, grouped.replace(", ", ",")]
    return forms


def main(texts_dir):
    here = os.path.dirname(os.path.abspath(__file__))
    bad = 0
    for study, name in TEXTS.items():
        text = open(os.path.join(texts_dir, name), encoding="utf-8").read()
        checked = 0
        for r in csv.DictReader(open(os.path.join(here, f"{study}.csv"), newline="")):
            for col, v in r.items():
                if col in SKIP or not re.fullmatch(r"[\d.]+(e-?\d+)?", v or ""):
                    continue
                checked += 1
                if not any(re.search(r"(?<![\d.])" + re.escape(f) + r"(?![\d])", text) for f in printed(v)):
                    bad += 1
                    print(f"{study}: {col} = {v} ({dict(r)}) not found in {name}")
        print(f"{study}: {checked} numbers checked against {name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
