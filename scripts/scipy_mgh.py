#!/usr/bin/env python3
"""scipy's BFGS, L-BFGS-B and CG on the 35 Moré-Garbow-Hillstrom problems
(the MGH protocol: 1x, 10x, 100x starts, exact gradients, gtol 1e-10,
at most 20000 iterations), for comparison with examples/mgh_table.rs.

Values and gradients come from hesse itself (examples/mgh_eval.rs), so both
sides minimize the same functions from the same starts.

Run by hand (not in CI), from the repository root:
    cargo build --release --example mgh_eval
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install scipy
    /tmp/venv/bin/python scripts/scipy_mgh.py [rows]

Prints, per method, solved counts at 1x/10x/100x and total f and g
evaluations; with `rows`, also one line per run as
`method id scale solved f nfev njev` (read by the comparison in the
closing note of issue 4).
"""
import subprocess
import sys

import numpy as np
import scipy
from scipy.optimize import minimize

EVAL = "target/release/examples/mgh_eval"
SCALES = [1.0, 10.0, 100.0]
METHODS = {
    "BFGS": dict(gtol=1e-10, maxiter=20000),
    "L-BFGS-B": dict(gtol=1e-10, ftol=0.0, maxiter=20000, maxfun=10**9),
    "CG": dict(gtol=1e-10, maxiter=20000),
}


class Problem:
    def __init__(self, pid, scale):
        self.proc = subprocess.Popen(
            [EVAL, str(pid), repr(scale)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.n = int(self.proc.stdout.readline())
        self.x0 = np.array([float(t) for t in self.proc.stdout.readline().split()])
        self.f_star = float(self.proc.stdout.readline())

    def fg(self, x):
        self.proc.stdin.write(" ".join(repr(float(v)) for v in x) + "\n")
        vals = [float(t) for t in self.proc.stdout.readline().split()]
        return vals[0], np.array(vals[1:])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def solved(f, f_star):
    return np.isfinite(f) and f - f_star <= max(1e-6 * abs(f_star), 1e-10)


def main():
    rows = len(sys.argv) > 1 and sys.argv[1] == "rows"
    print(f"scipy {scipy.__version__}")
    for method, options in METHODS.items():
        count = [0, 0, 0]
        nfev = njev = 0
        for pid in range(1, 36):
            for k, scale in enumerate(SCALES):
                p = Problem(pid, scale)
                with np.errstate(all="ignore"):
                    r = minimize(p.fg, p.x0, jac=True, method=method, options=options)
                p.close()
                ok = solved(r.fun, p.f_star)
                count[k] += ok
                nfev += r.nfev
                njev += r.njev
                if rows:
                    print(f"  {method} {pid} {scale:g} {int(ok)} {r.fun:.6e} {r.nfev} {r.njev}")
        print(f"{method:<9} {count[0]:>3} {count[1]:>3} {count[2]:>3}   f {nfev:>8}  g {njev:>8}")


if __name__ == "__main__":
    main()
