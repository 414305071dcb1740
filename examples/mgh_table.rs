//! BFGS, L-BFGS and the six nonlinear CG methods on the 35 Moré-Garbow-
//! Hillstrom problems from the 1×, 10× and 100× starts (the MGH protocol),
//! exact gradients, `gtol = 1e-10` on `‖g‖∞`, at most 20000 iterations.
//!
//! Solved means `f − f* ≤ max(1e-6·|f*|, 1e-10)` with [`Mgh::f_star`]. Where
//! the standard start is 0 the scaled start is `scale × (1, …, 1)`
//! ([`Mgh::start_scaled`]).
//!
//! Run: `cargo run --release --example mgh_table [rows] [METHOD]`: the
//! summary table (per method: solved at 1×/10×/100×, total f and g
//! evaluations); with `rows`, one line per problem, scale and method as well;
//! with a method name (`bfgs`, `lbfgs`, `cg-pr`, …), that method only.
//! `bt` runs BFGS and L-BFGS with an Armijo-only backtracking search instead,
//! with the curvature guard skipping (`bfgs-bt`, `lbfgs-bt`) or Powell-damping
//! (`bfgs-bt-damped`, `lbfgs-bt-damped`) the pairs.

use hesse::prelude::*;
use hesse::problems::mgh::{self, Mgh};
use hesse::quasi_newton::CurvatureGuard;

/// The methods and scales of the protocol.
const METHODS: [&str; 8] = [
    "bfgs", "lbfgs", "cg-fr", "cg-pr", "cg-pr+", "cg-hs", "cg-dy", "cg-hz",
];
const SCALES: [f64; 3] = [1.0, 10.0, 100.0];
/// The backtracking variants (`bt`).
const BACKTRACKING: [&str; 4] = ["bfgs-bt", "bfgs-bt-damped", "lbfgs-bt", "lbfgs-bt-damped"];

fn run(method: &str, p: &Mgh, x0: &[f64]) -> Result<Report, Error> {
    let cg = |beta| {
        NonlinearCg::new(beta)
            .with_gtol(1e-10)
            .with_max_iter(20_000)
            .minimize(p, x0)
    };
    let guard = if method.ends_with("-damped") {
        CurvatureGuard::PowellDamping
    } else {
        CurvatureGuard::Skip
    };
    match method {
        "bfgs-bt" | "bfgs-bt-damped" => Bfgs::with_line_search(Backtracking::default())
            .with_curvature_guard(guard)
            .with_gtol(1e-10)
            .with_max_iter(20_000)
            .minimize(p, x0),
        "lbfgs-bt" | "lbfgs-bt-damped" => Lbfgs::with_line_search(Backtracking::default())
            .with_curvature_guard(guard)
            .with_gtol(1e-10)
            .with_max_iter(20_000)
            .minimize(p, x0),
        "bfgs" => Bfgs::default()
            .with_gtol(1e-10)
            .with_max_iter(20_000)
            .minimize(p, x0),
        "lbfgs" => Lbfgs::default()
            .with_gtol(1e-10)
            .with_max_iter(20_000)
            .minimize(p, x0),
        "cg-fr" => cg(Beta::FletcherReeves),
        "cg-pr" => cg(Beta::PolakRibiere),
        "cg-pr+" => cg(Beta::PolakRibierePlus),
        "cg-hs" => cg(Beta::HestenesStiefel),
        "cg-dy" => cg(Beta::DaiYuan),
        _ => cg(Beta::HagerZhang),
    }
}

fn solved(p: &Mgh, f: f64) -> bool {
    let f_star = p.f_star().expect("every standard-size problem has f*");
    f - f_star <= (1e-6 * f_star.abs()).max(1e-10)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows = args.iter().any(|a| a == "rows");
    let bt = args.iter().any(|a| a == "bt");
    let methods: &[&str] = if bt { &BACKTRACKING } else { &METHODS };
    let only: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| methods.contains(a))
        .collect();
    let suite = mgh::all();
    println!(
        "{:<15} {:>4} {:>4} {:>4}   {:>8} {:>8}   (of {} problems per scale)",
        "method",
        "1x",
        "10x",
        "100x",
        "f evals",
        "g evals",
        suite.len()
    );
    for &method in methods {
        if !only.is_empty() && !only.contains(&method) {
            continue;
        }
        let mut solved_at = [0usize; 3];
        let (mut f_evals, mut g_evals) = (0u64, 0u64);
        for p in &suite {
            for (k, s) in SCALES.into_iter().enumerate() {
                let r = run(method, p, &p.start_scaled(s)).expect("valid input");
                let ok = solved(p, r.f);
                solved_at[k] += usize::from(ok);
                f_evals += r.evals.f;
                g_evals += r.evals.g;
                if rows {
                    println!(
                        "  {method:<7} {:>2} {:<28} {s:>5}x {} f={:<12.6e} it={:<6} f#={:<6} g#={:<6} {}",
                        p.id(),
                        p.name().chars().take(28).collect::<String>(),
                        if ok { "yes" } else { " no" },
                        r.f,
                        r.iterations,
                        r.evals.f,
                        r.evals.g,
                        r.termination.as_str()
                    );
                }
            }
        }
        println!(
            "{method:<15} {:>4} {:>4} {:>4}   {f_evals:>8} {g_evals:>8}",
            solved_at[0], solved_at[1], solved_at[2]
        );
    }
}
