"""Inputs a scipy user may pass by mistake, and runs that must stop: each is
refused with ValueError (a bad value) or TypeError (a bad type) naming the
argument, never pyo3's PanicException, a crash or a silent wrong result.
One test per defect class found in the sweep of 2026-12-07."""

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import scipy.optimize as so
from scipy.optimize import rosen, rosen_der, rosen_hess

import hesse

X0 = [-1.2, 1.0]
T = np.linspace(0.0, 3.0, 20)
Y = 2.0 * np.exp(-1.3 * T)


def model(x, a, b):
    return a * np.exp(-b * x)


def res(b):
    return model(T, *b) - Y


# --- values of the wrong type returned by the user's functions -------------------


@pytest.mark.parametrize(
    "kw,match",
    [
        # Before: complex was cast to real with only a ComplexWarning.
        ({"jac": lambda x: rosen_der(x) + 1j}, r"jac must return real numbers, got ndarray of dtype complex128"),
        # Before: None in a list became NaN (status 3, no word about jac).
        ({"jac": lambda x: [1.0, None]}, r"jac must return real numbers, got list of dtype object"),
        # Before: "got shape (2,)" for an array of shape (2,).
        ({"jac": lambda x: np.array(["a", "b"])}, r"jac must return real numbers, got ndarray of dtype <U1"),
        ({"jac": rosen_der, "hess": lambda x: rosen_hess(x) * 1j, "method": "newton"}, "hess must return real numbers"),
        ({"jac": rosen_der, "hessp": lambda x, p: [None, None], "method": "newton-cg"}, "hessp must return real numbers"),
    ],
)
def test_callables_returning_a_non_real_dtype_raise_type_error(kw, match):
    with pytest.raises(TypeError, match=match):
        hesse.minimize(rosen, X0, **kw)


def test_fun_may_return_a_one_element_array_as_scipy_accepts():
    r = hesse.minimize(lambda x: np.array([rosen(x)]), X0, jac=rosen_der)
    assert r.success and r.fun == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(TypeError, match=r"fun must return a real number, got ndarray of shape \(2,\)"):
        hesse.minimize(lambda x: np.array([1.0, 2.0]), X0)
    # Before: a numpy complex scalar lost its imaginary part with a ComplexWarning.
    with pytest.raises(TypeError, match=r"fun must return a real number, got complex128 of shape \(\)"):
        hesse.minimize(lambda x: np.complex128(rosen(x) + 1j), X0)


def test_a_callback_return_without_truth_value_names_the_callback():
    with pytest.raises(TypeError, match="callback returned a ndarray that is neither true nor false"):
        hesse.minimize(rosen, X0, jac=rosen_der, callback=lambda xk: np.array([1, 2]))


# --- arguments of the wrong type ----------------------------------------------------


@pytest.mark.parametrize(
    "kw,error,match",
    [
        ({"options": {"gtol": "1e-3"}}, TypeError, "option gtol must be a real number, got str"),
        ({"options": {"gtol": None}}, TypeError, "option gtol must be a real number, got NoneType"),
        ({"options": {"maxiter": "3"}}, TypeError, "option maxiter = '3' must be an integer"),
        ({"options": {"maxiter": 2.5}}, TypeError, "option maxiter = 2.5 must be an integer"),
        ({"options": [("gtol", 1e-3)]}, TypeError, "options must be a dict, got list"),
        ({"tol": "a"}, TypeError, "tol must be a real number, got str"),
        ({"tol": -1.0}, ValueError, r"tol = -1.0 must be finite and >= 0"),
        ({"callback": 3}, TypeError, "callback must be callable, got int"),
        ({"jac": 1}, TypeError, "jac must be True, a callable, '2-point', '3-point' or None, got 1"),
        ({"bounds": 5}, TypeError, "bounds must be a Bounds object or a sequence of"),
        ({"bounds": [("a", 1), (0, 1)]}, TypeError, r"bounds\[0\]: the lower bound must be a real number, got str"),
        ({"bounds": [(0, 1), (0, 1j)]}, TypeError, r"bounds\[1\]: the upper bound must be a real number, got complex"),
        ({"constraints": np.array([1, 2])}, ValueError, "hesse takes no general constraints"),
        ({"bounds": (np.zeros(3), np.ones(3))}, ValueError, r"bounds has 2 pairs, x0 has 3 entries \(for arrays lb and ub, pass Bounds\(lb, ub\)\)"),
    ],
)
def test_minimize_arguments_of_the_wrong_type_name_the_argument(kw, error, match):
    x0 = [0.5, 0.5, 0.5] if "bounds" in kw and isinstance(kw["bounds"], tuple) else X0
    with pytest.raises(error, match=match):
        hesse.minimize(rosen, x0, **kw)


