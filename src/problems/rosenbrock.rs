//! Rosenbrock's function and the extended Rosenbrock function.
//!
//! - [`Rosenbrock`]: Rosenbrock (1960), chained for any `n ≥ 2` as scipy's
//!   `rosen` writes it: `f(x) = Σ_{i<n−1} 100 (x_{i+1} − x_i²)² + (1 − x_i)²`.
//!   Minimizer `x* = (1, …, 1)`, `f* = 0`; standard start `(−1.2, 1, −1.2, 1, …)`
//!   for even positions as in Moré, Garbow & Hillstrom (1981), problem 21.
//! - [`ExtendedRosenbrock`]: Moré, Garbow & Hillstrom (1981), problem 21, for
//!   even `n`: independent pairs, residuals `r_{2i} = 10 (x_{2i+1} − x_{2i}²)`,
//!   `r_{2i+1} = 1 − x_{2i}`, `f = Σ r²`, `f* = 0` at `(1, …, 1)`, start
//!   `(−1.2, 1, …)`. Its Hessian is block diagonal, so Hessian-vector products
//!   cost `O(n)`: the large-scale test of L-BFGS and Newton-CG.

use nalgebra::DMatrix;

use crate::problem::{Gradient, HessVec, Hessian, Objective, Residuals};

/// The chained Rosenbrock function in `n ≥ 2` variables (scipy's `rosen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rosenbrock {
    n: usize,
}

impl Rosenbrock {
    /// The function in `n` variables (`n ≥ 2`; smaller `n` is raised to 2).
    pub fn new(n: usize) -> Self {
        Rosenbrock { n: n.max(2) }
    }

    /// The standard start `(−1.2, 1, −1.2, 1, …)`.
    pub fn start(&self) -> Vec<f64> {
        (0..self.n)
            .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
            .collect()
    }

    /// The minimizer `(1, …, 1)`.
    pub fn minimizer(&self) -> Vec<f64> {
        vec![1.0; self.n]
    }
}

impl Objective for Rosenbrock {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        x.windows(2)
            .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
            .sum()
    }
}

impl Gradient for Rosenbrock {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        g.iter_mut().for_each(|v| *v = 0.0);
        let mut f = 0.0;
        for i in 0..self.n - 1 {
            let t = x[i + 1] - x[i] * x[i];
            let u = 1.0 - x[i];
            f += 100.0 * t * t + u * u;
            g[i] += -400.0 * x[i] * t - 2.0 * u;
            g[i + 1] += 200.0 * t;
        }
        f
    }
}

impl Hessian for Rosenbrock {
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        h.fill(0.0);
        for i in 0..self.n - 1 {
            h[(i, i)] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
            h[(i, i + 1)] -= 400.0 * x[i];
            h[(i + 1, i)] -= 400.0 * x[i];
            h[(i + 1, i + 1)] += 200.0;
        }
    }
}

impl HessVec for Rosenbrock {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        hv.iter_mut().for_each(|e| *e = 0.0);
        for i in 0..self.n - 1 {
            let hii = 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
            let hij = -400.0 * x[i];
            hv[i] += hii * v[i] + hij * v[i + 1];
            hv[i + 1] += hij * v[i] + 200.0 * v[i + 1];
        }
    }
}

/// Moré-Garbow-Hillstrom problem 21, extended Rosenbrock, for even `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedRosenbrock {
    n: usize,
}

impl ExtendedRosenbrock {
    /// The function in `n` variables; an odd `n` is rounded up to even.
    pub fn new(n: usize) -> Self {
        ExtendedRosenbrock {
            n: n.max(2).div_ceil(2) * 2,
        }
    }

    /// The standard start `(−1.2, 1, −1.2, 1, …)`.
    pub fn start(&self) -> Vec<f64> {
        (0..self.n)
            .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
            .collect()
    }

    /// The minimizer `(1, …, 1)`.
    pub fn minimizer(&self) -> Vec<f64> {
        vec![1.0; self.n]
    }
}

impl Objective for ExtendedRosenbrock {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        x.chunks_exact(2)
            .map(|p| 100.0 * (p[1] - p[0] * p[0]).powi(2) + (1.0 - p[0]).powi(2))
            .sum()
    }
}

impl Gradient for ExtendedRosenbrock {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let mut f = 0.0;
        for (p, gp) in x.chunks_exact(2).zip(g.chunks_exact_mut(2)) {
            let t = p[1] - p[0] * p[0];
            let u = 1.0 - p[0];
            f += 100.0 * t * t + u * u;
            gp[0] = -400.0 * p[0] * t - 2.0 * u;
            gp[1] = 200.0 * t;
        }
        f
    }
}

impl Hessian for ExtendedRosenbrock {
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        h.fill(0.0);
        for i in (0..self.n).step_by(2) {
            h[(i, i)] = 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
            h[(i, i + 1)] = -400.0 * x[i];
            h[(i + 1, i)] = -400.0 * x[i];
            h[(i + 1, i + 1)] = 200.0;
        }
    }
}

impl HessVec for ExtendedRosenbrock {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        for ((p, vp), out) in x
            .chunks_exact(2)
            .zip(v.chunks_exact(2))
            .zip(hv.chunks_exact_mut(2))
        {
            let h00 = 1200.0 * p[0] * p[0] - 400.0 * p[1] + 2.0;
            let h01 = -400.0 * p[0];
            out[0] = h00 * vp[0] + h01 * vp[1];
            out[1] = h01 * vp[0] + 200.0 * vp[1];
        }
    }
}

impl Residuals for ExtendedRosenbrock {
    fn num_params(&self) -> usize {
        self.n
    }
    fn num_residuals(&self) -> usize {
        self.n
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        for (p, rp) in x.chunks_exact(2).zip(r.chunks_exact_mut(2)) {
            rp[0] = 10.0 * (p[1] - p[0] * p[0]);
            rp[1] = 1.0 - p[0];
        }
    }
    fn jacobian(&self, x: &[f64], jac: &mut DMatrix<f64>) {
        jac.fill(0.0);
        for i in (0..self.n).step_by(2) {
            jac[(i, i)] = -20.0 * x[i];
            jac[(i, i + 1)] = 10.0;
            jac[(i + 1, i)] = -1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_and_derivatives() {
        let r = Rosenbrock::new(5);
        let mut g = vec![0.0; 5];
        assert_eq!(r.value_grad(&r.minimizer(), &mut g), 0.0);
        assert!(g.iter().all(|&v| v == 0.0));
        let e = ExtendedRosenbrock::new(6);
        let mut g6 = vec![1.0; 6];
        assert_eq!(e.value_grad(&e.minimizer(), &mut g6), 0.0);
        assert!(g6.iter().all(|&v| v == 0.0));
        // Scalar form equals the sum of squared residuals.
        let x = e.start();
        let mut res = vec![0.0; 6];
        e.residuals(&x, &mut res);
        assert!((e.value(&x) - res.iter().map(|v| v * v).sum::<f64>()).abs() < 1e-12);
        // Hessian-vector product equals the dense Hessian times v.
        let v: Vec<f64> = (0..5).map(|i| (i as f64).sin()).collect();
        let x: Vec<f64> = (0..5).map(|i| 0.3 * i as f64 - 0.5).collect();
        let mut h = DMatrix::zeros(5, 5);
        r.hessian(&x, &mut h);
        let mut hv = vec![0.0; 5];
        r.hess_vec(&x, &v, &mut hv);
        let dense = &h * nalgebra::DVector::from_column_slice(&v);
        for i in 0..5 {
            assert!((dense[i] - hv[i]).abs() < 1e-12);
        }
    }
}
