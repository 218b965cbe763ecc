"""The powerlaw benchmark's report (scripts/bench/run.sh): xmin, alpha, d_ks and n_tail of
powerlaw-fit beside the powerlaw package's, and the speed-ups.
Usage: powerlaw_compare.py OUT_DIR SECONDS_RUST_10K SECONDS_PACKAGE_10K SECONDS_RUST_100K SIZE...
"""
import csv, sys
out, w_rs10, w_pk10, w_rs100 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
for size in sys.argv[5:]:
    a = next(csv.DictReader(open(f"{out}/powerlaw-rust-{size}.csv")))
    b = next(csv.DictReader(open(f"{out}/powerlaw-package-{size}.csv")))
    print(f"  {size}: package fit alone {float(b['seconds']):.2f} s")
    for c in ["xmin", "alpha", "ks_d", "n_tail"]:
        x, y = float(a[c]), float(b[c])
        rel = abs(x - y) / abs(y)
        flag = "ok" if rel <= 1e-9 else "DIFFERS"
        print(f"    {c:7s} gradscope {x:.17g}  package {y:.17g}  rel diff {rel:.1e} {flag}")
print(f"  speed-up on the same 10,000 points (whole processes): {w_pk10 / w_rs10:.0f}x")
if "100k" in sys.argv[5:]:
    b = next(csv.DictReader(open(f"{out}/powerlaw-package-100k.csv")))
    print(f"  speed-up on the same 100,000 points: {float(b['seconds']) / w_rs100:.0f}x against the package's fit alone, "
          f"gradscope's whole process (goal >= 50x)")
else:
    print(f"  gradscope on 100,000 points vs the package on 10,000: {w_pk10 / w_rs100:.0f}x (POWERLAW_FULL=1 times the package on 100,000)")