def test_type_errors_are_value_errors_too_as_before():
    """hesse raised ValueError for a string or complex x0; except ValueError
    keeps working, and the exception is a TypeError as well."""
    for x0 in (None, ["a", "b"], [1j, 0]):
        with pytest.raises(TypeError) as info:
            hesse.minimize(rosen, x0)
        assert isinstance(info.value, ValueError)
        assert "x0" in str(info.value)


def test_integer_options_take_integral_floats_and_huge_limits():
    r = hesse.minimize(rosen, X0, jac=rosen_der, options={"maxiter": 5.0})
    assert r.nit == 5 and r.termination == "max_iterations"
    # Before: OverflowError "int too big to convert". Beyond 2**64 - 1 is no limit.
    r = hesse.minimize(rosen, X0, jac=rosen_der, options={"maxiter": 10**30, "maxfun": 10**30})
    assert r.success and r.termination == "gradient_tolerance"


# --- values that crashed or panicked -----------------------------------------------


def test_huge_time_limit_is_a_value_error_not_a_panic():
    # Before: pyo3_runtime.PanicException "cannot convert float seconds to Duration".
    with pytest.raises(ValueError, match=r"option time_limit = 1e\+300 must be at most 1e\+12 seconds"):
        hesse.minimize(rosen, X0, options={"time_limit": 1e300})
    from hesse import _hesse

    with pytest.raises(ValueError, match="option time_limit = 1e300 must be between 0 and"):
        _hesse.minimize(rosen, [0.5, 0.5], (), "bfgs", "3-point", options={"time_limit": 1e300})


def test_huge_lbfgs_memory_is_refused_not_an_aborted_interpreter():
    """maxcor = 10**6 made L-BFGS allocate 8 TB at the start: the allocation
    failure aborted the interpreter. Run in a child so that a regression
    shows as a crash of the child, not of pytest."""
    script = textwrap.dedent(
        """
        import hesse
        from scipy.optimize import rosen, rosen_der
        for method, key in (("lbfgs", "memory"), ("L-BFGS-B", "maxcor")):
            try:
                hesse.minimize(rosen, [-1.2, 1.0], jac=rosen_der, method=method, options={key: 10**6})
            except ValueError as e:
                print(e)
        """
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.splitlines()
    assert lines == [
        f"option {key} = 1000000 is too large: at most 1000 pairs "
        "(the history is allocated whole at the start; scipy's default is 10)"
        for key in ("memory", "maxcor")
    ]
    r = hesse.minimize(rosen, X0, jac=rosen_der, method="lbfgs", options={"memory": 1000})
    assert r.success


# --- a time budget stops slow functions ------------------------------------------


def test_time_limit_stops_a_slow_fun_inside_a_finite_difference_gradient():
    """One central-difference gradient on n = 10 is 21 calls of fun; at 50 ms
    a call the first gradient took 1.05 s against a limit of 0.3 s, because
    the library checks its limit per evaluation it counts (one gradient).
    The binding now checks before every call of Python."""
    calls = []

    def slow(x):
        calls.append(time.perf_counter())
        time.sleep(0.05)
        return rosen(x)

    r = hesse.minimize(slow, np.full(10, -1.2), options={"time_limit": 0.3})
    assert r.termination == "time_limit" and r.status == 1 and not r.success
    assert r.message == "time limit reached"
    # 21 calls take at least 1.05 s: the first gradient was cut short.
    assert len(calls) < 21 and r.nit == 0 and r.nfev == len(calls)
    np.testing.assert_array_equal(r.x, np.full(10, -1.2))


def test_time_limit_stops_hessp_products_assembling_a_dense_hessian():
    calls = []

    def hessp(x, p):
        calls.append(1)
        time.sleep(0.05)
        return so.rosen_hess_prod(x, p)

    r = hesse.minimize(rosen, np.full(20, -1.2), jac=rosen_der, hessp=hessp, method="newton",
                       options={"time_limit": 0.2, "gtol": 0.0})
    assert r.termination == "time_limit" and r.status == 1
    # 20 products take at least 1 s: the first Hessian was cut short.
    assert len(calls) < 20
    np.testing.assert_array_equal(r.x, np.full(20, -1.2))


def test_least_squares_and_curve_fit_take_a_time_limit():
    calls = []

    def slow(b):
        calls.append(1)
        time.sleep(0.02)
        return res(b)

    r = hesse.least_squares(slow, [1.0, 1.0], time_limit=0.1)
    assert r.termination == "time_limit" and r.status == 1 and not r.success
    # The final residuals and Jacobian at x are evaluated after the limit.
    np.testing.assert_allclose(r.fun, res(r.x), rtol=1e-12)
    assert r.cost == pytest.approx(0.5 * np.sum(res(r.x) ** 2), rel=1e-12)
    with pytest.raises(RuntimeError, match="Optimal parameters not found: time limit reached"):
        hesse.curve_fit(lambda x, a, b: (time.sleep(0.02), model(x, a, b))[1], T, Y, p0=[1.0, 1.0], time_limit=0.1)
    with pytest.raises(ValueError, match="time_limit = -1.0 must be finite and >= 0"):
        hesse.least_squares(res, [1.0, 1.0], time_limit=-1.0)


# --- least_squares -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fun,error,match",
    [
        # Before: ValueError "fun returned 1 residuals for 2 parameters".
        (lambda b: None, TypeError, "fun must return an array of real residuals, got NoneType"),
        # Before: ValueError "could not convert string to float".
        (lambda b: np.array(["a"] * 20), TypeError, "fun must return an array of real residuals, got ndarray of dtype <U1"),
        # Before: the imaginary part dropped with a ComplexWarning.
        (lambda b: res(b) + 1j, TypeError, "of dtype complex128"),
        # Before: a result at x0 with status 3; scipy raises here.
        (lambda b: np.full(20, np.nan), ValueError, r"fun is not finite at x0: residual 0 = nan \(of 20\)"),
    ],
)
def test_least_squares_refuses_bad_residuals_at_the_start(fun, error, match):
    with pytest.raises(error, match=match):
        hesse.least_squares(fun, [1.0, 1.0])


