"""Parity with scipy.optimize.minimize on Moré-Garbow-Hillstrom problems: the
same minimizer from hesse.minimize(method=m) and scipy.optimize.minimize
(method=m'), with both libraries' evaluation counts printed side by side at
the end of the run (conftest.py).

For every (problem, method) pair: hesse must converge to one of the
problem's known minima (|f - f*| <= 1e-6 max(1, f*)) unless the pair is in
KNOWN_HESSE_MISSES; where scipy converges to the same minimum, the two final
points must agree (rtol 1e-4) on problems whose minimizer is isolated and
well-conditioned (the others only agree in f).
"""

import warnings

import numpy as np
import pytest
import scipy.optimize as so

import hesse
from conftest import PARITY_ROWS
from mgh import PROBLEMS, Objective

PAIRS = [
    ("bfgs", "BFGS"),
    ("lbfgs", "L-BFGS-B"),
    ("cg-pr+", "CG"),
    ("newton-cg", "Newton-CG"),
    ("newton-cg-tr", "trust-ncg"),
    ("newton-tr", "trust-exact"),
]

#: Problems whose minimizer is not isolated or not well-conditioned: a
#: gradient tolerance of 1e-6 leaves x undetermined well beyond 1e-4
#: (Powell singular: a singular Hessian at 0; Box 3-d and Biggs EXP6:
#: continua of minima; Powell badly scaled: x1 ~ 1e-5 beside x2 ~ 9;
#: Watson: its Hessian at the minimizer is badly conditioned, and CG's final
#: points differ by 2e-4 relative.)
X_NOT_UNIQUE = {"powell_singular", "box3d", "biggs_exp6", "powell_badly_scaled", "watson6"}

#: Pairs where hesse does not reach a known minimum (found while writing the
#: tests; kept visible rather than hidden by a loose tolerance): newton-tr on
#: Biggs EXP6 stops at a stationary point with f = 0.2427.
KNOWN_HESSE_MISSES = {("biggs_exp6", "newton-tr")}

#: Pairs where hesse reaches the minimum's f but does not report success:
#: cg-pr+ on Brown badly scaled, whose line search fails at f = 2.9e-11 (the
#: gradient tolerance 1e-6 is out of reach at x1 ~ 1e6 in double precision;
#: scipy's CG stops on its own test at f = 3e-26).
KNOWN_NOT_CONVERGED = {("brown_badly_scaled", "cg-pr+")}

OPTS = {"gtol": 1e-6, "maxiter": 5000}


def at_minimum(f, minima):
    return any(abs(f - fs) <= 1e-6 * max(1.0, fs) for fs in minima)


@pytest.mark.parametrize("hm,sm", PAIRS, ids=[p[0] for p in PAIRS])
@pytest.mark.parametrize("name,res,x0,minima", PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_parity(name, res, x0, minima, hm, sm):
    o = Objective(res)
    kw = {}
    if hm in ("newton-cg", "newton-cg-tr"):
        kw = {"hessp": o.hessp}
    elif hm == "newton-tr":
        kw = {"hess": o.hess}
    h = hesse.minimize(o.f, x0, jac=o.grad, method=hm, options=OPTS, **kw)
    sopt = dict(OPTS)
    if sm == "Newton-CG":  # scipy's Newton-CG has no gtol: its test is on the step
        sopt = {"xtol": 1e-10, "maxiter": 5000}
    elif sm == "L-BFGS-B":
        sopt["ftol"] = 1e-15
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = so.minimize(o.f, x0, jac=o.grad, method=sm, options=sopt, **kw)
    same_min = at_minimum(h.fun, minima) and at_minimum(s.fun, minima) and any(
        abs(h.fun - fs) <= 1e-6 * max(1.0, fs) and abs(s.fun - fs) <= 1e-6 * max(1.0, fs)
        for fs in minima
    )
    same_x = bool(np.allclose(h.x, s.x, rtol=1e-4, atol=1e-6))
    PARITY_ROWS.append((
        f"{name:<22} {hm:<13} {h.fun:10.3e} {h.nfev:5d} {h.njev:5d} {h.nhev:5d} {h.hv_evals:5d}"
        f" | {sm:<11} {s.fun:10.3e} {s.status:2d} {s.nfev:5d} {getattr(s, 'njev', 0):5d}"
        f" {getattr(s, 'nhev', 0):5d}  {'yes' if same_x else 'no'}",
        hm, sm, h.nfev, s.nfev,
    ))
    # The counts hesse reports are consistent with what it was asked to use.
    assert h.nfev >= h.njev > 0
    if hm in ("newton-cg", "newton-cg-tr"):
        assert h.hv_evals > 0 and h.nhev == 0
    if (name, hm) in KNOWN_HESSE_MISSES:
        assert not at_minimum(h.fun, minima), "now reaches a known minimum: update KNOWN_HESSE_MISSES"
        return
    if (name, hm) in KNOWN_NOT_CONVERGED:
        assert not h.success and h.status == 2, "now converges: update KNOWN_NOT_CONVERGED"
    else:
        assert h.success, h.termination
    assert at_minimum(h.fun, minima), h.fun
    if s.success and same_min and name not in X_NOT_UNIQUE:
        np.testing.assert_allclose(h.x, s.x, rtol=1e-4, atol=1e-6)
