"""The walk tools' benchmark report (scripts/bench/hessian_align.sh): HVP/gradient cost ratios,
Lanczos against power iteration, interp-loss against the PyTorch script; writes OUT/walk.csv.
Usage: walk_report.py OUT_DIR THREADS
"""
import csv, json, sys
out, threads = sys.argv[1], int(sys.argv[2])
e = json.load(open(f"{out}/walk-eigen.json"))
tight = json.load(open(f"{out}/walk-eigen-tight.json"))["eigen"][0]["values"]
c1000 = json.load(open(f"{out}/walk-cost1000.json"))["cost"]
c128 = e["cost"]
lz, pw = e["eigen"][0], e["eigen"][1]
def maxrel(v):
    return max(abs(a - b) / abs(b) for a, b in zip(v, tight))
w_rs, m_rs = map(float, open(f"{out}/walk-interp.time").read().split())
w_py, m_py = map(float, open(f"{out}/walk-interp-torch.time").read().split())
w_ff, m_ff = map(float, open(f"{out}/walk-interp-full.time").read().split())
ep_ff = next(csv.DictReader(open(f"{out}/walk-interp-full-epochs.csv")))
py_log = open(f"{out}/walk-interp-torch.log").read().strip().splitlines()[-1]
ep = next(csv.DictReader(open(f"{out}/walk-interp-epochs.csv")))
print(f"walk study tools, MLP 784-512-512-10 on MNIST after one epoch, {threads} threads")
for c in (c128, c1000):
    print(f"  HVP / gradient on {c['batch']:>5} images: {1e3 * c['hvp_s']:8.2f} ms / {1e3 * c['gradient_s']:8.2f} ms = {c['ratio']:.2f}x ({c['method']}; goal <= 2.5x; multiply-adds 2.08x)")
    print(f"    by double backward: {1e3 * c['hvp_double_backward_s']:8.2f} ms = {c['ratio_double_backward']:.2f}x (multiply-adds 2.50x)")
    print(f"    a further HVP on the same images, gradient's graph kept (Lanczos' products): {1e3 * c['hvp_graph_kept_s']:8.2f} ms = {c['ratio_graph_kept']:.2f}x (floor 1.50x)")
print(f"  top-10 eigenvalues of H (1,000 images), tol 1e-3:")
print(f"    Lanczos (full reorth.)      {lz['hvps']:4d} HVPs {lz['seconds']:7.2f} s  max rel. error vs tol-1e-8 Lanczos {maxrel(lz['values']):.2e}")
print(f"    power iteration (PyHessian) {pw['hvps']:4d} HVPs {pw['seconds']:7.2f} s  max rel. error {maxrel(pw['values']):.2e}  converged {pw['converged']}")
print(f"    lambda_1..3 {', '.join(f'{v:.4f}' for v in tight[:3])}; HVP ratio power/Lanczos {pw['hvps'] / lz['hvps']:.1f}x")
print(f"  interp-loss, one epoch ({ep['steps']} updates, 12 points, 1,000 images): {w_rs:.1f} s, peak RSS {m_rs / 1024:.0f} MiB; barriers {ep['barriers']}")
print(f"  interp-loss --full-forward (a full pass at every point):     {w_ff:.1f} s, peak RSS {m_ff / 1024:.0f} MiB; barriers {ep_ff['barriers']}")
print(f"  plain PyTorch script, same evaluations: {w_py:.1f} s, peak RSS {m_py / 1024:.0f} MiB ({py_log})")
print(f"  ratio PyTorch / interp-loss {w_py / w_rs:.2f}x (full forward passes: {w_py / w_ff:.2f}x)")
with open(f"{out}/walk.csv", "w") as f:
    f.write("bench,threads,value,unit,note\n")
    f.write(f"hvp_over_gradient_128,{threads},{c128['ratio']},x,medians of 10\n")
    f.write(f"hvp_over_gradient_1000,{threads},{c1000['ratio']},x,medians of 10\n")
    f.write(f"hvp_double_backward_over_gradient_128,{threads},{c128['ratio_double_backward']},x,medians of 10\n")
    f.write(f"hvp_double_backward_over_gradient_1000,{threads},{c1000['ratio_double_backward']},x,medians of 10\n")
    f.write(f"hvp_graph_kept_over_gradient_128,{threads},{c128['ratio_graph_kept']},x,medians of 10\n")
    f.write(f"hvp_graph_kept_over_gradient_1000,{threads},{c1000['ratio_graph_kept']},x,medians of 10\n")
    f.write(f"lanczos_hvps,{threads},{lz['hvps']},products,top-10 tol 1e-3\n")
    f.write(f"power_hvps,{threads},{pw['hvps']},products,top-10 tol 1e-3\n")
    f.write(f"lanczos_max_rel_err,{threads},{maxrel(lz['values'])},,vs tol 1e-8\n")
    f.write(f"power_max_rel_err,{threads},{maxrel(pw['values'])},,vs tol 1e-8\n")
    f.write(f"interp_loss_epoch,{threads},{w_rs},s,469 updates k=10 1000 images\n")
    f.write(f"interp_loss_full_forward_epoch,{threads},{w_ff},s,469 updates k=10 1000 images --full-forward\n")
    f.write(f"pytorch_interp_epoch,{threads},{w_py},s,same evaluations\n")
