"""hesse.minimize's calling conventions: input checks, derivatives,
options, callbacks, exceptions, Ctrl-C, the result object."""

import signal
import subprocess
import sys
import textwrap
import time
import traceback

import numpy as np
import pytest
import scipy.optimize as so
from scipy.optimize import rosen, rosen_der, rosen_hess, rosen_hess_prod

import hesse

X0 = [-1.2, 1.0]


# --- input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "x0,match",
    [
        ([np.nan, 1.0], r"x0\[0\] = nan is not finite"),
        ([1.0, np.inf], r"x0\[1\] = inf is not finite"),
        ([[1.0, 2.0], [3.0, 4.0]], r"x0 must be 1-d, got shape \(2, 2\)"),
        ([], "x0 is empty"),
        (["a", "b"], "x0 must hold real numbers, got dtype <U1"),
        ([1 + 2j, 0], "x0 is complex"),
        ([[1.0], [2.0, 3.0]], "x0 must be a 1-d array of real numbers"),
    ],
)
def test_bad_x0_raises_value_error_naming_it(x0, match):
    with pytest.raises(ValueError, match=match):
        hesse.minimize(rosen, x0, jac=rosen_der)


def test_list_scalar_and_other_dtypes_are_converted():
    seen = []

    def f(x):
        seen.append((x.dtype, x.shape))
        return float((x - 3.0) @ (x - 3.0))

    r = hesse.minimize(f, 0)  # a 0-d start: x has shape (1,)
    np.testing.assert_allclose(r.x, [3.0], atol=1e-6)
    assert seen[0] == (np.float64, (1,))
    for x0 in ([1, 2], np.array([1, 2], dtype=np.int32), np.array([1, 2], dtype=np.float32), (True, False)):
        r = hesse.minimize(f, x0)
        assert r.x.dtype == np.float64 and r.x.shape == (2,)
        np.testing.assert_allclose(r.x, [3.0, 3.0], atol=1e-6)


def test_wrong_gradient_and_hessian_shapes_name_the_problem():
    with pytest.raises(ValueError, match=r"jac must return a 1-d array of 2 floats, got shape \(3,\)"):
        hesse.minimize(rosen, X0, jac=lambda x: np.zeros(3))
    with pytest.raises(ValueError, match=r"jac must return a 1-d array of 2 floats, got shape \(2, 1\)"):
        hesse.minimize(rosen, X0, jac=lambda x: np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"hess must return a 2-d array of shape \(2, 2\), got shape \(3, 3\)"):
        hesse.minimize(rosen, X0, jac=rosen_der, hess=lambda x: np.eye(3), method="newton")
    with pytest.raises(ValueError, match=r"hessp must return a 1-d array of 2 floats"):
        hesse.minimize(rosen, X0, jac=rosen_der, hessp=lambda x, p: 1.0, method="newton-cg")
    with pytest.raises(ValueError, match=r"with jac=True, fun must return a tuple \(f, g\)"):
        hesse.minimize(rosen, X0, jac=True)
    with pytest.raises(TypeError, match="fun must return a real number, got str"):
        hesse.minimize(lambda x: "one", X0)


def test_unknown_method_and_option_list_what_is_accepted():
    with pytest.raises(ValueError, match=r"unknown method 'Nelder-Mead'; known: gd, bfgs, lbfgs"):
        hesse.minimize(rosen, X0, method="Nelder-Mead")
    with pytest.raises(ValueError, match=r"unknown option 'foo'; accepted: disp, ftol, ftol_abs, gtol"):
        hesse.minimize(rosen, X0, options={"foo": 1})
    with pytest.raises(ValueError, match="option maxiter = -1 must be a non-negative integer"):
        hesse.minimize(rosen, X0, options={"maxiter": -1})
    with pytest.raises(ValueError, match="option gtol = nan must be finite"):
        hesse.minimize(rosen, X0, options={"gtol": float("nan")})
    with pytest.raises(ValueError, match="method 'newton-cg' needs the gradient"):
        hesse.minimize(rosen, X0, method="Newton-CG")


# --- methods and derivatives ---------------------------------------------------


