//! Box constraints `l ≤ x ≤ u`: the feasible set of [`LbfgsB`] and [`Tron`].
//!
//! Notation of Byrd, Lu, Nocedal & Zhu, "A limited memory algorithm for bound
//! constrained optimization", *SIAM J. Sci. Comput.* 16 (1995) 1190-1208
//! (BLNZ): the box `{x : l ≤ x ≤ u}`, the projection `P(x)_i = mid(l_i, x_i,
//! u_i)` (BLNZ (2.2)), and the projected gradient `P(x − g) − x`, whose
//! ∞-norm is L-BFGS-B's stopping measure (`projgr` in the Fortran code,
//! `pgtol`). Either side of a variable may be infinite; `l_i = u_i` fixes the
//! variable.
//!
//! [`LbfgsB`]: crate::quasi_newton::LbfgsB
//! [`Tron`]: crate::newton::Tron

use serde::{Deserialize, Serialize};

use super::{Error, float_serde};

/// Which side of its box a variable sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// `x_i = l_i`.
    Lower,
    /// `x_i = u_i` (and `l_i < u_i`).
    Upper,
}

impl Side {
    /// `"lower"` or `"upper"`, as the command line's JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Lower => "lower",
            Side::Upper => "upper",
        }
    }
}

/// Per-variable lower and upper bounds `l ≤ x ≤ u`, either side possibly
/// infinite.
///
/// Built by [`Bounds::new`], which checks `l_i ≤ u_i` and rejects NaN with an
/// [`Error::InvalidBounds`] naming the variable. A variable with `l_i = u_i`
/// is fixed.
///
/// # Example
/// ```
/// use hesse::solver::{Bounds, Side};
///
/// let b = Bounds::new(vec![0.0, f64::NEG_INFINITY], vec![1.0, 2.0]).unwrap();
/// let mut x = vec![-3.0, 5.0];
/// assert!(b.project(&mut x)); // moved
/// assert_eq!(x, [0.0, 2.0]);
/// // The projected gradient P(x − g) − x: zero where g pushes out of the box.
/// let g = [1.0, -4.0];
/// assert_eq!(b.projected_grad_norm(&x, &g), 0.0);
/// assert_eq!(b.active(&x), vec![(0, Side::Lower), (1, Side::Upper)]);
/// // The largest feasible step from x along d.
/// assert_eq!(b.max_step(&[0.5, 0.0], &[1.0, -1.0]), 0.5);
/// assert!(Bounds::new(vec![1.0], vec![0.0]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    #[serde(with = "float_serde::vec")]
    lower: Vec<f64>,
    #[serde(with = "float_serde::vec")]
    upper: Vec<f64>,
}

impl Bounds {
    /// The box `lower ≤ x ≤ upper`. `Err` if the lengths differ, an entry is
    /// NaN, `lower_i = +∞`, `upper_i = −∞`, or `lower_i > upper_i`.
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Result<Self, Error> {
        if lower.len() != upper.len() {
            return Err(Error::DimensionMismatch {
                what: "upper bounds",
                got: upper.len(),
                expected: lower.len(),
                expected_from: "lower bounds",
            });
        }
        for (index, (&lo, &hi)) in lower.iter().zip(&upper).enumerate() {
            let expected = if lo.is_nan() || hi.is_nan() {
                "bounds must not be NaN"
            } else if lo == f64::INFINITY {
                "the lower bound must be below +inf"
            } else if hi == f64::NEG_INFINITY {
                "the upper bound must be above -inf"
            } else if lo > hi {
                "lower must be <= upper"
            } else {
                continue;
            };
            return Err(Error::InvalidBounds {
                index,
                lower: lo,
                upper: hi,
                expected,
            });
        }
        Ok(Bounds { lower, upper })
    }

    /// No bound on any of `n` variables.
    pub fn unbounded(n: usize) -> Self {
        Bounds {
            lower: vec![f64::NEG_INFINITY; n],
            upper: vec![f64::INFINITY; n],
        }
    }

    /// `x ≥ lower`, no upper bounds.
    pub fn lower_only(lower: Vec<f64>) -> Result<Self, Error> {
        let n = lower.len();
        Self::new(lower, vec![f64::INFINITY; n])
    }

    /// `x ≤ upper`, no lower bounds.
    pub fn upper_only(upper: Vec<f64>) -> Result<Self, Error> {
        let n = upper.len();
        Self::new(vec![f64::NEG_INFINITY; n], upper)
    }

