#!/usr/bin/env python3
"""scipy's L-BFGS-B on issue 20's scale problem, the side of
examples/bounds_scale.rs that hesse cannot run: extended Rosenbrock at
n = 1e6 from the standard start (-1.2, 1, -1.2, 1, ...), with x_{2i} <= 0.5
on every even (0-based) variable, active at the solution (each pair ends
at (0.5, 0.25)); gtol (pgtol) 1e-6, memory 10 as hesse's default.

The objective is vectorized numpy (one pass over x per call); the time
spent inside it is subtracted, so "outside per iteration" is L-BFGS-B's
own work (its Fortran core and scipy's wrapper), the figure compared with
hesse's `lbfgsb ... outside per iteration` line.

Measured 2026-12-07 on Intel Xeon (AVX-512, 2 cores, load 3-5 from
other sessions; `scipy_bounds_scale.py 1000000 1` interleaved with
`bounds_scale 1000000 3`, three times): scipy 1.17.1 594 ms per iteration
outside f (579-598; 18 iterations, 30 f+g); hesse's lbfgsb 43.4 ms (18
iterations, 30 f+g): 13.7x faster per iteration. (Earlier that day, load
6-7: scipy 684 ms, lbfgsb 87 ms, 7.8x.)
(2026-12-06, load 9: scipy 1290 ms, lbfgsb before its blocked bounded
path 397 ms.)
Idle machine (2026-12-07 11:38 UTC, same Intel Xeon, load < 1, three
single runs interleaved with `bounds_scale 1000000 1`): scipy 334, 317,
310 ms; lbfgsb 38.2, 38.8, 37.2 ms: 8.3-8.7x faster per iteration.

Run by hand (not in CI), from the repository root:
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install scipy
    /tmp/venv/bin/python scripts/scipy_bounds_scale.py [n] [reps]
"""
import sys
import time

import numpy as np
import scipy
from scipy.optimize import Bounds, minimize


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    x0 = np.tile([-1.2, 1.0], n // 2)
    upper = np.full(n, np.inf)
    upper[0::2] = 0.5
    bounds = Bounds(np.full(n, -np.inf), upper)
    inside = [0.0]
    g = np.empty(n)

    def fun(x):
        t0 = time.perf_counter()
        a, b = x[0::2], x[1::2]
        t = b - a * a
        u = 1.0 - a
        f = float(np.sum(100.0 * t * t + u * u))
        g[0::2] = -400.0 * a * t - 2.0 * u
        g[1::2] = 200.0 * t
        inside[0] += time.perf_counter() - t0
        return f, g.copy()

    per_iter = []
    for _ in range(reps):
        inside[0] = 0.0
        t0 = time.perf_counter()
        r = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"gtol": 1e-6, "ftol": 0.0, "maxcor": 10,
                              "maxiter": 100000, "maxfun": 100000})
        total = time.perf_counter() - t0
        outside = (total - inside[0]) / r.nit
        per_iter.append(outside)
        active = int(np.sum(r.x[0::2] >= 0.5))
        print(f"scipy {scipy.__version__} L-BFGS-B n = {n}: {r.nit} iterations, "
              f"{r.nfev} f+g, total {total:.3f} s, in f/g {inside[0]:.3f} s, "
              f"outside per iteration {outside * 1e3:.2f} ms, f = {r.fun:.3e}, "
              f"active {active}, {r.message}")
    per_iter.sort()
    print(f"median outside per iteration: {per_iter[len(per_iter) // 2] * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