@pytest.mark.parametrize(
    "jac,match",
    [
        (lambda b: np.zeros((20, 2)) + 1j, "jac must return real numbers, got ndarray of dtype complex128"),
        (lambda b: np.full((20, 2), None), "jac must return real numbers, got ndarray of dtype object"),
        (lambda b: np.full((20, 2), "a"), "jac must return real numbers, got ndarray of dtype <U1"),
    ],
)
def test_least_squares_refuses_a_non_real_jacobian(jac, match):
    with pytest.raises(TypeError, match=match):
        hesse.least_squares(res, [1.0, 1.0], jac=jac)


@pytest.mark.parametrize(
    "kw,error,match",
    [
        # Before: "invalid option minpack_ftol", a name the caller never used.
        ({"ftol": -1.0}, ValueError, r"ftol = -1.0 must be finite and >= 0"),
        ({"xtol": np.nan}, ValueError, "xtol = nan must be finite and >= 0"),
        ({"gtol": "a"}, TypeError, "gtol must be a real number, got str"),
        ({"f_scale": "1", "loss": "huber"}, TypeError, "f_scale must be a real number, got str"),
        ({"max_nfev": 2.5}, TypeError, "max_nfev = 2.5 must be a positive integer"),
        ({"max_nfev": 0}, ValueError, "max_nfev = 0 must be a positive integer"),
        ({"kwargs": [1]}, TypeError, "kwargs must be a dict, got list"),
        ({"bounds": (["a", 0], [1, 1])}, TypeError, "least_squares: bounds lb must hold real numbers"),
        ({"bounds": ([0, 0, 0], [5, 5, 5])}, ValueError, r"least_squares: bounds lb has shape \(3,\)"),
        ({"loss": lambda z: z}, ValueError, "a callable loss is not supported"),
    ],
)
def test_least_squares_options_name_the_argument(kw, error, match):
    with pytest.raises(error, match=match):
        hesse.least_squares(res, [1.0, 1.0], **kw)


def test_least_squares_huge_max_nfev_is_no_limit():
    # Before: OverflowError "int too big to convert".
    r = hesse.least_squares(res, [1.0, 1.0], max_nfev=10**30)
    assert r.success
    np.testing.assert_allclose(r.x, [2.0, 1.3], rtol=1e-10)


def test_least_squares_never_evaluates_outside_the_box_not_even_at_a_start_outside():
    seen = []

    def f(b):
        seen.append(np.array(b, copy=True))
        return res(b)

    r = hesse.least_squares(f, [10.0, 1.0], bounds=([0.0, 0.0], [5.0, 5.0]))
    assert r.success
    np.testing.assert_allclose(r.x, [2.0, 1.3], rtol=1e-8)
    pts = np.array(seen)
    # Before: the first call (which finds m) was at x0 = (10, 1).
    assert pts[:, 0].max() <= 5.0 and pts.min() >= 0.0


