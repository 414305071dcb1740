//! First-order update rules against hand computations, and the rates the
//! theory predicts.
//!
//! The hand-computed steps: from `θ₀ = (1, −2, 0.5)`, the fixed gradient
//! sequence `g₁ = (0.5, −1, 2)`, `g₂ = (−0.25, 0.75, 2)`, `g₃ = (0.125, 0, −3)`
//! (a zero and a sign flip on purpose), `ε = 0.1`, `α = 0.9`, `ρ = 0.9`, the
//! book's `δ`s. The expected iterates were computed by a separate
//! transcription of GBC alg. 8.1-8.7, Zeiler (2012) alg. 1 and Jacobs (1988)
//! eqs. (4)-(6) in Python (printed with `repr`, 17 digits).

use hesse::first_order::{
    AdaDelta, AdaGrad, Adam, DeltaBarDelta, Momentum, Nesterov, Optimizer, RmsProp,
    RmsPropNesterov, Sgd,
};

const THETA0: [f64; 3] = [1.0, -2.0, 0.5];
const GRADS: [[f64; 3]; 3] = [[0.5, -1.0, 2.0], [-0.25, 0.75, 2.0], [0.125, 0.0, -3.0]];

/// Runs three steps on the fixed gradients, checking the gradient point
/// (when given) before each step and the iterate after it, to 1e-12.
fn check_steps<O: Optimizer>(mut opt: O, expected: [[f64; 3]; 3], points: Option<[[f64; 3]; 3]>) {
    opt.validate().unwrap();
    let mut theta = THETA0;
    let mut at = [0.0; 3];
    for k in 0..3 {
        opt.gradient_point(&theta, &mut at);
        let want_at = points.map_or(theta, |p| p[k]);
        for i in 0..3 {
            assert!(
                (at[i] - want_at[i]).abs() <= 1e-12,
                "{} gradient point {k}, {i}: {} vs {}",
                opt.name(),
                at[i],
                want_at[i]
            );
        }
        opt.step(&mut theta, &GRADS[k]);
        for i in 0..3 {
            assert!(
                (theta[i] - expected[k][i]).abs() <= 1e-12,
                "{} step {}, coordinate {i}: {} vs {}",
                opt.name(),
                k + 1,
                theta[i],
                expected[k][i]
            );
        }
    }
    // A reset forgets the state: the first step again gives step 1.
    opt.reset();
    let mut theta = THETA0;
    opt.step(&mut theta, &GRADS[0]);
    assert!(
        theta
            .iter()
            .zip(&expected[0])
            .all(|(a, b)| (a - b).abs() <= 1e-12)
    );
}

#[test]
fn sgd_three_hand_steps() {
    check_steps(
        Sgd::new(0.1),
        [
            [0.95, -1.9, 0.3],
            [0.975, -1.9749999999999999, 0.09999999999999998],
            [0.9625, -1.9749999999999999, 0.4],
        ],
        None,
    );
}

#[test]
fn momentum_three_hand_steps() {
    check_steps(
        Momentum::new(0.1, 0.9),
        [
            [0.95, -1.9, 0.3],
            [0.9299999999999999, -1.885, -0.08000000000000002],
            [0.8995, -1.8715, -0.122],
        ],
        None,
    );
}

#[test]
fn nesterov_three_hand_steps() {
    // On a fixed gradient sequence the iterates are momentum's; what differs
    // is where the gradient is asked for: θ + αv.
    check_steps(
        Nesterov::new(0.1, 0.9),
        [
            [0.95, -1.9, 0.3],
            [0.9299999999999999, -1.885, -0.08000000000000002],
            [0.8995, -1.8715, -0.122],
        ],
        Some([
            [1.0, -2.0, 0.5],
            [0.9049999999999999, -1.8099999999999998, 0.11999999999999997],
            [0.9119999999999999, -1.8715, -0.42200000000000004],
        ]),
    );
}

#[test]
fn adagrad_three_hand_steps() {
    check_steps(
        AdaGrad::new(0.1),
        [
            [0.900000019999996, -1.900000009999999, 0.40000000499999977],
            [0.9447213715499932, -1.9600000051999993, 0.3292893293813449],
            [0.9228995863359172, -1.9600000051999993, 0.40205001512753896],
        ],
        None,
    );
}

