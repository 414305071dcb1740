//! Multimodal test functions: many local minima, one global minimum.
//!
//! The standard four of global-optimization benchmarks, as in Jamil & Yang,
//! "A literature survey of benchmark functions for global optimization
//! problems", *Int. J. Math. Modelling & Num. Optimisation* 4 (2013) 150-194
//! (JY, function numbers below), and the Virtual Library of Simulation
//! Experiments (Surjanovic & Bingham), whose usual domains we keep:
//!
//! | problem | `f(x)` | domain | `x*`, `f*` |
//! |---|---|---|---|
//! | [`Rastrigin`] | `10n + Σ (xᵢ² − 10 cos 2πxᵢ)` | `[−5.12, 5.12]ⁿ` | `0`, `0` |
//! | [`Ackley`] | `−20 e^{−0.2 √(Σxᵢ²/n)} − e^{Σ cos(2πxᵢ)/n} + 20 + e` | `[−32.768, 32.768]ⁿ` | `0`, `0` |
//! | [`Griewank`] | `1 + Σ xᵢ²/4000 − Π cos(xᵢ/√i)` | `[−600, 600]ⁿ` | `0`, `0` |
//! | [`Levy`] | `sin²(πw₁) + Σ_{i<n} (wᵢ−1)²(1 + 10 sin²(πwᵢ+1)) + (wₙ−1)²(1 + sin²(2πwₙ))`, `wᵢ = 1 + (xᵢ−1)/4` | `[−10, 10]ⁿ` | `1`, `0` |
//!
//! Each has an exact gradient. [`Rastrigin`] and [`Griewank`] also have an
//! exact Gaussian blur ([`Blur`](crate::continuation::Blur)): the blur of
//! `cos(ωx)` under `x + σε`, `ε ~ N(0, 1)`, is `cos(ωx) e^{−ω²σ²/2}`, the blur
//! of `x²` is `x² + σ²`, and a product of functions of independent
//! coordinates blurs factor by factor. [`Rastrigin`] and [`Levy`] are
//! separable (a sum of functions of one coordinate each), which the
//! per-coordinate Gauss-Hermite rule of
//! [`Smoothing::GaussHermiteSeparable`](crate::continuation::Smoothing) needs.
//!
//! Ackley's function is not differentiable at its minimizer (`√(Σxᵢ²)` has a
//! cone there); the gradient returned at `x = 0` is `0`, a subgradient.

use std::f64::consts::{E, PI};

use crate::continuation::Blur;
use crate::problem::{Gradient, Objective};

/// The usual search box `[lo, hi]ⁿ` of a test function and its minimum.
pub trait Multimodal: Gradient {
    /// The problem's name as tables print it.
    fn name(&self) -> &'static str;
    /// The usual domain, the same interval in every coordinate.
    fn domain(&self) -> (f64, f64);
    /// The global minimizer.
    fn minimizer(&self) -> Vec<f64>;
    /// The global minimum `f*`.
    fn f_star(&self) -> f64 {
        0.0
    }
}

/// Rastrigin's function (JY 102), `10n + Σ (xᵢ² − 10 cos 2πxᵢ)`: about `11ⁿ`
/// local minima in `[−5.12, 5.12]ⁿ`, near the integer points.
///
/// Its Gaussian blur is exact:
/// `J_σ(x) = 10n + Σ (xᵢ² + σ² − 10 cos(2πxᵢ) e^{−2π²σ²})`.
///
/// ```
/// use hesse::continuation::Blur;
/// use hesse::problem::Objective;
/// use hesse::problems::Rastrigin;
/// let f = Rastrigin::new(2);
/// assert_eq!(f.value(&[0.0, 0.0]), 0.0);
/// // Blurred with σ = 1 the cosines have all but vanished: 20 + 2 (0 + 1 - 10 e^{-2π²}).
/// let j = f.blurred_value(&[0.0, 0.0], 1.0);
/// assert!((j - (20.0 + 2.0 * (1.0 - 10.0 * (-2.0 * std::f64::consts::PI.powi(2)).exp()))).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rastrigin {
    n: usize,
}

impl Rastrigin {
    /// The function in `n ≥ 1` variables (`0` is raised to 1).
    pub fn new(n: usize) -> Self {
        Rastrigin { n: n.max(1) }
    }
}

impl Objective for Rastrigin {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        10.0 * self.n as f64
            + x.iter()
                .map(|&v| v * v - 10.0 * (2.0 * PI * v).cos())
                .sum::<f64>()
    }
}

impl Gradient for Rastrigin {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.blurred_value_grad(x, 0.0, g)
    }
}

