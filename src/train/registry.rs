//! The minibatch methods by the names the command line and the benchmark
//! use: one line per method in the `registry!` table below,
//! so a new method is its file plus one line here.

use super::{AdaHessian, FirstOrder, Grafting, Method, NetworkObjective, Shampoo, Soap};
use crate::first_order::{Adam, Momentum, Sgd};
use crate::natural::{HessianFree, Kfac, NaturalGradient};

/// The options the builders read (what `train_bench`'s and `hesse train`'s
/// flags set); `None` keeps the method's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MethodOptions {
    /// Learning rate (first-order methods, natural gradient's `ε`, AdaHessian).
    pub lr: Option<f64>,
    /// Momentum `α` of `sgd-momentum` (default 0.9) and `μ` of `shampoo` (default 0).
    pub momentum: Option<f64>,
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
    // shampoo, soap
    /// Steps between recomputing Shampoo's roots or SOAP's eigenbasis
    /// (default 10 for both).
    pub precondition_frequency: Option<u64>,
    /// Shampoo's grafting method (default Adam, `β₂ = 0.999`, `ε = 10⁻⁸`).
    pub grafting: Option<Grafting>,
}

/// The methods, one line each: `"name" => |o| builder,` with `o` the
/// [`MethodOptions`], or `"name" => |o, lr = default| builder,` for a method
/// with a learning rate, `lr` then bound to `o.lr` or the default (which
/// [`default_lr`] reports, the centre of `train_bench`'s grid).
macro_rules! registry {
    ($($name:literal => |$o:ident $(, $lr:ident = $default:literal)?| $build:expr,)*) => {
        /// The registered names, in order.
        pub const NAMES: &[&str] = &[$($name),*];

        /// The method registered as `name`, built from `o`, boxed for the
        /// driver; `None` for an unknown name.
        pub fn build<P: NetworkObjective + ?Sized>(
            name: &str,
            o: &MethodOptions,
        ) -> Option<Box<dyn Method<P>>> {
            match name {
                $($name => {
                    let $o = o;
                    $(let $lr: f64 = $o.lr.unwrap_or($default);)?
                    Some(Box::new($build))
                })*
                _ => None,
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
        pub fn default_lr(name: &str) -> Option<f64> {
            match name {
                $($name => None $(.or(Some($default)))?,)*
                _ => None,
            }
        }
    };
}

registry! {
    "sgd" => |o, lr = 0.01| FirstOrder::new(Sgd::new(lr)),
    "sgd-momentum" => |o, lr = 0.01| FirstOrder::new(Momentum::new(lr, o.momentum.unwrap_or(0.9))),
    "adam" => |o, lr = 1e-3| FirstOrder::new(Adam::new(lr)),
    "hf" => |o| hessian_free(o),
    "natural" => |o| natural(o),
    "kfac" => |o| kfac(o),
    "adahessian" => |o, lr = 0.15| AdaHessian::default().with_learning_rate(lr),
    "shampoo" => |o, lr = 1e-2| shampoo(o, lr),
    "soap" => |o, lr = 3e-3| soap(o, lr),
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
        assert!(build::<MlpProblem<'_>>("nope", &o).is_none());
    }
}
