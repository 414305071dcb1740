//! What a residual Jacobian costs `hesse fit` on NIST-sized problems: the
//! expression tape in reverse mode (one forward and one reverse sweep per
//! observation, what `hesse fit` uses) against forward-mode dual numbers on
//! the hand-written model ([`NistProblem`], `n` dual passes per
//! observation).
//!
//! Run: `cargo run --release --example fit_jacobian`

use std::time::Instant;

use hesse::expr::Expr;
use hesse::problem::Residuals;
use hesse::problems::nist::{NistDataset, NistProblem};
use nalgebra::DMatrix;

fn main() {
    // (file, model as hesse fit reads it from the file)
    let cases = [
        ("Misra1a", "b1*(1-exp[-b2*x])"),
        (
            "Hahn1",
            "(b1+b2*x+b3*x**2+b4*x**3) / (1+b5*x+b6*x**2+b7*x**3)",
        ),
        (
            "Gauss1",
            "b1*exp( -b2*x ) + b3*exp( -(x-b4)**2 / b5**2 ) + b6*exp( -(x-b7)**2 / b8**2 )",
        ),
        (
            "ENSO",
            "b1 + b2*cos( 2*pi*x/12 ) + b3*sin( 2*pi*x/12 ) + b5*cos( 2*pi*x/b4 ) + b6*sin( 2*pi*x/b4 ) + b8*cos( 2*pi*x/b7 ) + b9*sin( 2*pi*x/b7 )",
        ),
    ];
    println!(
        "{:<8} {:>4} {:>2} {:>14} {:>14} {:>6}",
        "problem", "m", "n", "tape rev (µs)", "dual fwd (µs)", "ratio"
    );
    for (name, model) in cases {
        let path = format!("{}/tests/data/nist/{name}.dat", env!("CARGO_MANIFEST_DIR"));
        let data = NistDataset::load(&path).unwrap();
        let (m, n) = (data.num_obs(), data.num_params());
        let b = data.certified.clone();
        let names: Vec<&str> = data.param_names.iter().map(String::as_str).collect();
        let tape = Expr::parse(model).unwrap().compile(&names, &["x"]).unwrap();
        let mut ws = tape.workspace();
        let mut grad = vec![0.0; n];
        let mut jac = DMatrix::zeros(m, n);
        let reps = 2000;
        let t = Instant::now();
        for _ in 0..reps {
            for i in 0..m {
                tape.value_grad(&b, &[data.x[0][i]], &mut grad, &mut ws);
                for j in 0..n {
                    jac[(i, j)] = -grad[j];
                }
            }
        }
        let tape_us = t.elapsed().as_secs_f64() * 1e6 / reps as f64;
        let problem = NistProblem::new(&data).unwrap();
        let mut jac2 = DMatrix::zeros(m, n);
        let t = Instant::now();
        for _ in 0..reps {
            problem.jacobian(&b, &mut jac2);
        }
        let dual_us = t.elapsed().as_secs_f64() * 1e6 / reps as f64;
        let diff = (&jac - &jac2).abs().max() / jac2.abs().max();
        assert!(diff < 1e-12, "{name}: {diff}");
        println!(
            "{name:<8} {m:>4} {n:>2} {tape_us:>14.1} {dual_us:>14.1} {:>6.2}",
            tape_us / dual_us
        );
    }
}
