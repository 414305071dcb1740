//! `LevenbergMarquardt` on small problems with known answers, and on bad
//! input: rank-deficient Jacobians, too few residuals, NaN residuals at the
//! start, mid-run and everywhere, invalid options; checkpoint and resume.

use hesse::newton::{LevenbergMarquardt, RobustLoss, fit_statistics};
use hesse::prelude::*;
use hesse::problems::ExtendedRosenbrock;
use hesse::solver::{Checkpoint, Run, Side};
use nalgebra::DMatrix;

fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

#[test]
fn solver_is_send_sync_clone() {
    assert_send_sync_clone::<LevenbergMarquardt>();
}

#[test]
fn rosenbrock_as_residuals() {
    let p = ExtendedRosenbrock::new(2);
    let report = LevenbergMarquardt::default()
        .minimize(&p, &p.start())
        .unwrap();
    assert!(report.converged(), "{report}");
    assert_eq!(report.method, "lm");
    assert!(
        report.x.iter().all(|v| (v - 1.0).abs() < 1e-12),
        "{:?}",
        report.x
    );
    assert!(report.f < 1e-25, "{}", report.f);
    // Measured: 21 residual and 16 Jacobian evaluations, 15 iterations,
    // ending with r = 0 exactly; 20% slack.
    assert!(
        report.evals.f <= 26 && report.evals.g <= 20,
        "{:?}",
        report.evals
    );
    assert_eq!(report.evals.h + report.evals.hv, 0);
}

#[test]
fn extended_rosenbrock_in_100_variables() {
    let p = ExtendedRosenbrock::new(100);
    let report = LevenbergMarquardt::default()
        .minimize(&p, &p.start())
        .unwrap();
    assert!(report.converged(), "{report}");
    assert!(report.x.iter().all(|v| (v - 1.0).abs() < 1e-10));
}

/// y = 2 exp(−t/2) sampled exactly: the residual is zero at (2, 0.5) and the
/// convergence is quadratic, ending on the gradient test (r = 0 exactly) or
/// on f/x tests with f at rounding level.
#[test]
fn zero_residual_exponential_fit() {
    let t: Vec<f64> = (0..10).map(|i| i as f64 * 0.5).collect();
    let y: Vec<f64> = t.iter().map(|t| 2.0 * (-0.5 * t).exp()).collect();
    let (t2, y2) = (t.clone(), y.clone());
    let p = FnResiduals::new(
        2,
        10,
        move |x: &[f64], r: &mut [f64]| {
            for i in 0..10 {
                r[i] = x[0] * (-x[1] * t[i]).exp() - y[i];
            }
        },
        move |x: &[f64], j: &mut DMatrix<f64>| {
            for i in 0..10 {
                let e = (-x[1] * t2[i]).exp();
                j[(i, 0)] = e;
                j[(i, 1)] = -x[0] * t2[i] * e;
            }
            let _ = &y2;
        },
    );
    let fit = LevenbergMarquardt::default().fit(&p, &[1.0, 1.0]).unwrap();
    assert!(fit.report.converged(), "{}", fit.report);
    assert!((fit.report.x[0] - 2.0).abs() < 1e-13);
    assert!((fit.report.x[1] - 0.5).abs() < 1e-13);
    assert!(fit.report.f < 1e-28, "{}", fit.report.f);
    assert!(fit.statistics.rss < 1e-28);
    assert!(fit.statistics.std_errors.iter().all(|s| *s < 1e-12));
}

