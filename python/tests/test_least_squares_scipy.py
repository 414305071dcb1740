"""scipy.optimize.least_squares / curve_fit arguments that hesse accepts with
scipy's meaning: x_scale, method 'trf'/'dogbox', diff_step, verbose,
tr_solver/tr_options, callback, and curve_fit's full_output, nan_policy,
check_finite and scipy leastsq's keywords. Each is checked against scipy on
the same problem."""

import warnings

import numpy as np
import pytest
import scipy.optimize as so

import hesse
from mgh import PROBLEMS
from nist import MODELS, read

#: MINPACK's tests as tight as scipy's 'lm' allows (each must exceed eps).
TIGHT = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15}


def complex_step_jacobian(res):
    """The exact Jacobian of `res` (to rounding) by complex steps."""

    def jac(x):
        cols = []
        for j in range(len(x)):
            xc = np.array(x, dtype=complex)
            xc[j] += 1e-20j
            cols.append(np.imag(res(xc)) / 1e-20)
        return np.array(cols).T

    return jac


def nist_residuals(name):
    _, _, _, _, x, y = read(name)
    f = MODELS[name]
    return lambda b: f(x, *b) - y


def _case(name):
    if name in MODELS:
        s1, _, _, _, _, _ = read(name)
        return nist_residuals(name), np.array(s1)
    res, x0 = {p[0]: (p[1], p[2]) for p in PROBLEMS}[name]
    return res, np.array(x0, dtype=float)


# Problems whose minimizer is well conditioned enough that both libraries,
# on the same path, agree to 1e-8 in x (NIST from Start 1, MGH from the
# standard start). MGH09, Thurber and Watson agree to 6e-8 in x and 1e-14 in
# the cost: their minimizers are ill-conditioned.
X_SCALE_CASES = ["Misra1a", "Misra1b", "DanWood", "Eckerle4", "bard", "gaussian", "powell_badly_scaled", "beale"]


