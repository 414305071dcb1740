//! A large, sparse, nonlinear least-squares problem with a known solution:
//! [`BandedFit`], five nonzeros in each row of its Jacobian.

use nalgebra::DMatrix;

use super::ProblemError;
use crate::problem::{Residuals, SparseResiduals, SparsityPattern};
use crate::solver::Error;

/// Nonzeros per row of [`BandedFit`]'s Jacobian (degree 4 + 1).
const Q: usize = 5;

/// `m` observations of a curve through `n` control values `x`, each
/// observation a degree-4 Bernstein blend of five consecutive controls,
/// seen through the monotone nonlinearity `φ(s) = s + s³`:
///
/// ```text
/// rᵢ(x) = φ(sᵢ(x)) − yᵢ,   sᵢ(x) = Σₖ₌₀⁴ C(4,k) uᵢᵏ (1 − uᵢ)⁴⁻ᵏ x_{jᵢ+k},
/// tᵢ = (i + ½)(n − 4)/m,  jᵢ = min(⌊tᵢ⌋, n − 5),  uᵢ = tᵢ − jᵢ,
/// yᵢ = φ(sᵢ(a)) + noise · εᵢ,   a_j = sin(0.05 j) + 0.5,
/// εᵢ = ((7919 i) mod 1000) / 500 − 1   (exactly reproducible),
/// ```
///
/// `i = 0..m`, `j = 0..n`. Row `i` of `J` has its five nonzeros
/// `φ'(sᵢ) C(4,k) uᵢᵏ (1 − uᵢ)⁴⁻ᵏ` in columns `jᵢ..jᵢ + 5`, so `J` is banded
/// and `JᵀJ` has bandwidth 4. With `noise = 0` the minimizer is `a`, with
/// `f = 0`. The standard start is `x₀ = 0`. The shape of a spline fit
/// (scipy's `least_squares` documentation's "large sparse" example is of
/// the same kind); `scripts/scipy_sparse_lsq.py` builds the same problem.
///
/// Implements both [`SparseResiduals`] and [`Residuals`] (the dense `m × n`
/// Jacobian, to compare the dense solver at sizes it can hold).
///
/// ```
/// use hesse::newton::SparseLevenbergMarquardt;
/// use hesse::problems::BandedFit;
/// let p = BandedFit::new(2000, 200, 0.0).unwrap();
/// let report = SparseLevenbergMarquardt::default().minimize(&p, &p.start()).unwrap();
/// assert!(report.converged());
/// let a = p.minimizer().unwrap();
/// assert!(report.x.iter().zip(&a).all(|(x, a)| (x - a).abs() < 1e-10));
/// ```
#[derive(Debug, Clone)]
pub struct BandedFit {
    m: usize,
    n: usize,
    /// `jᵢ`, the first column of row `i`.
    first: Vec<usize>,
    /// The Bernstein weights, `Q` per row.
    weights: Vec<f64>,
    /// `yᵢ`.
    y: Vec<f64>,
    /// The pattern, and where row `i`'s `k`-th entry sits in its values.
    pattern: SparsityPattern,
    positions: Vec<usize>,
    /// The noise level.
    noise: f64,
}

/// `φ(s) = s + s³` and `φ'(s)`.
fn phi(s: f64) -> (f64, f64) {
    (s + s * s * s, 1.0 + 3.0 * s * s)
}

impl BandedFit {
    /// The problem with `m` observations of `n` controls (`n ≥ 5`, `m ≥ n`)
    /// and the given noise level (0: the solution is known exactly).
    pub fn new(m: usize, n: usize, noise: f64) -> Result<Self, ProblemError> {
        if n < Q || m < n {
            return Err(ProblemError::Dimensions {
                problem: "BandedFit",
                n,
                m,
                expected: "n ≥ 5 and m ≥ n",
            });
        }
        let mut first = Vec::with_capacity(m);
        let mut weights = Vec::with_capacity(Q * m);
        let binom = [1.0, 4.0, 6.0, 4.0, 1.0];
        for i in 0..m {
            let t = (i as f64 + 0.5) * (n - 4) as f64 / m as f64;
            let j = (t.floor() as usize).min(n - Q);
            let u = t - j as f64;
            first.push(j);
            for (k, b) in binom.iter().enumerate() {
                weights.push(b * u.powi(k as i32) * (1.0 - u).powi((Q - 1 - k) as i32));
            }
        }
        let entries: Vec<(usize, usize)> = (0..m)
            .flat_map(|i| (0..Q).map(move |k| (i, k)))
            .map(|(i, k)| (i, first[i] + k))
            .collect();
        let pattern = SparsityPattern::from_triplets(m, n, &entries)
            .expect("the band lies inside the matrix, each entry once");
        let positions = entries
            .iter()
            .map(|&(i, j)| pattern.position(i, j).expect("in the pattern"))
            .collect();
        let mut p = BandedFit {
            m,
            n,
            first,
            weights,
            y: vec![0.0; m],
            pattern,
            positions,
            noise,
        };
        let a = p.truth();
        for i in 0..m {
            let eps = ((7919 * i) % 1000) as f64 / 500.0 - 1.0;
            p.y[i] = phi(p.blend(i, &a)).0 + noise * eps;
        }
        Ok(p)
    }

