"""hesse: smooth numerical optimization centred on second-order methods, with
scipy.optimize's calling conventions.

    import hesse
    res = hesse.minimize(fun, x0, jac=grad, method="bfgs")
    popt, pcov = hesse.curve_fit(model, xdata, ydata, p0)

The solvers are hesse's Rust implementations (see the repository's README);
this module parses scipy's arguments, calls them, and returns
``OptimizeResult`` objects (``scipy.optimize.OptimizeResult`` when scipy is
installed, else a dict with attribute access that prints the same way).

Methods of :func:`minimize` (case-insensitive):

========================  ====================================================
hesse name                what it is, and scipy's name that maps onto it
========================  ====================================================
``gd``                    gradient descent, Armijo backtracking
``bfgs``                  BFGS, More-Thuente line search (scipy ``'BFGS'``)
``lbfgs``                 L-BFGS, memory ``options['memory']`` (default 10)
                          (scipy ``'L-BFGS-B'`` without bounds)
``cg-fr``, ``cg-pr``,     nonlinear CG with the named beta; ``cg-pr+`` is
``cg-pr+``, ``cg-hs``,    scipy's ``'CG'`` (Polak-Ribiere truncated at 0)
``cg-dy``, ``cg-hz``
``newton``                Newton, modified Cholesky, backtracking
``newton-tr``             Newton trust region, exact subproblem (More-Sorensen)
                          (scipy ``'trust-exact'``)
``newton-cg``             truncated Newton, line search (scipy ``'Newton-CG'``)
``newton-cg-tr``          Steihaug-CG trust region (scipy ``'trust-ncg'``)
``saddle-free-newton``    -(|H| + delta I)^-1 g (Dauphin et al. 2014)
``lbfgsb``                L-BFGS-B in a box (Byrd, Lu, Nocedal & Zhu 1995)
                          (scipy ``'L-BFGS-B'`` with bounds; the default
                          with bounds, as scipy's)
``tron``                  TRON, trust-region Newton-CG in a box (Lin & More
                          1999), on Hessian-vector products
========================  ====================================================

Derivatives:

* ``jac=True``: ``fun`` returns ``(f, g)``; ``jac=callable``: ``jac(x, *args)``
  returns ``g``.
* ``jac=None`` (or ``'3-point'``): central differences of ``fun``, step
  ``eps**(1/3) * max(1, |x_i|)`` (Nocedal & Wright (8.9)), ``2n + 1`` calls of
  ``fun`` per gradient, all counted in ``nfev``; ``'2-point'``: forward
  differences, step ``sqrt(eps) * max(1, |x_i|)``, ``n + 1`` calls. Accepted by
  ``gd``, ``bfgs``, ``lbfgs`` and the ``cg-*`` methods; the Newton family
  (``newton*``, ``saddle-free-newton``) needs an exact gradient and raises
  ``ValueError`` without one (as scipy's Newton-CG does).
* Newton family: ``hess(x, *args)`` returns the dense ``(n, n)`` Hessian,
  ``hessp(x, p, *args)`` the product ``H p``. With only ``hessp``, a dense
  Hessian is assembled from ``n`` products; with only ``hess``, products are
  ``hess(x) @ p``; with neither, central differences of the gradient
  (``2n`` gradients per Hessian, 2 per product), an approximation.

Status codes (``res.status``; ``res.termination`` is hesse's own name):

===  =======================================================================
0    converged: ``gradient_tolerance``, ``function_tolerance``,
     ``step_tolerance``
1    a limit: ``max_iterations``, ``max_evaluations``, ``time_limit``
2    no further progress possible: ``line_search_failed``,
     ``not_descent_direction``, ``trust_region_too_small``, ``no_progress``,
     ``linear_algebra_failure`` (scipy's "precision loss")
3    ``non_finite_value`` (scipy's "NaN result encountered")
4    ``unbounded``: f appears unbounded below
99   ``user_stop``: the callback returned True or raised StopIteration
===  =======================================================================
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings
from collections.abc import Mapping

import numpy as np

from . import _hesse

__all__ = [
    "minimize",
    "least_squares",
    "curve_fit",
    "OptimizeResult",
    "Bounds",
    "METHODS",
    "STATUS",
    "ArgumentTypeError",
]


class ArgumentTypeError(TypeError, ValueError):
    """An argument, or a value returned by a user's function, of the wrong
    type (strings, ``None``, complex or object arrays where real numbers are
    needed). A TypeError, and a ValueError too (as numpy's ``AxisError`` is
    both), because hesse raised ValueError for these before and
    ``except ValueError`` must keep working."""

try:  # pragma: no cover - exercised by whichever environment runs the tests
    from scipy.optimize import OptimizeResult as _Base
except ImportError:  # pragma: no cover
    _Base = None

if _Base is None:  # pragma: no cover

    class OptimizeResult(dict):
        """The result of an optimization: a dict with attribute access, printed
        like scipy.optimize.OptimizeResult."""

        def __getattr__(self, name):
            try:
                return self[name]
            except KeyError as e:
                raise AttributeError(name) from e

        __setattr__ = dict.__setitem__
        __delattr__ = dict.__delitem__

        def __repr__(self):
            if not self:
                return self.__class__.__name__ + "()"
            width = max(map(len, self.keys())) + 1
            return "\n".join(
                k.rjust(width) + ": " + repr(v).replace("\n", "\n" + " " * (width + 2))
                for k, v in sorted(self.items())
            )

        def __dir__(self):
            return list(self.keys())

else:

    class OptimizeResult(_Base):
        """scipy.optimize.OptimizeResult, with hesse's extra fields
        ``termination`` and ``hv_evals``."""


#: The methods of :func:`minimize` by hesse's names (``hesse minimize``'s).
METHODS = tuple(_hesse.methods())

#: The methods of METHODS that take bounds.
BOUNDED_METHODS = tuple(_hesse.bounded_methods())

#: scipy's names (lower-cased) and the hesse method each maps onto.
SCIPY_METHODS = {
    "bfgs": "bfgs",
    "l-bfgs-b": "lbfgs",
    "cg": "cg-pr+",
    "newton-cg": "newton-cg",
    "trust-ncg": "newton-cg-tr",
    "trust-exact": "newton-tr",
    "tnc": "tron",
}

_NEEDS_GRADIENT = {
    "newton",
    "newton-tr",
    "newton-cg",
    "newton-cg-tr",
    "saddle-free-newton",
    "tron",
}

#: ``status`` for each termination (see the module docstring).
STATUS = {
    "gradient_tolerance": 0,
    "function_tolerance": 0,
    "step_tolerance": 0,
    "max_iterations": 1,
    "max_evaluations": 1,
    "time_limit": 1,
    "line_search_failed": 2,
    "not_descent_direction": 2,
    "trust_region_too_small": 2,
    "no_progress": 2,
    "linear_algebra_failure": 2,
    "non_finite_value": 3,
    "unbounded": 4,
    "user_stop": 99,
}

#: Options of :func:`minimize`: the accepted key and the hesse option it sets.
#: scipy's keys: ``maxiter``, ``gtol``, ``ftol``, ``xtol``, ``maxfun``,
#: ``maxfev``, ``maxcor``, ``disp``; hesse's own: the rest.
_OPTION_KEYS = {
    # scipy
    "maxiter": "max_iter",
    "gtol": "gtol",
    "ftol": "ftol",
    "xtol": "xtol",
    "maxfun": "max_evals",
    "maxfev": "max_evals",
    "maxcor": "memory",
    "disp": None,
    # hesse
    "max_iter": "max_iter",
    "max_evals": "max_evals",
    "gtol_rel": "gtol_rel",
    "ftol_abs": "ftol_abs",
    "xtol_abs": "xtol_abs",
    "time_limit": "time_limit",
    "memory": "memory",
}
_INT_OPTIONS = {"max_iter", "max_evals", "memory"}


class Bounds:
    """Box bounds ``lb <= x <= ub`` (either side may be infinite), as
    scipy.optimize.Bounds; scipy's own ``Bounds`` objects are accepted too."""

    def __init__(self, lb=-np.inf, ub=np.inf, keep_feasible=False):
        self.lb = lb
        self.ub = ub
        self.keep_feasible = keep_feasible

    def __repr__(self):
        return f"Bounds({self.lb!r}, {self.ub!r})"


