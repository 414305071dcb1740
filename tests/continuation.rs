//! Continuation: the sampled blurs against closed forms, the stage loop, and
//! bad schedules.

use hesse::continuation::{
    Blur, Continuation, ContinuationError, Rule, Schedule, Smoothing, gauss_hermite,
};
use hesse::prelude::*;
use hesse::problems::{Ackley, Quadratic, Rastrigin};

/// `|J_σ(θ) − Σₖ wₖ f(θ + σzₖ)|` for Rastrigin in `n` variables.
fn rastrigin_error(smoothing: &Smoothing, n: usize, sigma: f64) -> f64 {
    let f = Rastrigin::new(n);
    let theta: Vec<f64> = (0..n).map(|i| 0.37 + 0.61 * i as f64).collect();
    let rule = Rule::new(smoothing, n).unwrap();
    let sampled = rule.blur(&f, sigma).unwrap().value(&theta);
    (sampled - f.blurred_value(&theta, sigma)).abs()
}

/// RMS error over 16 seeds.
fn rms(n: usize, sigma: f64, smoothing: impl Fn(u64) -> Smoothing) -> f64 {
    let seeds = 16;
    let sum: f64 = (0..seeds)
        .map(|s| rastrigin_error(&smoothing(s), n, sigma).powi(2))
        .sum();
    (sum / seeds as f64).sqrt()
}

#[test]
fn monte_carlo_error_falls_like_one_over_root_s() {
    // 16 times the samples: the RMS error falls about 4 times (S^{-1/2}).
    let (n, sigma) = (4, 0.2);
    let mc = |samples| {
        move |seed| Smoothing::MonteCarlo {
            samples,
            seed: 100 + seed,
        }
    };
    let (e64, e1024) = (rms(n, sigma, mc(64)), rms(n, sigma, mc(1024)));
    let ratio = e64 / e1024;
    assert!((2.5..6.5).contains(&ratio), "{e64:e} / {e1024:e} = {ratio}");
}

#[test]
fn quasi_monte_carlo_beats_the_monte_carlo_rate() {
    // Scrambled Sobol: the RMS error falls faster than S^{-1/2} (about S^{-0.8}
    // here) and is far below Monte Carlo's at equal S.
    let (n, sigma) = (4, 0.2);
    let qmc = |samples| {
        move |seed| Smoothing::QuasiMonteCarlo {
            samples,
            seed: seed as u32,
        }
    };
    let (e64, e1024) = (rms(n, sigma, qmc(64)), rms(n, sigma, qmc(1024)));
    let ratio = e64 / e1024;
    let mc1024 = rms(n, sigma, |seed| Smoothing::MonteCarlo {
        samples: 1024,
        seed,
    });
    // Measured: 1.6e-1 -> 1.7e-2 (S^-0.81), Monte Carlo 4.1e-1 at S = 1024.
    assert!(ratio > 6.0, "{e64:e} / {e1024:e} = {ratio}");
    assert!(e1024 * 10.0 < mc1024, "qmc {e1024:e} vs mc {mc1024:e}");
}

#[test]
fn gauss_hermite_is_exact_to_rounding() {
    // Tensor rule: error ≈ (ωσ)^{2q}/(2q)! for cos(ωx), ω = 2π.
    let sigma = 0.2;
    let errors: Vec<f64> = [2, 4, 8, 16]
        .iter()
        .map(|&order| rastrigin_error(&Smoothing::GaussHermite { order }, 2, sigma))
        .collect();
    assert!(errors[0] > 1e-1, "{errors:?}");
    assert!(errors[1] < errors[0] * 0.05, "{errors:?}");
    assert!(errors[2] < 1e-5, "{errors:?}");
    assert!(errors[3] < 1e-12, "{errors:?}");
    // The per-coordinate rule on separable Rastrigin in 30 variables: 30·20
    // points instead of 20^30.
    let sep = Smoothing::GaussHermiteSeparable { order: 21 };
    assert_eq!(Rule::new(&sep, 30).unwrap().len(), 30 * 20 + 1);
    assert!(rastrigin_error(&sep, 30, 0.5) < 1e-9);
    // Quadratics: the 2-point rule is exact (degree 2 ≤ 2q − 1), and adds
    // σ² tr(A)/2 to f with the gradient unchanged.
    let q = Quadratic::with_condition(3, 100.0, 7).unwrap();
    let rule = Rule::new(&Smoothing::GaussHermite { order: 2 }, 3).unwrap();
    let (x, sigma) = ([0.3, -1.2, 2.0], 0.7);
    let blurred = rule.blur(&q, sigma).unwrap();
    let (mut g_rule, mut g_exact) = ([0.0; 3], [0.0; 3]);
    let j = blurred.value_grad(&x, &mut g_rule);
    let j_exact = q.blurred_value_grad(&x, sigma, &mut g_exact);
    assert!((j - j_exact).abs() < 1e-12 * j_exact.abs(), "{j} {j_exact}");
    assert!((j_exact - q.value(&x) - 0.5 * sigma * sigma * q.matrix().trace()).abs() < 1e-12);
    for (a, b) in g_rule.iter().zip(&g_exact) {
        assert!((a - b).abs() < 1e-12 * (1.0 + b.abs()));
    }
    assert_eq!(blurred.j_evals().f, 8);
}

