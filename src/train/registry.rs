//! The minibatch methods by the names the command line and the benchmark
//! use: one line per method in the `registry!` table below,
//! so a new method is its file plus one line here.

use super::{AdaHessian, FirstOrder, FullBatchMinimizer, Method, NetworkObjective};
use crate::first_order::{AnyOptimizer, Averaging, Clip, Hyper, Schedule};
use crate::natural::{HessianFree, Kfac, NaturalGradient};
use crate::quasi_newton::Lbfgs;
use crate::solver::Error;

/// The options the builders read (what `train_bench`'s and `hesse train`'s
/// flags set); `None` keeps the method's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MethodOptions {
    /// Learning rate (first-order methods, natural gradient's `ε`, AdaHessian).
    pub lr: Option<f64>,
    /// Momentum `α` of `momentum`, `nesterov` and `rmsprop-nesterov`.
    pub momentum: Option<f64>,
    /// Decay `ρ` of `rmsprop`, `rmsprop-nesterov` and `adadelta`.
    pub rho: Option<f64>,
    /// Adam's `ρ₁`.
    pub beta1: Option<f64>,
    /// Adam's `ρ₂`.
    pub beta2: Option<f64>,
    /// The first-order rules' stabilizing `δ` (PyTorch's eps).
    pub eps: Option<f64>,
    /// CG tolerance: hf's relative progress `ε` (§4.4), natural's relative
    /// residual.
    pub cg_tol: Option<f64>,
    /// K-FAC's curvature sub-batch as a fraction of the minibatch.
    pub curvature_fraction: Option<f64>,
    /// The first-order rules' learning-rate schedule over steps (default
    /// constant).
    pub schedule: Option<Schedule>,
    /// The first-order rules' gradient clipping.
    pub clip: Option<Clip>,
    /// The first-order rules' iterate averaging.
    pub averaging: Option<Averaging>,
    /// Initial damping `λ₀` (hf, natural, kfac).
    pub damping: Option<f64>,
    /// Floor on `λ` (hf, kfac).
    pub min_damping: Option<f64>,
    /// CG steps per iteration (hf, natural).
    pub max_cg: Option<usize>,
    /// HF's diagonal preconditioner (§4.7).
    pub precondition: bool,
    /// K-FAC's step check (default on).
    pub step_check: Option<bool>,
}

/// The methods, one line each: `"name" => |o| builder,` with `o` the
/// [`MethodOptions`]; a builder may return early with `?`.
macro_rules! registry {
    ($($name:literal => |$o:ident| $build:expr,)*) => {
        /// The registered names, in order.
        pub const NAMES: &[&str] = &[$($name),*];

        /// The method registered as `name`, built from its `Default` and the
        /// options given in `o`, boxed for the driver, with its serialized
        /// form (the options as the method holds them, for reports).
        ///
        /// # Errors
        /// An unknown name, or an option the method does not take
        /// ([`Error::InvalidOption`]). Option values are checked when the
        /// method starts.
        pub fn build_described<P: NetworkObjective + ?Sized>(
            name: &str,
            o: &MethodOptions,
        ) -> Result<(Box<dyn Method<P>>, serde_json::Value), Error> {
            match name {
                $($name => {
                    let $o = o;
                    let method = $build;
                    let described = serde_json::to_value(&method)
                        .map_err(|e| Error::InvalidProblem(e.to_string()))?;
                    Ok((Box::new(method), described))
                })*
                _ => Err(Error::InvalidOption {
                    name: "method",
                    value: name.to_string(),
                    expected: concat!("one of", $(" ", $name),*),
                }),
            }
        }
    };
}

/// The method registered as `name` ([`build_described`] without the
/// description).
///
/// # Errors
/// As [`build_described`].
pub fn build<P: NetworkObjective + ?Sized>(
    name: &str,
    o: &MethodOptions,
) -> Result<Box<dyn Method<P>>, Error> {
    build_described(name, o).map(|(method, _)| method)
}

registry! {
    "sgd" => |o| first_order("sgd", o)?,
    "sgd-momentum" => |o| first_order("momentum", o)?,
    "momentum" => |o| first_order("momentum", o)?,
    "nesterov" => |o| first_order("nesterov", o)?,
    "adagrad" => |o| first_order("adagrad", o)?,
    "rmsprop" => |o| first_order("rmsprop", o)?,
    "rmsprop-nesterov" => |o| first_order("rmsprop-nesterov", o)?,
    "adam" => |o| first_order("adam", o)?,
    "adadelta" => |o| first_order("adadelta", o)?,
    "hf" => |o| hessian_free(o),
    "natural" => |o| natural(o),
    "kfac" => |o| kfac(o),
    "adahessian" => |o| AdaHessian::default().with_learning_rate(o.lr.unwrap_or(0.15)),
    "lbfgs" => |_o| FullBatchMinimizer::new(Lbfgs::default()),
}

/// A first-order rule by name ([`AnyOptimizer::build`]) with the schedule,
/// clipping and averaging given.
fn first_order(rule: &str, o: &MethodOptions) -> Result<FirstOrder<AnyOptimizer>, Error> {
    let hyper = Hyper {
        lr: o.lr,
        momentum: o.momentum,
        rho: o.rho,
        beta1: o.beta1,
        beta2: o.beta2,
        eps: o.eps,
    };
    let mut m = FirstOrder::new(AnyOptimizer::build(rule, &hyper)?);
    if let Some(s) = o.schedule {
        m = m.with_schedule(s);
    }
    if let Some(c) = o.clip {
        m = m.with_clip(c);
    }
    if let Some(a) = o.averaging {
        m = m.with_averaging(a);
    }
    Ok(m)
}

fn hessian_free(o: &MethodOptions) -> HessianFree {
    let mut hf = HessianFree::default().with_preconditioner(o.precondition);
    if let Some(l) = o.damping {
        hf = hf.with_initial_damping(l);
    }
    if let Some(n) = o.max_cg {
        hf = hf.with_max_cg_iter(n);
    }
    if let Some(m) = o.min_damping {
        hf = hf.with_min_damping(m);
    }
    if let Some(t) = o.cg_tol {
        hf = hf.with_cg_epsilon(t);
    }
    hf
}

fn natural(o: &MethodOptions) -> NaturalGradient {
    let mut ng = NaturalGradient::default();
    if let Some(l) = o.damping {
        ng = ng.with_initial_damping(l);
    }
    if let Some(n) = o.max_cg {
        ng = ng.with_max_cg_iter(n);
    }
    if let Some(lr) = o.lr {
        ng = ng.with_learning_rate(lr);
    }
    if let Some(t) = o.cg_tol {
        ng = ng.with_cg_rtol(t);
    }
    ng
}

fn kfac(o: &MethodOptions) -> Kfac {
    let mut k = Kfac::default();
    if let Some(l) = o.damping {
        k = k.with_initial_damping(l);
    }
    if let Some(m) = o.min_damping {
        k = k.with_min_damping(m);
    }
    if let Some(c) = o.step_check {
        k = k.with_step_check(c);
    }
    if let Some(f) = o.curvature_fraction {
        k = k.with_curvature_fraction(f);
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::MlpProblem;

    #[test]
    fn every_name_builds_a_method_of_that_name() {
        let o = MethodOptions::default();
        for name in NAMES {
            let m = build::<MlpProblem<'_>>(name, &o).unwrap();
            let expected = match *name {
                "sgd-momentum" => "momentum",
                n => n,
            };
            assert_eq!(m.name(), expected);
        }
        let e = build::<MlpProblem<'_>>("nope", &o)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("one of sgd sgd-momentum"), "{e}");
    }
}
