#!/usr/bin/env python3
"""scipy's least_squares (method='lm', MINPACK's lmder, and 'trf') on the 27
NIST StRD nonlinear regression problems in tests/data/nist/, from both of
NIST's starting points, exact Jacobians, xtol = ftol = gtol = 1e-15, for
comparison with tests/nist.rs (LevenbergMarquardt).

Residuals and Jacobians come from hesse itself (examples/nist_eval.rs, which
serves hesse::problems::nist::NistProblem), so both sides solve the same
problems from the same starts. LRE as hesse::problems::nist::lre:
-log10(|est - cert| / |cert|), capped at 11, 0 when negative or not finite.
The RSS is sum r_i^2 (twice scipy's `cost`).

Run by hand (not in CI), from the repository root:
    cargo build --release --example nist_eval
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install scipy numpy
    /tmp/venv/bin/python scripts/scipy_nist_lm.py > tests/data/scipy_nist_lm.txt

Prints one line per run:
`method problem start lre_params lre_rss nfev njev status`, `lre_params` the
smallest LRE over the parameters, `status` scipy's (0 max_nfev, 1 gtol,
2 ftol, 3 xtol, 4 ftol and xtol) or the exception's name.
"""
import math
import pathlib
import subprocess

import numpy as np
import scipy
from scipy.optimize import least_squares

EVAL = "target/release/examples/nist_eval"
DATA = pathlib.Path("tests/data/nist")
TOL = 1e-15
MAX_NFEV = 100000
METHODS = ["lm", "trf"]
LRE_CAP = 11.0


def lre(est, cert):
    if not (math.isfinite(est) and math.isfinite(cert)):
        return 0.0
    err = abs(est) if cert == 0.0 else abs((est - cert) / cert)
    if err == 0.0:
        return LRE_CAP
    return min(max(-math.log10(err), 0.0), LRE_CAP)


class Problem:
    def __init__(self, path, start):
        self.proc = subprocess.Popen(
            [EVAL, str(path), str(start)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        line = self.proc.stdout.readline
        self.n = int(line())
        self.x0 = np.array([float(t) for t in line().split()])
        self.m = int(line())
        self.certified = [float(t) for t in line().split()]
        self.certified_rss = float(line())
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


def main():
    print(f"# scipy {scipy.__version__} (numpy {np.__version__}) least_squares on the 27 NIST StRD")
    print("# nonlinear regression problems of tests/data/nist/ (hesse's NistProblem residuals and exact")
    print("# Jacobians through examples/nist_eval.rs), starts 1 and 2, method 'lm' (MINPACK lmder) and")
    print(f"# 'trf', xtol = ftol = gtol = {TOL:g}, max_nfev {MAX_NFEV}; rss = sum r_i^2 = 2 cost.")
    print("# Made by hand with: python3 scripts/scipy_nist_lm.py (see its docstring).")
    print("# method problem start lre_params lre_rss nfev njev status"
          " (scipy: 0 max_nfev, 1 gtol, 2 ftol, 3 xtol, 4 ftol and xtol)")
    files = sorted(DATA.glob("*.dat"), key=lambda p: p.stem.lower())
    for method in METHODS:
        for path in files:
            for start in (1, 2):
                p = Problem(path, start)
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
                        x, rss = r.x, 2.0 * r.cost
                        fe, je, status = r.nfev, r.njev or 0, r.status
                    except Exception as e:  # a non-finite residual at the start, say
                        x, rss = [math.nan] * p.n, math.nan
                        fe, je, status = 0, 0, type(e).__name__
                p.close()
                b = min(lre(float(e), c) for e, c in zip(x, p.certified))
                s = lre(float(rss), p.certified_rss)
                print(f"{method} {path.stem} {start} {b:.2f} {s:.2f} {fe} {je} {status}")


if __name__ == "__main__":
    main()
