//! The shared driver: bad input, non-finite values, stopping tests,
//! observers, checkpoints. Gradient descent is the minimizer under test; every
//! other minimizer runs through the same code.

use hesse::prelude::*;
use hesse::problems::Rosenbrock;
use hesse::solver::{Checkpoint, Control, Run};
use proptest::prelude::*;

fn quadratic() -> impl Gradient {
    FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
        g[0] = 2.0 * x[0];
        g[1] = 8.0 * x[1];
        x[0] * x[0] + 4.0 * x[1] * x[1]
    })
}

#[test]
fn wrong_dimension_is_an_error_naming_both_lengths() {
    let err = GradientDescent::default()
        .minimize(&quadratic(), &[1.0, 2.0, 3.0])
        .unwrap_err();
    assert_eq!(err.to_string(), "x0 has 3 entries, problem has 2");
}

#[test]
fn non_finite_start_is_an_error_naming_the_index() {
    let err = GradientDescent::default()
        .minimize(&quadratic(), &[1.0, f64::NAN])
        .unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteStart { index: 1, .. }),
        "{err}"
    );
    let err = GradientDescent::default()
        .minimize(&quadratic(), &[f64::NEG_INFINITY, 0.0])
        .unwrap_err();
    assert!(err.to_string().contains("x0[0]"), "{err}");
}

#[test]
fn empty_problem_is_an_error() {
    let p = FnGradient::new(0, |_: &[f64], _: &mut [f64]| 0.0);
    assert_eq!(
        GradientDescent::default().minimize(&p, &[]).unwrap_err(),
        Error::EmptyProblem
    );
}

#[test]
fn negative_or_nan_tolerances_are_errors() {
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let err = GradientDescent::default()
            .with_gtol(bad)
            .minimize(&quadratic(), &[1.0, 1.0])
            .unwrap_err();
        assert!(err.to_string().starts_with("invalid option gtol"), "{err}");
    }
    let err = GradientDescent::default()
        .with_ftol(-1e-3)
        .minimize(&quadratic(), &[1.0, 1.0])
        .unwrap_err();
    assert!(err.to_string().contains("ftol"), "{err}");
}

#[test]
fn nan_at_start_is_a_typed_termination() {
    let p = FnGradient::new(1, |_: &[f64], g: &mut [f64]| {
        g[0] = f64::NAN;
        f64::NAN
    });
    let r = GradientDescent::default().minimize(&p, &[1.0]).unwrap();
    assert_eq!(r.termination, Termination::NonFiniteValue);
    assert_eq!(r.iterations, 0);
    assert_eq!(r.x, vec![1.0]);
    assert!(!r.converged());
}

#[test]
fn nan_mid_run_keeps_the_last_good_iterate() {
    // f = (x - 3)², but NaN for x > 2: the minimizer sits outside the domain,
    // so every step toward it eventually meets NaN.
    let p = FnGradient::new(1, |x: &[f64], g: &mut [f64]| {
        if x[0] > 2.0 {
            g[0] = f64::NAN;
            return f64::NAN;
        }
        g[0] = 2.0 * (x[0] - 3.0);
        (x[0] - 3.0).powi(2)
    });
    let r = GradientDescent::default()
        .with_max_iter(200)
        .minimize(&p, &[0.0])
        .unwrap();
    assert!(r.x[0] <= 2.0 && r.f.is_finite(), "{r}");
    assert!(r.f < 9.0, "made progress: {r}");
    assert!(!r.converged());
}

#[test]
fn start_at_the_minimizer_stops_before_iterating() {
    let r = GradientDescent::default()
        .minimize(&quadratic(), &[0.0, 0.0])
        .unwrap();
    assert_eq!(r.termination, Termination::GradientTolerance);
    assert_eq!(r.iterations, 0);
    assert_eq!(r.evals.f, 1);
    assert_eq!(r.evals.g, 1);
}