    /// The number of variables.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    /// Whether there are no variables.
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// The lower bounds `l`.
    pub fn lower(&self) -> &[f64] {
        &self.lower
    }

    /// The upper bounds `u`.
    pub fn upper(&self) -> &[f64] {
        &self.upper
    }

    /// Whether some bound is finite.
    pub fn is_constrained(&self) -> bool {
        self.lower.iter().any(|v| v.is_finite()) || self.upper.iter().any(|v| v.is_finite())
    }

    /// `Err` unless the box has `n` variables.
    pub fn check_dim(&self, n: usize) -> Result<(), Error> {
        if self.len() == n {
            Ok(())
        } else {
            Err(Error::DimensionMismatch {
                what: "bounds",
                got: self.len(),
                expected: n,
                expected_from: "problem",
            })
        }
    }

    /// Whether `x` lies in the box.
    pub fn contains(&self, x: &[f64]) -> bool {
        x.iter()
            .zip(self.lower.iter().zip(&self.upper))
            .all(|(&v, (&lo, &hi))| lo <= v && v <= hi)
    }

    /// Projects `x` onto the box, `x_i ← mid(l_i, x_i, u_i)` (BLNZ (2.2)),
    /// and returns whether any entry moved.
    pub fn project(&self, x: &mut [f64]) -> bool {
        let mut moved = false;
        for (v, (&lo, &hi)) in x.iter_mut().zip(self.lower.iter().zip(&self.upper)) {
            let p = v.clamp(lo, hi);
            moved |= p != *v;
            *v = p;
        }
        moved
    }

    /// The projected gradient `P(x − g) − x` into `pg`, computed without
    /// forming `x − g` (L-BFGS-B's `projgr`): `g_i` clipped to
    /// `x_i − u_i ≤ g_i ≤ x_i − l_i`. NaN in `g` stays NaN. For `x` in the box.
    pub fn projected_grad(&self, x: &[f64], g: &[f64], pg: &mut [f64]) {
        for i in 0..x.len() {
            pg[i] = self.pg_i(i, x[i], g[i]);
        }
    }

    /// `‖P(x − g) − x‖∞`, L-BFGS-B's stopping measure; NaN if `g` holds NaN.
    ///
    /// Branch-free in four lanes (as [`inf_norm`](crate::solver::inf_norm)),
    /// so that it vectorizes: at `n = 1e6` it is a pass over `x`, `g` and the
    /// bounds every iteration of a bounded run.
    pub fn projected_grad_norm(&self, x: &[f64], g: &[f64]) -> f64 {
        let n = x.len();
        let (g, lo, hi) = (&g[..n], &self.lower[..n], &self.upper[..n]);
        // pg_i without branches: the same value.
        let pg = |i: usize| {
            let (a, b) = (g[i].max(x[i] - hi[i]), g[i].min(x[i] - lo[i]));
            if g[i] < 0.0 {
                a
            } else if g[i] > 0.0 {
                b
            } else {
                g[i]
            }
        };
        let (mut max, mut nan) = ([0.0f64; 4], [false; 4]);
        let n4 = n / 4 * 4;
        for i4 in (0..n4).step_by(4) {
            for l in 0..4 {
                let p = pg(i4 + l);
                let a = p.abs();
                max[l] = if a > max[l] { a } else { max[l] };
                nan[l] |= p.is_nan();
            }
        }
        for i in n4..n {
            let p = pg(i);
            let a = p.abs();
            max[0] = if a > max[0] { a } else { max[0] };
            nan[0] |= p.is_nan();
        }
        if nan.iter().any(|&b| b) {
            f64::NAN
        } else {
            max.iter().fold(0.0, |m: f64, &a| m.max(a))
        }
    }

    #[inline]
    fn pg_i(&self, i: usize, x: f64, g: f64) -> f64 {
        // −pg_i is the step P(x − g)_i − x_i; as a "gradient" it is g_i cut
        // at the distance to the bound it points to.
        if g < 0.0 {
            g.max(x - self.upper[i])
        } else if g > 0.0 {
            g.min(x - self.lower[i])
        } else {
            g
        }
    }

    /// The variables at a bound, with the side: `(i, Lower)` where
    /// `x_i = l_i`, `(i, Upper)` where `x_i = u_i > l_i`. Iterates of
    /// [`LbfgsB`](crate::quasi_newton::LbfgsB) and
    /// [`Tron`](crate::newton::Tron) reach bounds exactly (by projection),
    /// so the test is equality.
    pub fn active(&self, x: &[f64]) -> Vec<(usize, Side)> {
        (0..x.len())
            .filter_map(|i| self.side(i, x[i]).map(|s| (i, s)))
            .collect()
    }

