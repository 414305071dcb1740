//! Bound-constrained test problems: Moré-Garbow-Hillstrom problems in boxes
//! that cut off their minimizers.
//!
//! For each MGH problem whose minimizer `x*` the paper gives
//! ([`Mgh::minimizer`]), at its standard size, the box is built variable by
//! variable with `δ_i = 0.1 (1 + |x*_i|)`, in turn:
//!
//! - `i mod 3 = 0`: `x_i ≤ x*_i − δ_i` (upper bound only, cutting `x*` off);
//! - `i mod 3 = 1`: `x*_i − 10 δ_i ≤ x_i ≤ x*_i + 10 δ_i` (both sides, `x*_i`
//!   inside);
//! - `i mod 3 = 2`: `x_i ≥ x*_i + δ_i` (lower bound only, cutting off).
//!
//! So every box has one-sided and two-sided variables and excludes `x*`; the
//! starts are the MGH starts ([`Mgh::start_scaled`]), which a solver projects
//! onto the box where they lie outside it. The bounded minima are not
//! published: tests judge a run by the KKT conditions at its end and by the
//! lowest `f` any method reached.
//!
//! ```
//! use hesse::problems::bounded;
//!
//! let suite = bounded::mgh_in_boxes();
//! let rosen = &suite[0];
//! assert_eq!(rosen.mgh.name(), "Rosenbrock");
//! // x₀ ≤ 0.8 cuts (1, 1) off; x₁ in [−1, 3].
//! assert_eq!(rosen.bounds.upper()[0], 0.8);
//! assert!(!rosen.bounds.contains(&[1.0, 1.0]));
//! ```

use super::mgh::{self, Mgh};
use crate::solver::Bounds;

/// An MGH problem with a box that cuts off its minimizer.
#[derive(Debug, Clone)]
pub struct BoundedMgh {
    /// The problem, at its standard size.
    pub mgh: Mgh,
    /// The box.
    pub bounds: Bounds,
}

impl BoundedMgh {
    /// A short name, `"Rosenbrock-box"`.
    pub fn name(&self) -> String {
        format!("{}-box", self.mgh.name())
    }

    /// The lowest `f` found in the box from the 1×, 10× and 100× starts by
    /// `LbfgsB`, `Tron` (gtol `1e-10`) and scipy 1.17.1's L-BFGS-B, TNC and
    /// trust-constr (`tests/data/scipy_bounds.txt`): the reference a run is
    /// judged against, not a proven minimum. Wood (14) and extended
    /// Rosenbrock (21) have a lower minimum (39.796, 82.089) than the one
    /// L-BFGS-B reaches from every start (41.201, 90.080).
    pub fn f_ref(&self) -> f64 {
        match self.mgh.id() {
            1 => 0.04,
            2 => 112.72,
            3 => 1.2233688123269275,
            4 => 10000020000.009995,
            5 => 0.0410968852037453,
            7 => 0.9904221209613995,
            11 => 0.9276019096255886,
            12 => 0.008452040856190704,
            13 => 0.20122083016147171,
            14 => 39.79609809264,
            18 => 0.1555027235797,
            21 => 82.08909082774,
            22 => 0.8984841419192585,
            25 => 0.286808515883,
            27 => 0.2712470794884,
            32 => 5.119999999999998,
            33 => 2.142857142857,
            34 => 3.647058823529,
            _ => f64::NAN,
        }
    }
}

/// The box of the module documentation around `x_star`.
pub fn cut_box(x_star: &[f64]) -> Bounds {
    let n = x_star.len();
    let (mut lo, mut hi) = (vec![f64::NEG_INFINITY; n], vec![f64::INFINITY; n]);
    for (i, &x) in x_star.iter().enumerate() {
        let delta = 0.1 * (1.0 + x.abs());
        match i % 3 {
            0 => hi[i] = x - delta,
            1 => {
                lo[i] = x - 10.0 * delta;
                hi[i] = x + 10.0 * delta;
            }
            _ => lo[i] = x + delta,
        }
    }
    Bounds::new(lo, hi).expect("the box of a finite point is valid")
}

/// The MGH problems with a known minimizer, each in its [`cut_box`], in MGH
/// order.
pub fn mgh_in_boxes() -> Vec<BoundedMgh> {
    mgh::all()
        .into_iter()
        .filter_map(|mgh| {
            let x_star = mgh.minimizer()?;
            Some(BoundedMgh {
                bounds: cut_box(&x_star),
                mgh,
            })
        })
        .collect()
}
