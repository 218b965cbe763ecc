"""The first step at which run DIR's subset loss (subset_loss.parquet, written by
`train --loss-every`) is at or below TARGET; empty when never.

    python steps_to_target.py DIR TARGET
"""
import sys, polars as pl
from pathlib import Path
p = Path(sys.argv[1]) / "subset_loss.parquet"
d = pl.read_parquet(p) if p.exists() else pl.DataFrame({"step": [], "subset_loss": []})
hit = d.filter(pl.col("subset_loss") <= float(sys.argv[2]))
print(hit["step"][0] if hit.height and hit["subset_loss"][0] == hit["subset_loss"][0] else "")
