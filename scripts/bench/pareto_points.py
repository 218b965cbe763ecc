import sys
import numpy as np
u = np.random.default_rng(20090201).random(100_000)
x = (1.0 - u) ** (-1.0 / 1.5)
for path, m in [(sys.argv[1], 100_000), (sys.argv[2], 10_000)]:
    with open(path, "w") as f:
        f.write("x\n")
        f.writelines(f"{float(v)!r}\n" for v in x[:m])
