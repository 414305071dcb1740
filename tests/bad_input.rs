//! Bad input to the library's public API (the Rust-user counterpart of the
//! command line's and the Python package's bad-input sweeps): each case is
//! an `Err` that names the problem, never a panic or an abort.
//!
//! - dense workspaces too large for the machine (`n × n` Hessians, `m × n`
//!   Jacobians) are an error naming the method and the size;
//! - a Hessian or Jacobian callback that replaces the matrix it was given
//!   with one of another shape is an error naming both shapes;
//! - checkpoints resumed on another problem (a network of other layers with
//!   as many parameters, fewer training examples, another residual count)
//!   are errors naming what differs;
//! - expressions: arbitrary strings and values never panic.

use hesse::continuation::{Continuation, ContinuationError, Schedule};
use hesse::diff::{check_hessian, check_jacobian};
use hesse::natural::Kfac;
use hesse::newton::levenberg_marquardt::fit_statistics;
use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
use hesse::prelude::*;
use hesse::solver::{Checkpoint, Run};
use hesse::train::{Driver, Shampoo, Soap, TrainingState};
use nalgebra::DMatrix;
use proptest::prelude::*;

/// `n = 5·10⁶`: an `n × n` matrix is 2.5·10¹³ floats, 200 TB, past any
/// machine's memory and past the 128 TB of a 47-bit address space, so the
/// reservation fails even under overcommit.
const HUGE_N: usize = 5_000_000;

/// `x ↦ ½‖x‖²` in `n` variables with every derivative.
#[allow(clippy::type_complexity)]
fn sphere(
    n: usize,
) -> FnGradient<
    impl Fn(&[f64], &mut [f64]) -> f64,
    fn(&[f64]) -> f64,
    impl Fn(&[f64], &mut DMatrix<f64>),
    impl Fn(&[f64], &[f64], &mut [f64]),
> {
    FnGradient::new(n, |x: &[f64], g: &mut [f64]| {
        g.copy_from_slice(x);
        0.5 * x.iter().map(|v| v * v).sum::<f64>()
    })
    .with_hessian(|_x: &[f64], h: &mut DMatrix<f64>| h.fill_with_identity())
    .with_hess_vec(|_x: &[f64], v: &[f64], hv: &mut [f64]| hv.copy_from_slice(v))
}

/// `r_i(x) = x_{i mod n} − i`, `m` residuals in `n` parameters.
#[allow(clippy::type_complexity)]
fn residuals(
    m: usize,
    n: usize,
) -> FnResiduals<impl Fn(&[f64], &mut [f64]), impl Fn(&[f64], &mut DMatrix<f64>)> {
    FnResiduals::new(
        n,
        m,
        |x: &[f64], r: &mut [f64]| {
            for (i, ri) in r.iter_mut().enumerate() {
                *ri = x[i % x.len()] - i as f64;
            }
        },
        |_x: &[f64], j: &mut DMatrix<f64>| {
            j.fill(0.0);
            let n = j.ncols();
            for i in 0..j.nrows() {
                j[(i, i % n)] = 1.0;
            }
        },
    )
}

fn invalid_problem(e: Error) -> String {
    match e {
        Error::InvalidProblem(m) => m,
        e => panic!("expected InvalidProblem, got {e:?}"),
    }
}

