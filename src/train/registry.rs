//! The minibatch methods by the names the command line and the benchmark
//! use: one line per method in the `registry!` table below,
//! so a new method is its file plus one line here.

use super::{
    AdaHessian, FirstOrder, FullBatchMinimizer, Grafting, Method, NetworkObjective, Shampoo, Soap,
    Sophia, SophiaEstimator,
};
use crate::first_order::{AnyOptimizer, Averaging, Clip, Hyper, Optimizer, Schedule};
use crate::natural::{HessianFree, Kfac, NaturalGradient};
use crate::quasi_newton::Lbfgs;
use crate::solver::Error;

/// The options the builders read (what `train_bench`'s and `hesse train`'s
/// flags set); `None` keeps the method's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MethodOptions {
    /// Learning rate (first-order methods, natural gradient's `ε`, AdaHessian).
    pub lr: Option<f64>,
    /// Momentum `α` of `momentum`, `nesterov` and `rmsprop-nesterov` (0.9),
    /// `μ` of `shampoo` (0).
    pub momentum: Option<f64>,
    /// Decay `ρ` of `rmsprop`, `rmsprop-nesterov` and `adadelta`.
    pub rho: Option<f64>,
    /// Adam's `ρ₁`.
    pub beta1: Option<f64>,
    /// Adam's `ρ₂`.
    pub beta2: Option<f64>,
    /// The stabilizing constant: the first-order rules' `δ` (PyTorch's
    /// eps), sophia's `ε` (10⁻¹²), adahessian's `ε` (10⁻⁴).
    pub eps: Option<f64>,
    /// CG tolerance: hf's relative progress `ε` (§4.4), natural's relative
    /// residual.
    pub cg_tol: Option<f64>,
    /// K-FAC's and Sophia's curvature sub-batch as a fraction of the
    /// minibatch.
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
    // sophia, adahessian (helper `sophia`, issue 23):
    /// Sophia's estimator of the Hessian diagonal (default Hutchinson;
    /// `sophia-h` and `sophia-g` fix it).
    pub sophia_estimator: Option<SophiaEstimator>,
    /// Sophia's `γ` (default 0.01 Hutchinson, 0.05 GNB).
    pub sophia_gamma: Option<f64>,
    /// Steps between curvature estimates `k` (sophia: 10, adahessian: 1).
    pub hessian_period: Option<u64>,
    /// Decoupled weight decay `λ` (sophia, adahessian; default 0).
    pub weight_decay: Option<f64>,
    /// `β₁, β₂` (sophia: 0.96, 0.99; adahessian: 0.9, 0.999).
    pub betas: Option<(f64, f64)>,
    /// AdaHessian's Hessian power `k` (default 1).
    pub hessian_power: Option<f64>,
    // shampoo, soap (helper `shampoo`, issue 23):
    /// Steps between recomputing Shampoo's roots or SOAP's eigenbasis
    /// (default 10 for both).
    pub precondition_frequency: Option<u64>,
    /// Shampoo's grafting method (default Adam, `β₂ = 0.999`, `ε = 10⁻⁸`).
    pub grafting: Option<Grafting>,
}

