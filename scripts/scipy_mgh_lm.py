#!/usr/bin/env python3
"""scipy's least_squares (method='lm', MINPACK's lmder, and 'trf') on the 35
Moré-Garbow-Hillstrom problems in residual form from the 1x, 10x, 100x
starts, exact Jacobians, xtol = ftol = gtol = 1e-15, for comparison with
examples/mgh_lm.rs (LevenbergMarquardt).

Residuals and Jacobians come from hesse itself (examples/mgh_eval.rs in its
`residuals` mode), so both sides solve the same problems from the same
starts. Solved means f - f* <= max(1e-6 |f*|, 1e-10) with f = sum r_i^2
(twice scipy's `cost`), as in examples/mgh_lm.rs.

Run by hand (not in CI), from the repository root:
    cargo build --release --example mgh_eval
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install scipy
    /tmp/venv/bin/python scripts/scipy_mgh_lm.py [rows]

Prints, per method, solved counts at 1x/10x/100x and total residual and
Jacobian evaluations; with `rows`, also one line per run as
`method id scale solved f nfev njev status` (tests/data/scipy_mgh_lm.txt).
"""
import subprocess
import sys

import numpy as np
import scipy
from scipy.optimize import least_squares

EVAL = "target/release/examples/mgh_eval"
SCALES = [1.0, 10.0, 100.0]
TOL = 1e-15
MAX_NFEV = 100000
METHODS = ["lm", "trf"]


class Problem:
    def __init__(self, pid, scale):
        self.proc = subprocess.Popen(
            [EVAL, str(pid), repr(scale), "residuals"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.n = int(self.proc.stdout.readline())
        self.x0 = np.array([float(t) for t in self.proc.stdout.readline().split()])
        self.f_star = float(self.proc.stdout.readline())
        self.m = int(self.proc.stdout.readline())
        self.last = None

    def _eval(self, x):
        # MINPACK asks for r and J at the same point separately: one pipe
        # round trip answers both.
        key = tuple(float(v) for v in x)
        if self.last is None or self.last[0] != key:
            self.proc.stdin.write(" ".join(repr(v) for v in key) + "\n")
            vals = np.array([float(t) for t in self.proc.stdout.readline().split()])
            r = vals[: self.m]
            jac = vals[self.m :].reshape(self.m, self.n)
            self.last = (key, r, jac)
        return self.last[1], self.last[2]

    def fun(self, x):
        return self._eval(x)[0].copy()

    def jac(self, x):
        return self._eval(x)[1].copy()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def solved(f, f_star):
    return bool(np.isfinite(f) and f - f_star <= max(1e-6 * abs(f_star), 1e-10))


def main():
    rows = len(sys.argv) > 1 and sys.argv[1] == "rows"
    print(f"# scipy {scipy.__version__}, numpy {np.__version__}: least_squares, exact")
    print(f"# Jacobians, xtol = ftol = gtol = {TOL:g}, max_nfev = {MAX_NFEV}")
    print("# method id scale solved f nfev njev status")
    for method in METHODS:
        count = [0, 0, 0]
        nfev = njev = 0
        for pid in range(1, 36):
            for k, scale in enumerate(SCALES):
                p = Problem(pid, scale)
                with np.errstate(all="ignore"):
                    try:
                        r = least_squares(
                            p.fun,
                            p.x0,
                            jac=p.jac,
                            method=method,
                            xtol=TOL,
                            ftol=TOL,
                            gtol=TOL,
                            max_nfev=MAX_NFEV,
                        )
                        f, fe, je, status = 2.0 * r.cost, r.nfev, r.njev or 0, r.status
                    except Exception as e:  # a non-finite start, say
                        f, fe, je, status = float("nan"), 0, 0, type(e).__name__
                p.close()
                ok = solved(f, p.f_star)
                count[k] += ok
                nfev += fe
                njev += je
                if rows:
                    print(f"  {method} {pid} {scale:g} {int(ok)} {f:.6e} {fe} {je} {status}")
        print(f"{method:<4} {count[0]:>3} {count[1]:>3} {count[2]:>3}   r {nfev:>8}  J {njev:>8}")


if __name__ == "__main__":
    main()
