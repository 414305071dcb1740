//! BFGS and L-BFGS: the theory on quadratics (BFGS = CG, L-BFGS with m ≥ n =
//! BFGS), superlinear convergence, curvature guards, typed failures,
//! checkpoints.

mod qn_support;

use hesse::cg::{Beta, NonlinearCg};
use hesse::linesearch::{Backtracking, Exact};
use hesse::prelude::*;
use hesse::problems::{ExtendedRosenbrock, Rosenbrock};
use hesse::quasi_newton::{CurvatureGuard, LbfgsForm};
use hesse::solver::{Checkpoint, Run};
use qn_support::*;

/// Nazareth (1979), N&W §6.1 p. 150 and Theorem 6.? on quadratics: BFGS with
/// `H_0 = I` and exact line searches generates the CG iterates. Compared
/// iterate by iterate with CG-FR and CG-PR (both linear CG here), n = 10, 20, 30.
#[test]
fn bfgs_reproduces_the_cg_iterates_on_quadratics() {
    for n in [10, 20, 30] {
        for rotated in [false, true] {
            let q = Quadratic::new(n, 10.0, rotated, 100 + n as u64);
            let x0 = vec![0.0; n];
            let bfgs = iterates(
                Bfgs::with_line_search(Exact::default())
                    .with_initial_scaling(false)
                    .with_gtol(1e-10)
                    .with_max_iter(n as u64),
                &q,
                &x0,
            );
            assert!(
                bfgs.len() <= n + 1,
                "BFGS took {} iterations, n = {n}",
                bfgs.len() - 1
            );
            for beta in [Beta::FletcherReeves, Beta::PolakRibiere] {
                let cg = iterates(
                    NonlinearCg::with_line_search(Exact::default())
                        .with_beta(beta)
                        .with_gtol(1e-10)
                        .with_max_iter(n as u64),
                    &q,
                    &x0,
                );
                // Both reach ‖g‖∞ ≤ 1e-10 within n iterations; near that
                // rounding floor one may need an iteration more than the other.
                assert!(
                    bfgs.len().abs_diff(cg.len()) <= 1,
                    "{beta:?} n={n}: {} vs {}",
                    bfgs.len(),
                    cg.len()
                );
                for (k, (a, b)) in bfgs.iter().zip(&cg).enumerate() {
                    assert!(
                        rel_diff(a, b) < 1e-9,
                        "{beta:?} n={n} rotated={rotated} k={k}: {}",
                        rel_diff(a, b)
                    );
                }
            }
        }
    }
}

/// With m ≥ n and the same H_0, L-BFGS stores every pair and its H_k is the
/// BFGS matrix: the iterates agree (here on quadratics with exact searches,
/// both forms, H_0 = I). With the default scaling, L-BFGS rescales
/// H_k^0 = γ_k I every iteration where BFGS scales once, yet on a quadratic
/// with exact searches both stay on the CG path (any H_0 = cI gives CG), so
/// they agree too.
#[test]
fn lbfgs_with_full_memory_matches_bfgs_on_quadratics() {
    for n in [10, 25] {
        let q = Quadratic::new(n, 10.0, true, 7 + n as u64);
        let x0 = vec![0.0; n];
        for scaling in [false, true] {
            let bfgs = iterates(
                Bfgs::with_line_search(Exact::default())
                    .with_initial_scaling(scaling)
                    .with_gtol(1e-10),
                &q,
                &x0,
            );
            for form in [LbfgsForm::Compact, LbfgsForm::TwoLoop] {
                let lbfgs = iterates(
                    Lbfgs::with_line_search(Exact::default())
                        .with_memory(n + 2)
                        .with_form(form)
                        .with_initial_scaling(scaling)
                        .with_gtol(1e-10),
                    &q,
                    &x0,
                );
                assert_eq!(bfgs.len(), lbfgs.len(), "n={n} scaling={scaling} {form:?}");
                for (k, (a, b)) in bfgs.iter().zip(&lbfgs).enumerate() {
                    assert!(
                        rel_diff(a, b) < 1e-9,
                        "n={n} scaling={scaling} {form:?} k={k}"
                    );
                }
            }
        }
    }
}

