"""curve_fit and least_squares on NIST StRD files (tests/data/nist/ of this
repository): hesse's popt and pcov match scipy.optimize.curve_fit's
(method 'lm', MINPACK) to 6 significant digits, and the certified values."""

import numpy as np
import pytest
import scipy.optimize as so

import hesse
from nist import MODELS, read

#: (file, start): the lower- and average-difficulty files, from Start 2 (and
#: Start 1 where scipy's lm reaches the certified values from it).
TIGHT = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15}

CASES = [
    ("Misra1a", 1),
    ("Misra1a", 2),
    ("Misra1b", 1),
    ("Chwirut2", 1),
    ("DanWood", 1),
    ("DanWood", 2),
    ("MGH09", 2),
    ("Thurber", 2),
    ("Eckerle4", 2),
]


@pytest.mark.parametrize("name,start", CASES, ids=[f"{c[0]}-start{c[1]}" for c in CASES])
def test_curve_fit_matches_scipy_and_nist(name, start):
    s1, s2, cert, cert_std, x, y = read(name)
    p0 = s1 if start == 1 else s2
    f = MODELS[name]
    popt, pcov = hesse.curve_fit(f, x, y, p0=p0)
    # scipy's lm with tight tolerances: its defaults (1.5e-8) stop Thurber at
    # 4.5 certified digits.
    spopt, spcov = so.curve_fit(f, x, y, p0=p0, method="lm", **TIGHT)
    np.testing.assert_allclose(popt, spopt, rtol=1e-6)
    np.testing.assert_allclose(pcov, spcov, rtol=1e-6, atol=1e-6 * np.abs(spcov).max())
    # NIST's certified values and standard deviations, 6 digits.
    np.testing.assert_allclose(popt, cert, rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(pcov)), cert_std, rtol=1e-5)


def test_curve_fit_sigma_and_absolute_sigma_match_scipy():
    _, s2, _, _, x, y = read("Misra1a")
    f = MODELS["Misra1a"]
    sigma = 0.05 + 0.001 * np.arange(x.size)
    for absolute in (False, True):
        popt, pcov = hesse.curve_fit(f, x, y, p0=s2, sigma=sigma, absolute_sigma=absolute)
        spopt, spcov = so.curve_fit(f, x, y, p0=s2, sigma=sigma, absolute_sigma=absolute, **TIGHT)
        np.testing.assert_allclose(popt, spopt, rtol=1e-6)
        np.testing.assert_allclose(pcov, spcov, rtol=1e-6)
    # A covariance matrix for sigma (diagonal here: the same fit).
    popt2, pcov2 = hesse.curve_fit(f, x, y, p0=s2, sigma=np.diag(sigma**2))
    popt1, pcov1 = hesse.curve_fit(f, x, y, p0=s2, sigma=sigma)
    np.testing.assert_allclose(popt2, popt1, rtol=1e-10)
    np.testing.assert_allclose(pcov2, pcov1, rtol=1e-8)


def test_curve_fit_with_jacobian_and_default_p0():
    _, s2, cert, _, x, y = read("Misra1a")
    f = MODELS["Misra1a"]

    def jac(x, b1, b2):
        e = np.exp(-b2 * x)
        return np.column_stack([1 - e, b1 * x * e])

    popt, pcov = hesse.curve_fit(f, x, y, p0=s2, jac=jac)
    np.testing.assert_allclose(popt, cert, rtol=1e-8)
    # p0=None: ones, as scipy (the count of parameters from f's signature).
    line = lambda t, a, b: a + b * t  # noqa: E731
    t = np.arange(5.0)
    popt, _ = hesse.curve_fit(line, t, 1.0 + 2.0 * t)
    np.testing.assert_allclose(popt, [1.0, 2.0], atol=1e-10)


