//! Bound constraints: `Bounds`, `LbfgsB` (and `Tron`) on boxes. Every
//! converged run is checked against the KKT conditions of
//! `min f(x) s.t. l ≤ x ≤ u`: the projected gradient `‖P(x − g) − x‖∞` within
//! tolerance, and on each active bound the gradient's sign pointing out of
//! the box (`g_i ≥ 0` at a lower bound, `g_i ≤ 0` at an upper one).

use std::cell::Cell;

use hesse::prelude::*;
use hesse::problem::{Gradient, HessVec, Objective};
use hesse::problems::{ExtendedRosenbrock, Rosenbrock};

/// Asserts the KKT conditions at `report.x` with the gradient of `p`.
fn assert_kkt<P: Gradient>(p: &P, b: &Bounds, report: &Report, tol: f64) {
    assert!(b.contains(&report.x), "x outside the box: {:?}", report.x);
    let mut g = vec![0.0; report.x.len()];
    p.value_grad(&report.x, &mut g);
    let pg = b.projected_grad_norm(&report.x, &g);
    assert!(
        pg <= tol,
        "projected gradient {pg:e} > {tol:e} at {:?}",
        report.x
    );
    assert_eq!(
        report.grad_norm, pg,
        "report.grad_norm is the projected norm"
    );
    for (i, side) in b.active(&report.x) {
        let fixed = b.lower()[i] == b.upper()[i];
        match side {
            Side::Lower if !fixed => assert!(g[i] >= -tol, "g[{i}] = {} at a lower bound", g[i]),
            Side::Upper => assert!(g[i] <= tol, "g[{i}] = {} at an upper bound", g[i]),
            _ => {}
        }
    }
    assert_eq!(
        report.active.as_deref(),
        Some(b.active(&report.x).as_slice())
    );
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
        (0..x.len())
            .map(|i| 0.5 * self.a[i] * (x[i] - self.c[i]).powi(2))
            .sum()
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

impl HessVec for Quad {
    fn hess_vec(&self, _x: &[f64], v: &[f64], hv: &mut [f64]) {
        for i in 0..v.len() {
            hv[i] = self.a[i] * v[i];
        }
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
    assert_eq!(
        report.termination,
        Termination::GradientTolerance,
        "{report}"
    );
    assert!(report.projected_start);
    assert_eq!(report.x, [2.0, 1.0, -1.0, 2.0, 5.0, -2.0]);
    assert_kkt(&p, &b, &report, 1e-8);
    assert!(report.evals.g <= 10, "{}", report.evals.g);
    let tron = Tron::default()
        .with_bounds(b.clone())
        .minimize(&p, &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        .unwrap();
    assert_eq!(tron.termination, Termination::GradientTolerance, "{tron}");
    assert_eq!(tron.x, [2.0, 1.0, -1.0, 2.0, 5.0, -2.0]);
    assert_kkt(&p, &b, &tron, 1e-8);
    assert!(tron.evals.g <= 5, "{}", tron.evals.g);
}

#[test]
fn rosenbrock_cut_off() {
    let b = Bounds::new(vec![-2.0, -2.0], vec![0.5, 2.0]).unwrap();
    let p = Rosenbrock::new(2);
    let report = LbfgsB::default()
        .with_bounds(b.clone())
        .minimize(&p, &[-1.2, 1.0])
        .unwrap();
    assert!(report.converged(), "{report}");
    assert_eq!(report.x[0], 0.5);
    assert!((report.x[1] - 0.25).abs() < 1e-7);
    assert_kkt(&p, &b, &report, 1e-8);
    assert!(report.evals.g <= 60, "{}", report.evals.g);
    let tron = Tron::default()
        .with_bounds(b.clone())
        .minimize(&p, &[-1.2, 1.0])
        .unwrap();
    assert!(tron.converged(), "{tron}");
    assert_eq!(tron.x[0], 0.5);
    assert_kkt(&p, &b, &tron, 1e-8);
    eprintln!(
        "rosenbrock cut: lbfgsb g {} tron g {} hv {}",
        report.evals.g, tron.evals.g, tron.evals.hv
    );
}

#[test]
fn no_finite_bound_same_minimizer_as_lbfgs() {
    let p = ExtendedRosenbrock::new(100);
    let a = Lbfgs::default()
        .with_gtol(1e-8)
        .minimize(&p, &p.start())
        .unwrap();
    let b = LbfgsB::default()
        .with_gtol(1e-8)
        .minimize(&p, &p.start())
        .unwrap();
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

impl HessVec for Guarded<'_> {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        if x[0] < self.lo {
            self.outside.set(self.outside.get() + 1);
            hv.fill(f64::NAN);
            return;
        }
        // ∂²f/∂b² = (2 − 2(l + 30) + 2 − … ) from f = (l + 30)² + (x₁ − l)².
        let (b, l) = (x[0], x[0].ln());
        let h00 = (4.0 - 2.0 * (l + 30.0) + 2.0 * (x[1] - l)) / (b * b);
        let h01 = -2.0 / b;
        hv[0] = h00 * v[0] + h01 * v[1];
        hv[1] = h01 * v[0] + 2.0 * v[1];
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
    let tron = Tron::default()
        .with_bounds(b.clone())
        .with_gtol(1e-6)
        .minimize(&p, &[5.0, 1.0])
        .unwrap();
    assert_eq!(outside.get(), 0);
    assert!(tron.converged(), "{tron}");
    assert_eq!(tron.x[0], 1e-12);
    assert_kkt(&p, &b, &tron, 1e-6);
}

mod mgh_in_boxes {
    //! The bounded MGH suite ([`hesse::problems::bounded`]) from the 1×, 10×
    //! and 100× starts with `gtol = 1e-10` on the projected gradient, against
    //! scipy 1.17.1's L-BFGS-B on the same runs (`tests/data/scipy_bounds.txt`,
    //! `scripts/scipy_bounds.py`). A run is solved when its `f` is within
    //! `max(1e-6 |f_ref|, 1e-10)` of `f_ref`, the lowest `f` any method
    //! (ours, scipy's L-BFGS-B, TNC, trust-constr) reached on the problem
    //! from any start.

    use super::*;
    use hesse::problems::bounded::{self, BoundedMgh};

    pub const SCALES: [f64; 3] = [1.0, 10.0, 100.0];

    /// scipy's rows: `(method, id, scale, f, nfev, njev)`.
    pub fn scipy() -> Vec<(String, usize, f64, f64, u64, u64)> {
        include_str!("data/scipy_bounds.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let t: Vec<&str> = l.split_whitespace().collect();
                (
                    t[0].to_string(),
                    t[1].parse().unwrap(),
                    t[2].parse().unwrap(),
                    t[3].parse().unwrap(),
                    t[4].parse().unwrap(),
                    t[5].parse().unwrap(),
                )
            })
            .collect()
    }

    pub fn solved(f: f64, f_ref: f64) -> bool {
        f.is_finite() && f - f_ref <= (1e-6 * f_ref.abs()).max(1e-10)
    }

    /// Runs `solve` on the suite; returns per run `(id, scale, f, f+g evals)`
    /// after checking KKT at every converged end.
    pub fn run_suite(solve: impl Fn(&BoundedMgh, &[f64]) -> Report) -> Vec<(usize, f64, f64, u64)> {
        let mut out = vec![];
        for p in bounded::mgh_in_boxes() {
            for scale in SCALES {
                let r = solve(&p, &p.mgh.start_scaled(scale));
                assert!(p.bounds.contains(&r.x));
                if r.converged() {
                    assert_kkt(&p.mgh, &p.bounds, &r, 1e-10);
                }
                out.push((p.mgh.id(), scale, r.f, r.evals.f + r.evals.g));
            }
        }
        out
    }

    /// Solved counts per scale and the f+g evaluations of `ours` and scipy's
    /// `method` on the runs both solve.
    pub fn compare(
        ours: &[(usize, f64, f64, u64)],
        method: &str,
    ) -> ([u32; 3], [u32; 3], u64, u64) {
        let sc = scipy();
        let f_ref = |id: usize| {
            sc.iter()
                .filter(|r| r.1 == id)
                .map(|r| r.3)
                .chain(ours.iter().filter(|r| r.0 == id).map(|r| r.2))
                .fold(f64::INFINITY, f64::min)
        };
        let (mut a, mut b, mut ea, mut eb) = ([0; 3], [0; 3], 0, 0);
        for &(id, scale, f, evals) in ours {
            let k = SCALES.iter().position(|&s| s == scale).unwrap();
            let theirs = sc
                .iter()
                .find(|r| r.0 == method && r.1 == id && r.2 == scale)
                .expect("scipy ran every run");
            let (ok_a, ok_b) = (solved(f, f_ref(id)), solved(theirs.3, f_ref(id)));
            a[k] += u32::from(ok_a);
            b[k] += u32::from(ok_b);
            if ok_a && ok_b {
                ea += evals;
                eb += theirs.4 + theirs.5;
            }
        }
        (a, b, ea, eb)
    }

    #[test]
    fn lbfgsb_against_scipy() {
        let ours = run_suite(|p, x0| {
            LbfgsB::default()
                .with_bounds(p.bounds.clone())
                .with_gtol(1e-10)
                .with_max_iter(20000)
                .minimize(&p.mgh, x0)
                .unwrap()
        });
        let (a, b, ea, eb) = compare(&ours, "L-BFGS-B");
        eprintln!("lbfgsb {a:?} scipy L-BFGS-B {b:?}; f+g evals on both solved: {ea} vs {eb}");
        // Measured: 14/16/15 of 18 against scipy's 13/16/15 (helical valley
        // from 1×, where scipy stops at f = 6.23); 2692 f+g evaluations
        // against 3054 on the 44 runs both solve.
        assert_eq!(a, [14, 16, 15]);
        assert_eq!(b, [13, 16, 15]);
        assert!(ea <= eb && ea <= 2692 * 105 / 100, "{ea} vs {eb}");
    }

    /// scipy's L-BFGS-B solutions: `(id, scale, f, x)`
    /// (`tests/data/scipy_bounds_x.txt`, `scripts/scipy_bounds.py x`).
    fn scipy_x() -> Vec<(usize, f64, f64, Vec<f64>)> {
        include_str!("data/scipy_bounds_x.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let t: Vec<&str> = l.split_whitespace().collect();
                let x = t[7..].iter().map(|v| v.parse().unwrap()).collect();
                (
                    t[1].parse().unwrap(),
                    t[2].parse().unwrap(),
                    t[3].parse().unwrap(),
                    x,
                )
            })
            .collect()
    }

    /// Issue 20: the same solutions as scipy's L-BFGS-B, not only the same
    /// `f`: on every run that both solve, `x` agrees to `1e-4 max(1, |x|∞)`
    /// in every coordinate, except where the bounded minimizer is not
    /// unique (the rank-1 linear functions). (Active sets are not compared: at a degenerate bound, where
    /// the gradient is zero, one side ends on the bound and the other 1e-16
    /// inside it.) Measured: the 76 runs compared (38 each) agree to 2e-8.
    #[test]
    fn lbfgsb_and_tron_find_scipys_solutions() {
        let sx = scipy_x();
        let problems = bounded::mgh_in_boxes();
        let mut compared = 0;
        for (name, solve) in [
            (
                "lbfgsb",
                Box::new(|p: &BoundedMgh, x0: &[f64]| {
                    LbfgsB::default()
                        .with_bounds(p.bounds.clone())
                        .with_gtol(1e-10)
                        .with_max_iter(20000)
                        .minimize(&p.mgh, x0)
                        .unwrap()
                }) as Box<dyn Fn(&BoundedMgh, &[f64]) -> Report>,
            ),
            (
                "tron",
                Box::new(|p: &BoundedMgh, x0: &[f64]| {
                    Tron::default()
                        .with_bounds(p.bounds.clone())
                        .with_gtol(1e-10)
                        .with_max_iter(20000)
                        .minimize(&p.mgh, x0)
                        .unwrap()
                }),
            ),
        ] {
            for p in &problems {
                for scale in SCALES {
                    let r = solve(p, &p.mgh.start_scaled(scale));
                    let (_, _, f_s, x_s) = sx
                        .iter()
                        .find(|t| t.0 == p.mgh.id() && t.1 == scale)
                        .expect("scipy ran every run");
                    let f_ref = p.f_ref();
                    // The rank-1 linear functions (33, 34) are minimized on
                    // a whole affine set: there is no one solution to agree on.
                    let unique = !matches!(p.mgh.id(), 33 | 34);
                    if !(unique && solved(r.f, f_ref) && solved(*f_s, f_ref)) {
                        continue;
                    }
                    let scale_x = x_s.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                    let dx =
                        r.x.iter()
                            .zip(x_s)
                            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                    eprintln!("{name} {} {scale}: |dx| = {dx:.2e}", p.name());
                    compared += 1;
                    assert!(
                        dx <= 1e-4 * scale_x,
                        "{name} on {} from {scale}x: x = {:?}, scipy {:?}",
                        p.name(),
                        r.x,
                        x_s
                    );
                }
            }
        }
        assert!(compared >= 76, "{compared}");
    }

    #[test]
    fn tron_against_lbfgsb() {
        let ours = run_suite(|p, x0| {
            Tron::default()
                .with_bounds(p.bounds.clone())
                .with_gtol(1e-10)
                .with_max_iter(20000)
                .minimize(&p.mgh, x0)
                .unwrap()
        });
        let (a, b, ea, eb) = compare(&ours, "L-BFGS-B");
        eprintln!("tron {a:?} scipy L-BFGS-B {b:?}; f+g evals on both solved: {ea} vs {eb}");
        // Measured: 14/16/15 of 18, as many as our L-BFGS-B (scipy's
        // L-BFGS-B 13/16/15); 1168 f+g evaluations (plus Hessian-vector
        // products) against scipy's 3054 on the runs both solve. With CG's
        // relative residual at TRON's 0.1 it lost Brown almost-linear from
        // 100× (20,000 iterations crawling at f = 595.6): 14/16/14.
        assert_eq!(a, [14, 16, 15]);
        assert!(ea <= eb && ea <= 1168 * 105 / 100, "{ea} vs {eb}");
    }
}