def _as_x0(x0, name="x0"):
    """``x0`` as a 1-d float64 array (a list or a 0-d scalar accepted)."""
    if x0 is None:
        raise ArgumentTypeError(f"{name} is None: the start must be an array of real numbers")
    try:
        arr = np.asarray(x0)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"{name} must be a 1-d array of real numbers: {e}") from None
    if arr.dtype.kind == "c":
        raise ArgumentTypeError(f"{name} is complex ({arr.dtype}); hesse minimizes over real numbers")
    if arr.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    with np.errstate(over="ignore"):  # float128 or int beyond float64: inf, refused below
        arr = np.atleast_1d(arr).astype(np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: the problem has no variables")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {arr[i]} is not finite")
    return arr


def _real(v, what):
    """``v`` (a scalar) as a float, or ArgumentTypeError naming ``what``."""
    if isinstance(v, (str, bytes, complex, np.complexfloating)) or isinstance(v, bool):
        raise ArgumentTypeError(f"{what} must be a real number, got {type(v).__name__} {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{what} must be a real number, got {type(v).__name__} {v!r}") from None


def _real_array(v, what):
    """``v`` as a float64 array, or ArgumentTypeError naming ``what``."""
    try:
        a = np.asarray(v)
    except Exception as e:  # ragged sequences
        raise ValueError(f"{what} must be an array of real numbers: {e}") from None
    if a.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{what} must hold real numbers, got dtype {a.dtype}")
    return a.astype(np.float64)


def parse_bounds(bounds, n):
    """``(lb, ub)`` float arrays of length ``n`` from scipy's ``Bounds`` object
    (or ours) or a sequence of ``n`` pairs ``(lo, hi)`` with ``None`` for an
    infinite side. Raises ValueError for a wrong count, a NaN, or ``lo > hi``,
    and ArgumentTypeError (a TypeError and a ValueError) for a bound that is
    not a real number."""
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb = _real_array(bounds.lb, "bounds.lb")
        ub = _real_array(bounds.ub, "bounds.ub")
        # A scalar (or scipy's 1-element array) applies to every variable.
        lb = np.full(n, float(lb.ravel()[0])) if lb.size == 1 else lb
        ub = np.full(n, float(ub.ravel()[0])) if ub.size == 1 else ub
    else:
        if isinstance(bounds, (str, bytes)):
            pairs = None
        else:
            try:
                pairs = list(bounds)
            except TypeError:
                pairs = None
        if pairs is None:
            raise ArgumentTypeError(
                f"bounds must be a Bounds object or a sequence of (lo, hi) pairs, got {type(bounds).__name__}"
            )
        if len(pairs) != n:
            hint = " (for arrays lb and ub, pass Bounds(lb, ub))" if len(pairs) == 2 else ""
            raise ValueError(f"bounds has {len(pairs)} pairs, x0 has {n} entries{hint}")
        lb = np.empty(n)
        ub = np.empty(n)
        for i, pair in enumerate(pairs):
            try:
                lo, hi = pair
            except (TypeError, ValueError):
                raise ValueError(f"bounds[{i}] = {pair!r} is not a pair (lo, hi)") from None
            lb[i] = -np.inf if lo is None else _real(lo, f"bounds[{i}]: the lower bound")
            ub[i] = np.inf if hi is None else _real(hi, f"bounds[{i}]: the upper bound")
    if lb.shape != (n,) or ub.shape != (n,):
        raise ValueError(f"bounds: lb has shape {lb.shape} and ub {ub.shape}, x0 has {n} entries")
    nan = np.flatnonzero(np.isnan(lb) | np.isnan(ub))
    if nan.size:
        i = int(nan[0])
        raise ValueError(f"bounds contain NaN: bounds[{i}] = ({lb[i]}, {ub[i]})")
    bad = np.flatnonzero(lb > ub)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"bounds[{i}]: lower {lb[i]} > upper {ub[i]}")
    return lb, ub


#: Limits on option values (the compiled core checks them too).
_U64_MAX = 2**64 - 1
#: L-BFGS(-B) allocates its whole history at the start, (m + 1)^2 matrices
#: included: ``maxcor = 10**6`` asked for 8 TB and aborted the interpreter.
_MAX_MEMORY = 1000
_MAX_TIME_LIMIT = 1e12  # seconds


def _int_option(key, value, lo):
    """An integer option: an int, or a float with an integral value (scipy
    users write ``maxiter=1e4``); values beyond 2**64 - 1 mean no limit."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_, numbers.Integral)):
        if math.isfinite(value) and float(value).is_integer():
            value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"option {key} = {value!r} must be an integer")
    value = int(value)
    if value < lo:
        raise ValueError(f"option {key} = {value!r} must be a non-negative integer" + (" >= 1" if lo == 1 else ""))
    return min(value, _U64_MAX)


def _tolerance(what, value):
    """A tolerance: a real number, finite and >= 0."""
    v = _real(value, what)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{what} = {value!r} must be finite and >= 0")
    return v


def _options(options, tol):
    out = {}
    disp = False
    if tol is not None:
        out["gtol"] = _tolerance("tol", tol)
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise ArgumentTypeError(f"options must be a dict, got {type(options).__name__}")
    for key, value in options.items():
        if key not in _OPTION_KEYS:
            accepted = ", ".join(sorted(_OPTION_KEYS))
            raise ValueError(f"unknown option {key!r}; accepted: {accepted}")
        name = _OPTION_KEYS[key]
        if name is None:
            disp = bool(value)
            continue
        if name in _INT_OPTIONS:
            out[name] = _int_option(key, value, 1 if name == "memory" else 0)
            if name == "memory" and out[name] > _MAX_MEMORY:
                raise ValueError(
                    f"option {key} = {value!r} is too large: at most {_MAX_MEMORY} pairs "
                    "(the history is allocated whole at the start; scipy's default is 10)"
                )
        else:
            v = _tolerance(f"option {key}", value)
            if name == "time_limit" and v > _MAX_TIME_LIMIT:
                raise ValueError(f"option {key} = {value!r} must be at most {_MAX_TIME_LIMIT:g} seconds")
            if key == "ftol":
                # scipy's ftol (L-BFGS-B's factr * eps): relative change of f,
                # measured against max(|f|, 1): both the relative and the
                # absolute f test.
                out["ftol_abs"] = v
            out[name] = v
    return out, disp


def _method(method, bounds):
    if method is None:
        return "lbfgsb" if bounds is not None else "bfgs"
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    m = method.lower()
    if m == "l-bfgs-b" and bounds is not None:
        return "lbfgsb"
    m = SCIPY_METHODS.get(m, m)
    if m not in METHODS:
        known = ", ".join(list(METHODS) + sorted(set(SCIPY_METHODS) - set(METHODS)))
        raise ValueError(f"unknown method {method!r}; known: {known}")
    return m


def _new_style(callback):
    """Whether ``callback`` takes scipy's ``intermediate_result`` (else ``x``)."""
    try:
        return set(inspect.signature(callback).parameters) == {"intermediate_result"}
    except (TypeError, ValueError):
        return False


