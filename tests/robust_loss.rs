//! Robust losses in `LevenbergMarquardt` (issue 21): a decaying exponential
//! `y = a exp(−b t) + c` sampled with Gaussian noise and 10% gross outliers
//! (seeded ChaCha8, stored in `tests/data/robust_exp.csv`), fitted with each
//! loss. Checks that every robust loss lands far closer to the truth than
//! least squares, and that each agrees with scipy's
//! `least_squares(method='trf', loss=..., f_scale=...)` to 1e-6 relative
//! (figures in `tests/data/scipy_robust.txt`, made by
//! `scripts/scipy_robust.py`).
//!
//! Print the table with
//! `cargo test --release --test robust_loss -- --nocapture --test-threads=1`.
//! Rewrite the CSV from the generator with
//! `HESSE_WRITE_ROBUST_DATA=1 cargo test --release --test robust_loss data_file`.

use hesse::newton::{LevenbergMarquardt, RobustLoss};
use hesse::problem::{FnResiduals, Residuals};
use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/robust_exp.csv");
const SCIPY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/scipy_robust.txt");

/// The truth `(a, b, c)`.
const TRUTH: [f64; 3] = [3.0, 0.7, 0.5];
/// The start of every fit (scipy's too).
const START: [f64; 3] = [1.0, 1.0, 0.0];
/// The start of the bounded fits (scipy wants it inside the box).
const START_BOUNDED: [f64; 3] = [1.0, 0.5, 0.0];
/// The loss scale: twice the noise's standard deviation.
const F_SCALE: f64 = 0.1;
/// Bounds of the bounded robust run: `b ≤ 0.6` cuts the truth off.
const BOUNDED: ([f64; 3], [f64; 3]) = ([0.0, 0.0, -1.0], [10.0, 0.6, 1.0]);

const LOSSES: [RobustLoss; 5] = [
    RobustLoss::Linear,
    RobustLoss::SoftL1,
    RobustLoss::Huber,
    RobustLoss::Cauchy,
    RobustLoss::Arctan,
];

/// 100 points on `t ∈ [0, 10]`, noise `N(0, 0.05²)` (Box-Muller), and 10
/// distinct points (a partial Fisher-Yates draw) moved by `±U(1, 4)`.
fn generate() -> (Vec<f64>, Vec<f64>) {
    let m = 100;
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let t: Vec<f64> = (0..m).map(|i| 10.0 * i as f64 / (m - 1) as f64).collect();
    let mut y: Vec<f64> = t
        .iter()
        .map(|&t| {
            let u1: f64 = rng.random_range(f64::EPSILON..1.0);
            let u2: f64 = rng.random_range(0.0..1.0);
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            TRUTH[0] * (-TRUTH[1] * t).exp() + TRUTH[2] + 0.05 * z
        })
        .collect();
    let mut idx: Vec<usize> = (0..m).collect();
    for k in 0..m / 10 {
        let pick = rng.random_range(k..m);
        idx.swap(k, pick);
        let sign = if rng.random_range(0.0..1.0) < 0.5 {
            -1.0
        } else {
            1.0
        };
        y[idx[k]] += sign * rng.random_range(1.0..4.0);
    }
    (t, y)
}

fn read_data() -> (Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(DATA).unwrap();
    let mut t = Vec::new();
    let mut y = Vec::new();
    for line in text.lines().skip(1) {
        let mut it = line.split(',');
        t.push(it.next().unwrap().parse().unwrap());
        y.push(it.next().unwrap().parse().unwrap());
    }
    (t, y)
}

fn problem(t: Vec<f64>, y: Vec<f64>) -> impl Residuals {
    let m = t.len();
    let t2 = t.clone();
    FnResiduals::new(
        3,
        m,
        move |x: &[f64], r: &mut [f64]| {
            for i in 0..m {
                r[i] = x[0] * (-x[1] * t[i]).exp() + x[2] - y[i];
            }
        },
        move |x: &[f64], j: &mut DMatrix<f64>| {
            for i in 0..m {
                let e = (-x[1] * t2[i]).exp();
                j[(i, 0)] = e;
                j[(i, 1)] = -x[0] * t2[i] * e;
                j[(i, 2)] = 1.0;
            }
        },
    )
}

/// scipy's runs: `loss bounded a b c cost2` per line.
fn scipy() -> Vec<(String, bool, [f64; 3], f64)> {
    std::fs::read_to_string(SCIPY)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("se ") && !l.starts_with("t975"))
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let v = |k: usize| f[k].parse::<f64>().unwrap();
            (f[0].to_string(), f[1] == "1", [v(2), v(3), v(4)], v(5))
        })
        .collect()
}

fn solver(loss: RobustLoss, bounded: bool) -> LevenbergMarquardt {
    let lm = LevenbergMarquardt::default()
        .with_loss(loss)
        .with_f_scale(F_SCALE);
    if bounded {
        lm.with_bounds(BOUNDED.0.to_vec(), BOUNDED.1.to_vec())
    } else {
        lm
    }
}

