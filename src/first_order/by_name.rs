//! Every first-order update rule by the name the command line spells it,
//! built from its `Default` plus the hyper-parameters given: the one place
//! `hesse minimize --method adam` and `hesse train --optimizer adam` (and
//! anything else that takes a rule by name) turn flags into an optimizer.

use serde::{Deserialize, Serialize};

use super::{
    AdaDelta, AdaGrad, Adam, Momentum, Nesterov, Optimizer, RmsProp, RmsPropNesterov, Sgd,
};
use crate::solver::Error;

/// The hyper-parameters a rule may take by name (GBC ch. 8's symbols in
/// code spans); `None` keeps the rule's default. A value given to a rule that
/// has no such parameter is an error ([`AnyOptimizer::build`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Hyper {
    /// Learning rate `ε` (AdaDelta: a multiplier on Zeiler's step).
    pub lr: Option<f64>,
    /// Momentum coefficient `α` of momentum, nesterov and rmsprop-nesterov.
    pub momentum: Option<f64>,
    /// Decay rate `ρ` of rmsprop, rmsprop-nesterov and adadelta.
    pub rho: Option<f64>,
    /// Adam's first-moment decay `ρ₁`.
    pub beta1: Option<f64>,
    /// Adam's second-moment decay `ρ₂`.
    pub beta2: Option<f64>,
    /// The stabilizing constant `δ` (PyTorch's eps) of adagrad, rmsprop,
    /// rmsprop-nesterov, adam and adadelta.
    pub eps: Option<f64>,
}

impl Hyper {
    /// The parameters given, by their command-line names.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("lr", self.lr),
            ("momentum", self.momentum),
            ("rho", self.rho),
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("eps", self.eps),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.map(|_| name))
        .collect()
    }
}

/// One of the first-order rules, chosen at run time; an [`Optimizer`] that
/// forwards to the rule (serializable, so a checkpoint or a report holds the
/// rule with its options).
///
/// ```
/// use hesse::first_order::{AnyOptimizer, Hyper, Optimizer};
/// let adam = AnyOptimizer::build("adam", &Hyper { lr: Some(3e-3), ..Hyper::default() }).unwrap();
/// assert_eq!((adam.name(), adam.learning_rate()), ("adam", 3e-3));
/// // Options a rule does not have are refused, by name.
/// let err = AnyOptimizer::build("sgd", &Hyper { beta1: Some(0.8), ..Hyper::default() });
/// assert!(err.unwrap_err().to_string().contains("beta1"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnyOptimizer {
    /// [`Sgd`].
    Sgd(Sgd),
    /// [`Momentum`].
    Momentum(Momentum),
    /// [`Nesterov`].
    Nesterov(Nesterov),
    /// [`AdaGrad`].
    Adagrad(AdaGrad),
    /// [`RmsProp`].
    Rmsprop(RmsProp),
    /// [`RmsPropNesterov`].
    RmspropNesterov(RmsPropNesterov),
    /// [`Adam`].
    Adam(Adam),
    /// [`AdaDelta`].
    Adadelta(AdaDelta),
}

impl AnyOptimizer {
    /// The rules' names, as [`build`](Self::build) takes them.
    pub const NAMES: &[&str] = &[
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "rmsprop-nesterov",
        "adam",
        "adadelta",
    ];

    /// The rule `name` (one of [`NAMES`](Self::NAMES)) at its defaults, with the
    /// parameters given in `hyper` set. An unknown name, or a parameter the
    /// rule does not have, is an [`Error::InvalidOption`]; the values
    /// themselves are checked by [`Optimizer::validate`] when a run starts.
    pub fn build(name: &str, hyper: &Hyper) -> Result<Self, Error> {
        let h = *hyper;
        let set = |slot: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        let (rule, takes): (AnyOptimizer, &[&str]) = match name {
            "sgd" => {
                let mut o = Sgd::default();
                set(&mut o.lr, h.lr);
                (AnyOptimizer::Sgd(o), &["lr"])
            }
            "momentum" => {
                let mut o = Momentum::default();
                set(&mut o.lr, h.lr);
                set(&mut o.alpha, h.momentum);
                (AnyOptimizer::Momentum(o), &["lr", "momentum"])
            }
            "nesterov" => {
                let mut o = Nesterov::default();
                set(&mut o.lr, h.lr);
                set(&mut o.alpha, h.momentum);
                (AnyOptimizer::Nesterov(o), &["lr", "momentum"])
            }
            "adagrad" => {
                let mut o = AdaGrad::default();
                set(&mut o.lr, h.lr);
                set(&mut o.delta, h.eps);
                (AnyOptimizer::Adagrad(o), &["lr", "eps"])
            }
            "rmsprop" => {
                let mut o = RmsProp::default();
                set(&mut o.lr, h.lr);
                set(&mut o.rho, h.rho);
                set(&mut o.delta, h.eps);
                (AnyOptimizer::Rmsprop(o), &["lr", "rho", "eps"])
            }
            "rmsprop-nesterov" => {
                let mut o = RmsPropNesterov::default();
                set(&mut o.lr, h.lr);
                set(&mut o.rho, h.rho);
                set(&mut o.alpha, h.momentum);
                set(&mut o.delta, h.eps);
                (
                    AnyOptimizer::RmspropNesterov(o),
                    &["lr", "rho", "momentum", "eps"],
                )
            }
            "adam" => {
                let mut o = Adam::default();
                set(&mut o.lr, h.lr);
                set(&mut o.rho1, h.beta1);
                set(&mut o.rho2, h.beta2);
                set(&mut o.delta, h.eps);
                (AnyOptimizer::Adam(o), &["lr", "beta1", "beta2", "eps"])
            }
            "adadelta" => {
                let mut o = AdaDelta::default();
                set(&mut o.lr, h.lr);
                set(&mut o.rho, h.rho);
                set(&mut o.eps, h.eps);
                (AnyOptimizer::Adadelta(o), &["lr", "rho", "eps"])
            }
            _ => {
                return Err(Error::InvalidOption {
                    name: "optimizer",
                    value: name.to_string(),
                    expected: "one of sgd, momentum, nesterov, adagrad, rmsprop, rmsprop-nesterov, adam, adadelta",
                });
            }
        };
        if let Some(extra) = h.given().into_iter().find(|g| !takes.contains(g)) {
            return Err(Error::InvalidProblem(format!(
                "{name} has no option {extra} (it takes {})",
                takes.join(", ")
            )));
        }
        Ok(rule)
    }