@pytest.mark.parametrize("method", list(hesse.METHODS) + ["BFGS", "L-BFGS-B", "CG", "Newton-CG", "trust-ncg", "trust-exact", "l-bfgs-b", "TNC"])
@pytest.mark.filterwarnings("ignore:method .* does not use Hessian information")
def test_every_method_solves_rosenbrock(method):
    r = hesse.minimize(
        rosen, X0, jac=rosen_der, hess=rosen_hess, method=method, options={"maxiter": 20000}
    )
    assert r.success, r.termination
    np.testing.assert_allclose(r.x, [1.0, 1.0], atol=1e-6)
    expected = hesse.SCIPY_METHODS.get(method.lower(), method)
    assert r.method == expected


def test_scipy_names_map_onto_hesse_methods():
    assert hesse.minimize(rosen, X0).method == "bfgs"  # scipy's default without bounds
    assert hesse.SCIPY_METHODS == {
        "bfgs": "bfgs",
        "l-bfgs-b": "lbfgs",
        "cg": "cg-pr+",
        "newton-cg": "newton-cg",
        "trust-ncg": "newton-cg-tr",
        "trust-exact": "newton-tr",
        "tnc": "tron",
    }


def test_tnc_is_tron_in_a_box_as_scipys_tnc():
    """scipy's TNC name runs tron; in a box cutting Rosenbrock's minimum off
    it ends where scipy's TNC does, x1 on its bound, and needs the gradient."""
    bounds = [(-2.0, 0.8), (-2.0, 2.0)]
    r = hesse.minimize(rosen, X0, jac=rosen_der, method="TNC", bounds=bounds)
    assert r.method == "tron" and r.success, r.termination
    # On x1 = 0.8 the minimum over x2 is x2 = 0.64.
    np.testing.assert_allclose(r.x, [0.8, 0.64], atol=1e-8)
    assert r.active == [(0, "upper")]
    scipy_optimize = pytest.importorskip("scipy.optimize")
    s = scipy_optimize.minimize(rosen, X0, jac=rosen_der, method="TNC", bounds=bounds)
    np.testing.assert_allclose(r.x, s.x, atol=1e-5)
    with pytest.raises(ValueError, match="needs the gradient"):
        hesse.minimize(rosen, X0, method="TNC", bounds=bounds)


def test_jac_true_callable_and_finite_differences_agree():
    fg = lambda x: (rosen(x), rosen_der(x))  # noqa: E731
    a = hesse.minimize(fg, X0, jac=True)
    b = hesse.minimize(rosen, X0, jac=rosen_der)
    c = hesse.minimize(rosen, X0)  # central differences
    d = hesse.minimize(rosen, X0, jac="2-point", options={"gtol": 1e-5})
    for r in (a, b, c, d):
        assert r.success, r.termination
        np.testing.assert_allclose(r.x, [1.0, 1.0], atol=1e-5)
    # jac=True: one call of fun per gradient; callable: fun and jac apart.
    assert a.nfev == a.njev
    assert b.nfev == b.njev
    # Same iterates with exact gradients either way.
    np.testing.assert_array_equal(a.x, b.x)
    assert a.nit == b.nit
    # Central differences: 2n + 1 = 5 calls of fun per gradient (n = 2).
    assert c.nfev == 5 * c.njev
    assert d.nfev == 3 * d.njev


def test_hessp_hess_and_differences_for_the_newton_family():
    a = hesse.minimize(rosen, X0, jac=rosen_der, hessp=rosen_hess_prod, method="newton-cg")
    b = hesse.minimize(rosen, X0, jac=rosen_der, hess=rosen_hess, method="newton-cg")
    c = hesse.minimize(rosen, X0, jac=rosen_der, method="newton-cg")  # FD of the gradient
    for r in (a, b, c):
        assert r.success
        np.testing.assert_allclose(r.x, [1.0, 1.0], atol=1e-6)
    assert a.hv_evals > 0 and a.nhev == 0
    # A dense Hessian from n Hessian-vector products for newton.
    d = hesse.minimize(rosen, X0, jac=rosen_der, hessp=rosen_hess_prod, method="newton")
    e = hesse.minimize(rosen, X0, jac=rosen_der, hess=rosen_hess, method="newton")
    assert d.nit == e.nit
    np.testing.assert_allclose(d.x, e.x, rtol=1e-12)


