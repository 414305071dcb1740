//! Elementwise activations `h = φ(y)` and their first two derivatives.
//!
//! The derivatives are written in terms of both the pre-activation `y` and the
//! value `h = φ(y)`, so that the backward pass (which needs `φ'`) and the
//! R-operator pass (which also needs `φ''`, Pearlmutter 1994, eq. (8)) reuse
//! the forward values instead of calling `tanh` or `exp` again.
//!
//! The transcendental ones (`tanh`, logistic, softplus) are the vectorized
//! kernels of [`crate::linalg::elementwise`] (issue 17): the slice methods
//! ([`Activation::values`], [`Activation::d1s`]) run them on whole layers,
//! and the one-value methods compute the same bits, on any CPU.

use serde::{Deserialize, Serialize};

use crate::linalg::elementwise::{self, Function};

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

/// `1/(1 + e^{−y})` without overflow for large `|y|`
/// ([`Function::Logistic`]).
pub(crate) fn logistic(y: f64) -> f64 {
    Function::Logistic.scalar(y)
}

/// `ln(1 + e^y)` without overflow: `max(y, 0) + ln(1 + e^{−|y|})`
/// ([`Function::Softplus`]).
pub(crate) fn softplus(y: f64) -> f64 {
    Function::Softplus.scalar(y)
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
            Activation::Tanh => Function::Tanh.scalar(y),
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

    /// `φ''` from `h = φ(y)` and `d1 = φ'(y)` (as [`d1`](Activation::d1)
    /// returned it): the bits of [`d2`](Activation::d2) without a second
    /// logistic for softplus.
    #[inline]
    pub(crate) fn d2_from_d1(self, h: f64, d1: f64) -> f64 {
        match self {
            Activation::Identity | Activation::Relu => 0.0,
            Activation::Tanh => -2.0 * h * d1,
            Activation::Logistic => d1 * (1.0 - 2.0 * h),
            Activation::Softplus => d1 * (1.0 - d1),
        }
    }

    /// `h[i] = φ(y[i])` over a slice, vectorized for the transcendental
    /// activations; the same bits as [`value`](Activation::value).
    ///
    /// ```
    /// use hesse::nn::Activation;
    /// let y = [-1.0, 0.0, 2.0];
    /// let mut h = [0.0; 3];
    /// Activation::Tanh.values(&y, &mut h);
    /// assert_eq!(h[2], Activation::Tanh.value(2.0));
    /// ```
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn values(self, y: &[f64], h: &mut [f64]) {
        assert_eq!(y.len(), h.len(), "Activation::values: lengths differ");
        // The identity and ReLU loops are legacy SSE (issue 17).
        elementwise::zero_upper();
        match self {
            Activation::Identity => h.copy_from_slice(y),
            Activation::Tanh => elementwise::apply(Function::Tanh, y, h),
            Activation::Logistic => elementwise::apply(Function::Logistic, y, h),
            Activation::Relu => h.iter_mut().zip(y).for_each(|(h, &y)| *h = y.max(0.0)),
            Activation::Softplus => elementwise::apply(Function::Softplus, y, h),
        }
    }

    /// `d[i] = φ'(y[i])` given `h = φ(y)`, over slices; the same bits as
    /// [`d1`](Activation::d1).
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn d1s(self, y: &[f64], h: &[f64], d: &mut [f64]) {
        assert!(
            y.len() == d.len() && h.len() == d.len(),
            "Activation::d1s: lengths differ"
        );
        match self {
            Activation::Softplus => elementwise::apply(Function::Logistic, y, d),
            _ => {
                elementwise::zero_upper();
                for ((d, &y), &h) in d.iter_mut().zip(y).zip(h) {
                    *d = self.d1(y, h);
                }
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
    fn slices_match_one_value_methods() {
        let y: Vec<f64> = (0..1001).map(|i| (i as f64 - 500.0) * 0.0731).collect();
        for act in Activation::ALL {
            let mut h = vec![0.0; y.len()];
            let mut d = vec![0.0; y.len()];
            act.values(&y, &mut h);
            act.d1s(&y, &h, &mut d);
            for i in 0..y.len() {
                assert_eq!(h[i].to_bits(), act.value(y[i]).to_bits(), "{act:?}");
                assert_eq!(d[i].to_bits(), act.d1(y[i], h[i]).to_bits(), "{act:?}");
                assert_eq!(
                    act.d2_from_d1(h[i], d[i]).to_bits(),
                    act.d2(y[i], h[i]).to_bits(),
                    "{act:?}"
                );
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
