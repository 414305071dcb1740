//! Networks' exact products against an independent reference: the same
//! network written per example over num-dual numbers (exact derivatives to
//! rounding) and central finite differences.

// The reference indexes units and examples as the formulas do.
#![allow(clippy::needless_range_loop)]

use hesse::diff::{DualWork, Real, ScalarFn, VectorFn, dual_gradient, dual_hessian, dual_jacobian};
use hesse::nn::{Activation, Dataset, Layer, Loss, Mlp, NnError};
use hesse::problem::{GaussNewtonVec, Gradient, HessVec, Objective};
use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The network on examples `batch`, written plainly: loops per example and
/// per unit, batch-norm statistics as sums.
struct Reference<'a> {
    mlp: &'a Mlp,
    data: &'a Dataset,
    batch: Vec<usize>,
}

fn act<D: Real>(a: Activation, y: D) -> D {
    match a {
        Activation::Identity => y,
        Activation::Tanh => y.tanh(),
        Activation::Logistic => ((-y).exp() + 1.0).recip(),
        Activation::Relu => {
            if y.re() > 0.0 {
                y
            } else {
                D::from(0.0)
            }
        }
        Activation::Softplus => (y.exp() + 1.0).ln(),
    }
}

impl Reference<'_> {
    fn outputs<D: Real>(&self, p: &[D]) -> Vec<D> {
        let mlp = self.mlp;
        let b = self.batch.len();
        let mut a: Vec<D> = self
            .batch
            .iter()
            .flat_map(|&i| self.data.input(i).iter().map(|&v| D::from(v)))
            .collect();
        for (l, layer) in mlp.layers().iter().enumerate() {
            let (wr, (m, k)) = mlp.weights_range(l);
            let w = &p[wr];
            let mut y = vec![D::from(0.0); m * b];
            for j in 0..b {
                for i in 0..m {
                    let mut s = D::from(0.0);
                    for c in 0..k {
                        s += w[i + c * m] * a[c + j * k];
                    }
                    y[i + j * m] = s;
                }
            }
            let beta = &p[mlp.bias_range(l)];
            if let Some(g) = mlp.gamma_range(l) {
                let gamma = &p[g];
                for i in 0..m {
                    let mut mu = D::from(0.0);
                    for j in 0..b {
                        mu += y[i + j * m];
                    }
                    mu /= b as f64;
                    let mut var = D::from(0.0);
                    for j in 0..b {
                        let d = y[i + j * m] - mu;
                        var += d * d;
                    }
                    let s = (var / b as f64 + mlp.batch_norm_delta()).sqrt();
                    for j in 0..b {
                        y[i + j * m] = gamma[i] * (y[i + j * m] - mu) / s + beta[i];
                    }
                }
            } else {
                for j in 0..b {
                    for i in 0..m {
                        y[i + j * m] += beta[i];
                    }
                }
            }
            let mut h: Vec<D> = y.iter().map(|&v| act(layer.activation, v)).collect();
            if layer.skip {
                for (hv, &av) in h.iter_mut().zip(&a) {
                    *hv += av;
                }
            }
            a = h;
        }
        a
    }
}

impl ScalarFn for Reference<'_> {
    fn dim(&self) -> usize {
        self.mlp.num_params()
    }
    fn eval<D: Real>(&self, p: &[D]) -> D {
        let mlp = self.mlp;
        let k = mlp.outputs();
        let o = self.outputs(p);
        let mut sum = D::from(0.0);
        for (j, &i) in self.batch.iter().enumerate() {
            let t = self.data.target(i);
            let oc = &o[j * k..(j + 1) * k];
            match mlp.loss() {
                Loss::MeanSquaredError => {
                    for c in 0..k {
                        let d = oc[c] - t[c];
                        sum += d * d * 0.5;
                    }
                }
                Loss::SoftmaxCrossEntropy => {
                    let mut z = D::from(0.0);
                    for c in 0..k {
                        z += oc[c].exp();
                    }
                    for c in 0..k {
                        sum -= (oc[c] - z.ln()) * t[c];
                    }
                }
                Loss::LogisticCrossEntropy => {
                    for c in 0..k {
                        sum += (oc[c].exp() + 1.0).ln() - oc[c] * t[c];
                    }
                }
            }
        }
        let mut decay = D::from(0.0);
        for l in 0..mlp.layers().len() {
            for w in &p[mlp.weights_range(l).0] {
                decay += *w * *w;
            }
        }
        sum / self.batch.len() as f64 + decay * (0.5 * mlp.weight_decay())
    }
}