/// On a general function too, L-BFGS with m ≥ iterations and H_0 = I is BFGS
/// with H_0 = I: the iterates on Rosenbrock (n = 4, strong Wolfe, the same
/// initial step) agree.
#[test]
fn lbfgs_with_full_memory_is_bfgs_on_rosenbrock() {
    let p = Rosenbrock::new(4);
    let x0 = p.start();
    let bfgs = iterates(
        Bfgs::default()
            .with_initial_scaling(false)
            .with_max_iter(25),
        &p,
        &x0,
    );
    let lbfgs = iterates(
        Lbfgs::default()
            .with_memory(30)
            .with_initial_scaling(false)
            .with_max_iter(25),
        &p,
        &x0,
    );
    for (k, (a, b)) in bfgs.iter().zip(&lbfgs).enumerate() {
        assert!(rel_diff(a, b) < 1e-8, "k={k}: {a:?} vs {b:?}");
    }
}

/// N&W Theorem 6.6: BFGS converges superlinearly, `‖x_{k+1} − x*‖ / ‖x_k − x*‖ → 0`.
/// On Rosenbrock from (−1.2, 1), the last ratios before the error reaches
/// rounding fall well below any linear rate. (Below `1e-12` the iterates are
/// at the rounding floor of `∇f`, `≈ 1e-16 · 400 / λ_min(∇²f(x*)) ≈ 1e-13`:
/// the default path has one there, `8e-13`, whose ratio is noise.)
#[test]
fn bfgs_converges_superlinearly_on_rosenbrock() {
    let p = Rosenbrock::new(2);
    let xs = iterates(
        Bfgs::default().with_gtol(1e-13).with_max_iter(200),
        &p,
        &[-1.2, 1.0],
    );
    let err: Vec<f64> = xs
        .iter()
        .map(|x| rel_diff(x, &[1.0, 1.0]))
        .filter(|&e| e > 1e-12)
        .collect();
    let ratios: Vec<f64> = err.windows(2).map(|w| w[1] / w[0]).collect();
    let tail = &ratios[ratios.len() - 3..];
    println!("errors {err:?}\nratios {ratios:?}");
    assert!(
        tail[2] < 0.05 && tail.iter().all(|&r| r < 0.5),
        "last ratios {tail:?}"
    );
    assert!(tail[2] < tail[0], "ratios not decreasing: {tail:?}");
}

#[test]
fn defaults_converge_on_rosenbrock_with_few_evaluations() {
    let p = Rosenbrock::new(2);
    let b = Bfgs::default().minimize(&p, &[-1.2, 1.0]).unwrap();
    let l = Lbfgs::default().minimize(&p, &[-1.2, 1.0]).unwrap();
    println!(
        "bfgs {} it {:?}; lbfgs {} it {:?}",
        b.iterations, b.evals, l.iterations, l.evals
    );
    for r in [&b, &l] {
        assert_eq!(r.termination, Termination::GradientTolerance, "{r}");
        assert!(rel_diff(&r.x, &[1.0, 1.0]) < 1e-7);
        // scipy's BFGS needs 32 iterations and 39 evaluations here.
        assert!(r.evals.g <= 60, "{r}");
    }
    assert_eq!(b.method, "bfgs");
    assert_eq!(l.method, "lbfgs");
}

#[test]
fn lbfgs_compact_and_two_loop_agree_on_extended_rosenbrock() {
    let p = ExtendedRosenbrock::new(1000);
    let c = Lbfgs::default()
        .with_gtol(1e-6)
        .minimize(&p, &p.start())
        .unwrap();
    let t = Lbfgs::default()
        .with_form(LbfgsForm::TwoLoop)
        .with_gtol(1e-6)
        .minimize(&p, &p.start())
        .unwrap();
    println!(
        "compact {} it {:?}; two-loop {} it {:?}",
        c.iterations, c.evals, t.iterations, t.evals
    );
    assert!(c.converged() && t.converged());
    assert!(c.iterations.abs_diff(t.iterations) <= 2);
    assert!(rel_diff(&c.x, &t.x) < 1e-5);
}