/// Brown and Dennis (Moré, Garbow & Hillstrom 1981, problem 16): m = 20,
/// n = 4, a large residual, f* = 85822.2016263563 (MGH's value).
#[test]
fn large_residual_brown_dennis() {
    let ts: Vec<f64> = (1..=20).map(|i| i as f64 / 5.0).collect();
    let ts2 = ts.clone();
    let p = FnResiduals::new(
        4,
        20,
        move |x: &[f64], r: &mut [f64]| {
            for (ri, &t) in r.iter_mut().zip(&ts) {
                let a = x[0] + t * x[1] - t.exp();
                let b = x[2] + x[3] * t.sin() - t.cos();
                *ri = a * a + b * b;
            }
        },
        move |x: &[f64], j: &mut DMatrix<f64>| {
            for (i, &t) in ts2.iter().enumerate() {
                let a = x[0] + t * x[1] - t.exp();
                let b = x[2] + x[3] * t.sin() - t.cos();
                j[(i, 0)] = 2.0 * a;
                j[(i, 1)] = 2.0 * a * t;
                j[(i, 2)] = 2.0 * b;
                j[(i, 3)] = 2.0 * b * t.sin();
            }
        },
    );
    let report = LevenbergMarquardt::default()
        .minimize(&p, &[25.0, 5.0, -5.0, -1.0])
        .unwrap();
    assert!(report.converged(), "{report}");
    let f_star = 85822.2016263563;
    assert!((report.f - f_star).abs() / f_star < 1e-12, "{}", report.f);
    // At a large-residual minimizer the gradient 2Jᵀr vanishes, not r.
    assert!(report.grad_norm < 1e-6 * f_star, "{}", report.grad_norm);
}

/// r depends on x0 + x1 only: J has two equal columns (rank 1). The run
/// ends converged on the valley, and the fit statistics report rank 1 with
/// NaN standard errors instead of dividing by a zero pivot.
#[test]
fn rank_deficient_jacobian() {
    let p = FnResiduals::new(
        2,
        3,
        |x: &[f64], r: &mut [f64]| {
            let s = x[0] + x[1];
            r[0] = s - 2.0;
            r[1] = s * s - 4.0;
            r[2] = 0.5 * (s - 2.0);
        },
        |x: &[f64], j: &mut DMatrix<f64>| {
            let s = x[0] + x[1];
            for c in 0..2 {
                j[(0, c)] = 1.0;
                j[(1, c)] = 2.0 * s;
                j[(2, c)] = 0.5;
            }
        },
    );
    let fit = LevenbergMarquardt::default().fit(&p, &[3.0, 4.0]).unwrap();
    assert!(fit.report.converged(), "{}", fit.report);
    assert!((fit.report.x[0] + fit.report.x[1] - 2.0).abs() < 1e-12);
    assert_eq!(fit.statistics.rank, 1);
    assert!(fit.statistics.std_errors.iter().all(|s| s.is_nan()));

    // A parameter the residuals ignore: a zero column.
    let q = FnResiduals::new(
        2,
        2,
        |x: &[f64], r: &mut [f64]| {
            r[0] = x[0] - 1.0;
            r[1] = 2.0 * (x[0] - 1.0);
        },
        |_: &[f64], j: &mut DMatrix<f64>| {
            j[(0, 0)] = 1.0;
            j[(1, 0)] = 2.0;
            j[(0, 1)] = 0.0;
            j[(1, 1)] = 0.0;
        },
    );
    let report = LevenbergMarquardt::default()
        .minimize(&q, &[5.0, 7.0])
        .unwrap();
    assert!(report.converged(), "{report}");
    assert!((report.x[0] - 1.0).abs() < 1e-14);
    assert_eq!(report.x[1], 7.0);

    // J = 0 everywhere: stationary at once.
    let z = FnResiduals::new(
        2,
        3,
        |_: &[f64], r: &mut [f64]| r.iter_mut().for_each(|v| *v = 1.0),
        |_: &[f64], j: &mut DMatrix<f64>| j.fill(0.0),
    );
    let report = LevenbergMarquardt::default()
        .minimize(&z, &[1.0, 2.0])
        .unwrap();
    assert_eq!(report.termination, Termination::GradientTolerance);
    assert_eq!(report.iterations, 0);
}