@pytest.mark.parametrize("name", X_SCALE_CASES)
@pytest.mark.parametrize("x_scale", ["jac", 1.0, "start"], ids=["jac", "one", "start"])
def test_x_scale_matches_scipy_lm(name, x_scale):
    """x_scale: an array or scalar is MINPACK's mode 2 with diag = 1/x_scale,
    'jac' mode 1 (column norms), as scipy's least_squares(method='lm')."""
    res, x0 = _case(name)
    if name == "Eckerle4":
        x0 = np.array(read(name)[1])  # Start 2: scipy's lm fails from Start 1
    jac = complex_step_jacobian(res)
    xs = np.maximum(np.abs(x0), 1e-3) if x_scale == "start" else x_scale
    h = hesse.least_squares(res, x0, jac=jac, x_scale=xs, **TIGHT)
    s = so.least_squares(res, x0, jac=jac, method="lm", x_scale=xs, **TIGHT)
    assert h.success and s.success
    np.testing.assert_allclose(h.x, s.x, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(h.cost, s.cost, rtol=1e-8, atol=1e-25)


def test_x_scale_default_is_jac_and_mode_2_changes_the_path():
    """The default (None) is 'jac', scipy's default for 'lm' since 1.16 and
    hesse's before; x_scale=1.0 is D = I, and on Powell's badly scaled
    problem both libraries need over 3 times the evaluations with it."""
    res, x0 = _case("powell_badly_scaled")
    jac = complex_step_jacobian(res)
    default = hesse.least_squares(res, x0, jac=jac, **TIGHT)
    by_jac = hesse.least_squares(res, x0, jac=jac, x_scale="jac", **TIGHT)
    assert default.x.tolist() == by_jac.x.tolist() and default.nfev == by_jac.nfev
    ones = hesse.least_squares(res, x0, jac=jac, x_scale=1.0, **TIGHT)
    # x_scale='jac' said explicitly: scipy's default was 1.0 before 1.16.
    s_default = so.least_squares(res, x0, jac=jac, method="lm", x_scale="jac", **TIGHT)
    s_ones = so.least_squares(res, x0, jac=jac, method="lm", x_scale=1.0, **TIGHT)
    assert ones.nfev > 3 * default.nfev and s_ones.nfev > 3 * s_default.nfev
    # Same evaluations as scipy's lmder, plus hesse's two extra calls (the
    # one that finds m and the residuals at the solution).
    assert abs(default.nfev - s_default.nfev) <= 2 and abs(ones.nfev - s_ones.nfev) <= 2


@pytest.mark.parametrize(
    "x_scale,match",
    [
        ("auto", "x_scale = 'auto': must be 'jac', None or positive numbers"),
        (0.0, r"x_scale\[0\] = 0.0: every entry must be finite and > 0"),
        ([1.0, -1.0], r"x_scale\[1\] = -1.0"),
        ([1.0, np.inf], r"x_scale\[1\] = inf"),
        ([1.0, 1.0, 1.0], r"x_scale has shape \(3,\); expected a scalar or 2 entries"),
    ],
)
def test_x_scale_refused(x_scale, match):
    res = nist_residuals("Misra1a")
    with pytest.raises(ValueError, match=match):
        hesse.least_squares(res, [500.0, 1e-4], x_scale=x_scale)


def test_trf_and_dogbox_run_the_same_levenberg_marquardt():
    """scipy's default method 'trf' and 'dogbox' are accepted and run hesse's
    LM: the same run as 'lm', bit for bit, reported as method 'lm'."""
    res = nist_residuals("Misra1a")
    x0 = read("Misra1a")[0]
    lm = hesse.least_squares(res, x0)
    for method in ("trf", "dogbox"):
        r = hesse.least_squares(res, x0, method=method)
        assert r.x.tolist() == lm.x.tolist() and r.nfev == lm.nfev and r.method == "lm"
        s = so.least_squares(res, x0, method=method, **TIGHT)
        np.testing.assert_allclose(r.x, s.x, rtol=1e-6)
        np.testing.assert_allclose(r.cost, s.cost, rtol=1e-10)
    popt, _ = hesse.curve_fit(MODELS["Misra1a"], *read("Misra1a")[4:], p0=x0, method="trf", bounds=(0, [1e3, 1.0]))
    np.testing.assert_allclose(popt, read("Misra1a")[2], rtol=1e-6)


def test_diff_step_is_scipys_relative_step():
    """diff_step: forward and central differences with h_j = diff_step_j |x_j|,
    as scipy's; the same steps give the same minimizer to 1e-9."""
    res = nist_residuals("Misra1a")
    x0 = read("Misra1a")[0]
    for ds in (1e-3, [1e-2, 1e-4]):
        for jac in ("2-point", "3-point"):
            h = hesse.least_squares(res, x0, jac=jac, diff_step=ds, **TIGHT)
            s = so.least_squares(res, x0, jac=jac, diff_step=ds, method="lm", **TIGHT)
            np.testing.assert_allclose(h.x, s.x, rtol=1e-9)
            np.testing.assert_allclose(h.cost, s.cost, rtol=1e-12)
    # The steps taken: the first Jacobian at x0 = (500, 1e-4).
    seen = []

    def spy(b):
        seen.append(np.array(b))
        return res(b)

    hesse.least_squares(spy, x0, diff_step=[1e-2, 1e-4], max_nfev=1)
    steps = np.array([p - x0 for p in seen if np.any(p != x0)])
    # (twice: the Jacobian at x0 is evaluated again for the result, x = x0)
    np.testing.assert_allclose(steps, [[1e-2 * 500.0, 0.0], [0.0, 1e-4 * 1e-4]] * 2, rtol=1e-6)
    # 0 is the default step, as scipy's; a coarse step moves the minimizer.
    a = hesse.least_squares(res, x0, diff_step=0.0)
    b = hesse.least_squares(res, x0)
    assert a.x.tolist() == b.x.tolist()
    coarse = hesse.least_squares(res, x0, diff_step=1e-2)
    assert np.max(np.abs(coarse.x - b.x) / b.x) > 1e-5
    with pytest.raises(ValueError, match=r"diff_step\[0\] = -0.001: every entry must be finite and >= 0"):
        hesse.least_squares(res, x0, diff_step=-1e-3)


def test_verbose_prints_scipys_report(capsys):
    res = nist_residuals("Misra1a")
    x0 = read("Misra1a")[0]
    r = hesse.least_squares(res, x0, verbose=0)
    assert capsys.readouterr().out == ""
    r = hesse.least_squares(res, x0, verbose=1)
    out = capsys.readouterr().out.splitlines()
    so.least_squares(res, x0, verbose=1)
    sout = capsys.readouterr().out.splitlines()
    assert out[0] == r.message
    # scipy's second line, with the same initial cost.
    assert out[1] == (
        f"Function evaluations {r.nfev}, initial cost 5.3901e+03, final cost {r.cost:.4e}, "
        f"first-order optimality {r.optimality:.2e}."
    )
    assert "initial cost 5.3901e+03" in sout[1]
    # verbose=2: scipy's header, one row per iteration (0 to nit), the report.
    r = hesse.least_squares(res, x0, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Iteration", "Total", "nfev", "Cost", "Cost", "reduction", "Step", "norm", "Optimality"]
    rows = out[1 : 2 + r.nit]
    assert [int(row.split()[0]) for row in rows] == list(range(r.nit + 1))
    assert float(rows[0].split()[1]) == 5.3901e03 and float(rows[-1].split()[2]) == pytest.approx(r.cost, rel=1e-4)
    assert out[2 + r.nit] == r.message and len(out) == r.nit + 4
    # With a loss, the initial cost is scipy's robust cost.
    hesse.least_squares(res, x0, verbose=1, loss="cauchy", f_scale=0.1)
    so.least_squares(res, x0, verbose=1, loss="cauchy", f_scale=0.1)
    mine, theirs = capsys.readouterr().out.splitlines()[1::2]
    assert mine.split("initial cost ")[1][:10] == theirs.split("initial cost ")[1][:10] == "7.5249e-01"
    for bad in (3, -1, 1.5, "1", np.array([1, 2])):
        with pytest.raises(ValueError, match="verbose = .*: must be 0, 1 or 2"):
            hesse.least_squares(res, x0, verbose=bad)


def test_tr_solver_tr_options_jac_sparsity_workers():
    res = nist_residuals("Misra1a")
    x0 = read("Misra1a")[0]
    base = hesse.least_squares(res, x0)
    # 'exact' is what hesse does; tr_options are ignored with it, as scipy's.
    r = hesse.least_squares(res, x0, tr_solver="exact", tr_options={"regularize": False}, workers=map)
    assert r.x.tolist() == base.x.tolist()
    with pytest.raises(ValueError, match="tr_solver='lsmr': hesse's least_squares solves each subproblem exactly .* pass tr_solver=None or 'exact', and jac_sparsity"):
        hesse.least_squares(res, x0, tr_solver="lsmr")
    with pytest.raises(ValueError, match="tr_solver = 'qr': must be None, 'exact' or 'lsmr'"):
        hesse.least_squares(res, x0, tr_solver="qr")
    with pytest.raises(TypeError, match="tr_options must be a dict, got list"):
        hesse.least_squares(res, x0, tr_options=[1])
    with pytest.raises(TypeError, match="workers must be a map-like callable"):
        hesse.least_squares(res, x0, workers=4)


def test_callback_sees_each_iteration_and_can_stop():
    res = nist_residuals("Misra1a")
    x0 = read("Misra1a")[0]
    seen = []

    def cb(intermediate_result):
        seen.append(intermediate_result)
        if intermediate_result.nit == 3:
            raise StopIteration

    r = hesse.least_squares(res, x0, callback=cb)
    assert [s.nit for s in seen] == [1, 2, 3]
    assert r.termination == "user_stop" and not r.success and r.nit == 3
    assert seen[-1].cost == pytest.approx(0.5 * np.sum(res(seen[-1].x) ** 2), rel=1e-12)
    xs = []
    r = hesse.least_squares(res, x0, callback=lambda xk: xs.append(xk.copy()) or len(xs) == 2)
    assert r.termination == "user_stop" and len(xs) == 2 and r.x.tolist() == xs[-1].tolist()
    with pytest.raises(TypeError, match="callback must be callable"):
        hesse.least_squares(res, x0, callback=1)


# --- curve_fit ---------------------------------------------------------------


def test_curve_fit_full_output_as_scipy():
    s1, _, cert, _, x, y = read("Misra1a")
    f = MODELS["Misra1a"]
    popt, pcov, info, mesg, ier = hesse.curve_fit(f, x, y, p0=s1, full_output=True)
    spopt, spcov, sinfo, smesg, sier = so.curve_fit(f, x, y, p0=s1, full_output=True, method="lm", **TIGHT)
    np.testing.assert_allclose(popt, spopt, rtol=1e-6)
    np.testing.assert_allclose(pcov, spcov, rtol=1e-5)
    np.testing.assert_allclose(info["fvec"], sinfo["fvec"], rtol=1e-6)
    assert info["nfev"] > 0 and info["termination"] == "step_tolerance"
    # MINPACK's info: 2 is the xtol test, for both.
    assert ier == sier == 2 and mesg == "change in x below tolerance"


def test_curve_fit_nan_policy_and_check_finite_as_scipy():
    _, s2, _, _, x, y = read("Misra1a")
    f = MODELS["Misra1a"]
    y = y.copy()
    x = x.copy()
    y[3] = np.nan
    x[7] = np.nan
    sigma = 0.1 + 0.01 * np.arange(y.size)
    popt, pcov = hesse.curve_fit(f, x, y, p0=s2, sigma=sigma, nan_policy="omit")
    spopt, spcov = so.curve_fit(f, x, y, p0=s2, sigma=sigma, nan_policy="omit", method="lm", **TIGHT)
    np.testing.assert_allclose(popt, spopt, rtol=1e-6)
    np.testing.assert_allclose(pcov, spcov, rtol=1e-5)
    keep = np.isfinite(x) & np.isfinite(y)
    direct, _ = hesse.curve_fit(f, x[keep], y[keep], p0=s2, sigma=sigma[keep])
    assert popt.tolist() == direct.tolist()
    with pytest.raises(ValueError, match=r"ydata contains a NaN \(ydata.ravel\(\)\[3\]; nan_policy='raise'\)"):
        hesse.curve_fit(f, x, y, p0=s2, nan_policy="raise")
    with pytest.raises(ValueError, match="ydata contains a NaN or an infinity"):
        hesse.curve_fit(f, x, y, p0=s2)  # check_finite: True without nan_policy
    with pytest.raises(ValueError, match="xdata contains a NaN or an infinity"):
        hesse.curve_fit(f, x, np.nan_to_num(y), p0=s2, nan_policy="omit", check_finite=True)


def test_curve_fit_scipy_keywords():
    s1, s2, cert, _, x, y = read("Misra1a")
    f = MODELS["Misra1a"]

    def jac(t, b1, b2):
        e = np.exp(-b2 * t)
        return np.column_stack([1 - e, b1 * t * e])

    # leastsq's diag is x_scale = 1 / diag; both match scipy's lm.
    a, _ = hesse.curve_fit(f, x, y, p0=s1, jac=jac, diag=[1.0, 1e3], **TIGHT)
    b, _ = hesse.curve_fit(f, x, y, p0=s1, jac=jac, x_scale=[1.0, 1e-3], **TIGHT)
    s, _ = so.curve_fit(f, x, y, p0=s1, jac=jac, diag=[1.0, 1e3], method="lm", **TIGHT)
    assert a.tolist() == b.tolist()
    np.testing.assert_allclose(a, s, rtol=1e-8)
    # leastsq's epsfcn: forward differences with step sqrt(epsfcn) |x_j|, as lmdif.
    a, _ = hesse.curve_fit(f, x, y, p0=s1, epsfcn=1e-6, **TIGHT)
    s, _ = so.curve_fit(f, x, y, p0=s1, epsfcn=1e-6, method="lm", **TIGHT)
    np.testing.assert_allclose(a, s, rtol=1e-10)
    # col_deriv: jac returns (n, m); factor: MINPACK's initial step bound.
    a, _ = hesse.curve_fit(f, x, y, p0=s1, jac=lambda t, b1, b2: jac(t, b1, b2).T, col_deriv=True)
    b, _ = hesse.curve_fit(f, x, y, p0=s1, jac=jac, factor=0.1)
    np.testing.assert_allclose(a, cert, rtol=1e-6)
    np.testing.assert_allclose(b, cert, rtol=1e-6)
    # least_squares's own keywords pass through.
    a, _ = hesse.curve_fit(f, x, y, p0=s1, jac="2-point", diff_step=1e-3, x_scale="jac", verbose=0, tr_solver="exact")
    s, _ = so.curve_fit(f, x, y, p0=s1, method="trf", jac="2-point", diff_step=1e-3, x_scale="jac", **TIGHT)
    np.testing.assert_allclose(a, s, rtol=1e-6)
    # A scalar sigma, as scipy: the same fit as a constant array.
    a, pa = hesse.curve_fit(f, x, y, p0=s2, sigma=0.5, absolute_sigma=True)
    b, pb = hesse.curve_fit(f, x, y, p0=s2, sigma=np.full(y.size, 0.5), absolute_sigma=True)
    assert a.tolist() == b.tolist() and pa.tolist() == pb.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sa, spa = so.curve_fit(f, x, y, p0=s2, sigma=0.5, absolute_sigma=True, method="lm", **TIGHT)
    np.testing.assert_allclose(pa, spa, rtol=1e-5)
    with pytest.raises(ValueError, match="'args' is not a supported keyword argument"):
        hesse.curve_fit(f, x, y, p0=s1, args=(1,))
    with pytest.raises(TypeError, match="give diag"):
        hesse.curve_fit(f, x, y, p0=s1, diag=[1.0, 1.0], x_scale=1.0)
    with pytest.raises(TypeError, match="give epsfcn"):
        hesse.curve_fit(f, x, y, p0=s1, epsfcn=1e-8, diff_step=1e-3)
    with pytest.raises(ValueError, match=r"diag has shape \(3,\)"):
        hesse.curve_fit(f, x, y, p0=s1, diag=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="factor = 0.0 must be a positive finite number"):
        hesse.curve_fit(f, x, y, p0=s1, factor=0.0)
    with pytest.raises(ValueError, match="method 'foo' unknown"):
        hesse.curve_fit(f, x, y, p0=s1, method="foo")


def _chained(n):
    """Broyden tridiagonal (MGH 30) residuals and 0.1 (x - 1): m = 2n, a
    Jacobian with 4 nonzeros per column and a nonzero residual at the
    minimum."""

    def res(x):
        xm = np.r_[0.0, x[:-1]]
        xp = np.r_[x[1:], 0.0]
        return np.r_[(3 - 2 * x) * x - xm - 2 * xp + 1, 0.1 * (x - 1.0)]

    def jac(x):
        tri = sparse.diags([-np.ones(n - 1), 3 - 4 * x, -2 * np.ones(n - 1)], [-1, 0, 1])
        return sparse.vstack([tri, 0.1 * sparse.identity(n)]).tocsr()

    pattern = sparse.vstack([sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n)), sparse.identity(n)])
    return res, jac, pattern


