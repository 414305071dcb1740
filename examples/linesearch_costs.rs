//! What each line search and initial step costs gradient descent on the 2-D
//! Rosenbrock function from (−1.2, 1), to ‖∇f‖∞ ≤ 1e-6.
//!
//! Run: `cargo run --example linesearch_costs`

use hesse::linesearch::{
    Backtracking, Exact, HagerZhang, HagerZhangInitial, InitialStep, LineSearch, MoreThuente,
    QuadraticInterpolation, ScaledPrevious, UnitStep,
};
use hesse::prelude::*;
use hesse::problems::Rosenbrock;

fn run<L, I>(name: &str, init: &str, ls: L, initial: I)
where
    L: LineSearch + Clone,
    I: InitialStep + Clone,
{
    let report = GradientDescent::with_line_search(ls)
        .with_initial_step(initial)
        .with_gtol(1e-6)
        .with_max_iter(200_000)
        .minimize(&Rosenbrock::new(2), &[-1.2, 1.0])
        .expect("valid input");
    println!(
        "{name:<13} {init:<15} {:>7} {:>8} {:>8}  {:<20} {:.3e}",
        report.iterations,
        report.evals.f,
        report.evals.g,
        report.termination.as_str(),
        report.grad_norm
    );
}

fn main() {
    println!(
        "{:<13} {:<15} {:>7} {:>8} {:>8}  {:<20} ‖g‖∞",
        "line search", "initial step", "iters", "f evals", "g evals", "termination"
    );
    macro_rules! all_initial {
        ($name:expr, $ls:expr) => {
            run($name, "scaled-previous", $ls, ScaledPrevious::default());
            run(
                $name,
                "quadratic",
                $ls,
                // N&W cap α₀ at 1 for Newton-like directions; never binding here.
                QuadraticInterpolation::default(),
            );
            run($name, "hager-zhang", $ls, HagerZhangInitial::default());
            run($name, "unit", $ls, UnitStep);
        };
    }
    all_initial!("backtracking", Backtracking::default());
    all_initial!("more-thuente", MoreThuente::default());
    all_initial!("hager-zhang", HagerZhang::default());
    all_initial!("exact", Exact::default());
}
