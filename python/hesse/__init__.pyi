"""Type hints of the hesse package (see __init__.py for the docstrings)."""

from typing import Any, Callable, Literal, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

class OptimizeResult(dict):
    x: FloatArray
    fun: float
    jac: FloatArray
    nit: int
    nfev: int
    njev: int
    nhev: int
    hv_evals: int
    status: int
    success: bool
    message: str
    termination: str
    method: str
    grad_norm: float
    seconds: float
    def __getattr__(self, name: str) -> Any: ...

class Bounds:
    lb: ArrayLike
    ub: ArrayLike
    keep_feasible: bool
    def __init__(self, lb: ArrayLike = ..., ub: ArrayLike = ..., keep_feasible: bool = ...) -> None: ...

class ArgumentTypeError(TypeError, ValueError): ...

METHODS: Tuple[str, ...]
SCIPY_METHODS: Mapping[str, str]
STATUS: Mapping[str, int]

BoundsLike = Union[Bounds, Any, Sequence[Tuple[Optional[float], Optional[float]]]]

def parse_bounds(bounds: BoundsLike, n: int) -> Tuple[FloatArray, FloatArray]: ...
def minimize(
    fun: Callable[..., Any],
    x0: ArrayLike,
    args: Tuple[Any, ...] = ...,
    method: Optional[str] = ...,
    jac: Union[None, bool, Literal["2-point", "3-point"], Callable[..., ArrayLike]] = ...,
    hess: Optional[Callable[..., ArrayLike]] = ...,
    hessp: Optional[Callable[..., ArrayLike]] = ...,
    bounds: Optional[BoundsLike] = ...,
    constraints: Any = ...,
    tol: Optional[float] = ...,
    callback: Optional[Callable[..., Any]] = ...,
    options: Optional[Mapping[str, Any]] = ...,
) -> OptimizeResult: ...
LEAST_SQUARES_METHODS: Mapping[str, str]

def least_squares(
    fun: Callable[..., ArrayLike],
    x0: ArrayLike,
    jac: Union[Literal["2-point", "3-point"], Callable[..., ArrayLike]] = ...,
    bounds: Any = ...,
    method: Optional[Literal["lm", "trf", "dogbox"]] = ...,
    ftol: Optional[float] = ...,
    xtol: Optional[float] = ...,
    gtol: Optional[float] = ...,
    x_scale: Union[None, Literal["jac"], float, ArrayLike] = ...,
    loss: str = ...,
    f_scale: float = ...,
    diff_step: Optional[ArrayLike] = ...,
    tr_solver: Optional[Literal["exact", "lsmr"]] = ...,
    tr_options: Optional[Mapping[str, Any]] = ...,
    jac_sparsity: Any = ...,
    max_nfev: Optional[int] = ...,
    verbose: Literal[0, 1, 2] = ...,
    args: Tuple[Any, ...] = ...,
    kwargs: Optional[Mapping[str, Any]] = ...,
    callback: Optional[Callable[..., Any]] = ...,
    workers: Optional[Callable[..., Any]] = ...,
    *,
    time_limit: Optional[float] = ...,
) -> OptimizeResult: ...
def curve_fit(
    f: Callable[..., ArrayLike],
    xdata: ArrayLike,
    ydata: ArrayLike,
    p0: Optional[ArrayLike] = ...,
    sigma: Optional[ArrayLike] = ...,
    absolute_sigma: bool = ...,
    check_finite: Optional[bool] = ...,
    bounds: Any = ...,
    method: Optional[Literal["lm", "trf", "dogbox"]] = ...,
    jac: Union[None, Literal["2-point", "3-point"], Callable[..., ArrayLike]] = ...,
    *,
    full_output: bool = ...,
    nan_policy: Optional[Literal["raise", "omit"]] = ...,
    **kwargs: Any,
) -> Any: ...
