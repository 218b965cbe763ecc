"""The spectrum benchmark's check (scripts/bench/run.sh): powerlaw-fit's covariance eigenvalues
against numpy.linalg.eigvalsh's. Usage: spectrum_compare.py RUST_CSV NUMPY_CSV
"""
import csv, sys
a = [float(r["eigenvalue"]) for r in csv.DictReader(open(sys.argv[1])) if r["scope"] == "all"]
b = [float(r["eigenvalue"]) for r in csv.DictReader(open(sys.argv[2]))]
top = max(abs(b[0]), 1e-300)
worst = max(abs(x - y) for x, y in zip(a, b)) / top
print(f"  {len(a)} eigenvalues; largest {a[0]:.10g} (numpy {b[0]:.10g}); max |diff| / lambda_max = {worst:.1e}")