/// The largest relative error of `x` against `reference`.
fn rel_err(x: &[f64], reference: &[f64]) -> f64 {
    x.iter()
        .zip(reference)
        .map(|(a, b)| ((a - b) / b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn data_file_matches_the_seeded_generator() {
    let (t, y) = generate();
    if std::env::var_os("HESSE_WRITE_ROBUST_DATA").is_some() {
        let mut s = String::from("t,y\n");
        for (t, y) in t.iter().zip(&y) {
            s.push_str(&format!("{t:?},{y:?}\n"));
        }
        std::fs::write(DATA, s).unwrap();
    }
    let (t_file, y_file) = read_data();
    assert_eq!(t, t_file);
    assert_eq!(y, y_file);
    // 10% of the points are gross outliers (more than 20 noise sd off).
    let outliers = t
        .iter()
        .zip(&y)
        .filter(|&(&t, &y)| (y - TRUTH[0] * (-TRUTH[1] * t).exp() - TRUTH[2]).abs() > 1.0)
        .count();
    assert_eq!(outliers, 10);
}

#[test]
fn robust_losses_beat_least_squares_and_match_scipy() {
    let (t, y) = read_data();
    let p = problem(t, y);
    let reference = scipy();
    let mut linear_err = f64::NAN;
    println!(
        "loss      bounded  error vs truth   rel. diff. to scipy   F/2 (scipy cost)   f_evals"
    );
    for bounded in [false, true] {
        for loss in LOSSES {
            let x0 = if bounded { START_BOUNDED } else { START };
            let report = solver(loss, bounded).minimize(&p, &x0).unwrap();
            assert!(report.converged(), "{loss:?}: {report}");
            let (_, _, x_sp, cost2) = reference
                .iter()
                .find(|(name, b, _, _)| name == loss.as_str() && *b == bounded)
                .unwrap_or_else(|| panic!("no scipy figure for {loss:?} bounded={bounded}"));
            let err = rel_err(&report.x, &TRUTH);
            let diff = rel_err(&report.x, x_sp);
            println!(
                "{:9} {:7}  {:14.3e}   {:19.3e}   {:16.10e}   {}",
                loss.as_str(),
                bounded,
                err,
                diff,
                0.5 * report.f,
                report.evals.f
            );
            assert!(
                diff < 1e-6,
                "{loss:?} bounded={bounded}: {:?} vs scipy {x_sp:?}",
                report.x
            );
            assert!(
                ((report.f - cost2) / cost2).abs() < 1e-10,
                "{loss:?}: F = {} vs scipy {cost2}",
                report.f
            );
            if bounded {
                assert!(
                    report.x[1] == BOUNDED.1[1],
                    "b stays on its bound: {:?}",
                    report.x
                );
                continue;
            }
            if loss == RobustLoss::Linear {
                linear_err = err;
            } else {
                assert!(
                    err < 0.2 * linear_err,
                    "{loss:?}: error {err:.3e} vs least squares {linear_err:.3e}"
                );
            }
        }
    }
}

/// Standard errors under a robust loss are scipy `curve_fit`'s: `F/(m − n)`
/// times `(J̃ᵀJ̃)⁻¹`; with the outliers given zero weight they are near the
/// standard errors of least squares on the 90 clean points.
#[test]
fn robust_standard_errors_are_near_those_of_the_clean_fit() {
    let (t, y) = read_data();
    let clean: (Vec<f64>, Vec<f64>) = t
        .iter()
        .zip(&y)
        .filter(|&(&t, &y)| (y - TRUTH[0] * (-TRUTH[1] * t).exp() - TRUTH[2]).abs() <= 1.0)
        .map(|(a, b)| (*a, *b))
        .unzip();
    let clean_fit = LevenbergMarquardt::default()
        .fit(&problem(clean.0, clean.1), &START)
        .unwrap();
    let fit = solver(RobustLoss::Arctan, false)
        .fit(&problem(t, y), &START)
        .unwrap();
    for j in 0..3 {
        let (a, b) = (
            fit.statistics.std_errors[j],
            clean_fit.statistics.std_errors[j],
        );
        assert!(
            a.is_finite() && (a / b - 1.0).abs() < 0.5,
            "{j}: {a} vs {b}"
        );
    }
}

/// scipy `curve_fit(loss=..., f_scale=0.1)`'s standard errors per loss.
fn scipy_std_errors(loss: RobustLoss) -> [f64; 3] {
    let text = std::fs::read_to_string(SCIPY).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("se {} ", loss.as_str())))
        .unwrap_or_else(|| panic!("no se line for {loss:?}"));
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(2)
        .map(|t| t.parse().unwrap())
        .collect();
    [v[0], v[1], v[2]]
}

/// `LevenbergMarquardt::fit` under each loss reports curve_fit's standard
/// errors (`F/(m − n) · (J̃ᵀJ̃)⁻¹`) to 1e-6 relative.
#[test]
fn standard_errors_match_scipy_curve_fit() {
    let (t, y) = read_data();
    let p = problem(t, y);
    for loss in LOSSES {
        let fit = solver(loss, false).fit(&p, &START).unwrap();
        let se = scipy_std_errors(loss);
        let diff = rel_err(&fit.statistics.std_errors, &se);
        println!(
            "{:9} std errors {:?}, rel. diff. to curve_fit {diff:.2e}",
            loss.as_str(),
            fit.statistics.std_errors
        );
        assert!(
            diff < 1e-6,
            "{loss:?}: {:?} vs {se:?}",
            fit.statistics.std_errors
        );
    }
}