#[test]
fn rmsprop_three_hand_steps() {
    check_steps(
        RmsProp::new(0.1, 0.9),
        [
            [0.683778558348752, -1.6837738151101336, 0.1837726292671284],
            [
                0.8312179503626065,
                -1.8798892797692428,
                -0.04564295367217849,
            ],
            [0.7557556864574944, -1.8798892797692428, 0.19272261839757365],
        ],
        None,
    );
}

#[test]
fn rmsprop_nesterov_three_hand_steps() {
    check_steps(
        RmsPropNesterov::new(0.1, 0.9, 0.9),
        [
            [0.683778558348752, -1.6837738151101336, 0.1837726292671284],
            [0.5466186528764833, -1.595285713368363, -0.3302475873317629],
            [
                0.34771247404632927,
                -1.5156464218007693,
                -0.5545002102010129,
            ],
        ],
        Some([
            [1.0, -2.0, 0.5],
            [
                0.3991792608626288,
                -1.3991702487092539,
                -0.10083200439245604,
            ],
            [0.4231747379514414, -1.5156464218007693, -0.7928657822707651],
        ]),
    );
}

#[test]
fn adam_three_hand_steps() {
    check_steps(
        Adam::new(0.1),
        [
            [0.900000002, -1.900000001, 0.4000000005],
            [0.8733662987078463, -1.8910675003605355, 0.3000000010000007],
            [0.8393233849166541, -1.8841626514946397, 0.293490431557057],
        ],
        None,
    );
}

#[test]
fn adadelta_three_hand_steps() {
    check_steps(
        AdaDelta::default(),
        [
            [0.9955280429197062, -1.9955279087656892, 0.4955278752252984],
            [0.998414640316359, -1.9993848100604061, 0.4909987785566109],
            [0.996846245079551, -1.9993848100604061, 0.49671187085759183],
        ],
        None,
    );
}

#[test]
fn delta_bar_delta_three_hand_steps() {
    let mut opt = DeltaBarDelta::new(0.1)
        .with_kappa(0.05)
        .with_phi(0.2)
        .with_xi(0.5);
    let expected_rates = [
        [0.1, 0.1, 0.1],
        [
            0.08000000000000002,
            0.08000000000000002,
            0.15000000000000002,
        ],
        [
            0.08000000000000002,
            0.08000000000000002,
            0.12000000000000002,
        ],
    ];
    let mut theta = THETA0;
    for (g, rates) in GRADS.iter().zip(&expected_rates) {
        opt.step(&mut theta, g);
        for (a, b) in opt.rates().iter().zip(rates) {
            assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
        }
    }
    opt.reset();
    check_steps(
        opt,
        [
            [0.95, -1.9, 0.3],
            [0.97, -1.96, -5.551115123125783e-17],
            [0.96, -1.96, 0.36000000000000004],
        ],
        None,
    );
}

#[test]
fn bad_options_are_errors() {
    assert!(Sgd::new(0.0).validate().is_err());
    assert!(Sgd::new(-1.0).validate().is_err());
    assert!(Sgd::new(f64::NAN).validate().is_err());
    assert!(Momentum::new(0.1, 1.0).validate().is_err());
    assert!(Nesterov::new(0.1, -0.1).validate().is_err());
    assert!(RmsProp::new(0.1, 1.0).validate().is_err());
    assert!(RmsPropNesterov::new(0.1, 0.9, 1.5).validate().is_err());
    assert!(Adam::default().with_rhos(0.9, 1.0).validate().is_err());
    assert!(AdaGrad::new(0.1).with_delta(0.0).validate().is_err());
    assert!(AdaDelta::new(-0.5).validate().is_err());
    let err = RmsProp::new(0.1, 1.0).validate().unwrap_err().to_string();
    assert!(err.contains("rho") && err.contains("[0, 1)"), "{err}");
}

#[test]
fn state_round_trips_through_json() {
    // Three steps, checkpoint, three more, against six uninterrupted steps.
    let mut opt = Adam::new(0.05);
    let mut theta = THETA0;
    for g in &GRADS {
        opt.step(&mut theta, g);
    }
    let saved = serde_json::to_string(&opt).unwrap();
    let mut resumed: Adam = serde_json::from_str(&saved).unwrap();
    let mut theta2 = theta;
    for g in &GRADS {
        opt.step(&mut theta, g);
        resumed.step(&mut theta2, g);
    }
    assert_eq!(theta.map(f64::to_bits), theta2.map(f64::to_bits));
    assert_eq!(opt, resumed);
}

