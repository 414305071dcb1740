//! Exact derivatives of the test problems by forward-mode dual numbers.
//!
//! A private stand-in for the `diff` module's adapters (which turn a
//! [`VectorFn`] or [`ScalarFn`] into `Residuals`/`Gradient`/`Hessian`/`HessVec`);
//! once those land, [`SumOfSquares`] and the four functions below can be
//! replaced by them without changing any problem.
//!
//! Costs, for `n` variables: a gradient is `n` passes of [`Dual64`], a dense
//! Hessian `n (n + 1) / 2` passes of [`HyperDual64`], a Hessian-vector product
//! `n` passes of [`HyperDual64`] (first direction `v`, second `eⱼ`), a Jacobian
//! `n` passes of [`Dual64`]. Each pass allocates its dual work vectors.

use nalgebra::DMatrix;
use num_dual::{Dual64, HyperDual64};

use crate::diff::{Real, ScalarFn, VectorFn};

/// `f(x) = Σᵢ rᵢ(x)²` of a residual function, as a [`ScalarFn`].
pub(crate) struct SumOfSquares<'a, F>(pub(crate) &'a F);

impl<F: VectorFn> ScalarFn for SumOfSquares<'_, F> {
    fn dim(&self) -> usize {
        self.0.num_inputs()
    }
    fn eval<D: Real>(&self, x: &[D]) -> D {
        let mut r = vec![D::zero(); self.0.num_outputs()];
        self.0.eval(x, &mut r);
        r.iter().fold(D::zero(), |s, &ri| s + ri * ri)
    }
}

/// Writes `∇f(x)` into `g` and returns `f(x)`.
pub(crate) fn value_grad<F: ScalarFn>(f: &F, x: &[f64], g: &mut [f64]) -> f64 {
    let mut xd: Vec<Dual64> = x.iter().map(|&v| Dual64::from(v)).collect();
    if x.is_empty() {
        return f.eval(x);
    }
    let mut value = 0.0;
    for j in 0..x.len() {
        xd[j].eps = 1.0;
        let fd = f.eval(&xd);
        xd[j].eps = 0.0;
        g[j] = fd.eps;
        value = fd.re;
    }
    value
}

/// Writes the dense Hessian `∇²f(x)` into `h` (`n × n`).
pub(crate) fn hessian<F: ScalarFn>(f: &F, x: &[f64], h: &mut DMatrix<f64>) {
    let n = x.len();
    let mut xd: Vec<HyperDual64> = x.iter().map(|&v| HyperDual64::from(v)).collect();
    for j in 0..n {
        xd[j].eps1 = 1.0;
        for k in j..n {
            xd[k].eps2 = 1.0;
            let hjk = f.eval(&xd).eps1eps2;
            xd[k].eps2 = 0.0;
            h[(j, k)] = hjk;
            h[(k, j)] = hjk;
        }
        xd[j].eps1 = 0.0;
    }
}

/// Writes `∇²f(x) v` into `hv`: entry `j` is the mixed second derivative of
/// `f` along `v` and `eⱼ`.
pub(crate) fn hess_vec<F: ScalarFn>(f: &F, x: &[f64], v: &[f64], hv: &mut [f64]) {
    let mut xd: Vec<HyperDual64> = x
        .iter()
        .zip(v)
        .map(|(&xi, &vi)| HyperDual64::new(xi, vi, 0.0, 0.0))
        .collect();
    for j in 0..x.len() {
        xd[j].eps2 = 1.0;
        hv[j] = f.eval(&xd).eps1eps2;
        xd[j].eps2 = 0.0;
    }
}

/// Writes the Jacobian `Jᵢⱼ = ∂rᵢ/∂xⱼ` into `jac` (`m × n`), one column per
/// dual pass.
pub(crate) fn jacobian<F: VectorFn>(r: &F, x: &[f64], jac: &mut DMatrix<f64>) {
    let mut xd: Vec<Dual64> = x.iter().map(|&v| Dual64::from(v)).collect();
    let mut rd = vec![Dual64::from(0.0); r.num_outputs()];
    for j in 0..x.len() {
        xd[j].eps = 1.0;
        r.eval(&xd, &mut rd);
        xd[j].eps = 0.0;
        for (i, ri) in rd.iter().enumerate() {
            jac[(i, j)] = ri.eps;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f(x) = x₀² x₁ + sin(x₁) x₂³`, with its derivatives by hand.
    struct Poly;
    impl ScalarFn for Poly {
        fn dim(&self) -> usize {
            3
        }
        fn eval<D: Real>(&self, x: &[D]) -> D {
            x[0] * x[0] * x[1] + x[1].sin() * x[2].powi(3)
        }
    }

    /// `r(x) = (x₀ x₁, exp(x₁) − x₀)`.
    struct Pair;
    impl VectorFn for Pair {
        fn num_inputs(&self) -> usize {
            2
        }
        fn num_outputs(&self) -> usize {
            2
        }
        fn eval<D: Real>(&self, x: &[D], out: &mut [D]) {
            out[0] = x[0] * x[1];
            out[1] = x[1].exp() - x[0];
        }
    }

    #[test]
    fn derivatives_by_hand() {
        let x: [f64; 3] = [1.5, -0.7, 2.0];
        let (s, c) = (x[1].sin(), x[1].cos());
        let mut g = [0.0; 3];
        let f = value_grad(&Poly, &x, &mut g);
        assert!((f - (x[0] * x[0] * x[1] + s * 8.0)).abs() < 1e-15);
        let g_hand = [2.0 * x[0] * x[1], x[0] * x[0] + c * 8.0, 3.0 * s * 4.0];
        let h_hand = DMatrix::from_row_slice(
            3,
            3,
            &[
                2.0 * x[1],
                2.0 * x[0],
                0.0,
                2.0 * x[0],
                -s * 8.0,
                c * 12.0,
                0.0,
                c * 12.0,
                s * 12.0,
            ],
        );
        for j in 0..3 {
            assert!((g[j] - g_hand[j]).abs() < 1e-14);
        }
        let mut h = DMatrix::zeros(3, 3);
        hessian(&Poly, &x, &mut h);
        assert!((&h - &h_hand).amax() < 1e-14);
        let v = [0.3, -1.0, 2.5];
        let mut hv = [0.0; 3];
        hess_vec(&Poly, &x, &v, &mut hv);
        let dense = &h_hand * nalgebra::DVector::from_column_slice(&v);
        for j in 0..3 {
            assert!((hv[j] - dense[j]).abs() < 1e-14);
        }
    }

    #[test]
    fn jacobian_and_sum_of_squares() {
        let x: [f64; 2] = [0.4, 1.1];
        let mut jac = DMatrix::zeros(2, 2);
        jacobian(&Pair, &x, &mut jac);
        let hand = DMatrix::from_row_slice(2, 2, &[x[1], x[0], -1.0, x[1].exp()]);
        assert!((&jac - &hand).amax() < 1e-15);
        let r = [x[0] * x[1], x[1].exp() - x[0]];
        let mut g = [0.0; 2];
        let f = value_grad(&SumOfSquares(&Pair), &x, &mut g);
        assert!((f - (r[0] * r[0] + r[1] * r[1])).abs() < 1e-15);
        for j in 0..2 {
            let two_jtr = 2.0 * (hand[(0, j)] * r[0] + hand[(1, j)] * r[1]);
            assert!((g[j] - two_jtr).abs() < 1e-14);
        }
    }
}
