//! `hesse compare`: every method over an embedded suite of test problems.
//!
//! A run counts as solved when `f − f* ≤ max(10⁻⁶ |f*|, 10⁻¹⁰)`, the test
//! of the Moré-Garbow-Hillstrom protocol as published comparisons (scipy's
//! included) apply it: a stationary point that is not the minimizer is not
//! solved. Whether the method knew it was done is the separate `converged`
//! column (its typed termination).

use clap::Args;
use hesse::problem::{HessVec, Hessian};
use hesse::problems::{ExtendedRosenbrock, LogisticRegression, Quadratic, Rosenbrock, mgh};
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
    name: String,
    problem: Box<dyn SuiteFn>,
    x0: Vec<f64>,
    f_star: f64,
}

/// The default suite:
/// - Rosenbrock (1960) from (−1.2, 1); extended Rosenbrock, Moré, Garbow &
///   Hillstrom (1981) problem 21, n = 100, from (−1.2, 1, …);
/// - a convex quadratic, n = 100, condition number 10⁴, seeded eigenbasis, from
///   its standard start;
/// - L2-regularized logistic regression on the breast-cancer data (λ = 10⁻²)
///   from zero, with its stored f*;
/// - every Moré-Garbow-Hillstrom problem at its standard size with a
///   published f*, from its standard start (named `mghNN_name`).
fn suite() -> Vec<Case> {
    let rosen = Rosenbrock::new(2);
    let ext = ExtendedRosenbrock::new(100);
    let quad = Quadratic::with_condition(100, 1e4, 0).expect("valid sizes");
    let logistic = LogisticRegression::breast_cancer();
    let mut cases = vec![
        Case {
            name: "rosenbrock".into(),
            x0: rosen.start(),
            problem: Box::new(rosen),
            f_star: 0.0,
        },
        Case {
            name: "extended_rosenbrock".into(),
            x0: ext.start(),
            problem: Box::new(ext),
            f_star: 0.0,
        },
        Case {
            name: "quadratic_kappa1e4".into(),
            x0: quad.start(),
            f_star: quad.f_star(),
            problem: Box::new(quad),
        },
        Case {
            name: "logistic_breast_cancer".into(),
            x0: logistic.start(),
            f_star: logistic.f_star().expect("stored for the embedded data"),
            problem: Box::new(logistic),
        },
    ];
    for p in mgh::all() {
        let Some(f_star) = p.f_star() else { continue };
        let slug: String = p
            .name()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("_");
        cases.push(Case {
            name: format!("mgh{:02}_{slug}", p.id()),
            x0: p.start(),
            f_star,
            problem: Box::new(p),
        });
    }
    cases
}

/// One row of the table.
#[derive(Serialize)]
struct Run {
    method: &'static str,
    problem: String,
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
        problem: String,
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
                    problem: case.name.clone(),
                    source,
                }
            })?;
            let solved = solved(r.f, case.f_star);
            runs.push(Run {
                method: method.name,
                problem: case.name.clone(),
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

/// The Moré-Garbow-Hillstrom protocol's test, as scipy comparisons use it:
/// `f − f* ≤ max(10⁻⁶ |f*|, 10⁻¹⁰)`. A NaN `f` is not solved.
fn solved(f: f64, f_star: f64) -> bool {
    f - f_star <= (1e-6 * f_star.abs()).max(1e-10)
}

fn table(out: &Output) -> String {
    let mut s = format!(
        "gtol = {:e} (‖∇f‖∞), max_iter = {}; solved = f − f* ≤ max(1e-6 |f*|, 1e-10)\n\n",
        out.gtol, out.max_iter
    );
    for m in METHODS {
        s += &format!("{:<8} {}\n", m.name, m.about);
    }
    s += "\n";
    s += &format!(
        "{:<8} {:<32} {:>5} {:<6} {:>10} {:>10} {:>10} {:>12} {:>9}  {}\n",
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
            "{:<8} {:<32} {:>5} {:<6} {:>10} {:>10} {:>10} {:>12.4e} {:>9.4}  {}\n",
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
    s += &format!(
        "\n{:<8} {:>8} {:>10} {:>10} {:>10} {:>10} {:>9}\n",
        "method", "solved", "f evals", "g evals", "H evals", "Hv evals", "seconds"
    );
    for m in METHODS {
        let runs: Vec<&Run> = out.runs.iter().filter(|r| r.method == m.name).collect();
        let total = |f: fn(&Run) -> u64| runs.iter().map(|r| f(r)).sum::<u64>();
        s += &format!(
            "{:<8} {:>4}/{:<3} {:>10} {:>10} {:>10} {:>10} {:>9.3}\n",
            m.name,
            runs.iter().filter(|r| r.solved).count(),
            runs.len(),
            total(|r| r.f_evals),
            total(|r| r.g_evals),
            total(|r| r.h_evals),
            total(|r| r.hv_evals),
            runs.iter().map(|r| r.seconds).sum::<f64>()
        );
    }
    let solved = out.runs.iter().filter(|r| r.solved).count();
    s += &format!("\n{solved} of {} runs solved\n", out.runs.len());
    s
}
