//! Levenberg-Marquardt on the 35 Moré-Garbow-Hillstrom problems (residual
//! form, exact Jacobians) from the 1×, 10× and 100× starts under the MGH
//! protocol of `tests/mgh_protocol.rs` (at most 20000 iterations; solved
//! means `f − f* ≤ max(1e-6·|f*|, 1e-10)`): solved counts and evaluation
//! totals, MINPACK's method, with geodesic acceleration, and with `D = I`.
//!
//! The table: `cargo run --release --example mgh_lm`.
//!
//! # Against MINPACK
//!
//! Issue 5 quotes scipy's `least_squares` on a 32-problem harness: `lm`
//! (MINPACK's `lmder`) 31, 24, 24 and `trf` 31, 26, 26. Measured on the
//! same 35 functions and starts as here (`scripts/scipy_mgh_lm.py`, exact
//! Jacobians, tolerances `1e-15`, `max_nfev` 100000), in
//! `tests/data/scipy_mgh_lm.txt`: `lm` 33, 25, 23 and `trf` 33, 27, 26.
//! Ours with MINPACK's method: 33, 25, 24.
//!
//! Per problem it solves every run `lm` solves, and Gaussian at 100×
//! besides. That one is rounding, not method: both reach a plateau
//! `f = 0.28113` where each step reduces `f` by about `3·10⁻¹⁵` relative,
//! against `ftol = 10⁻¹⁵`; `lmder`'s rounding passes the `ftol` test after
//! 42 Jacobians, ours stays just above it and crawls off the plateau in
//! 1594 (121 with geodesic acceleration). Meyer at 10× takes both about
//! 1450 Jacobians (1439 and 1482): with the former 1000-iteration limit
//! ours stopped short of it.
//!
//! `trf` (with its default `x_scale = 1`, i.e. `D = I`) solves six runs
//! that `lm` does not: Powell badly scaled and Box at 10×, Chebyquad at 10×
//! and 100×, Beale and Gaussian at 100× (and misses Osborne 1 at 10×). Ours
//! with [`Scaling::Identity`] and the initial step bound factor 0.1: 33,
//! 30, 27, all of those but Beale, every run `lm` solves (Meyer at 100×
//! only just: 19862 Jacobians), and Bard (10×, 100×), Kowalik-Osborne
//! (10×) and Trigonometric (100×, at `f ≈ 0`, a minimum below the tabulated
//! `f*`) that neither solves.

use hesse::newton::{LevenbergMarquardt, Scaling};
use hesse::problems::mgh::{self, Mgh};

const SCALES: [f64; 3] = [1.0, 10.0, 100.0];

/// The MGH protocol's iteration limit.
const MAX_ITER: u64 = 20000;

/// `f*` from [`Mgh::f_star`]: refined past the paper's six truncated digits
/// at the standard sizes (GSL's test suite agrees to 12 digits or more).
fn f_star(p: &Mgh) -> f64 {
    p.f_star().expect("every standard-size problem has f*")
}

/// A run: problem id and scale index.
type RunId = (usize, usize);

/// Solved counts and (residual, Jacobian) evaluation totals per scale, and
/// the runs solved.
fn run(solver: &LevenbergMarquardt) -> ([(usize, u64, u64); 3], Vec<RunId>) {
    let solver = solver.clone().with_max_iter(MAX_ITER);
    let mut totals = [(0, 0, 0); 3];
    let mut solved = Vec::new();
    for p in mgh::all() {
        for (k, s) in SCALES.into_iter().enumerate() {
            let r = solver.minimize(&p, &p.start_scaled(s)).unwrap();
            let f_star = f_star(&p);
            if r.f - f_star <= (1e-6 * f_star.abs()).max(1e-10) {
                totals[k].0 += 1;
                solved.push((p.id(), k));
            }
            totals[k].1 += r.evals.f;
            totals[k].2 += r.evals.g;
        }
    }
    (totals, solved)
}

/// The runs scipy's `method` (`lm` or `trf`) solves, from
/// `tests/data/scipy_mgh_lm.txt`.
fn scipy_solved(method: &str) -> Vec<RunId> {
    include_str!("data/scipy_mgh_lm.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let t: Vec<&str> = line.split_whitespace().collect();
            let scale: f64 = t[2].parse().unwrap();
            let k = SCALES.iter().position(|&s| s == scale).unwrap();
            (t[0] == method && t[3] == "1").then(|| (t[1].parse().unwrap(), k))
        })
        .collect()
}

/// scipy's solved counts per scale.
fn scipy_counts(method: &str) -> [usize; 3] {
    let mut counts = [0; 3];
    for (_, k) in scipy_solved(method) {
        counts[k] += 1;
    }
    counts
}

/// The runs in `theirs` that are not in `ours`.
fn missed(ours: &[RunId], theirs: &[RunId]) -> Vec<RunId> {
    theirs
        .iter()
        .filter(|r| !ours.contains(r))
        .copied()
        .collect()
}

