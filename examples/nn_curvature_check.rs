//! Checks a network's exact products against finite differences and prints
//! the errors: the gradient against central differences of `f`, the
//! Hessian-vector product against central differences of the gradient, the
//! Jacobian-vector product against differences of the outputs, and the
//! Gauss-Newton product's symmetry and sign.
//!
//! The network has batch normalization and a skip connection, so every
//! product goes through the normalization's statistics.
//!
//! Run: `cargo run --release --example nn_curvature_check`

use hesse::nn::{Activation, Dataset, Init, Layer, Loss, Mlp};
use hesse::prelude::*;

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let d = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    d / b.iter().map(|x| x.abs()).fold(1e-300, f64::max)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = Dataset::two_spirals(50, 0.1, 1)?;
    let mlp = Mlp::from_layers(
        2,
        vec![
            Layer::new(12, Activation::Tanh).with_batch_norm(),
            Layer::new(12, Activation::Softplus).with_skip(),
            Layer::new(12, Activation::Logistic).with_batch_norm(),
            Layer::new(2, Activation::Identity),
        ],
        Loss::SoftmaxCrossEntropy,
    )?
    .with_weight_decay(1e-3)?;
    let problem = mlp.problem(&data)?;
    let n = mlp.num_params();
    let x = mlp.init(Init::Glorot, 2);
    let v = mlp.init(Init::Uniform, 3);
    let u = mlp.init(Init::Uniform, 4);
    println!(
        "network 2-12-12-12-2 (batch norm, skip), {n} parameters, {} examples",
        data.len()
    );

    // Gradient against central differences, h = 1e-6.
    let mut g = vec![0.0; n];
    problem.value_grad(&x, &mut g);
    let h = 1e-6;
    let mut xp = x.clone();
    let fd: Vec<f64> = (0..n)
        .map(|i| {
            xp[i] = x[i] + h;
            let fp = problem.value(&xp);
            xp[i] = x[i] - h;
            let fm = problem.value(&xp);
            xp[i] = x[i];
            (fp - fm) / (2.0 * h)
        })
        .collect();
    println!(
        "gradient vs central differences:          rel. error {:.2e}",
        rel(&g, &fd)
    );

    // H v against differences of the gradient along v, eps = 1e-5.
    let mut hv = vec![0.0; n];
    problem.hess_vec(&x, &v, &mut hv);
    let eps = 1e-5;
    let shift = |s: f64| -> Vec<f64> { x.iter().zip(&v).map(|(a, b)| a + s * b).collect() };
    let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
    problem.value_grad(&shift(eps), &mut gp);
    problem.value_grad(&shift(-eps), &mut gm);
    let fd: Vec<f64> = gp
        .iter()
        .zip(&gm)
        .map(|(a, b)| (a - b) / (2.0 * eps))
        .collect();
    println!(
        "Hessian-vector vs differences of ∇f:      rel. error {:.2e}",
        rel(&hv, &fd)
    );

    // J v against differences of the outputs.
    let k = mlp.outputs() * data.len();
    let mut jv = vec![0.0; k];
    problem.jac_vec(&x, &v, &mut jv)?;
    let op = mlp.predict(&shift(eps), data.inputs(), None)?;
    let om = mlp.predict(&shift(-eps), data.inputs(), None)?;
    let fd: Vec<f64> = op
        .iter()
        .zip(&om)
        .map(|(a, b)| (a - b) / (2.0 * eps))
        .collect();
    println!(
        "Jacobian-vector vs differences of outputs: rel. error {:.2e}",
        rel(&jv, &fd)
    );

    // Gauss-Newton: symmetric and positive semi-definite.
    let (mut gv, mut gu) = (vec![0.0; n], vec![0.0; n]);
    problem.gauss_newton_vec(&x, &v, &mut gv);
    problem.gauss_newton_vec(&x, &u, &mut gu);
    let (ugv, vgu) = (dot(&u, &gv), dot(&v, &gu));
    println!(
        "Gauss-Newton: |uᵀGv − vᵀGu|/|uᵀGv| = {:.2e}, vᵀGv = {:.4e} (≥ 0), uᵀGu = {:.4e} (≥ 0)",
        (ugv - vgu).abs() / ugv.abs(),
        dot(&v, &gv),
        dot(&u, &gu)
    );
    Ok(())
}