#[test]
fn adagrad_effective_step_shrinks() {
    // GBC §8.5.1: accumulating squared gradients from the start makes the
    // effective rate ε/(δ + √r) fall monotonically, like 1/√k for a constant
    // gradient, whether or not progress is still needed.
    let mut opt = AdaGrad::new(0.1);
    let mut theta = [0.0, 0.0];
    let mut last = [f64::INFINITY; 2];
    for k in 1..=100 {
        opt.step(&mut theta, &[1.0, 0.01]);
        let eff = opt.effective_lr();
        for i in 0..2 {
            assert!(eff[i] < last[i], "step {k}, coordinate {i}");
        }
        last = [eff[0], eff[1]];
        // r = k g², so ε/(δ + √k |g|).
        let want = 0.1 / (1e-7 + (k as f64).sqrt());
        assert!((eff[0] - want).abs() < 1e-15 * want.max(1.0));
    }
    // After 100 steps a constant gradient moves θ ten times slower than at first.
    assert!((last[0] / (0.1 / (1e-7 + 1.0)) - 0.1).abs() < 1e-6);
}

mod rates {
    use hesse::first_order::{FullBatch, Momentum, Nesterov, Optimizer, Sgd};
    use hesse::problems::Quadratic;
    use hesse::solver::{Control, Run, State};

    /// Iterations of `opt`, run full-batch on a diagonal quadratic with
    /// eigenvalues log-spaced in `[1, κ]`, until `‖x − x*‖∞ ≤ 10⁻⁸` from
    /// `‖x₀ − x*‖∞ = 1`.
    fn iterations<O: Optimizer + Clone>(opt: O, kappa: f64) -> u64 {
        let q = Quadratic::diagonal(10, kappa).unwrap();
        let x_star = q.minimizer();
        let solver = FullBatch::new(opt).with_gtol(0.0).with_max_iter(10_000_000);
        let mut run = Run::new(solver, &q, &q.start())
            .unwrap()
            .with_observer(move |s: &State| {
                let err =
                    s.x.iter()
                        .zip(&x_star)
                        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                if err <= 1e-8 {
                    Control::Stop
                } else {
                    Control::Continue
                }
            });
        while run.step().is_none() {}
        run.state().iteration
    }

    /// The log-log slope of iterations against κ between κ = 10² and 10⁴.
    fn exponent<O: Optimizer + Clone>(make: impl Fn(f64, f64) -> O) -> (f64, u64, u64) {
        let its: Vec<u64> = [1e2, 1e4]
            .iter()
            .map(|&kappa| iterations(make(kappa, 1.0), kappa))
            .collect();
        let slope = (its[1] as f64 / its[0] as f64).ln() / (1e4f64 / 1e2).ln();
        (slope, its[0], its[1])
    }

    #[test]
    fn gradient_descent_needs_kappa_iterations() {
        // ε = 1/L: the error along the smallest eigenvalue contracts by
        // 1 − 1/κ per step.
        let (slope, a, b) = exponent(|l, _mu| Sgd::new(1.0 / l));
        println!("gd: {a} iterations at kappa 1e2, {b} at 1e4, slope {slope:.3}");
        assert!((0.9..=1.1).contains(&slope), "slope {slope} ({a}, {b})");
    }

    #[test]
    fn heavy_ball_needs_sqrt_kappa_iterations() {
        // Polyak (1964): ε = 4/(√L + √μ)², α = ((√κ − 1)/(√κ + 1))².
        let (slope, a, b) = exponent(|l, mu| {
            let k = (l / mu).sqrt();
            Momentum::new(
                4.0 / (l.sqrt() + mu.sqrt()).powi(2),
                ((k - 1.0) / (k + 1.0)).powi(2),
            )
        });
        println!("heavy ball: {a} iterations at kappa 1e2, {b} at 1e4, slope {slope:.3}");
        assert!((0.4..=0.6).contains(&slope), "slope {slope} ({a}, {b})");
    }

    #[test]
    fn nesterov_needs_sqrt_kappa_iterations() {
        // Nesterov (1983) for μ-strongly convex f: ε = 1/L, α = (√κ − 1)/(√κ + 1).
        let (slope, a, b) = exponent(|l, mu| {
            let k = (l / mu).sqrt();
            Nesterov::new(1.0 / l, (k - 1.0) / (k + 1.0))
        });
        println!("nesterov: {a} iterations at kappa 1e2, {b} at 1e4, slope {slope:.3}");
        assert!((0.4..=0.6).contains(&slope), "slope {slope} ({a}, {b})");
    }
}

