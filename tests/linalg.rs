//! Integration tests for `hesse::linalg`: the defining identity of each
//! factorization on seeded random matrices over many sizes (0 and 1 included),
//! and the convergence guarantees of the Krylov solvers.
//!
//! Tolerances are backward-error bounds `c · n · ε · ‖A‖` with a small constant
//! `c`; forward errors of solves are checked against `c · n · ε · κ(A)`.

use hesse::linalg::{
    CgOutcome, Cholesky, ConjugateGradient, Diagonal, FnOperator, HessianOperator, Inertia,
    Lanczos, Ldlt, LinalgError, LinearOperator, ModifiedCholesky, Qr, Reorthogonalization,
    SteihaugCg, SteihaugOutcome, SymmetricEigen, dot, norm2,
};
use hesse::problem::{Counted, FnGradient, HessVec};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const EPS: f64 = f64::EPSILON;
const SIZES: [usize; 8] = [0, 1, 2, 3, 7, 16, 53, 130];

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn random_matrix(m: usize, n: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    DMatrix::from_fn(m, n, |_, _| rng.random_range(-1.0..1.0))
}

fn random_vector(n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// A random orthogonal matrix (nalgebra's QR of a random matrix, independent of ours).
fn random_orthogonal(n: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    if n == 0 {
        return DMatrix::zeros(0, 0);
    }
    random_matrix(n, n, rng).qr().q()
}

/// `Q diag(λ) Qᵀ` with a random orthogonal `Q`: a symmetric matrix of known spectrum.
fn with_spectrum(lambda: &[f64], rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    let n = lambda.len();
    let q = random_orthogonal(n, rng);
    let a = &q * DMatrix::from_diagonal(&DVector::from_column_slice(lambda)) * q.transpose();
    // Exact symmetry (the product is symmetric only to rounding).
    (&a + a.transpose()) * 0.5
}

/// Eigenvalues log-spaced in `[1, cond]`.
fn spd(n: usize, cond: f64, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    let lambda: Vec<f64> = (0..n)
        .map(|i| {
            cond.powf(if n > 1 {
                i as f64 / (n - 1) as f64
            } else {
                0.0
            })
        })
        .collect();
    with_spectrum(&lambda, rng)
}

fn rel(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    (a - b).norm() / b.norm().max(f64::MIN_POSITIVE)
}

fn matvec(a: &DMatrix<f64>, x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.nrows()];
    a.apply(x, &mut out);
    out
}

fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

// ---------------------------------------------------------------------------
// Cholesky
// ---------------------------------------------------------------------------

#[test]
fn cholesky_llt_equals_a_and_solves_accurately() {
    let mut r = rng(1);
    for &n in &SIZES {
        let cond = 1e4;
        let a = spd(n, cond, &mut r);
        let chol = Cholesky::new(&a).unwrap();
        let l = chol.l();
        let nf = n.max(1) as f64;
        assert!(
            rel(&(&l * l.transpose()), &a) <= 10.0 * nf * EPS || n == 0,
            "n = {n}"
        );
        for j in 0..n {
            for i in 0..j {
                assert_eq!(l[(i, j)], 0.0);
            }
        }
        // Forward error of A x = b against a known x: ≤ c n ε κ.
        let x_true = random_vector(n, &mut r);
        let b = matvec(&a, &x_true);
        let x = chol.solve(&b).unwrap();
        let err = norm2(&sub(&x, &x_true)) / norm2(&x_true).max(f64::MIN_POSITIVE);
        assert!(
            err <= 10.0 * nf * EPS * cond,
            "n = {n}: forward error {err:e}"
        );
        // Several right-hand sides at once agree with one-by-one solves.
        let mut bm = random_matrix(n, 3, &mut r);
        let b0: Vec<f64> = bm.column(0).iter().copied().collect();
        chol.solve_matrix_mut(&mut bm).unwrap();
        let x0 = chol.solve(&b0).unwrap();
        for i in 0..n {
            assert!((bm[(i, 0)] - x0[i]).abs() <= 1e-12 * (1.0 + x0[i].abs()));
        }
    }
}

#[test]
fn cholesky_names_the_failing_pivot() {
    let a = DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 2.0, -1.0, 3.0]));
    assert_eq!(
        Cholesky::new(&a).unwrap_err(),
        LinalgError::NotPositiveDefinite { index: 2 }
    );
    // A zero pivot is not positive either.
    let a = DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 0.0]));
    assert_eq!(
        Cholesky::new(&a).unwrap_err(),
        LinalgError::NotPositiveDefinite { index: 1 }
    );
}