impl Blur for Rastrigin {
    fn blurred_value_grad(&self, x: &[f64], sigma: f64, g: &mut [f64]) -> f64 {
        let omega = 2.0 * PI;
        let damp = (-0.5 * omega * omega * sigma * sigma).exp();
        let mut f = 10.0 * self.n as f64;
        for (gi, &v) in g.iter_mut().zip(x) {
            let (s, c) = (omega * v).sin_cos();
            f += v * v + sigma * sigma - 10.0 * damp * c;
            *gi = 2.0 * v + 10.0 * omega * damp * s;
        }
        f
    }
}

impl Multimodal for Rastrigin {
    fn name(&self) -> &'static str {
        "Rastrigin"
    }
    fn domain(&self) -> (f64, f64) {
        (-5.12, 5.12)
    }
    fn minimizer(&self) -> Vec<f64> {
        vec![0.0; self.n]
    }
}

/// Ackley's function (JY 1) with `a = 20`, `b = 0.2`, `c = 2π`:
/// `−a e^{−b √(Σxᵢ²/n)} − e^{Σ cos(c xᵢ)/n} + a + e`. A nearly flat outer
/// region with a regular grid of shallow minima and a deep funnel at `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ackley {
    n: usize,
}

impl Ackley {
    /// The function in `n ≥ 1` variables (`0` is raised to 1).
    pub fn new(n: usize) -> Self {
        Ackley { n: n.max(1) }
    }
}

const ACKLEY_A: f64 = 20.0;
const ACKLEY_B: f64 = 0.2;

impl Objective for Ackley {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        let n = self.n as f64;
        let r = (x.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
        let c = x.iter().map(|&v| (2.0 * PI * v).cos()).sum::<f64>() / n;
        -ACKLEY_A * (-ACKLEY_B * r).exp() - c.exp() + ACKLEY_A + E
    }
}

impl Gradient for Ackley {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let n = self.n as f64;
        let r = (x.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
        let c = x.iter().map(|&v| (2.0 * PI * v).cos()).sum::<f64>() / n;
        let (e1, e2) = ((-ACKLEY_B * r).exp(), c.exp());
        // d/dxᵢ of −a e^{−b r} is a b e^{−b r} xᵢ / (n r); 0 at the cone's tip.
        let k1 = if r > 0.0 {
            ACKLEY_A * ACKLEY_B * e1 / (n * r)
        } else {
            0.0
        };
        for (gi, &v) in g.iter_mut().zip(x) {
            *gi = k1 * v + e2 * 2.0 * PI * (2.0 * PI * v).sin() / n;
        }
        -ACKLEY_A * e1 - e2 + ACKLEY_A + E
    }
}

impl Multimodal for Ackley {
    fn name(&self) -> &'static str {
        "Ackley"
    }
    fn domain(&self) -> (f64, f64) {
        (-32.768, 32.768)
    }
    fn minimizer(&self) -> Vec<f64> {
        vec![0.0; self.n]
    }
}

/// Griewank's function (JY 59), `1 + Σ xᵢ²/4000 − Π cos(xᵢ/√i)` (`i` from
/// 1): a wide bowl with a product of cosines on it.
///
/// Its Gaussian blur is exact: `J_σ(x) = 1 + Σ (xᵢ² + σ²)/4000 − Π cos(xᵢ/√i)
/// e^{−σ²/(2i)}`, since the coordinates of `ε` are independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Griewank {
    n: usize,
}

impl Griewank {
    /// The function in `n ≥ 1` variables (`0` is raised to 1).
    pub fn new(n: usize) -> Self {
        Griewank { n: n.max(1) }
    }
}

impl Objective for Griewank {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        let mut sum = 0.0;
        let mut prod = 1.0;
        for (i, &v) in x.iter().enumerate() {
            sum += v * v / 4000.0;
            prod *= (v / ((i + 1) as f64).sqrt()).cos();
        }
        1.0 + sum - prod
    }
}

impl Gradient for Griewank {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.blurred_value_grad(x, 0.0, g)
    }
}

impl Blur for Griewank {
    fn blurred_value_grad(&self, x: &[f64], sigma: f64, g: &mut [f64]) -> f64 {
        // Factor i is dᵢ cos(xᵢ/√i) with dᵢ = e^{−σ²/(2i)}. The gradient of the
        // product needs Π_{j≠i}: prefix products are stored in g on the way up,
        // suffix products carried on the way down (no division, no allocation).
        let factor = |i: usize, v: f64| {
            let s = ((i + 1) as f64).sqrt();
            let d = (-0.5 * sigma * sigma / (s * s)).exp();
            let (sn, cs) = (v / s).sin_cos();
            (d * cs, d * sn / s)
        };
        let mut sum = 0.0;
        let mut prefix = 1.0;
        for (i, &v) in x.iter().enumerate() {
            sum += (v * v + sigma * sigma) / 4000.0;
            g[i] = prefix;
            prefix *= factor(i, v).0;
        }
        let mut suffix = 1.0;
        for (i, &v) in x.iter().enumerate().rev() {
            let (c, ds) = factor(i, v);
            // d/dxᵢ [−dᵢ cos(xᵢ/√i)] = dᵢ sin(xᵢ/√i)/√i.
            g[i] = v / 2000.0 + g[i] * suffix * ds;
            suffix *= c;
        }
        1.0 + sum - prefix
    }
}