#[test]
fn fewer_residuals_than_parameters_is_an_error_naming_both() {
    let p = FnResiduals::new(
        3,
        2,
        |x: &[f64], r: &mut [f64]| {
            r[0] = x[0];
            r[1] = x[1] + x[2];
        },
        |_: &[f64], j: &mut DMatrix<f64>| j.fill(1.0),
    );
    let err = LevenbergMarquardt::default()
        .minimize(&p, &[1.0, 2.0, 3.0])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidProblem(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("m = 2 residuals") && msg.contains("n = 3 parameters"),
        "{msg}"
    );
    assert!(fit_statistics(&p, &[1.0, 2.0, 3.0]).is_err());
    // Wrong start length is the driver's error.
    let err = LevenbergMarquardt::default()
        .minimize(&p, &[1.0])
        .unwrap_err();
    assert_eq!(err.to_string(), "x0 has 1 entries, problem has 3");
}

#[test]
fn invalid_options_are_errors() {
    let p = ExtendedRosenbrock::new(2);
    for (solver, name) in [
        (
            LevenbergMarquardt::default().with_minpack_ftol(-1.0),
            "minpack_ftol",
        ),
        (
            LevenbergMarquardt::default().with_minpack_xtol(f64::NAN),
            "minpack_xtol",
        ),
        (
            LevenbergMarquardt::default().with_minpack_gtol(f64::INFINITY),
            "minpack_gtol",
        ),
        // The driver's tests, as in every minimizer.
        (LevenbergMarquardt::default().with_ftol(-1.0), "ftol"),
        (LevenbergMarquardt::default().with_xtol(f64::NAN), "xtol"),
        (
            LevenbergMarquardt::default().with_gtol(f64::INFINITY),
            "gtol",
        ),
        (
            LevenbergMarquardt::default().with_step_bound(0.0),
            "step_bound",
        ),
    ] {
        let err = solver.minimize(&p, &p.start()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("invalid option {name}")),
            "{err}"
        );
    }
}

/// r = sqrt(x) − 1 from x = 10: the first Gauss-Newton step lands at
/// x ≈ −3.7 where the residual is NaN. The step is rejected, the region
/// shrinks, and the run converges to x = 1.
#[test]
fn nan_residuals_mid_run_shrink_the_step() {
    let p = FnResiduals::new(
        1,
        1,
        |x: &[f64], r: &mut [f64]| r[0] = x[0].sqrt() - 1.0,
        |x: &[f64], j: &mut DMatrix<f64>| j[(0, 0)] = 0.5 / x[0].sqrt(),
    );
    let report = LevenbergMarquardt::default()
        .with_history(true)
        .minimize(&p, &[10.0])
        .unwrap();
    assert!(report.converged(), "{report}");
    assert!((report.x[0] - 1.0).abs() < 1e-14, "{}", report.x[0]);
    // More residual evaluations than Jacobians: the NaN trials were rejected.
    assert!(report.evals.f > report.evals.g, "{:?}", report.evals);
    let history = report.history.unwrap();
    assert!(history.iter().all(|h| h.f.is_finite()));
}

#[test]
fn nan_at_the_start_and_everywhere_else_are_typed() {
    let start_nan = FnResiduals::new(
        1,
        2,
        |_: &[f64], r: &mut [f64]| r.iter_mut().for_each(|v| *v = f64::NAN),
        |_: &[f64], j: &mut DMatrix<f64>| j.fill(1.0),
    );
    let report = LevenbergMarquardt::default()
        .minimize(&start_nan, &[1.0])
        .unwrap();
    assert_eq!(report.termination, Termination::NonFiniteValue);
    assert_eq!(report.evals.g, 0, "no Jacobian at a NaN start");

    // Finite only at the start: every trial is NaN.
    let island = FnResiduals::new(
        1,
        1,
        |x: &[f64], r: &mut [f64]| r[0] = if x[0] == 1.0 { x[0] - 5.0 } else { f64::NAN },
        |_: &[f64], j: &mut DMatrix<f64>| j[(0, 0)] = 1.0,
    );
    let report = LevenbergMarquardt::default()
        .minimize(&island, &[1.0])
        .unwrap();
    assert_eq!(report.termination, Termination::NonFiniteValue, "{report}");
    assert_eq!(report.x, [1.0]);
    assert!(report.evals.f < 40, "{:?}", report.evals);

    // A Jacobian that turns NaN after the first step.
    let bad_jac = FnResiduals::new(
        1,
        1,
        |x: &[f64], r: &mut [f64]| r[0] = x[0] - 2.0,
        |x: &[f64], j: &mut DMatrix<f64>| j[(0, 0)] = if x[0] == 0.0 { 1.0 } else { f64::NAN },
    );
    let report = LevenbergMarquardt::default()
        .minimize(&bad_jac, &[0.0])
        .unwrap();
    assert_eq!(report.termination, Termination::NonFiniteValue, "{report}");
}