#[test]
fn cholesky_reads_only_the_lower_triangle_and_reuses_its_workspace() {
    let mut r = rng(2);
    let a = spd(20, 10.0, &mut r);
    let mut lower_only = a.clone();
    lower_only.fill_upper_triangle(f64::NAN, 1);
    let mut chol = Cholesky::with_dim(20);
    chol.factor(&lower_only).unwrap();
    let l1 = chol.l();
    assert!(rel(&(&l1 * l1.transpose()), &a) < 1e-13);
    // Second matrix, same workspace.
    let a2 = spd(20, 100.0, &mut r);
    chol.factor(&a2).unwrap();
    let l2 = chol.l();
    assert!(rel(&(&l2 * l2.transpose()), &a2) < 1e-13);
    // In-place variant.
    chol.matrix_mut().copy_from(&a);
    chol.factor_in_place().unwrap();
    assert_eq!(chol.l(), l1);
    // Log-determinant.
    let det: f64 = a.determinant();
    chol.factor(&a).unwrap();
    assert!((chol.log_det() - det.ln()).abs() < 1e-10);
}

// ---------------------------------------------------------------------------
// Modified Cholesky
// ---------------------------------------------------------------------------

#[test]
fn modified_cholesky_shifts_indefinite_matrices_past_lambda_min() {
    let mut r = rng(3);
    let mut total_extra = 0;
    for (k, &n) in [1usize, 2, 5, 10, 40, 100].iter().enumerate() {
        // Spectrum in [−3, 5] with at least one negative eigenvalue.
        let mut lambda: Vec<f64> = (0..n).map(|_| r.random_range(-3.0..5.0)).collect();
        lambda[k % n] = -2.0;
        let a = with_spectrum(&lambda, &mut r);
        let lambda_min = lambda.iter().copied().fold(f64::INFINITY, f64::min);
        let mc = ModifiedCholesky::new(&a).unwrap();
        let info = mc.info();
        assert!(
            info.tau >= -lambda_min,
            "n = {n}: tau {} < {}",
            info.tau,
            -lambda_min
        );
        assert!(
            info.factorizations >= 1 && info.factorizations <= 12,
            "{info:?}"
        );
        total_extra += info.factorizations - 1;
        let shifted = &a + DMatrix::identity(n, n) * info.tau;
        let l = mc.cholesky().l();
        assert!(rel(&(&l * l.transpose()), &shifted) < 100.0 * n as f64 * EPS);
        // The shift is not wildly larger than needed: τ_k doubles, so τ < 2 (−λ_min) + ‖A‖_F-ish.
        assert!(info.tau <= 2.0 * (-lambda_min) + 2.0 * a.norm(), "{info:?}");
    }
    assert!(total_extra > 0);
}

#[test]
fn modified_cholesky_leaves_positive_definite_matrices_alone() {
    let mut r = rng(4);
    for &n in &[0usize, 1, 4, 30] {
        let a = spd(n, 1e3, &mut r);
        let mc = ModifiedCholesky::new(&a).unwrap();
        assert_eq!(mc.info().tau, 0.0);
        assert_eq!(mc.info().factorizations, 1);
        let x_true = random_vector(n, &mut r);
        let x = mc.solve(&matvec(&a, &x_true)).unwrap();
        assert!(norm2(&sub(&x, &x_true)) <= 1e-10 * (1.0 + norm2(&x_true)));
    }
}

#[test]
fn modified_cholesky_rejects_nan() {
    let mut a = DMatrix::identity(3, 3);
    a[(2, 0)] = f64::NAN;
    assert!(matches!(
        ModifiedCholesky::new(&a),
        Err(LinalgError::NonFinite { what: "a", .. })
    ));
}

// ---------------------------------------------------------------------------
// LDLᵀ (Bunch-Kaufman)
// ---------------------------------------------------------------------------

#[test]
fn ldlt_gives_the_inertia_of_indefinite_matrices() {
    let mut r = rng(5);
    for &(p, q, z) in &[
        (1, 0, 0),
        (0, 1, 0),
        (0, 0, 1),
        (2, 1, 0),
        (3, 3, 0),
        (10, 5, 2),
        (20, 30, 3),
        (1, 60, 0),
    ] {
        let mut lambda = Vec::new();
        lambda.extend((0..p).map(|_| r.random_range(0.1..4.0)));
        lambda.extend((0..q).map(|_| -r.random_range(0.1..4.0)));
        lambda.extend(std::iter::repeat_n(0.0, z));
        let a = with_spectrum(&lambda, &mut r);
        let ldlt = Ldlt::new(&a).unwrap();
        assert_eq!(
            ldlt.inertia(),
            Inertia {
                positive: p,
                negative: q,
                zero: z
            },
            "spectrum ({p}, {q}, {z})"
        );
    }
}

