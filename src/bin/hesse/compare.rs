//! `hesse compare`: every method over an embedded suite of test problems.
//!
//! A run counts as solved when the method reports convergence and
//! `f − f* ≤ 1e-8 (1 + |f*|)`: convergence alone can be a stationary point
//! that is not the minimizer, and `f` alone says nothing about whether the
//! method knew it was done.

use clap::Args;
use hesse::problem::{HessVec, Hessian};
use hesse::problems::{ExtendedRosenbrock, Rosenbrock};
use serde::Serialize;

use crate::json::Num;
use crate::methods::{METHODS, MethodError, MethodOptions, run_method};

/// Run every method over the embedded test suite and print a table.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Absolute gradient tolerance for every run: ‖∇f‖∞ ≤ gtol.
    #[arg(long, default_value_t = 1e-6, allow_hyphen_values = true)]
    pub gtol: f64,

    /// Iteration limit for every run.
    #[arg(long, default_value_t = 20_000)]
    pub max_iter: u64,

    /// Print one JSON object `{"runs": [...]}` instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// A problem of the suite: every derivative a method may ask for.
trait SuiteFn: Hessian + HessVec {}
impl<T: Hessian + HessVec> SuiteFn for T {}

/// A test problem with its start and known minimum.
struct Case {
    name: &'static str,
    problem: Box<dyn SuiteFn>,
    x0: Vec<f64>,
    f_star: f64,
}

/// The default suite. Rosenbrock (1960) from (−1.2, 1); extended Rosenbrock,
/// Moré, Garbow & Hillstrom (1981) problem 21, n = 100, from (−1.2, 1, …).
fn suite() -> Vec<Case> {
    let rosen = Rosenbrock::new(2);
    let ext = ExtendedRosenbrock::new(100);
    vec![
        Case {
            name: "rosenbrock",
            x0: rosen.start(),
            problem: Box::new(rosen),
            f_star: 0.0,
        },
        Case {
            name: "extended_rosenbrock",
            x0: ext.start(),
            problem: Box::new(ext),
            f_star: 0.0,
        },
    ]
}

/// One row of the table.
#[derive(Serialize)]
struct Run {
    method: &'static str,
    problem: &'static str,
    n: usize,
    solved: bool,
    converged: bool,
    termination: &'static str,
    iterations: u64,
    f_evals: u64,
    g_evals: u64,
    h_evals: u64,
    hv_evals: u64,
    f: Num,
    f_star: f64,
    grad_norm: Num,
    seconds: f64,
}

#[derive(Serialize)]
struct Output {
    gtol: f64,
    max_iter: u64,
    runs: Vec<Run>,
}

/// Bad input to `compare`.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("invalid option --gtol {0}: must be finite and >= 0")]
    Gtol(f64),
    #[error("{method} on {problem}: {source}")]
    Method {
        method: &'static str,
        problem: &'static str,
        source: MethodError,
    },
}

/// Runs the command and returns what to print on stdout.
pub fn run(args: &CompareArgs) -> Result<String, CompareError> {
    if !(args.gtol.is_finite() && args.gtol >= 0.0) {
        return Err(CompareError::Gtol(args.gtol));
    }
    let options = MethodOptions {
        gtol: args.gtol,
        max_iter: args.max_iter,
        memory: None,
    };
    let mut runs = Vec::new();
    for method in METHODS {
        for case in suite() {
            let problem: &dyn SuiteFn = &*case.problem;
            let r = run_method(method.name, &problem, &case.x0, &options).map_err(|source| {
                CompareError::Method {
                    method: method.name,
                    problem: case.name,
                    source,
                }
            })?;
            let solved = r.converged() && r.f - case.f_star <= 1e-8 * (1.0 + case.f_star.abs());
            runs.push(Run {
                method: method.name,
                problem: case.name,
                n: case.x0.len(),
                solved,
                converged: r.converged(),
                termination: r.termination.as_str(),
                iterations: r.iterations,
                f_evals: r.evals.f,
                g_evals: r.evals.g,
                h_evals: r.evals.h,
                hv_evals: r.evals.hv,
                f: Num(r.f),
                f_star: case.f_star,
                grad_norm: Num(r.grad_norm),
                seconds: r.elapsed.as_secs_f64(),
            });
        }
    }
    let out = Output {
        gtol: args.gtol,
        max_iter: args.max_iter,
        runs,
    };
    Ok(if args.json {
        crate::json::to_line(&out)
    } else {
        table(&out)
    })
}

fn table(out: &Output) -> String {
    let mut s = format!(
        "gtol = {:e} (‖∇f‖∞), max_iter = {}; solved = converged and f − f* ≤ 1e-8 (1 + |f*|)\n\n",
        out.gtol, out.max_iter
    );
    for m in METHODS {
        s += &format!("{:<8} {}\n", m.name, m.about);
    }
    s += "\n";
    s += &format!(
        "{:<8} {:<20} {:>5} {:<6} {:>10} {:>10} {:>10} {:>12} {:>9}  {}\n",
        "method",
        "problem",
        "n",
        "solved",
        "iters",
        "f evals",
        "g evals",
        "final f",
        "seconds",
        "termination"
    );
    for r in &out.runs {
        s += &format!(
            "{:<8} {:<20} {:>5} {:<6} {:>10} {:>10} {:>10} {:>12.4e} {:>9.4}  {}\n",
            r.method,
            r.problem,
            r.n,
            if r.solved { "yes" } else { "no" },
            r.iterations,
            r.f_evals,
            r.g_evals,
            r.f.0,
            r.seconds,
            r.termination
        );
    }
    let solved = out.runs.iter().filter(|r| r.solved).count();
    s += &format!("\n{solved} of {} runs solved\n", out.runs.len());
    s
}
