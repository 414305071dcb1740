"""Per-evaluation overhead of hesse.minimize against scipy.optimize.minimize
on a trivial objective, f(x) = x @ x with n = 10.

    python3 python/bench/overhead.py [--repeats 15]

For each scenario both libraries run the same method from the same start
(hesse and scipy interleaved, `repeats` times each). A run's added cost per
evaluation is

    (wall time of the whole minimize call) / nfev  -  (cost of one fun call)

where the cost of one fun call is measured by calling fun in a plain Python
loop. It includes everything the library does: argument parsing, the solver's
own arithmetic, finite differences, building the result. Medians over the
repeats are printed. Scenarios:

* '3-point': BFGS with central-difference gradients from fun alone (21 calls
  of fun per gradient for n = 10), so a run makes a few hundred calls;
* 'jac=True': BFGS with fun returning (f, 2x); a run makes a handful of calls,
  so the per-call cost of minimize itself weighs in.

The 'marginal' column removes that fixed cost: (T(x0) - T(0)) / (nfev(x0) -
nfev(0)) - (cost of one fun call), where T(0) is a run from x = 0, the
minimizer, which stops after the start's evaluations.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.optimize

import hesse

N = 10

#: CPU time of this process, not wall time: the machines this runs on are
#: shared, and waiting for a core is no one's overhead.
CLOCK = time.process_time


def f(x):
    return x @ x


def fg(x):
    return x @ x, 2.0 * x


def own_cost(fun, reps=200_000):
    x = np.linspace(1.0, 2.0, N)
    best = float("inf")
    for _ in range(5):
        t = CLOCK()
        for _ in range(reps):
            fun(x)
        best = min(best, (CLOCK() - t) / reps)
    return best


def per_eval(minimize, fun, jac, x0, runs):
    t = CLOCK()
    nfev = 0
    for _ in range(runs):
        res = minimize(fun, x0, jac=jac, method="BFGS", options={"gtol": 1e-6})
        nfev += res.nfev
    return (CLOCK() - t) / nfev, nfev / runs, res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--runs", type=int, default=200, help="minimize calls per timing")
    args = ap.parse_args()
    x0 = np.linspace(-3.0, 5.0, N)
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except OSError:
        cpu = "unknown CPU"
    print(f"f(x) = x @ x, n = {N}; {cpu}; CPU time, medians of {args.repeats} interleaved repeats")
    print(
        f"{'scenario':<10} {'library':<7} {'fun call':>9} {'per eval':>9} "
        f"{'added':>9} {'marginal':>9} {'nfev/run':>9}"
    )
    for label, fun, jac in (("3-point", f, "3-point"), ("jac=True", fg, True)):
        own = own_cost(fun)
        times = {"hesse": [], "scipy": []}
        marginal = {"hesse": [], "scipy": []}
        nfevs = {}
        for _ in range(args.repeats):
            for name, mini in (("hesse", hesse.minimize), ("scipy", scipy.optimize.minimize)):
                t, nf, res = per_eval(mini, fun, jac, x0, args.runs)
                assert np.allclose(res.x, 0.0, atol=1e-5), (name, res.x)
                t0, nf0, _ = per_eval(mini, fun, jac, np.zeros(N), args.runs)
                times[name].append(t)
                marginal[name].append((t * nf - t0 * nf0) / (nf - nf0))
                nfevs[name] = nf
        for name in ("hesse", "scipy"):
            t = statistics.median(times[name])
            tm = statistics.median(marginal[name])
            print(
                f"{label:<10} {name:<7} {own * 1e6:8.2f}us {t * 1e6:8.2f}us "
                f"{(t - own) * 1e6:8.2f}us {(tm - own) * 1e6:8.2f}us {nfevs[name]:9.1f}"
            )


if __name__ == "__main__":
    main()
