//! The sparse-Jacobian Levenberg-Marquardt (`SparseLevenbergMarquardt`,
//! issue 21 item 4) against the dense one on NIST's Misra1a and MGH
//! least-squares problems (each dense Jacobian given as a full pattern), on
//! the banded `BandedFit` with a known solution; bad patterns are errors,
//! NaN residuals end runs cleanly, and checkpoints resume bit for bit.

use hesse::newton::{LevenbergMarquardt, MatrixFreeLevenbergMarquardt, SparseLevenbergMarquardt};
use hesse::problem::{FnResiduals, JacobianProducts, Residuals, SparseResiduals, SparsityPattern};
use hesse::problems::nist::{NistDataset, NistProblem, lre};
use hesse::problems::{BandedFit, Mgh, MghProblem};
use hesse::solver::{Checkpoint, Error, Run, Termination};
use nalgebra::DMatrix;

/// A dense [`Residuals`] problem seen as a sparse one with every entry in
/// the pattern (column-major values are the CSC order of the full pattern).
struct Dense<R> {
    inner: R,
    jac: std::cell::RefCell<DMatrix<f64>>,
}

impl<R: Residuals> Dense<R> {
    fn new(inner: R) -> Self {
        let (m, n) = (inner.num_residuals(), inner.num_params());
        Dense {
            inner,
            jac: std::cell::RefCell::new(DMatrix::zeros(m, n)),
        }
    }
}

impl<R: Residuals> SparseResiduals for Dense<R> {
    fn num_params(&self) -> usize {
        self.inner.num_params()
    }
    fn num_residuals(&self) -> usize {
        self.inner.num_residuals()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        self.inner.residuals(x, r)
    }
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
        Ok(SparsityPattern::dense(
            self.inner.num_residuals(),
            self.inner.num_params(),
        ))
    }
    fn jacobian_values(&self, x: &[f64], values: &mut [f64]) {
        let mut jac = self.jac.borrow_mut();
        self.inner.jacobian(x, &mut jac);
        values.copy_from_slice(jac.as_slice());
    }
}

fn assert_close(what: &str, x: &[f64], want: &[f64], tol: f64) {
    for (j, (a, b)) in x.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= tol * b.abs().max(1.0),
            "{what}: x[{j}] = {a}, expected {b}"
        );
    }
}

#[test]
fn matches_the_dense_minimizer_on_nist_misra1a_from_both_starts() {
    let path = format!("{}/tests/data/nist/Misra1a.dat", env!("CARGO_MANIFEST_DIR"));
    let data = NistDataset::load(&path).unwrap();
    let problem = NistProblem::new(&data).unwrap();
    for start in [1, 2] {
        let x0 = data.start(start).unwrap();
        let dense = LevenbergMarquardt::default()
            .minimize(&problem, x0)
            .unwrap();
        let sparse = SparseLevenbergMarquardt::default()
            .minimize(&Dense::new(&problem), x0)
            .unwrap();
        assert!(
            sparse.converged(),
            "start {start}: {:?}",
            sparse.termination
        );
        assert_close(&format!("Misra1a start {start}"), &sparse.x, &dense.x, 1e-8);
        for (b, c) in sparse.x.iter().zip(&data.certified) {
            assert!(lre(*b, *c) >= 7.0, "start {start}: {b} vs certified {c}");
        }
        assert_eq!(sparse.evals.h, 0);
        assert_eq!(sparse.evals.g, sparse.iterations + 1);
    }
}

#[test]
fn matches_the_dense_minimizer_on_mgh_least_squares_problems() {
    for problem in [
        MghProblem::Rosenbrock,
        MghProblem::HelicalValley,
        MghProblem::Bard,
        MghProblem::BrownDennis,
        MghProblem::Osborne1,
        MghProblem::BiggsExp6,
        MghProblem::DiscreteBoundaryValue,
        MghProblem::BroydenTridiagonal,
    ] {
        let p = Mgh::new(problem);
        let x0 = p.start();
        let dense = LevenbergMarquardt::default().minimize(&p, &x0).unwrap();
        let sparse = SparseLevenbergMarquardt::default()
            .minimize(&Dense::new(&p), &x0)
            .unwrap();
        assert!(dense.converged() && sparse.converged(), "{}", p.name());
        // Brown and Dennis has a large residual (f* = 85822): MINPACK's ftol
        // test, which ends both runs, fixes x only to about sqrt(ftol)
        // relative in its least determined direction.
        let tol = if problem == MghProblem::BrownDennis {
            1e-6
        } else {
            1e-8
        };
        assert_close(p.name(), &sparse.x, &dense.x, tol);
        assert!(
            (sparse.f - dense.f).abs() <= 1e-10 * dense.f + 1e-20,
            "{}: f = {} and {}",
            p.name(),
            sparse.f,
            dense.f
        );
        let f_star = p.f_star().unwrap();
        assert!(
            sparse.f - f_star <= 1e-10_f64.max(1e-8 * f_star),
            "{}: f = {}, f* = {f_star}",
            p.name(),
            sparse.f
        );
    }
}