def _call_back(callback, new_style, x, **result):
    """Calls the user's callback, ``callback(intermediate_result)`` with
    ``x`` and ``result`` or ``callback(x)``; True stops the run (a truthy
    return or ``StopIteration``, as scipy)."""
    try:
        if new_style:
            out = callback(intermediate_result=OptimizeResult(x=x, **result))
        else:
            out = callback(x)
    except StopIteration:
        return True
    try:
        return bool(out)
    except (TypeError, ValueError) as e:  # an array of several entries
        raise TypeError(
            f"callback returned a {type(out).__name__} that is neither true nor false ({e}); "
            "return True (or raise StopIteration) to stop the run, None or False to go on"
        ) from None


def _callback(callback):
    """The callback as the core calls it, ``cb(x, f, nit) -> bool`` (True stops)."""
    if callback is None:
        return None
    new_style = _new_style(callback)

    def cb(x, f, nit):
        return _call_back(callback, new_style, x, fun=f, nit=nit)

    return cb


def _finish(d, disp=False):
    res = OptimizeResult(d)
    res["status"] = STATUS.get(res["termination"], 2)
    if disp:
        print(f"hesse {res['method']}: {res['message']}")
        print(f"         Current function value: {res['fun']:.6g}")
        print(f"         Iterations: {res['nit']}")
        print(f"         Function evaluations: {res['nfev']}")
        print(f"         Gradient evaluations: {res['njev']}")
    return res


def minimize(
    fun,
    x0,
    args=(),
    method=None,
    jac=None,
    hess=None,
    hessp=None,
    bounds=None,
    constraints=(),
    tol=None,
    callback=None,
    options=None,
):
    """Minimize ``fun(x, *args)`` over ``x`` from ``x0``, with
    scipy.optimize.minimize's arguments and meanings.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` (or ``(float, ndarray)`` with ``jac=True``).
        ``x`` is a fresh float64 array of shape ``(n,)`` on each call.
    x0 : array_like, shape (n,)
        The start: a list, array or scalar of real numbers, all finite.
    args : tuple
        Extra arguments passed to ``fun``, ``jac``, ``hess``, ``hessp``.
    method : str, optional
        A hesse method (``hesse.METHODS``) or a scipy name that maps onto one
        (``'BFGS'``, ``'L-BFGS-B'``, ``'CG'``, ``'Newton-CG'``,
        ``'trust-ncg'``, ``'trust-exact'``); case-insensitive. Default
        ``'bfgs'``, as scipy's default without bounds.
    jac : callable, bool, '2-point', '3-point' or None
        The gradient: see the module docstring for finite differences.
    hess, hessp : callable, optional
        Hessian ``hess(x, *args) -> (n, n)`` or product
        ``hessp(x, p, *args) -> (n,)``, for the Newton family.
    bounds : scipy.optimize.Bounds or sequence of (lo, hi), optional
        Box bounds (``None`` or +-inf for an open side), taken by ``lbfgsb``
        and ``tron`` (``hesse.BOUNDED_METHODS``); any other method raises
        ValueError. Every point hesse evaluates, finite-difference probes
        included (one-sided next to a bound), lies inside the box; a start
        outside is projected onto it (``res.projected_start``).
        ``res.active`` lists ``(index, 'lower' | 'upper')`` of the bounds
        active at ``x``.
    tol : float, optional
        Sets ``gtol`` (the gradient inf-norm tolerance).
    callback : callable, optional
        ``callback(xk)`` or ``callback(intermediate_result=OptimizeResult)``
        after each iteration; returning True or raising StopIteration stops
        the run (``termination='user_stop'``, status 99).
    options : dict, optional
        scipy's keys ``maxiter``, ``gtol`` (inf-norm of the gradient),
        ``ftol`` (relative change of f, against ``max(|f|, 1)``), ``xtol``
        (relative step ``|dx|_inf / |x|_inf``), ``maxfun``/``maxfev`` (limit
        on the total of f, g, H and Hv evaluations), ``maxcor`` (L-BFGS
        memory, at most 1000), ``disp``; hesse's ``max_iter``,
        ``max_evals``, ``gtol_rel``, ``ftol_abs``, ``xtol_abs``, ``memory``,
        ``time_limit`` (seconds; checked before every call of Python too, so
        that a slow ``fun`` inside a finite-difference gradient is stopped).
        Integer options take integral floats (``maxiter=1e4``).
        hesse's defaults: ``gtol = 1e-8``, ``max_iter = 1000``, other tests
        off. An unknown key raises ValueError listing the accepted ones.

    Returns
    -------
    OptimizeResult
        ``x, fun, jac, nit, nfev, njev, nhev, status, success, message``, and
        hesse's ``termination`` (snake_case reason), ``hv_evals``
        (Hessian-vector products), ``grad_norm``, ``method``, ``seconds``.
        ``nfev`` counts calls of ``fun`` (finite differences included),
        ``njev`` gradients, ``nhev`` Hessians.

    Raises
    ------
    ValueError
        Bad input: shapes, a non-finite ``x0``, unknown method or option,
        missing derivatives, bounds.
    TypeError
        A wrong type: ``fun`` or ``callback`` not callable, an option that is
        not a number, a function returning a string, ``None``, a complex or
        object array. Raised as :class:`ArgumentTypeError` (also a
        ValueError) where hesse raised ValueError before.
    Exception
        Whatever ``fun``, ``jac``, ``hess``, ``hessp`` or ``callback``
        raised (the run stops at once), and KeyboardInterrupt on Ctrl-C.
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    x0 = _as_x0(x0)
    n = x0.size
    if constraints is not None and not (isinstance(constraints, (list, tuple)) and len(constraints) == 0):
        raise ValueError("hesse takes no general constraints (only bounds)")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    m = _method(method, bounds)
    lower = upper = None
    if bounds is not None:
        lower, upper = parse_bounds(bounds, n)
        if m not in BOUNDED_METHODS:
            if not BOUNDED_METHODS:
                raise ValueError(
                    f"bounds are not supported by method {m!r}: no bounded method "
                    "(L-BFGS-B, TRON) is available in this build of hesse yet"
                )
            raise ValueError(
                f"method {m!r} does not take bounds; methods that do: {', '.join(BOUNDED_METHODS)}"
            )
    if not isinstance(args, tuple):
        args = (args,)
    opts, disp = _options(options, tol)
    jac_callable = None
    if jac is True:
        jac_mode = "fun"
    elif callable(jac):
        jac_mode, jac_callable = "callable", jac
    elif jac is None or jac is False or (isinstance(jac, str) and jac == "3-point"):
        jac_mode = "3-point"
    elif isinstance(jac, str) and jac == "2-point":
        jac_mode = "2-point"
    else:
        error = ValueError if isinstance(jac, str) else ArgumentTypeError
        raise error(f"jac must be True, a callable, '2-point', '3-point' or None, got {jac!r}")
    if jac_mode in ("2-point", "3-point") and m in _NEEDS_GRADIENT:
        raise ValueError(
            f"method {m!r} needs the gradient: pass jac=callable or jac=True "
            "(finite-difference gradients are accepted by gd, bfgs, lbfgs and cg-*)"
        )
    for name, h in (("hess", hess), ("hessp", hessp)):
        if h is not None and not callable(h):
            raise ArgumentTypeError(f"{name} must be callable (finite-difference strategies are the default when it is None)")
        if h is not None and m not in _NEEDS_GRADIENT:
            # scipy's words: "Method BFGS does not use Hessian information (hess)."
            warnings.warn(f"method {m!r} does not use Hessian information ({name})", RuntimeWarning, stacklevel=2)
    d = _hesse.minimize(
        fun,
        x0,
        args,
        m,
        jac_mode,
        jac_callable,
        hess,
        hessp,
        opts,
        _callback(callback),
        lower,
        upper,
    )
    return _finish(d, disp)


_LOSSES = ("linear", "soft_l1", "huber", "cauchy", "arctan")


def _box(bounds, n, what):
    """``(lb, ub)`` arrays of length ``n`` from least_squares's ``bounds``
    (a pair of scalars or arrays, broadcast, or a ``Bounds`` object), or None
    when every side is infinite. Raises ValueError for a wrong shape, a NaN or
    ``lb > ub`` (``lb == ub`` fixes a variable)."""
    if bounds is None:
        return None
    try:
        lb, ub = bounds.lb, bounds.ub
    except AttributeError:
        try:
            lb, ub = bounds
        except (TypeError, ValueError):
            raise ValueError(f"{what}: bounds must be a pair (lb, ub) or a Bounds object") from None
    lb = _real_array([-np.inf if v is None else v for v in lb] if isinstance(lb, (list, tuple)) else lb, f"{what}: bounds lb")
    ub = _real_array([np.inf if v is None else v for v in ub] if isinstance(ub, (list, tuple)) else ub, f"{what}: bounds ub")
    try:
        lb = np.broadcast_to(lb, (n,)).copy()
        ub = np.broadcast_to(ub, (n,)).copy()
    except ValueError:
        raise ValueError(
            f"{what}: bounds lb has shape {lb.shape} and ub {ub.shape}: each must be a scalar or an array of {n} entries"
        ) from None
    if np.isnan(lb).any() or np.isnan(ub).any():
        raise ValueError(f"{what}: bounds contain NaN")
    bad = np.flatnonzero(lb > ub)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{what}: bounds[{i}]: lower {lb[i]} > upper {ub[i]}")
    bad = np.flatnonzero((lb == np.inf) | (ub == -np.inf))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{what}: bounds[{i}] = ({lb[i]}, {ub[i]}) leaves no finite value for x[{i}]")
    if np.all(lb == -np.inf) and np.all(ub == np.inf):
        return None
    return lb, ub


#: scipy's least_squares methods and what hesse runs for each: its
#: Levenberg-Marquardt (projected under bounds) for all three. scipy's
#: ``'trf'`` and ``'dogbox'`` are other trust-region methods with the same
#: minimizer on the problems both solve; see python/README.md.
LEAST_SQUARES_METHODS = {"lm": "lm", "trf": "lm", "dogbox": "lm"}


def _positive_array(v, n, what, allow_zero=False):
    """``v`` (a scalar or ``n`` entries) as ``n`` finite floats > 0 (>= 0
    with ``allow_zero``), or ValueError/ArgumentTypeError naming ``what``."""
    a = _real_array(v, what)
    if a.ndim > 1 or (a.ndim == 1 and a.size != n):
        raise ValueError(f"{what} has shape {a.shape}; expected a scalar or {n} entries (one per parameter)")
    a = np.broadcast_to(a, (n,)).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(a) | ((a < 0) if allow_zero else (a <= 0)))
    if bad.size:
        i = int(bad[0])
        sign = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{what}[{i}] = {float(a[i])!r}: every entry must be finite and {sign}")
    return a


def _loss_cost(r, loss, f_scale):
    """scipy's cost ``0.5 C^2 sum rho((r / C)^2)`` (``0.5 |r|^2`` linear)."""
    z = (r / f_scale) ** 2
    if loss == "linear":
        rho = z
    elif loss == "soft_l1":
        rho = 2.0 * (np.sqrt(1.0 + z) - 1.0)
    elif loss == "huber":
        rho = np.where(z <= 1.0, z, 2.0 * np.sqrt(z) - 1.0)
    elif loss == "cauchy":
        rho = np.log1p(z)
    else:  # arctan
        rho = np.arctan(z)
    return 0.5 * f_scale**2 * float(np.sum(rho))