/// Before: each of these aborted the process ("memory allocation of
/// 8000000000000 bytes failed" for Newton at n = 10⁶). Now an error naming
/// the method, the matrices and the size, and what to use instead.
#[test]
fn dense_workspaces_past_memory_are_errors() {
    let p = sphere(HUGE_N);
    let x0 = vec![1.0; HUGE_N];
    let cases = [
        (
            Newton::default().minimize(&p, &x0),
            "Newton needs two dense n × n matrices at n = 5000000",
            "use NewtonCg or Lbfgs",
        ),
        (
            NewtonTrustRegion::default().minimize(&p, &x0),
            "NewtonTrustRegion needs two dense n × n matrices at n = 5000000",
            "use NewtonCg::trust_region() or Lbfgs",
        ),
        (
            SaddleFreeNewton::default().minimize(&p, &x0),
            "SaddleFreeNewton needs three dense n × n matrices at n = 5000000",
            "use SaddleFreeNewton::krylov(k)",
        ),
        (
            SaddleFreeNewton::krylov(HUGE_N).minimize(&p, &x0),
            "SaddleFreeNewton::krylov needs a dense n × k basis at n = 5000000, k = 5000000",
            "use a smaller k",
        ),
        (
            Bfgs::default().minimize(&p, &x0),
            "BFGS needs a dense n × n inverse Hessian at n = 5000000",
            "use Lbfgs",
        ),
    ];
    for (r, head, tail) in cases {
        let m = invalid_problem(r.unwrap_err());
        assert!(m.starts_with(head), "{m}");
        assert!(
            m.contains("GB of workspace), which cannot be allocated"),
            "{m}"
        );
        assert!(m.ends_with(tail), "{m}");
    }
    let m = invalid_problem(check_hessian(&p, &x0).unwrap_err());
    assert!(
        m.starts_with("check_hessian needs two dense n × n matrices at n = 5000000 (4.000e5 GB"),
        "{m}"
    );

    // m × n: 10¹³ residuals in 2 parameters.
    let m_huge = 10_000_000_000_000;
    let r = residuals(m_huge, 2);
    let m = invalid_problem(
        LevenbergMarquardt::default()
            .minimize(&r, &[0.0, 0.0])
            .unwrap_err(),
    );
    assert_eq!(
        m,
        "Levenberg-Marquardt needs four dense m × n matrices at m = 10000000000000, n = 2 \
         (6.400e5 GB of workspace), which cannot be allocated: use SparseLevenbergMarquardt"
    );
    let m = invalid_problem(fit_statistics(&r, &[0.0, 0.0]).unwrap_err());
    assert!(m.starts_with("fit statistics needs two dense m × n"), "{m}");
    let m = invalid_problem(check_jacobian(&r, &[0.0, 0.0]).unwrap_err());
    assert!(m.starts_with("check_jacobian needs two dense m × n"), "{m}");
    // Past usize: m · n overflows.
    let m = invalid_problem(
        LevenbergMarquardt::default()
            .minimize(&residuals(usize::MAX / 2, 2), &[0.0, 0.0])
            .unwrap_err(),
    );
    assert!(m.contains("(inf GB of workspace)"), "{m}");
    // A size that fits runs as before.
    let r = Newton::default()
        .minimize(&sphere(3), &[1.0, 2.0, 3.0])
        .unwrap();
    assert!(r.converged());
}

/// `rᵢ = xᵢ − 1` (i < n) and `r_n = Σ xᵢ`: a diagonal Jacobian with one
/// dense row, so `JᵀJ` is dense.
struct DenseRow(usize);

impl SparseResiduals for DenseRow {
    fn num_params(&self) -> usize {
        self.0
    }
    fn num_residuals(&self) -> usize {
        self.0 + 1
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        for (ri, xi) in r.iter_mut().zip(x) {
            *ri = xi - 1.0;
        }
        r[self.0] = x.iter().sum();
    }
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
        // Column j: rows j and n.
        let n = self.0;
        let col_ptr = (0..=n).map(|j| 2 * j).collect();
        let row_idx = (0..n).flat_map(|j| [j, n]).collect();
        SparsityPattern::new(n + 1, n, col_ptr, row_idx)
    }
    fn jacobian_values(&self, _x: &[f64], values: &mut [f64]) {
        values.fill(1.0);
    }
}