/// The methods, one line each: `"name" => |o| builder,` with `o` the
/// [`MethodOptions`], or `"name" => |o, lr = default| builder,` for a method
/// with a learning rate, `lr` then bound to `o.lr` or the default (which
/// [`default_lr`] reports, the centre of `train_bench`'s grid; a literal or
/// a parenthesized expression). A builder may return early with `?`.
macro_rules! registry {
    ($($name:literal => |$o:ident $(, $lr:ident = $default:tt)?| $build:expr,)*) => {
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
                    // A parenthesized default is one token tree (unused_parens).
                    $(#[allow(unused_parens)] let $lr: f64 = $o.lr.unwrap_or($default);)?
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

        /// The default learning rate of the method registered as `name`;
        /// `None` for a method without one (hf, natural, whose `ε` stays 1,
        /// kfac) and for an unknown name.
        ///
        /// ```
        /// use hesse::train::registry::default_lr;
        /// assert_eq!(default_lr("adam"), Some(1e-3));
        /// assert_eq!(default_lr("kfac"), None);
        /// ```
        #[allow(unused_parens)]
        pub fn default_lr(name: &str) -> Option<f64> {
            match name {
                $($name => None $(.or(Some($default)))?,)*
                _ => None,
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
    "sgd" => |o, lr = (rule_lr("sgd"))| first_order("sgd", o, lr)?,
    "sgd-momentum" => |o, lr = (rule_lr("momentum"))| first_order("momentum", o, lr)?,
    "momentum" => |o, lr = (rule_lr("momentum"))| first_order("momentum", o, lr)?,
    "nesterov" => |o, lr = (rule_lr("nesterov"))| first_order("nesterov", o, lr)?,
    "adagrad" => |o, lr = (rule_lr("adagrad"))| first_order("adagrad", o, lr)?,
    "rmsprop" => |o, lr = (rule_lr("rmsprop"))| first_order("rmsprop", o, lr)?,
    "rmsprop-nesterov" => |o, lr = (rule_lr("rmsprop-nesterov"))| first_order("rmsprop-nesterov", o, lr)?,
    "adam" => |o, lr = (rule_lr("adam"))| first_order("adam", o, lr)?,
    "adadelta" => |o, lr = (rule_lr("adadelta"))| first_order("adadelta", o, lr)?,
    "hf" => |o| hessian_free(o),
    "natural" => |o| natural(o),
    "kfac" => |o| kfac(o),
    "adahessian" => |o, lr = 0.15| adahessian(o, lr),
    "sophia" => |o, lr = 6e-4| sophia(o, o.sophia_estimator.unwrap_or_default(), lr),
    "sophia-h" => |o, lr = 6e-4| sophia(o, SophiaEstimator::Hutchinson, lr),
    "sophia-g" => |o, lr = 6e-4| sophia(o, SophiaEstimator::Gnb, lr),
    "shampoo" => |o, lr = 1e-2| shampoo(o, lr),
    "soap" => |o, lr = 3e-3| soap(o, lr),
    "lbfgs" => |_o| FullBatchMinimizer::new(Lbfgs::default().with_max_iter(u64::MAX)),
}

/// The default learning rate of the first-order rule `rule`
/// ([`AnyOptimizer`]'s `Default`s).
fn rule_lr(rule: &str) -> f64 {
    AnyOptimizer::build(rule, &Hyper::default()).map_or(f64::NAN, |r| r.learning_rate())
}

/// A first-order rule by name ([`AnyOptimizer::build`]) at rate `lr`, with
/// the schedule, clipping and averaging given.
fn first_order(rule: &str, o: &MethodOptions, lr: f64) -> Result<FirstOrder<AnyOptimizer>, Error> {
    let hyper = Hyper {
        lr: Some(lr),
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

fn adahessian(o: &MethodOptions, lr: f64) -> AdaHessian {
    let mut a = AdaHessian::default().with_learning_rate(lr);
    if let Some((b1, b2)) = o.betas {
        a = a.with_betas(b1, b2);
    }
    if let Some(k) = o.hessian_power {
        a = a.with_hessian_power(k);
    }
    if let Some(p) = o.hessian_period {
        a = a.with_hessian_period(p);
    }
    if let Some(l) = o.weight_decay {
        a = a.with_weight_decay(l);
    }
    if let Some(e) = o.eps {
        a = a.with_eps(e);
    }
    a
}

fn sophia(o: &MethodOptions, estimator: SophiaEstimator, lr: f64) -> Sophia {
    let mut s = Sophia::new(estimator).with_learning_rate(lr);
    if let Some((b1, b2)) = o.betas {
        s = s.with_betas(b1, b2);
    }
    if let Some(g) = o.sophia_gamma {
        s = s.with_gamma(g);
    }
    if let Some(k) = o.hessian_period {
        s = s.with_hessian_period(k);
    }
    if let Some(l) = o.weight_decay {
        s = s.with_weight_decay(l);
    }
    if let Some(e) = o.eps {
        s = s.with_eps(e);
    }
    if let Some(f) = o.curvature_fraction {
        s = s.with_curvature_fraction(f);
    }
    s
}

fn shampoo(o: &MethodOptions, lr: f64) -> Shampoo {
    let mut s = Shampoo::default().with_learning_rate(lr);
    if let Some(m) = o.momentum {
        s = s.with_momentum(m);
    }
    if let Some(t) = o.precondition_frequency {
        s = s.with_precondition_frequency(t);
    }
    if let Some(g) = o.grafting {
        s = s.with_grafting(g);
    }
    s
}

fn soap(o: &MethodOptions, lr: f64) -> Soap {
    let mut s = Soap::default().with_learning_rate(lr);
    if let Some(f) = o.precondition_frequency {
        s = s.with_precondition_frequency(f);
    }
    s
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
                "sophia-h" | "sophia-g" => "sophia",
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
