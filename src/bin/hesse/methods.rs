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
    /// Keep a per-iteration history in the report (for `compare`'s plots).
    pub history: bool,
    /// Wall-time limit per run (`compare`'s cap); `None` is no limit.
    pub time_limit: Option<std::time::Duration>,
}

impl Default for MethodOptions {
    fn default() -> Self {
        MethodOptions {
            gtol: 1e-8,
            max_iter: 100_000,
            memory: None,
            history: false,
            time_limit: None,
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
    Method {
        name: "newton-cg",
        about: "Newton-CG (truncated Newton, N&W 7.1): Hessian-vector products, backtracking",
    },
    Method {
        name: "newton-cg-tr",
        about: "Newton-CG in a trust region: Steihaug-Toint CG (N&W 7.2), scipy's trust-ncg",
    },
    Method {
        name: "saddle-free-newton",
        about: "saddle-free Newton -(|H| + delta I)^-1 g (Dauphin et al. 2014): dense eigen, Lanczos k = 20 above n = 500",
    },
];

/// The first-order baselines (GBC ch. 8): fixed-step rules with the
/// textbook's hyper-parameters, run full-batch by `hesse minimize --method`
/// (flags in `baselines.rs`). Kept out of [`METHODS`] so that `hesse compare`
/// does not run them: with a fixed learning rate they need tens of thousands
/// of iterations where the suite's methods need tens, and would swamp its table.
pub const BASELINES: &[Method] = &[
    Method {
        name: "sgd",
        about: "SGD, full batch, theta <- theta - lr g (GBC alg. 8.1); --lr, --schedule",
    },
    Method {
        name: "momentum",
        about: "momentum v <- alpha v - lr g (GBC alg. 8.2); --lr, --momentum",
    },
    Method {
        name: "nesterov",
        about: "Nesterov momentum, gradient at theta + alpha v (GBC alg. 8.3); --lr, --momentum",
    },
    Method {
        name: "adagrad",
        about: "AdaGrad (GBC alg. 8.4); --lr, --eps",
    },
    Method {
        name: "rmsprop",
        about: "RMSProp (GBC alg. 8.5); --lr, --rho, --eps",
    },
    Method {
        name: "rmsprop-nesterov",
        about: "RMSProp with Nesterov momentum (GBC alg. 8.6); --lr, --rho, --momentum, --eps",
    },
    Method {
        name: "adam",
        about: "Adam (GBC alg. 8.7); --lr, --beta1, --beta2, --eps",
    },
    Method {
        name: "adadelta",
        about: "AdaDelta (Zeiler 2012); --rho, --eps, --lr (multiplier, default 1)",
    },
    Method {
        name: "coordinate-descent",
        about: "cyclic coordinate descent, exact line search per variable (GBC §8.7.2)",
    },
];

/// Whether `name` is one of the [`BASELINES`].
pub fn is_baseline(name: &str) -> bool {
    BASELINES.iter().any(|m| m.name == name)
}

/// The names of [`METHODS`] and [`BASELINES`], comma-separated, for error
/// messages; with the `argmin` feature also argmin's solvers
/// (`hesse::interop::argmin::ARGMIN_METHODS`), which [`run_method`] accepts
/// too.
pub fn known_methods() -> String {
    let names = METHODS.iter().chain(BASELINES).map(|m| m.name);
    #[cfg(feature = "argmin")]
    let names = names.chain(hesse::interop::argmin::ARGMIN_METHODS.iter().copied());
    names.collect::<Vec<_>>().join(", ")
}

/// The `--method` help: every method with its description.
pub fn method_help() -> String {
    let list: Vec<String> = METHODS
        .iter()
        .chain(BASELINES)
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
    #[cfg(feature = "argmin")]
    if hesse::interop::argmin::ARGMIN_METHODS.contains(&name) {
        return Ok(());
    }
    if METHODS.iter().any(|m| m.name == name) || is_baseline(name) {
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
        history,
        time_limit,
    } = *options;
    let stop = Stop {
        g_abs: gtol,
        max_iter,
        time_limit,
        ..Stop::default()
    };
    let cg = |beta: Beta| {
        NonlinearCg::new(beta)
            .with_stop(stop.clone())
            .with_history(history)
            .minimize(problem, x0)
    };
    // argmin's solvers, by name, when built with the feature (never run by
    // default: `compare --methods argmin-lbfgs,...` asks for them).
    #[cfg(feature = "argmin")]
    if hesse::interop::argmin::ARGMIN_METHODS.contains(&name) {
        return Ok(hesse::interop::argmin::run_argmin(
            name, problem, x0, &stop,
        )?);
    }
    let report = match name {
        "gd" => GradientDescent::default()
            .with_stop(stop.clone())
            .with_history(history)
            .minimize(problem, x0)?,
        "bfgs" => Bfgs::default()
            .with_stop(stop.clone())
            .with_history(history)
            .minimize(problem, x0)?,
        "lbfgs" => {
            let mut lbfgs = Lbfgs::default();
            if let Some(m) = memory {
                lbfgs = lbfgs.with_memory(m);
            }
            lbfgs
                .with_stop(stop.clone())
                .with_history(history)
                .minimize(problem, x0)?
        }
        "cg-fr" => cg(Beta::FletcherReeves)?,
        "cg-pr" => cg(Beta::PolakRibiere)?,
        "cg-pr+" => cg(Beta::PolakRibierePlus)?,
        "cg-hs" => cg(Beta::HestenesStiefel)?,
        "cg-dy" => cg(Beta::DaiYuan)?,
        "cg-hz" => cg(Beta::HagerZhang)?,
        "newton" => Newton::default()
            .with_stop(stop.clone())
            .with_history(history)
            .minimize(problem, x0)?,
        "newton-tr" => NewtonTrustRegion::default()
            .with_stop(stop.clone())
            .with_history(history)
            .minimize(problem, x0)?,
        "newton-cg" => NewtonCg::default()
            .with_stop(stop.clone())
            .with_history(history)
            .minimize(problem, x0)?,
        "newton-cg-tr" => NewtonCg::trust_region()
            .with_stop(stop.clone())
            .with_history(history)
            .minimize(problem, x0)?,
        "saddle-free-newton" if x0.len() <= 500 => SaddleFreeNewton::default()
            .with_stop(stop.clone())
            .with_history(history)
            .minimize(problem, x0)?,
        "saddle-free-newton" => SaddleFreeNewton::krylov(20)
            .with_stop(stop.clone())
            .with_history(history)
            .minimize(problem, x0)?,
        name if is_baseline(name) => crate::baselines::run_baseline(
            name,
            problem,
            x0,
            options,
            &crate::baselines::FirstOrderArgs::default(),
        )?,
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
            ..MethodOptions::default()
        };
        for m in METHODS {
            let report = run_method(m.name, &p, &[-1.2, 1.0], &options).unwrap();
            assert_eq!(report.method, m.name);
        }
        for m in BASELINES {
            let report = run_method(m.name, &p, &[-1.2, 1.0], &options).unwrap();
            assert_eq!(report.method, m.name);
            // A fixed step may blow up on Rosenbrock's valley: that ends
            // the run early with a typed termination, never a panic.
            assert!(report.iterations <= 10);
        }
        assert!(matches!(
            run_method("nope", &p, &[0.0, 0.0], &options),
            Err(MethodError::Unknown { .. })
        ));
    }

    /// The "known:" list names exactly what `check_method` accepts.
    #[test]
    fn known_methods_lists_every_accepted_name() {
        let known = known_methods();
        let names: Vec<&str> = known.split(", ").collect();
        for name in &names {
            assert!(check_method(name).is_ok(), "{name}");
        }
        let all = METHODS.iter().chain(BASELINES).map(|m| m.name);
        #[cfg(feature = "argmin")]
        let all = all.chain(hesse::interop::argmin::ARGMIN_METHODS.iter().copied());
        assert_eq!(names, all.collect::<Vec<_>>());
    }
}
