//! Newton's method and saddle-free Newton (Dauphin et al. 2014) from the same
//! start near the saddle of f(u, v) = u² − v² + v⁴/4.
//!
//! The Hessian diag(2, 3v² − 2) is indefinite near the origin. Newton's step
//! `−H⁻¹g` moves toward the stationary point of the local quadratic model,
//! which is the saddle (0, 0); the saddle-free step `−(|H| + δI)⁻¹g` flips the
//! sign of the step along the negative-curvature direction and descends to
//! the minimum (0, √2), f = −1.
//!
//! Run: `cargo run --release --example saddle`

use hesse::linalg::Ldlt;
use hesse::newton::SaddleFreeNewton;
use hesse::prelude::*;
use hesse::solver::Run;
use nalgebra::DMatrix;

fn main() {
    let problem = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
        g[0] = 2.0 * x[0];
        g[1] = -2.0 * x[1] + x[1].powi(3);
        x[0] * x[0] - x[1] * x[1] + 0.25 * x[1].powi(4)
    })
    .with_hessian(|x: &[f64], h: &mut DMatrix<f64>| {
        h.copy_from_slice(&[2.0, 0.0, 0.0, 3.0 * x[1] * x[1] - 2.0]);
    });
    let x0 = [0.1, 0.1];

    println!("Newton (full step, H p = -g by LDL^T), from {x0:?}:");
    println!("{:>3} {:>12} {:>12} {:>12}", "k", "u", "v", "f");
    let (mut x, mut g, mut h) = (x0.to_vec(), vec![0.0; 2], DMatrix::zeros(2, 2));
    for k in 0..=6 {
        let f = problem.value_grad(&x, &mut g);
        println!("{k:>3} {:>12.4e} {:>12.4e} {:>12.4e}", x[0], x[1], f);
        problem.hessian(&x, &mut h);
        let mut p: Vec<f64> = g.iter().map(|v| -v).collect();
        Ldlt::new(&h)
            .and_then(|mut ldlt| ldlt.solve_mut(&mut p))
            .expect("the Hessian is nonsingular along this path");
        x.iter_mut().zip(&p).for_each(|(xi, pi)| *xi += pi);
    }
    println!("-> the saddle (0, 0), f = 0\n");

    println!("Saddle-free Newton (dense |H|, damping adapted from rho), from {x0:?}:");
    println!(
        "{:>3} {:>12} {:>12} {:>12} {:>10}",
        "k", "u", "v", "f", "mu"
    );
    let solver = SaddleFreeNewton::default().with_gtol(1e-10);
    let mut run = Run::new(solver, &problem, &x0).unwrap();
    loop {
        let s = run.state();
        println!(
            "{:>3} {:>12.4e} {:>12.4e} {:>12.4e} {:>10.1e}",
            s.iteration,
            s.x[0],
            s.x[1],
            s.f,
            run.solver().damping()
        );
        if run.step().is_some() {
            break;
        }
    }
    let r = run.report();
    println!(
        "-> {} after {} iterations: (u, v) = ({:.3e}, {:.12}), f = {}, \
         {} value-and-gradient and {} Hessian evaluations, {} trials rejected",
        r.termination,
        r.iterations,
        r.x[0],
        r.x[1],
        r.f,
        r.evals.g,
        r.evals.h,
        run.solver().rejected_steps()
    );
}