mod schedules_clipping_averaging {
    use hesse::first_order::{Averager, Averaging, Clip, FullBatch, Optimizer, Schedule, Sgd};
    use hesse::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn schedules_hit_their_formulas() {
        let e0 = 0.2;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-15 * b.abs().max(1e-300);
        // GBC §8.3.1: ε_k = (1 − k/τ)ε₀ + (k/τ)ε_τ, then ε_τ.
        let lin = Schedule::Linear {
            tau: 100,
            final_ratio: 0.01,
        };
        assert!(close(lin.lr(e0, 0), 0.2));
        assert!(close(lin.lr(e0, 25), 0.75 * 0.2 + 0.25 * 0.002));
        assert!(close(lin.lr(e0, 100), 0.002));
        assert!(close(lin.lr(e0, 5000), 0.002));
        let inv = Schedule::InverseTime { decay: 0.5 };
        assert!(close(inv.lr(e0, 6), 0.2 / 4.0));
        let step = Schedule::Step {
            every: 10,
            gamma: 0.5,
        };
        assert!(close(step.lr(e0, 9), 0.2));
        assert!(close(step.lr(e0, 10), 0.1));
        assert!(close(step.lr(e0, 35), 0.025));
        let exp = Schedule::Exponential { gamma: 0.9 };
        assert!(close(exp.lr(e0, 3), 0.2 * 0.729));
        let cos = Schedule::Cosine {
            period: 100,
            final_ratio: 0.1,
        };
        assert!(close(cos.lr(e0, 0), 0.2));
        assert!(close(cos.lr(e0, 50), 0.02 + 0.18 * 0.5));
        assert!(close(cos.lr(e0, 100), 0.02));
        assert!(close(cos.lr(e0, 200), 0.02));
        let warm = Schedule::Warmup { steps: 4 };
        let got: Vec<f64> = (0..6).map(|k| warm.lr(e0, k)).collect();
        for (g, w) in got.iter().zip([0.05, 0.1, 0.15, 0.2, 0.2, 0.2]) {
            assert!(close(*g, w), "{got:?}");
        }
        assert_eq!(Schedule::Constant.lr(e0, 12345), e0);
        // The command line's spelling.
        assert_eq!(Schedule::parse("inverse-time:decay=0.5", 100).unwrap(), inv);
        assert_eq!(
            Schedule::parse("step:every=10,gamma=0.5", 100).unwrap(),
            step
        );
        for bad in [
            "linear:tau=0",
            "step:gamma=2",
            "linear:tau=x",
            "cosine:foo=1",
            "nope",
            "warmup:steps",
        ] {
            assert!(Schedule::parse(bad, 100).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_schedule_drives_the_full_batch_steps() {
        // f = x²/2 with SGD: x_{k+1} = (1 − ε_k) x_k, ε_k = 0.5/(1 + k).
        let p = FnGradient::new(1, |x: &[f64], g: &mut [f64]| {
            g[0] = x[0];
            0.5 * x[0] * x[0]
        });
        let r = FullBatch::new(Sgd::new(0.5))
            .with_schedule(Schedule::InverseTime { decay: 1.0 })
            .with_gtol(0.0)
            .with_max_iter(3)
            .minimize(&p, &[8.0])
            .unwrap();
        let want = 8.0 * (1.0 - 0.5) * (1.0 - 0.25) * (1.0 - 0.5 / 3.0);
        assert_eq!(r.iterations, 3);
        assert!((r.x[0] - want).abs() < 1e-14, "{} vs {want}", r.x[0]);
        assert_eq!(r.evals.g, 4); // the start and one per step
    }

    #[test]
    fn clipping_by_norm_preserves_direction() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..100 {
            let g: Vec<f64> = (0..8).map(|_| 10.0 * (rng.random::<f64>() - 0.5)).collect();
            let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
            let c = 0.5 * norm;
            let mut clipped = g.clone();
            assert!(Clip::Norm(c).apply(&mut clipped));
            let cnorm = clipped.iter().map(|x| x * x).sum::<f64>().sqrt();
            let cos = g.iter().zip(&clipped).map(|(a, b)| a * b).sum::<f64>() / (norm * cnorm);
            assert!((cnorm - c).abs() <= 1e-14 * c, "{cnorm} vs {c}");
            assert!((cos - 1.0).abs() <= 1e-14, "cos = {cos}");
            // Below the threshold nothing changes.
            let mut same = g.clone();
            assert!(!Clip::Norm(2.0 * norm).apply(&mut same));
            assert_eq!(same, g);
            // By value: every coordinate within [−c, c], unclipped ones untouched.
            let mut v = g.clone();
            Clip::Value(1.0).apply(&mut v);
            for (a, b) in g.iter().zip(&v) {
                assert!(b.abs() <= 1.0);
                if a.abs() <= 1.0 {
                    assert_eq!(a, b);
                }
            }
        }
        assert!(Clip::Norm(0.0).validate().is_err());
        assert!(Clip::Value(f64::NAN).validate().is_err());
    }

    #[test]
    fn polyak_average_beats_the_last_noisy_iterate() {
        // SGD with a constant rate on f = ½‖x − 1‖² with gradient noise σ = 1
        // hovers at distance ~ √(ε/2) σ from x*; the running mean of the
        // iterates (Polyak & Juditsky 1992) averages the noise away, and the
        // moving average sits in between.
        let n = 20;
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let mut opt = Sgd::new(0.1);
        let mut theta = vec![0.0; n];
        let mut polyak = Averager::new(Averaging::Polyak);
        let mut ema = Averager::new(Averaging::Ema(0.99));
        let mut g = vec![0.0; n];
        for _ in 0..20_000 {
            for (gi, x) in g.iter_mut().zip(&theta) {
                let (u1, u2): (f64, f64) = (rng.random(), rng.random());
                let xi = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                *gi = (x - 1.0) + xi;
            }
            opt.step(&mut theta, &g);
            polyak.update(&theta);
            ema.update(&theta);
        }
        let err = |x: &[f64]| x.iter().map(|v| (v - 1.0).powi(2)).sum::<f64>().sqrt();
        let (e_last, e_polyak, e_ema) = (err(&theta), err(polyak.average()), err(ema.average()));
        println!("distance to x*: last {e_last:.3e}, EMA {e_ema:.3e}, Polyak {e_polyak:.3e}");
        assert!(e_polyak < e_last / 10.0, "{e_polyak} vs {e_last}");
        assert!(e_ema < e_last / 2.0, "{e_ema} vs {e_last}");
        assert!(e_polyak < e_ema);
    }

    #[test]
    fn full_batch_reports_at_the_average() {
        let p = FnGradient::new(1, |x: &[f64], g: &mut [f64]| {
            g[0] = x[0];
            0.5 * x[0] * x[0]
        });
        // Iterates 4, 2, 1: the mean 7/3 is reported, with its f and gradient.
        let r = FullBatch::new(Sgd::new(0.5))
            .with_averaging(Averaging::Polyak)
            .with_gtol(0.0)
            .with_max_iter(3)
            .minimize(&p, &[8.0])
            .unwrap();
        assert!((r.x[0] - 7.0 / 3.0).abs() < 1e-15);
        assert!((r.f - 0.5 * (7.0f64 / 3.0).powi(2)).abs() < 1e-14);
        assert!((r.grad_norm - 7.0 / 3.0).abs() < 1e-15);
        assert_eq!(r.evals.g, 5);
        let _ = Sgd::default().learning_rate();
    }
}

mod coordinate_descent {
    use hesse::first_order::CoordinateDescent;
    use hesse::prelude::*;

    /// The seeds' warning example (GBC §8.7.2): `(x₁ − x₂)² + α(x₁² + x₂²)`.
    fn coupled(alpha: f64) -> impl Gradient {
        FnGradient::new(2, move |x: &[f64], g: &mut [f64]| {
            let d = x[0] - x[1];
            g[0] = 2.0 * d + 2.0 * alpha * x[0];
            g[1] = -2.0 * d + 2.0 * alpha * x[1];
            d * d + alpha * (x[0] * x[0] + x[1] * x[1])
        })
    }

    #[test]
    fn one_cycle_is_the_hand_computed_pair_of_exact_minimizations() {
        // ∂f/∂x₁ = 0 at x₁ = x₂/(1 + α), then ∂f/∂x₂ = 0 at x₂ = x₁/(1 + α).
        let alpha = 0.1;
        let r = CoordinateDescent::default()
            .with_gtol(0.0)
            .with_max_iter(1)
            .minimize(&coupled(alpha), &[0.0, 1.0])
            .unwrap();
        let x1 = 1.0 / 1.1;
        let x2 = x1 / 1.1;
        assert!(
            (r.x[0] - x1).abs() < 1e-12 && (r.x[1] - x2).abs() < 1e-12,
            "{:?}",
            r.x
        );
        // Exact on a quadratic: two evaluations per coordinate.
        assert_eq!(r.evals.g, 1 + 2 * 2);
    }

    #[test]
    fn the_seeds_warning_strong_coupling_makes_it_slow() {
        // After cycle k, x₁ = (1 + α)^{−(2k−1)}, x₂ = x₁/(1 + α) and
        // ∂f/∂x₂ = 0, ∂f/∂x₁ = 2α(2 + α)/(1 + α) · x₁: the cycles to reach
        // ‖g‖∞ ≤ 10⁻⁸ from (0, 1) follow, about ln(1/10⁻⁸)/(2α) for small α.
        let cycles = |alpha: f64| {
            let r = CoordinateDescent::default()
                .with_gtol(1e-8)
                .with_max_iter(100_000)
                .minimize(&coupled(alpha), &[0.0, 1.0])
                .unwrap();
            assert!(r.converged(), "alpha = {alpha}: {:?}", r.termination);
            assert!(r.x.iter().all(|v| v.abs() < 1e-8 / alpha), "{:?}", r.x);
            r.iterations as f64
        };
        for alpha in [1.0, 0.1, 0.01, 0.001] {
            let c = cycles(alpha);
            let c0 = 2.0 * alpha * (2.0 + alpha) / (1.0 + alpha);
            let predicted = (((c0 / 1e-8).ln() / (1.0 + alpha).ln() + 1.0) / 2.0).ceil();
            println!("alpha {alpha}: {c} cycles, predicted {predicted}");
            assert!((c - predicted).abs() <= 1.0, "{c} vs {predicted}");
        }
        // Newton (the coupled Hessian in one solve) needs one step for any α.
        let r = Newton::default()
            .with_gtol(1e-8)
            .minimize(&CoupledWithHessian(0.001), &[0.0, 1.0])
            .unwrap();
        assert!(r.iterations <= 2);
    }

    /// The coupled quadratic with its Hessian, for Newton.
    struct CoupledWithHessian(f64);

    impl Objective for CoupledWithHessian {
        fn dim(&self) -> usize {
            2
        }
        fn value(&self, x: &[f64]) -> f64 {
            (x[0] - x[1]).powi(2) + self.0 * (x[0] * x[0] + x[1] * x[1])
        }
    }

    impl Gradient for CoupledWithHessian {
        fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
            let d = x[0] - x[1];
            g[0] = 2.0 * d + 2.0 * self.0 * x[0];
            g[1] = -2.0 * d + 2.0 * self.0 * x[1];
            self.value(x)
        }
    }

    impl Hessian for CoupledWithHessian {
        fn hessian(&self, _x: &[f64], h: &mut nalgebra::DMatrix<f64>) {
            let a = self.0;
            h[(0, 0)] = 2.0 + 2.0 * a;
            h[(1, 1)] = 2.0 + 2.0 * a;
            h[(0, 1)] = -2.0;
            h[(1, 0)] = -2.0;
        }
    }
}

mod training {
    use hesse::first_order::{
        Adam, Averaging, Clip, Metrics, MinibatchObjective, Momentum, Nesterov, Optimizer,
        Schedule, Sgd, TrainState, TrainStop, Trainer,
    };
    use nalgebra::{DMatrix, DVector};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// Linear least squares `L_i = ½ (aᵢᵀθ − yᵢ)²` on seeded data: `m` training
    /// rows from `w`, 50 held-out rows from `w_val` (= `w` unless a test
    /// wants the held-out loss to turn up).
    struct LeastSquares {
        a: Vec<Vec<f64>>,
        y: Vec<f64>,
        a_val: Vec<Vec<f64>>,
        y_val: Vec<f64>,
    }

