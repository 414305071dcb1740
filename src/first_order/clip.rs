//! Gradient clipping: bound the size of a step without (by norm) or with (by
//! value) changing its direction.
//!
//! Goodfellow, Bengio & Courville (2016), *Deep Learning*, §8.2.4 and
//! §10.11.1 (the seeds: "exploding gradients ... gradient clipping"): near a
//! cliff the gradient can be huge and one step throws the parameters far
//! away; clipping keeps the step's direction (by norm, Pascanu et al. 2013,
//! alg. 1: `g ← g · c / ‖g‖₂` when `‖g‖₂ > c`) or clips each coordinate
//! (by value, Mikolov 2012: `gᵢ ← clamp(gᵢ, −c, c)`, which bounds each
//! coordinate but can turn the direction). PyTorch's `clip_grad_norm_` and
//! `clip_grad_value_` are the same rules (PyTorch adds `1e-6` to the norm in
//! the divisor; here the division is exact).

use serde::{Deserialize, Serialize};

use crate::solver::Error;

/// A clipping rule, applied to the gradient before the optimizer's step.
///
/// ```
/// use hesse::first_order::Clip;
/// let mut g = [3.0, 4.0];
/// assert!(Clip::Norm(1.0).apply(&mut g));
/// assert!((g[0] - 0.6).abs() < 1e-15 && (g[1] - 0.8).abs() < 1e-15);
/// let mut g = [3.0, -0.5];
/// Clip::Value(1.0).apply(&mut g);
/// assert_eq!(g, [1.0, -0.5]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clip {
    /// `g ← g · c / ‖g‖₂` when `‖g‖₂ > c` (direction kept).
    Norm(f64),
    /// `gᵢ ← clamp(gᵢ, −c, c)` (each coordinate bounded).
    Value(f64),
}

impl Clip {
    /// Clips `g` in place; returns whether anything changed.
    pub fn apply(&self, g: &mut [f64]) -> bool {
        match *self {
            Clip::Norm(c) => {
                let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
                if norm > c {
                    let scale = c / norm;
                    g.iter_mut().for_each(|x| *x *= scale);
                    true
                } else {
                    false
                }
            }
            Clip::Value(c) => {
                let mut changed = false;
                for x in g.iter_mut() {
                    let y = x.clamp(-c, c);
                    changed |= y != *x;
                    *x = y;
                }
                changed
            }
        }
    }

    /// Checks the threshold `c` is finite and `> 0`.
    pub fn validate(&self) -> Result<(), Error> {
        let (name, c) = match *self {
            Clip::Norm(c) => ("clip_norm", c),
            Clip::Value(c) => ("clip_value", c),
        };
        crate::solver::check_positive(name, c).map(|_| ())
    }
}