    /// The side of variable `i` at value `v`, if it is at a bound.
    pub fn side(&self, i: usize, v: f64) -> Option<Side> {
        if v == self.lower[i] {
            Some(Side::Lower)
        } else if v == self.upper[i] {
            Some(Side::Upper)
        } else {
            None
        }
    }

    /// The largest `α ≥ 0` with `x + α d` in the box (`+∞` when no bound
    /// stops `d`): the first breakpoint along `d`. For `x` in the box.
    pub fn max_step(&self, x: &[f64], d: &[f64]) -> f64 {
        let mut alpha = f64::INFINITY;
        for i in 0..x.len() {
            let a = self.breakpoint(i, x[i], d[i]);
            if a < alpha {
                alpha = a;
            }
        }
        alpha
    }

    /// The step `α ≥ 0` at which `x_i + α d_i` meets the bound it moves
    /// toward (`+∞` if none or `d_i = 0`).
    #[inline]
    pub fn breakpoint(&self, i: usize, x: f64, d: f64) -> f64 {
        if d < 0.0 && self.lower[i].is_finite() {
            ((self.lower[i] - x) / d).max(0.0)
        } else if d > 0.0 && self.upper[i].is_finite() {
            ((self.upper[i] - x) / d).max(0.0)
        } else {
            f64::INFINITY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_names_the_variable() {
        let e = Bounds::new(vec![0.0, 3.0], vec![1.0, 2.0]).unwrap_err();
        assert_eq!(
            e,
            Error::InvalidBounds {
                index: 1,
                lower: 3.0,
                upper: 2.0,
                expected: "lower must be <= upper"
            }
        );
        assert!(e.to_string().contains("x[1]"), "{e}");
        assert!(Bounds::new(vec![f64::NAN], vec![1.0]).is_err());
        assert!(Bounds::new(vec![0.0], vec![f64::NAN]).is_err());
        assert!(Bounds::new(vec![f64::INFINITY], vec![f64::INFINITY]).is_err());
        assert!(Bounds::new(vec![0.0], vec![1.0, 2.0]).is_err());
        // Fixed variables and one-sided boxes are fine.
        assert!(Bounds::new(vec![1.0, f64::NEG_INFINITY], vec![1.0, f64::INFINITY]).is_ok());
    }

    #[test]
    fn projected_gradient_is_p_of_x_minus_g_minus_x() {
        let b = Bounds::new(
            vec![0.0, f64::NEG_INFINITY, -1.0, 2.0],
            vec![1.0, 0.0, f64::INFINITY, 2.0],
        )
        .unwrap();
        let x = [0.25, -0.5, -1.0, 2.0];
        for g in [
            [1.0, -3.0, 0.5, 7.0],
            [-2.0, 0.25, -0.5, -1.0],
            [0.0, 0.0, 0.0, 0.0],
        ] {
            let mut pg = [0.0; 4];
            b.projected_grad(&x, &g, &mut pg);
            let mut xg: Vec<f64> = x.iter().zip(&g).map(|(a, b)| a - b).collect();
            b.project(&mut xg);
            for i in 0..4 {
                assert_eq!(-pg[i], xg[i] - x[i], "i = {i}, g = {g:?}");
            }
        }
        assert!(
            b.projected_grad_norm(&x, &[f64::NAN, 0.0, 0.0, 0.0])
                .is_nan()
        );
    }

    #[test]
    fn max_step_and_active() {
        let b = Bounds::new(vec![0.0, -1.0, 5.0], vec![2.0, f64::INFINITY, 5.0]).unwrap();
        let x = [1.0, -1.0, 5.0];
        assert_eq!(b.max_step(&x, &[2.0, 0.0, 0.0]), 0.5);
        assert_eq!(b.max_step(&x, &[0.0, 3.0, 0.0]), f64::INFINITY);
        assert_eq!(b.max_step(&x, &[0.0, -3.0, 0.0]), 0.0);
        assert_eq!(b.max_step(&x, &[-4.0, 0.0, 0.0]), 0.25);
        assert_eq!(b.active(&x), vec![(1, Side::Lower), (2, Side::Lower)]);
        assert!(b.contains(&x));
        assert!(!b.contains(&[3.0, 0.0, 5.0]));
    }
}