    /// `a`, the controls the data come from: `a_j = sin(0.05 j) + 0.5`.
    pub fn truth(&self) -> Vec<f64> {
        (0..self.n).map(|j| (0.05 * j as f64).sin() + 0.5).collect()
    }

    /// The minimizer, `a`, when the noise is 0 (else not known: `None`).
    pub fn minimizer(&self) -> Option<Vec<f64>> {
        (self.noise == 0.0).then(|| self.truth())
    }

    /// The minimum, 0, when the noise is 0 (else `None`).
    pub fn f_star(&self) -> Option<f64> {
        (self.noise == 0.0).then_some(0.0)
    }

    /// The standard start, `x₀ = 0`.
    pub fn start(&self) -> Vec<f64> {
        vec![0.0; self.n]
    }

    /// The noise level given to [`new`](Self::new).
    pub fn noise(&self) -> f64 {
        self.noise
    }

    /// `sᵢ(x)`.
    fn blend(&self, i: usize, x: &[f64]) -> f64 {
        let j = self.first[i];
        let w = &self.weights[Q * i..Q * (i + 1)];
        (0..Q).map(|k| w[k] * x[j + k]).sum()
    }
}

impl SparseResiduals for BandedFit {
    fn num_params(&self) -> usize {
        self.n
    }
    fn num_residuals(&self) -> usize {
        self.m
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        for (i, ri) in r.iter_mut().enumerate() {
            *ri = phi(self.blend(i, x)).0 - self.y[i];
        }
    }
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
        Ok(self.pattern.clone())
    }
    fn jacobian_values(&self, x: &[f64], values: &mut [f64]) {
        for i in 0..self.m {
            let d = phi(self.blend(i, x)).1;
            for k in 0..Q {
                values[self.positions[Q * i + k]] = d * self.weights[Q * i + k];
            }
        }
    }
}

impl Residuals for BandedFit {
    fn num_params(&self) -> usize {
        self.n
    }
    fn num_residuals(&self) -> usize {
        self.m
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        SparseResiduals::residuals(self, x, r)
    }
    fn jacobian(&self, x: &[f64], jac: &mut DMatrix<f64>) {
        jac.fill(0.0);
        for i in 0..self.m {
            let d = phi(self.blend(i, x)).1;
            for k in 0..Q {
                jac[(i, self.first[i] + k)] = d * self.weights[Q * i + k];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sparse Jacobian's values land where the dense Jacobian has them,
    /// and both match central differences.
    #[test]
    fn sparse_and_dense_jacobians_agree_with_differences() {
        let p = BandedFit::new(40, 9, 0.1).unwrap();
        let x: Vec<f64> = (0..9).map(|j| 0.3 * j as f64 - 1.0).collect();
        let mut dense = DMatrix::zeros(40, 9);
        p.jacobian(&x, &mut dense);
        let mut v = vec![0.0; p.pattern.nnz()];
        p.jacobian_values(&x, &mut v);
        let (cp, ri) = (p.pattern.col_ptr(), p.pattern.row_idx());
        let mut from_sparse = DMatrix::zeros(40, 9);
        for j in 0..9 {
            for pos in cp[j]..cp[j + 1] {
                from_sparse[(ri[pos], j)] = v[pos];
            }
        }
        assert_eq!(dense, from_sparse);
        let h = 1e-6;
        let (mut rp, mut rm) = (vec![0.0; 40], vec![0.0; 40]);
        for j in 0..9 {
            let mut xp = x.clone();
            xp[j] += h;
            let mut xm = x.clone();
            xm[j] -= h;
            SparseResiduals::residuals(&p, &xp, &mut rp);
            SparseResiduals::residuals(&p, &xm, &mut rm);
            for i in 0..40 {
                let fd = (rp[i] - rm[i]) / (2.0 * h);
                assert!((fd - dense[(i, j)]).abs() < 1e-7, "({i}, {j})");
            }
        }
        assert!(BandedFit::new(10, 4, 0.0).is_err());
        assert!(BandedFit::new(4, 5, 0.0).is_err());
    }
}