#[test]
fn limits_end_the_run_with_their_termination() {
    let p = Rosenbrock::new(2);
    let r = GradientDescent::default()
        .with_max_iter(7)
        .minimize(&p, &[-1.2, 1.0])
        .unwrap();
    assert_eq!(r.termination, Termination::MaxIterations);
    assert_eq!(r.iterations, 7);
    let r = GradientDescent::default()
        .with_max_evals(20)
        .minimize(&p, &[-1.2, 1.0])
        .unwrap();
    assert_eq!(r.termination, Termination::MaxEvaluations);
    // Enforced inside the iteration: at most one call (2 counts) past it.
    assert!((20..=21).contains(&r.evals.total()), "{:?}", r.evals);
    let r = GradientDescent::default()
        .with_time_limit(std::time::Duration::ZERO)
        .minimize(&p, &[-1.2, 1.0])
        .unwrap();
    assert_eq!(r.termination, Termination::TimeLimit);
    // The start is evaluated; the first call of iteration 1 is refused, so
    // the run ends at the start.
    assert_eq!(r.iterations, 0);
    assert_eq!(r.evals.total(), 2);
    assert_eq!(r.x, [-1.2, 1.0]);
}

#[test]
fn f_and_x_tolerances_fire_and_count_as_convergence() {
    let p = Rosenbrock::new(2);
    let r = GradientDescent::default()
        .with_gtol(0.0)
        .with_ftol(1e-3)
        .minimize(&p, &[-1.2, 1.0])
        .unwrap();
    assert_eq!(r.termination, Termination::FunctionTolerance);
    assert!(r.converged());
    assert!(r.f_change <= 1e-3 * r.f.abs());
    let r = GradientDescent::default()
        .with_gtol(0.0)
        .with_xtol_abs(1e-3)
        .minimize(&p, &[-1.2, 1.0])
        .unwrap();
    assert_eq!(r.termination, Termination::StepTolerance);
    assert!(r.step_norm <= 1e-3);
}

#[test]
fn evaluation_counts_are_exact() {
    use std::cell::Cell;
    let calls = Cell::new(0u64);
    let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
        calls.set(calls.get() + 1);
        g[0] = 2.0 * x[0];
        g[1] = 8.0 * x[1];
        x[0] * x[0] + 4.0 * x[1] * x[1]
    });
    let r = GradientDescent::default()
        .minimize(&p, &[1.0, 1.0])
        .unwrap();
    // Backtracking is fused: every evaluation is a value_grad call.
    assert_eq!(r.evals.f, calls.get());
    assert_eq!(r.evals.g, calls.get());
}

#[test]
fn history_records_every_iteration() {
    let r = GradientDescent::default()
        .with_history(true)
        .with_max_iter(10)
        .minimize(&Rosenbrock::new(2), &[-1.2, 1.0])
        .unwrap();
    let h = r.history.as_ref().unwrap();
    assert_eq!(h.len(), 11);
    assert_eq!(h[0].iteration, 0);
    assert_eq!(h[10].f, r.f);
    assert!(h.windows(2).all(|w| w[1].f <= w[0].f), "descent");
    assert!(h.windows(2).all(|w| w[1].evals.f >= w[0].evals.f));
}

#[test]
fn observer_sees_each_iteration_and_can_stop() {
    let mut seen = Vec::new();
    let p = Rosenbrock::new(2);
    let report = Run::new(GradientDescent::default(), &p, &[-1.2, 1.0])
        .unwrap()
        .with_observer(|s: &State| {
            seen.push(s.iteration);
            if s.iteration == 3 {
                Control::Stop
            } else {
                Control::Continue
            }
        })
        .finish();
    assert_eq!(report.termination, Termination::UserStop);
    assert_eq!(report.iterations, 3);
    assert_eq!(seen, vec![1, 2, 3]);
}