#[test]
fn banded_fit_reaches_its_known_solution_and_the_dense_minimizer() {
    let p = BandedFit::new(600, 60, 0.0).unwrap();
    let a = p.minimizer().unwrap();
    let sparse = SparseLevenbergMarquardt::default()
        .minimize(&p, &p.start())
        .unwrap();
    assert!(sparse.converged(), "{:?}", sparse.termination);
    assert_close("BandedFit", &sparse.x, &a, 1e-10);
    assert!(sparse.f < 1e-20);
    let dense = LevenbergMarquardt::default()
        .minimize(&p, &p.start())
        .unwrap();
    assert_close("BandedFit dense", &sparse.x, &dense.x, 1e-10);

    // With noise the minimizer is not known: both solvers agree on it.
    let noisy = BandedFit::new(600, 60, 0.05).unwrap();
    let sparse = SparseLevenbergMarquardt::default()
        .minimize(&noisy, &noisy.start())
        .unwrap();
    let dense = LevenbergMarquardt::default()
        .minimize(&noisy, &noisy.start())
        .unwrap();
    assert!(sparse.converged() && dense.converged());
    assert_close("noisy BandedFit", &sparse.x, &dense.x, 1e-8);
    assert!((sparse.f - dense.f).abs() <= 1e-12 * dense.f);
}

/// A problem whose pattern comes from a closure, so that tests can hand the
/// solver any pattern.
struct WithPattern<F>(usize, usize, F);

impl<F: Fn() -> Result<SparsityPattern, Error>> SparseResiduals for WithPattern<F> {
    fn num_params(&self) -> usize {
        self.0
    }
    fn num_residuals(&self) -> usize {
        self.1
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        for (i, ri) in r.iter_mut().enumerate() {
            *ri = x[i % self.0] - i as f64;
        }
    }
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
        (self.2)()
    }
    fn jacobian_values(&self, _: &[f64], values: &mut [f64]) {
        values.fill(1.0);
    }
}

#[test]
fn bad_patterns_are_errors_not_panics() {
    let lm = SparseLevenbergMarquardt::default();
    // Unsorted rows, out of range, duplicates: from the problem's own pattern.
    let unsorted = WithPattern(2, 2, || {
        SparsityPattern::new(2, 2, vec![0, 2, 3], vec![1, 0, 1])
    });
    let e = lm.minimize(&unsorted, &[0.0, 0.0]).unwrap_err();
    assert!(matches!(e, Error::InvalidPattern(_)), "{e}");
    assert!(e.to_string().contains("column 0"), "{e}");
    let out_of_range = WithPattern(2, 2, || {
        SparsityPattern::new(2, 2, vec![0, 1, 2], vec![0, 5])
    });
    let e = lm.minimize(&out_of_range, &[0.0, 0.0]).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    let duplicate = WithPattern(2, 2, || {
        SparsityPattern::from_triplets(2, 2, &[(0, 0), (1, 1), (0, 0)])
    });
    let e = lm.minimize(&duplicate, &[0.0, 0.0]).unwrap_err();
    assert!(e.to_string().contains("duplicate"), "{e}");
    // A valid pattern of the wrong shape.
    let wrong_shape = WithPattern(2, 3, || Ok(SparsityPattern::dense(2, 2)));
    let e = lm.minimize(&wrong_shape, &[0.0, 0.0]).unwrap_err();
    assert!(e.to_string().contains("2 × 2"), "{e}");
    // A fine one runs: 3 residuals x₀ − 0, x₁ − 1, x₀ − 2 in 2 unknowns.
    let fine = WithPattern(2, 3, || {
        SparsityPattern::from_triplets(3, 2, &[(0, 0), (1, 1), (2, 0)])
    });
    let r = lm.minimize(&fine, &[0.0, 0.0]).unwrap();
    assert!(r.converged());
    assert_close("fine", &r.x, &[1.0, 1.0], 1e-8);
    // Bad options and starts.
    let e = SparseLevenbergMarquardt::default()
        .with_initial_damping(0.0)
        .minimize(&fine, &[0.0, 0.0])
        .unwrap_err();
    assert!(matches!(e, Error::InvalidOption { .. }));
    assert!(lm.minimize(&fine, &[0.0]).is_err());
    assert!(lm.minimize(&fine, &[f64::NAN, 0.0]).is_err());
}

