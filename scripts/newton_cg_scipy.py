"""scipy's trust-ncg and Newton-CG on extended Rosenbrock (MGH 21), n = 1e6.

The baseline of benches/newton_cg.rs: same problem (independent pairs,
f = sum 100 (x_{2i+1} - x_{2i}^2)^2 + (1 - x_{2i})^2), same start
(-1.2, 1, ...), analytic gradient and Hessian-vector product, gtol 1e-6
(scipy's test is on the 2-norm for trust-ncg, on the mean |step| for
Newton-CG's xtol; we report what each does with gtol=1e-6).

Run: python3 scripts/newton_cg_scipy.py [n] [repeats] [methods, comma-separated]
(pip install scipy numpy; not part of CI.)
"""
import sys
import time

import numpy as np
from scipy.optimize import minimize

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
methods = sys.argv[3].split(",") if len(sys.argv) > 3 else ["trust-ncg", "Newton-CG"]
counts = {"fg": 0, "hv": 0}


def fun(x):
    counts["fg"] += 1
    a, b = x[0::2], x[1::2]
    t = b - a * a
    u = 1.0 - a
    g = np.empty_like(x)
    g[0::2] = -400.0 * a * t - 2.0 * u
    g[1::2] = 200.0 * t
    return float(np.sum(100.0 * t * t + u * u)), g


def hessp(x, v):
    counts["hv"] += 1
    a, b = x[0::2], x[1::2]
    va, vb = v[0::2], v[1::2]
    h00 = 1200.0 * a * a - 400.0 * b + 2.0
    h01 = -400.0 * a
    out = np.empty_like(x)
    out[0::2] = h00 * va + h01 * vb
    out[1::2] = h01 * va + 200.0 * vb
    return out


x0 = np.tile([-1.2, 1.0], n // 2)
options = {"trust-ncg": {"gtol": 1e-6}, "Newton-CG": {"xtol": 1e-9}}
for method in methods:
    opts = options[method]
    times = []
    for _ in range(repeats):
        counts["fg"] = counts["hv"] = 0
        t = time.perf_counter()
        res = minimize(fun, x0, jac=True, hessp=hessp, method=method, options=opts)
        times.append(time.perf_counter() - t)
    g = fun(res.x)[1]
    print(
        f"{method}: nit {res.nit}, f/g evals {counts['fg']}, Hv {counts['hv']}, "
        f"median {np.median(times):.3f} s of {repeats} ({', '.join(f'{s:.3f}' for s in times)}), "
        f"f {res.fun:.3e}, |g|inf {np.max(np.abs(g)):.2e}, success {res.success}"
    )