#[test]
fn ldlt_reconstructs_and_solves() {
    let mut r = rng(6);
    for &n in &SIZES {
        let lambda: Vec<f64> = (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    1.0 + i as f64
                } else {
                    -1.0 - i as f64
                }
            })
            .collect();
        let a = with_spectrum(&lambda, &mut r);
        let mut ldlt = Ldlt::new(&a).unwrap();
        // P A Pᵀ = L D Lᵀ with (P A Pᵀ)_ij = A[perm[i], perm[j]].
        let l = ldlt.l();
        let mut d = DMatrix::from_diagonal(&DVector::from_vec(ldlt.d_diagonal()));
        for i in 0..n.saturating_sub(1) {
            d[(i + 1, i)] = ldlt.d_subdiagonal()[i];
            d[(i, i + 1)] = ldlt.d_subdiagonal()[i];
        }
        let perm = ldlt.perm().to_vec();
        let pap = DMatrix::from_fn(n, n, |i, j| a[(perm[i], perm[j])]);
        if n > 0 {
            assert!(
                rel(&(&l * &d * l.transpose()), &pap) < 100.0 * n as f64 * EPS,
                "n = {n}"
            );
        }
        let x_true = random_vector(n, &mut r);
        let mut x = matvec(&a, &x_true);
        ldlt.solve_mut(&mut x).unwrap();
        // κ(A) = n here.
        assert!(
            norm2(&sub(&x, &x_true))
                <= 100.0 * (n * n).max(1) as f64 * EPS * (1.0 + norm2(&x_true))
        );
    }
}

#[test]
fn ldlt_solve_reports_singularity() {
    let a = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
    let mut ldlt = Ldlt::new(&a).unwrap();
    assert_eq!(
        ldlt.inertia(),
        Inertia {
            positive: 1,
            negative: 0,
            zero: 1
        }
    );
    assert!(matches!(
        ldlt.solve_mut(&mut [1.0, 1.0]),
        Err(LinalgError::Singular { .. })
    ));
}

// ---------------------------------------------------------------------------
// QR
// ---------------------------------------------------------------------------

#[test]
fn qr_is_orthogonal_times_upper_triangular() {
    let mut r = rng(7);
    let shapes = [
        (0, 0),
        (1, 1),
        (3, 1),
        (1, 3),
        (5, 3),
        (3, 5),
        (40, 40),
        (130, 30),
        (30, 130),
    ];
    for &(m, n) in &shapes {
        let a = random_matrix(m, n, &mut r);
        for pivoted in [false, true] {
            let mut qr = if pivoted {
                Qr::new_pivoted(&a)
            } else {
                Qr::new(&a)
            }
            .unwrap();
            let q = qr.q_thin();
            let rr = qr.r();
            let k = m.min(n);
            assert_eq!(q.shape(), (m, k));
            assert_eq!(rr.shape(), (k, n));
            let perm = qr.perm().to_vec();
            let ap = DMatrix::from_fn(m, n, |i, j| a[(i, perm[j])]);
            if m * n > 0 {
                assert!(
                    rel(&(&q * &rr), &ap) < 20.0 * m.max(n) as f64 * EPS,
                    "({m}, {n}) pivoted {pivoted}"
                );
                let qtq = q.transpose() * &q;
                assert!(rel(&qtq, &DMatrix::identity(k, k)) < 20.0 * m as f64 * EPS);
            }
            for j in 0..n {
                for i in j + 1..k {
                    assert_eq!(rr[(i, j)], 0.0);
                }
            }
            if pivoted {
                for i in 1..k {
                    assert!(rr[(i, i)].abs() <= rr[(i - 1, i - 1)].abs() * (1.0 + 1e-12));
                }
            }
            // Q (Qᵀ b) = b.
            let b = random_vector(m, &mut r);
            let mut c = b.clone();
            qr.apply_qt_mut(&mut c).unwrap();
            assert!((norm2(&c) - norm2(&b)).abs() < 1e-12 * (1.0 + norm2(&b)));
            qr.apply_q_mut(&mut c).unwrap();
            assert!(norm2(&sub(&c, &b)) < 1e-12 * (1.0 + norm2(&b)));
        }
    }
}

#[test]
fn qr_least_squares_has_orthogonal_residual() {
    let mut r = rng(8);
    for &(m, n) in &[(1, 1), (10, 3), (100, 20), (50, 50)] {
        let a = random_matrix(m, n, &mut r);
        let b = random_vector(m, &mut r);
        for pivoted in [false, true] {
            let mut qr = if pivoted {
                Qr::new_pivoted(&a)
            } else {
                Qr::new(&a)
            }
            .unwrap();
            let mut work = b.clone();
            qr.solve_least_squares_mut(&mut work).unwrap();
            let x = &work[..n];
            let res = sub(&matvec_rect(&a, x), &b);
            // Normal equations: Aᵀ (A x − b) = 0.
            let atr = a.transpose() * DVector::from_column_slice(&res);
            assert!(
                atr.norm() < 1e-11 * (1.0 + a.norm() * norm2(&b)),
                "({m}, {n})"
            );
            // The tail of Qᵀb is the residual.
            assert!((norm2(&work[n..]) - norm2(&res)).abs() < 1e-11 * (1.0 + norm2(&b)));
        }
    }
}

