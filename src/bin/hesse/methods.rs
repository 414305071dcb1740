//! The method table: one place that maps a method name to a run.
//!
//! To add a method, add one entry to [`METHODS`] and one arm to
//! [`run_method`]; `hesse minimize --method` and `hesse compare` pick it up.

use hesse::prelude::*;
use hesse::solver::{Minimizer, Run, State, Stop};

/// Options every method takes from the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MethodOptions {
    /// Absolute gradient tolerance `‖g‖∞ ≤ gtol`.
    pub gtol: f64,
    /// Relative tolerance on the change in f, `|f_{k−1} − f_k| ≤ ftol |f_k|`
    /// (`with_ftol`); `None` is off.
    pub ftol: Option<f64>,
    /// Relative tolerance on the step, `‖Δx‖∞ ≤ xtol ‖x‖∞` (`with_xtol`);
    /// `None` is off.
    pub xtol: Option<f64>,
    /// Iteration limit.
    pub max_iter: u64,
    /// Limit on f + g + H + Hv evaluations (`with_max_evals`); `None` is no
    /// limit.
    pub max_evals: Option<u64>,
    /// L-BFGS memory `m` (pairs kept); `None` is the library default (10).
    pub memory: Option<usize>,
    /// Keep a per-iteration history in the report (for `compare`'s plots).
    pub history: bool,
    /// Wall-time limit per run; `None` is no limit.
    pub time_limit: Option<std::time::Duration>,
    /// Print one line per iteration to stderr (`minimize --trace`).
    pub trace: bool,
}

impl Default for MethodOptions {
    fn default() -> Self {
        MethodOptions {
            gtol: 1e-8,
            ftol: None,
            xtol: None,
            max_iter: 100_000,
            max_evals: None,
            memory: None,
            history: false,
            time_limit: None,
            trace: false,
        }
    }
}

impl MethodOptions {
    /// The stopping criteria these options ask for (the f and x tests off
    /// unless given, as in [`Stop::default`]).
    pub fn stop(&self) -> Stop {
        Stop {
            g_abs: self.gtol,
            f_rel: self.ftol.unwrap_or(0.0),
            x_rel: self.xtol.unwrap_or(0.0),
            max_iter: self.max_iter,
            max_evals: self.max_evals,
            time_limit: self.time_limit,
            ..Stop::default()
        }
    }
}

/// The header of `--trace`, printed before the first line.
pub const TRACE_HEADER: &str = "trace:      k                        f     ‖g‖∞   ‖Δx‖∞       α  f evals  g evals  H evals Hv evals";

/// One `--trace` line: iteration k, f, ‖g‖∞, the step ‖x_k − x_{k−1}‖∞, the
/// line-search step α (`-` where none), and the evaluations so far.
pub fn trace_line(s: &State) -> String {
    let num = |v: f64| {
        if v.is_nan() {
            format!("{:>8}", "-")
        } else {
            format!("{v:>8.1e}")
        }
    };
    format!(
        "trace: {:>6} {:>24.16e} {} {} {} {:>8} {:>8} {:>8} {:>8}",
        s.iteration,
        s.f,
        num(s.grad_norm),
        num(s.step_norm),
        num(s.alpha),
        s.evals.f,
        s.evals.g,
        s.evals.h,
        s.evals.hv
    )
}

/// Runs `run` to the end; with `trace`, prints [`trace_line`] to stderr for
/// the start and after every iteration (the last included), as it goes.
pub fn drive<'p, M, P>(run: Run<'p, M, P>, trace: bool) -> Run<'p, M, P>
where
    M: Minimizer<&'p P>,
    P: ?Sized,
{
    // Ctrl-C ends the run after the current iteration (`user_stop`).
    let mut run = run.with_observer(crate::interrupt::observer);
    if !trace {
        while run.step().is_none() {}
        return run;
    }
    eprintln!("{TRACE_HEADER}");
    eprintln!("{}", trace_line(run.state()));
    let mut last = run.state().iteration;
    loop {
        let done = run.step();
        // An iteration the method itself ended (a failed line search) leaves
        // the state where it was: nothing new to print.
        if run.state().iteration > last {
            last = run.state().iteration;
            eprintln!("{}", trace_line(run.state()));
        }
        if done.is_some() {
            return run;
        }
    }
}

/// Runs `solver` on `problem` from `x0` through the shared driver, with
/// `--trace` lines when asked for: what `solver.minimize(problem, x0)` does.
pub fn minimize_traced<'p, M, P>(
    solver: M,
    problem: &'p P,
    x0: &[f64],
    trace: bool,
) -> Result<Report, Error>
where
    M: Minimizer<&'p P>,
    P: ?Sized,
{
    Ok(drive(Run::new(solver, problem, x0)?, trace).report())
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
        name: "lbfgsb",
        about: "L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995): L-BFGS in a box (--bounds), Cauchy point, subspace step",
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
        name: "tron",
        about: "TRON (Lin & Moré 1999): trust-region Newton-CG in a box (--bounds), Hessian-vector products",
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

/// A method name `--method` accepts: one of [`METHODS`], [`BASELINES`] and,
/// with the `argmin` feature, argmin's solvers. A `clap::ValueEnum`, so that
/// `--help` lists every method with its description and a typo gets clap's
/// "did you mean".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodName(pub &'static str);

impl MethodName {
    /// The name as the command line spells it.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Every method `--method` accepts, in the order of the tables.
    pub fn all() -> &'static [MethodName] {
        static ALL: std::sync::OnceLock<Vec<MethodName>> = std::sync::OnceLock::new();
        ALL.get_or_init(|| {
            let names = METHODS.iter().chain(BASELINES).map(|m| m.name);
            #[cfg(feature = "argmin")]
            let names = names.chain(hesse::interop::argmin::ARGMIN_METHODS.iter().copied());
            names.map(MethodName).collect()
        })
    }

    /// Every name, as strings.
    pub fn names() -> Vec<&'static str> {
        Self::all().iter().map(|m| m.0).collect()
    }
}