mod never_outside {
    //! Property: whatever the box (one-sided, fixed, wide or narrow) and
    //! start (inside or out), no point outside the box is evaluated; the
    //! objective returns NaN there and counts it.

    use super::*;
    use proptest::prelude::*;

    /// A coupled quartic `Σ a_i (x_i − c_i)² + ¼ (Σ x_i)⁴ / n + x₀ x₁`
    /// that is NaN outside `[lo, hi]`.
    struct Fenced<'a> {
        a: Vec<f64>,
        c: Vec<f64>,
        b: Bounds,
        outside: &'a Cell<u32>,
    }

    impl Objective for Fenced<'_> {
        fn dim(&self) -> usize {
            self.a.len()
        }
        fn value(&self, x: &[f64]) -> f64 {
            let mut g = vec![0.0; x.len()];
            self.value_grad(x, &mut g)
        }
    }

    impl Gradient for Fenced<'_> {
        fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
            if !self.b.contains(x) {
                self.outside.set(self.outside.get() + 1);
                g.fill(f64::NAN);
                return f64::NAN;
            }
            let n = x.len() as f64;
            let sum: f64 = x.iter().sum();
            let mut f = 0.25 * sum.powi(4) / n + x[0] * x[1];
            for i in 0..x.len() {
                f += self.a[i] * (x[i] - self.c[i]).powi(2);
                g[i] = 2.0 * self.a[i] * (x[i] - self.c[i]) + sum.powi(3) / n;
            }
            g[0] += x[1];
            g[1] += x[0];
            f
        }
    }

    impl HessVec for Fenced<'_> {
        fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
            if !self.b.contains(x) {
                self.outside.set(self.outside.get() + 1);
                hv.fill(f64::NAN);
                return;
            }
            let n = x.len() as f64;
            let sum: f64 = x.iter().sum();
            let sv: f64 = v.iter().sum();
            for i in 0..x.len() {
                hv[i] = 2.0 * self.a[i] * v[i] + 3.0 * sum * sum * sv / n;
            }
            hv[0] += v[1];
            hv[1] += v[0];
        }
    }

    fn side() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![Just(None), (-3.0..3.0f64).prop_map(Some)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn lbfgsb_and_tron_stay_in_the_box(
            spec in proptest::collection::vec(
                (side(), 0.0..4.0f64, any::<bool>(), 1.0..10.0f64, -5.0..5.0f64, -8.0..8.0f64),
                2..7,
            ),
        ) {
            let n = spec.len();
            let (mut lo, mut hi) = (vec![f64::NEG_INFINITY; n], vec![f64::INFINITY; n]);
            for (i, &(l, width, upper, ..)) in spec.iter().enumerate() {
                match l {
                    Some(l) => {
                        lo[i] = l;
                        // Fixed when width < 0.5; else both sides or one.
                        if width < 0.5 { hi[i] = l } else if upper { hi[i] = l + width }
                    }
                    None if upper => hi[i] = width - 2.0,
                    None => {}
                }
            }
            let b = Bounds::new(lo, hi).unwrap();
            let outside = Cell::new(0);
            let p = Fenced {
                a: spec.iter().map(|s| s.3).collect(),
                c: spec.iter().map(|s| s.4).collect(),
                b: b.clone(),
                outside: &outside,
            };
            let x0: Vec<f64> = spec.iter().map(|s| s.5).collect();
            // gtol 1e-9 can lie below the rounding floor of f (terms of
            // size 1e3 that cancel to |f| < 1): a run may then end in a line
            // search that cannot decrease f, or without progress, as
            // scipy's L-BFGS-B ends ABNORMAL_TERMINATION_IN_LNSRCH; it must
            // still be in the box and a KKT point to 1e-6.
            let at_floor = |r: &Report| {
                matches!(r.termination, Termination::LineSearchFailed | Termination::NoProgress)
                    && r.grad_norm <= 1e-6
            };
            let r = LbfgsB::default().with_bounds(b.clone()).with_gtol(1e-9).minimize(&p, &x0).unwrap();
            prop_assert_eq!(outside.get(), 0);
            prop_assert!(r.converged() || at_floor(&r), "{}", r);
            assert_kkt(&p, &b, &r, if r.converged() { 1e-9 } else { 1e-6 });
            let t = Tron::default().with_bounds(b.clone()).with_gtol(1e-9).minimize(&p, &x0).unwrap();
            prop_assert_eq!(outside.get(), 0);
            prop_assert!(t.converged() || at_floor(&t), "{}", t);
            assert_kkt(&p, &b, &t, if t.converged() { 1e-9 } else { 1e-6 });
        }
    }
}
