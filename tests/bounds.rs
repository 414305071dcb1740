//! Bound constraints: `Bounds`, `LbfgsB` (and `Tron`) on boxes. Every
//! converged run is checked against the KKT conditions of
//! `min f(x) s.t. l ≤ x ≤ u`: the projected gradient `‖P(x − g) − x‖∞` within
//! tolerance, and on each active bound the gradient's sign pointing out of
//! the box (`g_i ≥ 0` at a lower bound, `g_i ≤ 0` at an upper one).

use std::cell::Cell;

use hesse::prelude::*;
use hesse::problem::{Gradient, Objective};
use hesse::problems::{ExtendedRosenbrock, Rosenbrock};

/// Asserts the KKT conditions at `report.x` with the gradient of `p`.
fn assert_kkt<P: Gradient>(p: &P, b: &Bounds, report: &Report, tol: f64) {
    assert!(b.contains(&report.x), "x outside the box: {:?}", report.x);
    let mut g = vec![0.0; report.x.len()];
    p.value_grad(&report.x, &mut g);
    let pg = b.projected_grad_norm(&report.x, &g);
    assert!(pg <= tol, "projected gradient {pg:e} > {tol:e} at {:?}", report.x);
    assert_eq!(report.grad_norm, pg, "report.grad_norm is the projected norm");
    for (i, side) in b.active(&report.x) {
        let fixed = b.lower()[i] == b.upper()[i];
        match side {
            Side::Lower if !fixed => assert!(g[i] >= -tol, "g[{i}] = {} at a lower bound", g[i]),
            Side::Upper => assert!(g[i] <= tol, "g[{i}] = {} at an upper bound", g[i]),
            _ => {}
        }
    }
    assert_eq!(report.active.as_deref(), Some(b.active(&report.x).as_slice()));
}

/// `f(x) = ½ Σ a_i (x_i − c_i)²`: the minimizer over a box is `P(c)`.
struct Quad {
    a: Vec<f64>,
    c: Vec<f64>,
}

impl Objective for Quad {
    fn dim(&self) -> usize {
        self.a.len()
    }
    fn value(&self, x: &[f64]) -> f64 {
        (0..x.len()).map(|i| 0.5 * self.a[i] * (x[i] - self.c[i]).powi(2)).sum()
    }
}

impl Gradient for Quad {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        for i in 0..x.len() {
            g[i] = self.a[i] * (x[i] - self.c[i]);
        }
        self.value(x)
    }
}

#[test]
fn separable_quadratic_hits_its_projection() {
    // Degenerate actives: c_1 = u_1 (gradient 0 on the bound), a fixed
    // variable, one-sided bounds.
    let inf = f64::INFINITY;
    let p = Quad {
        a: vec![1.0, 10.0, 100.0, 2.0, 0.5, 3.0],
        c: vec![3.0, 1.0, -5.0, 0.5, 7.0, -2.0],
    };
    let b = Bounds::new(
        vec![0.0, -inf, -1.0, 2.0, -inf, -2.0],
        vec![2.0, 1.0, inf, 2.0, 5.0, inf],
    )
    .unwrap();
    let report = LbfgsB::default()
        .with_bounds(b.clone())
        .minimize(&p, &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        .unwrap();
    assert_eq!(report.termination, Termination::GradientTolerance, "{report}");
    assert!(report.projected_start);
    assert_eq!(report.x, [2.0, 1.0, -1.0, 2.0, 5.0, -2.0]);
    assert_kkt(&p, &b, &report, 1e-8);
    assert!(report.evals.g <= 10, "{}", report.evals.g);
}

#[test]
fn rosenbrock_cut_off() {
    let b = Bounds::new(vec![-2.0, -2.0], vec![0.5, 2.0]).unwrap();
    let p = Rosenbrock::new(2);
    let report = LbfgsB::default().with_bounds(b.clone()).minimize(&p, &[-1.2, 1.0]).unwrap();
    assert!(report.converged(), "{report}");
    assert_eq!(report.x[0], 0.5);
    assert!((report.x[1] - 0.25).abs() < 1e-7);
    assert_kkt(&p, &b, &report, 1e-8);
    assert!(report.evals.g <= 60, "{}", report.evals.g);
}

#[test]
fn no_finite_bound_same_minimizer_as_lbfgs() {
    let p = ExtendedRosenbrock::new(100);
    let a = Lbfgs::default().with_gtol(1e-8).minimize(&p, &p.start()).unwrap();
    let b = LbfgsB::default().with_gtol(1e-8).minimize(&p, &p.start()).unwrap();
    let c = LbfgsB::default()
        .with_bounds(Bounds::unbounded(100))
        .with_gtol(1e-8)
        .minimize(&p, &p.start())
        .unwrap();
    for r in [&a, &b, &c] {
        assert_eq!(r.termination, Termination::GradientTolerance, "{r}");
        assert!(r.x.iter().all(|v| (v - 1.0).abs() < 1e-7));
    }
    assert_eq!(b.active, None);
    assert_eq!(c.active, Some(vec![]));
    eprintln!("lbfgs {} lbfgsb {} {}", a.evals.g, b.evals.g, c.evals.g);
}

/// `Σ (log b_i − t_i)² + …` style: NaN outside the box, counting probes there.
struct Guarded<'a> {
    lo: f64,
    outside: &'a Cell<u32>,
}

impl Objective for Guarded<'_> {
    fn dim(&self) -> usize {
        2
    }
    fn value(&self, x: &[f64]) -> f64 {
        let mut g = [0.0; 2];
        self.value_grad(x, &mut g)
    }
}

impl Gradient for Guarded<'_> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        if x[0] < self.lo {
            self.outside.set(self.outside.get() + 1);
            g.fill(f64::NAN);
            return f64::NAN;
        }
        // f = (log b + 3)² + (x₁ − log b)², minimized at b = e⁻³ / … with b ≥ lo.
        let l = x[0].ln();
        g[0] = (2.0 * (l + 30.0) - 2.0 * (x[1] - l)) / x[0];
        g[1] = 2.0 * (x[1] - l);
        (l + 30.0).powi(2) + (x[1] - l).powi(2)
    }
}

#[test]
fn log_barrier_never_evaluated_outside() {
    let outside = Cell::new(0);
    let p = Guarded {
        lo: 1e-12,
        outside: &outside,
    };
    let b = Bounds::new(vec![1e-12, -100.0], vec![10.0, 100.0]).unwrap();
    let report = LbfgsB::default()
        .with_bounds(b.clone())
        .minimize(&p, &[5.0, 1.0])
        .unwrap();
    assert_eq!(outside.get(), 0);
    assert!(report.converged(), "{report}");
    assert_eq!(report.x[0], 1e-12);
    assert_kkt(&p, &b, &report, 1e-6);
}