#[test]
fn evaluation_and_iteration_limits() {
    let p = ExtendedRosenbrock::new(2);
    let report = LevenbergMarquardt::default()
        .with_max_iter(3)
        .minimize(&p, &p.start())
        .unwrap();
    assert_eq!(report.termination, Termination::MaxIterations);
    assert_eq!(report.iterations, 3);
    let report = LevenbergMarquardt::default()
        .with_max_evals(10)
        .minimize(&p, &p.start())
        .unwrap();
    assert_eq!(report.termination, Termination::MaxEvaluations);
    assert!(report.evals.total() <= 12, "{:?}", report.evals);
}

/// A checkpoint taken mid-run, serialized to JSON and resumed, ends with
/// the same bits and counts as the uninterrupted run.
#[test]
fn checkpoint_resume_is_bit_identical() {
    let p = ExtendedRosenbrock::new(4);
    let x0 = p.start();
    let full = LevenbergMarquardt::default().minimize(&p, &x0).unwrap();
    let mut run = Run::new(LevenbergMarquardt::default(), &p, &x0).unwrap();
    for _ in 0..5 {
        assert!(run.step().is_none());
    }
    let json = serde_json::to_string(&run.checkpoint()).unwrap();
    drop(run);
    let checkpoint: Checkpoint<LevenbergMarquardt> = serde_json::from_str(&json).unwrap();
    let resumed = Run::resume(checkpoint, &p).unwrap().finish();
    assert_eq!(resumed.x, full.x);
    assert_eq!(resumed.f.to_bits(), full.f.to_bits());
    assert_eq!(resumed.evals, full.evals);
    assert_eq!(resumed.iterations, full.iterations);
    assert_eq!(resumed.termination, full.termination);
}

/// Rosenbrock with `x0 ≥ 1.2`, `x1 ≤ 1.0`: `x1 < x0²` everywhere in the
/// box, so the minimizer is the corner `(1.2, 1.0)`, both bounds active.
fn bounded_rosenbrock() -> LevenbergMarquardt {
    LevenbergMarquardt::default()
        .with_bounds(vec![1.2, f64::NEG_INFINITY], vec![f64::INFINITY, 1.0])
}

#[test]
fn bounds_project_the_start_and_end_on_the_active_bounds() {
    let p = ExtendedRosenbrock::new(2);
    // (−1.2, 1) is outside: projected to (1.2, 1).
    let report = bounded_rosenbrock().minimize(&p, &[-1.2, 1.0]).unwrap();
    assert!(report.converged(), "{report}");
    assert_eq!(report.x, vec![1.2, 1.0]);
    // Both bounds binding: the gtol test over no free column passes at once.
    assert_eq!(report.termination, Termination::GradientTolerance);
    assert_eq!(report.evals.f, 1);
    // From inside the box, the same point.
    let report = bounded_rosenbrock().minimize(&p, &[3.0, -2.0]).unwrap();
    assert!(report.converged(), "{report}");
    assert_eq!(report.x, vec![1.2, 1.0]);
}

