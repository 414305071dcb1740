//! Fisher-vector products and Hessian-free optimization (`hesse::natural`).

// The deprecated minibatch entry points (`train_with`, `Kfac::train`,
// `HfStep`) stay tested as thin wrappers over `hesse::train::Driver`.
#![allow(deprecated)]

use hesse::natural::statistics::grad_sq_sum;
use hesse::natural::{Fisher, FisherKind, HessianFree, HfTraining, NaturalGradient};
use hesse::nn::{Activation, Dataset, Init, Loss, Mlp, MlpProblem};
use hesse::prelude::*;
use hesse::solver::Run;
use nalgebra::{DMatrix, DVector};

/// A tiny network and data set for `loss`: 3 inputs, 4 tanh units, 3 outputs.
fn tiny(loss: Loss, seed: u64) -> (Mlp, Dataset) {
    let mlp = Mlp::new(&[3, 4, 3], Activation::Tanh, loss).unwrap();
    let mut data = Dataset::teacher(7, &[3, 5, 3], 0.3, seed).unwrap();
    if loss != Loss::MeanSquaredError {
        // Targets in [0, 1] (logistic) or one-hot (softmax).
        let k = 3;
        let mut t = data.targets().to_vec();
        for c in t.chunks_exact_mut(k) {
            let arg = (0..k).max_by(|&a, &b| c[a].total_cmp(&c[b])).unwrap();
            for (j, v) in c.iter_mut().enumerate() {
                *v = match loss {
                    Loss::SoftmaxCrossEntropy => f64::from(j == arg),
                    _ => 1.0 / (1.0 + (-*v).exp()),
                };
            }
        }
        data = Dataset::new(3, 3, data.inputs().to_vec(), t).unwrap();
    }
    (mlp, data)
}

/// Per-example Jacobian `Jᵢ` (`k × n`) from Jacobian-vector products.
fn jacobian(problem: &MlpProblem<'_>, x: &[f64], i: usize) -> DMatrix<f64> {
    let n = x.len();
    let k = problem.mlp().outputs();
    let mut j = DMatrix::zeros(k, n);
    let mut e = vec![0.0; n];
    let mut col = vec![0.0; k];
    for c in 0..n {
        e[c] = 1.0;
        problem.jac_vec_batch(x, &[i], &e, &mut col).unwrap();
        e[c] = 0.0;
        j.column_mut(c).copy_from_slice(&col);
    }
    j
}

/// The Fisher from its definition, `E_y[s sᵀ]` for the score `s = Jᵀ ∇ₒℓ(o, y)`,
/// with the expectation over `y ∼ p(·|o)` computed exactly: by enumeration
/// (softmax over classes, logistic over {0,1}^k) or by symmetric points with
/// the Gaussian's covariance (`y = o ± √k eⱼ`, weights `1/(2k)`).
fn fisher_by_definition(problem: &MlpProblem<'_>, x: &[f64]) -> DMatrix<f64> {
    let mlp = problem.mlp();
    let data = problem.data();
    let n = x.len();
    let k = mlp.outputs();
    let mut f = DMatrix::zeros(n, n);
    for i in 0..data.len() {
        let j = jacobian(problem, x, i);
        let o = mlp.predict(x, data.input(i), None).unwrap();
        // (weight, ∇ₒℓ(o, y)) over the support / points.
        let mut terms: Vec<(f64, DVector<f64>)> = Vec::new();
        match mlp.loss() {
            Loss::SoftmaxCrossEntropy => {
                let m = o.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = o.iter().map(|v| (v - m).exp()).sum();
                let p: Vec<f64> = o.iter().map(|v| (v - m).exp() / z).collect();
                for c in 0..k {
                    let mut s = DVector::from_vec(p.clone());
                    s[c] -= 1.0;
                    terms.push((p[c], s));
                }
            }
            Loss::LogisticCrossEntropy => {
                let p: Vec<f64> = o.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
                for bits in 0..(1u32 << k) {
                    let mut w = 1.0;
                    let mut s = DVector::zeros(k);
                    for c in 0..k {
                        let y = f64::from((bits >> c) & 1);
                        w *= if y == 1.0 { p[c] } else { 1.0 - p[c] };
                        s[c] = p[c] - y;
                    }
                    terms.push((w, s));
                }
            }
            Loss::MeanSquaredError => {
                let r = (k as f64).sqrt();
                for c in 0..k {
                    for sign in [-1.0, 1.0] {
                        let mut s = DVector::zeros(k);
                        s[c] = sign * r; // o − y
                        terms.push((0.5 / k as f64, s));
                    }
                }
            }
        }
        for (w, s) in terms {
            let g = j.transpose() * s;
            f += w * &g * g.transpose();
        }
    }
    f / data.len() as f64
}