def test_args_are_passed_to_every_callable():
    a = 3.0

    def f(x, a, b):
        return float(((x - a) ** 2).sum() * b)

    def g(x, a, b):
        return 2.0 * (x - a) * b

    def h(x, a, b):
        return 2.0 * b * np.eye(x.size)

    def hp(x, p, a, b):
        return 2.0 * b * p

    for method, kw in (("bfgs", {}), ("newton", {"hess": h}), ("newton-cg", {"hessp": hp})):
        r = hesse.minimize(f, [0.0, 1.0], args=(a, 2.0), jac=g, method=method, **kw)
        np.testing.assert_allclose(r.x, [3.0, 3.0], atol=1e-8)


def test_options_reach_the_solver():
    r = hesse.minimize(rosen, X0, jac=rosen_der, options={"maxiter": 5})
    assert r.nit == 5 and r.termination == "max_iterations" and r.status == 1 and not r.success
    r = hesse.minimize(rosen, X0, jac=rosen_der, options={"maxfun": 20})
    assert r.termination == "max_evaluations" and r.nfev + r.njev >= 20
    r = hesse.minimize(rosen, X0, jac=rosen_der, tol=1e-3)
    assert r.termination == "gradient_tolerance" and np.abs(r.jac).max() <= 1e-3
    loose = hesse.minimize(rosen, X0, jac=rosen_der, options={"gtol": 1e-3})
    tight = hesse.minimize(rosen, X0, jac=rosen_der, options={"gtol": 1e-10})
    assert loose.nit < tight.nit
    r = hesse.minimize(rosen, X0, jac=rosen_der, options={"ftol": 1e-4, "gtol": 0.0})
    assert r.termination == "function_tolerance"
    r = hesse.minimize(rosen, X0, jac=rosen_der, options={"xtol": 1e-3, "gtol": 0.0})
    assert r.termination == "step_tolerance"
    m3 = hesse.minimize(rosen, [-1.2] * 6, jac=rosen_der, method="lbfgs", options={"memory": 3})
    m10 = hesse.minimize(rosen, [-1.2] * 6, jac=rosen_der, method="L-BFGS-B", options={"maxcor": 10})
    assert m3.success and m10.success and m3.nit != m10.nit


def test_disp_prints_a_summary(capsys):
    hesse.minimize(rosen, X0, jac=rosen_der, options={"disp": True})
    out = capsys.readouterr().out
    assert "hesse bfgs: gradient norm below tolerance" in out
    assert "Iterations:" in out


# --- the result ----------------------------------------------------------------


def test_result_is_an_optimize_result_with_hesse_fields():
    r = hesse.minimize(rosen, X0, jac=rosen_der)
    assert isinstance(r, so.OptimizeResult)
    for key in ("x", "fun", "jac", "nit", "nfev", "njev", "nhev", "status", "success", "message", "termination", "hv_evals"):
        assert key in r, key
    assert r.status == 0 and r.success and r.termination == "gradient_tolerance"
    assert r.fun == pytest.approx(rosen(r.x), abs=0)
    np.testing.assert_allclose(r.jac, rosen_der(r.x), rtol=0, atol=0)
    text = repr(r)
    assert "termination: gradient_tolerance" in text and "nfev:" in text
    assert set(hesse.STATUS.values()) == {0, 1, 2, 3, 4, 99}


def test_non_finite_value_is_status_3():
    r = hesse.minimize(lambda x: float("nan"), [1.0, 2.0])
    assert r.termination == "non_finite_value" and r.status == 3 and not r.success


# --- callback, exceptions, Ctrl-C --------------------------------------------------


def test_callback_returning_true_stops_the_run():
    seen = []

    def cb(xk):
        seen.append(xk.copy())
        return len(seen) >= 3

    r = hesse.minimize(rosen, X0, jac=rosen_der, callback=cb)
    assert r.termination == "user_stop" and r.status == 99 and not r.success
    assert r.nit == 3 and len(seen) == 3
    np.testing.assert_array_equal(seen[-1], r.x)


def test_callback_new_style_and_stop_iteration():
    got = []

    def cb(intermediate_result):
        got.append((intermediate_result.nit, intermediate_result.fun))
        if intermediate_result.nit == 4:
            raise StopIteration

    r = hesse.minimize(rosen, X0, jac=rosen_der, callback=cb)
    assert r.termination == "user_stop" and r.nit == 4
    assert [k for k, _ in got] == [1, 2, 3, 4]
    assert got[-1][1] == r.fun