impl clap::ValueEnum for MethodName {
    fn value_variants<'a>() -> &'a [Self] {
        Self::all()
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let about = METHODS
            .iter()
            .chain(BASELINES)
            .find(|m| m.name == self.0)
            .map_or("argmin's solver (the argmin feature)", |m| m.about);
        Some(clap::builder::PossibleValue::new(self.0).help(about))
    }
}

impl std::fmt::Display for MethodName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Why a method could not run.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    #[error("unknown method '{name}' (known: {known})", known = MethodName::names().join(", "))]
    Unknown { name: String },
    #[error("--bounds does not apply to method {name} (methods that take bounds: {})",
        crate::applies::BOUNDED.join(", "))]
    NoBounds { name: String },
    #[error(transparent)]
    Input(#[from] Error),
}

/// Runs the method called `name` on `problem` from `x0` (without bounds;
/// the commands call [`run_method_bounded`]).
///
/// `P` offers every derivative any method may want (gradient, dense
/// Hessian, Hessian-vector products), so Newton-type methods slot in here.
#[cfg(test)]
pub fn run_method<P>(
    name: &str,
    problem: &P,
    x0: &[f64],
    options: &MethodOptions,
) -> Result<Report, MethodError>
where
    P: Hessian + HessVec,
{
    run_method_bounded(name, problem, x0, options, None)
}

/// [`run_method`] with `bounds` for the methods that take them
/// ([`BOUNDED`](crate::applies::BOUNDED)); any other method given bounds is
/// an error naming those that take them.
pub fn run_method_bounded<P>(
    name: &str,
    problem: &P,
    x0: &[f64],
    options: &MethodOptions,
    bounds: Option<&Bounds>,
) -> Result<Report, MethodError>
where
    P: Hessian + HessVec,
{
    if bounds.is_some() && !crate::applies::BOUNDED.contains(&name) {
        return Err(MethodError::NoBounds { name: name.into() });
    }
    let (history, memory, trace) = (options.history, options.memory, options.trace);
    let stop = options.stop();
    // Every method runs with the same stop, history and trace.
    macro_rules! traced {
        ($solver:expr) => {
            minimize_traced(
                $solver.with_stop(stop.clone()).with_history(history),
                problem,
                x0,
                trace,
            )
        };
    }
    let cg = |beta: Beta| traced!(NonlinearCg::new(beta));
    // argmin's solvers, by name, when built with the feature (never run by
    // default: `compare --methods argmin-lbfgs,...` asks for them).
    #[cfg(feature = "argmin")]
    if hesse::interop::argmin::ARGMIN_METHODS.contains(&name) {
        return Ok(hesse::interop::argmin::run_argmin(
            name, problem, x0, &stop,
        )?);
    }
    let report = match name {
        "gd" => traced!(GradientDescent::default())?,
        "bfgs" => traced!(Bfgs::default())?,
        "lbfgs" => {
            let mut lbfgs = Lbfgs::default();
            if let Some(m) = memory {
                lbfgs = lbfgs.with_memory(m);
            }
            traced!(lbfgs)?
        }
        "lbfgsb" => {
            let mut lbfgsb = LbfgsB::default();
            if let Some(m) = memory {
                lbfgsb = lbfgsb.with_memory(m);
            }
            if let Some(b) = bounds {
                lbfgsb = lbfgsb.with_bounds(b.clone());
            }
            traced!(lbfgsb)?
        }
        "tron" => {
            let mut tron = Tron::default();
            if let Some(b) = bounds {
                tron = tron.with_bounds(b.clone());
            }
            traced!(tron)?
        }
        "cg-fr" => cg(Beta::FletcherReeves)?,
        "cg-pr" => cg(Beta::PolakRibiere)?,
        "cg-pr+" => cg(Beta::PolakRibierePlus)?,
        "cg-hs" => cg(Beta::HestenesStiefel)?,
        "cg-dy" => cg(Beta::DaiYuan)?,
        "cg-hz" => cg(Beta::HagerZhang)?,
        "newton" => traced!(Newton::default())?,
        "newton-tr" => traced!(NewtonTrustRegion::default())?,
        "newton-cg" => traced!(NewtonCg::default())?,
        "newton-cg-tr" => traced!(NewtonCg::trust_region())?,
        "saddle-free-newton" if x0.len() <= 500 => traced!(SaddleFreeNewton::default())?,
        "saddle-free-newton" => traced!(SaddleFreeNewton::krylov(20))?,
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

    /// `--method`'s possible values are exactly the tables' names.
    #[test]
    fn method_names_are_the_tables() {
        use clap::ValueEnum;
        let names: Vec<&str> = MethodName::value_variants()
            .iter()
            .map(|m| m.to_possible_value().unwrap().get_name().to_string().leak() as &str)
            .collect();
        let all = METHODS.iter().chain(BASELINES).map(|m| m.name);
        #[cfg(feature = "argmin")]
        let all = all.chain(hesse::interop::argmin::ARGMIN_METHODS.iter().copied());
        assert_eq!(names, all.collect::<Vec<_>>());
        assert_eq!(MethodName::from_str("bfgs", false), Ok(MethodName("bfgs")));
        assert!(MethodName::from_str("bgfs", false).is_err());
    }
}