# --- curve_fit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw,error,match",
    [
        # Before: numpy's "operands could not be broadcast together".
        ({"xdata": T[:10]}, ValueError, r"f\(xdata, \*p\) returned 10 values, ydata has 20, xdata has shape \(10,\)"),
        # Before: silently fitted (popt = p0, pcov inf) with NaN sigma.
        ({"sigma": np.full(20, np.nan)}, ValueError, "sigma contains a NaN or an infinity"),
        ({"sigma": np.full((20, 20), np.inf)}, ValueError, "sigma contains a NaN or an infinity"),
        ({"sigma": np.r_[np.ones(19), 0.0]}, ValueError, r"sigma must be positive: sigma\[19\] = 0.0"),
        ({"sigma": ["a"] * 20}, TypeError, "sigma must hold real numbers"),
        ({"ydata": ["a"] * 20}, TypeError, "ydata must hold real numbers"),
        ({"ydata": []}, ValueError, "ydata is empty"),
        ({"ydata": np.where(T > 1, np.nan, Y)}, ValueError, r"ydata contains a NaN or an infinity \(ydata.ravel\(\)\[7\] = nan"),
        # Before: popt = p0 and pcov = inf, no error: f is NaN everywhere.
        ({"f": lambda x, a, b: a * x * np.nan}, ValueError, "fun is not finite at x0"),
        ({"f": lambda x, a, b: None}, TypeError, "f must return real numbers, got NoneType"),
        # Before: numpy's "cannot reshape array of size 5 into shape (20,2)".
        ({"jac": lambda x, a, b: np.ones(5)}, ValueError, r"jac must return an array of shape \(20, 2\), got shape \(5,\)"),
        ({"foo": 1}, TypeError, r"curve_fit got unexpected keyword argument\(s\) 'foo'; accepted beside its own:"),
        # 'omit' is supported (test_least_squares_scipy.py); 'propagate' is not, as in scipy.
        ({"nan_policy": "propagate"}, ValueError, "nan_policy='propagate' is not supported"),
        ({"nan_policy": "drop"}, ValueError, "nan_policy = 'drop': must be None, 'raise' or 'omit'"),
    ],
)
def test_curve_fit_bad_data_names_the_argument(kw, error, match):
    args = {"f": model, "xdata": T, "ydata": Y, "p0": [1.0, 1.0]}
    args.update(kw)
    f, x, y = args.pop("f"), args.pop("xdata"), args.pop("ydata")
    with pytest.raises(error, match=match):
        hesse.curve_fit(f, x, y, **args)


def test_curve_fit_raises_when_the_fit_fails_as_scipy():
    """Before: popt and pcov came back with no sign that the fit had stopped
    at an evaluation limit or on NaN; scipy raises RuntimeError."""
    with pytest.raises(RuntimeError, match="Optimal parameters not found: maximum number of evaluations reached"):
        hesse.curve_fit(model, T, Y, p0=[1.0, 1.0], maxfev=3)
    with pytest.raises(RuntimeError, match="Optimal parameters not found"):
        so.curve_fit(model, T, Y, p0=[1.0, 1.0], maxfev=3)

    def nan_later(x, a, b):
        return model(x, a, b) if b < 1.2 else np.full_like(x, np.nan)

    with pytest.raises(RuntimeError, match="Optimal parameters not found: "):
        hesse.curve_fit(nan_later, T, Y, p0=[1.0, 1.0])


def test_curve_fit_p0_from_the_signature_as_scipy():
    # Before: f(x, *p) was fitted with one parameter.
    with pytest.raises(ValueError, match="p0 is needed: the number of fit parameters cannot be read from f"):
        hesse.curve_fit(lambda x, *p: p[0] * x, T, Y)
    popt, _ = hesse.curve_fit(model, T, Y)
    np.testing.assert_allclose(popt, [2.0, 1.3], rtol=1e-8)