/// The observer also sees the iteration that ends the run (it used to be
/// skipped, so `hesse train --optimizer lbfgs --epochs 5` logged 4 epochs).
#[test]
fn observer_sees_the_iteration_that_ends_the_run() {
    let mut seen = Vec::new();
    let p = Rosenbrock::new(2);
    let report = Run::new(
        GradientDescent::default().with_max_iter(5),
        &p,
        &[-1.2, 1.0],
    )
    .unwrap()
    .with_observer(|s: &State| {
        seen.push(s.iteration);
        Control::Stop // asked on the last iteration too: max_iter wins there
    })
    .finish();
    assert_eq!(report.termination, Termination::UserStop);
    assert_eq!(seen, vec![1]);

    let mut seen = Vec::new();
    let report = Run::new(
        GradientDescent::default().with_max_iter(5),
        &p,
        &[-1.2, 1.0],
    )
    .unwrap()
    .with_observer(|s: &State| {
        seen.push(s.iteration);
        Control::Continue
    })
    .finish();
    assert_eq!(report.termination, Termination::MaxIterations);
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);
}

#[test]
fn checkpoint_resume_is_bit_identical() {
    let p = Rosenbrock::new(4);
    let x0 = p.start();
    let solver = GradientDescent::default()
        .with_max_iter(300)
        .with_history(true);
    let straight = solver.minimize(&p, &x0).unwrap();

    let mut run = Run::new(solver, &p, &x0).unwrap();
    for _ in 0..117 {
        assert!(run.step().is_none());
    }
    let json = serde_json::to_string(&run.checkpoint()).unwrap();
    drop(run);
    let checkpoint: Checkpoint<GradientDescent> = serde_json::from_str(&json).unwrap();
    let resumed = Run::resume(checkpoint, &p).unwrap().finish();

    assert_eq!(resumed.iterations, straight.iterations);
    assert_eq!(resumed.evals, straight.evals);
    assert_eq!(resumed.termination, straight.termination);
    assert_eq!(resumed.f.to_bits(), straight.f.to_bits());
    for (a, b) in resumed.x.iter().zip(&straight.x) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
    let (ha, hb) = (resumed.history.unwrap(), straight.history.unwrap());
    assert_eq!(ha.len(), hb.len());
    for (a, b) in ha.iter().zip(&hb) {
        assert_eq!(a.f.to_bits(), b.f.to_bits());
    }
}

#[test]
fn report_display_reads_like_optim() {
    let r = GradientDescent::default()
        .minimize(&quadratic(), &[1.0, 1.0])
        .unwrap();
    let text = r.to_string();
    assert!(text.contains("Status: success"), "{text}");
    assert!(text.contains("|g(x)|∞"), "{text}");
    assert!(text.contains("f(x) calls:"), "{text}");
}

/// An objective that is finite only on part of the space and may return NaN
/// or infinities anywhere else.
fn hostile(kind: u8, cut: f64) -> impl Gradient {
    FnGradient::new(3, move |x: &[f64], g: &mut [f64]| {
        let bad = match kind % 4 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            _ => -f64::MAX,
        };
        if x.iter().any(|v| v.abs() > cut) {
            g.iter_mut().for_each(|v| *v = bad);
            return bad;
        }
        for (gi, xi) in g.iter_mut().zip(x) {
            *gi = 4.0 * xi.powi(3) - 2.0;
        }
        x.iter().map(|v| v.powi(4) - 2.0 * v).sum()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// No input, however hostile, makes the driver panic: every run is an
    /// `Err` or a report with a typed termination.
    #[test]
    fn never_panics(
        x0 in proptest::collection::vec(prop_oneof![
            -1e3..1e3f64,
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(0.0),
            Just(1e300),
        ], 0..5),
        kind in 0u8..4,
        cut in 0.1..100.0f64,
        gtol in prop_oneof![Just(-1.0), Just(0.0), 1e-12..1.0f64, Just(f64::NAN)],
        max_iter in 0u64..50,
    ) {
        let p = hostile(kind, cut);
        match GradientDescent::default().with_gtol(gtol).with_max_iter(max_iter).minimize(&p, &x0) {
            Err(e) => prop_assert!(!e.to_string().is_empty()),
            Ok(r) => {
                prop_assert_eq!(r.x.len(), 3);
                prop_assert!(r.iterations <= max_iter);
                // f = −∞ is an unbounded objective, not a non-finite value.
                if !matches!(r.termination, Termination::NonFiniteValue | Termination::Unbounded) {
                    prop_assert!(r.f.is_finite());
                }
            }
        }
    }
}