def _verbose_header():
    # scipy's print_header_nonlinear (scipy/optimize/_lsq/common.py).
    print("{:^15}{:^15}{:^15}{:^15}{:^15}{:^15}".format(
        "Iteration", "Total nfev", "Cost", "Cost reduction", "Step norm", "Optimality"))


def _verbose_row(nit, nfev, cost, reduction, step, optimality):
    red = " " * 15 if reduction is None else f"{reduction:^15.2e}"
    stp = " " * 15 if step is None else f"{step:^15.2e}"
    print(f"{nit:^15}{nfev:^15}{cost:^15.4e}{red}{stp}{optimality:^15.2e}")


def _least_squares_observer(callback, verbose, nfev0):
    """The core's per-iteration function ``cb(x, f, f_prev, step_norm,
    grad_norm, grad_norm0, nit, nfev) -> bool`` (True stops): scipy's
    ``verbose=2`` rows and the user's callback, ``callback(x)`` or
    ``callback(intermediate_result)`` with ``x, cost, nit, nfev``, as
    scipy's trf gives it. None when neither is asked for."""
    if callback is None and verbose < 2:
        return None
    new_style = callback is not None and _new_style(callback)

    def cb(x, f, f_prev, step_norm, grad_norm, grad_norm0, nit, nfev):
        nfev += nfev0
        if verbose >= 2:
            if nit == 1:
                _verbose_row(0, "", 0.5 * f_prev, None, None, 0.5 * grad_norm0)
            _verbose_row(nit, nfev, 0.5 * f, 0.5 * (f_prev - f), step_norm, 0.5 * grad_norm)
        if callback is None:
            return False
        return _call_back(callback, new_style, x, cost=0.5 * f, nit=nit, nfev=nfev)

    return cb


def _sparsity_pattern(jac_sparsity, m, n):
    """scipy's ``jac_sparsity`` (an array or scipy.sparse matrix of shape
    ``(m, n)``, nonzero where the Jacobian may be) as CSC ``(col_ptr,
    row_idx)``, rows sorted within each column."""
    if hasattr(jac_sparsity, "tocsc"):  # scipy.sparse
        a = jac_sparsity.tocsc(copy=True)
        a.sum_duplicates()
        a.eliminate_zeros()
        a.sort_indices()
        shape, col_ptr, row_idx = a.shape, np.asarray(a.indptr), np.asarray(a.indices)
    else:
        a = np.atleast_2d(_real_array(jac_sparsity, "jac_sparsity"))
        shape = a.shape
        if shape == (m, n):
            cols, rows = np.nonzero(a.T)  # column by column, rows increasing
            col_ptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n))])
            row_idx = rows
    if tuple(shape) != (m, n):
        raise ValueError(f"jac_sparsity has shape {tuple(shape)}; the Jacobian is (m, n) = ({m}, {n})")
    return col_ptr.astype(np.int64), row_idx.astype(np.int64)