fn empirical_by_definition(problem: &MlpProblem<'_>, x: &[f64]) -> DMatrix<f64> {
    let n = x.len();
    let b = problem.data().len();
    let mut f = DMatrix::zeros(n, n);
    let mut g = vec![0.0; n];
    for i in 0..b {
        problem.value_grad_batch(x, &[i], &mut g).unwrap();
        let gv = DVector::from_column_slice(&g);
        f += &gv * gv.transpose();
    }
    f / b as f64
}

fn gauss_newton_dense(problem: &MlpProblem<'_>, x: &[f64]) -> DMatrix<f64> {
    let n = x.len();
    let mut m = DMatrix::zeros(n, n);
    let mut e = vec![0.0; n];
    let mut col = vec![0.0; n];
    for c in 0..n {
        e[c] = 1.0;
        problem.gauss_newton_vec(x, &e, &mut col);
        e[c] = 0.0;
        m.column_mut(c).copy_from_slice(&col);
    }
    m
}

fn rel_err(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    (a - b).amax() / b.amax().max(1e-300)
}

#[test]
fn fisher_matrices_are_symmetric_psd() {
    for loss in Loss::ALL {
        for kind in [
            FisherKind::Exact,
            FisherKind::Empirical,
            FisherKind::Sampled {
                samples: 2,
                seed: 7,
            },
        ] {
            let (mlp, data) = tiny(loss, 3);
            let problem = mlp.problem(&data).unwrap();
            let x = mlp.init(Init::Glorot, 5);
            let f = Fisher::new(&problem, &x, None, kind).unwrap();
            let raw = {
                // Unsymmetrized columns: the products themselves are symmetric.
                let n = x.len();
                let mut m = DMatrix::zeros(n, n);
                let mut e = vec![0.0; n];
                let mut col = vec![0.0; n];
                for c in 0..n {
                    e[c] = 1.0;
                    f.try_apply(&e, &mut col).unwrap();
                    e[c] = 0.0;
                    m.column_mut(c).copy_from_slice(&col);
                }
                m
            };
            assert!(rel_err(&raw.transpose(), &raw) < 1e-12, "{loss:?} {kind:?}");
            let eig = f.dense().unwrap().symmetric_eigenvalues();
            let scale = eig.amax();
            assert!(
                eig.min() > -1e-12 * scale,
                "{loss:?} {kind:?}: {}",
                eig.min()
            );
        }
    }
}

#[test]
fn fisher_products_equal_explicit_matrices() {
    for loss in Loss::ALL {
        let (mlp, data) = tiny(loss, 11);
        let problem = mlp.problem(&data).unwrap();
        let x = mlp.init(Init::Glorot, 2);
        let exact = Fisher::new(&problem, &x, None, FisherKind::Exact).unwrap();
        let e = rel_err(&exact.dense().unwrap(), &fisher_by_definition(&problem, &x));
        assert!(e < 1e-12, "{loss:?} exact: {e:e}");
        let emp = Fisher::new(&problem, &x, None, FisherKind::Empirical).unwrap();
        let e = rel_err(
            &emp.dense().unwrap(),
            &empirical_by_definition(&problem, &x),
        );
        assert!(e < 1e-12, "{loss:?} empirical: {e:e}");
    }
}

