//! Iterate averaging: Polyak & Juditsky (1992) and its exponential moving
//! average, as Goodfellow, Bengio & Courville (2016), *Deep Learning*,
//! §8.7.3 write them (the seeds):
//!
//! - Polyak averaging: `θ̂⁽ᵗ⁾ = (1/t) Σᵢ θ⁽ⁱ⁾`, kept as the running mean
//!   `θ̂⁽ᵗ⁾ = θ̂⁽ᵗ⁻¹⁾ + (θ⁽ᵗ⁾ − θ̂⁽ᵗ⁻¹⁾)/t`;
//! - its exponential moving average for non-convex problems, where old
//!   points of the trajectory are far from the current basin:
//!   `θ̂⁽ᵗ⁾ = α θ̂⁽ᵗ⁻¹⁾ + (1 − α) θ⁽ᵗ⁾`.
//!
//! The book leaves `θ̂⁽⁰⁾` of the moving average open; we start it at the
//! first iterate, `θ̂⁽¹⁾ = θ⁽¹⁾` (no bias toward 0), which is also what the
//! running mean gives. The iterates are `θ⁽¹⁾, θ⁽²⁾, ...` as passed to
//! [`Averager::update`]; a driver passes the start too if it wants it counted.
//! The average is for evaluation: the optimizer keeps stepping from its own
//! iterate.

use serde::{Deserialize, Serialize};

use crate::solver::Error;

/// Which average of the iterates to keep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Averaging {
    /// The running mean of all iterates (Polyak & Juditsky 1992).
    Polyak,
    /// The exponential moving average with weight `α ∈ [0, 1)` on the past.
    Ema(f64),
}

/// The running average `θ̂` of the iterates passed to
/// [`update`](Averager::update).
///
/// ```
/// use hesse::first_order::{Averager, Averaging};
/// let mut avg = Averager::new(Averaging::Polyak);
/// for theta in [[1.0], [2.0], [6.0]] {
///     avg.update(&theta);
/// }
/// assert_eq!(avg.average(), [3.0]);
/// let mut ema = Averager::new(Averaging::Ema(0.5));
/// for theta in [[1.0], [2.0], [6.0]] {
///     ema.update(&theta);
/// }
/// assert_eq!(ema.average(), [3.75]); // ½·(½·1 + ½·2) + ½·6
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Averager {
    kind: Averaging,
    /// Iterates seen, `t`.
    t: u64,
    /// `θ̂⁽ᵗ⁾`.
    #[serde(with = "crate::solver::float_serde::vec")]
    mean: Vec<f64>,
}

impl Averager {
    /// An empty average.
    pub fn new(kind: Averaging) -> Self {
        Averager {
            kind,
            t: 0,
            mean: Vec::new(),
        }
    }

    /// Checks `α ∈ [0, 1)` for the moving average.
    pub fn validate(&self) -> Result<(), Error> {
        match self.kind {
            Averaging::Polyak => Ok(()),
            Averaging::Ema(a) if (0.0..1.0).contains(&a) => Ok(()),
            Averaging::Ema(a) => Err(Error::invalid_option("ema", a, "must be in [0, 1)")),
        }
    }

    /// Adds the iterate `θ⁽ᵗ⁾`.
    pub fn update(&mut self, theta: &[f64]) {
        self.t += 1;
        if self.t == 1 {
            self.mean = theta.to_vec();
            return;
        }
        let w = match self.kind {
            // θ̂ ← θ̂ + (θ − θ̂)/t
            Averaging::Polyak => 1.0 / self.t as f64,
            // θ̂ ← αθ̂ + (1 − α)θ = θ̂ + (1 − α)(θ − θ̂)
            Averaging::Ema(alpha) => 1.0 - alpha,
        };
        for (m, x) in self.mean.iter_mut().zip(theta) {
            *m += w * (x - *m);
        }
    }

    /// The average `θ̂` (empty before the first update).
    pub fn average(&self) -> &[f64] {
        &self.mean
    }

    /// Iterates averaged so far.
    pub fn count(&self) -> u64 {
        self.t
    }

    /// Forgets the iterates.
    pub fn reset(&mut self) {
        self.t = 0;
        self.mean.clear();
    }
}
