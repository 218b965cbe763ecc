"""The four studies' published values, as transcribed into scripts/papers/<study>.csv.

Each CSV holds one study's tables, one row per table row (and per batch size where a table
spreads batch sizes over columns), the numbers exactly as printed in the study (thousands
separators dropped, "4.51x10^-5" written 4.51e-5, percentages without the % sign). The
reproduction scripts and the report read them from here; nothing else carries a copy.
`check.py` verifies every number against the study texts.

    import papers            # with scripts/papers on sys.path
    rows = papers.load("structure", table="2")
"""
import csv
import os

HERE = os.path.dirname(os.path.abspath(__file__))
STUDIES = ("vmf", "walk", "gaussianity", "structure")


def load(study, **where):
    """Rows of scripts/papers/<study>.csv (dicts of strings) whose columns equal `where`."""
    with open(os.path.join(HERE, f"{study}.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if all(r[k] == str(v) for k, v in where.items())]


def number(s):
    """A table cell as a float, or None for an empty cell (the study left it blank)."""
    return float(s) if s not in ("", None) else None