/// `rᵢ = ln xᵢ − ln 2`: NaN for `x ≤ 0`, where the first Gauss-Newton
/// steps from `x = 10` land.
struct Log(usize);

impl SparseResiduals for Log {
    fn num_params(&self) -> usize {
        self.0
    }
    fn num_residuals(&self) -> usize {
        self.0
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        for (ri, &xi) in r.iter_mut().zip(x) {
            *ri = if xi > 0.0 {
                xi.ln() - 2f64.ln()
            } else {
                f64::NAN
            };
        }
    }
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
        SparsityPattern::new(
            self.0,
            self.0,
            (0..=self.0).collect(),
            (0..self.0).collect(),
        )
    }
    fn jacobian_values(&self, x: &[f64], values: &mut [f64]) {
        for (v, &xi) in values.iter_mut().zip(x) {
            *v = 1.0 / xi;
        }
    }
}

#[test]
fn nan_residuals_are_rejected_trials_or_a_clean_stop() {
    // NaN at trial points: rejected, λ grows, the run still converges.
    let r = SparseLevenbergMarquardt::default()
        .with_initial_damping(1e-8)
        .minimize(&Log(3), &[10.0; 3])
        .unwrap();
    assert!(r.converged(), "{:?}", r.termination);
    assert_close("log", &r.x, &[2.0; 3], 1e-12);
    assert!(r.evals.f > r.evals.g, "some trials were rejected");
    // NaN at the start: the run ends at once, typed.
    let r = SparseLevenbergMarquardt::default()
        .minimize(&Log(3), &[-1.0; 3])
        .unwrap();
    assert_eq!(r.termination, Termination::NonFiniteValue);
    assert_eq!(r.iterations, 0);
    // NaN everywhere but the start: every trial non-finite.
    let p = FnResidualsNanAway;
    let r = SparseLevenbergMarquardt::default()
        .minimize(&p, &[1.0, 1.0])
        .unwrap();
    assert_eq!(r.termination, Termination::NonFiniteValue);
    assert_eq!(r.x, [1.0, 1.0]);
}

/// Finite only at `x = (1, 1)`.
struct FnResidualsNanAway;

impl SparseResiduals for FnResidualsNanAway {
    fn num_params(&self) -> usize {
        2
    }
    fn num_residuals(&self) -> usize {
        2
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        let at = x == [1.0, 1.0];
        r[0] = if at { 1.0 } else { f64::NAN };
        r[1] = if at { 2.0 } else { f64::NAN };
    }
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
        Ok(SparsityPattern::dense(2, 2))
    }
    fn jacobian_values(&self, _: &[f64], v: &mut [f64]) {
        v.copy_from_slice(&[1.0, 0.0, 0.0, 1.0]);
    }
}

#[test]
fn evaluation_limit_and_driver_tests_apply() {
    let p = BandedFit::new(300, 30, 0.0).unwrap();
    let r = SparseLevenbergMarquardt::default()
        .with_max_evals(5)
        .minimize(&p, &p.start())
        .unwrap();
    assert_eq!(r.termination, Termination::MaxEvaluations);
    assert!(r.evals.total() <= 6);
    let r = SparseLevenbergMarquardt::default()
        .with_gtol(1e-3)
        .with_history(true)
        .minimize(&p, &p.start())
        .unwrap();
    assert_eq!(r.termination, Termination::GradientTolerance);
    assert!(r.grad_norm <= 1e-3);
    assert_eq!(r.history.unwrap().len() as u64, r.iterations + 1);
}

