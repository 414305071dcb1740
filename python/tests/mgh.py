"""A dozen Moré-Garbow-Hillstrom (1981) test problems as residuals r(x), with
f = sum(r**2), for the parity tests against scipy.optimize.

Derivatives: the Jacobian by complex-step differentiation (exact to rounding:
J[:, j] = Im r(x + i h e_j) / h, h = 1e-20), so the gradient 2 J^T r is exact;
the Hessian by central differences of that gradient. Both libraries get the
same functions, so a comparison is of the methods alone.

Each problem: (name, residuals, x0, minima), minima a list of known local
minimum values f* (MGH's table; the first is the global one).
"""

from __future__ import annotations

import numpy as np


def rosenbrock(x):
    return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def freudenstein_roth(x):
    return np.array(
        [
            -13.0 + x[0] + ((5.0 - x[1]) * x[1] - 2.0) * x[1],
            -29.0 + x[0] + ((x[1] + 1.0) * x[1] - 14.0) * x[1],
        ]
    )


def powell_badly_scaled(x):
    return np.array([1e4 * x[0] * x[1] - 1.0, np.exp(-x[0]) + np.exp(-x[1]) - 1.0001])


def brown_badly_scaled(x):
    return np.array([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2.0])


def beale(x):
    y = np.array([1.5, 2.25, 2.625])
    i = np.arange(1, 4)
    return y - x[0] * (1.0 - x[1] ** i)


def helical_valley(x):
    # theta = arctan(x2/x1) / 2pi, + 1/2 for x1 < 0 (MGH (7)); x1 is real
    # even under the complex step, so the branch is taken on its real part.
    theta = np.arctan(x[1] / x[0]) / (2.0 * np.pi)
    if np.real(x[0]) < 0:
        theta = theta + 0.5
    return np.array(
        [
            10.0 * (x[2] - 10.0 * theta),
            10.0 * (np.sqrt(x[0] ** 2 + x[1] ** 2) - 1.0),
            x[2],
        ]
    )


_BARD_Y = np.array(
    [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39]
)


def bard(x):
    i = np.arange(1, 16)
    u, v = i, 16 - i
    w = np.minimum(u, v)
    return _BARD_Y - (x[0] + u / (v * x[1] + w * x[2]))


_GAUSS_Y = np.array(
    [0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989,
     0.3521, 0.2420, 0.1295, 0.0540, 0.0175, 0.0044, 0.0009]
)


def gaussian(x):
    t = (7.0 - np.arange(1, 16)) / 2.0
    return x[0] * np.exp(-x[1] * (t - x[2]) ** 2 / 2.0) - _GAUSS_Y


def box3d(x):
    t = 0.1 * np.arange(1, 11)
    return (
        np.exp(-t * x[0]) - np.exp(-t * x[1]) - x[2] * (np.exp(-t) - np.exp(-10.0 * t))
    )


def powell_singular(x):
    return np.array(
        [
            x[0] + 10.0 * x[1],
            np.sqrt(5.0) * (x[2] - x[3]),
            (x[1] - 2.0 * x[2]) ** 2,
            np.sqrt(10.0) * (x[0] - x[3]) ** 2,
        ]
    )


def wood(x):
    return np.array(
        [
            10.0 * (x[1] - x[0] ** 2),
            1.0 - x[0],
            np.sqrt(90.0) * (x[3] - x[2] ** 2),
            1.0 - x[2],
            np.sqrt(10.0) * (x[1] + x[3] - 2.0),
            (x[1] - x[3]) / np.sqrt(10.0),
        ]
    )


def biggs_exp6(x):
    t = 0.1 * np.arange(1, 14)
    y = np.exp(-t) - 5.0 * np.exp(-10.0 * t) + 3.0 * np.exp(-4.0 * t)
    return (
        x[2] * np.exp(-t * x[0]) - x[3] * np.exp(-t * x[1]) + x[5] * np.exp(-t * x[4]) - y
    )


def watson(x):
    n = len(x)
    r = []
    for i in range(1, 30):
        t = i / 29.0
        s1 = sum((j - 1) * x[j - 1] * t ** (j - 2) for j in range(2, n + 1))
        s2 = sum(x[j - 1] * t ** (j - 1) for j in range(1, n + 1))
        r.append(s1 - s2**2 - 1.0)
    r.append(x[0])
    r.append(x[1] - x[0] ** 2 - 1.0)
    return np.array(r)


def extended_rosenbrock(x):
    r = np.empty(len(x), dtype=np.result_type(x, float))
    r[0::2] = 10.0 * (x[1::2] - x[0::2] ** 2)
    r[1::2] = 1.0 - x[0::2]
    return r


PROBLEMS = [
    ("rosenbrock", rosenbrock, [-1.2, 1.0], [0.0]),
    ("freudenstein_roth", freudenstein_roth, [0.5, -2.0], [0.0, 48.9842536792400]),
    ("powell_badly_scaled", powell_badly_scaled, [0.0, 1.0], [0.0]),
    ("brown_badly_scaled", brown_badly_scaled, [1.0, 1.0], [0.0]),
    ("beale", beale, [1.0, 1.0], [0.0]),
    ("helical_valley", helical_valley, [-1.0, 0.0, 0.0], [0.0]),
    ("bard", bard, [1.0, 1.0, 1.0], [8.21487730657e-3, 17.4286377235]),
    ("gaussian", gaussian, [0.4, 1.0, 0.0], [1.12793276961e-8]),
    ("box3d", box3d, [0.0, 10.0, 20.0], [0.0, 7.52316e-2]),
    ("powell_singular", powell_singular, [3.0, -1.0, 0.0, 1.0], [0.0]),
    ("wood", wood, [-3.0, -1.0, -3.0, -1.0], [0.0, 7.87695]),
    ("biggs_exp6", biggs_exp6, [1.0, 2.0, 1.0, 1.0, 1.0, 1.0], [0.0, 5.65565e-3, 3.06315e-1]),
    ("watson6", watson, [0.0] * 6, [2.28767005355e-3]),
    ("extended_rosenbrock10", extended_rosenbrock, [-1.2, 1.0] * 5, [0.0]),
]


class Objective:
    """f, its gradient and Hessian for residuals `res`, with counters."""

    def __init__(self, res):
        self.res = res

    def f(self, x):
        r = self.res(x)
        return float(r @ r)

    def jac_r(self, x):
        h = 1e-20
        n = len(x)
        cols = []
        for j in range(n):
            xc = np.array(x, dtype=complex)
            xc[j] += 1j * h
            cols.append(np.imag(self.res(xc)) / h)
        return np.array(cols).T

    def grad(self, x):
        return 2.0 * self.jac_r(x).T @ self.res(x)

    def fg(self, x):
        r = self.res(x)
        return float(r @ r), 2.0 * self.jac_r(x).T @ r

    def hess(self, x):
        n = len(x)
        h = np.empty((n, n))
        for j in range(n):
            s = 6e-6 * max(1.0, abs(x[j]))
            e = np.zeros(n)
            e[j] = s
            h[:, j] = (self.grad(x + e) - self.grad(x - e)) / (2.0 * s)
        return 0.5 * (h + h.T)

    def hessp(self, x, p):
        return self.hess(x) @ p
