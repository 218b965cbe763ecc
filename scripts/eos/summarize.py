"""Summary of `make reproduce-edge-of-stability` (scripts/eos/edge_of_stability.sh).

Reads each run's sharpness.parquet (and metrics.parquet beside it), prints per learning
rate: the initial sharpness, the step where it first reaches 90% of 2/lr, the mean and
range of the sharpness after that step (the plateau) against 2/lr, and the final training
loss; writes results/eos/summary.csv (the figures are drawn by `plot` in the shell
script). The paper's statement: the sharpness rises until it reaches 2/lr and
then hovers just above it (Cohen et al. 2021, section 3).
"""

import sys
from pathlib import Path

import polars as pl


def main():
    out = Path(sys.argv[1])
    rows = []
    for path in sys.argv[2:]:
        s = pl.read_parquet(path).sort("step")
        m = pl.read_parquet(Path(path).parent / "metrics.parquet").sort("step")
        lr = s["lr"][0]
        edge = 2.0 / lr
        reached = s.filter(pl.col("sharpness") >= 0.9 * edge)
        first = reached["step"][0] if reached.height else None
        plateau = s.filter(pl.col("step") >= first) if first is not None else s.head(0)
        row = {
            "lr": lr,
            "two_over_lr": edge,
            "sharpness_initial": s["sharpness"][0],
            "first_step_at_90pct": first,
            "plateau_mean": plateau["sharpness"].mean() if plateau.height else None,
            "plateau_min": plateau["sharpness"].min() if plateau.height else None,
            "plateau_max": plateau["sharpness"].max() if plateau.height else None,
            "plateau_mean_over_2_lr": (plateau["sharpness"].mean() / edge) if plateau.height else None,
            "measurements": s.height,
            "steps": int(m["step"].max()),
            "final_train_loss": m["train_loss"][-1],
        }
        rows.append(row)
    table = pl.DataFrame(rows)
    table.write_csv(out / "summary.csv")
    print("edge of stability (paper: the sharpness rises to 2/lr, then hovers just above it)")
    for r in rows:
        first = r["first_step_at_90pct"]
        if first is None:
            print(f"  lr {r['lr']:g}: sharpness {r['sharpness_initial']:.3f} -> never reached 90% of 2/lr = {r['two_over_lr']:g}")
            continue
        print(
            f"  lr {r['lr']:g}: sharpness {r['sharpness_initial']:.3f} at step 0, reaches 90% of 2/lr at step {first}; "
            f"after it mean {r['plateau_mean']:.3f} (range {r['plateau_min']:.3f}-{r['plateau_max']:.3f}) "
            f"against 2/lr = {r['two_over_lr']:g} (ratio {r['plateau_mean_over_2_lr']:.3f})"
        )
    print(f"-> {out / 'summary.csv'}")


if __name__ == "__main__":
    main()