/// The box is the driver's: it projects the start (`projected_start`),
/// reports the active set, and measures `grad_norm` on the projected
/// gradient (0 at this corner, where `g` points out of the box).
#[test]
fn bounds_are_reported_as_for_every_bounded_minimizer() {
    let p = ExtendedRosenbrock::new(2);
    let r = bounded_rosenbrock().minimize(&p, &[-1.2, 1.0]).unwrap();
    assert!(r.projected_start);
    assert_eq!(r.active, Some(vec![(0, Side::Lower), (1, Side::Upper)]));
    assert_eq!(r.grad_norm, 0.0);
    let r = bounded_rosenbrock().minimize(&p, &[3.0, -2.0]).unwrap();
    assert!(!r.projected_start);
    assert_eq!(r.active, Some(vec![(0, Side::Lower), (1, Side::Upper)]));
    assert_eq!(
        LevenbergMarquardt::default()
            .with_bounds(vec![1.2, f64::NEG_INFINITY], vec![f64::INFINITY, 1.0])
            .bounds()
            .map(|b| b.lower().to_vec()),
        Some(vec![1.2, f64::NEG_INFINITY])
    );
}

/// `with_gtol` is the driver's `‖g‖∞ ≤ gtol` as in every minimizer;
/// MINPACK's test on the cosines of `r` with the columns of `J` is
/// `with_minpack_gtol`.
#[test]
fn gtol_is_the_gradient_test_and_minpack_gtol_the_cosine_test() {
    let p = ExtendedRosenbrock::new(2);
    let x0 = p.start();
    let full = LevenbergMarquardt::default().minimize(&p, &x0).unwrap();
    let r = LevenbergMarquardt::default()
        .with_gtol(1e-2)
        .minimize(&p, &x0)
        .unwrap();
    assert_eq!(r.termination, Termination::GradientTolerance);
    assert!(r.grad_norm <= 1e-2, "{r}");
    assert!(r.iterations <= full.iterations);
    let c = LevenbergMarquardt::default()
        .with_minpack_gtol(0.5)
        .minimize(&p, &x0)
        .unwrap();
    assert_eq!(c.termination, Termination::GradientTolerance);
    assert!(c.iterations <= full.iterations);
    assert_eq!(
        LevenbergMarquardt::default()
            .with_minpack_tolerances(1e-8, 1e-9, 0.1)
            .minpack_tolerances(),
        (1e-8, 1e-9, 0.1)
    );
}

#[test]
fn bounded_robust_run_resumes_bit_for_bit() {
    let p = ExtendedRosenbrock::new(4);
    let x0 = p.start();
    let solver = LevenbergMarquardt::default()
        .with_bounds(vec![-2.0, 0.0, -2.0, 0.0], vec![0.9, 0.8, 0.9, 0.8])
        .with_loss(RobustLoss::SoftL1)
        .with_f_scale(0.5);
    let full = solver.minimize(&p, &x0).unwrap();
    assert!(full.converged(), "{full}");
    let mut run = Run::new(solver, &p, &x0).unwrap();
    for _ in 0..5 {
        assert!(run.step().is_none());
    }
    let json = serde_json::to_string(&run.checkpoint()).unwrap();
    drop(run);
    let checkpoint: Checkpoint<LevenbergMarquardt> = serde_json::from_str(&json).unwrap();
    let resumed = Run::resume(checkpoint, &p).unwrap().finish();
    assert_eq!(resumed.x, full.x);
    assert_eq!(resumed.f.to_bits(), full.f.to_bits());
    assert_eq!(resumed.evals, full.evals);
    assert_eq!(resumed.termination, full.termination);
}

