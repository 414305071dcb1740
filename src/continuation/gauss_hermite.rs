//! Gauss-Hermite quadrature for the standard normal by Golub-Welsch.
//!
//! Golub & Welsch, "Calculation of Gauss quadrature rules", *Math. Comp.* 23
//! (1969) 221-230: the nodes of the `q`-point Gauss rule for a weight are the
//! eigenvalues of the symmetric tridiagonal Jacobi matrix of its orthogonal
//! polynomials, and the weights are the squared first components of the
//! normalized eigenvectors (times the weight's total mass, here 1).
//!
//! For the standard normal density the orthogonal polynomials are the
//! probabilists' Hermite polynomials `He_k`, with the three-term recurrence
//! `x He_k = He_{k+1} + k He_{k−1}`, so the Jacobi matrix has a zero diagonal
//! and off-diagonal `√k`, `k = 1, …, q − 1`. The rule
//! `E g(Z) ≈ Σᵢ wᵢ g(zᵢ)` is exact for polynomials of degree `≤ 2q − 1`.

use nalgebra::DMatrix;

use super::ContinuationError;
use crate::linalg::SymmetricEigen;

/// The `q`-point Gauss-Hermite rule for `Z ~ N(0, 1)`: nodes ascending and
/// weights summing to 1, by Golub-Welsch on the symmetric eigen solver of
/// [`linalg`](crate::linalg).
///
/// Exact for `E p(Z)` with `p` a polynomial of degree `≤ 2q − 1`; for a smooth
/// `g` the error is `q! g^{(2q)}(ξ) / (2q)!` (Abramowitz & Stegun 25.4.46,
/// rescaled to the standard normal).
/// Nodes and weights are symmetrized (`z_{q−1−i} = −zᵢ`), so the middle node
/// of an odd rule is exactly `0`.
///
/// ```
/// use hesse::continuation::gauss_hermite;
/// let (z, w) = gauss_hermite(3).unwrap();
/// // The 3-point rule: nodes 0, ±√3, weights 2/3, 1/6.
/// assert!((z[2] - 3f64.sqrt()).abs() < 1e-14 && z[1] == 0.0);
/// assert!((w[1] - 2.0 / 3.0).abs() < 1e-14 && (w[0] - 1.0 / 6.0).abs() < 1e-14);
/// ```
pub fn gauss_hermite(q: usize) -> Result<(Vec<f64>, Vec<f64>), ContinuationError> {
    if q == 0 {
        return Err(ContinuationError::BadOrder(q));
    }
    let mut jacobi = DMatrix::zeros(q, q);
    for k in 1..q {
        let b = (k as f64).sqrt();
        jacobi[(k, k - 1)] = b;
        jacobi[(k - 1, k)] = b;
    }
    let eig =
        SymmetricEigen::new(&jacobi).map_err(|e| ContinuationError::Quadrature(e.to_string()))?;
    let nodes = eig.values();
    let weights: Vec<f64> = (0..q).map(|i| eig.vectors()[(0, i)].powi(2)).collect();
    let z = (0..q)
        .map(|i| 0.5 * (nodes[i] - nodes[q - 1 - i]))
        .collect();
    let w = (0..q)
        .map(|i| 0.5 * (weights[i] + weights[q - 1 - i]))
        .collect();
    Ok((z, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_the_normal() {
        // E Z^{2k} = (2k − 1)!!, exact up to degree 2q − 1.
        for q in [1, 2, 5, 12, 40] {
            let (z, w) = gauss_hermite(q).unwrap();
            let mut double_factorial = 1.0;
            for k in 0..q.min(10) {
                let m2k: f64 = z
                    .iter()
                    .zip(&w)
                    .map(|(z, w)| w * z.powi(2 * k as i32))
                    .sum();
                let odd: f64 = z
                    .iter()
                    .zip(&w)
                    .map(|(z, w)| w * z.powi(2 * k as i32 + 1))
                    .sum();
                assert!(
                    (m2k - double_factorial).abs() <= 1e-12 * double_factorial,
                    "q {q} k {k}: {m2k}"
                );
                assert!(odd.abs() <= 1e-12 * double_factorial.max(1.0));
                double_factorial *= (2 * k + 1) as f64;
            }
        }
        assert!(matches!(
            gauss_hermite(0),
            Err(ContinuationError::BadOrder(0))
        ));
    }
}