/// Counts measured at the commit that set them; evaluation totals may grow
/// by at most 20%.
fn check(got: [(usize, u64, u64); 3], want: [(usize, u64, u64); 3]) {
    for k in 0..3 {
        assert!(got[k].0 >= want[k].0, "scale {k}: {got:?} vs {want:?}");
        assert!(
            got[k].1 <= want[k].1 * 6 / 5,
            "scale {k}: {got:?} vs {want:?}"
        );
        assert!(
            got[k].2 <= want[k].2 * 6 / 5,
            "scale {k}: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn scipy_reference_counts() {
    // The file is the one the module docs describe.
    assert_eq!(scipy_counts("lm"), [33, 25, 23]);
    assert_eq!(scipy_counts("trf"), [33, 27, 26]);
}

#[test]
fn minpack_style_counts() {
    let (got, solved) = run(&LevenbergMarquardt::default());
    // Every run MINPACK solves on the same problems, so at least its counts.
    assert_eq!(missed(&solved, &scipy_solved("lm")), vec![]);
    let lm = scipy_counts("lm");
    for k in 0..3 {
        assert!(got[k].0 >= lm[k], "scale {k}: {got:?} vs lm {lm:?}");
    }
    // 24 at 100× includes Gaussian, which the ftol test's rounding decides
    // (module docs): a change of rounding may cost it.
    check(
        got,
        [(33, 1502, 1241), (25, 47338, 44094), (24, 27976, 25534)],
    );
}

#[test]
fn geodesic_acceleration_counts() {
    let (got, _) = run(&LevenbergMarquardt::default().with_geodesic_acceleration(Some(0.75)));
    check(
        got,
        [(33, 2527, 1050), (25, 72079, 32196), (24, 47221, 21802)],
    );
}

#[test]
fn identity_scaling_counts() {
    let (got, solved) = run(&LevenbergMarquardt::default()
        .with_scaling(Scaling::Identity)
        .with_step_bound(0.1));
    // Every run trf solves but Beale (id 5) at 100×, and at least trf's
    // and lm's counts at every scale. Meyer (id 10) at 100× is solved too,
    // but in 19862 of the 20000 iterations (its parameters differ in
    // magnitude by 10⁶, which D = I ignores; 252 with the default D), so
    // the test does not count on it: 26 at 100×, not the measured 27.
    let missed_trf = missed(&solved, &scipy_solved("trf"));
    assert!(
        missed_trf.iter().all(|r| [(5, 2), (10, 2)].contains(r)),
        "{missed_trf:?}"
    );
    let (lm, trf) = (scipy_counts("lm"), scipy_counts("trf"));
    for k in 0..3 {
        assert!(
            got[k].0 >= lm[k].max(trf[k]),
            "scale {k}: {got:?} vs lm {lm:?}, trf {trf:?}"
        );
    }
    check(got, [(33, 1095, 899), (30, 4400, 3726), (26, 66110, 63785)]);
}

#[test]
fn invalid_alpha_is_an_error() {
    let p = Mgh::from_id(1).unwrap();
    for alpha in [0.0, -1.0, f64::NAN] {
        let solver = LevenbergMarquardt::default().with_geodesic_acceleration(Some(alpha));
        assert!(solver.minimize(&p, &p.start()).is_err(), "{alpha}");
    }
}

#[test]
fn invalid_scaling_is_an_error() {
    let p = Mgh::from_id(1).unwrap(); // n = 2
    for d in [
        vec![1.0],
        vec![1.0, 0.0],
        vec![1.0, -2.0],
        vec![f64::NAN, 1.0],
    ] {
        let solver = LevenbergMarquardt::default().with_scaling(Scaling::Diagonal(d.clone()));
        assert!(solver.minimize(&p, &p.start()).is_err(), "{d:?}");
    }
}

/// A fixed `D` (MINPACK's `mode = 2`) equal to `I` is [`Scaling::Identity`],
/// and a fixed `D` solves Rosenbrock too.
#[test]
fn fixed_diagonal_scaling() {
    let p = Mgh::from_id(1).unwrap();
    let x0 = p.start_scaled(10.0);
    let id = LevenbergMarquardt::default().with_scaling(Scaling::Identity);
    let a = id.minimize(&p, &x0).unwrap();
    let b = LevenbergMarquardt::default()
        .with_scaling(Scaling::Diagonal(vec![1.0, 1.0]))
        .minimize(&p, &x0)
        .unwrap();
    assert_eq!(a.x, b.x);
    assert_eq!(a.evals, b.evals);
    let c = LevenbergMarquardt::default()
        .with_scaling(Scaling::Diagonal(vec![10.0, 0.1]))
        .minimize(&p, &x0)
        .unwrap();
    assert!(c.f < 1e-20, "{}", c.f);
    assert!((c.x[0] - 1.0).abs() < 1e-10 && (c.x[1] - 1.0).abs() < 1e-10);
}
