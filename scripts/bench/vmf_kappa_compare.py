"""The vmf-kappa benchmark's check (scripts/bench/run.sh): gradscope's and NumPy's kappa tables
agree on the columns both compute. Usage: vmf_kappa_compare.py RUST_CSV NUMPY_CSV
"""
import sys, csv
a = next(csv.DictReader(open(sys.argv[1]))); b = next(csv.DictReader(open(sys.argv[2])))
for c in ["r_bar", "kappa", "mean_norm", "gns", "gs"]:
    x, y = float(a[c]), float(b[c])
    print(f"  {c:10s} gradscope {x:.12g}  numpy {y:.12g}  rel diff {abs(x-y)/abs(y):.2e}")