#[test]
fn checkpoints_resume_bit_for_bit() {
    let p = BandedFit::new(400, 40, 0.05).unwrap();
    let lm = SparseLevenbergMarquardt::default();
    let straight = lm.minimize(&p, &p.start()).unwrap();
    for k in 0..straight.iterations {
        let mut run = Run::new(lm.clone(), &p, &p.start()).unwrap();
        for _ in 0..k {
            run.step();
        }
        let json = serde_json::to_string(&run.checkpoint()).unwrap();
        let back: Checkpoint<SparseLevenbergMarquardt> = serde_json::from_str(&json).unwrap();
        let resumed = Run::resume(back, &p).unwrap().finish();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&resumed.x), bits(&straight.x), "resumed at {k}");
        assert_eq!(resumed.evals, straight.evals);
        assert_eq!(resumed.termination, straight.termination);
    }
}

/// The closure adapter of the dense trait still works beside the sparse one
/// (both traits in scope, no ambiguity for a type that has only one).
#[test]
fn dense_closure_problems_are_unaffected() {
    let p = FnResiduals::new(
        1,
        2,
        |x: &[f64], r: &mut [f64]| {
            r[0] = x[0] - 1.0;
            r[1] = x[0] - 3.0;
        },
        |_: &[f64], j: &mut DMatrix<f64>| j.fill(1.0),
    );
    let r = LevenbergMarquardt::default().minimize(&p, &[0.0]).unwrap();
    assert!((r.x[0] - 2.0).abs() < 1e-12);
    let s = SparseLevenbergMarquardt::default()
        .minimize(&Dense::new(&p), &[0.0])
        .unwrap();
    assert!((s.x[0] - 2.0).abs() < 1e-8);
}

/// A sparse problem seen only through products with its Jacobian.
struct Products<P>(P);

impl<P: SparseResiduals> JacobianProducts for Products<P> {
    fn num_params(&self) -> usize {
        self.0.num_params()
    }
    fn num_residuals(&self) -> usize {
        self.0.num_residuals()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        self.0.residuals(x, r)
    }
    fn jac_vec(&self, x: &[f64], v: &[f64], jv: &mut [f64]) {
        let p = self.0.jacobian_pattern().unwrap();
        let mut vals = vec![0.0; p.nnz()];
        self.0.jacobian_values(x, &mut vals);
        jv.fill(0.0);
        for (j, &vj) in v.iter().enumerate() {
            for pos in p.col_ptr()[j]..p.col_ptr()[j + 1] {
                jv[p.row_idx()[pos]] += vals[pos] * vj;
            }
        }
    }
    fn jac_t_vec(&self, x: &[f64], u: &[f64], jtu: &mut [f64]) {
        let p = self.0.jacobian_pattern().unwrap();
        let mut vals = vec![0.0; p.nnz()];
        self.0.jacobian_values(x, &mut vals);
        for (j, out) in jtu.iter_mut().enumerate() {
            *out = (p.col_ptr()[j]..p.col_ptr()[j + 1])
                .map(|pos| vals[pos] * u[p.row_idx()[pos]])
                .sum();
        }
    }
}

#[test]
fn matrix_free_mode_matches_the_sparse_solver() {
    let exact = BandedFit::new(600, 60, 0.0).unwrap();
    let r = MatrixFreeLevenbergMarquardt::default()
        .minimize(&Products(&exact), &exact.start())
        .unwrap();
    assert!(r.converged(), "{:?}", r.termination);
    assert_close(
        "matrix-free exact",
        &r.x,
        &exact.minimizer().unwrap(),
        1e-10,
    );
    assert_eq!(r.evals.g, 0);
    assert!(r.evals.hv > 0);
    let noisy = BandedFit::new(600, 60, 0.05).unwrap();
    let mf = MatrixFreeLevenbergMarquardt::default()
        .minimize(&Products(&noisy), &noisy.start())
        .unwrap();
    let sp = SparseLevenbergMarquardt::default()
        .minimize(&noisy, &noisy.start())
        .unwrap();
    assert!(mf.converged(), "{:?}", mf.termination);
    assert_close("matrix-free noisy", &mf.x, &sp.x, 1e-8);
    // NaN at trial points: rejected, the run still converges.
    let r = MatrixFreeLevenbergMarquardt::default()
        .with_initial_damping(1e-8)
        .minimize(&Products(Log(3)), &[10.0; 3])
        .unwrap();
    assert!(r.converged(), "{:?}", r.termination);
    assert_close("matrix-free log", &r.x, &[2.0; 3], 1e-8);
}