def test_least_squares_matches_scipy_lm():
    _, s2, cert, _, x, y = read("Chwirut2")
    f = MODELS["Chwirut2"]

    def res(b):
        return f(x, *b) - y

    r = hesse.least_squares(res, s2)
    s = so.least_squares(res, s2, method="lm", ftol=1e-15, xtol=1e-15, gtol=1e-15)
    assert r.success and r.status == 0
    np.testing.assert_allclose(r.x, s.x, rtol=1e-6)
    np.testing.assert_allclose(r.cost, s.cost, rtol=1e-8)
    np.testing.assert_allclose(r.fun, s.fun, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(r.jac, s.jac, rtol=1e-4, atol=1e-8)
    assert r.nfev > r.njev > 0
    np.testing.assert_allclose(r.x, cert, rtol=1e-6)


def _outlier_data():
    rng = np.random.default_rng(21)
    t = np.linspace(0.0, 4.0, 60)
    y = 2.5 * np.exp(-0.8 * t) + 0.3 + 0.01 * rng.standard_normal(t.size)
    y[::10] += 2.0  # six gross outliers
    return t, y


@pytest.mark.parametrize("loss", ["soft_l1", "huber", "cauchy", "arctan"])
def test_least_squares_robust_losses_match_scipy(loss):
    t, y = _outlier_data()

    def res(b):
        return b[0] * np.exp(-b[1] * t) + b[2] - y

    def jac(b):
        e = np.exp(-b[1] * t)
        return np.column_stack([e, -b[0] * t * e, np.ones_like(t)])

    # From (1, 0.5, 0) arctan with f_scale 0.1 runs off to b1 < 0 in scipy too
    # (bounded rho: every residual looks like an outlier there).
    x0 = [2.0, 1.0, 0.2]
    r = hesse.least_squares(res, x0, jac=jac, loss=loss, f_scale=0.1)
    s = so.least_squares(res, x0, jac=jac, loss=loss, f_scale=0.1, method="trf",
                         ftol=1e-15, xtol=1e-15, gtol=1e-15)
    assert r.success
    np.testing.assert_allclose(r.x, s.x, rtol=1e-6)
    np.testing.assert_allclose(r.cost, s.cost, rtol=1e-8)
    # The robust fit ignores the outliers; the linear one does not.
    lin = hesse.least_squares(res, x0, jac=jac)
    truth = np.array([2.5, 0.8, 0.3])
    assert np.max(np.abs(r.x - truth) / truth) < 0.5 * np.max(np.abs(lin.x - truth) / truth)


def test_least_squares_bounds_match_scipy_and_stay_inside():
    t, y = _outlier_data()
    seen = []

    def res(b):
        seen.append(np.array(b))
        return b[0] * np.exp(-b[1] * t) + b[2] - y

    lb, ub = [0.0, 0.0, 0.5], [10.0, 0.6, 1.0]  # cuts off the unbounded fit's b1 and b2
    for jac in ("2-point", "3-point"):
        seen.clear()
        r = hesse.least_squares(res, [1.0, 0.5, 0.6], jac=jac, bounds=(lb, ub))
        assert r.success, r.message
        xs = np.array(seen)
        assert np.all(xs >= np.array(lb)) and np.all(xs <= np.array(ub)), "an evaluation left the box"
        s = so.least_squares(res, [1.0, 0.5, 0.6], bounds=(lb, ub), method="trf",
                             ftol=1e-15, xtol=1e-15, gtol=1e-15)
        np.testing.assert_allclose(r.cost, s.cost, rtol=1e-6)
        np.testing.assert_allclose(r.x, s.x, rtol=1e-4, atol=1e-8)
        assert list(r.active_mask) == list(s.active_mask)
    # A start outside the box is projected; curve_fit takes the same bounds.
    r = hesse.least_squares(res, [20.0, 0.5, 0.0], bounds=(lb, ub))
    assert r.success and np.all(r.x <= np.array(ub)) and np.all(r.x >= np.array(lb))
    model = lambda tt, a, b, c: a * np.exp(-b * tt) + c  # noqa: E731
    popt, pcov = hesse.curve_fit(model, t, y, p0=[1.0, 0.5, 0.6], bounds=(lb, ub))
    spopt, _ = so.curve_fit(model, t, y, p0=[1.0, 0.5, 0.6], bounds=(lb, ub),
                            ftol=1e-15, xtol=1e-15, gtol=1e-15)
    np.testing.assert_allclose(popt, spopt, rtol=1e-4, atol=1e-8)
    assert pcov.shape == (3, 3)


def test_least_squares_refuses_bad_options():
    res = lambda b: np.array([b[0] - 1.0, b[1] - 2.0, b[0] * b[1]])  # noqa: E731
    with pytest.raises(ValueError, match="loss 'l2' unknown"):
        hesse.least_squares(res, [0.0, 0.0], loss="l2")
    with pytest.raises(ValueError, match="f_scale"):
        hesse.least_squares(res, [0.0, 0.0], loss="huber", f_scale=0.0)
    with pytest.raises(ValueError, match="lower 2.0 > upper 1.0"):
        hesse.least_squares(res, [0.0, 0.0], bounds=([0, 2], [1, 1]))
    with pytest.raises(ValueError, match="NaN"):
        hesse.least_squares(res, [0.0, 0.0], bounds=([0, np.nan], [1, 1]))
    # 'trf' and 'dogbox' run the same Levenberg-Marquardt (test_least_squares_scipy.py).
    with pytest.raises(ValueError, match="method 'TRF' unknown; scipy's methods 'lm', 'trf', 'dogbox'"):
        hesse.least_squares(res, [0.0, 0.0], method="TRF")
    with pytest.raises(ValueError, match="needs m >= n"):
        hesse.least_squares(lambda b: np.array([b[0]]), [0.0, 0.0])
    # Infinite bounds in any spelling are the default and accepted.
    r = hesse.least_squares(res, [0.0, 0.0], bounds=(-np.inf, np.inf))
    assert r.x.shape == (2,)


def test_least_squares_jacobian_args_kwargs_and_errors():
    t = np.linspace(0.0, 3.0, 20)
    y = 2.0 * np.exp(-1.3 * t)

    def res(b, t, y, scale=1.0):
        return scale * (b[0] * np.exp(-b[1] * t) - y)

    def jac(b, t, y, scale=1.0):
        e = np.exp(-b[1] * t)
        return scale * np.column_stack([e, -b[0] * t * e])

    r = hesse.least_squares(res, [1.0, 1.0], jac=jac, args=(t, y), kwargs={"scale": 2.0})
    assert r.success
    np.testing.assert_allclose(r.x, [2.0, 1.3], rtol=1e-10)
    assert r.njev > 0 and r.cost < 1e-20
    r3 = hesse.least_squares(res, [1.0, 1.0], jac="3-point", args=(t, y))
    np.testing.assert_allclose(r3.x, [2.0, 1.3], rtol=1e-8)
    with pytest.raises(ValueError, match=r"jac must return a 2-d array of shape \(20, 2\)"):
        hesse.least_squares(res, [1.0, 1.0], jac=lambda b, t, y: np.zeros((2, 20)), args=(t, y))

    def boom(b, t, y):
        raise ZeroDivisionError("boom in residuals")

    with pytest.raises(ZeroDivisionError, match="boom in residuals"):
        hesse.least_squares(lambda b, t, y: res(b, t, y) if b[0] == 1.0 else boom(b, t, y), [1.0, 1.0], args=(t, y))