def _column_groups(col_ptr, row_idx, m, n):
    """The group of each column for differences: greedily, the first group
    none of whose columns shares a row with it (Curtis, Powell & Reid 1974;
    scipy's ``group_columns``), so that one evaluation per group suffices."""
    used = []  # per group: the rows its columns touch
    group = []
    for j in range(n):
        rows = row_idx[col_ptr[j] : col_ptr[j + 1]]
        for g, u in enumerate(used):
            if not u[rows].any():
                u[rows] = True
                group.append(g)
                break
        else:
            u = np.zeros(m, dtype=bool)
            u[rows] = True
            used.append(u)
            group.append(len(used) - 1)
    return group


def _values_on_pattern(jac, col_ptr, row_idx, m, n):
    """``jac(x, *args)`` (a dense array or a scipy.sparse matrix of shape
    ``(m, n)``) as its values on the pattern, in CSC order; entries off the
    pattern are not read."""
    cols = np.repeat(np.arange(n), np.diff(col_ptr))

    def values(x, *args):
        out = jac(x, *args)
        if hasattr(out, "tocsc"):
            if out.shape != (m, n):
                raise ValueError(f"jac must return a matrix of shape ({m}, {n}), got shape {out.shape}")
            return np.asarray(out.tocsc()[row_idx, cols]).ravel()
        j = np.asarray(out) if out is not None else np.array(None)
        if j.dtype.kind not in "biuf":
            raise ArgumentTypeError(f"jac must return real numbers, got {type(out).__name__}")
        if j.shape != (m, n):
            raise ValueError(f"jac must return a matrix of shape ({m}, {n}), got shape {j.shape}")
        return j[row_idx, cols]

    return values


def _csc_matrix(values, row_idx, col_ptr, shape):
    """A scipy.sparse CSC matrix (a dense array without scipy)."""
    try:
        from scipy.sparse import csc_matrix
    except ImportError:
        dense = np.zeros(shape)
        dense[row_idx, np.repeat(np.arange(shape[1]), np.diff(col_ptr))] = values
        return dense
    return csc_matrix((np.asarray(values), row_idx, col_ptr), shape=shape)


def least_squares(
    fun,
    x0,
    jac="2-point",
    bounds=(-np.inf, np.inf),
    method="lm",
    ftol=None,
    xtol=None,
    gtol=None,
    x_scale=None,
    loss="linear",
    f_scale=1.0,
    diff_step=None,
    tr_solver=None,
    tr_options=None,
    jac_sparsity=None,
    max_nfev=None,
    verbose=0,
    args=(),
    kwargs=None,
    callback=None,
    workers=None,
    *,
    time_limit=None,
):
    """Minimize ``0.5 * sum(rho(fun(x, *args)**2))`` by Levenberg-Marquardt
    (hesse's ``LevenbergMarquardt``, MINPACK's lmder), with
    scipy.optimize.least_squares's arguments, in scipy's order.

    ``method``: ``'lm'`` (the default), ``'trf'`` or ``'dogbox'`` (scipy's
    default is ``'trf'``); all three run the same (projected) Levenberg-
    Marquardt, and ``res.method`` is ``'lm'`` (see python/README.md).
    ``jac`` is a callable returning the ``(m, n)`` Jacobian, ``'2-point'``
    (forward differences, scipy's default) or ``'3-point'`` (central), with
    MINPACK lmdif's relative steps ``h_j = s |x_j|`` (``s`` where ``x_j = 0``;
    ``s = sqrt(eps)`` forward, ``eps**(1/3)`` central), all counted in
    ``nfev``. ``diff_step`` (a scalar or ``n`` entries, >= 0) replaces ``s``
    as scipy's does: ``h_j = diff_step_j |x_j|``, the default step where that
    is 0.
    ``x_scale``: ``None`` (the default) or ``'jac'`` scales the trust region
    by the Jacobian's column norms (MINPACK's ``mode = 1``; scipy's default
    for ``'lm'`` since 1.16, and hesse's for every method); a positive scalar
    or array is the characteristic scale of each variable, MINPACK's
    ``mode = 2`` with ``diag = 1 / x_scale`` (as scipy's ``'lm'``;
    ``x_scale=1.0`` is scipy < 1.16's default, ``D = I``).
    ``ftol``, ``xtol``, ``gtol`` are MINPACK's tests (hesse's defaults
    1e-15, 1e-15, 0 when None); ``max_nfev`` limits evaluations (residuals
    plus Jacobians); at most ``100 (n + 1)`` iterations (MINPACK lmder's
    default ``maxfev``). ``loss`` (``'linear'``, ``'soft_l1'``, ``'huber'``,
    ``'cauchy'``, ``'arctan'``) and ``f_scale`` have scipy's meaning (Triggs
    et al.'s rescaling in the Gauss-Newton model); ``bounds=(lb, ub)``
    (scalars or arrays, or a ``Bounds`` object; ``lb == ub`` fixes a variable)
    keeps every iterate and every difference step in the box (a projected LM,
    Kanzow, Yamashita & Fukushima 2004; differences turn one-sided at a
    bound).
    ``tr_solver``: ``None`` or ``'exact'`` (hesse solves every trust-region
    subproblem exactly, by QR and More's secular equation); ``'lsmr'`` is
    accepted with ``jac_sparsity`` and raises ValueError without.
    ``tr_options`` is accepted and ignored, as scipy ignores it for
    ``'exact'``. ``jac_sparsity`` (an ``(m, n)`` array or scipy.sparse
    matrix, nonzero where the Jacobian may be) runs hesse's
    ``SparseLevenbergMarquardt`` (sparse Cholesky of the damped normal
    equations): differences over groups of columns that share no row (one
    call of ``fun`` per group, two for ``'3-point'``), or a callable ``jac``
    (dense or scipy.sparse) read on the pattern; ``res.jac`` is then a
    scipy.sparse CSC matrix and there is no ``covariance``; bounds and
    robust losses are refused with it. ``verbose``: 0 silent, 1 scipy's
    two-line report at the end, 2 also one row per iteration (scipy's
    columns; the step norm is the infinity norm, ``nfev`` counts difference
    evaluations). ``callback(x)`` or ``callback(intermediate_result)``
    (``x, cost, nit, nfev``) after each iteration; True or StopIteration
    stops the run (``termination='user_stop'``). ``workers`` is accepted and
    not used: evaluations are serial.
    ``time_limit`` (hesse's, seconds) stops the run with
    ``termination='time_limit'``: no call of ``fun`` or ``jac`` is made after
    it, except the final residuals and Jacobian at ``x``.

    Bad input raises ValueError, or ArgumentTypeError (a TypeError and a
    ValueError) for a wrong type; a start where the residuals are not
    finite raises ValueError, as scipy's.

    Returns an OptimizeResult with ``x, cost, fun, jac, grad, optimality,
    active_mask, nfev, njev, nit, status, success, message, termination``,
    and ``covariance`` (``s^2 (J^T J)^-1``) when ``m > n``. ``status``: as
    :func:`minimize`'s (not scipy's least_squares codes).
    """
    return _least_squares(
        fun, x0, jac, bounds, method, ftol, xtol, gtol, x_scale, loss, f_scale, diff_step,
        tr_solver, tr_options, jac_sparsity, max_nfev, verbose, args, kwargs, callback, workers,
        time_limit,
    )