def test_exception_in_fun_propagates_with_its_traceback():
    calls = []

    def fun(x):
        calls.append(1)
        if len(calls) == 7:
            raise RuntimeError("boom in fun")
        return rosen(x)

    with pytest.raises(RuntimeError, match="boom in fun") as info:
        hesse.minimize(fun, X0, jac=rosen_der)
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert frames[-1] == "fun"
    assert len(calls) == 7  # the run stopped at once: fun was not called again


@pytest.mark.parametrize("where", ["jac", "hess", "hessp", "callback"])
def test_exception_in_any_callable_propagates(where):
    def boom(*a, **k):
        raise KeyError(f"boom in {where}")

    kw = {"jac": rosen_der}
    method = "bfgs"
    if where == "jac":
        kw["jac"] = boom
    elif where == "hess":
        kw["hess"], method = boom, "newton"
    elif where == "hessp":
        kw["hessp"], method = boom, "newton-cg"
    else:
        kw["callback"] = boom
    with pytest.raises(KeyError, match=f"boom in {where}"):
        hesse.minimize(rosen, X0, method=method, **kw)


def test_keyboard_interrupt_stops_a_long_run():
    script = textwrap.dedent(
        """
        import signal, sys, time, numpy as np, hesse
        from scipy.optimize import rosen, rosen_der
        # Python leaves SIGINT ignored when it starts with it ignored (a
        # background job of a shell without job control): raise
        # KeyboardInterrupt on it whatever the parent inherited.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        def f(x):
            time.sleep(1e-3)
            return rosen(x), rosen_der(x)  # gd needs ~10^4 iterations here
        print("start", flush=True)
        t = time.perf_counter()
        try:
            hesse.minimize(f, [-1.2, 1.0] * 3, jac=True, method="gd", options={"gtol": 0.0, "maxiter": 10**9})
        except KeyboardInterrupt:
            print(f"interrupted after {time.perf_counter() - t:.2f} s", flush=True)
            sys.exit(0)
        print("finished", flush=True)
        sys.exit(1)
        """
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start"
    time.sleep(1.0)
    t = time.perf_counter()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0, out
    assert out.startswith("interrupted"), out
    assert time.perf_counter() - t < 5.0


def test_other_python_threads_run_during_a_run():
    """The GIL is released while the solver works: a Python thread ticks
    inside the stretches where the run is in Rust only (a dense Newton
    trust-region step on n = 400, between the return of hess and the next
    call of fun). With the GIL held through the run, no tick could land there."""
    import threading

    n = 400
    ticks = []
    stretches = []  # (end of hess, start of the next fun call)
    hess_end = [None]
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0)

    def fun(x):
        if hess_end[0] is not None:
            stretches.append((hess_end[0], time.perf_counter()))
            hess_end[0] = None
        return float(np.sum(x**4) / 4 + x @ x / 2), x**3 + x

    def hess(x):
        h = np.diag(3 * x**2 + 1.0) + 1e-3 * np.ones((n, n))
        hess_end[0] = time.perf_counter()
        return h

    t = threading.Thread(target=ticker)
    t.start()
    try:
        r = hesse.minimize(fun, np.linspace(1.0, 3.0, n), jac=True, hess=hess, method="newton-tr")
    finally:
        stop.set()
        t.join()
    assert r.success and len(stretches) >= 3
    inside = sum(any(a < tk < b for a, b in stretches) for tk in ticks)
    assert inside > 0, (inside, len(ticks), stretches)


# --- bounds (parsed now, refused until a bounded method lands) ---------------------


def test_bounds_are_parsed_in_both_scipy_forms():
    lb, ub = hesse.parse_bounds([(0, None), (None, 2.0), (-1, 1)], 3)
    np.testing.assert_array_equal(lb, [0.0, -np.inf, -1.0])
    np.testing.assert_array_equal(ub, [np.inf, 2.0, 1.0])
    lb, ub = hesse.parse_bounds(so.Bounds([0, -np.inf], [1, np.inf]), 2)
    np.testing.assert_array_equal(lb, [0.0, -np.inf])
    np.testing.assert_array_equal(ub, [1.0, np.inf])
    lb, ub = hesse.parse_bounds(so.Bounds(0.0, 1.0), 2)
    np.testing.assert_array_equal(lb, [0.0, 0.0])
    lb, ub = hesse.parse_bounds(hesse.Bounds([0, 0], [1, 1]), 2)
    np.testing.assert_array_equal(ub, [1.0, 1.0])
    with pytest.raises(ValueError, match="bounds has 1 pairs, x0 has 2 entries"):
        hesse.parse_bounds([(0, 1)], 2)
    with pytest.raises(ValueError, match=r"bounds\[1\]: lower 3.0 > upper 2.0"):
        hesse.parse_bounds([(0, 1), (3, 2)], 2)
    with pytest.raises(ValueError, match=r"bounds\[0\] = 5 is not a pair"):
        hesse.parse_bounds([5, (0, 1)], 2)
    with pytest.raises(ValueError, match="bounds contain NaN"):
        hesse.parse_bounds([(np.nan, 1), (0, 1)], 2)