impl VectorFn for Reference<'_> {
    fn num_inputs(&self) -> usize {
        self.mlp.num_params()
    }
    fn num_outputs(&self) -> usize {
        self.mlp.outputs() * self.batch.len()
    }
    fn eval<D: Real>(&self, p: &[D], out: &mut [D]) {
        out.copy_from_slice(&self.outputs(p));
    }
}

/// Random inputs and targets suited to `loss`: one-hot classes, values in
/// (0, 1) for logistic outputs, reals for squared error.
fn data_for(loss: Loss, d: usize, k: usize, n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f64> = (0..d * n).map(|_| rng.random_range(-1.5..1.5)).collect();
    let t: Vec<f64> = match loss {
        Loss::SoftmaxCrossEntropy => {
            let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..k)).collect();
            return Dataset::from_labels(d, x, &labels, k).unwrap();
        }
        Loss::LogisticCrossEntropy => (0..k * n).map(|_| rng.random_range(0.0..1.0)).collect(),
        Loss::MeanSquaredError => (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect(),
    };
    Dataset::new(d, k, x, t).unwrap()
}

fn random_vec(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let scale = b.iter().map(|x| x.abs()).fold(0.0, f64::max).max(1e-12);
    diff / scale
}

/// The networks every product is checked on: plain layers of each
/// activation, and one with batch norm and a skip connection.
fn nets(hidden: Activation, loss: Loss) -> Vec<Mlp> {
    let plain = Mlp::new(&[3, 4, 3], hidden, loss)
        .unwrap()
        .with_weight_decay(0.03)
        .unwrap();
    let deep = Mlp::from_layers(
        3,
        vec![
            Layer::new(4, hidden).with_batch_norm(),
            Layer::new(4, hidden).with_skip(),
            Layer::new(4, hidden).with_batch_norm().with_skip(),
            Layer::new(2, Activation::Identity),
        ],
        loss,
    )
    .unwrap()
    .with_weight_decay(0.01)
    .unwrap();
    vec![plain, deep]
}

/// Central differences of `f` at `x`, step `h` per coordinate.
fn central(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            xp[i] = x[i] + h;
            let fp = f(&xp);
            xp[i] = x[i] - h;
            let fm = f(&xp);
            xp[i] = x[i];
            (fp - fm) / (2.0 * h)
        })
        .collect()
}

#[test]
fn gradient_matches_central_differences_and_dual_numbers() {
    for hidden in Activation::ALL {
        for loss in Loss::ALL {
            for (which, mlp) in nets(hidden, loss).iter().enumerate() {
                let data = data_for(loss, 3, mlp.outputs(), 6, 11);
                let problem = mlp.problem(&data).unwrap();
                let x = random_vec(mlp.num_params(), 5);
                let mut g = vec![0.0; x.len()];
                let f = problem.value_grad(&x, &mut g);
                let fd = central(|p| problem.value(p), &x, 1e-6);
                let e = rel_err(&g, &fd);
                assert!(
                    e < 1e-6,
                    "{hidden:?} {loss:?} net {which}: FD rel err {e:.2e}"
                );
                let reference = Reference {
                    mlp,
                    data: &data,
                    batch: (0..6).collect(),
                };
                let mut gd = vec![0.0; x.len()];
                let fr = dual_gradient(&reference, &x, &mut gd, &mut DualWork::default()).unwrap();
                assert!(
                    (f - fr).abs() < 1e-13 * fr.abs().max(1.0),
                    "{hidden:?} {loss:?} {which}"
                );
                let e = rel_err(&g, &gd);
                assert!(
                    e < 1e-12,
                    "{hidden:?} {loss:?} net {which}: dual rel err {e:.2e}"
                );
            }
        }
    }
}