    impl LeastSquares {
        fn new(m: usize, w: &[f64], w_val: &[f64]) -> Self {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let mut rows = |k: usize, w: &[f64]| {
                let a: Vec<Vec<f64>> = (0..k)
                    .map(|_| w.iter().map(|_| rng.random::<f64>() * 2.0 - 1.0).collect())
                    .collect();
                let y = a
                    .iter()
                    .map(|r| {
                        let noise = 0.1 * (rng.random::<f64>() - 0.5);
                        r.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() + noise
                    })
                    .collect();
                (a, y)
            };
            let (a, y) = rows(m, w);
            let (a_val, y_val) = rows(50, w_val);
            LeastSquares { a, y, a_val, y_val }
        }

        fn loss(a: &[Vec<f64>], y: &[f64], p: &[f64]) -> f64 {
            let r = |i: usize| a[i].iter().zip(p).map(|(x, w)| x * w).sum::<f64>() - y[i];
            (0..y.len()).map(|i| 0.5 * r(i) * r(i)).sum::<f64>() / y.len() as f64
        }

        /// The training minimizer, by the normal equations.
        fn solution(&self) -> Vec<f64> {
            let n = self.a[0].len();
            let a = DMatrix::from_fn(self.y.len(), n, |i, j| self.a[i][j]);
            let y = DVector::from_column_slice(&self.y);
            let ata = a.transpose() * &a;
            let aty = a.transpose() * y;
            ata.cholesky().unwrap().solve(&aty).as_slice().to_vec()
        }
    }