#[test]
fn invalid_options_are_errors() {
    let p = Rosenbrock::new(2);
    let x0 = [-1.2, 1.0];
    assert!(matches!(
        Lbfgs::default().with_memory(0).minimize(&p, &x0),
        Err(Error::InvalidOption { name: "memory", .. })
    ));
    assert!(matches!(
        Lbfgs::default().with_curvature_eps(-1.0).minimize(&p, &x0),
        Err(Error::InvalidOption {
            name: "curvature_eps",
            ..
        })
    ));
    assert!(matches!(
        Bfgs::default()
            .with_curvature_eps(f64::NAN)
            .minimize(&p, &x0),
        Err(Error::InvalidOption {
            name: "curvature_eps",
            ..
        })
    ));
    assert!(matches!(
        Bfgs::default().minimize(&p, &[1.0]),
        Err(Error::DimensionMismatch { .. })
    ));
}

/// f = Σ xᵢ⁴/4 − xᵢ²: from 0.1 an Armijo step lands where the slope is
/// steeper, so sᵀy < 0. The guard skips (or damps) that pair and says so.
#[test]
fn curvature_guard_skips_or_damps_and_says_so() {
    let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
        let mut f = 0.0;
        for i in 0..2 {
            g[i] = x[i].powi(3) - 2.0 * x[i];
            f += 0.25 * x[i].powi(4) - x[i] * x[i];
        }
        f
    });
    let x0 = [0.1, 0.05];
    for (guard, word) in [
        (CurvatureGuard::Skip, "skipped"),
        (CurvatureGuard::PowellDamping, "damped"),
    ] {
        let runs = [
            Bfgs::with_line_search(Backtracking::default())
                .with_curvature_guard(guard)
                .with_history(true)
                .minimize(&p, &x0)
                .unwrap(),
            Lbfgs::with_line_search(Backtracking::default())
                .with_curvature_guard(guard)
                .with_history(true)
                .minimize(&p, &x0)
                .unwrap(),
        ];
        for r in runs {
            let notes: Vec<_> = r
                .history
                .as_ref()
                .unwrap()
                .iter()
                .filter_map(|h| h.note.clone())
                .collect();
            assert!(
                notes.iter().any(|n| n.contains(word)),
                "{guard:?} {}: {notes:?}",
                r.method
            );
            assert!(r.converged(), "{r}");
            assert!(
                r.x.iter().all(|v| (v.abs() - 2f64.sqrt()).abs() < 1e-6),
                "{:?}",
                r.x
            );
        }
    }
}