#[test]
fn hessian_vector_products_match_explicit_hessian_and_differences() {
    for hidden in Activation::ALL {
        for loss in Loss::ALL {
            for (which, mlp) in nets(hidden, loss).iter().enumerate() {
                let data = data_for(loss, 3, mlp.outputs(), 5, 12);
                let problem = mlp.problem(&data).unwrap();
                let n = mlp.num_params();
                let x = random_vec(n, 6);
                let reference = Reference {
                    mlp,
                    data: &data,
                    batch: (0..5).collect(),
                };
                let mut h = DMatrix::zeros(n, n);
                dual_hessian(&reference, &x, &mut h, &mut DualWork::default()).unwrap();
                // Every column: H e_i.
                let mut hv = vec![0.0; n];
                let mut built = DMatrix::zeros(n, n);
                for i in 0..n {
                    let mut e = vec![0.0; n];
                    e[i] = 1.0;
                    problem.hess_vec(&x, &e, &mut hv);
                    built.column_mut(i).copy_from_slice(&hv);
                }
                let e = (&built - &h).abs().max() / h.abs().max();
                assert!(
                    e < 1e-8,
                    "{hidden:?} {loss:?} net {which}: explicit rel err {e:.2e}"
                );
                // A random direction against differences of the gradient.
                let v = random_vec(n, 7);
                problem.hess_vec(&x, &v, &mut hv);
                let eps = 1e-5;
                let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
                let xp: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + eps * b).collect();
                let xm: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a - eps * b).collect();
                problem.value_grad(&xp, &mut gp);
                problem.value_grad(&xm, &mut gm);
                let fd: Vec<f64> = gp
                    .iter()
                    .zip(&gm)
                    .map(|(a, b)| (a - b) / (2.0 * eps))
                    .collect();
                let e = rel_err(&hv, &fd);
                assert!(
                    e < 1e-6,
                    "{hidden:?} {loss:?} net {which}: FD rel err {e:.2e}"
                );
            }
        }
    }
}

/// `H_L` of one example's loss at output `o`, built from the formulas.
fn loss_hessian(loss: Loss, o: &[f64], t: &[f64]) -> DMatrix<f64> {
    let k = o.len();
    match loss {
        Loss::MeanSquaredError => DMatrix::identity(k, k),
        Loss::SoftmaxCrossEntropy => {
            let z: f64 = o.iter().map(|v| v.exp()).sum();
            let p = DVector::from_iterator(k, o.iter().map(|v| v.exp() / z));
            let ts: f64 = t.iter().sum();
            (DMatrix::from_diagonal(&p) - &p * p.transpose()) * ts
        }
        Loss::LogisticCrossEntropy => DMatrix::from_diagonal(&DVector::from_iterator(
            k,
            o.iter().map(|&v| {
                let s = 1.0 / (1.0 + (-v).exp());
                s * (1.0 - s)
            }),
        )),
    }
}