    impl MinibatchObjective for LeastSquares {
        fn n_params(&self) -> usize {
            self.a[0].len()
        }
        fn n_examples(&self) -> usize {
            self.y.len()
        }
        fn value_grad_batch(&self, p: &[f64], batch: &[usize], g: &mut [f64]) -> f64 {
            g.iter_mut().for_each(|v| *v = 0.0);
            let mut f = 0.0;
            for &i in batch {
                let r = self.a[i].iter().zip(p).map(|(x, w)| x * w).sum::<f64>() - self.y[i];
                f += 0.5 * r * r;
                for (gj, x) in g.iter_mut().zip(&self.a[i]) {
                    *gj += r * x;
                }
            }
            let m = batch.len() as f64;
            g.iter_mut().for_each(|v| *v /= m);
            f / m
        }
        fn held_out(&self, p: &[f64]) -> Option<Metrics> {
            Some(Metrics {
                loss: Self::loss(&self.a_val, &self.y_val, p),
                accuracy: None,
            })
        }
    }

    const W: [f64; 5] = [1.0, -2.0, 0.5, 3.0, -1.0];

    /// Everything but wall times, as bits.
    fn fingerprint<O: Serialize>(s: &TrainState<O>) -> String {
        let mut s = serde_json::to_value(s).unwrap();
        for r in s["history"].as_array_mut().unwrap() {
            r["seconds"] = 0.into();
        }
        s.to_string()
    }