impl Multimodal for Griewank {
    fn name(&self) -> &'static str {
        "Griewank"
    }
    fn domain(&self) -> (f64, f64) {
        (-600.0, 600.0)
    }
    fn minimizer(&self) -> Vec<f64> {
        vec![0.0; self.n]
    }
}

/// Levy's function (Surjanovic & Bingham's "Levy"; JY's Levy 13 for `n = 2`),
/// with `wᵢ = 1 + (xᵢ − 1)/4`:
/// `sin²(πw₁) + Σ_{i<n} (wᵢ−1)²(1 + 10 sin²(πwᵢ + 1)) + (wₙ−1)²(1 + sin²(2πwₙ))`.
/// Separable; minimizer `(1, …, 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levy {
    n: usize,
}

impl Levy {
    /// The function in `n ≥ 1` variables (`0` is raised to 1).
    pub fn new(n: usize) -> Self {
        Levy { n: n.max(1) }
    }
}

impl Objective for Levy {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        let n = self.n;
        let w = |v: f64| 1.0 + (v - 1.0) / 4.0;
        let mut f = (PI * w(x[0])).sin().powi(2);
        for &v in &x[..n - 1] {
            let wi = w(v);
            f += (wi - 1.0).powi(2) * (1.0 + 10.0 * (PI * wi + 1.0).sin().powi(2));
        }
        let wn = w(x[n - 1]);
        f + (wn - 1.0).powi(2) * (1.0 + (2.0 * PI * wn).sin().powi(2))
    }
}

impl Gradient for Levy {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let n = self.n;
        let w = |v: f64| 1.0 + (v - 1.0) / 4.0;
        // Every term depends on one wᵢ; dwᵢ/dxᵢ = 1/4.
        let w0 = w(x[0]);
        let mut f = (PI * w0).sin().powi(2);
        g.iter_mut().for_each(|gi| *gi = 0.0);
        g[0] = PI * (2.0 * PI * w0).sin() / 4.0;
        for i in 0..n - 1 {
            let wi = w(x[i]);
            let t = PI * wi + 1.0;
            let a = 1.0 + 10.0 * t.sin().powi(2);
            f += (wi - 1.0).powi(2) * a;
            g[i] += (2.0 * (wi - 1.0) * a + (wi - 1.0).powi(2) * 10.0 * PI * (2.0 * t).sin()) / 4.0;
        }
        let wn = w(x[n - 1]);
        let b = 1.0 + (2.0 * PI * wn).sin().powi(2);
        f += (wn - 1.0).powi(2) * b;
        g[n - 1] +=
            (2.0 * (wn - 1.0) * b + (wn - 1.0).powi(2) * 2.0 * PI * (4.0 * PI * wn).sin()) / 4.0;
        f
    }
}

impl Multimodal for Levy {
    fn name(&self) -> &'static str {
        "Levy"
    }
    fn domain(&self) -> (f64, f64) {
        (-10.0, 10.0)
    }
    fn minimizer(&self) -> Vec<f64> {
        vec![1.0; self.n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::check::check_gradient;

    fn check<P: Gradient>(p: &P, x: &[f64]) {
        let c = check_gradient(p, x).unwrap();
        assert!(
            c.passed(1e-6),
            "gradient error {} at {x:?}",
            c.max_rel_error()
        );
        let mut g = vec![0.0; x.len()];
        let (f, fg) = (p.value(x), p.value_grad(x, &mut g));
        assert!((f - fg).abs() <= 1e-13 * f.abs().max(1.0), "{f} vs {fg}");
    }

    #[test]
    fn minima_and_gradients() {
        let x = [0.3, -1.7, 2.2, 0.9];
        for p in [
            &Rastrigin::new(4) as &dyn MultimodalDyn,
            &Ackley::new(4),
            &Griewank::new(4),
            &Levy::new(4),
        ] {
            assert!(p.value(&p.minimizer()).abs() < 1e-14, "{}", p.name());
        }
        check(&Rastrigin::new(4), &x);
        check(&Ackley::new(4), &x);
        check(&Griewank::new(4), &x);
        check(&Levy::new(4), &x);
        check(&Levy::new(1), &[0.3]);
    }

    trait MultimodalDyn {
        fn value(&self, x: &[f64]) -> f64;
        fn minimizer(&self) -> Vec<f64>;
        fn name(&self) -> &'static str;
    }
    impl<P: Multimodal> MultimodalDyn for P {
        fn value(&self, x: &[f64]) -> f64 {
            Objective::value(self, x)
        }
        fn minimizer(&self) -> Vec<f64> {
            Multimodal::minimizer(self)
        }
        fn name(&self) -> &'static str {
            Multimodal::name(self)
        }
    }
}