#[test]
fn sampled_gradient_is_the_mean_gradient() {
    // ∇J_σ of Rastrigin by 1024 Sobol points against the closed form.
    let f = Rastrigin::new(3);
    let rule = Rule::new(
        &Smoothing::QuasiMonteCarlo {
            samples: 1024,
            seed: 3,
        },
        3,
    )
    .unwrap();
    let (x, sigma) = ([0.3, -0.8, 1.4], 0.25);
    let (mut g, mut g_exact) = ([0.0; 3], [0.0; 3]);
    rule.blur(&f, sigma).unwrap().value_grad(&x, &mut g);
    f.blurred_value_grad(&x, sigma, &mut g_exact);
    for (a, b) in g.iter().zip(&g_exact) {
        assert!((a - b).abs() < 0.1, "{g:?} vs {g_exact:?}");
    }
}

#[test]
fn last_stage_minimizes_the_original_and_records_are_complete() {
    let f = Rastrigin::new(10);
    let x0 = vec![3.9, -4.1, 2.2, 4.6, -3.3, 1.1, -0.9, 4.0, -2.7, 3.5];
    let schedule = Schedule::geometric(5.12 / 3.0, 8);
    let cont = Continuation::new(schedule.clone()).with_smoothing(Smoothing::QuasiMonteCarlo {
        samples: 128,
        seed: 0,
    });
    let report = cont.minimize(&f, &x0).unwrap();
    let r = &report.result;
    // The last stage ran on f itself: its f is f(x), its gradient f's.
    assert!(r.converged(), "{r}");
    assert!(r.f < 1e-10, "{}", r.f);
    assert_eq!(r.f, f.value(&r.x));
    let mut g = vec![0.0; 10];
    f.value_grad(&r.x, &mut g);
    assert!(g.iter().all(|v| v.abs() <= 1e-8));
    assert!(r.method.starts_with("continuation+lbfgs"));
    // One record per σ, chained starts, counts that add up.
    let sigmas = schedule.sigmas().unwrap();
    assert_eq!(report.stages.len(), sigmas.len());
    assert_eq!(report.stages[0].start, x0);
    let rule_len = 128;
    let mut total = 0;
    for (i, (s, &sigma)) in report.stages.iter().zip(&sigmas).enumerate() {
        assert_eq!(s.sigma, sigma);
        if i > 0 {
            assert_eq!(s.start, report.stages[i - 1].end);
        }
        assert_eq!(s.f, f.value(&s.end));
        // A stage may start converged (at the centre of symmetry every blur's
        // gradient is 0); the first cannot.
        assert!(s.iterations <= 1000 && (i > 0 || s.iterations > 0));
        let per_call = if sigma > 0.0 { rule_len } else { 1 };
        let extra = u64::from(sigma > 0.0);
        assert_eq!(s.evals.f, s.stage_evals.f * per_call + extra, "stage {i}");
        assert_eq!(s.evals.g, s.stage_evals.g * per_call, "stage {i}");
        total += s.evals.f;
    }
    let last = report.stages.last().unwrap();
    assert_eq!((last.f_blurred, last.f, &last.end), (r.f, r.f, &r.x));
    assert_eq!(r.evals.f, total);
    // The cost: 128 evaluations of f per call of J_σ, about 140 calls in all
    // (measured 18 313).
    assert!(r.evals.f <= 25_000, "{}", r.evals.f);
    // The exact blur reaches the same minimum for the price of a plain run.
    let exact = Continuation::new(schedule.clone())
        .minimize_exact(&f, &x0)
        .unwrap();
    assert!(exact.result.f < 1e-10, "{}", exact.result.f);
    assert!(exact.result.evals.f <= 40, "{}", exact.result.evals.f);
    // The blur is what helped: plain L-BFGS from the same start stays in a
    // local minimum.
    let plain = Lbfgs::default().minimize(&f, &x0).unwrap();
    assert!(plain.f > 1.0, "{}", plain.f);
}

