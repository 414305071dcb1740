#!/usr/bin/env python3
"""scipy's L-BFGS-B, TNC and trust-constr on the bounded MGH suite
(hesse::problems::bounded: MGH problems with a known minimizer, in boxes
that cut it off), from the 1x, 10x, 100x starts, exact gradients,
pgtol 1e-10, at most 20000 iterations, for comparison with
tests/bounds.rs (`against_scipy`) and examples/bounds_table.rs.

Values, gradients and boxes come from hesse itself
(examples/bounded_eval.rs), so both sides solve the same problems.

Run by hand (not in CI), from the repository root:
    cargo build --release --example bounded_eval
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install scipy
    /tmp/venv/bin/python scripts/scipy_bounds.py [rows] [all] [x]

Prints one line per L-BFGS-B run as `method id scale f nfev njev pg`
(tests/data/scipy_bounds.txt holds that output); with `all`, TNC and
trust-constr too; with `x`, the solution follows on the line
(tests/data/scipy_bounds_x.txt holds the L-BFGS-B lines with `x`). Solved counts are made by tests/bounds.rs, against the
lowest f any method reached on the problem.
"""
import subprocess
import sys

import numpy as np
import scipy
from scipy.optimize import Bounds, minimize

EVAL = "target/release/examples/bounded_eval"
IDS = [1, 2, 3, 4, 5, 7, 11, 12, 13, 14, 18, 21, 22, 25, 27, 32, 33, 34]
SCALES = [1.0, 10.0, 100.0]
METHODS = {
    "L-BFGS-B": dict(gtol=1e-10, ftol=0.0, maxiter=20000, maxfun=10**9),
    "TNC": dict(gtol=1e-10, ftol=0.0, xtol=0.0, maxfun=20000),
    "trust-constr": dict(gtol=1e-10, xtol=1e-14, maxiter=20000),
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
        line = self.proc.stdout.readline
        self.n = int(line())
        self.x0 = np.array([float(t) for t in line().split()])
        self.lo = np.array([float(t) for t in line().split()])
        self.hi = np.array([float(t) for t in line().split()])

    def fg(self, x):
        self.proc.stdin.write(" ".join(repr(float(v)) for v in x) + "\n")
        vals = [float(t) for t in self.proc.stdout.readline().split()]
        return vals[0], np.array(vals[1:])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def projected_grad_norm(x, g, lo, hi):
    return float(np.max(np.abs(np.clip(x - g, lo, hi) - x)))


def main():
    methods = list(METHODS) if "all" in sys.argv else ["L-BFGS-B"]
    print(f"# scipy {scipy.__version__}: method id scale f nfev njev pg")
    for method in methods:
        for pid in IDS:
            for scale in SCALES:
                p = Problem(pid, scale)
                x0 = np.clip(p.x0, p.lo, p.hi)
                with np.errstate(all="ignore"):
                    r = minimize(p.fg, x0, jac=True, method=method,
                                 bounds=Bounds(p.lo, p.hi), options=METHODS[method])
                _, g = p.fg(r.x)
                pg = projected_grad_norm(r.x, g, p.lo, p.hi)
                p.close()
                njev = getattr(r, "njev", r.nfev)
                line = f"{method} {pid} {scale:g} {r.fun:.12e} {r.nfev} {njev} {pg:.3e}"
                if "x" in sys.argv:
                    line += " " + " ".join(repr(float(v)) for v in r.x)
                print(line)


if __name__ == "__main__":
    main()