fn matvec_rect(a: &DMatrix<f64>, x: &[f64]) -> Vec<f64> {
    (a * DVector::from_column_slice(x))
        .iter()
        .copied()
        .collect()
}

#[test]
fn qr_rank_deficient_least_squares_is_an_error() {
    // Column 2 = column 0 + column 1.
    let a = DMatrix::from_fn(6, 3, |i, j| match j {
        0 => i as f64,
        1 => 1.0,
        _ => i as f64 + 1.0,
    });
    for mut qr in [Qr::new(&a).unwrap(), Qr::new_pivoted(&a).unwrap()] {
        assert!(matches!(
            qr.solve_least_squares(&[1.0; 6]),
            Err(LinalgError::Singular { .. })
        ));
    }
    let wide = DMatrix::<f64>::zeros(2, 3);
    assert!(matches!(
        Qr::new(&wide).unwrap().solve_least_squares(&[1.0; 2]),
        Err(LinalgError::ShapeMismatch { .. })
    ));
}

// ---------------------------------------------------------------------------
// Symmetric eigen-decomposition
// ---------------------------------------------------------------------------

#[test]
fn eigen_v_lambda_vt_equals_a() {
    let mut r = rng(9);
    for &n in &SIZES {
        let a = random_matrix(n, n, &mut r);
        let a = &a + a.transpose();
        let eig = SymmetricEigen::new(&a).unwrap();
        let v = eig.vectors();
        let lambda = DMatrix::from_diagonal(&DVector::from_column_slice(eig.values()));
        if n > 0 {
            assert!(
                rel(&(v * lambda * v.transpose()), &a) < 20.0 * n as f64 * EPS,
                "n = {n}"
            );
            assert!(rel(&(v.transpose() * v), &DMatrix::identity(n, n)) < 20.0 * n as f64 * EPS);
        }
        assert!(eig.values().windows(2).all(|w| w[0] <= w[1]));
    }
}

// ---------------------------------------------------------------------------
// Conjugate gradients
// ---------------------------------------------------------------------------

/// The Chebyshev bound on CG steps to reduce the A-norm error by `rtol`:
/// `⌈½ √κ ln(2/rtol)⌉` (N&W (5.36)); it survives rounding (Greenbaum 1989).
fn chebyshev_steps(cond: f64, rtol: f64) -> usize {
    (0.5 * cond.sqrt() * (2.0 / rtol).ln()).ceil() as usize
}

#[test]
fn cg_solves_spd_systems_within_n_steps() {
    // In exact arithmetic CG ends in at most n steps (N&W Theorem 5.1). In
    // floating point, lost conjugacy delays it on ill-conditioned systems with
    // spread-out spectra (log-spaced eigenvalues are the worst case). Measured
    // worst case over 20 seeds at rtol = 1e-10 (`measure_cg_steps` below):
    // 1.0 n at κ = 1, 1.25 n at κ = 1e2, 3.5 n at κ = 1e4, 9 n at κ = 1e6 (n = 60).
    // So: ≤ n + 2 at κ ≤ 10, ≤ 1.3 n + 2 at κ = 1e2, and the Chebyshev bound always.
    let mut r = rng(10);
    for &n in &[1usize, 2, 5, 20, 60] {
        for &cond in &[1.0, 10.0, 1e2, 1e4] {
            let a = spd(n, cond, &mut r);
            let b = random_vector(n, &mut r);
            let mut x = vec![0.0; n];
            let rtol = 1e-10;
            let res = ConjugateGradient::new()
                .with_rtol(rtol)
                .unwrap()
                .solve(&a, &b, &mut x, None)
                .unwrap();
            assert!(res.converged(), "n = {n}, cond = {cond}: {res:?}");
            let cap = if cond <= 10.0 {
                n + 2
            } else if cond <= 1e2 {
                (1.3 * n as f64).ceil() as usize + 2
            } else {
                usize::MAX
            };
            let cap = cap.min(chebyshev_steps(cond, rtol) + 2);
            assert!(
                res.iterations <= cap,
                "n = {n}, cond = {cond}: {} steps",
                res.iterations
            );
            assert_eq!(res.products, res.iterations);
            let true_res = norm2(&sub(&b, &matvec(&a, &x)));
            assert!(true_res <= 10.0 * rtol * norm2(&b) + 1e-12 * cond * norm2(&b));
        }
    }
}