#[test]
fn ackley_with_the_default_rule() {
    // 10 variables, 10 seeded starts in [−32.768, 32.768]ⁿ: plain L-BFGS finds
    // the global minimum from none, continuation on the default blur
    // (scrambled Sobol, 256 points) from nearly all.
    let f = Ackley::new(10);
    let cont = Continuation::new(Schedule::geometric(32.768 / 3.0, 8));
    let (mut plain, mut blurred) = (0, 0);
    for k in 0..10 {
        let x0: Vec<f64> = (0..10)
            .map(|i| 32.768 * (((k * 10 + i) as f64 * 0.754_877_666).fract() * 2.0 - 1.0))
            .collect();
        plain += usize::from(Lbfgs::default().minimize(&f, &x0).unwrap().f < 1e-6);
        blurred += usize::from(cont.minimize(&f, &x0).unwrap().result.f < 1e-6);
    }
    assert_eq!(plain, 0);
    assert!(blurred >= 8, "{blurred}/10");
}

#[test]
fn bad_schedules_and_rules_are_typed_errors() {
    let f = Rastrigin::new(2);
    let x0 = [1.0, 1.0];
    let run = |schedule: Schedule, smoothing: Smoothing| {
        Continuation::new(schedule)
            .with_smoothing(smoothing)
            .minimize(&f, &x0)
            .unwrap_err()
    };
    let mc = Smoothing::MonteCarlo {
        samples: 8,
        seed: 0,
    };
    use ContinuationError::*;
    assert_eq!(
        run(Schedule::geometric(-1.0, 4), mc.clone()),
        BadSigma {
            index: 0,
            value: -1.0
        }
    );
    assert!(matches!(
        run(Schedule::geometric(f64::NAN, 4), mc.clone()),
        BadSigma { index: 0, .. }
    ));
    assert_eq!(run(Schedule::geometric(1.0, 0), mc.clone()), NoStages);
    assert_eq!(run(Schedule::list(vec![]), mc.clone()), NoStages);
    assert_eq!(
        run(Schedule::list([1.0, -0.5]), mc.clone()),
        BadSigma {
            index: 1,
            value: -0.5
        }
    );
    assert_eq!(
        run(Schedule::list([1.0, 2.0]), mc.clone()),
        Increasing {
            index: 1,
            value: 2.0
        }
    );
    let ratio = Schedule::Geometric {
        sigma0: 1.0,
        stages: 3,
        ratio: 1.5,
    };
    assert_eq!(run(ratio, mc.clone()), BadRatio(1.5));
    let zero = Smoothing::MonteCarlo {
        samples: 0,
        seed: 0,
    };
    assert_eq!(run(Schedule::geometric(1.0, 2), zero), BadSamples(0));
    let order = Smoothing::GaussHermite { order: 0 };
    assert_eq!(run(Schedule::geometric(1.0, 2), order), BadOrder(0));
    // Bad input to the inner minimizer is the solver's typed error.
    let err = Continuation::new(Schedule::geometric(1.0, 2))
        .minimize(&f, &[1.0, 2.0, 3.0])
        .unwrap_err();
    assert!(
        matches!(err, Solver(Error::DimensionMismatch { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("x0 has 3 entries"), "{err}");
    // Messages name the problem.
    assert!(BadSamples(7).to_string().contains("even"));
    assert!(gauss_hermite(0).is_err());
}

#[test]
fn closed_form_blurs_match_the_tensor_rule() {
    // Griewank's and Rastrigin's exact blurs (value and gradient) against the
    // 20-point tensor Gauss-Hermite rule in 3 variables (8000 points).
    use hesse::problems::Griewank;
    let rule = Rule::new(&Smoothing::GaussHermite { order: 20 }, 3).unwrap();
    let x = [0.7, -1.9, 2.4];
    let check = |p: &dyn Blur, sigma: f64| {
        let (mut g_rule, mut g_exact) = ([0.0; 3], [0.0; 3]);
        let j = rule.blur(p, sigma).unwrap().value_grad(&x, &mut g_rule);
        let j_exact = p.blurred_value_grad(&x, sigma, &mut g_exact);
        assert!((j - j_exact).abs() < 1e-10, "σ {sigma}: {j} vs {j_exact}");
        for (a, b) in g_rule.iter().zip(&g_exact) {
            assert!((a - b).abs() < 1e-9, "σ {sigma}: {g_rule:?} vs {g_exact:?}");
        }
        assert!((p.blurred_value(&x, sigma) - j_exact).abs() < 1e-12);
    };
    for sigma in [0.0, 0.1, 0.8, 2.0] {
        check(&Griewank::new(3), sigma);
    }
    for sigma in [0.0, 0.05, 0.15] {
        check(&Rastrigin::new(3), sigma);
    }
}