/// A sparse Jacobian with a dense row makes `JᵀJ` dense: at n = 3·10⁶,
/// 4.5·10¹² entries. Before: the pattern pass ran `O(n²)` pushing entries
/// until the allocation aborted; now an error before it, naming the way out.
/// The same structure at n = 50 solves.
#[test]
fn sparse_normal_equations_past_memory_are_an_error() {
    let n = 3_000_000;
    let m = invalid_problem(
        SparseLevenbergMarquardt::default()
            .minimize(&DenseRow(n), &vec![0.0; n])
            .unwrap_err(),
    );
    assert_eq!(
        m,
        "sparse Levenberg-Marquardt needs JᵀJ with up to 4500001500000 stored entries at \
         n = 3000000 (1.440e5 GB of workspace), which cannot be allocated: a dense row of J \
         makes JᵀJ dense; use MatrixFreeLevenbergMarquardt"
    );
    let r = SparseLevenbergMarquardt::default()
        .minimize(&DenseRow(50), &[0.0; 50])
        .unwrap();
    assert!(r.converged(), "{r:?}");
}

/// A network whose one layer has a fan-in of 5·10⁶ (5·10⁶ parameters, 40
/// MB): K-FAC's, Shampoo's and SOAP's Kronecker factors are `(fan-in + 1)²`
/// (200 TB each), natural gradient's dense Fisher `n × n`. Before: aborts on
/// the allocation; now errors naming the method and what to use instead.
#[test]
fn curvature_factors_of_a_layer_too_wide_are_errors() {
    let data = Dataset::new(HUGE_N, 1, vec![0.5; HUGE_N], vec![1.0]).unwrap();
    let mlp = Mlp::new(&[HUGE_N, 1], Activation::Tanh, Loss::MeanSquaredError).unwrap();
    let p = mlp.problem(&data).unwrap();
    let w = mlp.init(Init::Glorot, 0);
    let driver = Driver::new()
        .with_batch_size(1)
        .with_max_iter(1)
        .with_progress(false);
    let factors = "(6.000e5 GB of workspace), which cannot be allocated";
    let m = invalid_problem(driver.start(&p, Kfac::default(), w.clone()).err().unwrap());
    assert_eq!(
        m,
        format!(
            "K-FAC needs three copies of each layer's Kronecker factors (fan-in + 1)² and \
             width² {factors}: use hf or natural for layers this wide"
        )
    );
    for (method, e) in [
        (
            "Shampoo",
            driver.start(&p, Shampoo::default(), w.clone()).err(),
        ),
        ("SOAP", driver.start(&p, Soap::default(), w.clone()).err()),
    ] {
        assert_eq!(
            invalid_problem(e.unwrap()),
            format!(
                "{method} needs three copies of each layer's factors width² and \
                 (fan-in + 1)² {factors}: use a first-order method for layers this wide"
            )
        );
    }
    let ng = NaturalGradient::default().with_solve(hesse::natural::NgSolve::Dense);
    let m = invalid_problem(ng.minimize(&p, &w).unwrap_err());
    assert!(
        m.starts_with(
            "NaturalGradient with NgSolve::Dense needs three dense n × n matrices at n = 5000001"
        ),
        "{m}"
    );
    assert!(m.ends_with("use NgSolve::Cg"), "{m}");
}

/// A Hessian callback that writes a matrix of another shape. Before: the
/// dense saddle-free Newton panicked ("assertion failed: size ==
/// Some(len)"); Newton ended in LinearAlgebraFailure without a word on why.
#[test]
fn a_hessian_of_another_shape_is_an_error_naming_both_shapes() {
    for (rows, cols) in [(3, 3), (1, 1), (0, 0), (2, 3), (3, 2)] {
        let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
            g.copy_from_slice(x);
            0.5 * (x[0] * x[0] + x[1] * x[1])
        })
        .with_hessian(move |_x: &[f64], h: &mut DMatrix<f64>| {
            *h = DMatrix::identity(rows, cols);
        });
        let expected = format!(
            "the Hessian is {rows} × {cols}, expected 2 × 2 (fill the matrix given, in place)"
        );
        let x0 = [1.0, 2.0];
        for r in [
            Newton::default().minimize(&p, &x0),
            NewtonTrustRegion::default().minimize(&p, &x0),
            SaddleFreeNewton::default().minimize(&p, &x0),
        ] {
            assert_eq!(invalid_problem(r.unwrap_err()), expected);
        }
        assert_eq!(
            invalid_problem(check_hessian(&p, &x0).unwrap_err()),
            expected
        );
        // Through the Gaussian blur of continuation, which sums the Hessians.
        let e = Continuation::new(Schedule::geometric(1.0, 2))
            .minimize_with(&p, &x0, |s, x| {
                Newton::default()
                    .minimize(s, x)
                    .map_err(ContinuationError::from)
            })
            .unwrap_err();
        assert!(e.to_string().contains(&expected), "{e}");
    }
}

