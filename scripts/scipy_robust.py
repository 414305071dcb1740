#!/usr/bin/env python3
"""scipy's least_squares with robust losses on tests/data/robust_exp.csv
(y = a exp(-b t) + c with 10% gross outliers, written by tests/robust_loss.rs
from a seeded ChaCha8 stream), for comparison with LevenbergMarquardt's
with_loss/with_f_scale in tests/robust_loss.rs.

Each loss ('linear', 'soft_l1', 'huber', 'cauchy', 'arctan') with f_scale 0.1,
method 'trf', exact Jacobian, xtol = ftol = gtol = 1e-15, from (1, 1, 0);
then the same with bounds (0, 0, -1) <= (a, b, c) <= (10, 0.6, 1), which cut
the truth b = 0.7 off, from (1, 0.5, 0) (scipy wants a feasible start).

Run by hand (not in CI), from the repository root:
    pip install scipy numpy
    python3 scripts/scipy_robust.py > tests/data/scipy_robust.txt

Prints one line per run: `loss bounded a b c F status`, F = 2 cost =
f_scale^2 sum rho((r/f_scale)^2), hesse's objective; then `se loss se_a se_b
se_c`, the standard errors sqrt(diag(pcov)) of curve_fit(loss=..., f_scale=0.1)
from the same start (unbounded), and `t975 dof value`, Student's t quantile of
a 95% interval with m - n = 97 degrees of freedom (scipy.stats.t.ppf).
"""
import csv

import numpy as np
import scipy
from scipy import stats
from scipy.optimize import curve_fit, least_squares

DATA = "tests/data/robust_exp.csv"
LOSSES = ["linear", "soft_l1", "huber", "cauchy", "arctan"]
F_SCALE = 0.1
START = [1.0, 1.0, 0.0]
START_BOUNDED = [1.0, 0.5, 0.0]
BOUNDS = ([0.0, 0.0, -1.0], [10.0, 0.6, 1.0])
TOL = 1e-15


def main():
    with open(DATA) as f:
        rows = list(csv.DictReader(f))
    t = np.array([float(r["t"]) for r in rows])
    y = np.array([float(r["y"]) for r in rows])

    def fun(x):
        return x[0] * np.exp(-x[1] * t) + x[2] - y

    def jac(x):
        e = np.exp(-x[1] * t)
        return np.column_stack([e, -x[0] * t * e, np.ones_like(t)])

    print(f"# scipy {scipy.__version__} (numpy {np.__version__}) least_squares(method='trf')"
          f" on {DATA}, f_scale {F_SCALE},")
    print(f"# xtol = ftol = gtol = {TOL:g}, start {START}; bounded runs: {BOUNDS} from {START_BOUNDED}.")
    print("# Made by hand with: python3 scripts/scipy_robust.py (see its docstring).")
    print("# loss bounded a b c F(=2 cost) status")
    for bounded in (0, 1):
        for loss in LOSSES:
            r = least_squares(
                fun,
                START_BOUNDED if bounded else START,
                jac=jac,
                method="trf",
                loss=loss,
                f_scale=F_SCALE,
                bounds=BOUNDS if bounded else (-np.inf, np.inf),
                xtol=TOL,
                ftol=TOL,
                gtol=TOL,
                max_nfev=10000,
            )
            a, b, c = (repr(float(v)) for v in r.x)
            print(f"{loss} {bounded} {a} {b} {c} {float(2.0 * r.cost)!r} {r.status}")
    for loss in LOSSES:
        _, pcov = curve_fit(
            lambda t_, a, b, c: a * np.exp(-b * t_) + c,
            t,
            y,
            p0=START,
            jac=lambda t_, a, b, c: jac([a, b, c]),
            method="trf",
            loss=loss,
            f_scale=F_SCALE,
            xtol=TOL,
            ftol=TOL,
            gtol=TOL,
        )
        se = " ".join(repr(float(v)) for v in np.sqrt(np.diag(pcov)))
        print(f"se {loss} {se}")
    dof = len(t) - 3
    print(f"t975 {dof} {float(stats.t.ppf(0.975, dof))!r}")


if __name__ == "__main__":
    main()
