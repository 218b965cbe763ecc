"""The normtest benchmark's report (scripts/bench/run.sh): gradscope normtest against the scipy
loop, and the CSV of both. Usage: normtest_report.py SCIPY_JSON RUST_CSV SECONDS PEAK_KIB THREADS OUT_CSV
"""
import csv, json, sys
s = json.load(open(sys.argv[1])); rows = list(csv.DictReader(open(sys.argv[2])))
w_rs, m_rs, threads, out = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
d = s["dim"]; py = s["extrapolated_seconds"]
print(f"normtest, {d:,} coordinates x {s['n']} samples (Shapiro-Wilk + K^2 per coordinate), {threads} threads")
print(f"  gradscope normtest   {w_rs:8.2f} s  {1e6 * w_rs / d:7.2f} us/coord (reading included)  peak RSS {m_rs / 1024:7.1f} MiB")
print(f"  scipy {s['scipy']} loop    {py:8.2f} s  {s['us_per_coord']:7.2f} us/coord (shapiro {s['us_per_coord_shapiro']:.1f} + normaltest "
      f"{s['us_per_coord_normaltest']:.1f}; timed on {s['coords_timed']:,} coordinates, extrapolated, one thread)")
print(f"  speed-up {py / w_rs:.1f}x (goal >= 20x)")
for r in rows:
    print(f"  {r['test']:9s} gaussian % gradscope {float(r['gaussian_pct']):.3f} (all {d:,}); scipy {s['gaussian_pct_' + ('shapiro' if r['test'] == 'shapiro' else 'normaltest')]:.3f} (first {s['coords_timed']:,})")
print(f"  agreement on the first {s['coords_timed']:,} coordinates: max |dW| {s['max_abs_diff_w']:.2e}, max rel dp(SW) {s['max_rel_diff_shapiro_p']:.2e}, "
      f"max rel dK^2 {s['max_rel_diff_k2']:.2e}, max rel dp(K^2) {s['max_rel_diff_k2_p']:.2e}")
with open(out, "w") as f:
    f.write("bench,threads,coords,seconds,us_per_coord,peak_rss_mib,note\n")
    f.write(f"normtest,{threads},{d},{w_rs},{1e6 * w_rs / d},{m_rs / 1024},all coordinates; reading included\n")
    f.write(f"scipy-loop,1,{d},{py},{s['us_per_coord']},,timed on {s['coords_timed']} coordinates and extrapolated\n")
