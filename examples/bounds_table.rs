//! L-BFGS-B (and TRON) on the bounded MGH suite ([`hesse::problems::bounded`])
//! from the 1×, 10× and 100× starts: one line per run with termination, f,
//! the projected-gradient norm and the f and g evaluations.
//!
//! Run: `cargo run --release --example bounds_table`.

use hesse::prelude::*;
use hesse::problems::bounded;

fn main() {
    println!("problem scale method termination f pg f_evals g_evals hv_evals iterations");
    for p in bounded::mgh_in_boxes() {
        for scale in [1.0, 10.0, 100.0] {
            let x0 = p.mgh.start_scaled(scale);
            let lbfgsb = LbfgsB::default()
                .with_bounds(p.bounds.clone())
                .with_gtol(1e-10)
                .with_max_iter(20000)
                .minimize(&p.mgh, &x0)
                .unwrap();
            let tron = Tron::default()
                .with_bounds(p.bounds.clone())
                .with_gtol(1e-10)
                .with_max_iter(20000)
                .minimize(&p.mgh, &x0)
                .unwrap();
            for r in [lbfgsb, tron] {
                println!(
                    "{} {} {} {} {:e} {:e} {} {} {} {}",
                    p.mgh.id(),
                    scale,
                    r.method,
                    r.termination,
                    r.f,
                    r.grad_norm,
                    r.evals.f,
                    r.evals.g,
                    r.evals.hv,
                    r.iterations
                );
            }
        }
    }
}