/// The wrong shape only from the second iterate on: `minimize` is an error;
/// a stepped run ends with NonFiniteValue at the last complete iterate, the
/// shapes in the state's note.
#[test]
fn a_hessian_of_another_shape_mid_run() {
    let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
        g.copy_from_slice(x);
        0.5 * (x[0] * x[0] + x[1] * x[1])
    })
    .with_hessian(|x: &[f64], h: &mut DMatrix<f64>| {
        if x[0] > 0.75 {
            // 2I: Newton steps halfway, to (0.5, 1).
            h.fill_with_identity();
            *h *= 2.0;
        } else {
            *h = DMatrix::zeros(1, 1);
        }
    });
    let m = invalid_problem(Newton::default().minimize(&p, &[1.0, 2.0]).unwrap_err());
    assert_eq!(
        m,
        "the Hessian is 1 × 1, expected 2 × 2 (fill the matrix given, in place)"
    );
    let mut run = Run::new(Newton::default(), &p, &[1.0, 2.0]).unwrap();
    assert_eq!(run.step(), None);
    let x1 = run.state().x.clone();
    assert!(
        (x1[0] - 0.5).abs() < 1e-12 && (x1[1] - 1.0).abs() < 1e-12,
        "{x1:?}"
    );
    assert_eq!(run.step(), Some(Termination::NonFiniteValue));
    assert_eq!(run.state().x, x1);
    assert_eq!(run.state().iteration, 1);
    assert_eq!(run.state().note.as_deref(), Some(m.as_str()));
}

/// A Jacobian of another shape. Before: Levenberg-Marquardt panicked
/// ("copy_from_slice: source slice length (4) does not match destination
/// slice length (6)"), with and without `fit`.
#[test]
fn a_jacobian_of_another_shape_is_an_error_naming_both_shapes() {
    let p = FnResiduals::new(
        2,
        3,
        |x: &[f64], r: &mut [f64]| {
            r[0] = x[0];
            r[1] = x[1];
            r[2] = x[0] + x[1] - 1.0;
        },
        |_x: &[f64], j: &mut DMatrix<f64>| *j = DMatrix::zeros(2, 2),
    );
    let expected = "the Jacobian is 2 × 2, expected 3 × 2 (fill the matrix given, in place)";
    let x0 = [1.0, 1.0];
    let lm = LevenbergMarquardt::default();
    assert_eq!(invalid_problem(lm.minimize(&p, &x0).unwrap_err()), expected);
    assert_eq!(invalid_problem(lm.fit(&p, &x0).unwrap_err()), expected);
    assert_eq!(
        invalid_problem(fit_statistics(&p, &x0).unwrap_err()),
        expected
    );
    assert_eq!(
        invalid_problem(check_jacobian(&p, &x0).unwrap_err()),
        expected
    );
    // The least-squares adapter has no error to return: NaN, not a panic.
    let r = Bfgs::default()
        .minimize(&LeastSquares::new(&p), &x0)
        .unwrap();
    assert_eq!(r.termination, Termination::NonFiniteValue);
}