#[test]
fn nan_mid_run_keeps_the_last_good_iterate() {
    for which in 0..2 {
        let p = NanAfter {
            n: 3,
            nan_after: 4,
            calls: Default::default(),
        };
        let x0 = [1.0, -2.0, 0.5];
        let r = if which == 0 {
            Bfgs::default().minimize(&p, &x0)
        } else {
            Lbfgs::default().minimize(&p, &x0)
        }
        .unwrap();
        assert_eq!(r.termination, Termination::NonFiniteValue, "{r}");
        assert!(r.f.is_finite() && r.x.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn line_search_failure_is_typed() {
    let b = Bfgs::with_line_search(Backtracking::default().with_max_evals(5))
        .minimize(&WrongGradient, &[1.0, 2.0])
        .unwrap();
    let l = Lbfgs::with_line_search(Backtracking::default().with_max_evals(5))
        .minimize(&WrongGradient, &[1.0, 2.0])
        .unwrap();
    for r in [b, l] {
        assert_eq!(r.termination, Termination::LineSearchFailed, "{r}");
        assert_eq!(r.x, [1.0, 2.0]);
    }
}

#[test]
fn underflowing_gradient_is_not_a_descent_direction() {
    let b = Bfgs::default()
        .with_gtol(0.0)
        .minimize(&Underflow, &[1.0, 2.0])
        .unwrap();
    let l = Lbfgs::default()
        .with_gtol(0.0)
        .minimize(&Underflow, &[1.0, 2.0])
        .unwrap();
    for r in [b, l] {
        assert_eq!(r.termination, Termination::NotDescentDirection, "{r}");
        assert_eq!(r.x, [1.0, 2.0]);
    }
}

fn assert_resumes<M>(solver: M, p: &Rosenbrock, stop_at: u64)
where
    M: for<'a> hesse::solver::Minimizer<&'a Rosenbrock>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let x0 = p.start();
    let straight = Run::new(solver.clone(), p, &x0).unwrap().finish();
    let mut run = Run::new(solver, p, &x0).unwrap();
    for _ in 0..stop_at {
        run.step();
    }
    let json = serde_json::to_string(&run.checkpoint()).unwrap();
    drop(run);
    let back: Checkpoint<M> = serde_json::from_str(&json).unwrap();
    let resumed = Run::resume(back, p).unwrap().finish();
    assert_eq!(resumed.iterations, straight.iterations);
    assert_eq!(resumed.evals, straight.evals);
    for (a, b) in resumed.x.iter().zip(&straight.x) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}

/// Checkpoint mid-run, JSON round trip, resume: the final x is bit-identical,
/// for BFGS and both L-BFGS forms (m = 3 < iterations, so the ring buffer has
/// wrapped and a compact-form update is pending at the checkpoint).
#[test]
fn checkpoint_resumes_bit_identically() {
    let p = Rosenbrock::new(6);
    assert_resumes(Bfgs::default().with_gtol(1e-10), &p, 9);
    assert_resumes(Lbfgs::default().with_memory(3).with_gtol(1e-10), &p, 9);
    assert_resumes(
        Lbfgs::default()
            .with_memory(3)
            .with_form(LbfgsForm::TwoLoop)
            .with_gtol(1e-10),
        &p,
        9,
    );
}

/// The pair pass hands sweep 1 the newest pair's products with `g_{k+1}`
/// (so that it need not read the pair back); a checkpoint drops them and
/// sweep 1 reads the pair instead, which must give the same bits. Resumed
/// from a JSON checkpoint after every iteration, L-BFGS follows the straight
/// run bit for bit: n = 4102 spans three blocks of the history, the last
/// with a tail of two elements past a multiple of four.
#[test]
fn lbfgs_checkpointed_every_iteration_follows_the_straight_run() {
    let p = ExtendedRosenbrock::new(4102);
    let x0 = p.start();
    let solver = Lbfgs::default()
        .with_memory(5)
        .with_gtol(1e-8)
        .with_history(true);
    let straight = solver.clone().minimize(&p, &x0).unwrap();
    assert!(straight.converged() && straight.iterations > 20);
    let mut run = Run::new(solver, &p, &x0).unwrap();
    while run.step().is_none() {
        let json = serde_json::to_string(&run.checkpoint()).unwrap();
        let back: Checkpoint<Lbfgs> = serde_json::from_str(&json).unwrap();
        run = Run::resume(back, &p).unwrap();
    }
    let resumed = run.report();
    assert_eq!(resumed.iterations, straight.iterations);
    assert_eq!(resumed.evals, straight.evals);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&resumed.x), bits(&straight.x));
    let f = |r: &Report| {
        r.history
            .as_ref()
            .unwrap()
            .iter()
            .map(|h| h.f.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(f(&resumed), f(&straight));
}

/// A line search that fails along `−H_k g_k` resets `H = I` (L-BFGS: clears
/// its history) and searches again along `−g_k` before giving up; the run
/// goes on to converge, and the record says so.
#[test]
fn failed_line_search_resets_to_steepest_descent() {
    let p = Rosenbrock::new(2);
    let x0 = [-1.2, 1.0];
    let b = Bfgs::with_line_search(FailOnce::new(MoreThuente::default(), 5))
        .with_history(true)
        .minimize(&p, &x0)
        .unwrap();
    let l = Lbfgs::with_line_search(FailOnce::new(MoreThuente::default(), 5))
        .with_history(true)
        .minimize(&p, &x0)
        .unwrap();
    for (r, note) in [
        (b, "reset H = I: the line search failed"),
        (l, "cleared L-BFGS history: the line search failed"),
    ] {
        assert!(r.converged(), "{r}");
        let notes: Vec<_> = r
            .history
            .as_ref()
            .unwrap()
            .iter()
            .filter_map(|h| h.note.clone())
            .collect();
        assert!(notes.iter().any(|n| n.starts_with(note)), "{notes:?}");
    }
    // Along −g_k already (the first iteration), a failure ends the run.
    let r = Bfgs::with_line_search(FailOnce::new(MoreThuente::default(), 1))
        .minimize(&p, &x0)
        .unwrap();
    assert_eq!(r.termination, Termination::LineSearchFailed);
    assert_eq!(r.x, x0);
}

/// Issue 18 item 7: Powell damping (N&W Procedure 18.2) fires whenever
/// `sᵀy < 0.2 sᵀBs`, also on pairs with `sᵀy > 0` that the curvature test
/// accepts (on main only pairs that would be skipped were damped). BFGS with
/// an Armijo-only search on Rosenbrock: each damped pair has
/// `sᵀr = 0.2 sᵀBs`, and the update satisfies the secant equation with it,
/// `H_{k+1} r_k = s_k`.
#[test]
fn powell_damping_damps_every_pair_below_a_fifth_of_s_b_s() {
    let p = Rosenbrock::new(2);
    let solver = Bfgs::with_line_search(Backtracking::default())
        .with_curvature_guard(CurvatureGuard::PowellDamping)
        .with_gtol(1e-8);
    let mut run = Run::new(solver, &p, &[-1.2, 1.0]).unwrap();
    let (mut damped, mut damped_positive) = (0, 0);
    loop {
        let (x, g) = (run.state().x.clone(), run.state().g.clone());
        if run.step().is_some() {
            break;
        }
        let st = run.state();
        let alpha = st.alpha;
        let s: Vec<f64> = st.x.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = st.g.iter().zip(&g).map(|(a, b)| a - b).collect();
        let bs: Vec<f64> = g.iter().map(|gi| -alpha * gi).collect(); // B_k s_k
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
        let (sy, sbs) = (dot(&s, &y), dot(&s, &bs));
        let note = st.note.clone().unwrap_or_default();
        let is_damped = note.contains("Powell-damped");
        assert_eq!(
            is_damped,
            sy < 0.2 * sbs,
            "iteration {}: sᵀy = {sy:e}, sᵀBs = {sbs:e}, note {note:?}",
            st.iteration
        );
        if is_damped {
            damped += 1;
            damped_positive += usize::from(sy > 1e-10 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt());
            let theta = 0.8 * sbs / (sbs - sy);
            let r: Vec<f64> = y
                .iter()
                .zip(&bs)
                .map(|(yi, bi)| theta * yi + (1.0 - theta) * bi)
                .collect();
            let sr = dot(&s, &r);
            assert!(
                (sr - 0.2 * sbs).abs() <= 1e-10 * sbs.abs(),
                "{sr:e} vs {sbs:e}"
            );
            // H_{k+1} r = s.
            let h = run.solver().inverse_hessian();
            for i in 0..2 {
                let hr = h[i] * r[0] + h[2 + i] * r[1];
                assert!(
                    (hr - s[i]).abs() <= 1e-8 * s[i].abs().max(1e-12),
                    "secant: {hr:e} vs {:e}",
                    s[i]
                );
            }
        }
    }
    let report = run.report();
    assert!(report.converged(), "{report}");
    assert!(
        damped_positive > 0,
        "no damped pair with positive curvature ({damped} damped)"
    );
}
