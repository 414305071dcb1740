//! Nonlinear conjugate gradients: the finite-termination property on
//! quadratics, restarts, typed failures and checkpoints.

mod qn_support;

use hesse::cg::{Beta, NonlinearCg};
use hesse::linesearch::{Backtracking, Exact};
use hesse::prelude::*;
use hesse::problems::Rosenbrock;
use hesse::solver::{Checkpoint, Run};
use qn_support::*;

const ALL: [Beta; 6] = [
    Beta::FletcherReeves,
    Beta::PolakRibiere,
    Beta::PolakRibierePlus,
    Beta::HestenesStiefel,
    Beta::DaiYuan,
    Beta::HagerZhang,
];

/// N&W Theorem 5.2 / §5.2: on a strictly convex quadratic with exact line
/// searches, FR and PR are linear CG and reach the minimizer in at most `n`
/// iterations; HS, DY and HZ reduce to the same `β` when `g₊ᵀd = 0`, so all six
/// do. Diagonal and rotated, n = 10, 20, 30, eigenvalues log-spaced in
/// [1, 10]: after n iterations ‖g‖∞ ≤ 1e-10 (from ‖g₀‖∞ ≈ 1).
///
/// "To rounding": finite-precision CG loses orthogonality as κ grows
/// (Greenbaum 1997, ch. 4). Measured ‖g_n‖∞ with FR and `Exact`: κ = 10,
/// n = 30: 3e-12; κ = 100, n = 30: 4e-5; κ = 1000, n = 10: 5e-3; the same
/// with an exact-for-quadratics secant step, so the loss is CG's, not the
/// line search's.
#[test]
fn every_beta_terminates_in_n_iterations_on_quadratics_with_exact_line_search() {
    for n in [10, 20, 30] {
        for rotated in [false, true] {
            let q = Quadratic::new(n, 10.0, rotated, n as u64);
            let x_star = q.minimizer();
            let x0 = vec![0.0; n];
            for beta in ALL {
                let r = NonlinearCg::with_line_search(Exact::default())
                    .with_beta(beta)
                    .with_gtol(1e-10)
                    .with_max_iter(n as u64)
                    .minimize(&q, &x0)
                    .unwrap();
                assert_eq!(
                    r.termination,
                    Termination::GradientTolerance,
                    "{beta:?} n={n} rotated={rotated}: {r}"
                );
                assert!(r.iterations <= n as u64);
                assert!(rel_diff(&r.x, x_star.as_slice()) < 1e-8, "{beta:?} n={n}");
            }
        }
    }
}

#[test]
fn method_names_follow_the_command_line() {
    let names: Vec<_> = ALL.iter().map(|b| b.method_name()).collect();
    assert_eq!(
        names,
        ["cg-fr", "cg-pr", "cg-pr+", "cg-hs", "cg-dy", "cg-hz"]
    );
    let r = NonlinearCg::new(Beta::DaiYuan)
        .minimize(&Rosenbrock::new(2), &[-1.2, 1.0])
        .unwrap();
    assert_eq!(r.method, "cg-dy");
}

#[test]
fn converges_on_rosenbrock() {
    for beta in ALL {
        let r = NonlinearCg::new(beta)
            .with_gtol(1e-6)
            .with_max_iter(20_000)
            .minimize(&Rosenbrock::new(2), &[-1.2, 1.0])
            .unwrap();
        println!(
            "{beta:?}: {} iterations, {:?}, {}",
            r.iterations, r.evals, r.termination
        );
        assert!(r.converged(), "{beta:?}: {r}");
        assert!(rel_diff(&r.x, &[1.0, 1.0]) < 1e-5, "{beta:?}: {:?}", r.x);
        // Measured: 33-34 iterations with Moré-Thuente, 49 for HZ with its
        // QuadStep initial step; HZ with N&W (3.60)'s step instead took
        // 27 295 (its search accepted the first trial, CG became steepest
        // descent).
        assert!(r.iterations <= 60, "{beta:?}: {r}");
        assert!(r.evals.g <= 130, "{beta:?}: {r}");
    }
}

#[test]
fn invalid_options_are_errors() {
    let p = Rosenbrock::new(2);
    let x0 = [-1.2, 1.0];
    for (cg, name) in [
        (
            NonlinearCg::default().with_restart_every(0),
            "restart_every",
        ),
        (
            NonlinearCg::default().with_powell_restart(Some(-1.0)),
            "powell_restart",
        ),
        (NonlinearCg::default().with_eta(f64::NAN), "eta"),
    ] {
        match cg.minimize(&p, &x0) {
            Err(Error::InvalidOption { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}: expected InvalidOption, got {other:?}"),
        }
    }
}

/// FR with an Armijo-only search does lose descent (N&W Lemma 5.6 needs strong
/// Wolfe with c₂ < ½); the reset to −g is recorded and the run goes on.
#[test]
fn non_descent_direction_resets_to_steepest_descent() {
    let p = Rosenbrock::new(10);
    let r = NonlinearCg::with_line_search(Backtracking::default())
        .with_beta(Beta::FletcherReeves)
        .with_powell_restart(None)
        .with_restart_every(u64::MAX)
        .with_history(true)
        .with_max_iter(2000)
        .minimize(&p, &p.start())
        .unwrap();
    let notes: Vec<_> = r
        .history
        .as_ref()
        .unwrap()
        .iter()
        .filter_map(|h| h.note.clone())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("not a descent direction")),
        "no reset among {notes:?}"
    );
    // FR with Armijo steps crawls (f = 6.0 after 2000 iterations from 4.8e3),
    // but it descends.
    assert!(r.f < 0.01 * p.value(&p.start()) && r.f.is_finite(), "{r}");
}