#[test]
fn exact_fisher_equals_gauss_newton() {
    // Softmax cross-entropy and ½‖·‖² (unit-variance Gaussian), split at the
    // logits; logistic outputs as well.
    for loss in Loss::ALL {
        let (mlp, data) = tiny(loss, 17);
        let problem = mlp.problem(&data).unwrap();
        let x = mlp.init(Init::Glorot, 9);
        let f = Fisher::new(&problem, &x, None, FisherKind::Exact).unwrap();
        let e = rel_err(&f.dense().unwrap(), &gauss_newton_dense(&problem, &x));
        assert!(e < 1e-12, "{loss:?}: {e:e}");
    }
}

#[test]
fn fisher_on_a_minibatch_and_bad_input() {
    let (mlp, data) = tiny(Loss::SoftmaxCrossEntropy, 1);
    let problem = mlp.problem(&data).unwrap();
    let x = mlp.init(Init::Glorot, 0);
    let batch = [1, 4];
    let sub_data = data.subset(&batch).unwrap();
    let sub = mlp.problem(&sub_data).unwrap();
    for kind in [FisherKind::Exact, FisherKind::Empirical] {
        let a = Fisher::new(&problem, &x, Some(&batch), kind).unwrap();
        let b = Fisher::new(&sub, &x, None, kind).unwrap();
        assert!(rel_err(&a.dense().unwrap(), &b.dense().unwrap()) < 1e-13);
        assert_eq!(a.batch_len(), 2);
    }
    assert!(Fisher::new(&problem, &x[1..], None, FisherKind::Exact).is_err());
    assert!(Fisher::new(&problem, &x, Some(&[99]), FisherKind::Exact).is_err());
    assert!(Fisher::new(&problem, &x, Some(&[]), FisherKind::Exact).is_err());
    let f = Fisher::new(&problem, &x, None, FisherKind::Exact).unwrap();
    let mut out = vec![0.0; 2];
    assert!(f.try_apply(&x, &mut out).is_err());
}

#[test]
fn hessian_free_damping_follows_the_rho_rule() {
    let data = Dataset::two_spirals(60, 0.0, 3).unwrap();
    let mlp = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 1);
    let hf = HessianFree::default()
        .with_initial_damping(10.0)
        .with_max_iter(30);
    let mut run = Run::new(hf, &problem, &x0).unwrap();
    while run.step().is_none() {}
    let trace = run.solver().trace().clone();
    let report = run.finish();
    assert!(report.f < problem.value(&x0));
    let k = trace.lambda.len();
    assert!(k >= 10, "{k} iterations");
    let (mut grew, mut shrank) = (false, false);
    for i in 0..k - 1 {
        let (l, rho, next) = (trace.lambda[i], trace.rho[i], trace.lambda[i + 1]);
        let want = if rho.is_nan() || rho < 0.25 {
            grew = true;
            1.5 * l
        } else if rho > 0.75 {
            shrank = true;
            l * (2.0 / 3.0)
        } else {
            l
        };
        assert!(
            (next - want).abs() <= 1e-12 * want,
            "iteration {i}: λ {l} ρ {rho} → {next}"
        );
    }
    assert!(shrank, "ρ never above ¾: {:?}", trace.rho);
    let _ = grew;
}

#[test]
fn hessian_free_rejects_bad_options() {
    let data = Dataset::two_spirals(10, 0.0, 3).unwrap();
    let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 1);
    assert!(
        HessianFree::default()
            .with_initial_damping(-1.0)
            .minimize(&problem, &x0)
            .is_err()
    );
    assert!(
        HessianFree::default()
            .with_decay(1.5)
            .minimize(&problem, &x0)
            .is_err()
    );
    assert!(
        HessianFree::default()
            .with_max_cg_iter(0)
            .minimize(&problem, &x0)
            .is_err()
    );
}