#[test]
fn cg_ends_after_as_many_steps_as_distinct_eigenvalues() {
    // N&W Theorem 5.4: r distinct eigenvalues, at most r steps (here 5 of 200).
    let mut r = rng(17);
    let n = 200;
    let lambda: Vec<f64> = (0..n)
        .map(|i| [1.0, 3.0, 10.0, 30.0, 100.0][i % 5])
        .collect();
    let a = with_spectrum(&lambda, &mut r);
    let b = random_vector(n, &mut r);
    let mut x = vec![0.0; n];
    let res = ConjugateGradient::new()
        .with_rtol(1e-10)
        .unwrap()
        .solve(&a, &b, &mut x, None)
        .unwrap();
    assert!(res.converged());
    assert!(res.iterations <= 5 + 1, "{res:?}");
}

#[test]
fn cg_jacobi_preconditioning_fixes_bad_scaling() {
    // D^{1/2} S D^{1/2} with D spanning 1e-4..1e4: Jacobi undoes the scaling.
    let mut r = rng(11);
    let n = 80;
    let s = spd(n, 10.0, &mut r);
    let d: Vec<f64> = (0..n)
        .map(|i| 10f64.powf(-4.0 + 8.0 * i as f64 / (n - 1) as f64))
        .collect();
    let a = DMatrix::from_fn(n, n, |i, j| d[i].sqrt() * s[(i, j)] * d[j].sqrt());
    let diag: Vec<f64> = (0..n).map(|i| a[(i, i)]).collect();
    let b = random_vector(n, &mut r);
    let mut cg = ConjugateGradient::new().with_rtol(1e-8).unwrap();
    let mut x_plain = vec![0.0; n];
    let plain = cg.solve(&a, &b, &mut x_plain, None).unwrap();
    let mut x_pre = vec![0.0; n];
    let jacobi = Diagonal::inverse_of(&diag);
    let pre = cg.solve(&a, &b, &mut x_pre, Some(&jacobi)).unwrap();
    assert!(pre.converged());
    assert!(pre.iterations < 40, "{pre:?}");
    assert!(
        pre.iterations * 4 < plain.iterations.max(1) || !plain.converged(),
        "{plain:?} vs {pre:?}"
    );
}

#[test]
fn cg_flags_negative_curvature_with_direction_and_iterate() {
    let mut r = rng(12);
    let n = 30;
    let mut lambda: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
    lambda[7] = -0.5;
    let a = with_spectrum(&lambda, &mut r);
    let b = random_vector(n, &mut r);
    let mut x = vec![0.0; n];
    let mut cg = ConjugateGradient::new().with_rtol(1e-12).unwrap();
    let res = cg.solve(&a, &b, &mut x, None).unwrap();
    let CgOutcome::NegativeCurvature { curvature } = res.outcome else {
        panic!("expected negative curvature, got {res:?}");
    };
    assert!((-0.5 - 1e-12..=0.0).contains(&curvature));
    let p = cg.direction().to_vec();
    let ap = matvec(&a, &p);
    assert!(dot(&p, &ap) <= 0.0);
    assert!(((dot(&p, &ap) / dot(&p, &p)) - curvature).abs() < 1e-10);
    // The iterate so far is consistent with the residual returned.
    let r_true = sub(&b, &matvec(&a, &x));
    assert!(norm2(&sub(&r_true, cg.residual())) < 1e-10);
    // Zero curvature also stops it.
    let zero = DMatrix::<f64>::zeros(2, 2);
    let mut y = [0.0; 2];
    let res = cg.solve(&zero, &[1.0, 0.0], &mut y, None).unwrap();
    assert_eq!(res.outcome, CgOutcome::NegativeCurvature { curvature: 0.0 });
    assert_eq!(y, [0.0, 0.0]);
}

