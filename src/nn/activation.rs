//! Elementwise activations `h = φ(y)` and their first two derivatives.
//!
//! The derivatives are written in terms of both the pre-activation `y` and the
//! value `h = φ(y)`, so that the backward pass (which needs `φ'`) and the
//! R-operator pass (which also needs `φ''`, Pearlmutter 1994, eq. (8)) reuse
//! the forward values instead of calling `tanh` or `exp` again.

use serde::{Deserialize, Serialize};

/// An elementwise activation function `φ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// `φ(y) = y`: linear units (the logits of the output layer, the 30-unit
    /// code layer of the Hinton & Salakhutdinov 2006 autoencoder).
    Identity,
    /// `φ(y) = tanh y`, with `φ' = 1 − h²`, `φ'' = −2h(1 − h²)`.
    Tanh,
    /// The logistic sigmoid `φ(y) = 1/(1 + e^{−y})`, with `φ' = h(1 − h)`,
    /// `φ'' = h(1 − h)(1 − 2h)`.
    Logistic,
    /// `φ(y) = max(0, y)`, with `φ' = [y > 0]` and `φ'' = 0` (the kink at 0 has
    /// measure zero; there the one-sided derivative from the left, 0, is used).
    Relu,
    /// `φ(y) = ln(1 + e^y)`, with `φ' = σ(y)`, `φ'' = σ(y)(1 − σ(y))`.
    Softplus,
}

/// `1/(1 + e^{−y})` without overflow for large `|y|`.
pub(crate) fn logistic(y: f64) -> f64 {
    if y >= 0.0 {
        1.0 / (1.0 + (-y).exp())
    } else {
        let e = y.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^y)` without overflow: `max(y, 0) + ln(1 + e^{−|y|})`.
pub(crate) fn softplus(y: f64) -> f64 {
    y.max(0.0) + (-y.abs()).exp().ln_1p()
}

impl Activation {
    /// `φ(y)`.
    ///
    /// ```
    /// use hesse::nn::Activation;
    /// assert_eq!(Activation::Relu.value(-2.0), 0.0);
    /// assert_eq!(Activation::Logistic.value(0.0), 0.5);
    /// ```
    #[inline]
    pub fn value(self, y: f64) -> f64 {
        match self {
            Activation::Identity => y,
            Activation::Tanh => y.tanh(),
            Activation::Logistic => logistic(y),
            Activation::Relu => y.max(0.0),
            Activation::Softplus => softplus(y),
        }
    }

    /// `φ'(y)` given `y` and `h = φ(y)`.
    #[inline]
    pub fn d1(self, y: f64, h: f64) -> f64 {
        match self {
            Activation::Identity => 1.0,
            Activation::Tanh => 1.0 - h * h,
            Activation::Logistic => h * (1.0 - h),
            Activation::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Softplus => logistic(y),
        }
    }

    /// `φ''(y)` given `y` and `h = φ(y)`.
    #[inline]
    pub fn d2(self, y: f64, h: f64) -> f64 {
        match self {
            Activation::Identity | Activation::Relu => 0.0,
            Activation::Tanh => -2.0 * h * (1.0 - h * h),
            Activation::Logistic => h * (1.0 - h) * (1.0 - 2.0 * h),
            Activation::Softplus => {
                let s = logistic(y);
                s * (1.0 - s)
            }
        }
    }

    /// Whether `φ'' ≡ 0`, so the R-operator's second-order term vanishes.
    pub fn is_piecewise_linear(self) -> bool {
        matches!(self, Activation::Identity | Activation::Relu)
    }

    /// All activations, for tests that run over each.
    pub const ALL: [Activation; 5] = [
        Activation::Identity,
        Activation::Tanh,
        Activation::Logistic,
        Activation::Relu,
        Activation::Softplus,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_central_differences() {
        for act in Activation::ALL {
            for &y in &[-2.3, -0.4, 0.7, 3.1] {
                let e = 1e-5;
                let fd1 = (act.value(y + e) - act.value(y - e)) / (2.0 * e);
                let d1 = |y: f64| act.d1(y, act.value(y));
                let fd2 = (d1(y + e) - d1(y - e)) / (2.0 * e);
                assert!((act.d1(y, act.value(y)) - fd1).abs() < 1e-8, "{act:?} {y}");
                assert!((act.d2(y, act.value(y)) - fd2).abs() < 1e-8, "{act:?} {y}");
            }
        }
    }

    #[test]
    fn stable_at_extremes() {
        assert_eq!(logistic(-1000.0), 0.0);
        assert_eq!(logistic(1000.0), 1.0);
        assert_eq!(softplus(1000.0), 1000.0);
        assert_eq!(softplus(-1000.0), 0.0);
    }
}