    fn check_resume<O: Optimizer + Clone + PartialEq + Serialize + DeserializeOwned>(opt: O) {
        let p = LeastSquares::new(200, &W, &W);
        let trainer = Trainer::new(opt)
            .with_batch_size(16)
            .with_epochs(6)
            .with_seed(11)
            .with_schedule(Schedule::Cosine {
                period: 60,
                final_ratio: 0.1,
            })
            .with_clip(Clip::Norm(5.0))
            .with_averaging(Averaging::Ema(0.9))
            .with_patience(100);
        let full = trainer.train(&p, vec![0.0; 5]).unwrap();
        assert_eq!(full.stopped, Some(TrainStop::Epochs));
        assert_eq!(full.history.len(), 6);
        // Stop after epoch 3, checkpoint to disk, resume in a "new process".
        let mut part = trainer.start(&p, vec![0.0; 5]).unwrap();
        trainer.run_until(&p, &mut part, 3).unwrap();
        assert_eq!((part.epoch, part.stopped), (3, None));
        let dir = std::env::temp_dir().join(format!("hesse-train-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.json", part.optimizer.name()));
        part.save(&path).unwrap();
        let loaded: TrainState<O> = TrainState::load(&path).unwrap();
        let resumed = trainer.resume(&p, loaded).unwrap();
        assert_eq!(
            full.params.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            resumed
                .params
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        );
        assert_eq!(fingerprint(&full), fingerprint(&resumed));
        // And it did learn: the held-out loss fell.
        let first = full.history[0].held_out.unwrap().loss;
        let last = full.history[5].held_out.unwrap().loss;
        assert!(last < first / 3.0, "{first} -> {last}");
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn checkpoint_resume_is_bit_identical_adam() {
        check_resume(Adam::new(0.05));
    }

    #[test]
    fn checkpoint_resume_is_bit_identical_nesterov() {
        check_resume(Nesterov::new(0.05, 0.9));
    }

    #[test]
    fn minibatch_momentum_with_linear_decay_reaches_the_least_squares_solution() {
        let p = LeastSquares::new(200, &W, &W);
        let w_star = p.solution();
        let state = Trainer::new(Momentum::new(0.05, 0.9))
            .with_batch_size(20)
            .with_epochs(60)
            .with_schedule(Schedule::Linear {
                tau: 500,
                final_ratio: 0.01,
            })
            .train(&p, vec![0.0; 5])
            .unwrap();
        let err = state
            .params
            .iter()
            .zip(&w_star)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        println!("minibatch momentum: max |w - w*| = {err:.2e}");
        assert!(err < 1e-3, "{err}");
        // Different seeds, different orders, same answer to that accuracy.
        let other = Trainer::new(Momentum::new(0.05, 0.9))
            .with_batch_size(20)
            .with_epochs(60)
            .with_seed(99)
            .with_schedule(Schedule::Linear {
                tau: 500,
                final_ratio: 0.01,
            })
            .train(&p, vec![0.0; 5])
            .unwrap();
        assert_ne!(other.params, state.params);
    }

    #[test]
    fn early_stopping_keeps_the_best_held_out_epoch() {
        // Held-out targets from 0.3·w: training toward w passes the held-out
        // optimum, so the held-out loss falls, then rises.
        let w_val: Vec<f64> = W.iter().map(|w| 0.3 * w).collect();
        let p = LeastSquares::new(200, &W, &w_val);
        let state = Trainer::new(Sgd::new(0.02))
            .with_batch_size(50)
            .with_epochs(200)
            .with_patience(3)
            .train(&p, vec![0.0; 5])
            .unwrap();
        assert_eq!(state.stopped, Some(TrainStop::EarlyStopping));
        let best = state.best.as_ref().unwrap();
        assert_eq!(best.epoch + 3, state.epoch);
        let losses: Vec<f64> = state
            .history
            .iter()
            .map(|r| r.held_out.unwrap().loss)
            .collect();
        let min = losses.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(best.loss, min);
        assert_eq!(losses[best.epoch as usize - 1], min);
        assert!(losses[state.epoch as usize - 1] > min);
        assert_eq!(state.best_params(), best.params.as_slice());
        assert!(state.epoch < 200);
        // The history as CSV: a header and one row per epoch.
        let path = std::env::temp_dir().join(format!("hesse-history-{}.csv", std::process::id()));
        state.write_history_csv(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("epoch,train_loss,val_loss,val_accuracy,lr,seconds\n"));
        assert_eq!(text.lines().count(), 1 + state.history.len());
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn bad_training_input_is_an_error() {
        let p = LeastSquares::new(40, &W, &W);
        for batch in [0, 41] {
            let err = Trainer::new(Sgd::new(0.1))
                .with_batch_size(batch)
                .train(&p, vec![0.0; 5])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("batch") && err.contains("training examples"),
                "{err}"
            );
        }
        let err = Trainer::new(Sgd::new(-0.1))
            .train(&p, vec![0.0; 5])
            .unwrap_err()
            .to_string();
        assert!(err.contains("learning rate"), "{err}");
        assert!(Trainer::new(Sgd::new(0.1)).train(&p, vec![0.0; 4]).is_err());
    }
}

#[test]
fn full_batch_checkpoint_resumes_bit_identically() {
    use hesse::first_order::{FullBatch, Schedule};
    use hesse::problems::Rosenbrock;
    use hesse::solver::{Checkpoint, Control, Run, State};
    let p = Rosenbrock::new(2);
    let solver = FullBatch::new(RmsPropNesterov::new(0.001, 0.9, 0.9))
        .with_schedule(Schedule::Warmup { steps: 10 })
        .with_gtol(0.0)
        .with_max_iter(40);
    let full = Run::new(solver.clone(), &p, &[-1.2, 1.0]).unwrap().finish();
    let mut run = Run::new(solver, &p, &[-1.2, 1.0])
        .unwrap()
        .with_observer(|s: &State| {
            if s.iteration == 17 {
                Control::Stop
            } else {
                Control::Continue
            }
        });
    while run.step().is_none() {}
    let mut cp = run.checkpoint();
    cp.finished = None; // the observer's stop is not part of the run
    let json = serde_json::to_string(&cp).unwrap();
    let cp: Checkpoint<FullBatch<RmsPropNesterov>> = serde_json::from_str(&json).unwrap();
    let resumed = Run::resume(cp, &p).unwrap().finish();
    assert_eq!(resumed.iterations, 40);
    let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&full.x), bits(&resumed.x));
    assert_eq!(full.f.to_bits(), resumed.f.to_bits());
    assert_eq!(full.evals, resumed.evals);
}
