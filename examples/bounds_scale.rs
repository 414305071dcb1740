//! Issue 20's scale measurement: extended Rosenbrock at n = 1e6, with
//! `x_{2i} ≤ 0.5` on every other variable (active at the solution: each pair
//! ends at (0.5, 0.25)), for `lbfgsb`, against `lbfgs` on the unbounded
//! problem; time per iteration outside the objective (total minus the time
//! spent in `value_grad`). `tron` on the bounded problem with
//! Hessian-vector products: iterations and Hv evaluations.
//!
//! Run: `cargo run --release --example bounds_scale [n] [reps]` (default
//! n = 1e6, 3 repetitions, interleaved; medians printed; `reps = 0` runs
//! tron only).
//!
//! Measured 2026-12-07 on Intel Xeon (AVX-512, 2 cores, shared with other
//! sessions), n = 1e6, `bounds_scale 1000000 3` interleaved with the binary
//! before the projected-gradient norm moved into the pair pass, the pair
//! kernel into one loop and `x^c = x` out of the Cauchy start: at load 3-5,
//! seven runs, lbfgsb 43.4 ms per iteration outside f (median of the runs'
//! medians), 1.48x lbfgs's (1.38-1.58) against 1.58x (1.42-1.80) before;
//! at load 2-3, where both run faster, 1.55-1.67x against 1.72-1.94x. In
//! thread CPU time (twelve runs each) 1.58x against 1.72x. Once the memory
//! is full (iterations 12-18 against 12-38, f included) 1.39x: the first
//! iteration weighs on 18 iterations here and on 38 for lbfgs (its Cauchy
//! path passes all 5e5 breakpoints: about 40 ms, 14 of them in the first
//! pass, which maps fresh scratch pages; four probes). Before the blocked
//! history: 374 ms and 4.64x. scipy 1.17.1's L-BFGS-B 594 ms (579-598, load
//! 3-5), 13.7x slower than lbfgsb.
//!
//! Then the first Cauchy point without pairs (`B = θI`) in one pass instead
//! of the breakpoint heap (the same bits: iterate_hash unchanged): five
//! interleaved runs each at load 1.5-2 (2026-12-07 05:24 UTC, same machine),
//! lbfgsb 31.9 ms per iteration outside f against 32.4 (median), ratio to
//! lbfgs 1.47 (1.45-1.69) against 1.52 (1.41-1.55).
//!
//! On the idle machine (2026-12-07 11:37-11:42 UTC, Intel Xeon AVX-512, 2
//! cores, load average < 1, nothing else running; code 7e269c1):
//! `bounds_scale 1000000 5` medians 36.46 against 28.87 ms, ratio 1.26;
//! `bounds_scale 1000000 9` 38.16 against 28.70 ms, ratio 1.33; ten further
//! `bounds_scale 1000000 3` runs, ratios 1.30-1.46 (median 1.42). Over the
//! 14 pairs of the first two runs the pair ratio is 1.24-1.43 (median
//! 1.36); single runs just after scipy's (below) 1.46, 1.58, 1.49. scipy
//! in the same window: 334, 317, 310 ms per iteration outside f, 8.3-8.7x
//! lbfgsb's. Mapping `breaks` last in the prefault order (the first
//! iteration no longer uses it) measured 1.43 against 1.425 in six
//! interleaved pairs: no gain, not kept.

use std::cell::Cell;
use std::time::Instant;

use hesse::prelude::*;
use hesse::problem::{Gradient, HessVec, Objective};
use hesse::problems::ExtendedRosenbrock;

/// A problem that adds the time spent in its evaluations.
struct Timed {
    inner: ExtendedRosenbrock,
    seconds: Cell<f64>,
}

impl Objective for Timed {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        let t = Instant::now();
        let f = self.inner.value(x);
        self.seconds
            .set(self.seconds.get() + t.elapsed().as_secs_f64());
        f
    }
}

impl Gradient for Timed {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let t = Instant::now();
        let f = self.inner.value_grad(x, g);
        self.seconds
            .set(self.seconds.get() + t.elapsed().as_secs_f64());
        f
    }
}

impl HessVec for Timed {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        let t = Instant::now();
        self.inner.hess_vec(x, v, hv);
        self.seconds
            .set(self.seconds.get() + t.elapsed().as_secs_f64());
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let reps: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let p = Timed {
        inner: ExtendedRosenbrock::new(n),
        seconds: Cell::new(0.0),
    };
    let x0 = p.inner.start();
    let upper: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 0.5 } else { f64::INFINITY })
        .collect();
    let bounds = Bounds::upper_only(upper).unwrap();
    let (mut lb, mut l) = (vec![], vec![]);
    let (mut lb_it, mut l_it) = (0, 0);
    for _ in 0..reps {
        for bounded in [true, false] {
            p.seconds.set(0.0);
            let t = Instant::now();
            let r = if bounded {
                LbfgsB::default()
                    .with_bounds(bounds.clone())
                    .with_gtol(1e-6)
                    .minimize(&p, &x0)
                    .unwrap()
            } else {
                Lbfgs::default().with_gtol(1e-6).minimize(&p, &x0).unwrap()
            };
            let total = t.elapsed().as_secs_f64();
            let outside = (total - p.seconds.get()) / r.iterations as f64;
            assert!(r.converged(), "{r}");
            if bounded {
                assert_eq!(r.active.as_ref().map(Vec::len), Some(n / 2));
                lb.push(outside);
                lb_it = r.iterations;
            } else {
                l.push(outside);
                l_it = r.iterations;
            }
            println!(
                "{} iterations {} f+g {} total {total:.3} s, in f/g {:.3} s, outside per iteration {:.2} ms",
                r.method,
                r.iterations,
                r.evals.f + r.evals.g,
                p.seconds.get(),
                outside * 1e3
            );
        }
    }
    if reps == 0 {
        // `bounds_scale N 0`: tron only.
    } else {
        let (a, b) = (median(lb), median(l));
        println!(
            "n = {n}: lbfgsb (bounded, {lb_it} it) {:.2} ms / iteration outside f, lbfgs (unbounded, {l_it} it) {:.2} ms: ratio {:.2}",
            a * 1e3,
            b * 1e3,
            a / b
        );
    }
    p.seconds.set(0.0);
    let t = Instant::now();
    let r = Tron::default()
        .with_bounds(bounds)
        .with_gtol(1e-6)
        .minimize(&p, &x0)
        .unwrap();
    println!(
        "tron (bounded): {} iterations, {} f+g, {} Hv, {:.3} s total, {:.3} s in f/g/Hv, {}",
        r.iterations,
        r.evals.f + r.evals.g,
        r.evals.hv,
        t.elapsed().as_secs_f64(),
        p.seconds.get(),
        r.termination
    );
}
