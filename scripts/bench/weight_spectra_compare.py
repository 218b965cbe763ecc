"""`make bench`'s weight-spectra section: the two tables side by side, the speed ratio, and
the relative differences of alpha and xmin per layer.

    python weight_spectra_compare.py OURS.csv WW.csv OUR_S OUR_KIB WW_S WW_KIB THREADS NETWORK SVD_S FLOOR

NETWORK: the words that name the weights in the first line; SVD_S: the seconds of
weightwatcher's LAPACK SVDs alone (weight_spectra_ww.py svd); FLOOR: the three numbers
of `weight_spectra_ww.py floor` (our route through LAPACK in float64 and float32, and the
float32 eigenvalues' largest distance relative to each matrix's largest eigenvalue).
"""
import csv, sys
ours = {r["layer"]: r for r in csv.DictReader(open(sys.argv[1]))}
ww = {r["layer"]: r for r in csv.DictReader(open(sys.argv[2]))}
w_rs, m_rs, w_py, m_py, t = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
network, svd_s = sys.argv[8], float(sys.argv[9])
floor64, floor32, floor_dev = (float(x) for x in sys.argv[10].split())
analyze = float(next(iter(ww.values()))["seconds"])
print(f"weight-spectra, {network}, {len(ours)} layers, {t} threads")
print(f"  gradscope weight-spectra   {w_rs:7.2f} s (whole process)  peak RSS {m_rs / 1024:7.1f} MiB")
print(f"  weightwatcher 0.7.7        {w_py:7.2f} s (whole process; analyze() alone {analyze:.2f} s)  peak RSS {m_py / 1024:7.1f} MiB")
print(f"  speed-up {analyze / w_rs:.1f}x against analyze() alone, {w_py / w_rs:.1f}x whole processes (goal >= 20x)")
print(f"  of analyze(), its LAPACK SVDs alone {svd_s:.2f} s ({svd_s / analyze:.0%}): 20x would need {analyze / 20:.3f} s, "
      f"{svd_s / (analyze / 20):.0f}x faster than those SVDs")
print(f"  our route (W^T W / N, then its eigenvalues) through LAPACK: float64 {floor64:.3f} s, float32 {floor32:.3f} s "
      f"(eigenvalues within {floor_dev:.1e} of each matrix's largest)")
worst = 0.0
compared = 0
for name, w in ww.items():
    o = ours[name]
    if int(w["num_evals"]) < 20:
        print(f"  {name:12s} {o['shape']:>12s} evals {int(o['num_evals']):5d}  alpha {float(o['alpha']):.6f} (ww {float(w['alpha']):.6f}, "
              "its small-sample fit below 20 eigenvalues: not compared)")
        continue
    compared += 1
    scale = float(o["N"]) / (2.0 if o["kind"] == "conv2d" else 1.0)
    da = abs(float(o["alpha"]) - float(w["alpha"])) / float(w["alpha"])
    dx = abs(float(o["xmin"]) * scale - float(w["xmin"])) / float(w["xmin"])
    worst = max(worst, da, dx)
    print(f"  {name:12s} {o['shape']:>12s} evals {int(o['num_evals']):5d}  alpha {float(o['alpha']):.6f} (ww {float(w['alpha']):.6f})  "
          f"rel diff alpha {da:.1e}, xmin {dx:.1e}")
print(f"  largest relative difference in alpha or xmin: {worst:.1e} over {compared} layers")