def _least_squares(
    fun, x0, jac, bounds, method, ftol, xtol, gtol, x_scale, loss, f_scale, diff_step,
    tr_solver, tr_options, jac_sparsity, max_nfev, verbose, args, kwargs, callback, workers,
    time_limit, step_bound=None,
):
    """:func:`least_squares`, and MINPACK's ``factor`` (``step_bound``),
    which curve_fit takes from scipy's leastsq."""
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    x0 = _as_x0(x0)
    n = x0.size
    if method is not None and method not in LEAST_SQUARES_METHODS:
        raise ValueError(
            f"method {method!r} unknown; scipy's methods {', '.join(map(repr, LEAST_SQUARES_METHODS))} "
            "all run hesse's Levenberg-Marquardt"
        )
    if callable(loss):
        raise ValueError(f"loss: a callable loss is not supported; scipy's named losses are: {', '.join(_LOSSES)}")
    if loss not in _LOSSES:
        raise ValueError(f"loss {loss!r} unknown; scipy's losses: {', '.join(_LOSSES)}")
    f_scale = _real(f_scale, "f_scale")
    if not (np.isfinite(f_scale) and f_scale > 0):
        raise ValueError(f"f_scale = {f_scale!r} must be a positive finite number")
    if x_scale is None or (isinstance(x_scale, str) and x_scale == "jac"):
        x_scale = None  # MINPACK mode 1: the Jacobian's column norms
    elif isinstance(x_scale, str):
        raise ValueError(f"x_scale = {x_scale!r}: must be 'jac', None or positive numbers (a scalar or one per parameter)")
    else:
        x_scale = list(_positive_array(x_scale, n, "x_scale"))
    if diff_step is not None:
        diff_step = list(_positive_array(diff_step, n, "diff_step", allow_zero=True))
    if tr_solver not in (None, "exact") and not (tr_solver == "lsmr" and jac_sparsity is not None):
        if tr_solver == "lsmr":
            raise ValueError(
                "tr_solver='lsmr': hesse's least_squares solves each subproblem exactly (dense QR, or "
                "sparse Cholesky with jac_sparsity); pass tr_solver=None or 'exact', and jac_sparsity "
                "for a sparse Jacobian"
            )
        raise ValueError(f"tr_solver = {tr_solver!r}: must be None, 'exact' or 'lsmr'")
    if tr_options is not None and not isinstance(tr_options, Mapping):
        raise ArgumentTypeError(f"tr_options must be a dict, got {type(tr_options).__name__}")
    try:
        level_ok = not isinstance(verbose, str) and verbose in (0, 1, 2)  # True is 1, as in scipy
    except (TypeError, ValueError):  # an array
        level_ok = False
    if not level_ok:
        raise ValueError(f"verbose = {verbose!r}: must be 0, 1 or 2")
    verbose = int(verbose)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if workers is not None and not callable(workers):
        raise TypeError(f"workers must be a map-like callable, got {type(workers).__name__}")
    if step_bound is not None:
        step_bound = _real(step_bound, "factor")
        if not (math.isfinite(step_bound) and step_bound > 0):
            raise ValueError(f"factor = {step_bound!r} must be a positive finite number")
    tols = [None if t is None else _tolerance(name, t) for name, t in (("ftol", ftol), ("xtol", xtol), ("gtol", gtol))]
    if max_nfev is not None:
        if isinstance(max_nfev, float) and math.isfinite(max_nfev) and max_nfev.is_integer():
            max_nfev = int(max_nfev)
        if isinstance(max_nfev, (bool, np.bool_)) or not isinstance(max_nfev, numbers.Integral):
            raise ArgumentTypeError(f"max_nfev = {max_nfev!r} must be a positive integer")
        if max_nfev < 1:
            raise ValueError(f"max_nfev = {max_nfev!r} must be a positive integer")
        max_nfev = min(int(max_nfev), _U64_MAX)
    if time_limit is not None:
        time_limit = _tolerance("time_limit", time_limit)
        if time_limit > _MAX_TIME_LIMIT:
            raise ValueError(f"time_limit = {time_limit!r} must be at most {_MAX_TIME_LIMIT:g} seconds")
    box = _box(bounds, n, "least_squares")
    if box is not None:
        # The start is projected into the box (as the library does) before
        # the call below: no evaluation outside the box, that one included.
        x0 = np.clip(x0, box[0], box[1])
    if not isinstance(args, tuple):
        args = (args,)
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise ArgumentTypeError(f"kwargs must be a dict, got {type(kwargs).__name__}")
    if kwargs:
        f0 = fun
        fun = lambda x, *a: f0(x, *a, **kwargs)  # noqa: E731
        if callable(jac):
            j0 = jac
            jac = lambda x, *a: j0(x, *a, **kwargs)  # noqa: E731
    if callable(jac):
        jac_mode, jac_callable = "callable", jac
    elif isinstance(jac, str) and jac in ("2-point", "3-point"):
        jac_mode, jac_callable = jac, None
    else:
        error = ValueError if isinstance(jac, str) else ArgumentTypeError
        raise error(f"jac must be a callable, '2-point' or '3-point', got {jac!r}")
    out = fun(x0.copy(), *args)
    r0 = np.atleast_1d(np.asarray(out) if out is not None else np.array(None))
    if r0.dtype.kind not in "biuf":
        raise ArgumentTypeError(
            f"fun must return an array of real residuals, got {type(out).__name__}"
            + (f" of dtype {r0.dtype}" if isinstance(out, np.ndarray) else "")
        )
    r0 = r0.astype(np.float64)
    if r0.ndim != 1:
        raise ValueError(f"fun must return a 1-d array of residuals, got shape {r0.shape}")
    m = r0.size
    if m < n:
        raise ValueError(f"fun returned {m} residuals for {n} parameters: Levenberg-Marquardt needs m >= n")
    bad = np.flatnonzero(~np.isfinite(r0))
    if bad.size:
        i = int(bad[0])
        # scipy: "Residuals are not finite in the initial point."
        raise ValueError(f"fun is not finite at x0: residual {i} = {r0[i]} (of {m}); the start must be a point where the model is defined")
    lower, upper = (None, None) if box is None else (list(box[0]), list(box[1]))
    if jac_sparsity is not None:
        for given, what in ((box is not None, "bounds"), (loss != "linear", f"loss={loss!r}"), (step_bound is not None, "factor")):
            if given:
                raise ValueError(
                    f"jac_sparsity with {what}: hesse's sparse Levenberg-Marquardt takes no {what.split('=')[0]}; "
                    "drop one of the two"
                )
        col_ptr, row_idx = _sparsity_pattern(jac_sparsity, m, n)
    if verbose >= 2:
        _verbose_header()
    observe = _least_squares_observer(callback, verbose, 1)  # 1: the call above
    if jac_sparsity is None:
        d = _hesse.least_squares(
            fun, x0, m, args, jac_mode, jac_callable, *tols, max_nfev, None,
            loss, float(f_scale), lower, upper, time_limit, x_scale, diff_step, step_bound, observe,
        )
    else:
        groups = None
        if jac_callable is not None:
            jac_callable = _values_on_pattern(jac_callable, col_ptr, row_idx, m, n)
        else:
            groups = _column_groups(col_ptr, row_idx, m, n)
        d = _hesse.sparse_least_squares(
            fun, x0, m, args, jac_mode, list(col_ptr), list(row_idx), groups, jac_callable, *tols,
            max_nfev, None, time_limit, x_scale, diff_step, observe,
        )
        d["jac"] = _csc_matrix(d.pop("jac_values"), row_idx, col_ptr, (m, n))
    d["nfev"] += 1  # the call above that found m
    mask = np.asarray(d.get("active_mask", np.zeros(n)), dtype=int)
    # scipy's optimality under bounds: the gradient on the free variables.
    d["optimality"] = float(np.max(np.abs(np.where(mask == 0, d["grad"], 0.0)), initial=0.0))
    d["active_mask"] = mask
    d["method"] = "lm"
    res = _finish(d)
    if verbose >= 2 and res["nit"] == 0:
        _verbose_row(0, res["nfev"], res["cost"], None, None, res["optimality"])
    if verbose >= 1:
        # scipy's report (scipy/optimize/_lsq/least_squares.py).
        print(res["message"])
        print(
            f"Function evaluations {res['nfev']}, initial cost {_loss_cost(r0, loss, f_scale):.4e}, "
            f"final cost {res['cost']:.4e}, first-order optimality {res['optimality']:.2e}."
        )
    return res