#[test]
fn invalid_bounds_and_loss_options_are_errors() {
    let p = ExtendedRosenbrock::new(2);
    let x0 = [0.0, 0.0];
    let lm = LevenbergMarquardt::default;
    let err = |s: LevenbergMarquardt| s.minimize(&p, &x0).unwrap_err().to_string();
    assert_eq!(
        err(lm().with_bounds(vec![0.0], vec![1.0, 1.0])),
        "upper bounds has 2 entries, lower bounds has 1"
    );
    assert_eq!(
        err(lm().with_bounds(vec![0.0], vec![1.0])),
        "bounds has 1 entries, problem has 2"
    );
    assert!(
        err(lm().with_bounds(vec![0.0, 2.0], vec![1.0, 1.0]))
            .contains("bounds of x[1]: lower = 2, upper = 1")
    );
    assert!(err(lm().with_bounds(vec![0.0, f64::NAN], vec![1.0, 1.0])).contains("x[1]"));
    // Valid bounds after invalid ones replace them.
    let ok = lm()
        .with_bounds(vec![2.0], vec![1.0])
        .with_bounds(vec![-1.0, -1.0], vec![1.0, 1.0]);
    assert!(ok.minimize(&p, &x0).is_ok());
    assert!(err(lm().with_f_scale(0.0)).contains("f_scale"));
    assert!(err(lm().with_f_scale(f64::INFINITY)).contains("f_scale"));
    assert!(
        err(lm()
            .with_loss(RobustLoss::Huber)
            .with_geodesic_acceleration(Some(0.75)))
        .contains("geodesic")
    );
}

/// The robust objective and its gradient: `f = C² Σ ρ((r/C)²)` and
/// `g = ∇f` (central differences) at the start.
#[test]
fn robust_objective_and_gradient() {
    let p = ExtendedRosenbrock::new(2);
    let x0 = [-1.2, 1.0];
    for loss in [
        RobustLoss::SoftL1,
        RobustLoss::Huber,
        RobustLoss::Cauchy,
        RobustLoss::Arctan,
    ] {
        let c = 2.0;
        let f = |x: &[f64]| {
            let mut r = [0.0; 2];
            p.residuals(x, &mut r);
            loss.objective(&r, c)
        };
        let run = Run::new(
            LevenbergMarquardt::default()
                .with_loss(loss)
                .with_f_scale(c),
            &p,
            &x0,
        )
        .unwrap();
        let state = run.state();
        assert_eq!(state.f, f(&x0));
        for j in 0..2 {
            let h = 1e-6;
            let (mut a, mut b) = (x0, x0);
            a[j] += h;
            b[j] -= h;
            let fd = (f(&a) - f(&b)) / (2.0 * h);
            assert!(
                (state.g[j] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "{loss:?} {j}: {} vs {fd}",
                state.g[j]
            );
        }
        assert!(run.finish().converged());
    }
}

/// A Jacobian column of subnormal norm (a model term that has moved off the
/// data: e.g. a Gaussian bump centred far from every x) used to make the
/// statistics fail with "the column-scaled Jacobian: ... = NaN" (1/‖col‖
/// overflowed and 0 · ∞ = NaN), and `hesse fit` lost the converged run.
/// Now the other parameters keep finite standard errors and the vanishing
/// one's is infinite.
#[test]
fn statistics_survive_a_column_of_subnormal_norm() {
    use hesse::problem::FnResiduals;
    let (t, y) = ([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 4.0, 4.5]);
    let tiny = [1e-320, 2e-320, 0.0, 3e-320];
    let p = FnResiduals::new(
        3,
        4,
        move |x: &[f64], r: &mut [f64]| {
            for i in 0..4 {
                r[i] = y[i] - x[0] - x[1] * t[i] - x[2] * tiny[i];
            }
        },
        move |_: &[f64], j: &mut DMatrix<f64>| {
            for i in 0..4 {
                j[(i, 0)] = -1.0;
                j[(i, 1)] = -t[i];
                j[(i, 2)] = -tiny[i];
            }
        },
    );
    let stats = fit_statistics(&p, &[1.0, 1.2, 0.0]).expect("statistics at a finite point");
    assert!(stats.rss.is_finite() && stats.rss > 0.0);
    assert_eq!(stats.rank, 3);
    assert!(
        stats.std_errors[0].is_finite() && stats.std_errors[0] > 0.0,
        "{stats:?}"
    );
    assert!(
        stats.std_errors[1].is_finite() && stats.std_errors[1] > 0.0,
        "{stats:?}"
    );
    assert!(!stats.std_errors[2].is_finite(), "{stats:?}");
}
