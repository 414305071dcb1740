//! Closed-form Gaussian blurs: the [`Blur`] trait and its objective wrapper.

use std::cell::Cell;

use crate::problem::{Evals, Gradient, Objective};
use crate::problems::Quadratic;

/// A problem that knows its Gaussian blur `J_σ(x) = E f(x + σε)`,
/// `ε ~ N(0, I)`, in closed form.
///
/// Closed forms exist wherever `f` is built from polynomials, exponentials of
/// linear forms and sines and cosines: with `ε ~ N(0, 1)`,
/// `E (x + σε)² = x² + σ²` and `E cos(ω(x + σε)) = cos(ωx) e^{−ω²σ²/2}`
/// (likewise `sin`). So a quadratic `½ xᵀAx + bᵀx + c` blurs to itself plus
/// `σ² tr(A)/2`, and Rastrigin's function blurs to
/// `10n + Σ (xᵢ² + σ² − 10 cos(2πxᵢ) e^{−2π²σ²})`. These closed forms are the
/// oracle of the sampled rules' tests, and the "exact blur" of the
/// continuation table.
///
/// At `σ = 0` an implementation must return `f` and `∇f`.
pub trait Blur: Gradient {
    /// Writes `∇J_σ(x)` into `g` and returns `J_σ(x)`.
    fn blurred_value_grad(&self, x: &[f64], sigma: f64, g: &mut [f64]) -> f64;

    /// `J_σ(x)` alone. The default calls
    /// [`blurred_value_grad`](Blur::blurred_value_grad) with a scratch gradient
    /// (one allocation).
    fn blurred_value(&self, x: &[f64], sigma: f64) -> f64 {
        let mut g = vec![0.0; self.dim()];
        self.blurred_value_grad(x, sigma, &mut g)
    }
}

impl<P: Blur + ?Sized> Blur for &P {
    fn blurred_value_grad(&self, x: &[f64], sigma: f64, g: &mut [f64]) -> f64 {
        (**self).blurred_value_grad(x, sigma, g)
    }
    fn blurred_value(&self, x: &[f64], sigma: f64) -> f64 {
        (**self).blurred_value(x, sigma)
    }
}

/// `½ (x − x*)ᵀ A (x − x*) + f*` blurs to itself plus `σ² tr(A)/2`; the
/// gradient is unchanged.
impl Blur for Quadratic {
    fn blurred_value_grad(&self, x: &[f64], sigma: f64, g: &mut [f64]) -> f64 {
        self.value_grad(x, g) + 0.5 * sigma * sigma * self.matrix().trace()
    }
    fn blurred_value(&self, x: &[f64], sigma: f64) -> f64 {
        self.value(x) + 0.5 * sigma * sigma * self.matrix().trace()
    }
}

/// The exact blur `J_σ` of a [`Blur`] problem as an objective of its own,
/// counting its evaluations (one closed-form evaluation counts as one
/// evaluation of `f`).
pub struct ExactBlur<'a, P: ?Sized> {
    problem: &'a P,
    sigma: f64,
    f: Cell<u64>,
    g: Cell<u64>,
}

impl<'a, P: Blur + ?Sized> ExactBlur<'a, P> {
    /// `J_σ` of `problem` (σ is checked by the caller).
    pub fn new(problem: &'a P, sigma: f64) -> Self {
        ExactBlur {
            problem,
            sigma,
            f: Cell::new(0),
            g: Cell::new(0),
        }
    }

    /// The evaluations made so far.
    pub fn j_evals(&self) -> Evals {
        Evals {
            f: self.f.get(),
            g: self.g.get(),
            h: 0,
            hv: 0,
        }
    }
}

impl<P: Blur + ?Sized> Objective for ExactBlur<'_, P> {
    fn dim(&self) -> usize {
        self.problem.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.f.set(self.f.get() + 1);
        if self.sigma == 0.0 {
            self.problem.value(x)
        } else {
            self.problem.blurred_value(x, self.sigma)
        }
    }
}

impl<P: Blur + ?Sized> Gradient for ExactBlur<'_, P> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.f.set(self.f.get() + 1);
        self.g.set(self.g.get() + 1);
        if self.sigma == 0.0 {
            self.problem.value_grad(x, g)
        } else {
            self.problem.blurred_value_grad(x, self.sigma, g)
        }
    }
}
