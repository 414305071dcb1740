#!/usr/bin/env python3
"""scipy's least_squares(method='trf', bounds=...) on the 27 NIST StRD
nonlinear regression problems with bounds that cut the certified solution
off, for comparison with LevenbergMarquardt::with_bounds in
tests/nist_bounds.rs.

The box (the same rule as tests/nist_bounds.rs's `cut_box`): every parameter
within 50% of its certified value c, [min(0.5c, 1.5c), max(0.5c, 1.5c)],
except b1, which is held between 0.5c and 0.9c, so the certified solution is
outside. NIST's starts are projected onto the box (scipy's trf then moves
them strictly inside). Residuals and Jacobians come from hesse itself
(examples/nist_eval.rs), exact; xtol = ftol = gtol = 1e-15.

Run by hand (not in CI), from the repository root:
    cargo build --release --example nist_eval
    pip install scipy numpy
    python3 scripts/scipy_nist_bounded.py > tests/data/scipy_nist_bounded.txt

Prints one line per run: `problem start rss nfev status`, rss = sum r_i^2
(2 cost), status scipy's (0 max_nfev, 1 gtol, 2 ftol, 3 xtol, 4 ftol and
xtol, or the exception's name).
"""
import math
import pathlib

import numpy as np
import scipy
from scipy.optimize import least_squares

from scipy_nist_lm import DATA, Problem

TOL = 1e-15
MAX_NFEV = 100000


def cut_box(certified):
    lo = np.array([min(0.5 * c, 1.5 * c) for c in certified])
    hi = np.array([max(0.5 * c, 1.5 * c) for c in certified])
    c = certified[0]
    lo[0], hi[0] = min(0.5 * c, 0.9 * c), max(0.5 * c, 0.9 * c)
    return lo, hi


def main():
    print(f"# scipy {scipy.__version__} (numpy {np.__version__}) least_squares(method='trf', bounds=...)")
    print("# on the 27 NIST StRD problems of tests/data/nist/, b1 in [0.5c, 0.9c], the others in")
    print(f"# [0.5c, 1.5c], starts projected; xtol = ftol = gtol = {TOL:g}, max_nfev {MAX_NFEV}.")
    print("# Made by hand with: python3 scripts/scipy_nist_bounded.py (see its docstring).")
    print("# problem start rss nfev status")
    files = sorted(DATA.glob("*.dat"), key=lambda p: p.stem.lower())
    for path in files:
        for start in (1, 2):
            p = Problem(path, start)
            lo, hi = cut_box(p.certified)
            x0 = np.clip(p.x0, lo, hi)
            with np.errstate(all="ignore"):
                try:
                    r = least_squares(p.fun, x0, jac=p.jac, method="trf", bounds=(lo, hi),
                                      xtol=TOL, ftol=TOL, gtol=TOL, max_nfev=MAX_NFEV)
                    rss, fe, status = float(2.0 * r.cost), r.nfev, r.status
                except Exception as e:
                    rss, fe, status = math.nan, 0, type(e).__name__
            p.close()
            print(f"{path.stem} {start} {rss!r} {fe} {status}")


if __name__ == "__main__":
    main()