#[test]
fn cg_warm_start_zero_rhs_and_bad_input() {
    let mut r = rng(13);
    let a = spd(10, 10.0, &mut r);
    let b = random_vector(10, &mut r);
    let mut cg = ConjugateGradient::new().with_rtol(1e-12).unwrap();
    let mut x = vec![0.0; 10];
    cg.solve(&a, &b, &mut x, None).unwrap();
    // Warm start at the solution: one product, zero steps.
    let res = cg.solve(&a, &b, &mut x, None).unwrap();
    assert!(res.converged());
    assert_eq!((res.iterations, res.products), (0, 1));
    // b = 0 from x = 0 is solved by x = 0.
    let mut z = vec![0.0; 10];
    let res = cg.solve(&a, &[0.0; 10], &mut z, None).unwrap();
    assert!(res.converged() && res.iterations == 0 && z.iter().all(|&v| v == 0.0));
    // Errors, never panics.
    assert_eq!(
        cg.solve(&a, &[1.0; 3], &mut z, None)
            .unwrap_err()
            .to_string(),
        "b has 3 entries, operator has dimension 10"
    );
    let mut nan_b = vec![0.0; 10];
    nan_b[4] = f64::NAN;
    assert!(matches!(
        cg.solve(&a, &nan_b, &mut z, None),
        Err(LinalgError::NonFinite { what: "b", .. })
    ));
    assert!(ConjugateGradient::new().with_rtol(-1.0).is_err());
    let small = Diagonal::new(vec![1.0; 3]);
    assert!(cg.solve(&a, &b, &mut z, Some(&small)).is_err());
    // An operator that returns NaN is a breakdown, not a panic.
    let bad = FnOperator::symmetric(2, |_: &[f64], out: &mut [f64]| out.fill(f64::NAN));
    let mut y = [0.0; 2];
    assert_eq!(
        cg.solve(&bad, &[1.0, 1.0], &mut y, None).unwrap().outcome,
        CgOutcome::Breakdown
    );
}

#[test]
fn cg_on_hessian_vector_products_counts_evaluations() {
    // f(x) = ½ xᵀ A x − bᵀx with A = tridiag(−1, 4, −1), never formed.
    let n = 50;
    let tri = |v: &[f64], out: &mut [f64]| {
        for i in 0..v.len() {
            let left = if i > 0 { v[i - 1] } else { 0.0 };
            let right = if i + 1 < v.len() { v[i + 1] } else { 0.0 };
            out[i] = 4.0 * v[i] - left - right;
        }
    };
    let p = FnGradient::new(n, move |x: &[f64], g: &mut [f64]| {
        tri(x, g);
        let f = 0.5 * dot(x, g) - x.iter().sum::<f64>();
        g.iter_mut().for_each(|gi| *gi -= 1.0);
        f
    })
    .with_hess_vec(move |_: &[f64], v: &[f64], hv: &mut [f64]| tri(v, hv));
    let counted = Counted::new(&p);
    let x0 = vec![0.0; n];
    let h = HessianOperator::new(&counted, &x0);
    assert!(h.is_symmetric());
    let mut x = vec![0.0; n];
    let res = ConjugateGradient::new()
        .with_rtol(1e-12)
        .unwrap()
        .solve(&h, &vec![1.0; n], &mut x, None)
        .unwrap();
    assert!(res.converged());
    assert_eq!(counted.evals().hv, res.products as u64);
    let mut ax = vec![0.0; n];
    counted.hess_vec(&x0, &x, &mut ax);
    assert!(ax.iter().all(|v| (v - 1.0).abs() < 1e-10));
}

// ---------------------------------------------------------------------------
// Steihaug-Toint CG
// ---------------------------------------------------------------------------

fn model(b: &DMatrix<f64>, g: &[f64], p: &[f64]) -> f64 {
    dot(g, p) + 0.5 * dot(p, &matvec(b, p))
}

/// The Cauchy point's model value (N&W (4.11)-(4.12)).
fn cauchy_model(b: &DMatrix<f64>, g: &[f64], delta: f64) -> f64 {
    let gn = norm2(g);
    let gbg = dot(g, &matvec(b, g));
    let tau = if gbg <= 0.0 {
        1.0
    } else {
        (gn.powi(3) / (delta * gbg)).min(1.0)
    };
    let pc: Vec<f64> = g.iter().map(|gi| -tau * delta / gn * gi).collect();
    model(b, g, &pc)
}