#[test]
fn restarts_every_k_iterations() {
    let r = NonlinearCg::new(Beta::PolakRibiere)
        .with_restart_every(3)
        .with_powell_restart(None)
        .with_history(true)
        .with_max_iter(9)
        .minimize(&Rosenbrock::new(4), &Rosenbrock::new(4).start())
        .unwrap();
    let h = r.history.unwrap();
    for rec in &h[1..] {
        let restarted = rec
            .note
            .as_deref()
            .is_some_and(|n| n.contains("3 iterations"));
        assert_eq!(
            restarted,
            rec.iteration % 3 == 0,
            "iteration {}: {:?}",
            rec.iteration,
            rec.note
        );
    }
}

#[test]
fn nan_mid_run_keeps_the_last_good_iterate() {
    for beta in ALL {
        let p = NanAfter {
            n: 3,
            nan_after: 4,
            calls: Default::default(),
        };
        let r = NonlinearCg::new(beta)
            .minimize(&p, &[1.0, -2.0, 0.5])
            .unwrap();
        assert_eq!(r.termination, Termination::NonFiniteValue, "{beta:?}");
        assert!(r.f.is_finite() && r.x.iter().all(|v| v.is_finite()));
        assert!(r.f < 1.0 + 16.0 + 20.0 + 0.5f64.powi(4) + 0.25);
    }
}

#[test]
fn line_search_failure_is_typed() {
    let r = NonlinearCg::default()
        .minimize(&WrongGradient, &[1.0, 2.0])
        .unwrap();
    assert_eq!(r.termination, Termination::LineSearchFailed);
    assert_eq!(r.x, [1.0, 2.0]);
    assert_eq!(r.iterations, 0);
}

#[test]
fn underflowing_gradient_is_not_a_descent_direction() {
    let r = NonlinearCg::default()
        .with_gtol(0.0)
        .minimize(&Underflow, &[1.0, 2.0])
        .unwrap();
    assert_eq!(r.termination, Termination::NotDescentDirection);
    assert_eq!(r.x, [1.0, 2.0]);
}

/// A run checkpointed after 7 iterations, serialized to JSON and resumed ends
/// on the same bits as an uninterrupted run.
#[test]
fn checkpoint_resumes_bit_identically() {
    let p = Rosenbrock::new(6);
    let x0 = p.start();
    for beta in ALL {
        let solver = NonlinearCg::new(beta).with_gtol(1e-8).with_max_iter(5000);
        let straight = solver.minimize(&p, &x0).unwrap();
        let mut run = Run::new(solver.clone(), &p, &x0).unwrap();
        for _ in 0..7 {
            run.step();
        }
        let json = serde_json::to_string(&run.checkpoint()).unwrap();
        drop(run);
        let back: Checkpoint<NonlinearCg> = serde_json::from_str(&json).unwrap();
        let resumed = Run::resume(back, &p).unwrap().finish();
        assert_eq!(resumed.iterations, straight.iterations, "{beta:?}");
        assert_eq!(resumed.evals, straight.evals);
        for (a, b) in resumed.x.iter().zip(&straight.x) {
            assert_eq!(a.to_bits(), b.to_bits(), "{beta:?}");
        }
    }
}

/// A line search that fails along a CG direction restarts with `d = −g_k`
/// and searches again; along `−g_k` itself a failure ends the run.
#[test]
fn failed_line_search_restarts_with_steepest_descent() {
    use hesse::linesearch::MoreThuente;
    let p = Rosenbrock::new(2);
    let x0 = [-1.2, 1.0];
    // No periodic or Powell restarts, so that call 5 is along a CG direction.
    let r = NonlinearCg::with_line_search(FailOnce::new(MoreThuente::default().with_c2(0.1), 5))
        .with_beta(Beta::PolakRibiere)
        .with_powell_restart(None)
        .with_restart_every(u64::MAX)
        .with_history(true)
        .with_max_iter(10_000)
        .minimize(&p, &x0)
        .unwrap();
    assert!(r.converged(), "{r}");
    let notes: Vec<_> = r
        .history
        .as_ref()
        .unwrap()
        .iter()
        .filter_map(|h| h.note.clone())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("restart: the line search failed")),
        "{notes:?}"
    );
    let r = NonlinearCg::with_line_search(FailOnce::new(MoreThuente::default(), 1))
        .minimize(&p, &x0)
        .unwrap();
    assert_eq!(r.termination, Termination::LineSearchFailed);
    assert_eq!(r.x, x0);
}
