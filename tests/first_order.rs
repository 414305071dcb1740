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
