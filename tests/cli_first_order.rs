//! `hesse minimize --method sgd|momentum|...`: the first-order baselines on
//! the command line, their iterates against hand computations, and bad input.
//!
//! On `f = x² + 10y²` (`∇f = (2x, 20y)`) from `(1, 1)` with `--gtol 0` the
//! run makes exactly `--max-iter` steps of the textbook rule.

use std::process::{Command, Output};

use serde_json::Value;

fn hesse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hesse"))
        .args(args)
        .output()
        .expect("the hesse binary runs")
}

const F: &str = "x^2 + 10*y^2";

fn run_json(extra: &[&str]) -> Value {
    let mut args = vec!["minimize", F, "--start", "x=1,y=1", "--gtol", "0", "--json"];
    args.extend_from_slice(extra);
    let o = hesse(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn xy(v: &Value) -> (f64, f64) {
    (v["x"]["x"].as_f64().unwrap(), v["x"]["y"].as_f64().unwrap())
}

#[test]
fn momentum_three_steps_by_hand() {
    // g = (2, 20): v = (−0.02, −0.2), θ = (0.98, 0.8);
    // g = (1.96, 16): v = (−0.0376, −0.34), θ = (0.9424, 0.46);
    // g = (1.8848, 9.2): v = (−0.052688, −0.398), θ = (0.889712, 0.062).
    let v = run_json(&[
        "--method",
        "momentum",
        "--lr",
        "0.01",
        "--momentum",
        "0.9",
        "--max-iter",
        "3",
    ]);
    let (x, y) = xy(&v);
    assert!(
        (x - 0.889712).abs() < 1e-14 && (y - 0.062).abs() < 1e-14,
        "{x}, {y}"
    );
    assert_eq!(v["method"], "momentum");
    assert_eq!(v["iterations"], 3);
    assert_eq!(v["termination"], "max_iterations");
    assert_eq!(v["g_evals"], 4);
}

#[test]
fn nesterov_evaluates_at_the_interim_point() {
    // θ̃ = θ + αv each step; two gradients per step (θ̃ for the rule, θ for
    // the stopping test). Expected from a separate transcription of alg. 8.3.
    let v = run_json(&[
        "--method",
        "nesterov",
        "--lr",
        "0.01",
        "--momentum",
        "0.9",
        "--max-iter",
        "3",
    ]);
    let (x, y) = xy(&v);
    assert!((x - 0.89105912).abs() < 1e-14, "{x}");
    assert!((y - 0.17791999999999997).abs() < 1e-14, "{y}");
    assert_eq!(v["g_evals"], 7);
}

#[test]
fn sgd_and_adam_with_schedules() {
    // SGD, ε_k = 0.1/(1 + k): x ← (1 − 2ε_k) x, y ← (1 − 20ε_k) y.
    let v = run_json(&[
        "--method",
        "sgd",
        "--lr",
        "0.1",
        "--schedule",
        "inverse-time:decay=1",
        "--max-iter",
        "2",
    ]);
    let (x, y) = xy(&v);
    // y: (1 − 2)·1 = −1, then (1 − 1)·(−1) = 0.
    assert!((x - 0.8 * 0.9).abs() < 1e-15 && y.abs() < 1e-15, "{x}, {y}");
    // Adam, ε_k linear from 0.1 to 0.05 at τ = 2.
    let v = run_json(&[
        "--method",
        "adam",
        "--lr",
        "0.1",
        "--schedule",
        "linear:tau=2,final=0.5",
        "--max-iter",
        "3",
    ]);
    let (x, y) = xy(&v);
    assert!((x - 0.7757955979527849).abs() < 1e-12, "{x}");
    assert!((y - 0.7757955969101059).abs() < 1e-12, "{y}");
}

#[test]
fn clipping_and_averaging_flags() {
    // g = (2, 20) clipped to norm 1 keeps its direction: θ = (1, 1) − 0.1 g/‖g‖.
    let v = run_json(&[
        "--method",
        "sgd",
        "--lr",
        "0.1",
        "--clip-norm",
        "1",
        "--max-iter",
        "1",
    ]);
    let (x, y) = xy(&v);
    let n = 2f64.hypot(20.0);
    assert!((x - (1.0 - 0.2 / n)).abs() < 1e-15 && (y - (1.0 - 2.0 / n)).abs() < 1e-15);
    // By value: (2, 20) → (1, 1).
    let v = run_json(&[
        "--method",
        "sgd",
        "--lr",
        "0.1",
        "--clip-value",
        "1",
        "--max-iter",
        "1",
    ]);
    assert_eq!(xy(&v), (0.9, 0.9));
    // Polyak: SGD iterates x_k = 0.98ᵏ, y_k = 0.8ᵏ, k = 1..3, reported at their mean.
    let v = run_json(&[
        "--method",
        "sgd",
        "--lr",
        "0.01",
        "--average",
        "polyak",
        "--max-iter",
        "3",
    ]);
    let (x, y) = xy(&v);
    let mean = |r: f64| (r + r * r + r * r * r) / 3.0;
    assert!(
        (x - mean(0.98)).abs() < 1e-15 && (y - mean(0.8)).abs() < 1e-15,
        "{x}, {y}"
    );
    assert_eq!(v["g_evals"], 5); // start, 3 steps, the average
}

#[test]
fn every_baseline_runs_and_makes_max_iter_steps() {
    for m in [
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "rmsprop-nesterov",
        "adam",
        "adadelta",
    ] {
        let v = run_json(&["--method", m, "--max-iter", "25"]);
        assert_eq!(v["method"], m);
        assert_eq!(v["iterations"], 25, "{m}");
    }
}

#[test]
fn coordinate_descent_solves_a_separable_quadratic_in_one_cycle() {
    // With --gtol 0 it cycles until --max-iter; the first cycle already
    // lands on the minimizer (exact 1-D minimizations of a separable f).
    let v = run_json(&["--method", "coordinate-descent", "--max-iter", "1"]);
    let (x, y) = xy(&v);
    assert_eq!(v["iterations"], 1);
    assert!(x.abs() < 1e-12 && y.abs() < 1e-12, "{x}, {y}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--method", "sgd", "--lr", "0"],
            "learning rate must be finite and > 0",
        ),
        (&["--method", "adam", "--lr", "-0.1"], "learning rate"),
        (
            &["--method", "rmsprop", "--rho", "1"],
            "rho = 1: must be in [0, 1)",
        ),
        (
            &["--method", "adadelta", "--rho", "-0.5"],
            "must be in [0, 1)",
        ),
        (&["--method", "momentum", "--momentum", "1.5"], "momentum"),
        (&["--method", "adam", "--beta2", "1"], "beta2"),
        (&["--method", "adamw"], "a similar value exists: 'adam'"),
        (
            &["--method", "sgd", "--schedule", "sawtooth"],
            "unknown schedule",
        ),
        (&["--method", "sgd", "--schedule", "linear:tau=0"], "tau"),
        // A parameter given twice was taken silently (the first one won).
        (
            &["--method", "sgd", "--schedule", "linear:tau=5,tau=6"],
            "('tau'): a parameter is given twice",
        ),
        (
            &[
                "--method",
                "adam",
                "--schedule",
                "step:gamma=0.5,every=3,gamma=0.1",
            ],
            "('gamma'): a parameter is given twice",
        ),
        (
            &["--method", "adam", "--momentum", "0.9"],
            "--momentum does not apply to method adam",
        ),
        (
            &["--method", "bfgs", "--lr", "0.1"],
            "--lr does not apply to method bfgs",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["minimize", F, "--start", "x=1,y=1"];
        args.extend_from_slice(extra);
        let o = hesse(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: {err}");
    }
}