/// Adam with minibatch 128 for `iters` steps from `x0`; the full loss after.
fn adam_loss(problem: &MlpProblem<'_>, x0: &[f64], lr: f64, iters: usize) -> f64 {
    let n = problem.data().len();
    let mut opt = Adam::new(lr);
    let mut x = x0.to_vec();
    let mut g = vec![0.0; x.len()];
    let idx: Vec<usize> = (0..n).collect();
    let mut it = 0;
    while it < iters {
        for b in idx.chunks(128) {
            problem.value_grad_batch(&x, b, &mut g).unwrap();
            opt.step(&mut x, &g);
            it += 1;
            if it == iters {
                break;
            }
        }
    }
    problem.value(&x)
}

#[test]
fn hessian_free_trains_digits_classifier_to_adams_loss() {
    // 64-16-10 tanh, softmax cross-entropy, all 1797 digits. The baseline is
    // Adam at its best rate of {1e-4, 3e-4, 1e-3, 3e-3, 1e-2} on this problem
    // (1e-2, from `examples/hf_digits.rs`) for 1500 steps of batch 128
    // (~107 epochs).
    let data = Dataset::digits().unwrap();
    let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 0);
    let target = adam_loss(&problem, &x0, 1e-2, 1500);
    let report = HessianFree::default()
        .with_max_iter(25)
        .minimize(&problem, &x0)
        .unwrap();
    eprintln!("HF {} Adam {target} evals {:?}", report.f, report.evals);
    assert!(report.f <= target, "HF {} > Adam {target}", report.f);
    // Evaluation bounds: one gradient per iteration, a few values for the
    // CG-backtracking, at most 250 CG products per iteration.
    assert!(report.evals.g <= 26, "{:?}", report.evals);
    assert!(report.evals.f <= 8 * 25, "{:?}", report.evals);
    assert!(report.evals.hv <= 25 * 251, "{:?}", report.evals);
}

#[test]
fn hessian_free_minibatch_training_decreases_the_loss() {
    let data = Dataset::digits().unwrap();
    let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 0);
    for precondition in [false, true] {
        let opts = HfTraining {
            iterations: 15,
            grad_batch: Some(600),
            curvature_batch: 120,
            precondition,
            seed: 4,
        };
        let run = HessianFree::default().train(&problem, &x0, &opts).unwrap();
        assert_eq!(run.loss.len(), 16);
        let last = *run.loss.last().unwrap();
        assert!(
            last < 0.2 * run.loss[0],
            "precondition {precondition}: {:?}",
            run.loss
        );
    }
    let bad = HfTraining {
        iterations: 1,
        grad_batch: Some(10),
        curvature_batch: 20,
        precondition: false,
        seed: 0,
    };
    assert!(HessianFree::default().train(&problem, &x0, &bad).is_err());
    assert!(
        HessianFree::default()
            .train(
                &problem,
                &x0[1..],
                &HfTraining {
                    curvature_batch: 5,
                    ..bad.clone()
                }
            )
            .is_err()
    );
}

#[test]
fn natural_gradient_damping_follows_the_rho_rule_and_trains() {
    let data = Dataset::digits().unwrap();
    let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 0);
    let mut run = Run::new(NaturalGradient::default().with_max_iter(25), &problem, &x0).unwrap();
    while run.step().is_none() {}
    let trace = run.solver().trace().clone();
    let report = run.finish();
    eprintln!("natural: f {} evals {:?}", report.f, report.evals);
    let target = adam_loss(&problem, &x0, 1e-2, 1500);
    assert!(report.f <= target, "natural {} > Adam {target}", report.f);
    for i in 0..trace.lambda.len() - 1 {
        let (l, rho, next) = (trace.lambda[i], trace.rho[i], trace.lambda[i + 1]);
        let want = if rho.is_nan() || rho < 0.25 {
            1.5 * l
        } else if rho > 0.75 {
            l * (2.0 / 3.0)
        } else {
            l
        };
        assert!((next - want).abs() <= 1e-12 * want, "iteration {i}");
    }
    assert!(report.evals.hv <= 25 * 52, "{:?}", report.evals);
}

