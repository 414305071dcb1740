//! Which methods each method-specific option applies to: one table for
//! every command.
//!
//! An option that is not in [`APPLIES`] (`--gtol`, `--max-iter`,
//! `--time-limit`, `--json`, ...) applies to every method. An option in it,
//! given with a method it does not apply to, is an error that names the
//! methods it applies to (exit 2), never silently ignored: `hesse minimize
//! --method gd --memory 5` says that `--memory` applies to lbfgs only.
//!
//! To add an option, add one line: `("bounds", Only(&["lbfgsb", "tron"]))`
//! and have the command list it in the options it checks (its `given`).

use Takers::{AllBut, Only};

/// The methods an option applies to.
#[derive(Debug, Clone, Copy)]
pub enum Takers {
    /// These methods only.
    Only(&'static [&'static str]),
    /// Every method but these.
    AllBut(&'static [&'static str]),
}

impl Takers {
    /// Whether `method` takes the option.
    pub fn contains(self, method: &str) -> bool {
        match self {
            Only(m) => m.contains(&method),
            AllBut(m) => !m.contains(&method),
        }
    }
}

/// argmin's solvers (`--features argmin`): they take `--gtol`, `--max-iter`
/// and `--time-limit` only.
const ARGMIN: &[&str] = &["argmin-lbfgs", "argmin-bfgs", "argmin-cg", "argmin-sd"];

/// The option (its long name, without `--`) and the methods (of `minimize`
/// and `compare`) or optimizers (of `train`) it applies to.
pub const APPLIES: &[(&str, Takers)] = &[
    // `minimize`: the driver's stopping tests and trace (every hesse method).
    ("ftol", AllBut(ARGMIN)),
    ("xtol", AllBut(ARGMIN)),
    ("max-evals", AllBut(ARGMIN)),
    ("trace", AllBut(ARGMIN)),
    // `minimize`: method options.
    ("memory", Only(&["lbfgs", "lbfgsb"])),
    ("bounds", Only(BOUNDED)),
    // First-order hyper-parameters (`minimize` baselines, `train` optimizers;
    // natural gradient's step ε is `--lr` too).
    (
        "lr",
        Only(&[
            "sgd",
            "momentum",
            "nesterov",
            "adagrad",
            "rmsprop",
            "rmsprop-nesterov",
            "adam",
            "adadelta",
            "natural",
            "adahessian",
            "sophia",
            "shampoo",
            "soap",
        ]),
    ),
    (
        "momentum",
        Only(&["momentum", "nesterov", "rmsprop-nesterov", "shampoo"]),
    ),
    ("rho", Only(&["rmsprop", "rmsprop-nesterov", "adadelta"])),
    ("beta1", Only(&["adam"])),
    ("beta2", Only(&["adam"])),
    (
        "eps",
        Only(&[
            "adagrad",
            "rmsprop",
            "rmsprop-nesterov",
            "adam",
            "adadelta",
            "adahessian",
            "sophia",
        ]),
    ),
    ("schedule", Only(FIXED_STEP)),
    ("clip-norm", Only(FIXED_STEP)),
    ("clip-value", Only(FIXED_STEP)),
    ("average", Only(FIXED_STEP)),
    // `train`: second-order optimizers on minibatches.
    ("damping", Only(&["hf", "natural", "kfac"])),
    ("cg-iters", Only(&["hf", "natural"])),
    (
        "curvature-batch",
        Only(&["hf", "natural", "kfac", "adahessian", "sophia"]),
    ),
    ("min-damping", Only(&["hf"])),
    ("precondition", Only(&["hf"])),
    ("cg-tol", Only(&["hf", "natural"])),
    ("no-step-check", Only(&["kfac"])),
    // `train`: the diagonal and Kronecker-factored preconditioners.
    ("sophia-estimator", Only(&["sophia"])),
    ("sophia-gamma", Only(&["sophia"])),
    ("hessian-period", Only(&["adahessian", "sophia"])),
    ("weight-decay", Only(&["adahessian", "sophia"])),
    ("betas", Only(&["adahessian", "sophia"])),
    ("hessian-power", Only(&["adahessian"])),
    ("precondition-frequency", Only(&["shampoo", "soap"])),
    ("grafting", Only(&["shampoo"])),
    // `train`: full-batch L-BFGS has no minibatches.
    ("batch", AllBut(&["lbfgs"])),
];

/// The methods that take bounds (`--bounds`).
pub const BOUNDED: &[&str] = &["lbfgsb", "tron"];

/// The fixed-step first-order rules: they take a schedule, clipping and
/// averaging.
pub const FIXED_STEP: &[&str] = &[
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "rmsprop-nesterov",
    "adam",
    "adadelta",
];

/// The methods of `universe` that take `option` (every one if the option is
/// not in the table).
pub fn takers<'a>(option: &str, universe: &[&'a str]) -> Vec<&'a str> {
    universe
        .iter()
        .copied()
        .filter(|m| takes(option, m))
        .collect()
}

/// Whether `method` takes `option`.
pub fn takes(option: &str, method: &str) -> bool {
    APPLIES
        .iter()
        .find(|(o, _)| *o == option)
        .is_none_or(|(_, t)| t.contains(method))
}

/// Checks that every option in `given` applies to `method`; `noun` is
/// "method" or "optimizer", `universe` the command's methods (the error
/// lists those of them that take the option).
pub fn check(method: &str, given: &[&str], noun: &str, universe: &[&str]) -> Result<(), String> {
    match given.iter().find(|o| !takes(o, method)) {
        None => Ok(()),
        Some(option) => {
            let t = takers(option, universe);
            Err(format!(
                "--{option} does not apply to {noun} {method} (it applies to {})",
                if t.is_empty() {
                    "none of them".to_string()
                } else {
                    t.join(", ")
                }
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_listed_once_and_names_known_methods() {
        let mut names: Vec<&str> = APPLIES.iter().map(|(o, _)| *o).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "an option listed twice");
        let known: Vec<&str> = crate::methods::METHODS
            .iter()
            .chain(crate::methods::BASELINES)
            .map(|m| m.name)
            .chain(crate::train::OPTIMIZERS.iter().copied())
            .chain(ARGMIN.iter().copied())
            .collect();
        for (option, t) in APPLIES {
            let (Only(m) | AllBut(m)) = *t;
            for method in m {
                assert!(known.contains(method), "--{option}: unknown {method}");
            }
        }
    }

    #[test]
    fn check_names_the_takers() {
        let universe = ["gd", "bfgs", "lbfgs"];
        assert!(check("lbfgs", &["memory", "ftol"], "method", &universe).is_ok());
        let e = check("gd", &["ftol", "memory"], "method", &universe).unwrap_err();
        assert_eq!(
            e,
            "--memory does not apply to method gd (it applies to lbfgs)"
        );
        assert!(check("gd", &["gtol"], "method", &universe).is_ok());
    }
}
