//! The method table: one place that maps a method name to a run.
//!
//! To add a method, add one entry to [`METHODS`] and one arm to
//! [`run_method`]; `hesse minimize --method` and `hesse compare` pick it up.

use hesse::prelude::*;

/// Options every method takes from the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MethodOptions {
    /// Absolute gradient tolerance `‖g‖∞ ≤ gtol`.
    pub gtol: f64,
    /// Iteration limit.
    pub max_iter: u64,
    /// L-BFGS memory `m` (pairs kept); `None` is the library default (10).
    pub memory: Option<usize>,
}

impl Default for MethodOptions {
    fn default() -> Self {
        MethodOptions {
            gtol: 1e-8,
            max_iter: 100_000,
            memory: None,
        }
    }
}

/// A method the command line knows: its name and a one-line description.
pub struct Method {
    pub name: &'static str,
    pub about: &'static str,
}

/// Every method, in the order `compare` runs them.
pub const METHODS: &[Method] = &[
    Method {
        name: "gd",
        about: "gradient descent with Armijo backtracking (Nocedal & Wright §3.1)",
    },
    Method {
        name: "bfgs",
        about: "BFGS, inverse-Hessian update (N&W 6.17), Moré-Thuente strong Wolfe",
    },
    Method {
        name: "lbfgs",
        about: "L-BFGS, memory --memory (default 10), compact form, Moré-Thuente",
    },
    Method {
        name: "cg-fr",
        about: "nonlinear CG, Fletcher-Reeves β, Moré-Thuente (c2 = 0.1)",
    },
    Method {
        name: "cg-pr",
        about: "nonlinear CG, Polak-Ribière β, Moré-Thuente (c2 = 0.1)",
    },
    Method {
        name: "cg-pr+",
        about: "nonlinear CG, Polak-Ribière β truncated at 0, Moré-Thuente (c2 = 0.1)",
    },
    Method {
        name: "cg-hs",
        about: "nonlinear CG, Hestenes-Stiefel β, Moré-Thuente (c2 = 0.1)",
    },
    Method {
        name: "cg-dy",
        about: "nonlinear CG, Dai-Yuan β, Moré-Thuente (c2 = 0.1)",
    },
    Method {
        name: "cg-hz",
        about: "nonlinear CG, Hager-Zhang β (CG_DESCENT), Hager-Zhang line search",
    },
    Method {
        name: "newton",
        about: "Newton, exact Hessian, modified Cholesky (N&W 3.3), backtracking",
    },
    Method {
        name: "newton-tr",
        about: "Newton trust region, exact subproblem (Moré-Sorensen 1983), hard case",
    },
];

/// The names of [`METHODS`], comma-separated, for error messages.
pub fn known_methods() -> String {
    METHODS
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `--method` help: every method with its description.
pub fn method_help() -> String {
    let list: Vec<String> = METHODS
        .iter()
        .map(|m| format!("{} = {}", m.name, m.about))
        .collect();
    format!("The method: {}", list.join("; "))
}

/// Why a method could not run.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    #[error("unknown method '{name}' (known: {known})", known = known_methods())]
    Unknown { name: String },
    #[error(transparent)]
    Input(#[from] Error),
}

/// Checks that `name` is in [`METHODS`].
pub fn check_method(name: &str) -> Result<(), MethodError> {
    if METHODS.iter().any(|m| m.name == name) {
        Ok(())
    } else {
        Err(MethodError::Unknown { name: name.into() })
    }
}

/// Runs the method called `name` on `problem` from `x0`.
///
/// `P` offers every derivative any method may want (gradient, dense
/// Hessian, Hessian-vector products), so Newton-type methods slot in here.
pub fn run_method<P>(
    name: &str,
    problem: &P,
    x0: &[f64],
    options: &MethodOptions,
) -> Result<Report, MethodError>
where
    P: Hessian + HessVec,
{
    let MethodOptions {
        gtol,
        max_iter,
        memory,
    } = *options;
    let cg = |beta: Beta| {
        NonlinearCg::new(beta)
            .with_gtol(gtol)
            .with_max_iter(max_iter)
            .minimize(problem, x0)
    };
    let report = match name {
        "gd" => GradientDescent::default()
            .with_gtol(gtol)
            .with_max_iter(max_iter)
            .minimize(problem, x0)?,
        "bfgs" => Bfgs::default()
            .with_gtol(gtol)
            .with_max_iter(max_iter)
            .minimize(problem, x0)?,
        "lbfgs" => {
            let mut lbfgs = Lbfgs::default();
            if let Some(m) = memory {
                lbfgs = lbfgs.with_memory(m);
            }
            lbfgs
                .with_gtol(gtol)
                .with_max_iter(max_iter)
                .minimize(problem, x0)?
        }
        "cg-fr" => cg(Beta::FletcherReeves)?,
        "cg-pr" => cg(Beta::PolakRibiere)?,
        "cg-pr+" => cg(Beta::PolakRibierePlus)?,
        "cg-hs" => cg(Beta::HestenesStiefel)?,
        "cg-dy" => cg(Beta::DaiYuan)?,
        "cg-hz" => cg(Beta::HagerZhang)?,
        "newton" => Newton::default()
            .with_gtol(gtol)
            .with_max_iter(max_iter)
            .minimize(problem, x0)?,
        "newton-tr" => NewtonTrustRegion::default()
            .with_gtol(gtol)
            .with_max_iter(max_iter)
            .minimize(problem, x0)?,
        _ => return Err(MethodError::Unknown { name: name.into() }),
    };
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_method_runs() {
        let p = hesse::problems::Rosenbrock::new(2);
        let options = MethodOptions {
            gtol: 1e-3,
            max_iter: 10,
            memory: None,
        };
        for m in METHODS {
            let report = run_method(m.name, &p, &[-1.2, 1.0], &options).unwrap();
            assert_eq!(report.method, m.name);
        }
        assert!(matches!(
            run_method("nope", &p, &[0.0, 0.0], &options),
            Err(MethodError::Unknown { .. })
        ));
    }
}