#[test]
fn natural_gradient_minibatch_exact_and_empirical() {
    let data = Dataset::digits().unwrap();
    let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 0);
    let opts = HfTraining {
        iterations: 15,
        grad_batch: Some(600),
        curvature_batch: 120,
        precondition: false,
        seed: 4,
    };
    let mut finals = Vec::new();
    for kind in [FisherKind::Exact, FisherKind::Empirical] {
        let run = NaturalGradient::default()
            .train(&problem, &x0, &opts, kind)
            .unwrap();
        let last = *run.loss.last().unwrap();
        eprintln!("{kind:?}: {:?}", run.loss);
        assert!(last < run.loss[0], "{kind:?}");
        finals.push(last);
    }
    // Same batches, same damping rule: the exact Fisher trains faster here
    // (0.115 against 0.279 after 15 iterations).
    assert!(finals[0] < finals[1], "{finals:?}");
    assert!(
        NaturalGradient::default()
            .with_learning_rate(0.0)
            .train(&problem, &x0, &opts, FisherKind::Exact)
            .is_err()
    );
}

#[test]
fn sampled_fisher_converges_to_the_exact_fisher() {
    for loss in Loss::ALL {
        let (mlp, data) = tiny(loss, 21);
        let problem = mlp.problem(&data).unwrap();
        let x = mlp.init(Init::Glorot, 3);
        let exact = Fisher::new(&problem, &x, None, FisherKind::Exact)
            .unwrap()
            .dense()
            .unwrap();
        let sampled = |samples, seed| {
            Fisher::new(&problem, &x, None, FisherKind::Sampled { samples, seed })
                .unwrap()
                .dense()
                .unwrap()
        };
        let few = rel_err(&sampled(10, 1), &exact);
        let many = rel_err(&sampled(20_000, 1), &exact);
        // Monte Carlo error ~ 1/√S: 10 → 20 000 samples shrinks it ~45×.
        assert!(many < 0.03, "{loss:?}: {many}");
        assert!(many < few / 5.0, "{loss:?}: {few} → {many}");
        assert_eq!(sampled(3, 9), sampled(3, 9), "seeded");
    }
    let (mlp, data) = tiny(Loss::MeanSquaredError, 1);
    let problem = mlp.problem(&data).unwrap();
    let x = mlp.init(Init::Glorot, 0);
    let zero = FisherKind::Sampled {
        samples: 0,
        seed: 0,
    };
    assert!(Fisher::new(&problem, &x, None, zero).is_err());
}

#[test]
fn squared_per_example_gradients_match_a_loop() {
    for loss in Loss::ALL {
        let (mlp, data) = tiny(loss, 5);
        let problem = mlp.problem(&data).unwrap();
        let x = mlp.init(Init::Glorot, 8);
        let batch = [0, 2, 3, 6];
        let mut want = vec![0.0; x.len()];
        let mut g = vec![0.0; x.len()];
        for &i in &batch {
            problem.value_grad_batch(&x, &[i], &mut g).unwrap();
            for (w, v) in want.iter_mut().zip(&g) {
                *w += v * v;
            }
        }
        let mut got = vec![0.0; x.len()];
        grad_sq_sum(&problem, &x, &batch, &mut got).unwrap();
        for (a, b) in got.iter().zip(&want) {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{loss:?}: {a} vs {b}"
            );
        }
        assert!(grad_sq_sum(&problem, &x, &batch, &mut g[1..]).is_err());
        assert!(grad_sq_sum(&problem, &x, &[99], &mut got).is_err());
    }
}