def test_bounds_are_refused_by_methods_that_do_not_take_them():
    with pytest.raises(ValueError, match="method 'bfgs' does not take bounds; methods that do: lbfgsb, tron"):
        hesse.minimize(rosen, X0, bounds=[(0, 2), (0, 2)], method="BFGS")
    with pytest.raises(ValueError, match=r"bounds\[1\]: lower 3.0 > upper 2.0"):
        hesse.minimize(rosen, X0, bounds=[(0, 2), (3, 2)])
    with pytest.raises(ValueError, match="method 'tron' needs the gradient"):
        hesse.minimize(rosen, X0, bounds=[(0, 2), (0, 2)], method="tron")


BOX = [(-2.0, 0.5), (-1.0, 2.0)]  # cuts off Rosenbrock's minimizer: x* = (0.5, 0.25)


@pytest.mark.parametrize(
    "method,kw",
    [
        (None, {}),  # the default with bounds: lbfgsb, central differences
        ("L-BFGS-B", {"jac": rosen_der}),
        ("lbfgsb", {"jac": "2-point"}),
        ("tron", {"jac": rosen_der, "hessp": rosen_hess_prod}),
        ("tron", {"jac": rosen_der, "hess": rosen_hess}),
    ],
)
def test_bounded_methods_solve_a_box_and_stay_inside_it(method, kw):
    seen = []

    def f(x):
        seen.append(x.copy())
        return rosen(x)

    r = hesse.minimize(f, X0, method=method, bounds=BOX, **kw)
    assert r.success, r.termination
    assert r.method == ("lbfgsb" if method in (None, "L-BFGS-B") else method)
    np.testing.assert_allclose(r.x, [0.5, 0.25], atol=1e-6)
    assert r.active == [(0, "upper")] and r.projected_start is False
    lo, hi = np.array(BOX).T
    pts = np.array(seen)
    assert np.all(pts >= lo) and np.all(pts <= hi), "a point outside the box was evaluated"
    s = so.minimize(rosen, X0, method="L-BFGS-B", jac=rosen_der, bounds=BOX)
    np.testing.assert_allclose(r.x, s.x, atol=1e-5)


def test_bounds_accept_scipy_bounds_and_project_a_start_outside():
    r = hesse.minimize(rosen, [3.0, 3.0], jac=rosen_der, bounds=so.Bounds([-np.inf, 0.0], [0.5, np.inf]))
    assert r.projected_start is True and r.method == "lbfgsb"
    np.testing.assert_allclose(r.x, [0.5, 0.25], atol=1e-6)
    # One-sided: a lower bound only, inactive at the solution.
    r = hesse.minimize(rosen, [3.0, 3.0], jac=rosen_der, bounds=[(0.0, None), (None, None)], method="tron", hess=rosen_hess)
    assert r.active == [] and r.success
    np.testing.assert_allclose(r.x, [1.0, 1.0], atol=1e-6)


def test_the_core_refuses_bounds_for_a_method_that_does_not_take_them():
    from hesse import _hesse

    with pytest.raises(ValueError, match="method 'bfgs' does not take bounds; methods that do: lbfgsb, tron"):
        _hesse.minimize(rosen, [0.5, 0.5], (), "bfgs", "3-point", lower=[0.0, 0.0], upper=[1.0, 1.0])
    with pytest.raises(ValueError, match="bounds: upper has 1 entries, x0 has 2"):
        _hesse.minimize(rosen, [0.5, 0.5], (), "bfgs", "3-point", upper=[1.0])
    assert set(hesse.BOUNDED_METHODS) <= set(hesse.METHODS)