#[test]
fn steihaug_interior_boundary_and_negative_curvature() {
    let mut r = rng(14);
    let n = 40;
    let b = spd(n, 100.0, &mut r);
    let g = random_vector(n, &mut r);
    let newton = Cholesky::new(&b)
        .unwrap()
        .solve(&g.iter().map(|v| -v).collect::<Vec<_>>())
        .unwrap();
    let newton_norm = norm2(&newton);
    let mut tr = SteihaugCg::new().with_rtol(1e-10).unwrap();
    let mut p = vec![0.0; n];

    // Large radius: the Newton step.
    let res = tr.solve(&b, &g, 10.0 * newton_norm, &mut p).unwrap();
    assert_eq!(res.outcome, SteihaugOutcome::Converged);
    assert!(norm2(&sub(&p, &newton)) < 1e-8 * newton_norm);
    assert!((res.model_value - model(&b, &g, &p)).abs() < 1e-10 * res.model_value.abs());

    // Radii inside the Newton step: on the boundary, at least Cauchy decrease.
    for frac in [0.01, 0.1, 0.5, 0.9] {
        let delta = frac * newton_norm;
        let res = tr.solve(&b, &g, delta, &mut p).unwrap();
        assert_eq!(res.outcome, SteihaugOutcome::Boundary, "frac {frac}");
        assert!(res.outcome.on_boundary());
        assert!((norm2(&p) - delta).abs() < 1e-12 * delta);
        assert!((res.step_norm - delta).abs() < 1e-12 * delta);
        let m = model(&b, &g, &p);
        assert!((res.model_value - m).abs() < 1e-10 * m.abs());
        assert!(m <= cauchy_model(&b, &g, delta) + 1e-12 * m.abs());
    }

    // Indefinite B: negative curvature, on the boundary, model below Cauchy.
    let mut lambda: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
    lambda[0] = -5.0;
    let bi = with_spectrum(&lambda, &mut r);
    for delta in [0.1, 1.0, 100.0] {
        let res = tr.solve(&bi, &g, delta, &mut p).unwrap();
        assert!(res.outcome.on_boundary(), "{res:?}");
        assert!((norm2(&p) - delta).abs() < 1e-10 * delta);
        let m = model(&bi, &g, &p);
        assert!((res.model_value - m).abs() < 1e-9 * m.abs());
        assert!(m <= cauchy_model(&bi, &g, delta) + 1e-12 * m.abs());
    }
    // With a huge radius on an indefinite B, only negative curvature can stop it.
    let res = tr.solve(&bi, &g, 1e6, &mut p).unwrap();
    assert_eq!(res.outcome, SteihaugOutcome::NegativeCurvature);
}

#[test]
fn steihaug_zero_gradient_and_bad_input() {
    let b = DMatrix::<f64>::identity(3, 3);
    let mut p = [1.0; 3];
    let mut tr = SteihaugCg::new();
    let res = tr.solve(&b, &[0.0; 3], 1.0, &mut p).unwrap();
    assert_eq!(
        (res.outcome, res.products, p),
        (SteihaugOutcome::Converged, 0, [0.0; 3])
    );
    assert!(tr.solve(&b, &[1.0; 3], 0.0, &mut p).is_err());
    assert!(tr.solve(&b, &[1.0; 3], f64::NAN, &mut p).is_err());
    assert!(tr.solve(&b, &[1.0; 2], 1.0, &mut p).is_err());
}

// ---------------------------------------------------------------------------
// Lanczos
// ---------------------------------------------------------------------------

#[test]
fn lanczos_with_k_equal_n_recovers_the_spectrum() {
    let mut r = rng(15);
    for &n in &[1usize, 2, 10, 40] {
        let a = random_matrix(n, n, &mut r);
        let a = &a + a.transpose();
        let dense = SymmetricEigen::new(&a).unwrap();
        let mut lanczos = Lanczos::new();
        let start = random_vector(n, &mut r);
        let res = lanczos.run(&a, &start, n).unwrap();
        assert_eq!(res.steps, n);
        let scale = a.norm();
        for (t, l) in lanczos.ritz_values().iter().zip(dense.values()) {
            assert!((t - l).abs() < 1e-10 * scale, "n = {n}: {t} vs {l}");
        }
        // Q orthonormal and Qᵀ A Q = T.
        let q = lanczos.basis().into_owned();
        assert!(rel(&(q.transpose() * &q), &DMatrix::identity(n, n)) < 1e-12);
        assert!(rel(&(q.transpose() * &a * &q), &lanczos.t()) < 1e-12);
    }
}

#[test]
fn lanczos_few_steps_find_well_separated_extremes() {
    let mut r = rng(16);
    let n = 400;
    // Extremes −10 and 25 separated from a bulk in [1, 3].
    let mut lambda: Vec<f64> = (0..n).map(|i| 1.0 + 2.0 * i as f64 / n as f64).collect();
    lambda[0] = -10.0;
    lambda[n - 1] = 25.0;
    let a = with_spectrum(&lambda, &mut r);
    let start = random_vector(n, &mut r);
    for reorth in [Reorthogonalization::Full, Reorthogonalization::Local] {
        let mut lanczos = Lanczos::new().with_reorthogonalization(reorth);
        let res = lanczos.run(&a, &start, 25).unwrap();
        assert_eq!(res.steps, 25);
        assert_eq!(res.products, 25);
        assert!(
            (lanczos.min_ritz().unwrap() + 10.0).abs() < 1e-8,
            "{reorth:?}"
        );
        assert!(
            (lanczos.max_ritz().unwrap() - 25.0).abs() < 1e-8,
            "{reorth:?}"
        );
        // The residual bound holds and the Ritz vector is an eigenvector.
        let mut x = vec![0.0; n];
        lanczos.ritz_vector(0, &mut x).unwrap();
        let ax = matvec(&a, &x);
        let theta = lanczos.ritz_values()[0];
        let resid = norm2(&sub(&ax, &x.iter().map(|v| theta * v).collect::<Vec<_>>()));
        assert!(resid < 1e-6, "{reorth:?}: {resid:e}");
        assert!((lanczos.ritz_residual(0) - resid).abs() < 1e-8 + 1e-3 * resid);
    }
}