def curve_fit(
    f,
    xdata,
    ydata,
    p0=None,
    sigma=None,
    absolute_sigma=False,
    check_finite=None,
    bounds=(-np.inf, np.inf),
    method=None,
    jac=None,
    *,
    full_output=False,
    nan_policy=None,
    **kwargs,
):
    """Fit ``ydata ~ f(xdata, *params)`` by least squares, as
    scipy.optimize.curve_fit: returns ``(popt, pcov)``, or with
    ``full_output=True`` scipy's ``(popt, pcov, infodict, mesg, ier)``:
    ``infodict`` has ``nfev`` and ``fvec`` (the whitened residuals at
    ``popt``) and hesse's ``njev``, ``nit``, ``termination``; ``mesg`` is
    the run's message; ``ier`` MINPACK's info code (1 ``ftol``, 2 ``xtol``,
    4 ``gtol``; a fit that fails raises instead, as scipy's).

    ``sigma`` is a scalar or 1-d array of standard deviations (residuals are
    divided by it) or a 2-d covariance matrix (residuals are whitened by its
    Cholesky factor). ``pcov`` is ``s^2 (J^T J)^-1`` with
    ``s^2 = RSS / (m - n)``, or ``(J^T J)^-1`` with ``absolute_sigma=True``;
    ``inf`` where ``J`` is rank deficient or ``m <= n`` (scipy's convention).
    ``jac`` is a callable ``jac(xdata, *params) -> (m, n)`` or
    ``'2-point'``/``'3-point'`` (default ``'3-point'``: central differences,
    whose ``pcov`` agrees with an exact Jacobian's to about 10 digits).
    ``method`` ``None``, ``'lm'``, ``'trf'`` or ``'dogbox'``: hesse's
    Levenberg-Marquardt for all (projected under ``bounds``, which
    :func:`least_squares` takes as scipy's).

    ``check_finite`` (default: True unless ``nan_policy`` is given, as
    scipy's) raises ValueError for a NaN or infinity in ``xdata``/``ydata``;
    ``nan_policy``: ``None``, ``'raise'`` (ValueError for a NaN) or
    ``'omit'`` (drops the points where ``ydata`` or ``xdata`` (along its last
    axis) is NaN, and their rows and columns of ``sigma``); ``'propagate'``
    raises ValueError, as scipy's.

    Extra keyword arguments go to :func:`least_squares` (``ftol``, ``xtol``,
    ``gtol``, ``max_nfev``, ``x_scale``, ``loss``, ``f_scale``,
    ``diff_step``, ``tr_solver``, ``tr_options``, ``jac_sparsity``,
    ``verbose``, ``callback``, ``workers``, ``time_limit``); scipy's leastsq
    names (what scipy's ``method='lm'`` takes) are translated: ``maxfev``
    (``max_nfev``), ``diag`` (``x_scale = 1 / diag``), ``epsfcn`` (forward
    differences with ``diff_step = sqrt(epsfcn)``), ``factor`` (MINPACK's
    initial step bound), ``col_deriv`` (``jac`` returns ``(n, m)``).
    ``args`` raises ValueError, as scipy's.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if "args" in kwargs:
        # scipy: the model function takes its parameters, not extra args.
        raise ValueError("curve_fit: 'args' is not a supported keyword argument (f is called as f(xdata, *params))")
    unknown = sorted(set(kwargs) - set(_CURVE_FIT_KWARGS))
    if unknown:
        raise TypeError(
            f"curve_fit got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"accepted beside its own: {', '.join(sorted(_CURVE_FIT_KWARGS))}"
        )
    if "maxfev" in kwargs:  # scipy's name with method='lm' (leastsq's)
        if "max_nfev" in kwargs:
            raise TypeError("curve_fit: give maxfev or max_nfev, not both")
        kwargs["max_nfev"] = kwargs.pop("maxfev")
    diag = kwargs.pop("diag", None)  # leastsq's: MINPACK mode 2, x_scale = 1 / diag
    if diag is not None and "x_scale" in kwargs:
        raise TypeError("curve_fit: give diag (leastsq's) or x_scale, not both")
    epsfcn = kwargs.pop("epsfcn", None)
    if epsfcn is not None:  # leastsq's: forward differences, step sqrt(epsfcn) |x_j|
        if "diff_step" in kwargs:
            raise TypeError("curve_fit: give epsfcn (leastsq's) or diff_step, not both")
        epsfcn = _real(epsfcn, "epsfcn")
        if not math.isfinite(epsfcn):
            raise ValueError(f"epsfcn = {epsfcn!r} must be finite")
        kwargs["diff_step"] = math.sqrt(max(epsfcn, np.finfo(float).eps))
        if jac is None:
            jac = "2-point"
    step_bound = kwargs.pop("factor", None)
    col_deriv = bool(kwargs.pop("col_deriv", False))
    if nan_policy not in (None, "raise", "omit"):
        if nan_policy == "propagate":
            raise ValueError("nan_policy='propagate' is not supported by curve_fit (as scipy's); use None, 'raise' or 'omit'")
        raise ValueError(f"nan_policy = {nan_policy!r}: must be None, 'raise' or 'omit'")
    if check_finite is None:
        check_finite = nan_policy is None
    if p0 is None:
        # As scipy: the positional parameters of f after xdata (not *args).
        try:
            params = inspect.signature(f).parameters.values()
        except (TypeError, ValueError):
            raise ValueError("p0 is needed: the number of parameters cannot be read from f") from None
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        nparams = sum(1 for q in params if q.kind in kinds) - 1
        if nparams < 1:
            raise ValueError(
                "p0 is needed: the number of fit parameters cannot be read from f "
                "(it must take xdata and at least one named parameter, or pass p0)"
            )
        p0 = np.ones(nparams)
    p0 = _as_x0(p0, "p0")
    n = p0.size
    if diag is not None:
        kwargs["x_scale"] = 1.0 / _positive_array(diag, n, "diag")
    if method is not None and method not in LEAST_SQUARES_METHODS:
        raise ValueError(
            f"method {method!r} unknown; scipy's methods {', '.join(map(repr, LEAST_SQUARES_METHODS))} "
            "all run hesse's Levenberg-Marquardt"
        )
    _box(bounds, n, "curve_fit")  # checked here, applied by least_squares
    ydata = _real_array(ydata, "ydata")
    if ydata.ndim != 1:
        ydata = ydata.ravel()
    if isinstance(xdata, (list, tuple, np.ndarray)):
        xdata = _real_array(xdata, "xdata")
    for name, a in (("ydata", ydata), ("xdata", xdata)):
        if not isinstance(a, np.ndarray):
            continue
        if check_finite:
            bad = np.flatnonzero(~np.isfinite(a.ravel()))
            if bad.size:
                i = int(bad[0])
                raise ValueError(
                    f"{name} contains a NaN or an infinity ({name}.ravel()[{i}] = {a.ravel()[i]}; check_finite=True)"
                )
        elif nan_policy == "raise":
            bad = np.flatnonzero(np.isnan(a.ravel()))
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"{name} contains a NaN ({name}.ravel()[{i}]; nan_policy='raise')")
    if nan_policy == "omit" and not check_finite:
        # scipy's: drop point i where ydata[i] or any xdata[..., i] is NaN.
        drop = np.isnan(ydata)
        if isinstance(xdata, np.ndarray) and xdata.ndim >= 1:
            if xdata.shape[-1] != ydata.size:
                raise ValueError(
                    f"nan_policy='omit' needs xdata's last axis to match ydata: xdata has shape "
                    f"{xdata.shape}, ydata {ydata.size} points"
                )
            drop = drop | np.isnan(xdata).reshape(-1, ydata.size).any(axis=0)
        if drop.any():
            keep = ~drop
            ydata = ydata[keep]
            if isinstance(xdata, np.ndarray) and xdata.ndim >= 1:
                xdata = xdata[..., keep]
            if sigma is not None:
                sigma = _real_array(sigma, "sigma")
                if sigma.shape == (keep.size,):
                    sigma = sigma[keep]
                elif sigma.shape == (keep.size, keep.size):
                    sigma = sigma[np.ix_(keep, keep)]
    m = ydata.size
    if m == 0:
        raise ValueError("ydata is empty: nothing to fit")
    if sigma is None:
        transform = None
    else:
        sigma = _real_array(sigma, "sigma")
        if sigma.size == 1 and sigma.ndim <= 1:  # one deviation for every point, as scipy
            sigma = np.full(m, float(sigma.ravel()[0]))
        if sigma.shape in ((m,), (m, m)) and not np.all(np.isfinite(sigma)):
            raise ValueError("sigma contains a NaN or an infinity")
        if sigma.shape == (m,):
            bad = np.flatnonzero(sigma <= 0)
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"sigma must be positive: sigma[{i}] = {sigma[i]}")
            transform = 1.0 / sigma
        elif sigma.shape == (m, m):
            try:
                transform = np.linalg.cholesky(sigma)
            except np.linalg.LinAlgError:
                raise ValueError("sigma (a covariance matrix) must be positive definite") from None
        else:
            raise ValueError(f"sigma has shape {sigma.shape}; expected ({m},) or ({m}, {m})")

    def whiten(r):
        if transform is None:
            return r
        if transform.ndim == 1:
            return r * transform
        return np.linalg.solve(transform, r)  # L^-1 r, L L^T = sigma

    def residuals(p):
        out = f(xdata, *p)
        fx = np.asarray(out) if out is not None else np.array(None)
        if fx.dtype.kind not in "biuf":
            raise ArgumentTypeError(f"f must return real numbers, got {type(out).__name__}" + (f" of dtype {fx.dtype}" if isinstance(out, np.ndarray) else ""))
        fx = fx.astype(np.float64).ravel()
        if fx.size not in (1, m):  # one value broadcasts, as in scipy
            shape = f", xdata has shape {np.shape(xdata)}" if isinstance(xdata, np.ndarray) else ""
            raise ValueError(f"f(xdata, *p) returned {fx.size} values, ydata has {m}{shape}")
        return whiten(fx - ydata)

    if callable(jac):

        def jacobian(p):
            out = jac(xdata, *p)
            j = np.asarray(out) if out is not None else np.array(None)
            if col_deriv:  # leastsq's col_deriv: jac returns (n, m)
                j = j.T
            if j.dtype.kind not in "biuf":
                raise ArgumentTypeError(f"jac must return real numbers, got {type(out).__name__}" + (f" of dtype {j.dtype}" if isinstance(out, np.ndarray) else ""))
            if j.size != m * n:
                raise ValueError(f"jac must return an array of shape ({m}, {n}), got shape {j.shape}")
            return whiten(j.astype(np.float64).reshape(m, n))

    else:
        jacobian = "3-point" if jac is None else jac
    ls = {k: kwargs.pop(k, None) for k in _LEAST_SQUARES_KEYWORDS}
    res = _least_squares(
        residuals, p0, jacobian, bounds, method, ls["ftol"], ls["xtol"], ls["gtol"], ls["x_scale"],
        ls["loss"] or "linear", 1.0 if ls["f_scale"] is None else ls["f_scale"], ls["diff_step"],
        ls["tr_solver"], ls["tr_options"], ls["jac_sparsity"], ls["max_nfev"], ls["verbose"] or 0, (), None,
        ls["callback"], ls["workers"], ls["time_limit"], step_bound,
    )
    if not res.success:
        # scipy's curve_fit raises when the fit did not converge.
        raise RuntimeError(f"Optimal parameters not found: {res.message} (termination {res.termination}, {res.nfev} calls of f)")
    popt = res.x
    if "covariance" not in res and hasattr(res.jac, "tocsc") and m > n:
        # jac_sparsity: s^2 (J^T J)^-1 from the sparse J (n x n is small).
        jtj = (res.jac.T @ res.jac).toarray()
        try:
            np.linalg.cholesky(jtj)
            res["residual_variance"] = 2.0 * res.cost / (m - n)
            res["covariance"] = res["residual_variance"] * np.linalg.inv(jtj)
        except np.linalg.LinAlgError:
            pass  # rank deficient: pcov is inf, as below
    cov = res.get("covariance")
    if cov is None or not np.all(np.isfinite(cov)):
        pcov = np.full((n, n), np.inf)
    else:
        pcov = np.array(cov)
        if absolute_sigma:
            s2 = res["residual_variance"]
            if s2 > 0:
                pcov = pcov / s2
            else:
                # A perfect fit: s^2 (J^T J)^-1 is 0 and cannot be divided
                # back; (J^T J)^-1 from the SVD of J (rank is full here, else
                # cov would not be finite).
                _, sv, vt = np.linalg.svd(np.asarray(res.jac), full_matrices=False)
                pcov = (vt.T / sv**2) @ vt
    if full_output:
        infodict = {
            "nfev": res.nfev,
            "fvec": res.fun,
            "njev": res.njev,
            "nit": res.nit,
            "termination": res.termination,
        }
        return popt, pcov, infodict, res.message, _MINPACK_INFO.get(res.termination, 1)
    return popt, pcov


#: MINPACK's info code (curve_fit's ``ier``) for each successful termination.
_MINPACK_INFO = {"function_tolerance": 1, "step_tolerance": 2, "gradient_tolerance": 4}

#: The keyword arguments of least_squares that curve_fit passes on.
_LEAST_SQUARES_KEYWORDS = (
    "ftol", "xtol", "gtol", "x_scale", "loss", "f_scale", "diff_step", "tr_solver", "tr_options",
    "jac_sparsity", "max_nfev", "verbose", "callback", "workers", "time_limit",
)

#: Keyword arguments curve_fit accepts: least_squares's, and scipy leastsq's
#: (``method='lm'``), translated.
_CURVE_FIT_KWARGS = _LEAST_SQUARES_KEYWORDS + ("maxfev", "diag", "epsfcn", "factor", "col_deriv")