def test_curve_fit_absolute_sigma_on_a_perfect_fit_is_finite():
    """Before: pcov = s^2 (J^T J)^-1 / s^2 = 0/0 = NaN (and a RuntimeWarning)
    when the residuals are 0; scipy gives (J^T J)^-1."""
    sigma = np.full(20, 0.1)
    popt, pcov = hesse.curve_fit(model, T, Y, p0=[1.0, 1.0], sigma=sigma, absolute_sigma=True)
    spopt, spcov = so.curve_fit(model, T, Y, p0=[1.0, 1.0], sigma=sigma, absolute_sigma=True, method="lm")
    assert np.all(np.isfinite(pcov))
    np.testing.assert_allclose(popt, spopt, rtol=1e-8)
    np.testing.assert_allclose(pcov, spcov, rtol=1e-5)


def test_curve_fit_accepts_scipys_maxfev_and_a_constant_model():
    popt, _ = hesse.curve_fit(model, T, Y, p0=[1.0, 1.0], maxfev=1000)
    np.testing.assert_allclose(popt, [2.0, 1.3], rtol=1e-8)
    # A model returning one value broadcasts against ydata, as in scipy.
    popt, pcov = hesse.curve_fit(lambda x, c: c, T, Y, p0=[0.0])
    assert popt[0] == pytest.approx(Y.mean(), rel=1e-10) and np.isfinite(pcov).all()


def test_a_scipy_sparse_hessian_or_jacobian_is_densified_as_scipy_accepts_it():
    """Before: TypeError/ValueError (numpy saw a 0-d object array)."""
    import scipy.sparse as sparse

    r = hesse.minimize(rosen, X0, jac=rosen_der, hess=lambda x: sparse.csr_matrix(rosen_hess(x)), method="newton")
    e = hesse.minimize(rosen, X0, jac=rosen_der, hess=rosen_hess, method="newton")
    assert r.success and r.nit == e.nit
    np.testing.assert_array_equal(r.x, e.x)
    r = hesse.least_squares(lambda b: b - 1.0, [0.0, 0.0], jac=lambda b: sparse.eye(2))
    assert r.success
    np.testing.assert_allclose(r.x, [1.0, 1.0], rtol=1e-12)


def test_dense_methods_on_a_huge_problem_raise_memory_error_not_abort():
    """newton on n = 60 000 asked Rust for 28.8 GB; the failed allocation
    aborted the interpreter. Now a MemoryError, as scipy's (numpy's). Run in
    a child with its address space limited to 4 GB, so that the allocation
    fails on every machine and a regression crashes the child only."""
    script = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        import numpy as np, hesse
        n = 60000
        for method, kw in (("newton", {}), ("trust-exact", {}), ("newton-cg", {"hess": lambda x: np.eye(n)})):
            try:
                hesse.minimize(lambda x: float(x @ x), np.ones(n), jac=lambda x: 2 * x, method=method, **kw)
                print("no error")
            except MemoryError as e:
                print(e)
        """
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.splitlines()
    assert lines[0].startswith("method 'newton' needs 3 dense 60000 x 60000 matrices (86.4 GB), which cannot be allocated")
    assert lines[1].startswith("method 'newton-tr' needs 3 dense 60000 x 60000 matrices")
    assert lines[2].startswith("method 'newton-cg' needs a dense 60000 x 60000 matrix for each product with hess (28.8 GB)")
    assert all("use Hessian-vector products (hessp with newton-cg, newton-cg-tr or tron) or lbfgs" in line for line in lines)


def test_a_hessian_given_to_a_method_that_ignores_it_warns_as_scipy():
    with pytest.warns(RuntimeWarning, match=r"method 'bfgs' does not use Hessian information \(hess\)"):
        r = hesse.minimize(rosen, X0, jac=rosen_der, hess=rosen_hess)
    assert r.success
    with pytest.warns(RuntimeWarning, match=r"method 'cg-pr\+' does not use Hessian information \(hessp\)"):
        hesse.minimize(rosen, X0, jac=rosen_der, hessp=so.rosen_hess_prod, method="CG")


def test_least_squares_on_a_huge_jacobian_raises_memory_error_not_abort():
    script = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        import numpy as np, hesse
        t = np.linspace(0.0, 1.0, 10**6)
        try:
            hesse.least_squares(lambda b: np.full(t.size, b.sum()), np.ones(1000))
            print("no error")
        except MemoryError as e:
            print(e)
        """
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == (
        "least_squares needs 4 dense 1000000 x 1000 matrices (the Jacobian and its factors, "
        "32.0 GB), which cannot be allocated"
    )


def test_jac_true_takes_a_list_pair_as_scipy():
    r = hesse.minimize(lambda x: [rosen(x), rosen_der(x)], X0, jac=True)
    assert r.success
    np.testing.assert_allclose(r.x, [1.0, 1.0], atol=1e-6)