#[test]
fn lanczos_stops_on_an_invariant_subspace() {
    // Three distinct eigenvalues: the Krylov space has dimension 3.
    let d: Vec<f64> = (0..30).map(|i| [1.0, 2.0, 5.0][i % 3]).collect();
    let a = Diagonal::new(d);
    let mut lanczos = Lanczos::new();
    let res = lanczos.run(&a, &vec![1.0; 30], 10).unwrap();
    assert!(res.invariant);
    assert_eq!(res.steps, 3);
    let theta = lanczos.ritz_values();
    for (t, want) in theta.iter().zip([1.0, 2.0, 5.0]) {
        assert!((t - want).abs() < 1e-12);
    }
    assert!(lanczos.run(&a, &[0.0; 30], 3).is_err());
    assert!(lanczos.run(&a, &[1.0; 3], 3).is_err());
    assert_eq!(lanczos.run(&a, &vec![1.0; 30], 0).unwrap().steps, 0);
    assert_eq!(lanczos.min_ritz(), None);
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn prop_cholesky_identity(n in 0usize..48, seed in any::<u64>()) {
        let mut r = rng(seed);
        let b = random_matrix(n, n, &mut r);
        // BᵀB + I: SPD with κ ≤ 1 + ‖B‖² (≈ 4n).
        let a = b.transpose() * &b + DMatrix::identity(n, n);
        let chol = Cholesky::new(&a).unwrap();
        let l = chol.l();
        if n > 0 {
            prop_assert!(rel(&(&l * l.transpose()), &a) < 10.0 * n as f64 * EPS);
        }
        let x_true = random_vector(n, &mut r);
        let x = chol.solve(&matvec(&a, &x_true)).unwrap();
        prop_assert!(norm2(&sub(&x, &x_true)) <= 100.0 * (n * n).max(1) as f64 * EPS * (1.0 + norm2(&x_true)));
    }

    #[test]
    fn prop_cg_converges_within_the_step_bounds(n in 1usize..60, seed in any::<u64>()) {
        let mut r = rng(seed);
        let a = spd(n, 10.0, &mut r);
        let b = random_vector(n, &mut r);
        let mut x = vec![0.0; n];
        let res = ConjugateGradient::new().with_rtol(1e-8).unwrap().solve(&a, &b, &mut x, None).unwrap();
        prop_assert!(res.converged());
        // κ = 10: n + 2 steps (see cg_solves_spd_systems_within_n_steps).
        prop_assert!(res.iterations <= n + 2, "{} steps for n = {}", res.iterations, n);
        prop_assert!(norm2(&sub(&b, &matvec(&a, &x))) <= 1e-7 * norm2(&b));
    }
}

#[test]
#[ignore]
fn measure_cg_steps() {
    for &cond in &[1.0, 1e2, 1e4, 1e6] {
        for &n in &[5usize, 20, 60, 200] {
            let mut worst = 0;
            for seed in 0..20 {
                let mut r = rng(seed);
                let a = spd(n, cond, &mut r);
                let b = random_vector(n, &mut r);
                let mut x = vec![0.0; n];
                let res = ConjugateGradient::new()
                    .with_rtol(1e-10)
                    .unwrap()
                    .solve(&a, &b, &mut x, None)
                    .unwrap();
                assert!(res.converged());
                worst = worst.max(res.iterations);
            }
            let cheb = (0.5 * cond.sqrt() * (2.0 / 1e-10f64).ln()).ceil();
            println!(
                "cond {cond:e} n {n}: worst {worst} steps ({:.2} n), chebyshev {cheb}",
                worst as f64 / n as f64
            );
        }
    }
}

/// `dot` over slices of different lengths sums the common prefix, whichever
/// slice is shorter (it used to drop the tail when `y` was the shorter one and
/// its length was not a multiple of 4: `x` of 8 and `y` of 6 summed 4 terms).
#[test]
fn dot_of_different_lengths_sums_the_common_prefix() {
    for nx in 0..13usize {
        for ny in 0..13usize {
            let x: Vec<f64> = (0..nx).map(|i| (i + 1) as f64).collect();
            let y: Vec<f64> = (0..ny).map(|i| (2 * i + 1) as f64).collect();
            let expected: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
            assert_eq!(dot(&x, &y), expected, "nx = {nx}, ny = {ny}");
            assert_eq!(dot(&y, &x), expected, "nx = {nx}, ny = {ny}");
        }
    }
}