#[test]
fn gauss_newton_equals_explicit_jt_hl_j_and_is_symmetric_psd() {
    for hidden in Activation::ALL {
        for loss in Loss::ALL {
            for (which, mlp) in nets(hidden, loss).iter().enumerate() {
                let b = 5;
                let data = data_for(loss, 3, mlp.outputs(), b, 13);
                let problem = mlp.problem(&data).unwrap();
                let (n, k) = (mlp.num_params(), mlp.outputs());
                let x = random_vec(n, 8);
                let reference = Reference {
                    mlp,
                    data: &data,
                    batch: (0..b).collect(),
                };
                let mut o = vec![0.0; k * b];
                let mut jac = DMatrix::zeros(k * b, n);
                dual_jacobian(&reference, &x, &mut o, &mut jac, &mut DualWork::default()).unwrap();
                let mut hl = DMatrix::zeros(k * b, k * b);
                for j in 0..b {
                    let block = loss_hessian(loss, &o[j * k..(j + 1) * k], data.target(j));
                    hl.view_mut((j * k, j * k), (k, k)).copy_from(&block);
                }
                let mut g = jac.transpose() * &hl * &jac / b as f64;
                for l in 0..mlp.layers().len() {
                    for i in mlp.weights_range(l).0 {
                        g[(i, i)] += mlp.weight_decay();
                    }
                }
                let mut gv = vec![0.0; n];
                let mut built = DMatrix::zeros(n, n);
                for i in 0..n {
                    let mut e = vec![0.0; n];
                    e[i] = 1.0;
                    problem.gauss_newton_vec(&x, &e, &mut gv);
                    built.column_mut(i).copy_from_slice(&gv);
                }
                let e = (&built - &g).abs().max() / g.abs().max();
                assert!(
                    e < 1e-10,
                    "{hidden:?} {loss:?} net {which}: GN rel err {e:.2e}"
                );
                let asym = (&built - built.transpose()).abs().max() / g.abs().max();
                assert!(
                    asym < 1e-12,
                    "{hidden:?} {loss:?} net {which}: asymmetry {asym:.2e}"
                );
                for seed in 0..5 {
                    let v = random_vec(n, 100 + seed);
                    problem.gauss_newton_vec(&x, &v, &mut gv);
                    let vgv: f64 = v.iter().zip(&gv).map(|(a, b)| a * b).sum();
                    assert!(vgv >= 0.0, "{hidden:?} {loss:?} net {which}: vᵀGv = {vgv}");
                }
                // J v and Jᵀ u against the explicit Jacobian.
                let v = random_vec(n, 9);
                let mut jv = vec![0.0; k * b];
                problem.jac_vec(&x, &v, &mut jv).unwrap();
                let want = &jac * DVector::from_vec(v.clone());
                assert!(rel_err(&jv, want.as_slice()) < 1e-12);
                let u = random_vec(k * b, 10);
                let mut jtu = vec![0.0; n];
                problem.jac_t_vec(&x, &u, &mut jtu).unwrap();
                let want = jac.transpose() * DVector::from_vec(u);
                assert!(rel_err(&jtu, want.as_slice()) < 1e-12);
            }
        }
    }
}

#[test]
fn minibatch_products_match_the_reference_on_that_batch() {
    let loss = Loss::SoftmaxCrossEntropy;
    for mlp in nets(Activation::Tanh, loss) {
        let data = data_for(loss, 3, mlp.outputs(), 9, 14);
        let problem = mlp.problem(&data).unwrap();
        let n = mlp.num_params();
        let batch = [7, 2, 2, 0];
        let reference = Reference {
            mlp: &mlp,
            data: &data,
            batch: batch.to_vec(),
        };
        let x = random_vec(n, 15);
        let mut g = vec![0.0; n];
        let f = problem.value_grad_batch(&x, &batch, &mut g).unwrap();
        let mut gd = vec![0.0; n];
        let fr = dual_gradient(&reference, &x, &mut gd, &mut DualWork::default()).unwrap();
        assert!((f - fr).abs() < 1e-13);
        assert!(rel_err(&g, &gd) < 1e-12);
        assert_eq!(problem.value_batch(&x, &batch).unwrap(), f);
        let mut h = DMatrix::zeros(n, n);
        dual_hessian(&reference, &x, &mut h, &mut DualWork::default()).unwrap();
        let v = random_vec(n, 16);
        let mut hv = vec![0.0; n];
        problem.hess_vec_batch(&x, &batch, &v, &mut hv).unwrap();
        let want = &h * DVector::from_vec(v.clone());
        assert!(rel_err(&hv, want.as_slice()) < 1e-10);
        // After a different point and batch, the cache must not be reused.
        problem.value_grad(&random_vec(n, 17), &mut g);
        problem.hess_vec_batch(&x, &batch, &v, &mut hv).unwrap();
        assert!(rel_err(&hv, want.as_slice()) < 1e-10);
        let mut gv = vec![0.0; n];
        problem
            .gauss_newton_vec_batch(&x, &batch, &v, &mut gv)
            .unwrap();
        let vgv: f64 = v.iter().zip(&gv).map(|(a, b)| a * b).sum();
        assert!(vgv > 0.0);
        // The same batch as a problem of its own, through the traits.
        let sub = problem.on_batch(&batch).unwrap();
        let mut hv2 = vec![0.0; n];
        sub.hess_vec(&x, &v, &mut hv2);
        assert!(rel_err(&hv2, want.as_slice()) < 1e-10);
        let mut gv2 = vec![0.0; n];
        sub.gauss_newton_vec(&x, &v, &mut gv2);
        assert_eq!(gv2, gv);
        let mut g2 = vec![0.0; n];
        assert!((sub.value_grad(&x, &mut g2) - fr).abs() < 1e-13);
        assert!(rel_err(&g2, &gd) < 1e-12);
    }
}