#[test]
fn train_with_reports_each_iteration_and_stops_on_request() {
    use hesse::natural::HfStep;
    let data = Dataset::digits().unwrap();
    let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 0);
    let opts = HfTraining {
        iterations: 8,
        grad_batch: Some(600),
        curvature_batch: 120,
        precondition: true,
        seed: 4,
    };
    // The callback sees what `train` records: same losses, same λ and ρ trace.
    let mut hf = HessianFree::default();
    let run = hf.train(&problem, &x0, &opts).unwrap();
    let trace = hf.trace().clone();
    let mut steps = Vec::new();
    let mut hf = HessianFree::default();
    let x = hf
        .train_with(&problem, &x0, &opts, &mut |s: &HfStep<'_>| {
            steps.push((
                s.iteration,
                problem.value(s.x),
                s.lambda,
                s.rho,
                s.cg_iterations,
            ));
            assert!(s.batch_loss.is_finite() && s.cg_iterations >= 1);
            true
        })
        .unwrap();
    assert_eq!(x, run.x);
    assert_eq!(steps.len(), 8);
    for (k, &(it, loss, lambda, rho, cg)) in steps.iter().enumerate() {
        assert_eq!(it, k + 1);
        assert_eq!(loss, run.loss[k + 1]);
        assert_eq!((lambda, cg), (trace.lambda[k], trace.cg_iterations[k]));
        assert!(rho == trace.rho[k] || (rho.is_nan() && trace.rho[k].is_nan()));
    }
    // Returning false stops after that iteration, for both methods.
    let mut seen = 0;
    HessianFree::default()
        .train_with(&problem, &x0, &opts, &mut |s: &HfStep<'_>| {
            seen = s.iteration;
            s.iteration < 3
        })
        .unwrap();
    assert_eq!(seen, 3);
    let mut seen = 0;
    let x = NaturalGradient::default()
        .train_with(&problem, &x0, &opts, FisherKind::Exact, &mut |s| {
            seen = s.iteration;
            s.iteration < 2
        })
        .unwrap();
    assert_eq!(seen, 2);
    assert!(problem.value(&x) < problem.value(&x0));
    // A damping floor holds on every iteration; a negative one is an error.
    let mut hf = HessianFree::default().with_min_damping(0.3);
    hf.train(&problem, &x0, &opts).unwrap();
    assert!(hf.trace().lambda.iter().all(|&l| l >= 0.3));
    assert!(hf.trace().lambda.contains(&0.3), "{:?}", hf.trace().lambda);
    assert!(
        HessianFree::default()
            .with_min_damping(-1.0)
            .train(&problem, &x0, &opts)
            .is_err()
    );
}

/// The dense Cholesky solve for tiny networks gives the iterates of an
/// exact CG solve (CG to a relative residual of 1e-13, n steps allowed), on
/// the full problem and on minibatches with the exact and empirical Fisher.
#[test]
fn natural_gradient_dense_solve_matches_exact_cg() {
    use hesse::natural::NgSolve;
    let (mlp, data) = tiny(Loss::SoftmaxCrossEntropy, 5);
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 2);
    let n = x0.len();
    let exact_cg = NaturalGradient::default()
        .with_cg_rtol(1e-13)
        .with_max_cg_iter(4 * n);
    let dense = NaturalGradient::default().with_solve(NgSolve::Dense);
    let a = exact_cg
        .clone()
        .with_max_iter(8)
        .minimize(&problem, &x0)
        .unwrap();
    let b = dense
        .clone()
        .with_max_iter(8)
        .minimize(&problem, &x0)
        .unwrap();
    assert_eq!(a.iterations, b.iterations);
    let diff =
        a.x.iter()
            .zip(&b.x)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
    assert!(diff < 1e-8, "full problem: {diff}");
    assert!(b.f < problem.value(&x0));
    let opts = HfTraining {
        iterations: 6,
        grad_batch: Some(5),
        curvature_batch: 3,
        precondition: false,
        seed: 1,
    };
    for kind in [FisherKind::Exact, FisherKind::Empirical] {
        let ra = exact_cg.clone().train(&problem, &x0, &opts, kind).unwrap();
        let rb = dense.clone().train(&problem, &x0, &opts, kind).unwrap();
        let diff =
            ra.x.iter()
                .zip(&rb.x)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max);
        assert!(diff < 1e-8, "{kind:?}: {diff}");
    }
}
