#!/usr/bin/env python3
"""scipy's least_squares(method='trf', tr_solver='lsmr') on hesse's BandedFit.

One run per process (examples/sparse_lsq.rs starts it, interleaved with ours):

    python3 scripts/scipy_sparse_lsq.py VARIANT M N

VARIANT is `jac` (the analytic Jacobian as a scipy.sparse CSR matrix),
`jac_sparsity` (the Jacobian by grouped 2-point finite differences on the
band pattern, scipy's large-sparse recipe) or `dense_lm` (MINPACK's lmder,
`method='lm'`, on the dense Jacobian: hesse's dense LevenbergMarquardt's
counterpart; gtol 1e-15, the smallest scipy accepts, for ours' gtol = 0). Prints one line of key=value
pairs: the time of the least_squares call, the peak resident memory of the
process (VmHWM) and the resident memory before the call, nfev, njev, the
final f = sum r_i^2 (= 2 cost) and the largest error against the controls
the data came from.

BandedFit (src/problems/banded.rs), i = 0..m, j = 0..n:
    t_i = (i + 1/2)(n - 4)/m,  j_i = min(floor(t_i), n - 5),  u_i = t_i - j_i
    s_i(x) = sum_k C(4,k) u_i^k (1 - u_i)^(4-k) x[j_i + k],  k = 0..4
    r_i(x) = phi(s_i(x)) - y_i,  phi(s) = s + s^3
    y_i = phi(s_i(a)) + noise * eps_i,  a_j = sin(0.05 j) + 0.5,
    eps_i = ((7919 i) mod 1000) / 500 - 1,  noise = 0.01,  x0 = 0.
Tolerances: scipy's defaults (ftol = xtol = gtol = 1e-8).
"""

import sys
import time

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.optimize import least_squares

NOISE = 0.01


def memory():
    """(VmHWM, VmRSS) of this process in MiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = float(rest.split()[0]) / 1024.0
    return out.get("VmHWM", float("nan")), out.get("VmRSS", float("nan"))


def banded_fit(m, n, noise=NOISE):
    i = np.arange(m)
    t = (i + 0.5) * (n - 4) / m
    first = np.minimum(np.floor(t).astype(np.int64), n - 5)
    u = t - first
    binom = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
    k = np.arange(5)
    w = binom[None, :] * u[:, None] ** k[None, :] * (1.0 - u[:, None]) ** (4 - k)[None, :]
    cols = first[:, None] + k[None, :]  # m x 5

    def blend(x):
        return np.einsum("ik,ik->i", w, x[cols])

    a = np.sin(0.05 * np.arange(n)) + 0.5
    s = blend(a)
    eps = ((7919 * i) % 1000) / 500.0 - 1.0
    y = s + s**3 + noise * eps
    rows = np.repeat(i, 5)

    def fun(x):
        s = blend(x)
        return s + s**3 - y

    def jac(x):
        s = blend(x)
        d = 1.0 + 3.0 * s * s
        return sp.csr_matrix(((d[:, None] * w).ravel(), (rows, cols.ravel())), shape=(m, n))

    sparsity = sp.csr_matrix((np.ones(5 * m), (rows, cols.ravel())), shape=(m, n))
    return fun, jac, sparsity, a


def main():
    variant, m, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    fun, jac, sparsity, a = banded_fit(m, n)
    x0 = np.zeros(n)
    before = memory()[1]
    t0 = time.perf_counter()
    if variant == "jac":
        res = least_squares(fun, x0, jac=jac, method="trf", tr_solver="lsmr")
    elif variant == "jac_sparsity":
        res = least_squares(
            fun, x0, jac="2-point", jac_sparsity=sparsity, method="trf", tr_solver="lsmr"
        )
    elif variant == "dense_lm":
        # MINPACK's lmder on the dense Jacobian: the counterpart of hesse's
        # dense LevenbergMarquardt (examples/sparse_lsq.rs --child dense).
        res = least_squares(
            fun, x0, jac=lambda x: jac(x).toarray(), method="lm", ftol=1e-8, xtol=1e-8, gtol=1e-15
        )
    else:
        raise SystemExit(f"unknown variant {variant}")
    seconds = time.perf_counter() - t0
    peak = memory()[0]
    err = np.max(np.abs(res.x - a))
    njev = res.njev if res.njev is not None else 0
    print(
        f"seconds={seconds:.4f} peak_mib={peak:.1f} before_mib={before:.1f} "
        f"iterations={njev} nfev={res.nfev} njev={njev} f={2.0 * res.cost:.12e} "
        f"max_err_vs_truth={err:.3e} termination=status_{res.status} scipy={scipy.__version__}"
    )


if __name__ == "__main__":
    main()