#[test]
fn a_prefix_of_the_cached_batch_reuses_its_forward_pass_and_matches_the_reference() {
    // K-FAC evaluates its statistics on a prefix of the gradient's batch at
    // the same point: the cached forward pass is cut to those columns
    // (without batch norm) or recomputed (with it, the examples are coupled).
    let loss = Loss::LogisticCrossEntropy;
    for mlp in nets(Activation::Logistic, loss) {
        let data = data_for(loss, 3, mlp.outputs(), 9, 24);
        let problem = mlp.problem(&data).unwrap();
        let n = mlp.num_params();
        let (batch, prefix) = ([4, 1, 8, 1, 6], [4, 1, 8]);
        let x = random_vec(n, 25);
        let reference = Reference {
            mlp: &mlp,
            data: &data,
            batch: prefix.to_vec(),
        };
        let mut gd = vec![0.0; n];
        let fr = dual_gradient(&reference, &x, &mut gd, &mut DualWork::default()).unwrap();
        let mut g = vec![0.0; n];
        let f_full = problem.value_grad_batch(&x, &batch, &mut g).unwrap();
        let f = problem.value_grad_batch(&x, &prefix, &mut g).unwrap();
        assert!((f - fr).abs() < 1e-13 * fr.abs().max(1.0));
        assert!(rel_err(&g, &gd) < 1e-12);
        // The whole batch again is recomputed, not read from the cut cache.
        assert_eq!(problem.value_batch(&x, &batch).unwrap(), f_full);
        let v = random_vec(n, 26);
        let mut gv = vec![0.0; n];
        problem
            .gauss_newton_vec_batch(&x, &prefix, &v, &mut gv)
            .unwrap();
        let fresh = mlp.problem(&data).unwrap();
        let mut gv_fresh = vec![0.0; n];
        fresh
            .gauss_newton_vec_batch(&x, &prefix, &v, &mut gv_fresh)
            .unwrap();
        assert!(rel_err(&gv, &gv_fresh) < 1e-13);
    }
}