    /// The rule as a trait object.
    fn rule(&self) -> &dyn Optimizer {
        match self {
            AnyOptimizer::Sgd(o) => o,
            AnyOptimizer::Momentum(o) => o,
            AnyOptimizer::Nesterov(o) => o,
            AnyOptimizer::Adagrad(o) => o,
            AnyOptimizer::Rmsprop(o) => o,
            AnyOptimizer::RmspropNesterov(o) => o,
            AnyOptimizer::Adam(o) => o,
            AnyOptimizer::Adadelta(o) => o,
        }
    }

    /// The rule as a mutable trait object.
    fn rule_mut(&mut self) -> &mut dyn Optimizer {
        match self {
            AnyOptimizer::Sgd(o) => o,
            AnyOptimizer::Momentum(o) => o,
            AnyOptimizer::Nesterov(o) => o,
            AnyOptimizer::Adagrad(o) => o,
            AnyOptimizer::Rmsprop(o) => o,
            AnyOptimizer::RmspropNesterov(o) => o,
            AnyOptimizer::Adam(o) => o,
            AnyOptimizer::Adadelta(o) => o,
        }
    }
}

impl Optimizer for AnyOptimizer {
    fn name(&self) -> &'static str {
        self.rule().name()
    }
    fn validate(&self) -> Result<(), Error> {
        self.rule().validate()
    }
    fn learning_rate(&self) -> f64 {
        self.rule().learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.rule_mut().set_learning_rate(lr);
    }
    fn gradient_point(&self, params: &[f64], at: &mut [f64]) {
        self.rule().gradient_point(params, at);
    }
    fn looks_ahead(&self) -> bool {
        self.rule().looks_ahead()
    }
    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        self.rule_mut().step(params, grad);
    }
    fn reset(&mut self) {
        self.rule_mut().reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_its_rule_at_the_defaults() {
        for name in AnyOptimizer::NAMES {
            let o = AnyOptimizer::build(name, &Hyper::default()).unwrap();
            assert_eq!(o.name(), *name);
            o.validate().unwrap();
        }
        assert_eq!(
            AnyOptimizer::build("adam", &Hyper::default()).unwrap(),
            AnyOptimizer::Adam(Adam::default())
        );
        assert!(AnyOptimizer::build("lbfgs", &Hyper::default()).is_err());
    }

    #[test]
    fn given_values_replace_the_defaults_and_foreign_ones_are_refused() {
        let h = Hyper {
            lr: Some(0.5),
            rho: Some(0.8),
            momentum: Some(0.7),
            eps: Some(1e-5),
            ..Hyper::default()
        };
        let o = AnyOptimizer::build("rmsprop-nesterov", &h).unwrap();
        assert_eq!(
            o,
            AnyOptimizer::RmspropNesterov(RmsPropNesterov::new(0.5, 0.8, 0.7).with_delta(1e-5))
        );
        let e = AnyOptimizer::build("adam", &h).unwrap_err().to_string();
        assert!(e.contains("adam has no option momentum"), "{e}");
    }

    #[test]
    fn it_steps_as_the_rule_it_holds() {
        let mut any = AnyOptimizer::build("nesterov", &Hyper::default()).unwrap();
        let mut rule = Nesterov::default();
        let (mut a, mut b) = (vec![1.0, -2.0], vec![1.0, -2.0]);
        let (mut at_a, mut at_b) = (vec![0.0; 2], vec![0.0; 2]);
        for _ in 0..3 {
            any.gradient_point(&a, &mut at_a);
            rule.gradient_point(&b, &mut at_b);
            any.step(&mut a, &at_a.clone());
            rule.step(&mut b, &at_b.clone());
        }
        assert_eq!(a, b);
        assert!(any.looks_ahead());
    }
}