sparse = pytest.importorskip("scipy.sparse")


def test_jac_sparsity_runs_the_sparse_levenberg_marquardt():
    """jac_sparsity routes to hesse's SparseLevenbergMarquardt: differences
    over groups of columns that share no row (3 groups here, so 4 calls of
    fun per forward-difference Jacobian instead of n + 1), a sparse Jacobian
    in the result, and scipy trf's minimizer."""
    n = 300
    res, jac, pattern = _chained(n)
    x0 = -np.ones(n)
    dense = hesse.least_squares(res, x0, jac=lambda x: jac(x).toarray())
    s = so.least_squares(res, x0, jac=jac, method="trf", **TIGHT)
    for j in ("2-point", "3-point", jac, lambda x: jac(x).toarray()):
        calls = []
        r = hesse.least_squares(lambda x: calls.append(1) or res(x), x0, jac=j, jac_sparsity=pattern)
        assert r.success, r.message
        np.testing.assert_allclose(r.x, s.x, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(r.x, dense.x, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(r.cost, s.cost, rtol=1e-10)
        assert sparse.issparse(r.jac) and r.jac.shape == (2 * n, n) and r.jac.nnz == pattern.nnz
        np.testing.assert_allclose(r.jac.toarray(), jac(r.x).toarray(), atol=1e-5)
        np.testing.assert_allclose(r.grad, jac(r.x).T @ res(r.x), atol=1e-8)
        if j == "2-point":
            # 4 calls per Jacobian (r(x) and 3 groups) where dense forward
            # differences make n + 1 = 301; the rest are trial steps.
            assert len(calls) == r.nfev == 48 and r.njev == 7
    assert max(hesse._column_groups(*hesse._sparsity_pattern(pattern, 2 * n, n), 2 * n, n)) == 2
    # A dense 0/1 array works as well, with x_scale and tr_solver='lsmr'.
    r = hesse.least_squares(res, x0, jac_sparsity=pattern.toarray(), x_scale=1.0, tr_solver="lsmr")
    np.testing.assert_allclose(r.x, s.x, rtol=1e-7, atol=1e-9)
    with pytest.raises(ValueError, match=r"jac_sparsity has shape \(600, 299\); the Jacobian is \(m, n\) = \(600, 300\)"):
        hesse.least_squares(res, x0, jac_sparsity=pattern.toarray()[:, :-1])
    with pytest.raises(ValueError, match="jac_sparsity with bounds: hesse's sparse Levenberg-Marquardt takes no bounds"):
        hesse.least_squares(res, x0, jac_sparsity=pattern, bounds=(-5, 5))
    with pytest.raises(ValueError, match="jac_sparsity with loss='huber'"):
        hesse.least_squares(res, x0, jac_sparsity=pattern, loss="huber")
    with pytest.raises(ValueError, match=r"jac must return a matrix of shape \(600, 300\), got shape \(300, 600\)"):
        hesse.least_squares(res, x0, jac=lambda x: jac(x).T, jac_sparsity=pattern)


def test_curve_fit_with_jac_sparsity_as_dense():
    """curve_fit passes jac_sparsity on; pcov comes from the sparse J."""
    s1, _, cert, cert_std, x, y = read("Misra1a")
    f = MODELS["Misra1a"]
    popt, pcov = hesse.curve_fit(f, x, y, p0=s1, jac_sparsity=np.ones((x.size, 2)))
    np.testing.assert_allclose(popt, cert, rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(pcov)), cert_std, rtol=1e-5)