#[test]
fn shapes_that_do_not_match_are_typed_errors() {
    let mlp = Mlp::new(&[3, 4, 2], Activation::Tanh, Loss::MeanSquaredError).unwrap();
    let wrong_inputs = data_for(Loss::MeanSquaredError, 5, 2, 4, 1);
    assert!(matches!(
        mlp.problem(&wrong_inputs),
        Err(NnError::Shape {
            got: 5,
            expected: 3,
            ..
        })
    ));
    let wrong_targets = data_for(Loss::MeanSquaredError, 3, 3, 4, 1);
    assert!(matches!(
        mlp.problem(&wrong_targets),
        Err(NnError::Shape {
            got: 3,
            expected: 2,
            ..
        })
    ));
    let data = data_for(Loss::MeanSquaredError, 3, 2, 4, 1);
    let problem = mlp.problem(&data).unwrap();
    let n = mlp.num_params();
    let x = vec![0.1; n];
    let mut g = vec![0.0; n];
    assert!(matches!(
        problem.value_grad_batch(&x[1..], &[0], &mut g),
        Err(NnError::Length { what: "params", .. })
    ));
    assert!(matches!(
        problem.value_grad_batch(&x, &[0, 4], &mut g),
        Err(NnError::BatchIndex { index: 4, len: 4 })
    ));
    assert!(matches!(
        problem.value_batch(&x, &[]),
        Err(NnError::EmptyBatch)
    ));
    let mut short = vec![0.0; n - 1];
    assert!(problem.hess_vec_batch(&x, &[0], &x, &mut short).is_err());
    let mut jv = vec![0.0; 3];
    assert!(matches!(
        problem.jac_vec_batch(&x, &[0, 1], &x, &mut jv),
        Err(NnError::Length {
            what: "jv",
            got: 3,
            expected: 4
        })
    ));
    // The trait methods cannot return an error: NaN, never a panic.
    assert!(problem.value(&x[1..]).is_nan());
    assert!(problem.value_grad(&x[1..], &mut g).is_nan());
    assert!(
        Mlp::from_layers(
            3,
            vec![Layer::new(4, Activation::Tanh).with_skip()],
            Loss::MeanSquaredError
        )
        .is_err()
    );
    assert!(mlp.clone().with_weight_decay(-1.0).is_err());
}

#[test]
fn no_reallocation_after_the_first_evaluation() {
    // The workspace is reused: repeated products at the same batch size give
    // identical bits, and the cached forward pass is invalidated by a change
    // of parameters.
    let mlp = Mlp::new(&[3, 5, 2], Activation::Logistic, Loss::LogisticCrossEntropy).unwrap();
    let data = data_for(Loss::LogisticCrossEntropy, 3, 2, 8, 2);
    let problem = mlp.problem(&data).unwrap();
    let n = mlp.num_params();
    let (x, y, v) = (random_vec(n, 1), random_vec(n, 2), random_vec(n, 3));
    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
    problem.hess_vec(&x, &v, &mut a);
    problem.hess_vec(&y, &v, &mut b);
    assert_ne!(a, b);
    problem.hess_vec(&x, &v, &mut b);
    assert_eq!(a, b);
}

#[test]
fn parallel_elementwise_passes_agree_with_sequential() {
    // Digits through 64-256-10 at full batch: passes of 256 x 1797 entries
    // are split across threads; the results must not depend on it.
    let data = Dataset::digits().unwrap();
    let mlp = Mlp::from_layers(
        64,
        vec![
            Layer::new(256, Activation::Softplus).with_batch_norm(),
            Layer::new(256, Activation::Tanh).with_skip(),
            Layer::new(10, Activation::Identity),
        ],
        Loss::SoftmaxCrossEntropy,
    )
    .unwrap();
    let n = mlp.num_params();
    let x = random_vec(n, 1);
    let v = random_vec(n, 2);
    let run = |par: faer::Par| {
        faer::set_global_parallelism(par);
        let problem = mlp.problem(&data).unwrap();
        let (mut g, mut hv, mut gv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let f = problem.value_grad(&x, &mut g);
        problem.hess_vec(&x, &v, &mut hv);
        problem.gauss_newton_vec(&x, &v, &mut gv);
        (f, g, hv, gv)
    };
    let seq = run(faer::Par::Seq);
    let par = run(faer::Par::rayon(2));
    faer::set_global_parallelism(faer::Par::rayon(0));
    assert!((seq.0 - par.0).abs() < 1e-13 * seq.0.abs());
    assert!(rel_err(&par.1, &seq.1) < 1e-12);
    assert!(rel_err(&par.2, &seq.2) < 1e-12);
    assert!(rel_err(&par.3, &seq.3) < 1e-12);
}