/// Line-search constants outside their domain. Before: Backtracking took
/// any `c₁` (NaN, 2), `ρ` and a budget of 0 and failed its first search
/// (LineSearchFailed at iteration 0, or Newton on Armijo's NaN test), and
/// More-Thuente took `c₂ < c₁`, for which a Wolfe point may not exist.
#[test]
fn line_search_constants_out_of_their_domain_are_errors() {
    let p = hesse::problems::Rosenbrock::new(2);
    let x0 = [-1.2, 1.0];
    let bt = Backtracking::default();
    let cases = [
        (
            bt.clone().with_c1(f64::NAN),
            "invalid option c1 = NaN: must be in (0, 1)",
        ),
        (
            bt.clone().with_c1(2.0),
            "invalid option c1 = 2: must be in (0, 1)",
        ),
        (
            bt.clone().with_c1(0.0),
            "invalid option c1 = 0: must be in (0, 1)",
        ),
        (
            bt.clone().with_max_evals(0),
            "invalid option max_evals = 0: must be >= 1",
        ),
        (
            Backtracking {
                rho_lo: 0.0,
                ..bt.clone()
            },
            "invalid option rho_lo = 0: must be in (0, 1)",
        ),
        (
            Backtracking {
                rho_hi: 0.05,
                ..bt.clone()
            },
            "invalid option rho_hi = 0.05: must be in [rho_lo, 1)",
        ),
    ];
    for (ls, expected) in cases {
        for r in [
            GradientDescent::with_line_search(ls.clone()).minimize(&p, &x0),
            Newton::with_line_search(ls.clone()).minimize(&p, &x0),
            Lbfgs::with_line_search(ls.clone()).minimize(&p, &x0),
        ] {
            assert_eq!(r.unwrap_err().to_string(), expected);
        }
    }
    let mt = MoreThuente::default().with_c1(0.5).with_c2(0.1);
    assert_eq!(
        Lbfgs::with_line_search(mt)
            .minimize(&p, &x0)
            .unwrap_err()
            .to_string(),
        "invalid option c2 = 0.1: must be >= c1 (0 < c1 <= c2 < 1)"
    );
    // c1 = c2 (Moré-Thuente's own tables) and the defaults run.
    let mt = MoreThuente::default().with_c1(1e-3).with_c2(1e-3);
    assert!(
        Lbfgs::with_line_search(mt)
            .minimize(&p, &x0)
            .unwrap()
            .converged()
    );
    assert!(
        GradientDescent::with_line_search(bt)
            .with_max_iter(100)
            .minimize(&p, &x0)
            .is_ok()
    );
}

/// A NaN feature makes the loss NaN: every registered method ends the run
/// with `StopReason::NonFinite`. Before: `natural` returned an error from
/// its CG solve, "b[0] = NaN is not finite".
#[test]
fn nan_from_the_data_ends_training_for_every_method() {
    use hesse::nn::MlpProblem;
    use hesse::train::StopReason;
    use hesse::train::registry::{self, MethodOptions};
    let data = Dataset::new(
        2,
        2,
        vec![f64::NAN, 1.0, 0.5, 0.2],
        vec![1.0, 0.0, 0.0, 1.0],
    )
    .unwrap();
    let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let driver = Driver::new()
        .with_batch_size(2)
        .with_max_iter(3)
        .with_progress(false);
    for name in registry::NAMES {
        let method = registry::build::<MlpProblem<'_>>(name, &MethodOptions::default()).unwrap();
        let state = driver
            .train(&problem, method, mlp.init(Init::Glorot, 0))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(state.stopped, Some(StopReason::NonFinite), "{name}");
        assert_eq!(state.iteration, 0, "{name}");
    }
}

fn spirals() -> Dataset {
    Dataset::two_spirals(30, 0.0, 1).unwrap()
}

/// A training state saved on a [2, 3, 2] network (17 parameters) resumed
/// on [2, 3, 1, 2] (also 17). Before: K-FAC panicked ("index out of bounds:
/// the len is 1 but the index is 1"); Shampoo and SOAP went on with the old
/// layer blocks, preconditioning parameters of one layer with another's.
#[test]
fn a_checkpoint_resumed_on_another_network_is_an_error() {
    let data = spirals();
    let a = Mlp::new(&[2, 3, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let b = Mlp::new(&[2, 3, 1, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    assert_eq!(a.num_params(), b.num_params());
    let (pa, pb) = (a.problem(&data).unwrap(), b.problem(&data).unwrap());
    let driver = Driver::new()
        .with_batch_size(10)
        .with_max_iter(3)
        .with_progress(false);
    let blocks = "layer blocks [3×3, 2×4] (width × fan-in + 1), the network [3×3, 1×4, 2×2]: \
                  resume a checkpoint on the network it was saved with";

    let state = driver
        .train(&pa, Kfac::default(), a.init(Init::Glorot, 0))
        .unwrap();
    let mut resumed: TrainingState<Kfac> =
        serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    let more = driver.clone().with_max_iter(6);
    let m = invalid_problem(more.run(&pb, &mut resumed, &mut |_| true).unwrap_err());
    assert_eq!(m, format!("the K-FAC state has {blocks}"));
    // On its own network it goes on.
    more.run(&pa, &mut resumed, &mut |_| true).unwrap();
    assert_eq!(resumed.iteration, 6);

    let state = driver
        .train(&pa, Shampoo::default(), a.init(Init::Glorot, 0))
        .unwrap();
    let mut resumed = state.clone();
    let m = invalid_problem(more.run(&pb, &mut resumed, &mut |_| true).unwrap_err());
    assert_eq!(m, format!("the Shampoo state has {blocks}"));

    let state = driver
        .train(&pa, Soap::default(), a.init(Init::Glorot, 0))
        .unwrap();
    let mut resumed = state.clone();
    let m = invalid_problem(more.run(&pb, &mut resumed, &mut |_| true).unwrap_err());
    assert_eq!(m, format!("the SOAP state has {blocks}"));
}

/// A training state at example 50 of an epoch resumed on 14 examples.
/// Before: a panic in the driver ("min > max. min = 1, max = 0") on the
/// empty minibatch.
#[test]
fn a_training_state_resumed_on_fewer_examples_is_an_error() {
    let mlp = Mlp::new(&[2, 5, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let (data, small) = (spirals(), Dataset::two_spirals(7, 0.0, 1).unwrap());
    assert_eq!((data.len(), small.len()), (60, 14));
    let driver = Driver::new()
        .with_batch_size(10)
        .with_max_iter(5)
        .with_progress(false);
    let state = driver
        .train(
            &mlp.problem(&data).unwrap(),
            Kfac::default(),
            mlp.init(Init::Glorot, 0),
        )
        .unwrap();
    assert_eq!((state.epoch, state.cursor), (0, 50));
    let mut resumed = state.clone();
    let e = Driver::new()
        .with_batch_size(5)
        .with_max_iter(10)
        .with_progress(false)
        .run(&mlp.problem(&small).unwrap(), &mut resumed, &mut |_| true)
        .unwrap_err();
    assert_eq!(
        invalid_problem(e),
        "the training state is at example 50 of epoch 0, past the 14 training examples of \
         the objective: resume a checkpoint on the data it was saved with"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The boundary of the check: a cursor below the examples resumes, one
    /// at or past them is refused.
    #[test]
    fn a_cursor_resumes_iff_it_is_below_the_examples(cursor in 0usize..30) {
        let mlp = Mlp::new(&[2, 2, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let data = Dataset::two_spirals(7, 0.0, 1).unwrap(); // 14 examples
        let problem = mlp.problem(&data).unwrap();
        let driver = Driver::new().with_batch_size(4).with_max_iter(1).with_progress(false);
        let mut state = driver
            .start(&problem, Kfac::default(), mlp.init(Init::Glorot, 0))
            .unwrap();
        state.cursor = cursor;
        let r = driver.run(&problem, &mut state, &mut |_| true);
        prop_assert_eq!(r.is_ok(), cursor < 14, "{:?}", r);
    }
}

/// A Levenberg-Marquardt checkpoint of a fit to 5 residuals resumed on 9 or
/// 3 with the same parameters. Before: panics ("Matrix view: input data
/// buffer too small", "copy_from_slice: source slice length (5) ...").
#[test]
fn a_least_squares_checkpoint_resumed_on_another_residual_count_is_an_error() {
    let p5 = residuals(5, 2);
    let mut run = Run::new(LevenbergMarquardt::default(), &p5, &[0.5, 0.1]).unwrap();
    run.step();
    let json = serde_json::to_string(&run.checkpoint()).unwrap();
    let load = || serde_json::from_str::<Checkpoint<LevenbergMarquardt>>(&json).unwrap();
    for m in [9, 3] {
        let e = Run::resume(load(), &residuals(m, 2)).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!("the checkpoint's residual vector has 5 entries, problem has {m}")
        );
    }
    // A gradient of another length than x (a hand-edited file).
    let mut c = load();
    c.state.g.push(0.0);
    let e = Run::resume(c, &p5).err().unwrap();
    assert_eq!(
        e.to_string(),
        "the checkpoint's gradient has 3 entries, problem has 2"
    );
    // The checkpoint resumes on its own problem.
    let r = Run::resume(load(), &p5).unwrap().finish();
    assert!(r.converged(), "{r:?}");
}

/// A checkpoint of a 4-variable run whose `x` and `g` were edited to 2
/// entries, resumed on a 2-variable problem: the solver's own state is
/// still sized for 4. Before: BFGS indexed out of bounds, L-BFGS failed an
/// assertion in its pair kernels, CG ran on a 4-entry direction.
#[test]
fn an_edited_checkpoint_whose_solver_state_has_another_size_is_an_error() {
    use hesse::problems::Rosenbrock;
    use hesse::solver::Minimizer;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    /// Two iterations on `p4`, then `x` and `g` cut to 2 entries, through JSON.
    fn edited<'p, M>(m: M, p4: &'p Rosenbrock) -> Checkpoint<M>
    where
        M: Serialize + DeserializeOwned + Minimizer<&'p Rosenbrock>,
    {
        let mut run = Run::new(m, p4, &[0.5; 4]).unwrap();
        run.step();
        run.step();
        let mut c = run.into_checkpoint();
        c.state.x.truncate(2);
        c.state.g.truncate(2);
        serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap()
    }
    let (r2, r4) = (Rosenbrock::new(2), Rosenbrock::new(4));
    let e = Run::resume(edited(Bfgs::default(), &r4), &r2)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "the checkpoint's inverse Hessian has 16 entries, problem has 4"
    );
    let e = Run::resume(edited(Lbfgs::default(), &r4), &r2)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "the checkpoint's L-BFGS vector length has 4 entries, problem has 2"
    );
    let e = Run::resume(edited(NonlinearCg::default(), &r4), &r2)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "the checkpoint's CG direction has 4 entries, problem has 2"
    );
}

/// `ncols = usize::MAX` overflowed `ncols + 1` (index out of bounds), and a
/// count past memory aborted in `from_triplets`.
#[test]
fn a_sparsity_pattern_past_memory_is_an_error() {
    let e = SparsityPattern::new(2, usize::MAX, vec![], vec![]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid sparsity pattern: ncols = 18446744073709551615: ncols + 1 overflows"
    );
    for ncols in [usize::MAX, 1 << 60] {
        let e = SparsityPattern::from_triplets(2, ncols, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "invalid sparsity pattern: ncols = {ncols}: col_ptr of ncols + 1 entries \
                 cannot be allocated"
            )
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary text parses or is a parse error; what parses compiles and
    /// evaluates (value, gradient, Hessian-vector product, Hessian) at
    /// arbitrary values, NaN and ±inf included, without a panic.
    #[test]
    fn expressions_never_panic(
        source in "[xyab0-9.e+*/^(),\\- \\[\\]πsincoexplgtahqrmu_]{0,40}",
        values in proptest::collection::vec(
            prop_oneof![
                any::<f64>(),
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(-0.0),
                Just(1e308),
            ],
            4,
        ),
    ) {
        if let Ok(e) = hesse::expr::Expr::parse(&source) {
            let names: Vec<String> = e.variables().to_vec();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let n = names.len();
            if let Ok(p) = hesse::expr::ExprProblem::new(&e, &names)
                && n > 0
                && n <= values.len()
            {
                let x = &values[..n];
                let mut g = vec![0.0; n];
                p.value_grad(x, &mut g);
                e.eval(x);
                let mut hv = vec![0.0; n];
                p.hess_vec(x, &values[..n], &mut hv);
                let mut h = DMatrix::zeros(n, n);
                p.hessian(x, &mut h);
            }
        }
    }
}
